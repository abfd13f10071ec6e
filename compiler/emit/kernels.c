/* emit/kernels.c - writes the compute kernels into the generated training code
 * (kernels.h): the thread and SIMD preamble, the matrix product,
 * convolutions with stride 1 as implicit products, the window copies of the
 * other convolutions and max pooling 2x2.
 *
 * The kernels are the C headers of compiler/kernels/, written out as they
 * are (kernel_texts.c holds their text). One file compiles anywhere: the
 * micro-kernels are picked by the preprocessor from what the compiler
 * targets (AVX-512F, AVX2 with FMA, or portable C), over the vector
 * vocabulary that the inference code shares (vector.h), and OpenMP is used when
 * the compiler has it (-fopenmp), the pragmas disappearing otherwise. */
#include "kernels.h"

/* A kernel header after a blank line, at file scope. */
static void section(CnnPrinter *P, const char *text) {
  cnn_pr(P, "%s", "");
  cnn_pr_verbatim(P, text);
}

void cnn_emit_kernel_config(CnnPrinter *P, bool dbl) {
  section(P, cnn_kernel_threads);
  cnn_pr(P, "#define PARTS %d /* parts of a batch */", CNN_PARTS);
  if (!dbl) section(P, cnn_kernel_vector);
  section(P, dbl ? cnn_kernel_config_double : cnn_kernel_config_float);
}

void cnn_emit_pool_kernels(CnnPrinter *P) { section(P, cnn_kernel_pool); }

void cnn_emit_kernels(CnnPrinter *P, bool dbl, bool implicit, bool windows, bool grouped) {
  if (!dbl) section(P, cnn_kernel_simd);
  section(P, cnn_kernel_portable);
  section(P, cnn_kernel_gemm);
  if (implicit) section(P, cnn_kernel_implicit);
  if (windows) section(P, cnn_kernel_window);
  if (grouped) section(P, cnn_kernel_grouped);
}
