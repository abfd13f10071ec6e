#!/bin/sh
# The commands of README.md and docs/*.md, run exactly as written: every
# fenced block whose info string is `sh` runs with sh -e, every `python`
# block with the Python that has torch (CNNCC_PYTHON, also python3 on PATH),
# one TAP line per block, README.md first and then docs/*.md by name, each
# file's blocks in order, all in one temporary folder laid out as the top of
# a built tree (examples/ and data/ of the source tree, runtime/cnnrt.h and
# runtime/libcnnrt.a, ./cnncc), so that a block may use what an earlier one
# made. cnncc, libcnnrt and cnnrt.pc are installed there too (make install
# prefix=DIR) and on PATH and PKG_CONFIG_PATH, for the lines that follow the
# README's `make install`.
# Blocks whose info string says `norun: REASON` are skipped with their
# reason; every fenced block must say what it is (sh, python, cnn, c or
# text). Takes minutes: the documented trainers train LeNet on the full
# Fashion-MNIST when it is installed, as the docs say they do.
. "$top_srcdir/tests/tap.sh"
if [ -n "$SAN" ]; then
  echo "1..0 # SKIP the documented build lines do not carry --enable-sanitizers' flags"
  exit 0
fi
LC_ALL=C
export LC_ALL
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT

# blocks/N: the text of the Nth fenced block; blocks/index: N, FILE:LINE and
# its info string, tab-separated
mkdir "$work/blocks"
(cd "$top_srcdir" && awk -v dir="$work/blocks" '
  FNR == 1 { inside = 0 }
  /^```/ && !inside {
    inside = 1; block = dir "/" ++n
    printf "" > block
    printf "%d\t%s:%d\t%s\n", n, FILENAME, FNR, substr($0, 4) > (dir "/index")
    next
  }
  /^```/ { inside = 0; close(block); next }
  inside { print > block }' README.md docs/*.md)
index=$work/blocks/index
kind() { printf '%s\n' "$1" | sed 's/[ :].*//'; }
runnable=$(awk -F '\t' '$3 ~ /^(sh|python)([ :]|$)/' "$index" | wc -l)
plan $((1 + runnable))

untyped=$(awk -F '\t' '$3 !~ /^(sh|python|cnn|c|text)([ :]|$)/ { print $2 " " $3 }' "$index")
if [ -z "$untyped" ]; then
  ok "every fenced block says what it is (sh, python, cnn, c, text)"
else
  not_ok "every fenced block says what it is (sh, python, cnn, c, text)"
  diag "without a known info string:" $untyped
fi

# The top of a built tree, with cnncc also installed as a user would.
tree=$work/tree
mkdir "$tree" "$tree/runtime" "$work/bin"
ln -s "$top_srcdir/examples" "$top_srcdir/data" "$tree/"
ln -s "$top_srcdir/runtime/cnnrt.h" "$top_builddir/runtime/libcnnrt.a" "$tree/runtime/"
ln -s "$top_builddir/cnncc" "$tree/cnncc"
if ! install_prefix "$work/prefix" >"$work/install.log" 2>&1; then
  echo "Bail out! make install prefix=$work/prefix failed: $(tail -n 5 "$work/install.log")"
  exit 1
fi
[ -n "$CNNCC_PYTHON" ] && ln -s "$CNNCC_PYTHON" "$work/bin/python3"
PATH=$work/bin:$work/prefix/bin:$PATH PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
export PATH PKG_CONFIG_PATH

# run_block N KIND: the block in the tree; its output in blocks/N.log
run_block() {
  case $2 in
    sh) (cd "$tree" && sh -ex "$work/blocks/$1") </dev/null >"$work/blocks/$1.log" 2>&1 ;;
    python) (cd "$tree" && "$CNNCC_PYTHON" - <"$work/blocks/$1") >"$work/blocks/$1.log" 2>&1 ;;
  esac
}

tab=$(printf '\t')
while IFS=$tab read -r n where info; do
  k=$(kind "$info")
  case $k in sh | python) ;; *) continue ;; esac
  first=$(sed -n 's/ *#.*//; /./{p;q;}' "$work/blocks/$n")
  what="$where: $first ($(grep -c . "$work/blocks/$n") lines)"
  case $info in
    *norun*) ok "$what # SKIP norun${info#*norun}" ;;
    *)
      if [ -z "$CNNCC_PYTHON" ] && grep -q python "$work/blocks/$n"; then
        ok "$what # SKIP no Python with torch (CNNCC_PYTHON)"
      elif run_block "$n" "$k"; then
        ok "$what"
      else
        not_ok "$what"
        diag "$(tail -n 20 "$work/blocks/$n.log")"
      fi
      ;;
  esac
done <"$index"
