#!/bin/sh
# profile.sh - the layer profile's roofline (PROG bench --profile,
# docs/performance.md "Where the time goes"): the peaks in the header,
# measured (> 0) or from CNNCC_PEAK_GFLOPS / CNNCC_PEAK_GBS (a bad value is
# reported and measured instead); with fixed peaks, the FLOP/byte of a
# convolution, a relu and an add as the byte model counts them by hand, the
# roof min(peak, FLOP/B x bandwidth), compute bound for the convolution and
# memory bound for the element-wise layers, and a time, GB/s and % of the
# roof on every layer's forward line.
. "$top_srcdir/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/profile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
plan 9

# conv1: 16 -> 64 channels, 3x3 on 32x32, float. Per sample 2 * 64*1024 * 144
# + 64*1024 (bias) FLOPs, 4 * (16 + 64) * 1024 bytes; per call the weights,
# 4 * (64*16*9 + 64). Batch 8: 151519232 FLOPs / 2658560 bytes = 56.99.
# relu1 (after the pool: not fused): 1 FLOP per 4 bytes read + 4 written.
# add1: 1 FLOP per 2 * 4 bytes read + 4 written.
cat >"$tmp/roof.cnn" <<'EOF'
network roof
input x[16, 32, 32]
h = x -> conv2d(64, 3, padding=1) -> maxpool(2) -> relu
s = h + sigmoid(h)
logits = s -> global_avgpool -> dense(10)
loss softmax_cross_entropy(logits)
EOF
if ! "$CNNCC" "$tmp/roof.cnn" -o "$tmp/roof" >"$tmp/build.log" 2>&1; then
  not_ok "the trainer builds"
  diag "$(cat "$tmp/build.log")"
  while [ "$tap_n" -lt 9 ]; do not_ok "skipped: no trainer"; done
  exit 0
fi
ok "the trainer builds"

# field LAYER PASS N: field N of the line of LAYER's PASS
field() { awk -v l="$1" -v p="$2" -v n="$3" '$1 == l && $3 == p { print $n }' "$log"; }

log=$tmp/measured.log
"$tmp/roof" bench --steps 2 --batch 8 --profile >"$log" 2>&1
if awk '/^roofline: FMA peak/ { ok = $4 > 0 && $(NF - 2) > 0 && /measured.*measured/ } END { exit !ok }' "$log"; then
  ok "measured peaks in the header, both > 0"
else
  not_ok "measured peaks in the header, both > 0"
  diag "$(cat "$log")"
fi

log=$tmp/fixed.log
CNNCC_PEAK_GFLOPS=100 CNNCC_PEAK_GBS=20 "$tmp/roof" bench --steps 2 --batch 8 --profile >"$log" 2>&1
check "CNNCC_PEAK_GFLOPS and CNNCC_PEAK_GBS set the peaks" \
  grep -q '^roofline: FMA peak 100.0 GFLOP/s on [0-9]* threads* (CNNCC_PEAK_GFLOPS), memory 20.0 GB/s (CNNCC_PEAK_GBS)$' "$log"
ai="$(field conv1 forward 7) $(field relu1 forward 7) $(field add1 forward 7)"
if [ "$ai" = "56.99 0.12 0.08" ]; then
  ok "FLOP/byte of conv1, relu1, add1 forward: the byte model's (56.99 0.12 0.08)"
else
  not_ok "FLOP/byte of conv1, relu1, add1 forward: the byte model's (56.99 0.12 0.08)"
  diag "got $ai" "$(cat "$log")"
fi
roof="$(field conv1 forward 8) $(field relu1 forward 8)"
if [ "$roof" = "100.0 2.5" ]; then
  ok "roof: the peak for conv1, FLOP/B x bandwidth for relu1 (100.0 2.5)"
else
  not_ok "roof: the peak for conv1, FLOP/B x bandwidth for relu1 (100.0 2.5)"
  diag "got $roof" "$(cat "$log")"
fi
bound="$(field conv1 forward 10) $(field conv1 backward 10) $(field relu1 forward 10) $(field add1 backward 10)"
if [ "$bound" = "compute compute memory memory" ]; then
  ok "conv1 compute bound, relu1 and add1 memory bound"
else
  not_ok "conv1 compute bound, relu1 and add1 memory bound"
  diag "got $bound" "$(cat "$log")"
fi
# the 7 layers' forward lines: a time > 0, and GB/s and % of the roof as
# numbers (0.0 when a slow build, e.g. under sanitizers, rounds them down)
if awk '$3 == "forward" { n++; if (!($4 > 0 && $6 ~ /^[0-9]+\.[0-9]$/ && $9 ~ /^[0-9]+\.[0-9]$/)) bad = bad " " $1 }
        END { if (bad) print "bad:" bad; exit !(n == 7 && !bad) }' "$log" >"$tmp/rows.log"; then
  ok "every layer's forward line has a time, GB/s and % of the roof"
else
  not_ok "every layer's forward line has a time, GB/s and % of the roof"
  diag "$(cat "$tmp/rows.log" "$log")"
fi
check "total lines for both passes" test "$(grep -c '^total per call  *\(forward\|backward\) ' "$log")" = 2

log=$tmp/bad.log
CNNCC_PEAK_GBS=fast "$tmp/roof" bench --steps 1 --batch 8 --profile >"$log" 2>&1
if grep -q '^warning: CNNCC_PEAK_GBS=fast is not a positive number: measuring instead$' "$log" &&
   grep -q '^roofline: .*GB/s (measured)$' "$log"; then
  ok "a bad CNNCC_PEAK_GBS is reported and the bandwidth measured"
else
  not_ok "a bad CNNCC_PEAK_GBS is reported and the bandwidth measured"
  diag "$(cat "$log")"
fi
