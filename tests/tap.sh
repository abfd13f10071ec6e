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
# --enable-sanitizers (tests/local.mk exports configure's flags): programs
# built from generated C take SAN too, as cnncc -o does (they link with the
# sanitized libcnnrt, and their own code is checked as well); the warning
# builds do not. A test that does anything else when SAN is set says so in
# a TAP comment (tests/infer.sh).
SAN=${CNNCC_SANITIZE_FLAGS:-}
# The kernel paths of the generated code (cnncc --target) and their flags
# (those of compiler/build.c); have_avx2/have_avx512: whether this CPU runs them.
cpu_has() { for f in "$@"; do grep -qw "$f" /proc/cpuinfo 2>/dev/null || return 1; done; }
avx2_flags="-mavx2 -mfma"
avx512_flags="-mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx2 -mfma"
have_avx2=no have_avx512=no
cpu_has avx2 fma && have_avx2=yes
cpu_has avx512f avx512vl avx512dq avx512bw && have_avx512=yes
# install_prefix DIR: cnncc, libcnnrt, cnnrt.h and cnnrt.pc installed in DIR
# as a user would (make install prefix=DIR), for the tests of installed use.
install_prefix() { ${MAKE:-make} -C "$top_builddir" install prefix="$1"; }
# need_torch: PYTHON is a Python with torch (CNNCC_PYTHON, by default
# /usr/bin/python3: the first python3 on PATH may lack it), or the whole
# test is skipped.
need_torch() {
  PYTHON=${CNNCC_PYTHON-/usr/bin/python3}
  if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "1..0 # SKIP no python with torch"
    exit 0
  fi
}
# find_rtlib: rtlib is the built libcnnrt.a (under runtime/, or at the top
# of the build tree), or empty when there is none, for the tests that link
# generated C with it by hand.
find_rtlib() {
  rtlib=
  for d in "$top_builddir/runtime" "$top_builddir"; do
    [ -f "$d/libcnnrt.a" ] && rtlib="$d/libcnnrt.a" && break
  done
}
# use_tmp NAME: tmp is a new directory, removed when the test ends.
use_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
  trap 'rm -rf "$tmp"' EXIT
}
# build_net SOURCE PROGRAM: cnncc SOURCE -o PROGRAM; if it fails, its
# messages go to a diag (and the checks that use PROGRAM fail).
build_net() {
  "$CNNCC" "$1" -o "$2" >"$2.build.log" 2>&1 || diag "$(tail -n 20 "$2.build.log")"
}
# run_logged LOG COMMAND...: stdout and stderr into LOG; the status of COMMAND.
run_logged() { _log=$1; shift; "$@" >"$_log" 2>&1; }
# check_fails DESC STATUS LINE COMMAND...: ok when COMMAND exits with STATUS
# and LINE is a whole line of its stderr (else a diag shows both).
check_fails() {
  _d=$1 _s=$2 _t=$3
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  _rc=$?
  if [ $_rc = "$_s" ] && grep -qxF -- "$_t" "$tmp/err"; then ok "$_d"; else
    not_ok "$_d"
    diag "status $_rc, expected $_s; stderr:" "$(cat "$tmp/err")"
  fi
}
# infer_reference SRC NET DIR N SEED [IMAGES] FLAGS: the training code of
# SRC.cnn (network NET) in DIR, and tests/infer-ref.c's checkpoint and
# evaluation-mode outputs of N samples (IMAGES: real ones) in DIR, built
# with $CC FLAGS and rtlib (find_rtlib); the log in DIR/log.
infer_reference() {
  _d=$3
  "$CNNCC" "$top_srcdir/$1.cnn" -o "$_d/net.c" >"$_d/log" 2>&1 &&
    $CC -O2 $7 -DCNNCC_NO_MAIN -DNET="$2" -DNETU="$(echo "$2" | tr 'a-z' 'A-Z')" -DHEADER='"net.h"' \
      -I"$_d" -I"$top_srcdir/runtime" -o "$_d/ref" "$top_srcdir/tests/infer-ref.c" "$_d/net.c" $rtlib \
      -lz -lm >>"$_d/log" 2>&1 &&
    "$_d/ref" "$_d" 3 "$4" "$5" $6 >>"$_d/log" 2>&1
}
# select_lines LIST NAME...: the lines of LIST (a network's fields a line)
# whose first field's base name is one of NAME..., for tests that take
# network names as arguments.
select_lines() {
  _list=$1
  shift
  printf '%s\n' "$_list" | awk -v only=" $* " '{ n = $1; sub(/.*\//, "", n) } index(only, " " n " ")'
}
# san_light LIST: LIST, one word or one network's fields a line, less the
# lines that name mobilenet when SAN is set. Its generated C takes the
# sanitizers minutes a build (7 min in CI: the grouped kernels inlined at
# many shapes), and it is built several ways in several tests; the
# sanitizers still run those kernels in tests/ops/grouped*.cnn and
# tests/torch-ops*.cnn.
san_light() {
  if [ -n "$SAN" ]; then printf '%s\n' "$1" | grep -v mobilenet; else printf '%s\n' "$1"; fi
}
san_light_note="# sanitizers: mobilenet left out (minutes a build; its kernels are checked in tests/ops/grouped*.cnn)"
