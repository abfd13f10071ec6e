#!/bin/sh
# Every example parses, and its summary shows the architecture's known
# parameter count (PyTorch's count for the same model) and output shape.
. "$top_srcdir/tests/tap.sh"
expect() { # example params output-shape
  out=$("$CNNCC" --summary "$top_srcdir/examples/$1.cnn" 2>&1)
  check "$1: compiles" test $? = 0
  got=$(printf '%s\n' "$out" | sed -n 's/^Total params: //p')
  check "$1: $2 parameters (got $got)" test "$got" = "$2"
  shape=$(printf '%s\n' "$out" | sed -n 's/^Output: [a-z0-9_]* \(\[.*\]\);.*/\1/p')
  check "$1: output $3 (got $shape)" test "$shape" = "$3"
}
plan 24
expect lenet 61,706 "[10]"
expect mlp 210,240 "[10]"
expect vgg 69,290 "[10]"
expect resnet 174,970 "[10]"
expect vgg-cifar 2,198,602 "[10]"
expect mobilenet 3,217,226 "[10]"
expect wavenet 228,032 "[256, 1024]"
expect unet 483,170 "[2, 64, 64]"
