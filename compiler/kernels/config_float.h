/* The register block of the matrix products: tiles of MR x NR values, for
 * the instruction set the compiler targets (-DCNNCC_PORTABLE: portable C). */
#if !defined(CNNCC_PORTABLE) && defined(__AVX512F__)
#include <immintrin.h>
#define KERNEL_ISA "avx512"
#define KERNEL_AVX512 1
typedef __m512 vec; /* 16 floats */
#define VL 16
#define vzero() _mm512_setzero_ps()
#define vload(p) _mm512_loadu_ps(p)
#define vstore(p, v) _mm512_storeu_ps(p, v)
#define vset1(x) _mm512_set1_ps(x)
#define vadd(a, b) _mm512_add_ps(a, b)
#define vfma(a, b, c) _mm512_fmadd_ps(a, b, c)
#elif !defined(CNNCC_PORTABLE) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KERNEL_ISA "avx2"
typedef __m256 vec; /* 8 floats */
#define VL 8
#define vzero() _mm256_setzero_ps()
#define vload(p) _mm256_loadu_ps(p)
#define vstore(p, v) _mm256_storeu_ps(p, v)
#define vset1(x) _mm256_set1_ps(x)
#define vadd(a, b) _mm256_add_ps(a, b)
#define vfma(a, b, c) _mm256_fmadd_ps(a, b, c)
#else
#define KERNEL_ISA "portable"
#endif
#ifdef KERNEL_AVX512
#define MR 8        /* 16 accumulators of 32 registers */
#define NR (2 * VL) /* two registers */
#define WV VL       /* narrow panels (weight gradients): one register */
#elif defined(VL)
#define MR 6        /* 12 accumulators of 16 registers */
#define NR (2 * VL) /* two registers */
#define WV VL       /* narrow panels (weight gradients): one register */
#else
#define MR 4
#define NR 8
#define WV NR
#endif
#define NV_MAX (NR / WV)
