#!/bin/sh
# mpi.sh - data-parallel trainers (cnncc --mpi, docs/distributed.md) end
# with the plain trainer's checkpoint bytes on 1, 2 and 4 ranks (issue #14).
#
# Every example, tests/torch-ops2d.cnn (the other operators) and
# tests/kill-resume.cnn (batchnorm, whose statistics need every sample of
# the batch, dropout and a strided convolution) on small random IDX data
# (bench/synth_data.py). Each is trained by the plain trainer with 2
# threads and by `mpirun -np N` with 1 thread per rank (and 2 ranks x 2
# threads), on a batch that splits unevenly between the ranks and an epoch
# whose last batch is short; the checkpoints must be the same bytes (cmp).
# Then: a run resumed on another number of ranks ends with the same bytes
# (after an epoch, and after a rank was killed in mid-epoch: the job ends
# non-zero and the last checkpoint is whole),
# eval and predict print the same, rank 0 alone prints, and ranks given different --batch
# stop with a message instead of waiting on each other.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
if ! command -v mpirun >/dev/null 2>&1; then
  echo "1..0 # SKIP no MPI (mpirun; apt-get install openmpi-bin libopenmpi-dev)"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! "$CNNCC" --mpi "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet-mpi" >"$tmp/build.log" 2>&1; then
  if grep -q "needs MPI" "$tmp/build.log"; then
    echo "1..0 # SKIP no MPI: $(head -1 "$tmp/build.log")"
    exit 0
  fi
  diag "$(cat "$tmp/build.log")"
  echo "Bail out! cnncc --mpi cannot build LeNet"
  exit 1
fi
# 53 checks. Under the sanitizers the examples that only repeat what the
# others check of the MPI code (the same parts, gradients and checkpoints,
# other layers) are left out, 3 checks each: a sanitized build of each
# takes minutes, and its layers run sanitized in codegen and parity.
san_skip=
[ -n "$SAN" ] && san_skip="mlp vgg resnet vgg-cifar mobilenet wavenet" &&
  echo "# sanitizers: left out: $san_skip (the MPI code is the same; their layers run sanitized in other tests)"
plan $((53 - 3 * $(echo $san_skip | wc -w)))
if [ -n "$SAN" ]; then
  # OpenMPI keeps memory until exit in components it unloads: LeakSanitizer
  # reports it (no frame of ours) and turns the exit status to 1
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  echo "# sanitizers: leak detection off (OpenMPI's allocations at exit are reported as leaks)"
fi
# as root in a container, and 4 ranks on fewer cores
run_mpi() { np=$1; shift; timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$np" "$@"; }

# build NAME CNN [NTRAIN]: the plain and the MPI trainer, and random data in $tmp/NAME-data
build() {
  "$CNNCC" "$2" -o "$tmp/$1" && "$CNNCC" --mpi "$2" -o "$tmp/$1-mpi" &&
    "$CNNCC" --emit=pytorch "$2" -o "$tmp/$1.py" &&
    "$PYTHON" "$top_srcdir/bench/synth_data.py" "$tmp/$1.py" "$tmp/$1-data" --train "${3:-90}" --test 20 --seed 5 >/dev/null
}

# same_bits NAME BATCH EPOCHS NP...: plain vs NP ranks (and, for killresume,
# 2 ranks x 2 threads)
same_bits() {
  name=$1 batch=$2 epochs=$3 nps=
  shift 3
  nps=$*
  set -- train --data "$tmp/$name-data" --batch "$batch" --epochs "$epochs"
  "$tmp/$name" "$@" --threads 2 --save "$tmp/$name.ckpt" >/dev/null 2>"$tmp/plain.log" ||
    diag "$(cat "$tmp/plain.log")"
  for np in $nps; do
    rm -f "$tmp/$name-$np.ckpt"
    run_mpi $np "$tmp/$name-mpi" "$@" --threads 1 --save "$tmp/$name-$np.ckpt" >"$tmp/out.log" 2>&1 ||
      diag "$(tail -5 "$tmp/out.log")"
    check "$name: mpirun -np $np gives the plain trainer's checkpoint bytes" \
      cmp "$tmp/$name.ckpt" "$tmp/$name-$np.ckpt"
  done
  if [ "$name" = killresume ]; then
    rm -f "$tmp/$name-2t.ckpt"
    run_mpi 2 "$tmp/$name-mpi" "$@" --threads 2 --save "$tmp/$name-2t.ckpt" >"$tmp/out.log" 2>&1 ||
      diag "$(tail -5 "$tmp/out.log")"
    check "$name: 2 ranks x 2 threads give the same bytes" cmp "$tmp/$name.ckpt" "$tmp/$name-2t.ckpt"
  fi
}

# same_bits_example NAME CNN NTRAIN BATCH EPOCHS NP...: build and compare, or
# one failure per comparison when the trainers or the data cannot be made
same_bits_example() {
  name=$1 cnn=$2 ntrain=$3
  shift 3
  case " $san_skip " in *" $name "*) return ;; esac
  if build "$name" "$cnn" "$ntrain" 2>"$tmp/build.log"; then
    same_bits "$name" "$@"
  else
    diag "$(cat "$tmp/build.log")"
    shift 2
    for np in "$@"; do not_ok "$name: cannot build the trainers or the data"; done
    [ "$name" = killresume ] && not_ok "$name: cannot build the trainers or the data"
  fi
}
ex=$top_srcdir/examples
# batches of 28 (7 a part), the last of 6 (parts of 1, 2, 1, 2)
same_bits_example lenet "$ex/lenet.cnn" 90 28 2 1 2 4
# parts of 3, 4, 4, 4 samples, 6 batches an epoch
same_bits_example killresume "$top_srcdir/tests/kill-resume.cnn" 90 15 2 1 2 4
# U-Net: transposed convolutions, concatenation, a loss per pixel; 3 ranks:
# parts of 1, 2, 1 + 2 samples
same_bits_example unet "$ex/unet.cnn" 12 6 1 3 4
# the other examples, one epoch of 3 batches of 10 (parts of 2, 3, 2, 3):
# dense layers only; batchnorm after convolutions; residual blocks with
# strided and 1x1 convolutions; color images; dilated causal 1-d
# convolutions with a loss per time step (2 batches of 6)
same_bits_example mlp "$ex/mlp.cnn" 30 10 1 1 2 4
same_bits_example vgg "$ex/vgg.cnn" 30 10 1 1 2 4
same_bits_example resnet "$ex/resnet.cnn" 30 10 1 1 2 4
same_bits_example vgg-cifar "$ex/vgg-cifar.cnn" 30 10 1 1 2 4
# depthwise (grouped) convolutions
same_bits_example mobilenet "$ex/mobilenet.cnn" 12 6 1 1 2 4
same_bits_example wavenet "$ex/wavenet.cnn" 12 6 1 1 2 4
# the operators the examples do not use (global_maxpool, upsample,
# adaptive_avgpool, gelu, silu, hardswish, groupnorm, layernorm, ...)
same_bits_example ops2d "$top_srcdir/tests/torch-ops2d.cnn" 30 10 1 1 2 4

# rank 0 alone prints the result line
run_mpi 2 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --threads 1 >"$tmp/out.log" 2>"$tmp/err.log"
check "the result line is printed once (rank 0)" test "$(grep -c '^test_acc=' "$tmp/out.log")" = 1
check "the epoch line is printed once" test "$(grep -c '^epoch 1/1' "$tmp/err.log")" = 1

# a run of 1 epoch on 2 ranks resumed on 4 for the second ends as 2 plain epochs
rm -f "$tmp/resumed.ckpt"
run_mpi 2 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --batch 28 --epochs 1 --threads 1 \
  --save "$tmp/resumed.ckpt" >/dev/null 2>&1
run_mpi 4 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 2 --threads 1 \
  --resume "$tmp/resumed.ckpt" --save "$tmp/resumed.ckpt" >/dev/null 2>&1
check "lenet: 1 epoch on 2 ranks, resumed on 4: the bytes of 2 plain epochs" \
  cmp "$tmp/lenet.ckpt" "$tmp/resumed.ckpt"

# Faults, on 6000 random samples of tests/kill-resume.cnn, 2 epochs of
# batch 15 (the plain trainer's checkpoint: kill-plain.ckpt)
kd=$tmp/kill-data
set -- train --data "$kd" --batch 15 --epochs 2
"$PYTHON" "$top_srcdir/bench/synth_data.py" "$tmp/killresume.py" "$kd" --train 6000 --test 20 --seed 5 \
  >/dev/null && "$tmp/killresume" "$@" --threads 2 --save "$tmp/kill-plain.ckpt" >/dev/null 2>&1
have_kill_data=$?
# signal_one_rank SIG ARGS...: 2 ranks train (ARGS), a checkpoint every 10 steps; once
# the first is written, SIG goes to one rank (the last); waits for the job
signal_one_rank() {
  sig=$1
  shift
  rm -f "$tmp/killed.ckpt"
  (run_mpi 2 "$tmp/killresume-mpi" "$@" --threads 1 --save "$tmp/killed.ckpt" --checkpoint-every 10 \
     >/dev/null 2>"$tmp/killed.err"; echo $? >"$tmp/killed.status") &
  job=$!
  i=0
  while [ ! -s "$tmp/killed.ckpt" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  rank=$(pgrep -x killresume-mpi | tail -n 1)
  [ -n "$rank" ] && kill -s "$sig" "$rank"
  wait $job
}
evaluates() { "$tmp/killresume" eval --data "$kd" --weights "$1" >/dev/null 2>"$tmp/eval.err"; }
resumed_on_4() {
  run_mpi 4 "$tmp/killresume-mpi" train --data "$kd" --batch 15 --epochs 2 --threads 1 \
    --resume "$tmp/killed.ckpt" --save "$tmp/killed.ckpt" >/dev/null 2>"$tmp/resume.err" ||
    diag "$(tail -5 "$tmp/resume.err")"
  cmp "$tmp/kill-plain.ckpt" "$tmp/killed.ckpt"
}

# a rank killed (SIGKILL) in mid-training: the job ends non-zero, the last
# checkpoint is whole, and resumed on 4 ranks from its mid-epoch step it ends
# with the plain trainer's bytes
if [ $have_kill_data = 0 ] && signal_one_rank KILL "$@"; then
  status=$(cat "$tmp/killed.status")
  check "a rank killed with SIGKILL: the job exits non-zero (was $status)" test "$status" != 0
  check "... and mpirun names the killed rank" grep -q "exited on signal 9" "$tmp/killed.err" ||
    diag "$(cat "$tmp/killed.err")"
  check "... the last checkpoint loads (eval)" evaluates "$tmp/killed.ckpt" || diag "$(cat "$tmp/eval.err")"
  check "... and holds an unfinished run (not the plain trainer's end)" \
    test "$(cmp "$tmp/kill-plain.ckpt" "$tmp/killed.ckpt" 2>&1 | grep -c differ)" = 1
  check "... resumed on 4 ranks it ends with the plain trainer's bytes" resumed_on_4
else
  for i in 1 2 3 4 5; do not_ok "a rank killed in mid-training: cannot make the data or run the plain trainer"; done
fi

# SIGTERM to one rank: the ranks agree to stop after the same step, rank 0
# saves and says so, and the run resumed on 4 ranks ends as the plain one
if [ $have_kill_data = 0 ] && signal_one_rank TERM "$@"; then
  status=$(cat "$tmp/killed.status")
  check "SIGTERM to one rank: the job exits with status 143 (was $status)" test "$status" = 143
  check "... rank 0 alone says where it stopped and that it saved" \
    test "$(grep -c "interrupted by SIGTERM at epoch 1, step [0-9]*; saved checkpoint" "$tmp/killed.err")" = 1 ||
    diag "$(cat "$tmp/killed.err")"
  check "... resumed on 4 ranks it ends with the plain trainer's bytes" resumed_on_4
else
  for i in 1 2 3; do not_ok "SIGTERM to one rank: cannot make the data or run the plain trainer"; done
fi

# a rank that fails alone after the ranks agreed (here: it cannot read its
# data) stops the whole job, instead of leaving the others waiting
timeout 120 mpirun --allow-run-as-root --oversubscribe \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 : \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/no-such-data" --epochs 1 >"$tmp/out.log" 2>&1
status=$?
check "a rank without its data: the job exits non-zero (was $status), no hang" \
  test "$status" != 0 -a "$status" != 124
check "... naming the data and the rank" grep -q "rank 1 of 2 stopped alone (exit status 1)" "$tmp/out.log" ||
  diag "$(cat "$tmp/out.log")"

# --val: every rank holds out the same samples
"$tmp/lenet" train --data "$tmp/lenet-data" --epochs 2 --batch 16 --val 0.2 --save "$tmp/val.ckpt" \
  >/dev/null 2>&1
rm -f "$tmp/val-mpi.ckpt"
run_mpi 2 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 2 --batch 16 --val 0.2 \
  --save "$tmp/val-mpi.ckpt" >"$tmp/out.log" 2>&1 || diag "$(tail -5 "$tmp/out.log")"
check "--val 0.2 on 2 ranks: the plain trainer's checkpoint bytes" cmp "$tmp/val.ckpt" "$tmp/val-mpi.ckpt"
# --augment: every rank draws the same crops and flips
"$tmp/lenet" train --data "$tmp/lenet-data" --epochs 2 --batch 16 --augment crop=3,flip \
  --save "$tmp/aug.ckpt" >/dev/null 2>&1
rm -f "$tmp/aug-mpi.ckpt"
run_mpi 2 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 2 --batch 16 --augment crop=3,flip \
  --save "$tmp/aug-mpi.ckpt" >"$tmp/out.log" 2>&1 || diag "$(tail -5 "$tmp/out.log")"
check "--augment crop=3,flip on 2 ranks: the plain trainer's checkpoint bytes" \
  cmp "$tmp/aug.ckpt" "$tmp/aug-mpi.ckpt"
timeout 120 mpirun --allow-run-as-root --oversubscribe \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --val 0.2 : \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --val 0.3 >"$tmp/out.log" 2>&1
status=$?
check "different --val on two ranks: exit status 2 (was $status) with a message" \
  sh -c "test $status = 2 && grep -q 'rank 1 has --val 0.3, rank 0 --val 0.2' '$tmp/out.log'" ||
  diag "$(cat "$tmp/out.log")"
# ranks that would update the weights differently: refused by name
timeout 120 mpirun --allow-run-as-root --oversubscribe \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --optimizer 'sgd(lr=0.1)' : \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --optimizer 'sgd(lr=0.2)' >"$tmp/out.log" 2>&1
status=$?
check "different --optimizer on two ranks: exit status 2 (was $status) with a message" \
  sh -c "test $status = 2 && grep -q 'rank 1 has another --optimizer than rank 0' '$tmp/out.log'" ||
  diag "$(cat "$tmp/out.log")"

# eval and predict under mpirun print what the plain trainer prints
"$tmp/lenet" eval --data "$tmp/lenet-data" --weights "$tmp/lenet.ckpt" >"$tmp/plain.out" 2>/dev/null
run_mpi 4 "$tmp/lenet-mpi" eval --data "$tmp/lenet-data" --weights "$tmp/lenet.ckpt" >"$tmp/mpi.out" 2>/dev/null
check "eval on 4 ranks prints the plain trainer's line ($(cat "$tmp/plain.out"))" cmp "$tmp/plain.out" "$tmp/mpi.out"
"$tmp/lenet" predict --weights "$tmp/lenet.ckpt" "$tmp/lenet-data/t10k-images-idx3-ubyte" >"$tmp/plain.out" 2>/dev/null
run_mpi 2 "$tmp/lenet-mpi" predict --weights "$tmp/lenet.ckpt" "$tmp/lenet-data/t10k-images-idx3-ubyte" >"$tmp/mpi.out" 2>/dev/null
check "predict on 2 ranks prints the plain trainer's classes" cmp "$tmp/plain.out" "$tmp/mpi.out"

# --mpi with --dtype=double: refused with its message, exit status 2, no file
"$CNNCC" --mpi --dtype=double "$top_srcdir/examples/lenet.cnn" -o "$tmp/double-mpi" >"$tmp/out.log" 2>&1
status=$?
check "cnncc --mpi --dtype=double: exit status 2 (was $status) and no program" \
  test "$status" = 2 -a ! -e "$tmp/double-mpi"
check "... with the message 'cnncc: --mpi builds a float trainer (--emit=train)'" \
  grep -qx "cnncc: --mpi builds a float trainer (--emit=train)" "$tmp/out.log" || diag "$(cat "$tmp/out.log")"

# ranks that disagree on --batch: refused with a message, not a hang
timeout 120 mpirun --allow-run-as-root --oversubscribe \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --batch 16 : \
  -np 1 "$tmp/lenet-mpi" train --data "$tmp/lenet-data" --epochs 1 --batch 8 >"$tmp/out.log" 2>&1
status=$?
check "different --batch on two ranks: exit status 2 (was $status), no hang" test "$status" = 2
check "... with a message naming the batches" grep -q "rank 1 has --batch 8 --seed 1, rank 0 --batch 16" "$tmp/out.log" ||
  diag "$(cat "$tmp/out.log")"
