#!/bin/sh
# The training code generator (cnncc -o): the generated C compiles without
# warnings (clang and gcc, -std=c99 -Wall -Wextra, float and double) for
# every example and tests/ops/*.cnn; its API behaves (tests/codegen-api.c);
# `cnncc NET.cnn -o PROGRAM` builds a trainer from the build tree that runs,
# and so does `cnncc NET.cnn` (the trainer ./NET);
# errors (no loss, a failing C compiler) give a message and exit status 1.
# The kernels (tests/simd-check.c): the AVX2 and AVX-512 micro-kernels agree
# with portable C (where the CPU has them), and training gives the same
# parameters bit for bit with 1 and 2 OpenMP threads, in the network
# functions and through the trainer's checkpoints; every --target builds a
# trainer that runs; CNNCC_PROFILE=1 and bench --profile print the layer profile;
# the layers' specialized kernels give the bits of the generic ones.
. "$top_srcdir/tests/tap.sh"
CC=${CNNCC_CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/codegen.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
sources=$(ls "$top_srcdir"/examples/*.cnn "$top_srcdir"/tests/ops/*.cnn)
# Under the sanitizers (SAN) the plain run's checks of the big examples are
# not repeated: the warning checks do not involve the sanitizers, and a
# sanitized build of vgg or resnet at -O3 takes minutes; the sanitizers run
# the kernels on tests/ops and lenet.
[ -n "${SAN:-}" ] && sources=$(ls "$top_srcdir"/tests/ops/*.cnn)
compilers=$CC
command -v gcc >/dev/null 2>&1 && [ "$(command -v gcc)" != "$(command -v "$CC")" ] && compilers="$compilers gcc"
nsources=$(echo "$sources" | wc -l)
ncompilers=$(echo "$compilers" | wc -w)
# the -O3 specialized-vs-generic check (7.) with every compiler, but not
# under the sanitizers: it is about the compilers, the plain run does it,
# and a sanitized -O3 build of the generic kernels takes clang minutes
# even for tests/ops/conv1d.cnn (the other builds run the specialized
# kernels sanitized)
special_compilers=$compilers
[ -n "${SAN:-}" ] && special_compilers=
nspecial=$(echo "$special_compilers" | wc -w)
simd_nets="$(ls "$top_srcdir"/tests/ops/*.cnn) $top_srcdir/examples/lenet.cnn"
[ -n "${SAN:-}" ] || simd_nets="$simd_nets $top_srcdir/examples/vgg.cnn $top_srcdir/examples/resnet.cnn"
nsimd=$(echo $simd_nets | wc -w)
thread_nets="lenet resnet"
[ -z "${SAN:-}" ] || thread_nets=lenet
plan $((nsources * 2 * ncompilers + 11 + $(echo $thread_nets | wc -w) + (3 + nspecial) * nsimd + 9))

# 1. warning-free C for every network, float and double, with each compiler
for src in $sources; do
  base=$(basename "$src" .cnn)
  for dtype in float double; do
    d=$tmp/$dtype
    mkdir -p "$d"
    if ! "$CNNCC" --dtype=$dtype "$src" -o "$d/$base.c" >"$d/$base.log" 2>&1; then
      for cc in $compilers; do not_ok "$base ($dtype): cnncc failed"; done
      diag "$(cat "$d/$base.log")"
      continue
    fi
    for cc in $compilers; do
      log=$d/$base.$(basename "$cc").log
      if $cc -std=c99 -Wall -Wextra -Werror -fsyntax-only -I"$top_srcdir/runtime" \
          "$d/$base.c" >"$log" 2>&1; then
        ok "$base ($dtype): the generated C compiles with $cc -std=c99 -Wall -Wextra, no warnings"
      else
        not_ok "$base ($dtype): the generated C compiles with $cc -std=c99 -Wall -Wextra, no warnings"
        diag "$(head -n 40 "$log")"
      fi
    done
  done
done

# 2. the files -o writes
d=$tmp/files
mkdir -p "$d"
"$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$d/net.c" >/dev/null 2>&1
check "-o net.c writes net.c and net.h, and net.c includes net.h" \
  grep -q '^#include "net.h"' "$d/net.c"
check "float code has the trainer's main (guarded by CNNCC_NO_MAIN)" \
  grep -q '^#ifndef CNNCC_NO_MAIN' "$d/net.c"
"$CNNCC" --dtype=double "$top_srcdir/examples/lenet.cnn" -o "$d/dbl.c" >/dev/null 2>&1
if grep -q 'rt_main' "$d/dbl.c" || ! grep -q 'typedef double lenet_real' "$d/dbl.h"; then
  not_ok "double code: lenet_real is double and there is no main"
else
  ok "double code: lenet_real is double and there is no main"
fi

# layers with the same code share one copy (emit/train_shared.c): WaveNet's
# 82 convolutions are 16 kernels; conv3 (dilation 1, like conv2) calls
# conv2's functions on its own tensors
"$CNNCC" "$top_srcdir/examples/wavenet.cnn" -o "$d/wavenet.c" >/dev/null 2>&1
nconv=$(grep -c '^static void conv[0-9]*_forward(' "$d/wavenet.c")
if [ "$nconv" = 16 ] && grep -q '^/\* conv3 runs the functions of conv2: the same code \*/' "$d/wavenet.c" &&
   grep -q '^ *conv2_forward(act\.conv3, ' "$d/wavenet.c" && ! grep -q 'conv3_forward' "$d/wavenet.c"; then
  ok "layers with the same code share their functions (wavenet: 16 conv kernels for 82 layers)"
else
  not_ok "layers with the same code share their functions (wavenet: 16 conv kernels for 82 layers)"
  diag "$nconv conv*_forward functions; $(grep -n 'conv[23]_forward' "$d/wavenet.c" | head -n 5)"
fi

# 3. the architecture hash follows the architecture only
hash() { sed -n 's/.*_ARCH_HASH UINT64_C(\(0x[0-9a-f]*\)).*/\1/p' "$1"; }
sed 's/epochs = 5/epochs = 7/' "$top_srcdir/examples/lenet.cnn" >"$d/other-train.cnn"
sed 's/dense(84)/dense(85)/' "$top_srcdir/examples/lenet.cnn" >"$d/wider.cnn"
"$CNNCC" "$d/other-train.cnn" -o "$d/a.c" && "$CNNCC" "$d/wider.cnn" -o "$d/b.c"
if [ -n "$(hash "$d/net.h")" ] && [ "$(hash "$d/net.h")" = "$(hash "$d/a.h")" ] &&
   [ "$(hash "$d/net.h")" != "$(hash "$d/b.h")" ]; then
  ok "arch hash: the same for other training settings, another for another layer size"
else
  not_ok "arch hash: the same for other training settings, another for another layer size"
  diag "$(hash "$d/net.h") $(hash "$d/a.h") $(hash "$d/b.h")"
fi

# 4. the API (tests/codegen-api.c) on networks with dropout, batchnorm, softmax
rtlib=$top_builddir/runtime/libcnnrt.a
for src in tests/ops/activations tests/ops/batchnorm tests/ops/merge; do
  base=$(basename "$src")
  net=$(sed -n 's/^network  *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$top_srcdir/$src.cnn")
  NET=$(printf '%s' "$net" | tr 'a-z' 'A-Z')
  if "$CNNCC" "$top_srcdir/$src.cnn" -o "$d/$net.c" >"$d/api.log" 2>&1 &&
     $CC -std=c99 -O2 $SAN -DCNNCC_NO_MAIN -DNET="$net" -DNETU="$NET" -include "$d/$net.h" \
       -I"$d" -I"$top_srcdir/runtime" -I"$top_srcdir/tests" -o "$d/api-$net" "$top_srcdir/tests/codegen-api.c" \
       "$d/$net.c" "$rtlib" -lz -lm >>"$d/api.log" 2>&1 &&
     "$d/api-$net" >>"$d/api.log" 2>&1; then
    ok "$base: the generated API behaves ($(grep -c '^ok' "$d/api.log") checks)"
  else
    not_ok "$base: the generated API behaves"
    diag "$(grep -v '^ok' "$d/api.log")"
  fi
done

# 5. a trainer program from the build tree
if "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$d/lenet" >"$d/build.log" 2>&1 && [ -x "$d/lenet" ]; then
  ok "cnncc lenet.cnn -o lenet builds a trainer with libcnnrt from the build tree"
else
  not_ok "cnncc lenet.cnn -o lenet builds a trainer with libcnnrt from the build tree"
  diag "$(cat "$d/build.log")"
fi
if "$d/lenet" bench --steps 5 --batch 8 >"$d/bench.log" 2>&1; then
  ok "lenet bench --steps 5 --batch 8 runs: $(tr '\n' ' ' <"$d/bench.log")"
else
  not_ok "lenet bench --steps 5 --batch 8 runs"
  diag "$(cat "$d/bench.log")"
fi
# without -o: the trainer named after the file, in the current directory
mkdir "$d/cwd"
(cd "$d/cwd" && "$CNNCC" "$top_srcdir/examples/lenet.cnn") >"$d/default.log" 2>&1
status=$?
if [ $status = 0 ] && [ ! -s "$d/default.log" ] && [ "$(ls "$d/cwd")" = lenet ] &&
   "$d/cwd/lenet" --help >/dev/null; then
  ok "cnncc examples/lenet.cnn (no -o) silently builds the trainer ./lenet, and nothing else"
else
  not_ok "cnncc examples/lenet.cnn (no -o) silently builds the trainer ./lenet, and nothing else"
  diag "status $status" "$(cat "$d/default.log")" "$(ls "$d/cwd")"
fi
# the C compiler runs in a child process, which must not print again what
# cnncc wrote before it to a pipe
n=$("$CNNCC" --summary "$top_srcdir/examples/lenet.cnn" -o "$d/summarized" | grep -c '^Network ')
check "cnncc --summary -o PROGRAM | ... prints the summary once (got $n)" test "$n" = 1
if "$CNNCC" --target=native "$top_srcdir/tests/ops/mse.cnn" -o "$d/mse" >"$d/native.log" 2>&1 &&
   "$d/mse" bench --steps 2 --batch 4 >>"$d/native.log" 2>&1; then
  ok "--target=native builds a trainer for an mse network that runs"
else
  not_ok "--target=native builds a trainer for an mse network that runs"
  diag "$(cat "$d/native.log")"
fi

# 6. errors
printf 'network noloss\ninput x[4]\ny = x -> dense(2)\noutput y\n' >"$d/noloss.cnn"
"$CNNCC" "$d/noloss.cnn" -o "$d/noloss.c" >"$d/err.log" 2>&1
status=$?
if [ $status -eq 1 ] && grep -q "no loss" "$d/err.log" && [ ! -e "$d/noloss.c" ]; then
  ok "a network without a loss: message, exit status 1, no file"
else
  not_ok "a network without a loss: message, exit status 1, no file"
  diag "status $status" "$(cat "$d/err.log")"
fi
CNNCC_CC=false "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$d/broken" >"$d/err.log" 2>&1
status=$?
if [ $status -eq 1 ] && grep -q "failed" "$d/err.log" && [ ! -e "$d/broken" ]; then
  ok "a failing C compiler: message, exit status 1"
else
  not_ok "a failing C compiler: message, exit status 1"
  diag "status $status" "$(cat "$d/err.log")"
fi

# 7. the SIMD kernels against portable C, and 1 thread against 2
have_omp=no
printf 'int main(void) { return 0; }\n' >"$d/omp.c"
$CC $SAN -fopenmp -o "$d/omp" "$d/omp.c" >/dev/null 2>&1 && have_omp=yes
# simd_build DIR NET NAME FLAGS...: tests/simd-check.c with the network's code,
# built with $SIMD_CC (default: $CC)
simd_build() {
  sd=$1 snet=$2 sname=$3
  shift 3
  ${SIMD_CC:-$CC} -std=c99 -O1 $SAN "$@" -DCNNCC_NO_MAIN -DNET="$snet" -DNETU="$(printf '%s' "$snet" | tr 'a-z' 'A-Z')" \
    -include "$sd/$snet.h" -I"$sd" -I"$top_srcdir/runtime" -o "$sd/$sname" \
    "$top_srcdir/tests/simd-check.c" "$sd/$snet.c" "$rtlib" -lz -lm >>"$sd/log" 2>&1
}
for src in $simd_nets; do
  base=$(basename "$src" .cnn)
  net=$(sed -n 's/^network  *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$src" | head -n 1)
  sd=$tmp/simd/$base
  mkdir -p "$sd"
  if ! "$CNNCC" "$src" -o "$sd/$net.c" >"$sd/log" 2>&1 || ! simd_build "$sd" "$net" portable ||
     ! "$sd/portable" dump "$sd/portable.dump" 4 >>"$sd/log" 2>&1; then
    for t in avx2 avx512 threads; do not_ok "$base: simd-check ($t): cannot build or run portable C"; done
    diag "$(tail -n 20 "$sd/log")"
    continue
  fi
  for t in avx2 avx512; do
    eval "have=\$have_$t flags=\$${t}_flags"
    if [ "$have" != yes ]; then
      ok "$base: $t kernels agree with portable C # SKIP the CPU has no $t"
    # shellcheck disable=SC2086
    elif simd_build "$sd" "$net" "$t" $flags && "$sd/$t" dump "$sd/$t.dump" 4 >>"$sd/log" 2>&1 &&
         "$sd/$t" compare "$sd/portable.dump" "$sd/$t.dump" 1e-4 >"$sd/$t.out" 2>&1; then
      ok "$base: $t kernels agree with portable C ($(cat "$sd/$t.out"))"
    else
      not_ok "$base: $t kernels agree with portable C"
      diag "$(cat "$sd/$t.out" 2>/dev/null)" "$(tail -n 20 "$sd/log")"
    fi
  done
  # the layers' specialized kernels against the generic ones they inline
  # (kernels/implicit.h): the same operations, so the same bits; with every
  # compiler at -O3, as cnncc builds them: gcc 12's vectorizer miscompiled
  # a specialized pad that -O1 and clang compiled right
  for SIMD_CC in $special_compilers; do
    if simd_build "$sd" "$net" special -O3 -march=native &&
       "$sd/special" dump "$sd/special.dump" 4 >>"$sd/log" 2>&1 &&
       simd_build "$sd" "$net" generic -O3 -march=native -DCNNCC_GENERIC_KERNELS &&
       "$sd/generic" dump "$sd/generic.dump" 4 >>"$sd/log" 2>&1 &&
       cmp "$sd/special.dump" "$sd/generic.dump" >>"$sd/log" 2>&1
    then
      ok "$base: the specialized kernels give the generic kernels' bits ($SIMD_CC -O3 -march=native)"
    else
      not_ok "$base: the specialized kernels give the generic kernels' bits ($SIMD_CC -O3 -march=native)"
      diag "$(tail -n 20 "$sd/log")"
    fi
  done
  SIMD_CC=
  if [ "$have_omp" != yes ]; then
    ok "$base: 1 and 2 threads give the same results # SKIP $CC has no OpenMP"
  elif simd_build "$sd" "$net" omp -march=native -fopenmp &&
       "$sd/omp" threads 6 >"$sd/threads.out" 2>&1; then
    ok "$base: 1 and 2 threads give the same results ($(cat "$sd/threads.out"))"
  else
    not_ok "$base: 1 and 2 threads give the same results"
    diag "$(cat "$sd/threads.out" 2>/dev/null)" "$(tail -n 20 "$sd/log")"
  fi
done

# 8. trainers: 1 and 2 threads give identical checkpoints; every target; the profile
# idx FILE TYPE-DIMS... COUNT SOURCE: an IDX file of unsigned bytes
idx() {
  f=$1 ndim=$2 count=$3 source=$4
  shift 4
  { printf '\000\000\010'; printf "\\$(printf %03o "$ndim")"
    for dim in "$@"; do
      printf "\\$(printf %03o $((dim >> 24 & 255)))\\$(printf %03o $((dim >> 16 & 255)))"
      printf "\\$(printf %03o $((dim >> 8 & 255)))\\$(printf %03o $((dim & 255)))"
    done
    if [ "$source" = labels ]; then tr -dc '\000-\011' </dev/urandom | head -c "$count"
    else head -c "$count" /dev/urandom; fi
  } >"$f"
}
data=$d/data
mkdir -p "$data"
idx "$data/train-images-idx3-ubyte" 3 $((40 * 784)) pixels 40 28 28
idx "$data/train-labels-idx1-ubyte" 1 40 labels 40
idx "$data/t10k-images-idx3-ubyte" 3 $((8 * 784)) pixels 8 28 28
idx "$data/t10k-labels-idx1-ubyte" 1 8 labels 8
for ex in $thread_nets; do
  if [ "$have_omp" != yes ]; then
    ok "$ex trainer: 1 and 2 threads, identical checkpoints # SKIP $CC has no OpenMP"
    continue
  fi
  log=$d/$ex-threads.log
  if "$CNNCC" "$top_srcdir/examples/$ex.cnn" -o "$d/$ex-omp" >"$log" 2>&1 &&
     OMP_NUM_THREADS=1 "$d/$ex-omp" train --data "$data" --epochs 1 --batch 16 --save "$d/$ex-1.ckpt" >>"$log" 2>&1 &&
     OMP_NUM_THREADS=2 "$d/$ex-omp" train --data "$data" --epochs 1 --batch 16 --save "$d/$ex-2.ckpt" >>"$log" 2>&1 &&
     cmp "$d/$ex-1.ckpt" "$d/$ex-2.ckpt" >>"$log" 2>&1; then
    ok "$ex trainer: 1 and 2 threads (OMP_NUM_THREADS), identical checkpoints after an epoch"
  else
    not_ok "$ex trainer: 1 and 2 threads (OMP_NUM_THREADS), identical checkpoints after an epoch"
    diag "$(tail -n 20 "$log")"
  fi
done
for t in generic avx2 avx512; do
  eval "have=\${have_$t:-yes}"
  if [ "$have" != yes ]; then
    ok "--target=$t builds a trainer that runs # SKIP the CPU has no $t"
  elif "$CNNCC" --target=$t "$top_srcdir/examples/lenet.cnn" -o "$d/lenet-$t" >"$d/$t.log" 2>&1 &&
       "$d/lenet-$t" bench --steps 2 --batch 8 --threads 2 >>"$d/$t.log" 2>&1; then
    ok "--target=$t builds a trainer that runs"
  else
    not_ok "--target=$t builds a trainer that runs"
    diag "$(cat "$d/$t.log")"
  fi
done
if CNNCC_PROFILE=1 "$d/lenet" bench --steps 2 --batch 8 >"$d/profile.log" 2>&1 &&
   grep -q '^conv1  *conv2d  *forward  *[0-9.]' "$d/profile.log" && grep -q '^total per call' "$d/profile.log"; then
  ok "CNNCC_PROFILE=1 prints the time of every layer"
else
  not_ok "CNNCC_PROFILE=1 prints the time of every layer"
  diag "$(cat "$d/profile.log")"
fi
if "$d/lenet" bench --steps 2 --batch 8 --profile >"$d/profile2.log" 2>&1 &&
   grep -q '^conv2  *conv2d  *backward  *[0-9.]' "$d/profile2.log" && grep -q '^dense3  *dense  *forward  *[0-9.]' "$d/profile2.log"; then
  ok "bench --profile prints the time of every layer"
else
  not_ok "bench --profile prints the time of every layer"
  diag "$(cat "$d/profile2.log")"
fi
