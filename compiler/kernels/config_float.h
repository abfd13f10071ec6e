/* The register block of the matrix products: tiles of MR x NR values, for
 * the vector vocabulary (vector.h) the compiler targets. The micro-kernels
 * go on vectors (KERNEL_SIMD) only where cnn_vfma is one fused instruction
 * (AVX-512F, AVX2 with FMA, NEON), which these register blocks are made for;
 * elsewhere (SSE2 too: the generic target) and with -DCNNCC_PORTABLE, the
 * portable C ones. */
#if !defined(CNNCC_PORTABLE) && defined(CNN_VFMA_FUSED)
#define KERNEL_SIMD 1
#endif
#if defined(KERNEL_SIMD) && CNNCC_SIMD == 3
#define KERNEL_ISA "avx512"
#define KERNEL_AVX512 1
#elif defined(KERNEL_SIMD) && CNNCC_SIMD == 2
#define KERNEL_ISA "avx2"
#elif defined(KERNEL_SIMD) && CNNCC_SIMD == 4
#define KERNEL_ISA "neon"
#define KERNEL_NEON 1
#else
#define KERNEL_ISA "portable"
#endif
#ifdef KERNEL_AVX512
#define MR 8            /* 16 accumulators of 32 registers */
#define NR (2 * CNN_VL) /* two registers */
#define WV CNN_VL       /* narrow panels (weight gradients): one register */
#elif defined(KERNEL_SIMD)
#define MR 6            /* 12 accumulators of 16 registers (AVX2; of 32 on NEON) */
#define NR (2 * CNN_VL) /* two registers */
#define WV CNN_VL       /* narrow panels (weight gradients): one register */
#else
#define MR 4
#define NR 8
#define WV NR
#endif
#define NV_MAX (NR / WV)
