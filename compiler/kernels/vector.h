/* ---- SIMD: the vector vocabulary of the generated code (training and
 * inference), chosen when this file is compiled; -DCNNCC_SIMD=N forces one:
 * 4 aarch64 NEON, 3 AVX-512F, 2 AVX2 + FMA, 1 SSE2, 0 portable C (one float
 * per vector). CNN_VFMA_FUSED is defined where cnn_vfma is one fused
 * multiply-add (4, 3, 2). Every level gives the same bits for cnn_vmax and
 * cnn_vmin: a > b ? a : b and a < b ? a : b, so b where either is NaN and
 * for -0 against +0 (x86's maxps/minps; NEON's vmaxq_f32 differs: compare
 * and select). cnn_vround rounds to nearest, ties to even. ---- */
#ifndef CNNCC_VECTOR_1
#define CNNCC_VECTOR_1
#ifndef CNNCC_SIMD
#if defined(__aarch64__) && defined(__ARM_NEON)
#define CNNCC_SIMD 4
#elif defined(__AVX512F__)
#define CNNCC_SIMD 3
#elif defined(__AVX2__) && defined(__FMA__)
#define CNNCC_SIMD 2
#elif defined(__SSE2__) || defined(_M_X64)
#define CNNCC_SIMD 1
#else
#define CNNCC_SIMD 0
#endif
#endif
#if CNNCC_SIMD == 4
#include <arm_neon.h>
#define CNN_VL 4
#define CNN_VFMA_FUSED 1
typedef float32x4_t cnn_vec;
#define cnn_vload(p) vld1q_f32(p)
#define cnn_vstore(p, a) vst1q_f32(p, a)
#define cnn_vset1(x) vdupq_n_f32(x)
#define cnn_vzero() vdupq_n_f32(0.0f)
#define cnn_vfma(a, b, c) vfmaq_f32(c, a, b)
#define cnn_vmax(a, b) vbslq_f32(vcgtq_f32(a, b), a, b)
#define cnn_vmin(a, b) vbslq_f32(vcltq_f32(a, b), a, b)
#define cnn_vadd(a, b) vaddq_f32(a, b)
#define cnn_vsub(a, b) vsubq_f32(a, b)
#define cnn_vmul(a, b) vmulq_f32(a, b)
#define cnn_vdiv(a, b) vdivq_f32(a, b)
#define cnn_vround(a) vrndnq_f32(a)
#define cnn_vpow2n(n) vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23))
#define cnn_vselect_lt(a, b, x, y) vbslq_f32(vcltq_f32(a, b), x, y)
#elif CNNCC_SIMD == 3
#include <immintrin.h>
#define CNN_VL 16
#define CNN_VFMA_FUSED 1
typedef __m512 cnn_vec;
#define cnn_vload(p) _mm512_loadu_ps(p)
#define cnn_vstore(p, a) _mm512_storeu_ps(p, a)
#define cnn_vset1(x) _mm512_set1_ps(x)
#define cnn_vzero() _mm512_setzero_ps()
#define cnn_vfma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define cnn_vmax(a, b) _mm512_max_ps(a, b)
#define cnn_vmin(a, b) _mm512_min_ps(a, b)
#define cnn_vadd(a, b) _mm512_add_ps(a, b)
#define cnn_vsub(a, b) _mm512_sub_ps(a, b)
#define cnn_vmul(a, b) _mm512_mul_ps(a, b)
#define cnn_vdiv(a, b) _mm512_div_ps(a, b)
#define cnn_vround(a) _mm512_cvtepi32_ps(_mm512_cvtps_epi32(a))
#define cnn_vpow2n(n) /* 2^n for whole n */ \
  _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define cnn_vselect_lt(a, b, x, y) /* a < b ? x : y */ \
  _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x)
#elif CNNCC_SIMD == 2
#include <immintrin.h>
#define CNN_VL 8
#define CNN_VFMA_FUSED 1
typedef __m256 cnn_vec;
#define cnn_vload(p) _mm256_loadu_ps(p)
#define cnn_vstore(p, a) _mm256_storeu_ps(p, a)
#define cnn_vset1(x) _mm256_set1_ps(x)
#define cnn_vzero() _mm256_setzero_ps()
#define cnn_vfma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define cnn_vmax(a, b) _mm256_max_ps(a, b)
#define cnn_vmin(a, b) _mm256_min_ps(a, b)
#define cnn_vadd(a, b) _mm256_add_ps(a, b)
#define cnn_vsub(a, b) _mm256_sub_ps(a, b)
#define cnn_vmul(a, b) _mm256_mul_ps(a, b)
#define cnn_vdiv(a, b) _mm256_div_ps(a, b)
#define cnn_vround(a) _mm256_cvtepi32_ps(_mm256_cvtps_epi32(a))
#define cnn_vpow2n(n) \
  _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define cnn_vselect_lt(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ))
#elif CNNCC_SIMD == 1
#include <emmintrin.h>
#define CNN_VL 4
typedef __m128 cnn_vec;
#define cnn_vload(p) _mm_loadu_ps(p)
#define cnn_vstore(p, a) _mm_storeu_ps(p, a)
#define cnn_vset1(x) _mm_set1_ps(x)
#define cnn_vzero() _mm_setzero_ps()
#define cnn_vfma(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c)
#define cnn_vmax(a, b) _mm_max_ps(a, b)
#define cnn_vmin(a, b) _mm_min_ps(a, b)
#define cnn_vadd(a, b) _mm_add_ps(a, b)
#define cnn_vsub(a, b) _mm_sub_ps(a, b)
#define cnn_vmul(a, b) _mm_mul_ps(a, b)
#define cnn_vdiv(a, b) _mm_div_ps(a, b)
#define cnn_vround(a) _mm_cvtepi32_ps(_mm_cvtps_epi32(a))
#define cnn_vpow2n(n) _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127)), 23))
#define cnn_vselect_lt(a, b, x, y) \
  _mm_or_ps(_mm_and_ps(_mm_cmplt_ps(a, b), x), _mm_andnot_ps(_mm_cmplt_ps(a, b), y))
#else
#define CNN_VL 1
typedef float cnn_vec;
#define cnn_vload(p) (*(p))
#define cnn_vstore(p, a) (*(p) = (a))
#define cnn_vset1(x) (x)
#define cnn_vzero() 0.0f
#define cnn_vfma(a, b, c) ((a) * (b) + (c))
#define cnn_vmax(a, b) ((a) > (b) ? (a) : (b))
#define cnn_vmin(a, b) ((a) < (b) ? (a) : (b))
#define cnn_vadd(a, b) ((a) + (b))
#define cnn_vsub(a, b) ((a) - (b))
#define cnn_vmul(a, b) ((a) * (b))
#define cnn_vdiv(a, b) ((a) / (b))
#endif
#endif
