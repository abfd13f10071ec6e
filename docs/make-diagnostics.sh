#!/bin/sh
# Writes docs/diagnostics.md to stdout from the golden tests in tests/diag.
# tests/diagnostics.sh checks that the committed page is up to date.
cd "$(dirname "$0")/.." || exit 1
cat <<'INTRO'
# Diagnostics

cnncc reports errors the way a C compiler does: `file:line:column: error:`,
the source line with a caret under the offending text, and a `note:` with a
hint where one helps. It reports every independent error of a run (up to
20), exits with status 1, and never crashes, whatever the input: the
mutation test (`tests/robustness.c`) feeds it thousands of corrupted
programs, binary junk, 200,000 nested parentheses and endless recursion.

Exit status: 0 success, 1 errors in the program, 2 bad command line or
unreadable file.

Each example below is a file in `tests/diag/` and the exact text `cnncc
--check` prints for it; `make check` (tests/diagnostics.sh) compares them.
This page is made by `docs/make-diagnostics.sh`.

INTRO
for f in tests/diag/*.cnn; do
  n=$(basename "$f" .cnn)
  printf '## %s\n\n```cnn\n' "$n"
  cat "$f"
  printf '```\n\n```text\n'
  cat "tests/diag/$n.expected"
  printf '```\n\n'
done
