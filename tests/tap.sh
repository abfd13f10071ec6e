# tap.sh - a few TAP helpers for the shell tests (sourced).
# Each test prints "1..N" itself via plan, then ok/not_ok lines.
tap_n=0
plan() { echo "1..$1"; }
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); echo "not ok $tap_n - $*"; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# diag TEXT: a diagnostic line for a failing test
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
: "${top_srcdir:=.}" "${top_builddir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd) top_builddir=$(cd "$top_builddir" && pwd)
CNNCC=${CNNCC:-$top_builddir/cnncc}
case $CNNCC in /*) ;; *) CNNCC=$PWD/$CNNCC ;; esac
