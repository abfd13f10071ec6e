#ifdef KERNEL_NEON
/* The windows of output row oy that come in fours; returns how many. */
static inline int maxpool_2x2_neon(const real *restrict x, int w, int oy, int ow, real *restrict y,
    int32_t *restrict arg) {
  const int32_t step[4] = {0, 1, w, w + 1};
  static const int32_t first[4] = {0, 2, 4, 6};
  const int32x4_t even = vld1q_s32(first);
  int ox = 0;
  for (; ox + 4 <= ow; ox += 4) {
    const int i0 = 2 * oy * w + 2 * ox;
    const float32x4x2_t a = vld2q_f32(x + i0), b = vld2q_f32(x + i0 + w);
    const float32x4_t t[4] = {a.val[0], a.val[1], b.val[0], b.val[1]};
    const int32x4_t base = vaddq_s32(vdupq_n_s32(i0), even);
    float32x4_t m = t[0];
    int32x4_t best = base;
    for (int k = 1; k < 4; k++) {
      const uint32x4_t take = vorrq_u32(vcgtq_f32(t[k], m), vmvnq_u32(vceqq_f32(t[k], t[k])));
      m = vbslq_f32(take, t[k], m);
      best = vbslq_s32(take, vaddq_s32(base, vdupq_n_s32(step[k])), best);
    }
    vst1q_f32(y + oy * ow + ox, m);
    vst1q_s32(arg + oy * ow + ox, best);
  }
  return ox;
}
#else
#define maxpool_2x2_neon(x, w, oy, ow, y, arg) 0
#endif

/* Max pooling 2x2 with stride 2 and no padding, one plane (h x w to oh x ow):
 * y and the index of each window's first maximum (NaN wins), as the general
 * loops of the layers do it. AVX-512: 16 windows at a time; NEON: 4 (vld2q
 * splits a row's even and odd columns), the rest of a row as the loops. */
static NOINLINE void maxpool_2x2(const real *restrict x, int w, int oh, int ow, real *restrict y,
    int32_t *restrict arg) {
#ifdef KERNEL_AVX512
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox += 16) {
      const int cnt = ow - ox < 16 ? ow - ox : 16, nin = 2 * cnt;
      const __mmask16 mo = (__mmask16)(cnt == 16 ? 0xffff : (1u << cnt) - 1);
      const __mmask16 m0 = (__mmask16)(nin >= 16 ? 0xffff : (1u << nin) - 1);
      const __mmask16 m1 = (__mmask16)(nin >= 32 ? 0xffff : nin > 16 ? (1u << (nin - 16)) - 1 : 0);
      const int i0 = 2 * oy * w + 2 * ox;
      const real *a = x + i0, *b = a + w;
      const __m512 a0 = _mm512_maskz_loadu_ps(m0, a), a1 = _mm512_maskz_loadu_ps(m1, a + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
      const __m512 t[4] = {_mm512_permutex2var_ps(a0, even, a1), _mm512_permutex2var_ps(a0, odd, a1),
          _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1)};
      const int step[4] = {0, 1, w, w + 1};
      const __m512i base = _mm512_add_epi32(_mm512_set1_epi32(i0), even);
      __m512 m = t[0];
      __m512i best = base;
      for (int k = 1; k < 4; k++) {
        const __mmask16 take =
            _mm512_cmp_ps_mask(t[k], m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(t[k], t[k], _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, take, t[k]);
        best = _mm512_mask_mov_epi32(best, take, _mm512_add_epi32(base, _mm512_set1_epi32(step[k])));
      }
      _mm512_mask_storeu_ps(y + oy * ow + ox, mo, m);
      _mm512_mask_storeu_epi32(arg + oy * ow + ox, mo, best);
    }
#else
  for (int oy = 0; oy < oh; oy++)
    for (int ox = maxpool_2x2_neon(x, w, oy, ow, y, arg); ox < ow; ox++) {
      const int i0 = 2 * oy * w + 2 * ox, step[4] = {0, 1, w, w + 1};
      real m = x[i0];
      int32_t best = i0;
      for (int k = 1; k < 4; k++) {
        const real v = x[i0 + step[k]];
        const int take = (v > m) | (v != v);
        m = take ? v : m;
        best = take ? i0 + step[k] : best;
      }
      y[oy * ow + ox] = m;
      arg[oy * ow + ox] = best;
    }
#endif
}
