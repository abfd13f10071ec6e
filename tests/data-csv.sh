#!/bin/sh
# data-csv.sh - CSV data (docs/training.md, "CSV files"): the Fashion-MNIST
# sample as CSV files (data/idx-to-csv.py: the floats the trainer makes of
# the IDX bytes) trains the MLP and LeNet to the same bits as the IDX
# files; one CSV file with --val; --label-column by name and by number,
# with and without a header; and the messages for bad tables.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
if ! "$PYTHON" -c 'import gzip, struct' >/dev/null 2>&1; then
  echo "1..0 # SKIP no python3 to write the CSV files"
  exit 0
fi
plan 12
use_tmp data-csv
OMP_NUM_THREADS=1
export OMP_NUM_THREADS
data=$top_srcdir/data/fashion-mnist
for n in mlp lenet; do
  build_net "$top_srcdir/examples/$n.cnn" "$tmp/$n"
done
"$PYTHON" "$top_srcdir/data/idx-to-csv.py" "$data" "$tmp/csv"

for n in mlp lenet; do
  run_logged "$tmp/$n-idx.log" "$tmp/$n" train --data "$data" --epochs 1 --save "$tmp/$n-idx.ckpt"
  run_logged "$tmp/$n-csv.log" "$tmp/$n" train --data "$tmp/csv" --epochs 1 --save "$tmp/$n-csv.ckpt"
  check "$n on train.csv and test.csv: the same checkpoint as on the IDX files" \
    cmp "$tmp/$n-idx.ckpt" "$tmp/$n-csv.ckpt"
done
check "the CSV rows are read as 6000 samples of 784 values" \
  grep -q "train data: 6000 samples of 784 from $tmp/csv/train.csv" "$tmp/mlp-csv.log"
check "eval --data FILE.csv evaluates every row: the IDX test split's figures" \
  test "$("$tmp/mlp" eval --weights "$tmp/mlp-idx.ckpt" --data "$tmp/csv/test.csv" 2>/dev/null)" = \
  "$("$tmp/mlp" eval --weights "$tmp/mlp-idx.ckpt" --data "$data" 2>/dev/null)"

# one file: the training data, with --val
run_logged "$tmp/one.log" "$tmp/mlp" train --data "$tmp/csv/train.csv" --val 0.1 --epochs 1 --save "$tmp/one.ckpt"
run_logged "$tmp/idxval.log" "$tmp/mlp" train --data "$data" --val 0.1 --epochs 1 --save "$tmp/idxval.ckpt"
check "one CSV file with --val 0.1: the same split and checkpoint as the IDX files" \
  cmp "$tmp/one.ckpt" "$tmp/idxval.ckpt"
check "... and the last line is val_acc=..." \
  test "$(tail -n 1 "$tmp/one.log")" = "val_acc=$(sed -n 's/^epoch 1\/1: .* val_acc \([0-9.]*\) .*/\1/p' "$tmp/one.log")"

check_fails "one CSV file without --val: status 2" 2 \
  "mlp: --data $tmp/csv/train.csv is one file, with no test split: hold out a validation split with --val FRACTION, or give a folder with train.csv and test.csv" \
  "$tmp/mlp" train --data "$tmp/csv/train.csv" --epochs 1

# --label-column: by name with a header, by number without one
printf 'network tiny\ninput x[3]\nlogits = x -> dense(2)\nloss softmax_cross_entropy(logits)\n' \
  >"$tmp/tiny.cnn"
"$CNNCC" "$tmp/tiny.cnn" -o "$tmp/tiny" >/dev/null 2>&1
printf 'kind,a,b,c\n1,0.5,2,3\n0,1.5,-2,3e-1\n1,0,0,0\n0,9,9,9\n' >"$tmp/t.csv"
tail -n +2 "$tmp/t.csv" >"$tmp/n.csv"
tiny() { _f=$1; shift; "$tmp/tiny" train --data "$tmp/$_f" --val 0.25 --epochs 2 "$@" >/dev/null 2>&1; }
tiny t.csv --label-column kind --save "$tmp/t1.ckpt"
tiny t.csv --label-column 0 --save "$tmp/t2.ckpt"
tiny n.csv --label-column 0 --save "$tmp/t3.ckpt"
check "--label-column kind (a header's name), 0 with the header, 0 without one: the same run" \
  sh -c "cmp '$tmp/t1.ckpt' '$tmp/t2.ckpt' && cmp '$tmp/t1.ckpt' '$tmp/t3.ckpt'"

printf 'a,b,c,d\n1,2,3,1\n1,2\n' >"$tmp/ragged.csv"
check_fails "a row with too few columns" 1 "tiny: $tmp/ragged.csv:3: 2 columns, but the first line has 4" \
  "$tmp/tiny" train --data "$tmp/ragged.csv" --val 0.5
printf '1,2,3,1\n1,x,3,0\n' >"$tmp/text.csv"
check_fails "a value that is not a number" 1 "tiny: $tmp/text.csv:2: column 1 is 'x', not a number" \
  "$tmp/tiny" train --data "$tmp/text.csv" --val 0.5
printf '1,2,3,1\n1,2,3,0.5\n' >"$tmp/label.csv"
check_fails "a label that is not a class number" 1 \
  "tiny: $tmp/label.csv:2: the label (column 3) is '0.5', not a class number from 0 to 255" \
  "$tmp/tiny" train --data "$tmp/label.csv" --val 0.5
check_fails "rows of another size than the input" 1 \
  "mlp: $tmp/t.csv: rows have 3 values and a label, but the network's input [1, 28, 28] takes 784 values" \
  "$tmp/mlp" train --data "$tmp/t.csv" --val 0.5 --label-column kind
exit 0
