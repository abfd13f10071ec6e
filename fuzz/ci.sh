#!/bin/sh
# ci.sh - build the libFuzzer harnesses in a separate build directory and
# run each for FUZZ_SECONDS (default 60) seconds. Prints TAP: one line per
# harness, then "N passed, N failed". Exit status 0 when no harness found
# anything.
#
#   FUZZ_SECONDS=300 fuzz/ci.sh
#
# Environment: FUZZ_SECONDS; FUZZ_BUILD_DIR (default: build-fuzz in the
# source tree); FUZZ_CC (default: clang); FUZZ_JOBS (libFuzzer -fork=N).
# Installs nothing: it needs autoconf, automake, flex, bison, zlib1g-dev,
# make and clang with libFuzzer (Debian: clang libclang-rt-14-dev), and says
# so when one is missing. Findings stay in BUILD_DIR/obj/fuzz/work/HARNESS/.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
fuzz_cc=${FUZZ_CC:-clang}
harnesses="frontend idx cifar checkpoint image csv"

bail() {
  echo "Bail out! $*"
  echo "0 passed, 1 failed"
  exit 1
}

missing=
for tool in make autoreconf flex bison tar; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || bail "missing tools:$missing (Debian: apt-get install build-essential autoconf automake flex bison)"
command -v "$fuzz_cc" >/dev/null 2>&1 ||
  bail "no '$fuzz_cc': the fuzzers need clang with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev), or set FUZZ_CC"
probe=$(mktemp -d "${TMPDIR:-/tmp}/cnncc-ci-fuzz.XXXXXX")
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n && *d == 1; }' > "$probe/t.c"
if ! "$fuzz_cc" -fsanitize=fuzzer,address,undefined "$probe/t.c" -o "$probe/t" > "$probe/log" 2>&1; then
  sed 's/^/# /' "$probe/log" | head -n 5
  rm -rf "$probe"
  bail "$fuzz_cc cannot link -fsanitize=fuzzer,address,undefined (Debian: apt-get install libclang-rt-14-dev)"
fi
printf '#include <zlib.h>\nint main(void) { return !zlibVersion(); }\n' > "$probe/z.c"
if ! "$fuzz_cc" "$probe/z.c" -o "$probe/z" -lz > "$probe/log" 2>&1; then
  rm -rf "$probe"
  bail "zlib headers or library missing (Debian: apt-get install zlib1g-dev)"
fi
rm -rf "$probe"

mkdir -p "$build" || bail "cannot create $build"
build=$(cd "$build" && pwd)
# A VPATH build needs a source tree that is not configured in place; if it
# is (./build.sh does that), build from a clean copy of its files.
tree=$src
if [ -f "$src/config.status" ]; then
  command -v git >/dev/null 2>&1 && git -C "$src" rev-parse >/dev/null 2>&1 ||
    bail "$src is configured in place and is no git checkout: run 'make distclean' there first"
  echo "# $src is configured in place: building from a copy in $build/src"
  rm -rf "$build/src"
  mkdir -p "$build/src"
  (cd "$src" && git ls-files -z -c -o --exclude-standard | tar --null -T - -cf -) |
    (cd "$build/src" && tar xf -) || bail "cannot copy the source tree"
  tree=$build/src
fi
if [ ! -x "$tree/configure" ]; then
  (cd "$tree" && autoreconf -fi) > "$build/autoreconf.log" 2>&1 ||
    { sed 's/^/# /' "$build/autoreconf.log" | tail -n 20; bail "autoreconf failed"; }
fi
mkdir -p "$build/obj"
cd "$build/obj" || bail "cannot enter $build/obj"
if ! "$tree/configure" --enable-fuzzers FUZZ_CC="$fuzz_cc" > configure.log 2>&1; then
  sed 's/^/# /' configure.log | tail -n 20
  bail "configure failed (log: $build/obj/configure.log)"
fi
if ! make -j"$(nproc 2>/dev/null || echo 2)" fuzz-build > build.log 2>&1; then
  sed 's/^/# /' build.log | tail -n 30
  bail "building the fuzzers failed (log: $build/obj/build.log)"
fi

n=0 passed=0 failed=0
set -- $harnesses
echo "1..$#"
for h in $harnesses; do
  n=$((n + 1))
  if sh "$tree/fuzz/run.sh" "$h" "fuzz/fuzz-$h" "$tree" fuzz/work "$seconds" > "run-$h.log" 2>&1; then
    echo "ok $n - fuzz-$h: no finding in ${seconds}s"
    passed=$((passed + 1))
  else
    echo "not ok $n - fuzz-$h: finding (details below; files in $build/obj/fuzz/work/$h)"
    failed=$((failed + 1))
  fi
  sed 's/^/# /' "run-$h.log"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
