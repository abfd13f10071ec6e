#!/bin/sh
# timed.sh DRIVER [ARG...] - run Automake's test driver and leave the
# test's wall time, in whole seconds, next to its results (X.trs -> X.time).
# make check never fails on time, but CI has a time budget: .ci/run lists
# the slowest tests of each stage from these files.
start=$(date +%s)
"$@"
rc=$?
trs= prev=
for arg; do
  [ "$prev" = --trs-file ] && trs=$arg
  prev=$arg
done
[ -z "$trs" ] || echo $(($(date +%s) - start)) >"${trs%.trs}.time"
exit $rc
