#!/bin/sh
# The training code generator (cnncc -o): the generated C compiles without
# warnings (clang and gcc, -std=c99 -Wall -Wextra, float and double) for
# every example and tests/ops/*.cnn; its API behaves (tests/codegen-api.c);
# `cnncc NET.cnn -o PROGRAM` builds a trainer from the build tree that runs;
# errors (no loss, a failing C compiler) give a message and exit status 1.
. "$top_srcdir/tests/tap.sh"
CC=${CNNCC_CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/codegen.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
sources=$(ls "$top_srcdir"/examples/*.cnn "$top_srcdir"/tests/ops/*.cnn)
compilers=$CC
command -v gcc >/dev/null 2>&1 && [ "$(command -v gcc)" != "$(command -v "$CC")" ] && compilers="$compilers gcc"
nsources=$(echo "$sources" | wc -l)
ncompilers=$(echo "$compilers" | wc -w)
plan $((nsources * 2 * ncompilers + 12))

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
     $CC -std=c99 -O2 -DCNNCC_NO_MAIN -DNET="$net" -DNETU="$NET" -include "$d/$net.h" \
       -I"$d" -I"$top_srcdir/runtime" -o "$d/api-$net" "$top_srcdir/tests/codegen-api.c" \
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
