/* kernels.c - tests/kernels: the kernels of the generated code against
 * naive loops (kernel-checks.c), in TAP: each check for portable C, AVX2
 * with FMA, AVX-512F and double (and NEON in tests/neon.sh's aarch64
 * build), skipped for the instruction sets that this
 * CPU lacks or that the compiler could not build for. */
#include "config.h"
#include "kernel-checks.h"
#include "tap.h"

typedef struct {
  const char *name;
  const KernelCheck *checks; /* NULL: not built */
  int (*cpu_has)(void);
} Isa;

static int always(void) { return 1; }
#ifdef KERNELS_AVX2
static int cpu_has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif
#ifdef KERNELS_AVX512
static int cpu_has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#endif

static const Isa isas[] = {
    {"portable", kernel_checks_portable, always},
#ifdef KERNELS_AVX2
    {"avx2", kernel_checks_avx2, cpu_has_avx2},
#else
    {"avx2", NULL, NULL},
#endif
#ifdef KERNELS_AVX512
    {"avx512", kernel_checks_avx512, cpu_has_avx512},
#else
    {"avx512", NULL, NULL},
#endif
    {"double", kernel_checks_double, always},
#ifdef KERNELS_NEON /* the aarch64 build of tests/neon.sh */
    {"neon", kernel_checks_neon, always},
#endif
};

int main(void) {
  const int nisas = sizeof isas / sizeof *isas;
  int nchecks = 0; /* the same in every table */
  while (kernel_checks_portable[nchecks].what) nchecks++;
  tap_plan(nisas * nchecks);
  for (int i = 0; i < nisas; i++) {
    const Isa *isa = &isas[i];
    for (int c = 0; c < nchecks; c++) {
      const char *what = kernel_checks_portable[c].what;
      if (!isa->checks) {
        tap_ok(1, "%s: %s # SKIP the compiler does not build for %s", isa->name, what, isa->name);
      } else if (!isa->cpu_has()) {
        tap_ok(1, "%s: %s # SKIP this CPU has no %s", isa->name, what, isa->name);
      } else {
        char why[512] = "";
        const int ok = isa->checks[c].run(why, sizeof why);
        tap_ok(ok, "%s: %s%s%s", isa->name, what, ok ? "" : ": ", why);
      }
    }
  }
  return tap_done();
}
