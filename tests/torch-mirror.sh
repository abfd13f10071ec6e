#!/bin/sh
# `cnncc --emit=pytorch` for every example (and the operator tests
# tests/torch-ops*.cnn): the module imports and runs, and agrees with
# `cnncc --summary` on parameters, logits and output shapes; load_flat()
# consumes exactly the flat blocks. Checks: tests/torch-mirror.py.
. "$top_srcdir/tests/tap.sh"
need_torch
CHECKS=5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/torch-mirror.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
names=
for f in "$top_srcdir"/examples/*.cnn "$top_srcdir"/tests/torch-ops*.cnn; do
  name=$(basename "$f" .cnn)
  names="$names $name"
  "$CNNCC" --summary "$f" >"$tmp/$name.summary" 2>&1
  "$CNNCC" --emit=pytorch "$f" -o "$tmp/$name.py" 2>"$tmp/$name.err"
done
set -- $names
plan $(($# * CHECKS))
"$PYTHON" "$top_srcdir/tests/torch-mirror.py" "$tmp" "$@" >"$tmp/results" 2>&1
# One pass, so that diagnostics ("# ...") stay under their test line.
while IFS= read -r line; do
  case $line in
    "ok|"*) ok "${line#ok|}" ;;
    "not ok|"*) not_ok "${line#not ok|}" ;;
    "#"*) printf '%s\n' "$line" ;;
    *) diag "$line" ;;
  esac
done <"$tmp/results"
for name; do
  [ -s "$tmp/$name.err" ] && diag "cnncc on $name:" "$(cat "$tmp/$name.err")"
done
while [ "$tap_n" -lt $(($# * CHECKS)) ]; do
  not_ok "did not run (tests/torch-mirror.py stopped early)"
done
exit 0
