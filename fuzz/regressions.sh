#!/bin/sh
# regressions.sh - TAP: every input under fuzz/regressions/HARNESS/ through
# fuzz/replay-HARNESS (the harness with a plain main(), built by
# `make check` with CC and CFLAGS, so also under --enable-sanitizers), one
# test per file; then each seed corpus fuzz/corpus/HARNESS/ as one test.
# An input fails when the harness crashes, aborts (a sanitizer report or a
# check of its own) or runs longer than 60 s.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
harnesses="frontend idx cifar checkpoint image csv"

for h in $harnesses; do
  if [ ! -x "$top_builddir/fuzz/replay-$h" ]; then
    echo "1..0 # SKIP fuzz/replay-$h is not built (run make check)"
    exit 0
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnncc-regressions.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 60"

n=0
for h in $harnesses; do
  for f in "$top_srcdir/fuzz/regressions/$h"/*; do
    [ -f "$f" ] && n=$((n + 1))
  done
  n=$((n + 1))
done
echo "1..$n"

i=0
run() { # harness, description, inputs...
  h=$1 what=$2
  shift 2
  i=$((i + 1))
  mkdir -p "$tmp/t$i"
  if TMPDIR=$tmp/t$i $limit "$top_builddir/fuzz/replay-$h" "$@" > "$tmp/log" 2>&1; then
    echo "ok $i - $what"
  else
    echo "not ok $i - $what (exit status $?)"
    grep -v '^replay: \(running\|ok\) ' "$tmp/log" | tail -n 30 | sed 's/^/# /'
  fi
  rm -rf "$tmp/t$i"
}

for h in $harnesses; do
  for f in "$top_srcdir/fuzz/regressions/$h"/*; do
    [ -f "$f" ] && run "$h" "$h: regressions/$h/$(basename "$f")" "$f"
  done
  run "$h" "$h: the seed corpus fuzz/corpus/$h" "$top_srcdir/fuzz/corpus/$h"
done
