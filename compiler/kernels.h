/* kernels.h - the compute kernels that the training code generator
 * (emit_c.c) writes once into every generated file: the matrix product
 * (packing, the register-blocked micro-kernels for AVX-512, AVX2+FMA and
 * portable C) and the window copies of the convolutions (kernels_gemm.c).
 * docs/generated-code.md describes them. */
#ifndef CNNCC_KERNELS_H
#define CNNCC_KERNELS_H

#include "cnncc.h"

/* The number of fixed batch parts (PARTS in the generated code): the work of
 * a batch is split into this many parts whatever the number of threads, and
 * sums over the batch add the parts' partial sums in part order, so that the
 * results do not depend on the number of threads. */
#define CNN_PARTS 4

/* Upper bounds of the register block over all instruction sets (the
 * generator sizes scratch memory with them; the C file picks MR and NR). */
#define CNN_MAX_MR 8
#define CNN_MAX_NR 32

/* The thread and SIMD preamble: PARALLEL_FOR, ALWAYS_INLINE, NOINLINE, MR,
 * NR, KC and the choice of micro-kernel. */
void cnn_emit_kernel_config(CnnPrinter *P, bool dbl);
/* The GEMM (pack_a, pack_b, gemm, gemm_parallel, add_parts, bias_grad);
 * with implicit, the stride-1 convolutions as implicit products
 * (conv_implicit, conv_implicit_wgrad, ...); with windows, the window
 * copies (im2col_panels, im2row_panels, col2im). */
void cnn_emit_kernels(CnnPrinter *P, bool dbl, bool implicit, bool windows);
/* maxpool_2x2, for max pooling 2x2 with stride 2 (AVX-512 or portable). */
void cnn_emit_pool_kernels(CnnPrinter *P);

#endif
