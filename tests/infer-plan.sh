#!/bin/sh
# The plan of the inference code (plan/infer.c) for every example,
# tests/torch-ops*.cnn and tests/infer-edge.cnn, as `cnncc --plan
# --emit=inference` prints it, checked by awk, independently of the memory planner: every arena
# block ("buffer NAME offset O size S lives A..B") lies inside the arena,
# blocks alive at the same time do not overlap, lives are within the
# groups, every live layer is in some group, and every convolution names
# its register tile; resnet's 7x7 layers take the channel tile.
. "$top_srcdir/tests/tap.sh"
nets="$top_srcdir/examples/*.cnn $top_srcdir/tests/torch-ops1d.cnn $top_srcdir/tests/torch-ops2d.cnn
$top_srcdir/tests/infer-edge.cnn"
plan $(($(echo $nets | wc -w) + 2))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/infer-plan.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

for f in $nets; do
  name=${f##*/}
  if ! "$CNNCC" --plan --emit=inference "$f" >"$tmp/plan" 2>"$tmp/err"; then
    not_ok "$name: planned"
    diag "$(cat "$tmp/err")"
    continue
  fi
  if awk '
    function fail(msg) { print msg; bad = 1 }
    /^inference plan of / { groups = $5 + 0; nblocks = $7 + 0; next }
    /^group [0-9]+ conv / && !/ \((position|channel) tile: / { fail("no tile: " $0) }
    /^group / { ng++; next }
    /^buffer / {
      n++; name[n] = $2; off[n] = $4 + 0; size[n] = $6 + 0
      split($8, l, /\.\./); lo[n] = l[1] + 0; hi[n] = l[2] + 0
      if (size[n] <= 0 || size[n] % 16) fail("block " $2 " has size " $6)
      if (lo[n] > hi[n] || lo[n] < 0 || hi[n] >= groups) fail("block " $2 " lives " $8)
      next
    }
    /^arena / { arena = $2 + 0; next }
    { fail("unexpected line: " $0) }
    END {
      if (ng != groups || n != nblocks) fail("counts: " ng " groups, " n " blocks")
      for (i = 1; i <= n; i++) {
        if (off[i] < 0 || off[i] + size[i] > arena) fail(name[i] " outside the arena of " arena)
        for (j = i + 1; j <= n; j++)
          if (lo[i] <= hi[j] && lo[j] <= hi[i] && off[i] < off[j] + size[j] && off[j] < off[i] + size[i])
            fail(name[i] " and " name[j] " overlap while both alive")
      }
      exit bad
    }' "$tmp/plan" >"$tmp/err"; then
    ok "$name: $(grep -c '^group' "$tmp/plan") groups, $(grep -c '^buffer' "$tmp/plan") blocks in an arena of $(sed -n 's/^arena //p' "$tmp/plan") floats, none overlapping"
  else
    not_ok "$name: the plan holds its invariants"
    diag "$(head -n 20 "$tmp/err")"
  fi
done

# the channel tile where the position tile wastes (7x7 with pitch 9, 14x14
# with pitch 16), not with 16 output channels (28x28) nor on the 1x1
# downsampling with 32 inputs (its stores would cost more)
"$CNNCC" --plan --emit=inference "$top_srcdir/examples/resnet.cnn" >"$tmp/plan" 2>&1
tiles=$(awk '/^group [0-9]+ conv / { printf "%s%s ", $4, / \(channel tile: / ? "c" : "p" }' "$tmp/plan")
case $tiles in
*conv5:p*conv6:c*conv9:c*conv12:c*conv13:p*conv15:c*) ok "resnet: the channel tile on 14x14 and 7x7 3x3 layers" ;;
*) not_ok "resnet: the channel tile on 14x14 and 7x7 3x3 layers"; diag "$tiles" ;;
esac
# one vector of 16 channels where much is wasted (10x10 with pitch 14)
if "$CNNCC" --plan --emit=inference "$top_srcdir/examples/lenet.cnn" 2>&1 |
  grep -q '^group 1 conv conv2: .*(channel tile: 1 vector of channels x 2x10 positions)$'; then
  ok "lenet: conv2 takes the channel tile with one vector"
else
  not_ok "lenet: conv2 takes the channel tile with one vector"
fi
exit 0
