#!/bin/sh
# bench/train.sh - the training benchmark of cnncc (`make bench`,
# docs/performance.md).
#
# For each example: build the trainer (--target=native when cnncc has it),
# time `PROG bench` with 1 and 2 threads, time the PyTorch mirror
# (bench/torch_train.py) with 1 and 2 threads, and print one table with the
# speed ratio, the GFLOP/s reached against the FMA peak measured by
# bench/peak.c in the same run, the peak RSS of both and the compile time.
# Everything the runs printed goes to bench/results/latest.txt (and a copy
# named after the date).
#
# Environment:
#   BENCH_EXAMPLES   examples to run (default: lenet vgg resnet vgg-cifar
#                    mobilenet; wavenet and unet work too)
#   BENCH_BATCH      batch size (default 64)
#   BENCH_SECONDS    about how long each timed run lasts (default 6)
#   BENCH_REPEAT     timed runs of each measurement; the fastest counts
#                    (default 2: the machine may be busy with other work)
#   BENCH_DETERMINISM  auto (default: when the trainer uses threads), always
#                    or never: train 2 steps on random data with 1 and with 2
#                    OpenMP threads and compare the checkpoints bit for bit
#   BENCH_RESULTS    directory of the results (default: bench/results)
#   CNNCC            the compiler (default: $top_builddir/cnncc)
#   CNNCC_PYTHON     Python with torch (default: /usr/bin/python3 if it has
#                    torch, else python3)
#   CNNCC_CC         compiler for bench/peak.c (default: clang)
#   PEAK             a built bench/peak (default: built here)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/bench/common.sh"
BENCH_EXAMPLES=${BENCH_EXAMPLES:-lenet vgg resnet vgg-cifar mobilenet}
BENCH_BATCH=${BENCH_BATCH:-64}
BENCH_SECONDS=${BENCH_SECONDS:-6}
BENCH_REPEAT=${BENCH_REPEAT:-2}
BENCH_DETERMINISM=${BENCH_DETERMINISM:-auto}
BENCH_RESULTS=${BENCH_RESULTS:-$top_builddir/bench/results}
CNNCC_CC=${CNNCC_CC:-clang}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
# calc EXPR [VAR=VALUE...]: floating-point arithmetic with awk
calc() { expr=$1; shift; awk "$@" "BEGIN { x = ($expr); print x }" </dev/null; }

[ -x "$CNNCC" ] || die "no cnncc at $CNNCC (run make, or set CNNCC)"
if [ -z "${CNNCC_PYTHON:-}" ]; then
  for p in /usr/bin/python3 python3; do
    if "$p" -c 'import torch' 2>/dev/null; then CNNCC_PYTHON=$p; break; fi
  done
fi
[ -n "${CNNCC_PYTHON:-}" ] && "$CNNCC_PYTHON" -c 'import torch' 2>/dev/null ||
  die "no Python with torch (set CNNCC_PYTHON)"
TIME=/usr/bin/time
[ -x "$TIME" ] || die "$TIME is missing (Debian: apt-get install time)"

work=$(mktemp -d "${TMPDIR:-/tmp}/cnncc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
raw=$work/raw.txt
: >"$raw"
log() { printf '%s\n' "$*" >>"$raw"; }
# logfile TITLE FILE: a file's lines into the raw log, indented
logfile() { log "  [$1]"; sed 's/^/    /' "$2" >>"$raw"; }

started=$(now)
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
file_stamp=$(date -u +%Y%m%d-%H%M%S)
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
ncpu=$(getconf _NPROCESSORS_ONLN)
commit=$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$top_srcdir" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi
cc_version=$("$CNNCC_CC" --version 2>/dev/null | head -n 1 || echo "?")
torch_version=$("$CNNCC_PYTHON" -c 'import torch; print(torch.__version__)')

# How busy the machine is before we start: the share of CPU time not idle
# over one second (others' work skews every figure below).
cpu_busy() {
  a=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
  echo "$a $b" | awk '{ t = $3 - $1; i = $4 - $2; printf "%.0f", (t > 0 ? 100 * (t - i) / t : 0) }'
}
busy=$(cpu_busy)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

target=
if "$CNNCC" --help 2>&1 | grep -q -- '--target.*native'; then target=--target=native; fi

log "cnncc training benchmark, $stamp"
log "machine: $cpu, $ncpu CPUs; $(uname -sr)"
log "commit: $commit; generated code: $("$CNNCC" --version 2>&1 | head -n 1), ${target:-default target}, $cc_version"
log "pytorch: $torch_version ($CNNCC_PYTHON)"
log "batch $BENCH_BATCH, about $BENCH_SECONDS s per timed run, best of $BENCH_REPEAT runs, examples: $BENCH_EXAMPLES"
log "load before the run: ${busy}% of the CPUs busy, load average $loadavg"
if [ "$busy" -gt 10 ]; then
  say "warning: the CPUs were ${busy}% busy before the run (load average $loadavg): the figures will be low and noisy"
  log "WARNING: the machine was not idle"
fi

# ---- the FMA peak ----
if [ -z "${PEAK:-}" ]; then
  PEAK=$work/peak
  say "building bench/peak.c with $CNNCC_CC -O3 -march=native"
  "$CNNCC_CC" -O3 -march=native -pthread -o "$PEAK" "$top_srcdir/bench/peak.c" ||
    die "cannot build bench/peak.c"
fi
say "measuring the FMA peak"
"$PEAK" 1 2 >"$work/peak.out"
logfile peak "$work/peak.out"
peak1=$(sed -n 's/^peak_gflops_1t=//p' "$work/peak.out")
peak2=$(sed -n 's/^peak_gflops_2t=//p' "$work/peak.out")
peak=$(calc 'a > b ? a : b' -v a="$peak1" -v b="$peak2")

# ---- helpers ----

# field NAME FILE: the value of the last NAME=VALUE in FILE
field() { sed -n "s/^.*$1=\([^ ]*\).*$/\1/p" "$2" | tail -n 1; }
# rss_of FILE: /usr/bin/time's %M (KB), its last line
rss_of() { tail -n 1 "$1"; }
mib() { calc 'sprintf("%.1f", k / 1024)' -v k="$1"; }

# cnncc_best PROG THREADS STEPS TAG: cnncc_bench BENCH_REPEAT times; ips is
# the best, rss the largest
cnncc_best() {
  best=0 maxrss=0 r=1
  while [ "$r" -le "$BENCH_REPEAT" ]; do
    cnncc_bench "$1" "$2" "$3" "$4-$r"
    best=$(calc 'a > b ? a : b' -v a="$best" -v b="$ips")
    maxrss=$(calc 'a > b ? a : b' -v a="$maxrss" -v b="$rss")
    r=$((r + 1))
  done
  ips=$best rss=$maxrss
}

# cnncc_bench PROG THREADS STEPS TAG: run PROG bench; sets ips, ms, rss, nothreads
cnncc_bench() {
  "$TIME" -f %M -o "$work/$4.rss" "$1" bench --batch "$BENCH_BATCH" --steps "$3" \
    --threads "$2" >"$work/$4.out" 2>"$work/$4.err" ||
    { cat "$work/$4.err" >&2; die "$1 bench failed"; }
  log "  cnncc bench --batch $BENCH_BATCH --steps $3 --threads $2:"
  sed 's/^/    /' "$work/$4.out" "$work/$4.err" >>"$raw"
  ips=$(field images_per_s "$work/$4.out")
  ms=$(sed -n 's/^bench:.*, \([0-9.]*\) ms\/step$/\1/p' "$work/$4.err")
  rss=$(rss_of "$work/$4.rss")
  log "    peak_rss_kb=$rss"
  nothreads=0
  if grep -q 'threads ignored' "$work/$4.err"; then nothreads=1; fi
}

# torch_bench MODULE THREADS TAG: sets tips, trss
torch_bench() {
  "$TIME" -f %M -o "$work/$3.rss" "$CNNCC_PYTHON" "$top_srcdir/bench/torch_train.py" "$1" \
    --batch "$BENCH_BATCH" --seconds "$BENCH_SECONDS" --repeat "$BENCH_REPEAT" --threads "$2" \
    >"$work/$3.out" 2>"$work/$3.err" ||
    { cat "$work/$3.err" >&2; die "torch_train.py failed on $1"; }
  log "  pytorch, $2 thread(s):"
  sed 's/^/    /' "$work/$3.out" >>"$raw"
  tips=$(field images_per_s "$work/$3.out")
  trss=$(rss_of "$work/$3.rss")
  log "    peak_rss_kb (/usr/bin/time)=$trss"
}

# the share of the FMA peak a training step is to reach (issue #13)
goal_of() {
  case $1 in
    lenet) echo 35 ;; vgg | resnet | vgg-cifar) echo 60 ;; *) echo - ;;
  esac
}

rows=$work/rows
: >"$rows"
slowest_compile=0
slowest_example=

for ex in $BENCH_EXAMPLES; do
  src=$top_srcdir/examples/$ex.cnn
  [ -f "$src" ] || die "no example $src"
  log ""
  log "== $ex"
  flops=$("$CNNCC" --summary "$src" | sed -n 's/^Forward FLOPs per sample: //p' | tr -d ,)
  [ -n "$flops" ] || die "cnncc --summary $src printed no FLOPs"
  log "  forward FLOPs per sample: $flops"

  prog=$work/$ex
  say "$ex: compiling"
  t0=$(now)
  "$CNNCC" $target "$src" -o "$prog" || die "cnncc failed on $src"
  t1=$(now)
  compile=$(calc 'sprintf("%.1f", b - a)' -v a="$t0" -v b="$t1")
  log "  compile: cnncc $target $ex.cnn -o prog: $compile s"
  if [ "$(calc 'c > s' -v c="$compile" -v s="$slowest_compile")" = 1 ]; then
    slowest_compile=$compile slowest_example=$ex
  fi
  "$CNNCC" --emit=pytorch "$src" -o "$work/$ex.py"

  # cnncc: a one-step probe gives the time of a step; then BENCH_REPEAT
  # runs of enough steps for about BENCH_SECONDS each.
  say "$ex: cnncc, 1 thread"
  cnncc_bench "$prog" 1 1 "$ex-probe"
  threaded=$((1 - nothreads))
  steps=$(calc 'int(1000 * s / ms) + 1' -v ms="$ms" -v s="$BENCH_SECONDS")
  cnncc_best "$prog" 1 "$steps" "$ex-1t"
  c1=$ips crss=$rss
  c2=- check=n/a
  if [ "$threaded" = 1 ]; then
    say "$ex: cnncc, 2 threads"
    cnncc_best "$prog" 2 "$steps" "$ex-2t"
    c2=$ips
    crss=$(calc 'a > b ? a : b' -v a="$crss" -v b="$rss")
  else
    log "  (built without OpenMP: --threads is ignored, so no 2-thread run)"
  fi

  # 1 vs 2 threads bit for bit: two training steps on random data.
  if [ "$BENCH_DETERMINISM" = always ] ||
     { [ "$BENCH_DETERMINISM" = auto ] && [ "$threaded" = 1 ]; }; then
    say "$ex: training with 1 and 2 threads to compare the results"
    "$CNNCC_PYTHON" "$top_srcdir/bench/synth_data.py" "$work/$ex.py" "$work/data-$ex" \
      --train 32 --test 16
    for t in 1 2; do
      OMP_NUM_THREADS=$t "$prog" train --data "$work/data-$ex" --epochs 1 --batch 16 \
        --save "$work/$ex-$t.ckpt" >"$work/$ex-train$t.out" 2>&1 ||
        { cat "$work/$ex-train$t.out" >&2; die "$prog train failed"; }
    done
    if cmp -s "$work/$ex-1.ckpt" "$work/$ex-2.ckpt"; then check=yes; else check=NO; fi
    log "  checkpoints after 2 training steps with 1 and 2 threads identical: $check"
  fi

  say "$ex: pytorch, 1 and 2 threads"
  torch_bench "$work/$ex.py" 1 "$ex-torch1"
  t1ips=$tips t1rss=$trss
  torch_bench "$work/$ex.py" 2 "$ex-torch2"
  t2ips=$tips t2rss=$trss
  if [ "$(calc 'a >= b' -v a="$t1ips" -v b="$t2ips")" = 1 ]; then
    tbest=$t1ips tthr=1
  else
    tbest=$t2ips tthr=2
  fi
  trss=$(calc 'a > b ? a : b' -v a="$t1rss" -v b="$t2rss")

  cbest=$c1
  [ "$c2" = - ] || cbest=$(calc 'a > b ? a : b' -v a="$c1" -v b="$c2")
  printf '%s %s %s %s %s %s %s %s %s %s %s %s\n' "$ex" "$flops" "$c1" "$c2" "$cbest" \
    "$tbest" "$tthr" "$crss" "$trss" "$compile" "$check" "$(goal_of "$ex")" >>"$rows"
done

# ---- the table ----
table=$work/table
{
  printf 'cnncc training benchmark, %s\n' "$stamp"
  printf 'machine: %s, %s CPUs; commit %s\n' "$cpu" "$ncpu" "$commit"
  printf 'generated code: %s, %s; PyTorch %s\n' "${target:-default target}" "$cc_version" "$torch_version"
  printf 'batch %s; images/s of forward+backward+Adam on random data, warm-up excluded, best of %s runs\n' \
    "$BENCH_BATCH" "$BENCH_REPEAT"
  printf 'FMA peak (bench/peak.c): %s GFLOP/s 1 thread, %s GFLOP/s 2 threads; %%peak is of %s\n' \
    "$peak1" "$peak2" "$peak"
  if [ "$busy" -gt 10 ]; then
    printf 'WARNING: the CPUs were %s%% busy before the run (load average %s)\n' "$busy" "$loadavg"
  fi
  echo
  awk -v peak="$peak" '
    BEGIN {
      printf "%-10s %8s %9s %9s %12s %6s %5s %4s %7s %6s %9s %9s %5s %8s %6s\n",
        "example", "MFLOP/im", "cnncc 1t", "cnncc 2t", "torch (thr)", "ratio", "goal", "met",
        "GFLOP/s", "%peak", "RSS cnncc", "RSS torch", "RSS/", "compile", "1t=2t"
    }
    {
      ex = $1; flops = $2; c1 = $3; c2 = $4; cbest = $5; tbest = $6; tthr = $7
      crss = $8; trss = $9; compile = $10; check = $11; goal = $12
      ratio = cbest / tbest
      gflops = 3 * flops * cbest / 1e9
      met = goal == "-" ? "-" : (100 * gflops / peak >= goal ? "yes" : "no")
      printf "%-10s %8.2f %9.1f %9s %8.1f (%d) %5.2fx %5s %4s %7.1f %5.1f%% %5.0f MiB %5.0f MiB %5.2f %6.1f s %6s\n",
        ex, flops / 1e6, c1, c2 == "-" ? "-" : sprintf("%.1f", c2), tbest, tthr, ratio,
        goal == "-" ? "-" : goal "%", met, gflops, 100 * gflops / peak,
        crss / 1024, trss / 1024, crss / trss, compile, check
    }' "$rows"
  echo
  printf 'goals: %%peak >= goal (of the better of the 1- and 2-thread FMA peaks); peak RSS <= 1/4 of PyTorch'"'"'s (RSS/ <= 0.25); compile < 30 s\n'
  printf 'slowest compile: %s, %s s (cnncc %s ... -o prog, generation and clang)\n' \
    "$slowest_example" "$slowest_compile" "$target"
  printf 'GFLOP/s = 3 x forward FLOPs per image x the best cnncc images/s\n'
  printf 'torch (thr): the better of 1 and 2 threads; RSS: the larger of the runs\n'
  if awk '$11 == "n/a" { found = 1 } END { exit !found }' "$rows"; then
    printf '1t=2t n/a: the trainer is built without OpenMP (--threads is ignored), so\n'
    printf 'there is no 2-thread run and nothing to compare\n'
  fi
  finished=$(now)
  printf 'benchmark time: %s s\n' "$(calc 'sprintf("%.0f", b - a)' -v a="$started" -v b="$finished")"
} >"$table"

mkdir -p "$BENCH_RESULTS"
out=$BENCH_RESULTS/$file_stamp.txt
{ cat "$table"; echo; echo "---- raw results ----"; cat "$raw"; } >"$out"
cp "$out" "$BENCH_RESULTS/latest.txt"
cat "$table"
say "results in $BENCH_RESULTS/latest.txt"
