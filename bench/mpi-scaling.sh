#!/bin/sh
# bench/mpi-scaling.sh - the data-parallel trainers under MPI against the
# plain ones (`make bench-mpi`, docs/distributed.md): for each example, the
# images/s of 1 process x 2 OpenMP threads (`prog bench --threads 2`)
# against 2 ranks x 1 thread (`mpirun -np 2 prog-mpi bench --threads 1`),
# and the bytes a rank receives per training step in the exchanges
# (`mpi_bytes_in_per_step=`, the busiest rank). The best of BENCH_REPEAT
# runs counts. A benchmark: it fails only when something does not build or run.
#
# Then a model of the speed-up on N nodes (one rank each) over links of 10,
# 25 and 100 Gbit/s, from figures of this run: T1, the plain trainer's step
# on 1 thread, and f, the convolutions' share of it (`bench --profile`),
# which are the only layers the ranks divide (docs/distributed.md):
#   T(N) = T1 * ((1 - f) + f * ceil(PARTS / N) / PARTS) + B(N) / bandwidth
#   B(N) = B(2) * 2 * (N - 1) / N,  S(N) = T1 / T(N),  PARTS = 4
# with B(2) the bytes a rank received per step on 2 ranks. Both kinds of
# exchange scale so: a rank receives the other ranks' (N - 1) / N of every
# gathered activation and the gradients of the parts it does not own. No
# latency term, no overlap of computing and sending: a bound on the
# bandwidth's cost, not a prediction of a given cluster.
#
# Environment:
#   BENCH_EXAMPLES   examples (default: lenet vgg resnet vgg-cifar)
#   BENCH_BATCH      batch size (default 64)
#   BENCH_REPEAT     runs of each measurement, the fastest counts (default 2)
#   CNNCC            the compiler (default: $top_builddir/cnncc)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/bench/common.sh"
BENCH_EXAMPLES=${BENCH_EXAMPLES:-lenet vgg resnet vgg-cifar}
BENCH_BATCH=${BENCH_BATCH:-64}
BENCH_REPEAT=${BENCH_REPEAT:-2}

say() { printf 'bench-mpi: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v mpirun >/dev/null 2>&1 || die "no mpirun (Debian: apt-get install openmpi-bin libopenmpi-dev)"
[ -x "$CNNCC" ] || die "no cnncc at $CNNCC (run make, or set CNNCC)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-mpi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# steps EXAMPLE: timed steps of a run of a few seconds on this kind of machine
steps() {
  case $1 in
    lenet | mlp) echo 300 ;;
    vgg-cifar) echo 6 ;;
    *) echo 20 ;;
  esac
}

# value KEY FILE: the number after KEY= in FILE
value() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | tail -n 1; }

# best CMD...: the largest images_per_s of BENCH_REPEAT runs (the last run's
# output stays in $tmp/run.out)
best() {
  b=0
  i=0
  while [ $i -lt "$BENCH_REPEAT" ]; do
    "$@" >"$tmp/run.out" 2>"$tmp/run.err" || { cat "$tmp/run.err" >&2; die "failed: $*"; }
    b=$(awk -v a="$b" -v c="$(value images_per_s "$tmp/run.out")" 'BEGIN { print (c > a ? c : a) }')
    i=$((i + 1))
  done
  echo "$b"
}

printf '%s\n' "cnncc data-parallel training under MPI, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine: %s, %s CPUs; %s\n' "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)" \
  "$(nproc)" "$(mpirun --version 2>&1 | head -n 1)"
printf 'batch %s; images/s of prog bench (forward, backward, Adam), best of %s runs\n' \
  "$BENCH_BATCH" "$BENCH_REPEAT"
printf '%-10s %10s %10s %8s %12s %14s\n' example "1x2 img/s" "2x1 img/s" "2x1/1x2" "2x1 ms/step" "MB in/step/rank"
for ex in $BENCH_EXAMPLES; do
  src=$top_srcdir/examples/$ex.cnn
  [ -f "$src" ] || die "no example $src"
  say "$ex: compiling"
  "$CNNCC" --target=native "$src" -o "$tmp/$ex" >/dev/null 2>"$tmp/build.err" &&
    "$CNNCC" --mpi --target=native "$src" -o "$tmp/$ex-mpi" >/dev/null 2>>"$tmp/build.err" ||
    { cat "$tmp/build.err" >&2; die "$ex: cannot build"; }
  n=$(steps "$ex")
  say "$ex: 1 process x 2 threads"
  one=$(best "$tmp/$ex" bench --batch "$BENCH_BATCH" --steps "$n" --threads 2)
  say "$ex: 2 ranks x 1 thread"
  two=$(best mpirun --allow-run-as-root --oversubscribe -np 2 "$tmp/$ex-mpi" bench --batch "$BENCH_BATCH" \
    --steps "$n" --threads 1)
  bytes=$(value mpi_bytes_in_per_step "$tmp/run.out")
  awk -v ex="$ex" -v one="$one" -v two="$two" -v b="$bytes" -v batch="$BENCH_BATCH" 'BEGIN {
    printf "%-10s %10.1f %10.1f %7.2fx %12.2f %14.2f\n", ex, one, two, two / one, 1e3 * batch / two, b / 1e6 }'
  say "$ex: 1 thread, --profile"
  "$tmp/$ex" bench --batch "$BENCH_BATCH" --steps "$n" --threads 1 --profile >"$tmp/prof.out" 2>&1 ||
    die "$ex: bench --profile failed"
  awk -v ex="$ex" -v b="$bytes" '
    / ms\/step/ { for (i = 1; i <= NF; i++) if ($i == "ms/step") step = $(i - 1) }
    $2 ~ /^conv(1d|2d|_transpose2d)$/ { conv += $4 }
    END { printf "%s %s %s %s\n", ex, step, conv / step, b }' "$tmp/prof.out" >>"$tmp/model.in"
done

echo
echo "model: speed-up S(N) on N nodes of one rank (1 thread of this machine each), batch $BENCH_BATCH"
printf '%-10s %8s %6s %9s %6s' example "T1 ms" f "B(2) MB" Gbit/s
for n in 2 4 8 16 32 64; do printf ' %6s' "N=$n"; done
echo
awk '{
  for (k = 1; k <= 3; k++) {
    bw = k == 1 ? 10 : k == 2 ? 25 : 100
    printf "%-10s %8.2f %6.3f %9.2f %6d", $1, $2, $3, $4 / 1e6, bw
    for (n = 2; n <= 64; n *= 2) {
      parts = n >= 4 ? 1 : 4 / n
      t = $2 * ((1 - $3) + $3 * parts / 4) + 1e3 * $4 * 2 * (n - 1) / n / (bw * 1e9 / 8)
      printf " %5.2fx", $2 / t
    }
    printf "\n"
  }
}' "$tmp/model.in"
