# gradcheck-common.sh - sourced by tests/gradcheck-*.sh: generates double
# precision code for a network (cnncc --dtype=double), builds it with
# tests/gradcheck.c and runs the gradient check (see gradcheck.c).
. "$top_srcdir/tests/tap.sh"
CC=${CNNCC_CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradcheck.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# gradcheck FILE.cnn "OPTIONS" ["OPTIONS" ...]: one test per OPTIONS
gradcheck() {
  src=$1
  shift
  base=$(basename "$src" .cnn)
  net=$(sed -n 's/^network  *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$src" | head -n 1)
  NET=$(printf '%s' "$net" | tr 'a-z' 'A-Z')
  d=$tmp/$base
  mkdir -p "$d"
  if ! { "$CNNCC" --dtype=double "$src" -o "$d/$net.c" &&
         $CC -std=c99 -O2 $SAN -DCNNCC_NO_MAIN -DNET="$net" -DNETU="$NET" -include "$d/$net.h" \
           -I"$d" -I"$top_srcdir/runtime" -o "$d/gradcheck" \
           "$top_srcdir/tests/gradcheck.c" "$d/$net.c" -lm; } >"$d/build.log" 2>&1; then
    for opts in "$@"; do not_ok "$base: gradient check ($opts): cannot build"; done
    diag "$(cat "$d/build.log")"
    return
  fi
  for opts in "$@"; do
    # shellcheck disable=SC2086
    if "$d/gradcheck" $opts >"$d/out" 2>&1; then
      ok "$base: gradient check ($opts): $(tail -n 1 "$d/out" | sed 's/^# //')"
    else
      not_ok "$base: gradient check ($opts)"
      diag "$(cat "$d/out")"
    fi
  done
}
