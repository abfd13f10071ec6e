#!/bin/sh
# random-nets.sh - random valid networks through the whole compiler.
#
# tests/random-nets.py writes RANDOM_NETS programs (default 25; seeds
# RANDOM_NETS_SEED, RANDOM_NETS_SEED + 1, ...; default 1) that it knows to
# be valid, with their parameter count and output shape worked out
# independently of the front end. For each, one TAP line:
#   1. cnncc --check accepts it (a rejection is a generator or front-end
#      bug) and --summary agrees on the parameters and the output shape;
#   2. the float training code compiles with clang and gcc, -std=c99 -Wall
#      -Wextra -Werror;
#   3. the --dtype=double code passes the gradient check (tests/gradcheck.c,
#      through tests/gradcheck-common.sh) in training and evaluation mode.
# A failing program is printed as TAP diagnostics and kept in a directory
# named at the end, to become a regression input.
#
#   RANDOM_NETS=200 make check TESTS=tests/random-nets.sh   # a long run
#   RANDOM_NETS_SEED=57 RANDOM_NETS=1 ...                    # one network
#   RANDOM_NETS_CFLAGS=-O2   # gcc's options for the warning build (default
#                            # -O1: gcc warns about more when optimizing;
#                            # clang only checks, -fsyntax-only)
. "$top_srcdir/tests/gradcheck-common.sh"
PYTHON=${CNNCC_PYTHON:-python3}
n=${RANDOM_NETS:-25}
first=${RANDOM_NETS_SEED:-1}
cflags=${RANDOM_NETS_CFLAGS:--O1}
if ! "$PYTHON" -c 'import random' >/dev/null 2>&1; then
  echo "1..0 # SKIP no python3 for tests/random-nets.py"
  exit 0
fi
compilers=
for cc in clang gcc; do command -v $cc >/dev/null 2>&1 && compilers="$compilers $cc"; done
[ -n "$compilers" ] || compilers=$CC
plan "$n"
echo "# seeds $first to $((first + n - 1)); warning builds with$compilers (gcc $cflags)"

gen=$tmp/programs
mkdir -p "$gen"
"$PYTHON" "$top_srcdir/tests/random-nets.py" --out "$gen" "$first" "$n" || exit 1
keep=
failed=0 rejected=0 start=$(date +%s)

for seed in $(seq "$first" $((first + n - 1))); do
  src=$gen/rnet$seed.cnn
  what=$(sed -n '1s/^# //p' "$src")
  want=$(sed -n 's/^# expect: params \([0-9]*\), output \(.*\)/\1 \2/p' "$src")
  d=$tmp/rnet$seed
  mkdir -p "$d"
  why=
  # 1. the front end
  if ! NO_COLOR=1 "$CNNCC" --summary "$src" >"$d/summary" 2>&1; then
    why="rejected by cnncc --check (a generator or front-end bug)"
    rejected=$((rejected + 1))
  else
    got="$(sed -n 's/^Total params: //p' "$d/summary" | tr -d ,) $(sed -n 's/^Output: [^ ]* \(\[[^]]*\]\).*/\1/p' "$d/summary")"
    [ "$got" = "$want" ] || why="cnncc --summary says params and output $got, the generator $want"
  fi
  # 2. warning-free float code (a failure here does not stop the gradient check)
  : >"$d/log"
  frontend_ok=$([ -z "$why" ] && echo 1)
  if [ -n "$frontend_ok" ] && ! "$CNNCC" "$src" -o "$d/net.c" >>"$d/log" 2>&1; then
    why="cnncc -o net.c fails"
  elif [ -n "$frontend_ok" ]; then
    for cc in $compilers; do
      # clang warns the same at any optimization level: only gcc compiles
      opts=$cflags
      case $cc in *clang*) opts=-fsyntax-only ;; esac
      # shellcheck disable=SC2086
      if ! $cc -std=c99 -Wall -Wextra -Werror $opts -c -I"$top_srcdir/runtime" -I"$d" \
          "$d/net.c" -o "$d/net.o" >"$d/cc.log" 2>&1; then
        why="${why:+$why; }warnings from $cc -std=c99 -Wall -Wextra -Werror $opts"
        cat "$d/cc.log" >>"$d/log"
      fi
    done
  fi
  # 3. the gradient check (one build, two runs)
  if [ -n "$frontend_ok" ]; then
    res=$(gradcheck "$src" "--batch 3 --per-tensor 4 --input-checks 4 --seed $seed" \
      "--batch 2 --eval --per-tensor 3 --input-checks 3 --seed $seed")
    case $res in
    *"not ok"*)
      why="${why:+$why; }gradient check fails"
      printf '%s\n' "$res" | grep -v '^ok' | sed 's/^# //' >>"$d/log" ;;
    esac
  fi
  if [ -z "$why" ]; then
    ok "$what; $(sed -n 's/^# expect: //p' "$src")"
    continue
  fi
  failed=$((failed + 1))
  not_ok "$what: $why"
  [ -n "$keep" ] || keep=$(mktemp -d "${TMPDIR:-/tmp}/random-nets-failures.XXXXXX")
  cp "$src" "$keep/"
  case $why in rejected* | *--summary*) cp "$d/summary" "$keep/rnet$seed.log" ;;
  *) cp "$d/log" "$keep/rnet$seed.log" ;; esac
  diag "$(head -n 40 "$keep/rnet$seed.log")" "--- rnet$seed.cnn:" "$(cat "$src")"
done
echo "# $n networks, $failed failed ($rejected rejected by the front end), $(($(date +%s) - start)) s"
[ -n "$keep" ] && echo "# failing programs and logs kept in $keep"
exit 0
