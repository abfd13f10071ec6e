#!/bin/sh
# sanitize.sh - build everything with --enable-sanitizers (AddressSanitizer
# and UndefinedBehaviorSanitizer) in a separate build directory and run
# `make check` there. Exit status: that of make check.
#
#   fuzz/sanitize.sh [MAKE-ARGS...]      e.g. fuzz/sanitize.sh TESTS='fuzz/regressions.sh'
#
# Environment: SANITIZE_BUILD_DIR (default: build-sanitize in the source
# tree); CC (default: clang if present, else gcc: the C compiler of the
# generated code is clang, so clang keeps one sanitizer runtime for both).
# cnncc -o builds programs with the same sanitizer flags, and so do the
# test scripts (CNNCC_SANITIZE_FLAGS, tests/tap.sh): the generated code,
# the test drivers and libcnnrt are all checked.
# Installs nothing: it needs autoconf, automake, flex, bison, zlib1g-dev,
# make and the sanitizer runtimes (Debian: libclang-rt-14-dev for clang;
# libasan8 and libubsan1 come with gcc), and says so when one is missing.
# The test logs stay in BUILD_DIR/obj (test-suite.log).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD_DIR:-$src/build-sanitize}
if [ -z "${CC:-}" ]; then
  if command -v clang >/dev/null 2>&1; then CC=clang; else CC=gcc; fi
fi
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

fail() {
  echo "sanitize.sh: $*" >&2
  exit 1
}

missing=
for tool in make autoreconf flex bison tar "$CC"; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || fail "missing:$missing (Debian: apt-get install build-essential autoconf automake flex bison clang)"
probe=$(mktemp -d "${TMPDIR:-/tmp}/cnncc-sanitize.XXXXXX")
printf '#include <stdlib.h>\n#include <zlib.h>\nint main(void) { free(malloc(1)); return !zlibVersion(); }\n' > "$probe/t.c"
# shellcheck disable=SC2086
if ! "$CC" $flags "$probe/t.c" -o "$probe/t" -lz > "$probe/log" 2>&1 || ! "$probe/t" >> "$probe/log" 2>&1; then
  cat "$probe/log" >&2
  rm -rf "$probe"
  fail "$CC cannot build and run a program with $flags and zlib (Debian: apt-get install zlib1g-dev, and libclang-rt-14-dev for clang or libasan8 libubsan1 for gcc)"
fi
rm -rf "$probe"

mkdir -p "$build" || fail "cannot create $build"
build=$(cd "$build" && pwd)
tree=$src
if [ -f "$src/config.status" ]; then
  command -v git >/dev/null 2>&1 && git -C "$src" rev-parse >/dev/null 2>&1 ||
    fail "$src is configured in place and is no git checkout: run 'make distclean' there first"
  echo "sanitize.sh: $src is configured in place: building from a copy in $build/src"
  rm -rf "$build/src"
  mkdir -p "$build/src"
  (cd "$src" && git ls-files -z -c -o --exclude-standard | tar --null -T - -cf -) |
    (cd "$build/src" && tar xf -) || fail "cannot copy the source tree"
  tree=$build/src
fi
if [ ! -x "$tree/configure" ]; then
  (cd "$tree" && autoreconf -fi) > "$build/autoreconf.log" 2>&1 ||
    { tail -n 20 "$build/autoreconf.log" >&2; fail "autoreconf failed"; }
fi
mkdir -p "$build/obj"
cd "$build/obj" || fail "cannot enter $build/obj"
echo "sanitize.sh: configure --enable-sanitizers CC=$CC in $build/obj"
"$tree/configure" --enable-sanitizers CC="$CC" > configure.log 2>&1 ||
  { tail -n 20 configure.log >&2; fail "configure failed (log: $build/obj/configure.log)"; }
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" > build.log 2>&1 ||
  { tail -n 30 build.log >&2; fail "the build failed (log: $build/obj/build.log)"; }

# Leaks are findings too; reports go with stack traces.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
# Only this run's results stay (CI counts the .trs files here).
find . -name '*.trs' -exec rm -f {} +
start=$(date +%s)
make -j"$jobs" check "$@"
status=$?
echo "sanitize.sh: make check took $(($(date +%s) - start)) s"
[ "$status" = 0 ] || echo "sanitize.sh: make check failed; logs in $build/obj (test-suite.log)" >&2
exit "$status"
