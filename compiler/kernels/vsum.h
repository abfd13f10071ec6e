#ifndef CNNCC_VSUM_1
#define CNNCC_VSUM_1
#if CNNCC_SIMD == 4
#define cnn_vsum(a) vaddvq_f32(a)
#elif CNNCC_SIMD == 3
#define cnn_vsum(a) _mm512_reduce_add_ps(a)
#elif CNNCC_SIMD == 2
static inline float cnn_vsum(__m256 a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#elif CNNCC_SIMD == 1
static inline float cnn_vsum(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#else
#define cnn_vsum(a) (a)
#endif
#endif
