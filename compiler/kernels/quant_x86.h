/* quant_x86.h - the AVX2 int8 kernels (quant.h has the portable ones, the
 * reference): the convolution's tile, its requantization, the panel's
 * interleaving and add. The tile holds 4 output channels x 16 (or 8)
 * positions in 8 int32 registers. Per group of 4 K values, one 32-byte
 * load holds 8 positions x 4 inputs, and each channel's 4 weights (one
 * int32 word) are broadcast to every position; vpmaddubsw multiplies
 * unsigned by signed bytes and adds the pairs to int16, vpmaddwd by ones
 * adds those pairs to int32. vpmaddubsw saturates only past 32767, and
 * inputs in [0, 127] times weights in [-127, 127] stay within
 * 2 * 127 * 127 = 32258: exact. An input that may be negative is made |x|
 * and its sign moved to the weight (vpsignb: w * sign(x), still in
 * [-127, 127]), the same products. The requantization is cnn_q_requant's
 * integer function, eight at a time. Used at CNNCC_SIMD 2 and 3 (AVX-512
 * machines have AVX2; AVX-512 VNNI's vpdpbusd would do a group's three
 * steps in one). Needs vector.h (immintrin.h) first. */
#if CNNCC_SIMD == 2 || CNNCC_SIMD == 3
#define CNN_Q_X86 1

/* c + the sums of 4 products x * w per int32 lane (x unsigned) */
static inline __m256i cnn_q_dot_x86(__m256i c, __m256i x, __m256i w) {
  return _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1)));
}

/* w, or w * sign(x) byte by byte where x may be negative (then made |x|) */
static inline __m256i cnn_q_signw_x86(__m256i w, __m256i x, int nonneg) {
  return nonneg ? w : _mm256_sign_epi8(w, x);
}

/* cnn_q_tile_x86 for constant nonneg and np (16 or 8), so that each case
 * is a loop of its own and keeps its 8 (4) sums in registers. */
static inline void cnn_q_loop_x86(const int32_t *w, const signed char *x, const int32_t *off, int G, int nonneg,
                                  int np, int32_t *a) {
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (int g = 0; g < G; g++, w += 4) {
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(x + off[g])), x1 = x0, a0, a1;
    __m256i w0 = _mm256_set1_epi32(w[0]), w1 = _mm256_set1_epi32(w[1]);
    __m256i w2 = _mm256_set1_epi32(w[2]), w3 = _mm256_set1_epi32(w[3]);
    a0 = nonneg ? x0 : _mm256_abs_epi8(x0);
    c0 = cnn_q_dot_x86(c0, a0, cnn_q_signw_x86(w0, x0, nonneg));
    c2 = cnn_q_dot_x86(c2, a0, cnn_q_signw_x86(w1, x0, nonneg));
    c4 = cnn_q_dot_x86(c4, a0, cnn_q_signw_x86(w2, x0, nonneg));
    c6 = cnn_q_dot_x86(c6, a0, cnn_q_signw_x86(w3, x0, nonneg));
    if (np == 8) continue;
    x1 = _mm256_loadu_si256((const __m256i *)(const void *)(x + off[g] + 32));
    a1 = nonneg ? x1 : _mm256_abs_epi8(x1);
    c1 = cnn_q_dot_x86(c1, a1, cnn_q_signw_x86(w0, x1, nonneg));
    c3 = cnn_q_dot_x86(c3, a1, cnn_q_signw_x86(w1, x1, nonneg));
    c5 = cnn_q_dot_x86(c5, a1, cnn_q_signw_x86(w2, x1, nonneg));
    c7 = cnn_q_dot_x86(c7, a1, cnn_q_signw_x86(w3, x1, nonneg));
  }
  _mm256_storeu_si256((__m256i *)(void *)a, c0);
  _mm256_storeu_si256((__m256i *)(void *)(a + 8), c1);
  _mm256_storeu_si256((__m256i *)(void *)(a + 16), c2);
  _mm256_storeu_si256((__m256i *)(void *)(a + 24), c3);
  _mm256_storeu_si256((__m256i *)(void *)(a + 32), c4);
  _mm256_storeu_si256((__m256i *)(void *)(a + 40), c5);
  _mm256_storeu_si256((__m256i *)(void *)(a + 48), c6);
  _mm256_storeu_si256((__m256i *)(void *)(a + 56), c7);
}

/* a[r * 16 + t] = the sums of channel r of w ([G][4] words of 4 weights),
 * positions t < np of x (group g at x + off[g]); nonneg: x >= 0. */
static inline void cnn_q_tile_x86(const int32_t *w, const signed char *x, const int32_t *off, int G, int nonneg,
                                  int np, int32_t *a) {
  if (nonneg && np == 16) cnn_q_loop_x86(w, x, off, G, 1, 16, a);
  else if (nonneg) cnn_q_loop_x86(w, x, off, G, 1, 8, a);
  else if (np == 16) cnn_q_loop_x86(w, x, off, G, 0, 16, a);
  else cnn_q_loop_x86(w, x, off, G, 0, 8, a);
}

/* cnn_q_rshift(x, e) of 8 int32: floor(x / 2^e), plus one where the
 * remainder is more than half (at least half for negative x). */
static inline __m256i cnn_q_rshift_x86(__m256i x, int e) {
  int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
  __m256i rem = _mm256_and_si256(x, _mm256_set1_epi32(mask));
  __m256i thr = _mm256_sub_epi32(_mm256_set1_epi32(mask >> 1), _mm256_cmpgt_epi32(_mm256_setzero_si256(), x));
  __m256i fl = _mm256_sra_epi32(x, _mm_cvtsi32_si128(e));
  return _mm256_sub_epi32(fl, _mm256_cmpgt_epi32(rem, thr));
}

/* cnn_q_requant(x, m, shift) of 8 int32, for multipliers m in [0, 2^31)
 * (as cnncc makes them: cnn_q_mulhi's one saturating case, m = INT32_MIN,
 * never comes). mulhi: floor((x m + 2^30) / 2^31), which is the same as its
 * ties-up rounding, on the even and the odd lanes' 64-bit products. */
static inline __m256i cnn_q_requant_x86(__m256i x, int32_t m, int shift) {
  if (shift < 0) { /* x * 2^-shift, saturated */
    __m256i hi = _mm256_set1_epi32(INT32_MAX >> -shift), lo = _mm256_set1_epi32(-(1 << (31 + shift)));
    __m256i v = _mm256_sll_epi32(x, _mm_cvtsi32_si128(-shift));
    v = _mm256_blendv_epi8(v, _mm256_set1_epi32(INT32_MAX), _mm256_cmpgt_epi32(x, hi));
    x = _mm256_blendv_epi8(v, _mm256_set1_epi32(INT32_MIN), _mm256_cmpgt_epi32(lo, x));
  }
  const __m256i mv = _mm256_set1_epi32(m), half = _mm256_set1_epi64x((int64_t)1 << 30);
  __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, mv), half);
  __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mv), half);
  x = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32), 0xaa);
  return cnn_q_rshift_x86(x, shift > 0 ? shift : 0);
}

/* The first n (up to 8) outputs of cnn_q_finish: a + b requantized and
 * clamped at lo into y; past n only with room (a row's end), else byte by
 * byte from the vector's 64 bits. */
static inline void cnn_q_out8_x86(const int32_t *a, int32_t b, int32_t m, int shift, int lo, signed char *y, int n,
                                  int room) {
  __m256i v = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)a), _mm256_set1_epi32(b));
  v = cnn_q_requant_x86(v, m, shift);
  v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(127));
  __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  h = _mm_packs_epi16(h, h);
  if (room) {
    _mm_storel_epi64((__m128i *)(void *)y, h);
    return;
  }
  uint64_t bytes = (uint64_t)_mm_cvtsi128_si64(h);
  for (int i = 0; i < n; i++) {
    int q = (int)(bytes >> 8 * i & 255);
    y[i] = (signed char)(q > 127 ? q - 256 : q);
  }
}

/* 8 int8 at p requantized to 256 times the output scale (cnn_q_add) */
static inline __m256i cnn_q_load8_x86(const signed char *p, int32_t m, int shift) {
  return cnn_q_requant_x86(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)), m, shift);
}

/* cnn_q_add, 8 at a time; returns how many it did. */
static inline long cnn_q_add_x86(const signed char *a, int32_t ma, int sa, const signed char *b, int32_t mb, int sb,
                                 signed char *y, long n, int lo) {
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i v = cnn_q_rshift_x86(_mm256_add_epi32(cnn_q_load8_x86(a + i, ma, sa), cnn_q_load8_x86(b + i, mb, sb)), 8);
    v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(127));
    __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)(void *)(y + i), _mm_packs_epi16(h, h));
  }
  return i;
}

/* cnn_q_interleave's 4 rows s, s + plane, ... into d, 16 and 8 bytes at a
 * time; returns how many columns it did. */
static inline int cnn_q_interleave_x86(const signed char *s, long plane, int n, signed char *d) {
  int x = 0;
  for (; x + 16 <= n; x += 16, d += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + x));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + plane + x));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + 2 * plane + x));
    __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + 3 * plane + x));
    __m128i ab = _mm_unpacklo_epi8(a, b), ce = _mm_unpacklo_epi8(c, e);
    _mm_storeu_si128((__m128i *)(void *)d, _mm_unpacklo_epi16(ab, ce));
    _mm_storeu_si128((__m128i *)(void *)(d + 16), _mm_unpackhi_epi16(ab, ce));
    ab = _mm_unpackhi_epi8(a, b), ce = _mm_unpackhi_epi8(c, e);
    _mm_storeu_si128((__m128i *)(void *)(d + 32), _mm_unpacklo_epi16(ab, ce));
    _mm_storeu_si128((__m128i *)(void *)(d + 48), _mm_unpackhi_epi16(ab, ce));
  }
  for (; x + 8 <= n; x += 8, d += 32) {
    __m128i a = _mm_loadl_epi64((const __m128i *)(const void *)(s + x));
    __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(s + plane + x));
    __m128i c = _mm_loadl_epi64((const __m128i *)(const void *)(s + 2 * plane + x));
    __m128i e = _mm_loadl_epi64((const __m128i *)(const void *)(s + 3 * plane + x));
    __m128i ab = _mm_unpacklo_epi8(a, b), ce = _mm_unpacklo_epi8(c, e);
    _mm_storeu_si128((__m128i *)(void *)d, _mm_unpacklo_epi16(ab, ce));
    _mm_storeu_si128((__m128i *)(void *)(d + 16), _mm_unpackhi_epi16(ab, ce));
  }
  return x;
}
#endif
