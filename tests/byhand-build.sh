#!/bin/sh
# README's build-it-yourself line against cnncc -o, both with an installed
# cnncc and libcnnrt (make install prefix=DIR, PKG_CONFIG_PATH) as a user
# would: the by-hand trainer must run the same SIMD kernels on as many
# OpenMP threads as cnncc's (what `bench` reports); its speed against
# cnncc's is a TAP comment only, as it depends on the machine's load.
# The line is read from README.md, so that the test builds what it says.
. "$top_srcdir/tests/tap.sh"
BENCH_RUNS=3
plan 4
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
if ! install_prefix "$prefix" >"$work/install.log" 2>&1; then
  echo "Bail out! make install prefix=$prefix failed: $(tail -n 5 "$work/install.log")"
  exit 1
fi
PATH=$prefix/bin:$PATH PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PATH PKG_CONFIG_PATH
cd "$work" || exit 1
ln -s "$top_srcdir/examples" examples

# the README's by-hand line, without its comment; with --enable-sanitizers
# the sanitized libcnnrt needs the sanitizer flags too (tests/tap.sh)
byhand=$(sed -n 's/ *#.*//; /pkg-config --cflags --libs cnnrt/p' "$top_srcdir/README.md" | head -n 1)
mkdir cnncc byhand
check "installed cnncc -o builds the LeNet trainer" \
  cnncc examples/lenet.cnn -o cnncc/lenet
check "README's line builds it by hand: $byhand" \
  sh -c "cnncc examples/lenet.cnn -o lenet.c && $byhand $SAN && mv lenet byhand/"

# bench_best BUILD: its best of BENCH_RUNS bench runs, the runs of the two
# builds taking turns so that both see the same load; BUILD.out keeps the
# last output
run_bench() { "$1/lenet" bench --steps 50 >"$1.out" 2>/dev/null && cat "$1.out" >>"$1.all"; }
for i in $(seq $BENCH_RUNS); do
  run_bench cnncc && run_bench byhand || break
done
field() { sed -n "s/^.*$1=\([^ ]*\).*$/\1/p" "$2" | tail -n 1; }
best() { sed -n 's/^images_per_s=//p' "$1.all" | sort -g | tail -n 1; }
how_built() { echo "kernels $(field kernel_isa "$1.out"), $(field threads "$1.out") threads, OpenMP $(field openmp "$1.out")"; }
if [ -s byhand.all ] && [ -s cnncc.all ]; then
  ok "both trainers run bench"
else
  not_ok "both trainers run bench"
fi
# SIMD kernels wherever this CPU has them (tests/tap.sh), and OpenMP
simd_if_possible() { [ "$have_avx2" = no ] || [ "$(field kernel_isa "$1.out")" != portable ]; }
if [ "$(how_built byhand)" = "$(how_built cnncc)" ] && simd_if_possible byhand &&
   [ "$(field openmp byhand.out)" = yes ]; then
  ok "by hand as with cnncc -o: $(how_built byhand)"
else
  not_ok "by hand as with cnncc -o: $(how_built byhand) (cnncc -o: $(how_built cnncc))"
fi
b=$(best byhand) c=$(best cnncc)
echo "# LeNet training images/s, best of $BENCH_RUNS: by hand $b, cnncc -o $c," \
  "ratio $(awk -v b="$b" -v c="$c" 'BEGIN { if (c > 0) printf "%.2f", b / c }')"
