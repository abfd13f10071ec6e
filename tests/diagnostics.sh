#!/bin/sh
# Golden diagnostics: each tests/diag/NAME.cnn is a broken program; cnncc
# --check must exit 1 and print exactly tests/diag/NAME.expected.
. "$top_srcdir/tests/tap.sh"
cd "$top_srcdir/tests/diag" || exit 1
set -- *.cnn
plan $(($# * 2 + 1))
for f in "$@"; do
  name=${f%.cnn}
  out=$(NO_COLOR=1 "$CNNCC" --check "$f" 2>&1)
  status=$?
  check "$name: exit status 1" test "$status" = 1
  if [ "$out" = "$(cat "$name.expected")" ]; then ok "$name: message"; else
    not_ok "$name: message"
    printf '%s\n' "$out" | diff "$name.expected" - | diag
  fi
done
if "$top_srcdir/docs/make-diagnostics.sh" | cmp -s - "$top_srcdir/docs/diagnostics.md"; then
  ok "docs/diagnostics.md is up to date"
else
  not_ok "docs/diagnostics.md is up to date (run docs/make-diagnostics.sh > docs/diagnostics.md)"
fi
