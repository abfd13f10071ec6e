#!/bin/sh
# bench/compilers.sh - which C compiler makes the fastest trainers: the
# same generated C built by each compiler cnncc can use (`CNNCC_CC=CC
# cnncc EX.cnn -o prog`, -O3 and --target=native as always), timed with
# `prog bench --threads 1` (docs/performance.md, "Which C compiler builds
# the trainers"):
#
#     bench/compilers.sh [EXAMPLE...]     (default: lenet vgg resnet vgg-cifar)
#
# from the source tree after `make` (or set CNNCC, top_builddir).
#
# The figure is images per second of the trainer's CPU time (user +
# system, /usr/bin/time), one thread: unlike wall-clock time it hardly
# moves when other programs share the machine, so compilers can be
# compared on a busy machine too (docs/performance.md shows both). Each
# trainer runs COMPILERS_REPEAT times (default 3) for about
# COMPILERS_SECONDS of CPU time (default 3); the median run counts (a
# best-of took a run that once reported half the CPU time it used), and
# the fastest compiler of each row is marked. Compilers that are not installed
# are left out; COMPILERS="clang gcc" picks others.
set -eu
LC_ALL=C
export LC_ALL
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CNNCC=${CNNCC:-$top_builddir/cnncc}
REPEAT=${COMPILERS_REPEAT:-3}
SECONDS_EACH=${COMPILERS_SECONDS:-3}
[ $# -gt 0 ] || set -- lenet vgg resnet vgg-cifar
have=
for cc in ${COMPILERS:-clang clang-19 gcc}; do
  command -v "$cc" >/dev/null 2>&1 && have="$have $cc"
done
[ -n "$have" ] || { echo "bench/compilers.sh: none of the compilers is installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/compilers.sh: needs /usr/bin/time (Debian: time)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/compilers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# cpu_rate PROG STEPS: images per CPU second of one `bench` run (batch 64),
# its 3 warm-up steps counted too (the CPU time includes them)
cpu_rate() {
  /usr/bin/time -f 'cpu %U %S' "$1" bench --steps "$2" --threads 1 >"$tmp/out" 2>&1 || return 1
  awk -v steps="$2" '/^cpu / { t = $2 + $3 } END { if (t > 0) printf "%.1f", (steps + 3) * 64 / t }' "$tmp/out"
}

echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs; 1 thread, batch 64"
echo "# images per CPU-second of prog bench (median of $REPEAT); * = fastest"
printf '%-10s' example
for cc in $have; do printf ' %22s' "$cc $("$cc" --version | head -n 1 | grep -o '[0-9][0-9.]*' | head -n 1)"; done
echo
for ex in "$@"; do
  printf '%-10s' "$ex"
  best=0 line=
  for cc in $have; do
    prog=$tmp/$ex-$cc
    if ! CNNCC_CC=$cc "$CNNCC" "$top_srcdir/examples/$ex.cnn" -o "$prog" >"$tmp/build.log" 2>&1; then
      line="$line failed"
      continue
    fi
    probe=$(cpu_rate "$prog" 2) || { line="$line failed"; continue; }
    steps=$(awk -v r="$probe" -v s="$SECONDS_EACH" 'BEGIN { n = int(r * s / 64); print n < 2 ? 2 : n }')
    for _ in $(seq "$REPEAT"); do cpu_rate "$prog" "$steps" || echo 0; echo; done >"$tmp/rates"
    rate=$(sort -n "$tmp/rates" | awk 'NF { r[n++] = $1 } END { print r[int(n / 2)] }')
    best=$(awk -v a="$best" -v b="$rate" 'BEGIN { print (b > a ? b : a) }')
    line="$line $rate"
  done
  for r in $line; do
    mark=$(awk -v a="$r" -v b="$best" 'BEGIN { print a == b ? "*" : " " }')
    printf ' %21s%s' "$r" "$mark"
  done
  echo
done
