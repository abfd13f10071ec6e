/* kernels.h - the compute kernels that the training code generator
 * (emit/train.c) writes once into every generated file: the matrix product
 * (packing, the register-blocked micro-kernels for AVX-512, AVX2+FMA and
 * portable C), the convolutions as implicit products, the window copies of
 * the other convolutions and max pooling (emit/kernels.c).
 * docs/generated-code.md describes them.
 *
 * The kernels are ordinary C headers in compiler/kernels/, compiled and
 * tested as such (tests/kernel-checks.c); compiler/kernels/embed.sh turns
 * each into a string at build time (kernel_texts.c), which the generated
 * file gets as it is. They go in this order, each after what it uses:
 *
 *   threads.h        PARALLEL_FOR_IF, PART_BEGIN, INLINE, ... (uses PARTS)
 *   vector.h         the vector vocabulary, as in the inference code (float)
 *   config_float.h   the instruction set of the micro-kernels (vectors only
 *                    where cnn_vfma is fused: KERNEL_SIMD) and the register
 *   config_double.h  block MR x NR; double: portable C
 *   pool.h           maxpool_2x2 (uses real)
 *   simd.h           the micro-kernels on vectors (when KERNEL_SIMD is defined)
 *   portable.h       the micro-kernels in plain C (when it is not)
 *   gemm.h           KC, pack_a, pack_b, gemm, ... (uses sum() and the
 *                    parts' weight gradients part[p].dw)
 *   implicit.h       the convolutions as implicit products
 *   window.h         the window copies im2col_panels, im2row_panels, col2im
 *   grouped.h        grouped and depthwise convolutions, directly (when a
 *                    layer has groups > 1)
 *
 * emit/train.c writes four more where it needs them: sum.h (sum(), the
 * sums in lanes, before the kernels), profile.h (the layer profile's
 * functions), arena.h (what <net>_setup() and <net>_free() do) and init.h
 * (init_uniform, for <net>_init()).
 *
 * The inference code (emit/infer.c) writes the same vocabulary as it is,
 * with the vector functions it uses after it:
 *
 *   vector.h         CNNCC_SIMD, cnn_vec, CNN_VL, cnn_vload, cnn_vfma, ...
 *   vsum.h           cnn_vsum, the horizontal sum (dense layers)
 *   vexp.h           cnn_vexp, for the next two: the Cephes single precision
 *   vsigmoid.h       polynomials (a few ulp); in portable C, libm's expf
 *   vtanh.h          and tanhf
 *   verf.h           cnn_verf (gelu): a rational fit within 4e-7; in
 *                    portable C, libm's erff
 *
 * and the int8 code (--quantize=int8, emit/infer_quant.c) only quant.h:
 * the int8 kernels and the requantization.
 */
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

/* The kernel headers' text (kernel_texts.c). */
extern const char cnn_kernel_threads[], cnn_kernel_config_float[], cnn_kernel_config_double[],
    cnn_kernel_pool[], cnn_kernel_simd[], cnn_kernel_portable[], cnn_kernel_gemm[], cnn_kernel_implicit[],
    cnn_kernel_window[], cnn_kernel_vector[], cnn_kernel_vsum[], cnn_kernel_vexp[], cnn_kernel_vsigmoid[],
    cnn_kernel_vtanh[], cnn_kernel_verf[], cnn_kernel_sum[], cnn_kernel_profile[],
    cnn_kernel_arena[], cnn_kernel_init[], cnn_kernel_grouped[], cnn_kernel_quant[],
    cnn_kernel_quant_x86[], cnn_kernel_quant_neon[];

/* The thread and SIMD preamble: PARALLEL_FOR_IF, ALWAYS_INLINE, NOINLINE,
 * PARTS, the vector vocabulary (float), MR, NR and the choice of
 * micro-kernel. */
void cnn_emit_kernel_config(CnnPrinter *P, bool dbl);
/* The GEMM (KC, pack_a, pack_b, gemm, gemm_parallel, add_parts, bias_grad);
 * with implicit, the stride-1 convolutions as implicit products
 * (conv_implicit, conv_implicit_wgrad, ...); with windows, the window
 * copies (im2col_panels, im2row_panels, col2im). */
void cnn_emit_kernels(CnnPrinter *P, bool dbl, bool implicit, bool windows, bool grouped);
/* maxpool_2x2, for max pooling 2x2 with stride 2 (AVX-512 or portable). */
void cnn_emit_pool_kernels(CnnPrinter *P);

/* Resampling node n (upsample, adaptive_avgpool; input shape in), as the
 * training and the inference code both print it: its tables (static const
 * arrays NAME_y0, NAME_x0, and NAME_y1, NAME_x1 but for nearest upsampling,
 * bilinear's weights NAME_ly, NAME_lx of type `real`, double ones with
 * dbl), and the loop that computes one channel plane y from plane x
 * (emit/resample.c). */
void cnn_print_resample_tables(CnnPrinter *P, const CnnNode *n, CnnShape in, const char *real, bool dbl);
void cnn_print_resample_plane(CnnPrinter *P, const CnnNode *n, CnnShape in, const char *real, const char *x,
                              const char *y);

#endif
