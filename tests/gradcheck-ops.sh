#!/bin/sh
# Gradient check of every operator (tests/ops/*.cnn: odd strides, paddings,
# dilations and kernels, 1-d and 2-d, transposed, grouped and depthwise
# convolution, pooling, upsampling, adaptive pooling, activations, dropout,
# merges, batchnorm on [C], [C, L], [C, H, W], groupnorm, layernorm, both
# losses) against central finite differences in double precision, in
# training mode and, where it differs, in evaluation mode.
. "$top_srcdir/tests/gradcheck-common.sh"
ops="activations batchnorm bn1d ce2d conv1d conv2d convt grouped grouped1d merge mse norm pool resample"
plan 19
for op in $ops; do
  case $op in
  activations | batchnorm | bn1d | grouped | merge)
    gradcheck "$top_srcdir/tests/ops/$op.cnn" "--batch 3" "--batch 2 --eval --seed 3" ;;
  *) gradcheck "$top_srcdir/tests/ops/$op.cnn" "--batch 3" ;;
  esac
done
