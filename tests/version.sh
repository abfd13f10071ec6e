#!/bin/sh
# version.sh - --version of cnncc and of a trainer: the GNU-style first line
# and notice (the licence of COPYING), then how trainers are built: cnncc
# names the compiler and options cnncc -o uses (CNNCC_CC, CNNCC_OPENMP), and
# a trainer the compiler, OpenMP and kernels its generated code was built
# with, as that code recorded them, also when compiled by hand.
. "$top_srcdir/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/version.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
plan 9

notice="Copyright (C) 2026 the cnncc authors.
License MIT: <https://opensource.org/licenses/MIT>.
This is free software: you are free to change and redistribute it.
There is NO WARRANTY, to the extent permitted by law."
# same TEXT DESCRIPTION COMMAND...: COMMAND succeeds and prints exactly TEXT
same() {
  _want=$1 _desc=$2
  shift 2
  _got=$("$@" 2>&1)
  if [ $? = 0 ] && [ "$_got" = "$_want" ]; then ok "$_desc"; else
    not_ok "$_desc"
    printf '%s\n' "$_got" | diff -u - /dev/fd/3 3<<EOT | diag
$_want
EOT
  fi
}
# the __VERSION__ a compiler puts into code, with its flags
compiler_version() { "$@" -dM -E -x c /dev/null | sed -n 's/^#define __VERSION__ "\(.*\)"$/\1/p'; }

check "COPYING is the MIT licence that --version names" grep -qx "MIT License" "$top_srcdir/COPYING"
same "cnncc (cnncc) $PACKAGE_VERSION
$notice

Trainers (cnncc -o PROGRAM) are compiled with: gcc -std=c99 -O3 -march=native${SAN:+ $SAN}" \
  "cnncc --version: name, version, licence, and the compiler and options of cnncc -o (CNNCC_CC=gcc CNNCC_OPENMP=0)" \
  env CNNCC_CC=gcc CNNCC_OPENMP=0 "$CNNCC" --version
cc=${CNNCC_CC:-clang}
"$CNNCC" --version >"$tmp/cnncc.out"
if tail -n 1 "$tmp/cnncc.out" | grep -qxF -e "Trainers (cnncc -o PROGRAM) are compiled with: $cc -std=c99 -O3 -march=native${SAN:+ $SAN} -fopenmp" \
    -e "Trainers (cnncc -o PROGRAM) are compiled with: $cc -std=c99 -O3 -march=native${SAN:+ $SAN}"; then
  ok "cnncc --version names configure's compiler for trainers, $cc"
else
  not_ok "cnncc --version names configure's compiler for trainers, $cc"
  diag "$(cat "$tmp/cnncc.out")"
fi
same "$(cat "$tmp/cnncc.out")" "cnncc -V is --version" "$CNNCC" -V

# a trainer built by cnncc, without OpenMP and for the portable kernels
if ! CNNCC_OPENMP=0 "$CNNCC" --target=generic "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet" >"$tmp/build.log" 2>&1; then
  echo "Bail out! cannot build the lenet trainer: $(cat "$tmp/build.log")"
  exit 1
fi
# (the last line, libcnnrt's compiler, is checked apart)
same "lenet (cnncc) $PACKAGE_VERSION
$notice

Network 'lenet': compiled by $(compiler_version "$cc"), without OpenMP, portable kernels." \
  "lenet --version: name, version, licence and the compiler that built it" \
  sh -c '"$1" --version | sed \$d' sh "$tmp/lenet"
check "lenet --version: which compiler built libcnnrt" \
  sh -c '"$1" --version | tail -n 1 | grep -qE "^libcnnrt: compiled by .+\.$"' sh "$tmp/lenet"
same "$("$tmp/lenet" --version)" "lenet -V is --version" "$tmp/lenet" -V

# the same C compiled by hand: the program says how, not what cnncc would do
"$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet.c" || exit 1
if ! command -v gcc >/dev/null 2>&1; then
  ok "by hand with gcc # SKIP no gcc"
  ok "by hand with gcc -fopenmp # SKIP no gcc"
  exit 0
fi
gcc_version=$(compiler_version gcc)
gcc -std=c99 -O1 $SAN -I"$top_srcdir/runtime" "$tmp/lenet.c" "$top_builddir/runtime/libcnnrt.a" -lz -lm \
  -o "$tmp/by-hand" || exit 1
check "by hand with gcc: 'Network 'lenet': compiled by gcc $gcc_version, without OpenMP, portable kernels.'" \
  sh -c '"$1" --version | grep -qxF "$2"' sh "$tmp/by-hand" \
  "Network 'lenet': compiled by gcc $gcc_version, without OpenMP, portable kernels."
openmp=$(gcc -fopenmp -dM -E -x c /dev/null | sed -n 's/^#define _OPENMP \([0-9]*\)$/\1/p')
if gcc -std=c99 -O1 -fopenmp -mavx2 -mfma $SAN -I"$top_srcdir/runtime" "$tmp/lenet.c" \
     "$top_builddir/runtime/libcnnrt.a" -lz -lm -o "$tmp/by-hand-omp" 2>"$tmp/omp.log"; then
  check "by hand with gcc -fopenmp -mavx2 -mfma: '... with OpenMP $openmp, avx2 kernels.'" \
    sh -c '"$1" --version | grep -qxF "$2"' sh "$tmp/by-hand-omp" \
    "Network 'lenet': compiled by gcc $gcc_version, with OpenMP $openmp, avx2 kernels."
else
  ok "by hand with gcc -fopenmp # SKIP gcc does not link OpenMP programs: $(head -n 1 "$tmp/omp.log")"
fi
