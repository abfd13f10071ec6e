/* quant_x86.h - the AVX2 int8 kernels (quant.h has the portable ones, the
 * reference; quant_neon.h the NEON ones): quant.h's hooks (the end of
 * this file) for the convolution's tile and its requantization, add, the
 * panel's interleaving and 2 x 2 max pooling. The tile holds 4 output channels x 16 (or 8)
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
 * machines have AVX2; with AVX-512 VNNI, vpdpbusd does a group's three
 * steps in one, cnn_q_dot_x86). Needs vector.h (immintrin.h) first. */
#if CNNCC_SIMD == 2 || CNNCC_SIMD == 3
#define CNN_Q_X86 1

/* AVX-512 VNNI (with VL, for ymm registers): vpdpbusd. Tests predefine
 * CNN_Q_VNNI with a portable _mm256_dpbusd_epi32 (tests/quant-vnni.h). */
#if defined __AVX512VNNI__ && defined __AVX512VL__ && !defined CNN_Q_VNNI
#define CNN_Q_VNNI 1
#endif

/* c + the sums of 4 products x * w per int32 lane (x unsigned): one
 * vpdpbusd with VNNI (exact: no intermediate saturation), else vpmaddubsw
 * (exact for x <= 128, see above) and vpmaddwd by ones */
static inline __m256i cnn_q_dot_x86(__m256i c, __m256i x, __m256i w) {
#ifdef CNN_Q_VNNI
  return _mm256_dpbusd_epi32(c, x, w);
#else
  return _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1)));
#endif
}

/* w, or w * sign(x) byte by byte where x may be negative (then made |x|) */
static inline __m256i cnn_q_signw_x86(__m256i w, __m256i x, int nonneg) {
  return nonneg ? w : _mm256_sign_epi8(w, x);
}

/* A tile's sums: v[2 r] channel r's positions 0 to 7, v[2 r + 1] 8 to 15 */
typedef struct {
  __m256i v[8];
} CnnQAccX86;

/* The tile's sums for constant nonneg and np (16 or 8), so that each case
 * is a loop of its own and keeps its 8 (4) sums in registers. */
static inline void cnn_q_loop_x86(const int32_t *w, const signed char *x, const int32_t *off, int G, int nonneg,
                                  int np, CnnQAccX86 *acc) {
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
  acc->v[0] = c0, acc->v[1] = c1, acc->v[2] = c2, acc->v[3] = c3;
  acc->v[4] = c4, acc->v[5] = c5, acc->v[6] = c6, acc->v[7] = c7;
}

/* The sums of channel r of w ([G][4] words of 4 weights) in acc->v[2 r]
 * and v[2 r + 1], positions t < np of x (group g at x + off[g]); nonneg:
 * x >= 0. */
static inline void cnn_q_acc_x86(const int32_t *w, const signed char *x, const int32_t *off, int G, int nonneg,
                                 int np, CnnQAccX86 *acc) {
  if (nonneg && np == 16) cnn_q_loop_x86(w, x, off, G, 1, 16, acc);
  else if (nonneg) cnn_q_loop_x86(w, x, off, G, 1, 8, acc);
  else if (np == 16) cnn_q_loop_x86(w, x, off, G, 0, 16, acc);
  else cnn_q_loop_x86(w, x, off, G, 0, 8, acc);
}

/* The same sums stored as a[r * 16 + t] (cnn_q_tile_c's), for a last layer */
static inline void cnn_q_tile_x86(const int32_t *w, const signed char *x, const int32_t *off, int G, int nonneg,
                                  int np, int32_t *a) {
  CnnQAccX86 acc;
  cnn_q_acc_x86(w, x, off, G, nonneg, np, &acc);
  /* one store each: gcc -O2 made a loop of them a memcpy call */
  _mm256_storeu_si256((__m256i *)(void *)a, acc.v[0]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 8), acc.v[1]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 16), acc.v[2]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 24), acc.v[3]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 32), acc.v[4]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 40), acc.v[5]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 48), acc.v[6]);
  _mm256_storeu_si256((__m256i *)(void *)(a + 56), acc.v[7]);
}

/* cnn_q_rshift(x, e) of 8 int32 (mask = 2^e - 1, thr = mask / 2):
 * floor(x / 2^e), plus one where the remainder is more than half (at least
 * half for negative x). */
static inline __m256i cnn_q_rshift_x86(__m256i x, __m256i mask, __m256i thr, __m128i e) {
  __m256i rem = _mm256_and_si256(x, mask);
  thr = _mm256_sub_epi32(thr, _mm256_cmpgt_epi32(_mm256_setzero_si256(), x));
  return _mm256_sub_epi32(_mm256_sra_epi32(x, e), _mm256_cmpgt_epi32(rem, thr));
}

/* cnn_q_requant(b + x, m, shift) of 8 int32 with its constants as vectors
 * (cnn_q_req_x86), made once per output channel (cnn_q_req_init_x86). */
typedef struct {
  __m256i b, m, half, mask, thr; /* bias, multiplier, 2^30 (64-bit lanes), 2^e - 1, its half */
  __m128i e, up;                  /* the right shift e; the left shift of a negative shift */
  __m256i hi, lo;                 /* a negative shift: the inputs it saturates above and below */
  int left;                       /* the shift is negative: 1, 2 if it may saturate */
  int right;                      /* e > 0 (cnn_q_rshift by 0 is no change) */
} CnnQReqX86;

/* multipliers m in [0, 2^31) (as cnncc makes them: cnn_q_mulhi's one
 * saturating case, m = INT32_MIN, never comes); |b + x| <= bound */
static inline void cnn_q_req_init_x86(CnnQReqX86 *q, int32_t b, int32_t m, int shift, int32_t bound) {
  int e = shift > 0 ? shift : 0;
  int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
  q->b = _mm256_set1_epi32(b), q->m = _mm256_set1_epi32(m), q->half = _mm256_set1_epi64x((int64_t)1 << 30);
  q->mask = _mm256_set1_epi32(mask), q->thr = _mm256_set1_epi32(mask >> 1), q->e = _mm_cvtsi32_si128(e);
  q->right = e > 0, q->left = shift >= 0 ? 0 : bound > INT32_MAX >> -shift ? 2 : 1, q->up = _mm_cvtsi32_si128(shift < 0 ? -shift : 0);
  q->hi = _mm256_set1_epi32(shift < 0 ? INT32_MAX >> -shift : INT32_MAX);
  q->lo = _mm256_set1_epi32(shift < 0 ? -(1 << (31 + shift)) : INT32_MIN);
}

/* cnn_q_requant(b + x, m, shift): a negative shift multiplies by 2^-shift,
 * saturated; mulhi is floor((x m + 2^30) / 2^31), the same as its ties-up
 * rounding, on the even and the odd lanes' 64-bit products; then
 * cnn_q_rshift. */
static inline __m256i cnn_q_req_x86(__m256i x, const CnnQReqX86 *q) {
  x = _mm256_add_epi32(x, q->b);
  if (q->left == 1) {
    x = _mm256_sll_epi32(x, q->up);
  } else if (q->left) {
    __m256i v = _mm256_sll_epi32(x, q->up);
    v = _mm256_blendv_epi8(v, _mm256_set1_epi32(INT32_MAX), _mm256_cmpgt_epi32(x, q->hi));
    x = _mm256_blendv_epi8(v, _mm256_set1_epi32(INT32_MIN), _mm256_cmpgt_epi32(q->lo, x));
  }
  __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, q->m), q->half);
  __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), q->m), q->half);
  x = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xaa);
  return q->right ? cnn_q_rshift_x86(x, q->mask, q->thr, q->e) : x;
}

/* the first n of 16 bytes into y, byte by byte from two 64-bit words (a
 * copy through memory became a memcpy call with clang -O3) */
static inline void cnn_q_put_x86(__m128i v, signed char *y, int n) {
  const uint64_t w[2] = {(uint64_t)_mm_cvtsi128_si64(v), (uint64_t)_mm_extract_epi64(v, 1)};
  for (int i = 0; i < n; i++) {
    int q = (int)(w[i / 8] >> 8 * (i % 8) & 255);
    y[i] = (signed char)(q > 127 ? q - 256 : q);
  }
}

/* The first n positions of the tile (np of 16 or 8) requantized into
 * channels r < nch of y (npos apart) from position at, clamped at lo: two
 * channels packed to bytes at a time; 16 bytes stored per channel while
 * that stays inside it (past n: the next row, written after), else n. */
static inline void cnn_q_store_x86(const CnnQAccX86 *acc, int np, const CnnQReqX86 *req, int nch, __m256i lo,
                                   signed char *y, long npos, long at, int n) {
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int r = 0; r < nch; r += 2) {
    const CnnQReqX86 *qb = &req[r + 1 < nch ? r + 1 : r];
    __m256i a0 = cnn_q_req_x86(acc->v[2 * r], &req[r]), b0 = cnn_q_req_x86(acc->v[2 * r + 2], qb);
    __m256i a1 = np == 16 ? cnn_q_req_x86(acc->v[2 * r + 1], &req[r]) : a0;
    __m256i b1 = np == 16 ? cnn_q_req_x86(acc->v[2 * r + 3], qb) : b0;
    __m256i u = _mm256_packs_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(b0, b1));
    u = _mm256_max_epi8(_mm256_permutevar8x32_epi32(u, order), lo);
    signed char *ya = y + r * npos + at, *yb = ya + npos;
    if (at + 16 <= npos) {
      _mm_storeu_si128((__m128i *)(void *)ya, _mm256_castsi256_si128(u));
      if (r + 1 < nch) _mm_storeu_si128((__m128i *)(void *)yb, _mm256_extracti128_si256(u, 1));
      continue;
    }
    cnn_q_put_x86(_mm256_castsi256_si128(u), ya, n);
    if (r + 1 < nch) cnn_q_put_x86(_mm256_extracti128_si256(u, 1), yb, n);
  }
}

/* cnn_q_conv's outputs of channels 4 ob to 4 ob + nch - 1 (not a last
 * layer): w, b, m and shift from channel 4 ob, y its first output; the
 * panel's rows of len positions rs apart (CnnQConv). */
static inline void cnn_q_block_x86(const int32_t *w, const int32_t *off, int G, int nonneg, const signed char *panel,
                                   int rows, int len, int rs, const int32_t *b, const int32_t *m,
                                   const signed char *shift, int nch, int lo, signed char *y, long npos) {
  CnnQReqX86 req[4];
  CnnQAccX86 acc;
  for (int r = 0; r < nch; r++) cnn_q_req_init_x86(&req[r], b[r], m[r], shift[r], INT32_MAX);
  for (int row = 0; row < rows; row++)
    for (int t0 = 0, np; t0 < len; t0 += np) {
      np = len - t0 > 8 ? 16 : 8;
      cnn_q_acc_x86(w, panel + ((long)row * rs + t0) * 4, off, G, nonneg, np, &acc);
      cnn_q_store_x86(&acc, np, req, nch, _mm256_set1_epi8((char)lo), y, npos, (long)row * len + t0,
                      len - t0 < np ? len - t0 : np);
    }
}

/* cnn_q_add, 8 at a time; returns how many it did. */
static inline long cnn_q_add_x86(const signed char *a, int32_t ma, int sa, const signed char *b, int32_t mb, int sb,
                                 signed char *y, long n, int lo) {
  CnnQReqX86 qa, qb;
  const __m256i mask = _mm256_set1_epi32(255), thr = _mm256_set1_epi32(127), vlo = _mm256_set1_epi32(lo);
  long i = 0;
  cnn_q_req_init_x86(&qa, 0, ma, sa, 128); /* int8 inputs: a shift up to 23 cannot saturate */
  cnn_q_req_init_x86(&qb, 0, mb, sb, 128);
  for (; i + 8 <= n; i += 8) {
    __m256i u = cnn_q_req_x86(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(a + i))), &qa);
    __m256i v = cnn_q_req_x86(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(b + i))), &qb);
    v = cnn_q_rshift_x86(_mm256_add_epi32(u, v), mask, thr, _mm_cvtsi32_si128(8));
    v = _mm256_min_epi32(_mm256_max_epi32(v, vlo), _mm256_set1_epi32(127));
    __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)(void *)(y + i), _mm_packs_epi16(h, h));
  }
  return i;
}

/* 2 x 2 maxima of rows r and r + iw at columns 2 x to 2 x + 2 n - 1 (n of
 * 8 or 4) into y[x] to y[x + n - 1] (steps of quant.h's cnn_q_max2_simd) */
static inline void cnn_q_max2n_x86(const signed char *r, int iw, signed char *y, int x, int n) {
  const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  __m128i a, b;
  if (n == 8) {
    a = _mm_loadu_si128((const __m128i *)(const void *)(r + 2 * x));
    b = _mm_loadu_si128((const __m128i *)(const void *)(r + iw + 2 * x));
  } else {
    a = _mm_loadl_epi64((const __m128i *)(const void *)(r + 2 * x));
    b = _mm_loadl_epi64((const __m128i *)(const void *)(r + iw + 2 * x));
  }
  a = _mm_max_epi8(a, b);
  a = _mm_shuffle_epi8(_mm_max_epi8(a, _mm_srli_epi16(a, 8)), even);
  if (n == 8) {
    _mm_storel_epi64((__m128i *)(void *)(y + x), a);
  } else {
    int32_t v = _mm_cvtsi128_si32(a);
    for (int i = 0; i < 4; i++) y[x + i] = (signed char)(v >> 8 * i);
  }
}

/* n bytes (16, 8 or 4) of s, in the low bytes */
static inline __m128i cnn_q_loadn_x86(const signed char *s, int n) {
  if (n == 16) return _mm_loadu_si128((const __m128i *)(const void *)s);
  if (n == 8) return _mm_loadl_epi64((const __m128i *)(const void *)s);
  return _mm_cvtsi32_si128((int)((uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
                                 (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24));
}

/* columns x to x + n - 1 (n of 16, 8 or 4) of the 4 rows s, s + plane, ...
 * interleaved into d + 4 x (steps of quant.h's cnn_q_interleave_simd) */
static inline void cnn_q_inter_x86(const signed char *s, long plane, int x, int n, signed char *d) {
  __m128i a = cnn_q_loadn_x86(s + x, n), b = cnn_q_loadn_x86(s + plane + x, n);
  __m128i c = cnn_q_loadn_x86(s + 2 * plane + x, n), e = cnn_q_loadn_x86(s + 3 * plane + x, n);
  __m128i ab = _mm_unpacklo_epi8(a, b), ce = _mm_unpacklo_epi8(c, e);
  d += 4 * x;
  _mm_storeu_si128((__m128i *)(void *)d, _mm_unpacklo_epi16(ab, ce));
  if (n == 4) return;
  _mm_storeu_si128((__m128i *)(void *)(d + 16), _mm_unpackhi_epi16(ab, ce));
  if (n == 8) return;
  ab = _mm_unpackhi_epi8(a, b), ce = _mm_unpackhi_epi8(c, e);
  _mm_storeu_si128((__m128i *)(void *)(d + 32), _mm_unpacklo_epi16(ab, ce));
  _mm_storeu_si128((__m128i *)(void *)(d + 48), _mm_unpackhi_epi16(ab, ce));
}

/* quant.h's hooks */
#define CNN_Q_SIMD 1
#define cnn_q_tile_simd cnn_q_tile_x86
#define cnn_q_block_simd cnn_q_block_x86
#define cnn_q_add_simd cnn_q_add_x86
#define cnn_q_inter_simd cnn_q_inter_x86
#define cnn_q_max2n_simd cnn_q_max2n_x86
#endif
