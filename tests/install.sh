#!/bin/sh
# install.sh - make install DESTDIR=... leaves a user the man pages, every
# example network with examples/classify.c, and every page of docs/ with
# the licence, where the Makefile says ($(mandir), $(docdir)).
. "$top_srcdir/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
plan 4
dest=$tmp/root
if ! ${MAKE:-make} -C "$top_builddir" install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
  echo "Bail out! make install DESTDIR=$dest failed: $(tail -n 5 "$tmp/install.log")"
  exit 1
fi
ok "make install DESTDIR=... succeeds"

# installed DIR FILE...: every FILE is in $dest/DIR, identical to its source
installed() {
  _dir=$dest$1
  shift
  _missing=
  for _f in "$@"; do
    cmp -s "$_f" "$_dir/$(basename "$_f")" || _missing="$_missing $(basename "$_f")"
  done
  [ -z "$_missing" ] || { diag "missing or different in $_dir:$_missing"; return 1; }
}
check "the man pages in $INSTALL_MANDIR/man1" \
  installed "$INSTALL_MANDIR/man1" "$top_builddir/man/cnncc.1" "$top_builddir/man/cnncc-trainer.1"
check "examples/*.cnn and classify.c in $INSTALL_DOCDIR/examples" \
  installed "$INSTALL_DOCDIR/examples" "$top_srcdir"/examples/*.cnn "$top_srcdir/examples/classify.c"
check "docs/*.md and COPYING in $INSTALL_DOCDIR" \
  installed "$INSTALL_DOCDIR" "$top_srcdir"/docs/*.md "$top_srcdir/COPYING"
