#!/bin/sh
# optim.sh - the trainer's optimizers, schedules and gradient clipping
# (--optimizer, --schedule, --clip; docs/training.md) against PyTorch.
#
# LeNet on random data (bench/synth_data.py), 4 epochs of 5 steps, from
# cnncc's initial weights in the trainer's data order (tests/e2e-init.c):
# tests/e2e-torch.py trains the mirror with torch.optim's SGD, Adam or
# AdamW, torch.optim.lr_scheduler's schedule (stepped per epoch; OneCycleLR
# per step) and clip_grad_norm_; every epoch's losses and accuracies must
# agree with the trainer's (1e-5 relative, tests/torch-ckpt.py metrics).
# Then: resuming is bitwise (4 epochs straight, or 2, resume, 2 more, give
# the same checkpoint, with 1 and 2 threads); plain Adam still writes a
# version-1 file; the mirror loads and saves an SGD checkpoint to the same
# bytes, and PyTorch resumes it as the trainer does; bad specs are usage
# errors with a clear message.
. "$top_srcdir/tests/tap.sh"
need_torch
CC=${CNNCC_CC:-cc}
SEED=3 BATCH=8 NTRAIN=40 EPOCHS=4
# optimizer | schedule | clip (- for none)
configs="sgd(lr=0.05)|-|-
sgd(lr=0.05,momentum=0.9)|-|-
sgd(lr=0.05,momentum=0.9,nesterov=true,weight_decay=5e-4)|-|-
adamw(lr=0.002)|-|-
adam(lr=0.002)|-|0.5
sgd(lr=0.05,momentum=0.9)|step(step_size=2,gamma=0.5)|-
sgd(lr=0.05,momentum=0.9)|multistep(milestones=[1,3],gamma=0.5)|-
sgd(lr=0.05,momentum=0.9)|cosine(warmup=1)|-
sgd(lr=0.05,momentum=0.9)|onecycle(max_lr=0.1)|-
adam(lr=0.002)|onecycle(max_lr=0.005)|-
adam(lr=0.002,betas=(0.8,0.99))|-|-
sgd(lr=0.05,momentum=0.9)|onecycle(max_lr=0.1,pct_start=0.25,three_phase=true)|-"
# option | value | part of the message
bad_specs="--optimizer|sgd(momentum=0.9)|sgd needs lr
--optimizer|rmsprop(lr=0.1)|is not an optimizer
--optimizer|sgd(lr=-1)|bad value for sgd's lr
--optimizer|sgd(lr=0.1,nesterov=true)|Nesterov momentum requires a momentum
--optimizer|adam(lr=0.1,foo=1)|adam has no argument 'foo'
--optimizer|adam(betas=(0.9))|bad value for adam's betas
--optimizer|sgd(lr=0.1|expected ',' or ')'
--schedule|cosine(warmup=4)|needs more than 4 epochs
--schedule|multistep(milestones=[3,2])|bad value for multistep's milestones
--schedule|step(gamma=0.5)|step needs its first argument
--schedule|onecycle(max_lr=0.1,epochs=2)|laid out over 2 epochs
--schedule|onecycle(max_lr=0.1,pct_start=0.6,three_phase=true)|the first two take 2 x pct_start
--clip|0|--clip expects a positive number"
nconfigs=$(echo "$configs" | wc -l)
nbad=$(echo "$bad_specs" | wc -l)
plan $((1 + nconfigs + 1 + 1 + 1 + 4 + 1 + 3 + nbad + 1))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optim.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
find_rtlib
OMP_NUM_THREADS=1 # the trainer and PyTorch each on one thread
export OMP_NUM_THREADS
py() { "$PYTHON" "$top_srcdir/tests/torch-ckpt.py" "$@"; }

# result DESCRIPTION LOG STATUS: one TAP line, the log as diagnostics on failure
result() {
  if [ "$3" = 0 ]; then ok "$1"; else not_ok "$1"; diag "$(tail -n 20 "$2")"; fi
}

net=$tmp/lenet log=$tmp/build.log
# shellcheck disable=SC2086
{ "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$net" &&
  "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$net.c" &&
  "$CNNCC" --emit=pytorch "$top_srcdir/examples/lenet.cnn" -o "$net.py" &&
  $CC -std=c99 -O2 $SAN -DCNNCC_NO_MAIN -DNET=lenet -DHEADER="\"lenet.h\"" \
    -DNPARAMS=LENET_NPARAMS -DNBUFFERS=LENET_NBUFFERS -I"$tmp" -I"$top_srcdir/runtime" \
    -o "$tmp/init" "$top_srcdir/tests/e2e-init.c" "$net.c" $rtlib -lz -lm &&
  "$PYTHON" "$top_srcdir/bench/synth_data.py" "$net.py" "$tmp/data" --train $NTRAIN --test 16 \
    --seed 5 &&
  "$tmp/init" $SEED "$tmp/init.params" "$tmp/init.buffers" $NTRAIN $EPOCHS "$tmp/order"
} >"$log" 2>&1
result "LeNet trainer, mirror, initial weights, data order and data" "$log" $?
train() { "$net" train --data "$tmp/data" --batch $BATCH --seed $SEED "$@"; }
torch_train() {
  "$PYTHON" "$top_srcdir/tests/e2e-torch.py" "$net.py" --data "$tmp/data" --order "$tmp/order" \
    --epochs $EPOCHS --batch $BATCH --seed $SEED "$@"
}
# both OPT SCHED CLIP [ARGS]: the trainer (trainer ...) or PyTorch
# (torch_train ...) with the config's options
both() {
  run=$1 opt=$2 sched=$3 clip=$4
  shift 4
  if [ "$sched" = - ] && [ "$clip" = - ]; then $run "$@" --optimizer "$opt"
  elif [ "$clip" = - ]; then $run "$@" --optimizer "$opt" --schedule "$sched"
  elif [ "$sched" = - ]; then $run "$@" --optimizer "$opt" --clip "$clip"
  else $run "$@" --optimizer "$opt" --schedule "$sched" --clip "$clip"
  fi
}

i=0
while IFS='|' read -r opt sched clip; do
  i=$((i + 1))
  d=$tmp/c$i log=$tmp/c$i.log
  mkdir -p "$d"
  { both train "$opt" "$sched" "$clip" --epochs $EPOCHS --metrics "$d/cnncc.json" &&
    both torch_train "$opt" "$sched" "$clip" --params "$tmp/init.params" \
      --buffers "$tmp/init.buffers" --metrics "$d/torch.json" &&
    py metrics "$d/cnncc.json" "$d/torch.json"
  } >"$log" 2>&1
  result "$opt $sched clip $clip: every epoch's losses and accuracies as PyTorch's (1e-5)" "$log" $?
done <<CONFIGS
$configs
CONFIGS

# clipping does something: the same run without it differs (config 5)
log=$tmp/clip.log
{ train --epochs $EPOCHS --optimizer 'adam(lr=0.002)' --metrics "$tmp/noclip.json" &&
  a=$(sed -n '1s/"images_per_s.*//p' "$tmp/noclip.json") &&
  b=$(sed -n '1s/"images_per_s.*//p' "$tmp/c5/cnncc.json") &&
  echo "without: $a" && echo "with:    $b" && [ -n "$b" ] && [ "$a" != "$b" ]
} >"$log" 2>&1
result "--clip 0.5 changes the run (this network's gradients are longer than 0.5)" "$log" $?

# the lr of each epoch in --metrics (config 6: step(step_size=2,gamma=0.5) from 0.05)
log=$tmp/lr.log
{ cat "$tmp/c6/cnncc.json" &&
  [ "$(sed -n 's/.*"lr":\([^,]*\),.*/\1/p' "$tmp/c6/cnncc.json" | tr '\n' ' ')" = "0.05 0.05 0.025 0.025 " ]
} >"$log" 2>&1
result "--metrics has each epoch's lr with a schedule (step: 0.05 0.05 0.025 0.025)" "$log" $?

# the train block's optimizer, schedule and clip: the trainer's and the
# mirror's defaults (model.optimizer(), TRAIN["schedule"], TRAIN["clip"])
log=$tmp/block.log
b=$tmp/block
mkdir -p "$b"
sed 's/optimizer = adam(lr=1e-3)/optimizer = sgd(lr=0.05, momentum=0.9, nesterov=true)\
  schedule = multistep(milestones=[1, 3], gamma=0.5)\
  clip = 1.0/' "$top_srcdir/examples/lenet.cnn" >"$b/lenet.cnn"
# shellcheck disable=SC2086
{ grep -q 'schedule = multistep' "$b/lenet.cnn" &&
  "$CNNCC" "$b/lenet.cnn" -o "$b/lenet" && "$CNNCC" "$b/lenet.cnn" -o "$b/lenet.c" &&
  "$CNNCC" --emit=pytorch "$b/lenet.cnn" -o "$b/lenet.py" &&
  $CC -std=c99 -O2 $SAN -DCNNCC_NO_MAIN -DNET=lenet -DHEADER="\"lenet.h\"" \
    -DNPARAMS=LENET_NPARAMS -DNBUFFERS=LENET_NBUFFERS -I"$b" -I"$top_srcdir/runtime" \
    -o "$b/init" "$top_srcdir/tests/e2e-init.c" "$b/lenet.c" $rtlib -lz -lm &&
  "$b/init" $SEED "$b/init.params" "$b/init.buffers" $NTRAIN $EPOCHS "$b/order" &&
  "$b/lenet" train --data "$tmp/data" --batch $BATCH --seed $SEED --epochs $EPOCHS \
    --metrics "$b/cnncc.json" &&
  "$PYTHON" "$top_srcdir/tests/e2e-torch.py" "$b/lenet.py" --data "$tmp/data" --order "$b/order" \
    --epochs $EPOCHS --batch $BATCH --seed $SEED --params "$b/init.params" \
    --buffers "$b/init.buffers" --metrics "$b/torch.json" &&
  py metrics "$b/cnncc.json" "$b/torch.json"
} >"$log" 2>&1
result "train { optimizer = sgd(...), schedule = multistep(...), clip = 1.0 }: the trainer and the mirror's model.optimizer() agree (1e-5)" "$log" $?

# resume: 4 epochs straight == 2, resume, 2 more (the specs come from the checkpoint)
while IFS='|' read -r opt sched clip; do
  for threads in 1 2; do
    log=$tmp/resume-$threads.log
    { train --epochs 4 --threads $threads --optimizer "$opt" --schedule "$sched" --clip "$clip" \
        --save "$tmp/straight.ckpt" &&
      train --epochs 2 --threads $threads --optimizer "$opt" --schedule "$sched" --clip "$clip" \
        --save "$tmp/resumed.ckpt" &&
      "$net" train --data "$tmp/data" --epochs 4 --threads $threads --resume "$tmp/resumed.ckpt" \
        --save "$tmp/resumed.ckpt" &&
      cmp "$tmp/straight.ckpt" "$tmp/resumed.ckpt"
    } >"$log" 2>&1
    result "$opt $sched clip $clip, $threads thread(s): 4 epochs straight == 2, resume, 2 more (same checkpoint bytes)" "$log" $?
  done
done <<RESUME
sgd(lr=0.05,momentum=0.9,nesterov=true,weight_decay=5e-4)|cosine(warmup=1,epochs=4)|1
adamw(lr=0.002)|onecycle(max_lr=0.005,epochs=4)|0.5
RESUME

# MPI: 2 ranks step as the plain trainer does (the gradient is every
# rank's, so is its norm)
log=$tmp/mpi.log
if command -v mpirun >/dev/null 2>&1; then
  [ -n "$SAN" ] && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" && export ASAN_OPTIONS
  { "$CNNCC" --mpi "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet-mpi" &&
    train --epochs 2 --threads 2 --optimizer 'sgd(lr=0.05,momentum=0.9)' \
      --schedule 'onecycle(max_lr=0.1)' --clip 0.5 --save "$tmp/plain.ckpt" &&
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$tmp/lenet-mpi" train \
      --data "$tmp/data" --batch $BATCH --seed $SEED --epochs 2 --threads 1 \
      --optimizer 'sgd(lr=0.05,momentum=0.9)' --schedule 'onecycle(max_lr=0.1)' --clip 0.5 \
      --save "$tmp/mpi.ckpt" &&
    cmp "$tmp/plain.ckpt" "$tmp/mpi.ckpt"
  } >"$log" 2>&1
  result "mpirun -np 2 with sgd, onecycle and clip: the plain trainer's checkpoint bytes" "$log" $?
else
  ok "mpirun -np 2 with sgd, onecycle and clip # SKIP no mpirun"
fi

# plain Adam: version 1, as before; the mirror with SGD's buffers
log=$tmp/v1.log
{ train --epochs 1 --save "$tmp/adam.ckpt" &&
  [ "$(od -An -tu1 -j8 -N1 "$tmp/adam.ckpt" | tr -d ' ')" = 1 ]
} >"$log" 2>&1
result "plain Adam writes a version-1 checkpoint (no OPTM section)" "$log" $?
log=$tmp/mirror.log
{ train --epochs 2 --optimizer 'sgd(lr=0.05,momentum=0.9)' --save "$tmp/sgd.ckpt" &&
  [ "$(od -An -tu1 -j8 -N1 "$tmp/sgd.ckpt" | tr -d ' ')" = 2 ] &&
  py roundtrip "$net.py" "$tmp/sgd.ckpt" "$tmp/sgd-torch.ckpt" 0.9 &&
  cmp "$tmp/sgd.ckpt" "$tmp/sgd-torch.ckpt"
} >"$log" 2>&1
result "an SGD checkpoint (OPTM section, momentum buffers) loads into torch.optim.SGD and saves to the same bytes" "$log" $?
log=$tmp/mirror-resume.log
{ "$net" train --data "$tmp/data" --resume "$tmp/sgd.ckpt" --epochs $EPOCHS \
    --metrics "$tmp/sgd-c.json" &&
  torch_train --resume "$tmp/sgd.ckpt" --optimizer 'sgd(lr=0.05,momentum=0.9)' \
    --metrics "$tmp/sgd-t.json" &&
  py metrics "$tmp/sgd-c.json" "$tmp/sgd-t.json"
} >"$log" 2>&1
result "PyTorch's SGD resumes the trainer's SGD checkpoint with the trainer's losses (1e-5)" "$log" $?

# bad specs: exit 2 and the message
while IFS='|' read -r flag value want; do
  out=$(train --epochs 3 "$flag" "$value" 2>&1 >/dev/null)
  rc=$?
  if [ $rc = 2 ] && printf '%s' "$out" | grep -qF -- "$want"; then
    ok "$flag '$value': exit 2, \"$want\""
  else
    not_ok "$flag '$value': exit 2, \"$want\""
    diag "exit $rc: $out"
  fi
done <<BAD
$bad_specs
BAD
log=$tmp/conflict.log
{ "$net" train --data "$tmp/data" --epochs 3 --resume "$tmp/sgd.ckpt" --optimizer 'adam(lr=0.001)'
  rc=$?
  echo "exit $rc"
  [ $rc = 2 ] && grep -q "conflicts with checkpoint" "$log"
} >"$log" 2>&1
result "resuming an SGD checkpoint with --optimizer adam: exit 2, conflicts with the checkpoint" "$log" $?
exit 0
