#!/bin/sh
# The training plan (cnncc --plan, docs/generated-code.md) of every example
# and of random networks (tests/random-nets.py; PLAN_NETS, default 40), float
# and double, checked from its text by a checker of its own
# (tests/plan-check.py): buffers in use at a common step never share memory,
# every buffer lies within the pool, every layer's scratch fits. The checker
# must also reject a plan with one offset moved onto a buffer in use with it.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
if ! "$PYTHON" -c 'import sys' >/dev/null 2>&1; then
  echo "1..0 # SKIP no python3 for tests/plan-check.py"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plan.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=${PLAN_NETS:-40}
"$PYTHON" "$top_srcdir/tests/random-nets.py" --out "$tmp" 1 "$n" || exit 1
sources="$(ls "$top_srcdir"/examples/*.cnn) $(ls "$tmp"/rnet*.cnn)"
plan $(($(echo $sources | wc -w) * 2 + 2))

for src in $sources; do
  for dtype in float double; do
    what="$(basename "$src" .cnn) ($dtype)"
    if ! "$CNNCC" --plan --dtype=$dtype "$src" >"$tmp/plan" 2>"$tmp/err"; then
      not_ok "$what: cnncc --plan fails"
      diag "$(cat "$tmp/err")"
    elif ! why=$("$PYTHON" "$top_srcdir/tests/plan-check.py" <"$tmp/plan"); then
      not_ok "$what: $why"
    else
      ok "$what"
    fi
  done
done

# the checker can fail: lenet's act.input (in use from the input to the
# end) moved onto grad.input (in use in the backward pass)
"$CNNCC" --plan "$top_srcdir/examples/lenet.cnn" >"$tmp/good"
off=$(sed -n 's/^buffer act\.relu1 offset \([0-9]*\) .*/\1/p' "$tmp/good")
sed 's/^\(buffer act\.input offset \)[0-9]*/\1'"$off"'/' "$tmp/good" >"$tmp/bad"
why=$("$PYTHON" "$top_srcdir/tests/plan-check.py" <"$tmp/bad")
check "the checker rejects overlapping buffers: $why" test -n "$why"
sed 's/^pool \([0-9]*\)/pool 64/' "$tmp/good" >"$tmp/bad"
why=$("$PYTHON" "$top_srcdir/tests/plan-check.py" <"$tmp/bad")
check "the checker rejects a buffer outside the pool: $why" test -n "$why"
