#!/bin/sh
# torch-ckpt.sh - checkpoints both ways between the cnncc trainer and
# PyTorch, through the mirror's load_cnncc_checkpoint() and
# save_cnncc_checkpoint() (cnncc --emit=pytorch; docs/interop.md).
#
# For LeNet and the ResNet (batch norm: running statistics in the buffer
# block), on random data from bench/synth_data.py:
#
#   cnncc -> PyTorch -> cnncc  the trainer's checkpoint after an epoch,
#                              loaded into the mirror and its Adam and saved
#                              again, is the same file byte for byte;
#   PyTorch -> cnncc           tests/e2e-torch.py trains the mirror from
#                              PyTorch's own weights in the trainer's data
#                              order (tests/e2e-init.c writes it) and saves
#                              a checkpoint in the middle of an epoch (which
#                              loads and saves to the same bytes too); the
#                              trainer resumes from it and reports the same
#                              losses and accuracies for every epoch after
#                              (1e-5 relative) as PyTorch going on, and ends
#                              with the same weights, statistics and Adam
#                              moments (1e-5 of each block's largest value);
#   cnncc -> PyTorch           PyTorch resumes from the trainer's checkpoint
#                              and reports what the resumed trainer reports.
#
# A version-2 file (image folders, --val, --patience: class names, the
# fraction and the best epoch) loads and saves to the same bytes too.
#
# Then files the mirror must refuse with CheckpointError, leaving the model
# and optimizer as they were, with the message the trainer gives for the
# same file: another network's checkpoint, another architecture of LeNet,
# truncated files, a wrong CRC, another format version, not a checkpoint;
# and saves that must raise (a bad position, an optimizer that is not Adam).
. "$top_srcdir/tests/tap.sh"
need_torch
CC=${CNNCC_CC:-cc}
SEED=3 BATCH=8
CHECKS=6 # per network
networks="examples/lenet 40 4 examples/resnet 24 3" # source, training samples, epochs
# shellcheck disable=SC2086 # split on purpose
set -- $networks
plan $(($# * CHECKS / 3 + 9))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/torch-ckpt.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
find_rtlib
OMP_NUM_THREADS=1 # the trainer and PyTorch each on one thread
export OMP_NUM_THREADS
py() { "$PYTHON" "$top_srcdir/tests/torch-ckpt.py" "$@"; }
torch_train() { "$PYTHON" "$top_srcdir/tests/e2e-torch.py" "$@"; }

# result DESCRIPTION LOG STATUS: one TAP line, the log as diagnostics on failure
result() {
  if [ "$3" = 0 ]; then ok "$1"; else not_ok "$1"; diag "$(tail -n 20 "$2")"; fi
}

while [ $# -gt 0 ]; do
  src=$1 ntrain=$2 epochs=$3
  shift 3
  name=$(basename "$src")
  d=$tmp/$name
  mkdir -p "$d"
  net=$d/$name mirror=$d/$name.py log=$d/build.log
  NAME=$(echo "$name" | tr '[:lower:]' '[:upper:]')
  steps=$(((ntrain + BATCH - 1) / BATCH))
  mid=$((steps + 2)) last=$((steps * epochs)) # mid: epoch 2, step 2
  # shellcheck disable=SC2086
  if "$CNNCC" "$top_srcdir/$src.cnn" -o "$net" >"$log" 2>&1 &&
     "$CNNCC" "$top_srcdir/$src.cnn" -o "$net.c" >>"$log" 2>&1 &&
     "$CNNCC" --emit=pytorch "$top_srcdir/$src.cnn" -o "$mirror" >>"$log" 2>&1 &&
     $CC -std=c99 -O2 $SAN -DCNNCC_NO_MAIN -DNET="$name" -DHEADER="\"$name.h\"" \
       -DNPARAMS="${NAME}_NPARAMS" -DNBUFFERS="${NAME}_NBUFFERS" -I"$d" -I"$top_srcdir/runtime" \
       -o "$d/init" "$top_srcdir/tests/e2e-init.c" "$net.c" $rtlib -lz -lm >>"$log" 2>&1 &&
     "$PYTHON" "$top_srcdir/bench/synth_data.py" "$mirror" "$d/data" --train "$ntrain" --test 16 \
       --seed 5 >>"$log" 2>&1 &&
     "$d/init" $SEED "$d/init.params" "$d/init.buffers" "$ntrain" "$epochs" "$d/order" >>"$log" 2>&1; then
    :
  else
    i=0
    while [ $i -lt $CHECKS ]; do not_ok "$name: trainer, mirror, data order and data"; i=$((i + 1)); done
    diag "$(tail -n 20 "$log")"
    continue
  fi
  train() { "$net" train --data "$d/data" "$@"; }
  torch() { torch_train "$mirror" --data "$d/data" --order "$d/order" --epochs "$epochs" \
    --batch $BATCH --seed $SEED "$@"; }

  # cnncc -> PyTorch -> cnncc
  log=$d/a.log
  { train --epochs 1 --batch $BATCH --seed $SEED --save "$d/c1.ckpt" &&
    py roundtrip "$mirror" "$d/c1.ckpt" "$d/c1-torch.ckpt" && cmp "$d/c1.ckpt" "$d/c1-torch.ckpt"
  } >"$log" 2>&1
  result "$name: the trainer's checkpoint after an epoch, loaded into PyTorch and saved, is the same file" "$log" $?

  # PyTorch -> cnncc, from PyTorch's own weights
  log=$d/b.log
  { torch --save-at $mid "$d/torch-mid.ckpt" --save-at $last "$d/torch-end.ckpt" \
      --metrics "$d/torch.json" &&
    py roundtrip "$mirror" "$d/torch-mid.ckpt" "$d/torch-mid2.ckpt" &&
    cmp "$d/torch-mid.ckpt" "$d/torch-mid2.ckpt"
  } >"$log" 2>&1
  result "$name: PyTorch's checkpoint after $mid Adam steps (mid-epoch) loads and saves to the same file" "$log" $?
  log=$d/c.log
  { train --resume "$d/torch-mid.ckpt" --epochs "$epochs" --metrics "$d/resumed.json" \
      --save "$d/resumed.ckpt" && py metrics "$d/resumed.json" "$d/torch.json"
  } >"$log" 2>&1
  result "$name: the trainer resumes from PyTorch's checkpoint with PyTorch's losses and accuracies (epochs 2-$epochs, 1e-5)" "$log" $?
  diag "$(grep 'train_loss' "$log" | tail -n 1)"
  log=$d/d.log
  py close "$mirror" "$d/resumed.ckpt" "$d/torch-end.ckpt" >"$log" 2>&1
  result "$name: ... and ends after $last steps with PyTorch's weights, statistics and Adam moments (1e-5)" "$log" $?
  diag "$(grep -h largest "$log")"

  # cnncc -> PyTorch: both resume the trainer's checkpoint
  log=$d/e.log
  { train --resume "$d/c1.ckpt" --epochs "$epochs" --metrics "$d/c-resumed.json" &&
    torch --resume "$d/c1.ckpt" --metrics "$d/torch-resumed.json" &&
    py metrics "$d/c-resumed.json" "$d/torch-resumed.json"
  } >"$log" 2>&1
  result "$name: PyTorch resumes from the trainer's checkpoint with the trainer's losses and accuracies (1e-5)" "$log" $?

  # the network's fresh mirror, as the trainer's eval reads it
  log=$d/f.log
  { py fresh "$mirror" "$d/fresh.ckpt" && "$net" eval --weights "$d/fresh.ckpt" --data "$d/data"
  } >"$log" 2>&1
  result "$name: the trainer evaluates a checkpoint that PyTorch saved without an optimizer" "$log" $?
done

# Version 2: a run on image folders with --val and --patience keeps the
# fraction, the class names and the best epoch in sections after the
# moments; the mirror returns them in the position and writes the same file
# again.
d=$tmp/lenet
log=$tmp/v2.log
if [ -x "$top_builddir/tests/image-write" ]; then # built with libpng and libjpeg
  { "$PYTHON" "$top_srcdir/data/idx-to-folders.py" "$top_srcdir/data/fashion-mnist" \
      "$tmp/folders" 0-top 1-trouser 2-pullover 3-dress 4-coat 5-sandal 6-shirt 7-sneaker \
      8-bag 9-boot &&
    "$d/lenet" train --data "$tmp/folders" --val 0.2 --epochs 1 --seed $SEED --patience 2 \
      --save "$d/v2.ckpt" &&
    [ "$(od -An -tu1 -j8 -N1 "$d/v2.ckpt" | tr -d ' ')" = 2 ] &&
    py roundtrip "$d/lenet.py" "$d/v2.ckpt" "$d/v2-torch.ckpt" && cmp "$d/v2.ckpt" "$d/v2-torch.ckpt"
  } >"$log" 2>&1
  result "version 2 (image folders, --val 0.2, --patience): the mirror loads and saves the same file" "$log" $?
else
  ok "version 2 (image folders, --val): # SKIP built without libpng and libjpeg"
fi

# Bad input: the LeNet mirror refuses these files with CheckpointError, and
# with the trainer's message for the same file (PATH reads the same).
d=$tmp/lenet
bad=$tmp/bad
mkdir -p "$bad"
sed 's/dense(84)/dense(80)/' "$top_srcdir/examples/lenet.cnn" >"$bad/lenet.cnn"
"$CNNCC" --emit=pytorch "$bad/lenet.cnn" -o "$bad/other.py" >/dev/null 2>&1 &&
  py fresh "$bad/other.py" "$bad/other-arch.ckpt" >/dev/null 2>&1
cp "$tmp/resnet/c1.ckpt" "$bad/resnet.ckpt" 2>/dev/null
head -c 50 "$d/c1.ckpt" >"$bad/header.ckpt" 2>/dev/null
head -c 1000 "$d/c1.ckpt" >"$bad/truncated.ckpt" 2>/dev/null
cp "$d/lenet.py" "$bad/text.ckpt" 2>/dev/null
# corrupt FILE OFFSET BYTE: one byte of a copy of the checkpoint changed
corrupt() {
  cp "$d/c1.ckpt" "$bad/$1" 2>/dev/null &&
    printf '%b' "$3" | dd of="$bad/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
corrupt crc.ckpt 5000 '\001'
corrupt crc.ckpt 5001 '\002'
corrupt version.ckpt 8 '\003'
for case in "resnet another network" "other-arch another architecture of LeNet" \
  "truncated a truncated file" "header a truncated header" "crc a wrong CRC" \
  "version format version 3" "text a Python file"; do
  file=${case%% *} what=${case#* }
  path=$bad/$file.ckpt
  msg=$(py reject "$d/lenet.py" "$path" 2>&1)
  rc=$?
  trainer=$("$d/lenet" eval --weights "$path" --data "$d/data" 2>&1 >/dev/null | tail -n 1 |
    sed 's/^lenet: //; s/this runtime/this module/')
  if [ $rc = 0 ] && [ -n "$msg" ] && [ "$msg" = "$trainer" ]; then
    ok "bad input, $what: CheckpointError \"$msg\" (the trainer's message), nothing loaded"
  else
    not_ok "bad input, $what: CheckpointError with the trainer's message, nothing loaded"
    diag "mirror: $msg" "trainer: $trainer"
  fi
done
log=$tmp/save-errors.log
py save-errors "$d/lenet.py" "$bad/none.ckpt" >"$log" 2>&1
result "bad input: saving with a batch of 0, an unknown position field or RMSprop raises and writes nothing" "$log" $?
diag "$(cat "$log")"
exit 0
