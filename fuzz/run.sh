#!/bin/sh
# run.sh - run one libFuzzer harness for a while on a copy of its corpus.
#
#   fuzz/run.sh HARNESS BINARY SRCDIR WORKDIR SECONDS
#
# HARNESS is frontend, idx, cifar, checkpoint, image or csv; BINARY its libFuzzer build
# (fuzz/fuzz-HARNESS); SRCDIR the source tree (for fuzz/corpus/HARNESS,
# fuzz/regressions/HARNESS and fuzz/cnn.dict). Everything happens in
# WORKDIR/HARNESS, which is emptied first: corpus/ (the copy, growing as the
# fuzzer finds new coverage), tmp/ (the harness's temporary files), log
# (libFuzzer's output) and crash-*, leak-*, timeout-*, oom-* (findings).
# Exit status 0 if the run ended without a finding, 1 otherwise; a finding
# is shown with its file name and the harness's own message.
# FUZZ_JOBS=N runs N libFuzzer workers (-fork=N) instead of one process.
set -u
if [ $# -ne 5 ]; then
  echo "usage: $0 HARNESS BINARY SRCDIR WORKDIR SECONDS" >&2
  exit 2
fi
name=$1 bin=$2 src=$3 work=$4/$1 seconds=$5

case $name in
frontend)   max_len=4096 dict=$src/fuzz/cnn.dict ;;
idx)        max_len=4096 dict= ;;
cifar)      max_len=8192 dict= ;;
checkpoint) max_len=1024 dict= ;;
image)      max_len=8192 dict= ;;
csv)        max_len=4096 dict= ;;
*) echo "run.sh: unknown harness '$name'" >&2; exit 2 ;;
esac

if [ ! -x "$bin" ]; then
  echo "run.sh: $bin not built (make fuzz-build)" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work/corpus" "$work/tmp"
work=$(cd "$work" && pwd)
cp "$src/fuzz/corpus/$name"/* "$work/corpus/"
# Old findings are seeds too: a regression that fails again is found at once.
if [ -d "$src/fuzz/regressions/$name" ]; then
  for f in "$src/fuzz/regressions/$name"/*; do
    [ -f "$f" ] && cp "$f" "$work/corpus/regression-$(basename "$f")"
  done
fi

set -- -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
  -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
  -artifact_prefix="$work/"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
[ -n "${FUZZ_JOBS:-}" ] && set -- "$@" -fork="$FUZZ_JOBS"
echo "fuzz-$name: running for ${seconds}s in $work (log: $work/log)"
TMPDIR=$work/tmp "$bin" "$@" "$work/corpus" > "$work/log" 2>&1
status=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -n 1)
corpus=$(ls "$work/corpus" | wc -l)
findings=$(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
if [ "$status" = 0 ] && [ -z "$findings" ]; then
  echo "fuzz-$name: ok: ${runs:-?} runs, ${cov:-cov: ?}, corpus $corpus inputs"
  rm -rf "$work/tmp"
  exit 0
fi

echo "fuzz-$name: FAILED (exit status $status)"
grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|.*fuzz check failed|.*fuzz: )' "$work/log" | head -n 20
for f in $findings; do
  echo "fuzz-$name: finding: $work/$f"
  # Again, with the harness's own messages (libFuzzer hid them above).
  TMPDIR=$work/tmp UBSAN_OPTIONS=print_stacktrace=1 "$bin" -timeout=10 "$work/$f" 2>&1 |
    grep -E '(ERROR|SUMMARY|runtime error|fuzz check failed|fuzz: |fuzznet: | #[0-9]+ 0x)' | head -n 25
  echo "fuzz-$name: to keep it as a regression input: cp '$work/$f' '$src/fuzz/regressions/$name/SHORT-NAME'"
done
[ -n "$findings" ] || tail -n 30 "$work/log"
exit 1
