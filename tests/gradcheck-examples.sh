#!/bin/sh
# Gradient check of every example network against central finite
# differences in double precision, in training mode (batch statistics). The
# small ones check sampled entries of every tensor and of the input one at a
# time; the large ones (a forward pass costs up to a second) check random
# directions that move sampled entries of every tensor and of the input at
# once (see tests/gradcheck.c).
. "$top_srcdir/tests/gradcheck-common.sh"
plan 8
ex=$top_srcdir/examples
gradcheck "$ex/lenet.cnn" "--batch 3 --per-tensor 10"
gradcheck "$ex/mlp.cnn" "--batch 3 --per-tensor 10"
gradcheck "$ex/vgg.cnn" "--batch 2 --per-tensor 3 --input-checks 5"
gradcheck "$ex/resnet.cnn" "--batch 2 --per-tensor 2 --input-checks 5"
gradcheck "$ex/vgg-cifar.cnn" "--batch 2 --directions 3 --per-tensor 2"
if [ -n "$SAN" ]; then
  ok "mobilenet # SKIP under the sanitizers: minutes a build (tests/tap.sh, san_light)"
else
  gradcheck "$ex/mobilenet.cnn" "--batch 2 --directions 3 --per-tensor 2"
fi
gradcheck "$ex/wavenet.cnn" "--batch 1 --directions 2 --per-tensor 2"
gradcheck "$ex/unet.cnn" "--batch 1 --directions 3 --per-tensor 2"
