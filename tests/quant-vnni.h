/* quant-vnni.h - a portable _mm256_dpbusd_epi32 (AVX-512 VNNI's vpdpbusd on
 * ymm registers) for tests/quant.sh: tests/quant-kernels.c built with
 * -include tests/quant-vnni.h runs quant_x86.h's VNNI tile (CNN_Q_VNNI) on
 * an AVX2 machine without VNNI, and checks it against the portable tile.
 * Each int32 lane of c plus the 4 products of unsigned bytes of x by
 * signed bytes of w, wrapping, as the instruction does. */
#include <immintrin.h>
#include <stdint.h>

static inline __m256i cnn_test_dpbusd(__m256i c, __m256i x, __m256i w) {
  uint32_t cv[8];
  uint8_t xv[32];
  int8_t wv[32];
  _mm256_storeu_si256((__m256i *)(void *)cv, c);
  _mm256_storeu_si256((__m256i *)(void *)xv, x);
  _mm256_storeu_si256((__m256i *)(void *)wv, w);
  for (int i = 0; i < 32; i++) cv[i / 4] += (uint32_t)((int32_t)xv[i] * wv[i]);
  return _mm256_loadu_si256((const __m256i *)(const void *)cv);
}

#undef _mm256_dpbusd_epi32 /* immintrin.h may define it as a macro */
#define _mm256_dpbusd_epi32 cnn_test_dpbusd
#define CNN_Q_VNNI 1
