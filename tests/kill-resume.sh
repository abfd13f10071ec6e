#!/bin/sh
# kill-resume.sh - a training run that is killed and resumed ends bit for
# bit where an uninterrupted run ends.
#
# tests/kill-resume.cnn (batch norm and dropout: running statistics and
# per-step dropout masks must survive the restart) is trained for 2 epochs
# on a 512/128-image cut of the Fashion-MNIST sample: once uninterrupted
# (checkpoint A), then with --save B --checkpoint-every 1, killed at a random
# step, and resumed from B until 2 epochs are done: B must equal A (cmp),
# and so must the printed test accuracy and the metrics of every epoch.
#
# Kill points: SIGKILL in epoch 1, around the end of epoch 1 (evaluation and
# the epoch's checkpoint) and in epoch 2; SIGKILL twice (the resumed run is
# killed again); SIGTERM and SIGINT, which finish the step, save and exit
# 143/130. A kill counts only when it lands mid-training: the process died
# of it and B holds a step between 1 and the last but one; else another
# point is drawn. KILL_SEED=N repeats a run's kill points.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kill-resume.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

if ! "$PYTHON" -c 'import gzip, struct' >/dev/null 2>&1; then
  echo "1..0 # SKIP no python3 to cut the data set"
  exit 0
fi
seed=${KILL_SEED:-$(od -An -N 2 -t u2 /dev/urandom | tr -d ' ')}
plan 9
echo "# kill points drawn with KILL_SEED=$seed"

# The data: the first 512 training and 128 test images of the sample.
"$PYTHON" - "$top_srcdir/data/fashion-mnist" "$tmp/data" 512 128 <<'EOF'
import gzip, os, struct, sys
src, dst, ntrain, ntest = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(dst, exist_ok=True)
for split, n in (("train", ntrain), ("t10k", ntest)):
    for kind, rank in (("images", 3), ("labels", 1)):
        name = "%s-%s-idx%d-ubyte" % (split, kind, rank)
        with gzip.open(os.path.join(src, name + ".gz"), "rb") as f:
            data = f.read()
        ndim = data[3]
        dims = list(struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim]))
        per = 1
        for d in dims[1:]:
            per *= d
        head = data[:4] + struct.pack(">%dI" % ndim, n, *dims[1:])
        with open(os.path.join(dst, name), "wb") as f:
            f.write(head + data[4 + 4 * ndim:4 + 4 * ndim + n * per])
EOF
steps=32 total=64 # 512 / batch 16, 2 epochs
net=$tmp/killresume
if ! "$CNNCC" "$top_srcdir/tests/kill-resume.cnn" -o "$net" >"$tmp/build.log" 2>&1; then
  diag "$(cat "$tmp/build.log")"
  echo "Bail out! cannot build the trainer of tests/kill-resume.cnn"
  exit 1
fi
train() { "$net" train --data "$tmp/data" --epochs 2 "$@"; }

# A little-endian u64 of a checkpoint at a byte offset (docs/checkpoint-format.md):
# 32 epoch, 40 epoch_step, 48 t (Adam steps in all).
field() {
  od -An -v -t u1 -j "$2" -N 8 "$1" 2>/dev/null |
    awk '{ for (i = NF; i >= 1; i--) v = v * 256 + $i } END { print v + 0 }'
}
# rnd N: sets r to a number in [0, N) drawn from the seed.
draws=0
rnd() {
  draws=$((draws + 1))
  r=$(awk -v s=$((seed % 2147483646)) -v k="$draws" -v n="$1" \
    'BEGIN { srand(s); for (i = 0; i < k; i++) x = rand(); print int(x * n) }')
}
# Epoch lines of a metrics file without the timings; the last one of each
# epoch (a run killed after writing a line but before saving the epoch's
# checkpoint writes it again when resumed).
epochs_of() {
  sed 's/,"images_per_s".*//' "$1" | awk -F, '{ line[$1] = $0 } END { for (e in line) print line[e] }' | sort
}

start=$(date +%s)
if train --save "$tmp/A.ckpt" --metrics "$tmp/A.jsonl" >"$tmp/A.out" 2>"$tmp/A.err" &&
   [ "$(field "$tmp/A.ckpt" 48)" = $total ]; then
  ok "uninterrupted: 2 epochs, $total steps, $(tail -n 1 "$tmp/A.out")"
else
  diag "$(cat "$tmp/A.err")"
  echo "Bail out! the uninterrupted run fails"
  exit 1
fi

# run_killed SIG LO HI: trains into B (resuming B when $resume is set),
# waits until B holds a step in [LO, HI], sleeps 0-9 ms (about a step; not
# after two misses) and sends SIG.
# Sets rc, t (B's step after the kill) and killed_at; retries up to 5 times
# when the kill did not land mid-training. Returns 1 if it never did.
run_killed() {
  sig=$1 lo=$2 hi=$3
  for try in 1 2 3 4 5; do
    rnd $((hi - lo + 1))
    target=$((lo + r))
    rnd 10
    extra=$r
    [ $try -gt 2 ] && extra=0
    if [ -z "$resume" ]; then
      rm -f "$tmp/B.ckpt" "$tmp/B.ckpt.tmp" "$tmp/B.jsonl"
      "$net" train --data "$tmp/data" --epochs 2 --save "$tmp/B.ckpt" --checkpoint-every 1 \
        --metrics "$tmp/B.jsonl" >"$tmp/B.out" 2>"$tmp/B.err" &
    else
      cp "$tmp/B.ckpt" "$tmp/B.before"
      cp "$tmp/B.jsonl" "$tmp/B.jsonl.before"
      "$net" train --data "$tmp/data" --epochs 2 --resume "$tmp/B.ckpt" --save "$tmp/B.ckpt" \
        --checkpoint-every 1 --metrics "$tmp/B.jsonl" >"$tmp/B.out" 2>"$tmp/B.err" &
    fi
    pid=$! # the trainer itself (not a subshell), so that the signal reaches it
    polls=0
    while kill -0 "$pid" 2>/dev/null && [ "$(field "$tmp/B.ckpt" 48)" -lt "$target" ] &&
          [ $polls -lt 6000 ]; do
      sleep 0.005
      polls=$((polls + 1))
    done
    sleep "0.00$extra"
    kill -"$sig" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$? pid=
    t=$(field "$tmp/B.ckpt" 48)
    killed_at="target step $target + ${extra} ms: B at step $t"
    case $sig in KILL) want=137 ;; TERM) want=143 ;; INT) want=130 ;; esac
    [ "$rc" = "$want" ] && [ "$t" -ge 1 ] && [ "$t" -lt $total ] && return 0
    echo "# retry: $sig landed outside training (exit $rc, $killed_at)"
    if [ -n "$resume" ]; then # start again from the checkpoint we had
      cp "$tmp/B.before" "$tmp/B.ckpt"
      cp "$tmp/B.jsonl.before" "$tmp/B.jsonl"
    fi
  done
  return 1
}

# resume_check NAME: resumes B to the end and compares with A.
resume_check() {
  if ! train --resume "$tmp/B.ckpt" --save "$tmp/B.ckpt" --metrics "$tmp/B.jsonl" \
         >"$tmp/R.out" 2>"$tmp/R.err"; then
    not_ok "$1: resumed run fails"
    diag "$(cat "$tmp/R.err")"
  elif ! cmp "$tmp/A.ckpt" "$tmp/B.ckpt" >"$tmp/cmp" 2>&1; then
    not_ok "$1: resumed checkpoint differs from the uninterrupted one"
    diag "$(cat "$tmp/cmp")"
  elif ! cmp -s "$tmp/A.out" "$tmp/R.out"; then
    not_ok "$1: resumed run prints $(cat "$tmp/R.out"), uninterrupted $(cat "$tmp/A.out")"
  elif [ "$(epochs_of "$tmp/A.jsonl")" != "$(epochs_of "$tmp/B.jsonl")" ]; then
    not_ok "$1: metrics differ"
    diag "$(cat "$tmp/A.jsonl" "$tmp/B.jsonl")"
  elif [ -e "$tmp/B.ckpt.tmp" ]; then
    not_ok "$1: B.ckpt.tmp left behind"
  else
    ok "$1: resumed to a bit-identical checkpoint"
  fi
}

# kill_test SIG LO HI NAME
kill_test() {
  resume=
  if run_killed "$1" "$2" "$3"; then
    echo "# $4: $killed_at"
    resume_check "$4 ($killed_at)"
  else
    not_ok "$4: the kill never landed mid-training ($killed_at, exit $rc)"
    diag "$(cat "$tmp/B.err")"
  fi
}

kill_test KILL 1 $((steps - 3)) "SIGKILL in epoch 1"
kill_test KILL $((steps - 2)) $((steps + 1)) "SIGKILL around the end of epoch 1"
kill_test KILL $((steps + 2)) $((total - 6)) "SIGKILL in epoch 2"

resume=
if run_killed KILL 1 $((total / 2 - 2)); then
  first=$killed_at resume=1
  if run_killed KILL $((t + 1)) $((total - 6)); then
    resume=
    resume_check "SIGKILL twice ($first; resumed, then $killed_at)"
  else
    not_ok "SIGKILL twice: the second kill never landed mid-training"
  fi
else
  not_ok "SIGKILL twice: the first kill never landed mid-training"
fi
resume=

# signal_test SIG NAME STATUS: a clean stop finishes the step and saves.
signal_test() {
  resume=
  if ! run_killed "$1" 1 $((total - 6)); then
    not_ok "$1: the signal never landed mid-training ($killed_at, exit $rc)"
    diag "$(cat "$tmp/B.err")"
    not_ok "$1: resume"
    return
  fi
  e=$(field "$tmp/B.ckpt" 32) s=$(field "$tmp/B.ckpt" 40)
  if [ "$s" = 0 ]; then where="after epoch $e"; else where="at epoch $((e + 1)), step $s"; fi
  msg="killresume: interrupted by $2 $where; saved checkpoint '$tmp/B.ckpt'"
  if grep -qxF "$msg" "$tmp/B.err" && [ ! -e "$tmp/B.ckpt.tmp" ]; then
    ok "$2: exit $3 and \"$msg\" ($killed_at)"
  else
    not_ok "$2: exit $rc, expected $3 and the message \"$msg\""
    diag "$(cat "$tmp/B.err")"
  fi
  resume_check "$2 ($killed_at)"
}
signal_test TERM SIGTERM 143
signal_test INT SIGINT 130
echo "# $(($(date +%s) - start)) s"
