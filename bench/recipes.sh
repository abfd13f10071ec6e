#!/bin/sh
# bench/recipes.sh - training recipes against each other (`make
# bench-recipes`, docs/training.md "Measured results"): each example is
# trained for the same epochs on the same data, once with its train
# block's optimizer (Adam) and once with SGD with momentum and a cosine
# schedule, and one table gives the test accuracy after every epoch and
# the time of each run. These are accuracy figures, not speed ones: the
# runs use every thread and need not run on an idle machine.
#
# Environment:
#   BENCH_EXAMPLES   examples to train (default: lenet vgg)
#   BENCH_DATA       the data (default: Debian's full Fashion-MNIST,
#                    /usr/share/datasets/fashion-mnist, else the sample in data/)
#   BENCH_EPOCHS     epochs of every run (default 5)
#   BENCH_SGD        the SGD recipe's --optimizer
#                    (default: sgd(lr=0.05,momentum=0.9,nesterov=true,weight_decay=5e-4))
#   BENCH_SCHEDULE   its --schedule (default: cosine(warmup=1))
#   BENCH_RESULTS    directory of the logs (default: bench/results)
#   CNNCC            the compiler (default: $top_builddir/cnncc)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/bench/common.sh"
BENCH_EXAMPLES=${BENCH_EXAMPLES:-lenet vgg}
BENCH_DATA=${BENCH_DATA:-/usr/share/datasets/fashion-mnist}
[ -d "$BENCH_DATA" ] || BENCH_DATA=$top_srcdir/data/fashion-mnist
BENCH_EPOCHS=${BENCH_EPOCHS:-5}
BENCH_SGD=${BENCH_SGD:-sgd(lr=0.05,momentum=0.9,nesterov=true,weight_decay=5e-4)}
BENCH_SCHEDULE=${BENCH_SCHEDULE:-cosine(warmup=1)}
BENCH_RESULTS=${BENCH_RESULTS:-$top_builddir/bench/results}
mkdir -p "$BENCH_RESULTS"
log=$BENCH_RESULTS/recipes.txt
work=$(mktemp -d "${TMPDIR:-/tmp}/recipes.XXXXXX")
trap 'rm -rf "$work"' EXIT

# accuracies LOG: the test (or validation) accuracy after each epoch, then
# the seconds the epochs took, on one line
accuracies() {
  sed -n 's/^epoch [0-9]*\/[0-9]*: .* \(test\|val\)_acc \([0-9.]*\)[^(]*(\([0-9.]*\) s.*/\2 \3/p' "$1" |
    awk '{ acc = acc sprintf(" %7s", $1); s += $2 } END { printf "%s %8.0f\n", acc, s }'
}

# train NAME RECIPE OPTION...: one run of example NAME, its table row
train() {
  name=$1 recipe=$2
  shift 2
  run_log=$work/$name-$(echo "$recipe" | tr -c 'a-z0-9\n' _).log
  if ! "$work/$name" train --data "$BENCH_DATA" --epochs "$BENCH_EPOCHS" "$@" >"$run_log" 2>&1; then
    echo "recipes.sh: $name with $recipe failed:" >&2
    tail -n 5 "$run_log" >&2
    exit 1
  fi
  cat "$run_log" >>"$log"
  printf '%-8s%s  %s\n' "$name" "$(accuracies "$run_log")" "$recipe"
}

: >"$log"
echo "data: $BENCH_DATA, $BENCH_EPOCHS epochs, $(nproc) threads; cnncc $("$CNNCC" --version | head -n 1)"
printf '%-8s%s  %s\n' example "$(seq "$BENCH_EPOCHS" | awk '{ printf " %7s", "epoch" $1 }')  seconds" recipe
for name in $BENCH_EXAMPLES; do
  "$CNNCC" "$top_srcdir/examples/$name.cnn" -o "$work/$name"
  block=$(sed -n 's/^ *optimizer = \(.*\)/\1/p' "$top_srcdir/examples/$name.cnn")
  train "$name" "$block (train block)"
  train "$name" "$BENCH_SGD + $BENCH_SCHEDULE" --optimizer "$BENCH_SGD" --schedule "$BENCH_SCHEDULE"
done
echo "(the runs' output: $log)"
