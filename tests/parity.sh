#!/bin/sh
# Parity of the C that cnncc generates with the PyTorch mirror
# (cnncc --emit=pytorch), for every example and tests/torch-ops*.cnn:
# tests/parity.c drives the generated C (init, one batch, forward, backward,
# Adam steps) and writes what it computed; tests/parity.py loads the same
# parameters into the mirror, does the same in PyTorch and compares.
# docs/pytorch.md explains the checks and the tolerance.
. "$top_srcdir/tests/tap.sh"
need_torch
CC=${CNNCC_CC:-cc}
CHECKS=8 # per network, from tests/parity.py; plus one for building
SEED=${PARITY_SEED:-7}
# network batch: a batch of 2 for the big ones keeps the test short
networks="examples/lenet 4 examples/mlp 4 examples/vgg 4 examples/resnet 4
examples/vgg-cifar 2 examples/wavenet 2 examples/unet 2
tests/torch-ops2d 4 tests/torch-ops1d 4 tests/ops/grouped 3 tests/ops/grouped1d 3
examples/mobilenet 2"
networks=$(san_light "$networks")
[ -n "$SAN" ] && echo "$san_light_note"
# Compared in double precision only (cnncc --dtype=double against torch
# float64, tests/parity.py's DOUBLE_RTOL): mobilenet. Its float32 gradients
# are ill-conditioned, not wrong: at batch 2, 8, 32 PyTorch's own float32
# gradients differ from its float64 ones by up to 8.5e-2, 1.8e-1, 9.9e-2 of
# a layer's largest, the generated portable float C by up to 2.9e-2,
# 1.8e-1, 2.3e-1 (the AVX2 build, with FMA, by 1e-4 at batch 2), while
# outputs, loss and Adam steps agree to 1e-5; in double the generated C and
# PyTorch agree to 8.5e-13. 27 batchnorms in training mode over a small
# batch, the last ones over 2x2 planes, amplify rounding; a larger batch
# does not help.
double_only=" mobilenet "
# tests/parity.sh NAME...: only those networks (e.g. lenet torch-ops1d)
if [ $# -gt 0 ]; then
  only=" $* " selected=
  for w in $networks; do
    case $w in */*) case $only in *" ${w##*/} "*) keep=1 ;; *) keep= ;; esac ;; esac
    [ -n "$keep" ] && selected="$selected $w"
  done
  networks=$selected
fi
# every kernel path this CPU runs (cnncc --target): the portable C
# (generic), and AVX2 and AVX-512, each compared with PyTorch on its own
targets=generic
[ "$have_avx2" = yes ] && targets="$targets avx2"
[ "$have_avx512" = yes ] && targets="$targets avx512"
# network_targets NAME: the kernel paths NAME is compared on ("double":
# the portable C generated with --dtype=double)
network_targets() {
  case $double_only in *" $1 "*) echo double ;; *) echo "$targets" ;; esac
}
set -- $networks
runs=0
while [ $# -gt 0 ]; do
  runs=$((runs + $(network_targets "$(basename "$1")" | wc -w)))
  shift 2
done
set -- $networks
plan $((runs * (CHECKS + 1)))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parity.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# the generated code may need libcnnrt (Adam, random numbers)
find_rtlib
# one thread everywhere: sums in a fixed order, results that do not vary
OMP_NUM_THREADS=1
export OMP_NUM_THREADS

# fail_all NAME TEXT: the checks of a network and target that could not run
fail_all() {
  not_ok "$1: generated C builds and runs"
  diag "$2"
  i=0
  while [ $i -lt $CHECKS ]; do
    not_ok "$1: skipped, no C results"
    i=$((i + 1))
  done
}

while [ $# -gt 0 ]; do
  src=$1 batch=$2
  shift 2
  name=$(basename "$src")
  d=$tmp/$name
  mkdir -p "$d"
  log=$d/log
  ts=$(network_targets "$name") dtype=float pyarg=
  [ "$ts" = double ] && dtype=double pyarg=double
  if ! "$CNNCC" --emit=pytorch "$top_srcdir/$src.cnn" -o "$d/mirror.py" >"$log" 2>&1 ||
     ! "$CNNCC" --dtype=$dtype "$top_srcdir/$src.cnn" -o "$d/$name.c" >>"$log" 2>&1 ||
     ! defines=$("$PYTHON" "$top_srcdir/tests/parity.py" --defines "$d/mirror.py" 2>>"$log"); then
    for t in $ts; do fail_all "$name ($t)" "$(tail -n 30 "$log")"; done
    continue
  fi
  # unet, batch 2: seed 7's batch puts a ReLU input within rounding of zero,
  # where the gradient jumps; the FMA kernels (clang) round it to the other
  # side than PyTorch, and every step-1 gradient then differs by ~0.5%.
  # Seed 8's has no such input on any path (gcc and clang).
  # resnet, batch 4: a kink of the same kind (a ReLU or max-pool input within
  # rounding of a tie) at seed 7 on an AMD EPYC (Zen 3, AVX2), where
  # PyTorch's own kernels round differently than on the AVX-512 Xeons: the
  # first layers' gradients differ by up to 0.5% on the portable and AVX2
  # paths alike (the same bits), while a commit from before this change
  # fails the same way; seed 8 passes there.
  seed=$SEED
  case $name in unet | resnet) [ -z "${PARITY_SEED:-}" ] && seed=8 ;; esac
  for t in $ts; do
    eval "flags=\${${t}_flags:-}"
    td=$d/$t
    mkdir -p "$td"
    # shellcheck disable=SC2086
    if ! $CC -std=c11 -O2 $flags $SAN -DCNNCC_NO_MAIN $defines -DHEADER="\"$name.h\"" \
           -I"$d" -I"$top_srcdir/runtime" -o "$td/parity" \
           "$top_srcdir/tests/parity.c" "$d/$name.c" $rtlib -lm >"$td/log" 2>&1 ||
       ! "$td/parity" "$td" "$batch" "$seed" >>"$td/log" 2>&1; then
      fail_all "$name ($t)" "$(tail -n 30 "$td/log")"
      continue
    fi
    ok "$name ($t): generated C builds and runs (batch $batch, $t kernels)"
    # shellcheck disable=SC2086
    "$PYTHON" "$top_srcdir/tests/parity.py" "$d/mirror.py" "$td" "$batch" $pyarg >"$td/results" 2>&1
    before=$tap_n
    while IFS= read -r line; do
      case $line in
        "ok|"*) ok "$name ($t): ${line#ok|}" ;;
        "not ok|"*) not_ok "$name ($t): ${line#not ok|}" ;;
        "#"*) printf '%s\n' "$line" ;;
        *) diag "$line" ;;
      esac
    done <"$td/results"
    while [ $((tap_n - before)) -lt $CHECKS ]; do
      not_ok "$name ($t): check $((tap_n - before + 1)) did not run (tests/parity.py stopped)"
    done
  done
done
exit 0
