#!/bin/sh
# man.sh - the man pages that help2man made (man/local.mk) render without
# warnings (man -l --warnings, i.e. groff -ww) and say what they document.
. "$top_srcdir/tests/tap.sh"
if ! command -v man >/dev/null 2>&1; then
  echo "1..0 # SKIP no man (Debian: man-db)"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
plan 7

# page NAME-LINE OPTION: the page renders without a warning, with that NAME
# line and OPTION documented
page() {
  _page=$top_builddir/man/$1.1
  LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings "$_page" >"$tmp/out" 2>"$tmp/err"
  _rc=$?
  if [ $_rc = 0 ] && [ ! -s "$tmp/err" ] && [ -s "$tmp/out" ]; then
    ok "$1.1 renders without warnings"
  else
    not_ok "$1.1 renders without warnings (man exit $_rc)"
    diag "$(cat "$tmp/err")"
  fi
  if grep -qxF "       $2" "$tmp/out" && grep -qF -- "$3" "$tmp/out"; then
    ok "$1.1: NAME '$2', documents $3"
  else
    not_ok "$1.1: NAME '$2', documents $3"
    diag "$(head -n 20 "$tmp/out")"
  fi
}
page cnncc "cnncc - compile convolutional networks into C trainers" "--emit=inference"
page cnncc-trainer "cnncc-trainer - the command line of every trainer that cnncc builds" "--checkpoint-every N"
# the page made last (page() left it in $tmp/out): the outputs of issue #15
check "cnncc-trainer.1 documents --confusion, --probs, --top K and image files" \
  sh -c "grep -qF -- '--confusion' '$tmp/out' && grep -qF -- '--probs' '$tmp/out' &&
         grep -qF -- '--top K' '$tmp/out' && grep -qF 'PNG and JPEG' '$tmp/out'"
page cnncc-plot "cnncc-plot - draw the loss and accuracy of a training run as an SVG" "--output FILE"
