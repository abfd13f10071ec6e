/* kernel-checks.h - between tests/kernels.c, the TAP driver, and
 * tests/kernel-checks.c, the checks of the kernels of the generated code
 * (compiler/kernels/), which the build compiles once per configuration. */
#ifndef TESTS_KERNEL_CHECKS_H
#define TESTS_KERNEL_CHECKS_H
#include <stddef.h>

/* One kernel against a naive loop over ragged sizes: run returns 1 when
 * they agree, else 0 with the first difference written to why. */
typedef struct {
  const char *what;
  int (*run)(char *why, size_t size);
} KernelCheck;

/* The checks of each configuration, the same in each, ended by a null
 * entry: portable float C (-DCNNCC_PORTABLE), AVX2 with FMA (-mavx2 -mfma),
 * AVX-512F (-mavx512f), double, and NEON (aarch64, built by tests/neon.sh). */
extern const KernelCheck kernel_checks_portable[], kernel_checks_avx2[], kernel_checks_avx512[],
    kernel_checks_double[], kernel_checks_neon[];

#endif
