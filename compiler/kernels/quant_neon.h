/* quant_neon.h - the aarch64 NEON int8 kernels (quant.h has the portable
 * ones, the reference; quant_x86.h the AVX2 ones): quant.h's hooks (the
 * end of this file) for the convolution's tile and its requantization,
 * add, the panel's interleaving and 2 x 2 max pooling, at CNNCC_SIMD 4.
 * The tile of 4 output channels x 16 (or 8) positions is summed 8
 * positions at a time, in 8 int32x4 registers; one 16-byte load holds 4
 * positions x the 4 bytes of a group, and one int32 word of the packed
 * weights holds a channel's 4 bytes of it (quant.h, CnnQConv).
 *  - With the dot-product extension (__ARM_FEATURE_DOTPROD: -march=armv8.2-a
 *    +dotprod, armv8.4-a and later, -mcpu of most cores since Cortex-A55/A75)
 *    sdot by lane (vdotq_laneq_s32) adds, per int32 lane, the 4 products of
 *    a position's bytes with channel r's word, signed x signed: one
 *    instruction per channel and 4 positions, 8 a group.
 *  - Without it, smull / smlal multiply 8 bytes by the broadcast word into
 *    int16, the products of two groups added together: inputs in [-128, 127]
 *    times weights in [-127, 127] make at most 2 * 128 * 127 = 32512, exact
 *    in int16 (a third product could overflow), and sadalp adds the int16
 *    pairs into int32 lanes that hold half a position each, the halves
 *    added (addp) at the end; 2 channels x 8 positions at a time, so that
 *    the 8 sums, 4 inputs and 4 weights stay in registers.
 * Signed x signed either way: the inputs' sign (CnnQConv.nonneg), which
 * the x86 tile needs, changes nothing here. The requantization is
 * cnn_q_requant's integer function, 4 at a time, on the tile's registers:
 * sqshl (the saturated left shift of a negative shift), sqrdmulh (exactly
 * cnn_q_mulhi, saturation included), then srshl, which rounds ties toward
 * +infinity where cnn_q_rshift rounds them away from zero: negative values
 * are first made one smaller (saturated), gemmlowp's fixup, which gives the
 * same result for every int32. Needs vector.h (arm_neon.h) first. */
#if CNNCC_SIMD == 4
#define CNN_Q_NEON 1

/* A tile's sums: v[4 r + q] channel r's positions 4 q to 4 q + 3 */
typedef struct {
  int32x4_t v[16];
} CnnQAccNeon;

#ifdef __ARM_FEATURE_DOTPROD
/* channels 0 to 3 of w, positions 8 h to 8 h + 7 of x, into acc: per
 * group, two 16-byte loads of 4 positions, one of the 4 channels' words,
 * 8 sdot into 8 sums in registers */
static inline void cnn_q_half_neon(const int32_t *w, const signed char *x, const int32_t *off, int G, int h,
                                   CnnQAccNeon *acc) {
  const int8_t *x8 = (const int8_t *)x + 32 * h;
  const int32x4_t z = vdupq_n_s32(0);
  int32x4_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
  for (int g = 0; g < G; g++, w += 4) {
    int8x16_t wv = vreinterpretq_s8_s32(vld1q_s32(w)), xa = vld1q_s8(x8 + off[g]), xb = vld1q_s8(x8 + off[g] + 16);
    a0 = vdotq_laneq_s32(a0, xa, wv, 0), b0 = vdotq_laneq_s32(b0, xb, wv, 0);
    a1 = vdotq_laneq_s32(a1, xa, wv, 1), b1 = vdotq_laneq_s32(b1, xb, wv, 1);
    a2 = vdotq_laneq_s32(a2, xa, wv, 2), b2 = vdotq_laneq_s32(b2, xb, wv, 2);
    a3 = vdotq_laneq_s32(a3, xa, wv, 3), b3 = vdotq_laneq_s32(b3, xb, wv, 3);
  }
  acc->v[2 * h] = a0, acc->v[2 * h + 1] = b0, acc->v[4 + 2 * h] = a1, acc->v[5 + 2 * h] = b1;
  acc->v[8 + 2 * h] = a2, acc->v[9 + 2 * h] = b2, acc->v[12 + 2 * h] = a3, acc->v[13 + 2 * h] = b3;
}
#else
/* lo, hi += the products of the 4 positions xa (xb) with the word at wa
 * (wb) broadcast, those of a and b added in int16, then the int16 pairs in
 * int32: lo's lanes are positions 0, 0, 1, 1 (two bytes each), hi's 2, 2, 3, 3. */
static inline void cnn_q_smull_neon(int32x4_t *lo, int32x4_t *hi, int8x16_t xa, const int32_t *wa, int8x16_t xb,
                                    const int32_t *wb) {
  int8x16_t va = vreinterpretq_s8_s32(vld1q_dup_s32(wa)), vb = vreinterpretq_s8_s32(vld1q_dup_s32(wb));
  *lo = vpadalq_s16(*lo, vmlal_s8(vmull_s8(vget_low_s8(xa), vget_low_s8(va)), vget_low_s8(xb), vget_low_s8(vb)));
  *hi = vpadalq_s16(*hi, vmlal_high_s8(vmull_high_s8(xa, va), xb, vb));
}

/* groups a and b (b = a with zero weights when G is odd) into the sums s
 * of two channels (words wa[0], wa[1]) and the 8 positions at xa, xb:
 * s[0..3] the first 4 positions (lo, hi of each channel), s[4..7] the next */
static inline void cnn_q_two_groups_neon(int32x4_t *s, const int8_t *xa, const int32_t *wa, const int8_t *xb,
                                   const int32_t *wb) {
  int8x16_t a0 = vld1q_s8(xa), b0 = vld1q_s8(xb), a1 = vld1q_s8(xa + 16), b1 = vld1q_s8(xb + 16);
  cnn_q_smull_neon(s, s + 1, a0, wa, b0, wb);
  cnn_q_smull_neon(s + 2, s + 3, a0, wa + 1, b0, wb + 1);
  cnn_q_smull_neon(s + 4, s + 5, a1, wa, b1, wb);
  cnn_q_smull_neon(s + 6, s + 7, a1, wa + 1, b1, wb + 1);
}

/* channels r and r + 1 of w (with the packing's stride of 4 words a
 * group), positions 8 h to 8 h + 7 of x, into acc; s stays in registers:
 * 8 sums, 4 inputs, 4 weights */
static inline void cnn_q_two_channels_neon(const int32_t *w, const signed char *x, const int32_t *off, int G, int r, int h,
                                    CnnQAccNeon *acc) {
  static const int32_t zero[2] = {0, 0};
  const int8_t *x8 = (const int8_t *)x + 32 * h;
  const int32x4_t z = vdupq_n_s32(0);
  int32x4_t s[8] = {z, z, z, z, z, z, z, z};
  int g = 0;
  w += r;
  for (; g + 2 <= G; g += 2) cnn_q_two_groups_neon(s, x8 + off[g], w + 4 * g, x8 + off[g + 1], w + 4 * g + 4);
  if (g < G) cnn_q_two_groups_neon(s, x8 + off[g], w + 4 * g, x8 + off[g], zero);
  acc->v[4 * r + 2 * h] = vpaddq_s32(s[0], s[1]);
  acc->v[4 * r + 2 * h + 1] = vpaddq_s32(s[4], s[5]);
  acc->v[4 * r + 4 + 2 * h] = vpaddq_s32(s[2], s[3]);
  acc->v[4 * r + 5 + 2 * h] = vpaddq_s32(s[6], s[7]);
}

/* channels 0 to 3 of w, positions 8 h to 8 h + 7 of x, into acc: 2
 * channels at a time */
static inline void cnn_q_half_neon(const int32_t *w, const signed char *x, const int32_t *off, int G, int h,
                                   CnnQAccNeon *acc) {
  cnn_q_two_channels_neon(w, x, off, G, 0, h, acc);
  cnn_q_two_channels_neon(w, x, off, G, 2, h, acc);
}
#endif

/* The sums of channel r of w ([G][4] words of 4 weights) in acc->v[4 r]
 * to v[4 r + np / 4 - 1], positions t < np (16 or 8) of x (group g at
 * x + off[g]), 8 positions at a time. */
static inline void cnn_q_acc_neon(const int32_t *w, const signed char *x, const int32_t *off, int G, int np,
                                  CnnQAccNeon *acc) {
  cnn_q_half_neon(w, x, off, G, 0, acc);
  if (np == 16) cnn_q_half_neon(w, x, off, G, 1, acc);
}

/* The same sums stored as a[r * 16 + t] (cnn_q_tile_c's), for a last
 * layer; one store each (a loop of them became a memcpy call) */
static inline void cnn_q_tile_neon(const int32_t *w, const signed char *x, const int32_t *off, int G, int nonneg,
                                   int np, int32_t *a) {
  CnnQAccNeon acc;
  (void)nonneg;
  cnn_q_acc_neon(w, x, off, G, np, &acc);
  for (int r = 0; r < 4; r++) {
    vst1q_s32(a + 16 * r, acc.v[4 * r]);
    vst1q_s32(a + 16 * r + 4, acc.v[4 * r + 1]);
    if (np == 8) continue;
    vst1q_s32(a + 16 * r + 8, acc.v[4 * r + 2]);
    vst1q_s32(a + 16 * r + 12, acc.v[4 * r + 3]);
  }
}

/* cnn_q_requant(b + x, m, shift) of 4 int32 with its constants as vectors,
 * made once per output channel: the left shift up (0 but for a negative
 * shift) and the right shift as srshl's negative count down */
typedef struct {
  int32x4_t b, up, down;
  int32_t m;
} CnnQReqNeon;

static inline void cnn_q_req_init_neon(CnnQReqNeon *q, int32_t b, int32_t m, int shift) {
  q->b = vdupq_n_s32(b), q->m = m;
  q->up = vdupq_n_s32(shift < 0 ? -shift : 0), q->down = vdupq_n_s32(shift > 0 ? -shift : 0);
}

/* cnn_q_rshift(x, -down) of 4 int32: srshl by down rounds (x + 2^(e-1)) /
 * 2^e down, ties toward +infinity; a negative x made one smaller first
 * ties away from zero (x & down has the sign bit where both are negative;
 * INT32_MIN, a multiple of 2^e, stays: no tie). A count of 0 changes
 * nothing. */
static inline int32x4_t cnn_q_rshift_neon(int32x4_t x, int32x4_t down) {
  return vrshlq_s32(vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, down), 31)), down);
}

/* cnn_q_requant(b + x, m, shift): sqshl saturates as cnn_q_requant does
 * (by 0: no change), sqrdmulh is cnn_q_mulhi for every m */
static inline int32x4_t cnn_q_req_neon(int32x4_t x, const CnnQReqNeon *q) {
  x = vqshlq_s32(vaddq_s32(x, q->b), q->up);
  return cnn_q_rshift_neon(vqrdmulhq_n_s32(x, q->m), q->down);
}

/* 16 int32 narrowed with saturation (to [-128, 127]) and clamped at lo */
static inline int8x16_t cnn_q_narrow_neon(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d, int8x16_t lo) {
  int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)), cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
  return vmaxq_s8(vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd)), lo);
}

/* the first n of 16 bytes into y, byte by byte from two 64-bit words (a
 * copy through memory may become a memcpy call) */
static inline void cnn_q_put_neon(int8x16_t v, signed char *y, int n) {
  const uint64_t w[2] = {vgetq_lane_u64(vreinterpretq_u64_s8(v), 0), vgetq_lane_u64(vreinterpretq_u64_s8(v), 1)};
  for (int i = 0; i < n; i++) {
    int q = (int)(w[i / 8] >> 8 * (i % 8) & 255);
    y[i] = (signed char)(q > 127 ? q - 256 : q);
  }
}

/* The first n positions of the tile (np of 16 or 8) requantized into
 * channels r < nch of y (npos apart) from position at, clamped at lo; np
 * bytes stored per channel while that stays inside it (past n: the next
 * row, written after), else n. */
static inline void cnn_q_store_neon(const CnnQAccNeon *acc, int np, const CnnQReqNeon *req, int nch, int8x16_t lo,
                                    signed char *y, long npos, long at, int n) {
  for (int r = 0; r < nch; r++) {
    const int32x4_t *v = acc->v + 4 * r;
    int32x4_t a0 = cnn_q_req_neon(v[0], &req[r]), a1 = cnn_q_req_neon(v[1], &req[r]);
    int32x4_t a2 = np == 16 ? cnn_q_req_neon(v[2], &req[r]) : a0, a3 = np == 16 ? cnn_q_req_neon(v[3], &req[r]) : a1;
    int8x16_t u = cnn_q_narrow_neon(a0, a1, a2, a3, lo);
    int8_t *yr = (int8_t *)y + r * npos + at;
    if (at + np > npos) cnn_q_put_neon(u, yr, n);
    else if (np == 16) vst1q_s8(yr, u);
    else vst1_s8(yr, vget_low_s8(u));
  }
}

/* cnn_q_conv's outputs of channels 4 ob to 4 ob + nch - 1 (not a last
 * layer): w, b, m and shift from channel 4 ob, y its first output; the
 * panel's rows of len positions rs apart (CnnQConv). */
static inline void cnn_q_block_neon(const int32_t *w, const int32_t *off, int G, int nonneg, const signed char *panel,
                                    int rows, int len, int rs, const int32_t *b, const int32_t *m,
                                    const signed char *shift, int nch, int lo, signed char *y, long npos) {
  CnnQReqNeon req[4];
  CnnQAccNeon acc;
  (void)nonneg;
  for (int r = 0; r < nch; r++) cnn_q_req_init_neon(&req[r], b[r], m[r], shift[r]);
  for (int row = 0; row < rows; row++)
    for (int t0 = 0, np; t0 < len; t0 += np) {
      np = len - t0 > 8 ? 16 : 8;
      cnn_q_acc_neon(w, panel + ((long)row * rs + t0) * 4, off, G, np, &acc);
      cnn_q_store_neon(&acc, np, req, nch, vdupq_n_s8((int8_t)lo), y, npos, (long)row * len + t0,
                       len - t0 < np ? len - t0 : np);
    }
}

/* cnn_q_add, 8 at a time; returns how many it did. */
static inline long cnn_q_add_neon(const signed char *a, int32_t ma, int sa, const signed char *b, int32_t mb, int sb,
                                  signed char *y, long n, int lo) {
  CnnQReqNeon qa, qb;
  const int32x4_t down8 = vdupq_n_s32(-8);
  const int8x16_t vlo = vdupq_n_s8((int8_t)lo);
  long i = 0;
  cnn_q_req_init_neon(&qa, 0, ma, sa);
  cnn_q_req_init_neon(&qb, 0, mb, sb);
  for (; i + 8 <= n; i += 8) {
    int16x8_t u = vmovl_s8(vld1_s8((const int8_t *)a + i)), v = vmovl_s8(vld1_s8((const int8_t *)b + i));
    int32x4_t s0 = vaddq_s32(cnn_q_req_neon(vmovl_s16(vget_low_s16(u)), &qa),
                             cnn_q_req_neon(vmovl_s16(vget_low_s16(v)), &qb));
    int32x4_t s1 = vaddq_s32(cnn_q_req_neon(vmovl_high_s16(u), &qa), cnn_q_req_neon(vmovl_high_s16(v), &qb));
    s0 = cnn_q_rshift_neon(s0, down8), s1 = cnn_q_rshift_neon(s1, down8);
    vst1_s8((int8_t *)y + i, vget_low_s8(cnn_q_narrow_neon(s0, s1, s0, s1, vlo)));
  }
  return i;
}

/* 2 x 2 maxima of rows r and r + iw at columns 2 x to 2 x + 2 n - 1 (n of
 * 8 or 4) into y[x] to y[x + n - 1]: the rows' maxima, then smaxp of the
 * column pairs (steps of quant.h's cnn_q_max2_simd) */
static inline void cnn_q_max2n_neon(const signed char *r, int iw, signed char *y, int x, int n) {
  const int8_t *p = (const int8_t *)r + 2 * x;
  if (n == 8) {
    int8x16_t a = vmaxq_s8(vld1q_s8(p), vld1q_s8(p + iw));
    vst1_s8((int8_t *)y + x, vpmax_s8(vget_low_s8(a), vget_high_s8(a)));
  } else {
    int8x8_t a = vmax_s8(vld1_s8(p), vld1_s8(p + iw));
    uint32_t v = vget_lane_u32(vreinterpret_u32_s8(vpmax_s8(a, a)), 0);
    for (int i = 0; i < 4; i++) {
      int q = (int)(v >> 8 * i & 255);
      y[x + i] = (signed char)(q > 127 ? q - 256 : q);
    }
  }
}

/* 4 bytes of s in the low half (no wider load: the row may end there) */
static inline int8x8_t cnn_q_load4_neon(const int8_t *s) {
  return vreinterpret_s8_u64(vcreate_u64((uint64_t)(uint8_t)s[0] | (uint64_t)(uint8_t)s[1] << 8 |
                                         (uint64_t)(uint8_t)s[2] << 16 | (uint64_t)(uint8_t)s[3] << 24));
}

/* columns x to x + n - 1 (n of 16, 8 or 4) of the 4 rows s, s + plane, ...
 * interleaved into d + 4 x: st4, or for 4 columns two rounds of zips
 * (steps of quant.h's cnn_q_interleave_simd) */
static inline void cnn_q_inter_neon(const signed char *s, long plane, int x, int n, signed char *d) {
  const int8_t *p = (const int8_t *)s + x;
  int8_t *o = (int8_t *)d + 4 * x;
  if (n == 16) {
    int8x16x4_t v = {{vld1q_s8(p), vld1q_s8(p + plane), vld1q_s8(p + 2 * plane), vld1q_s8(p + 3 * plane)}};
    vst4q_s8(o, v);
  } else if (n == 8) {
    int8x8x4_t v = {{vld1_s8(p), vld1_s8(p + plane), vld1_s8(p + 2 * plane), vld1_s8(p + 3 * plane)}};
    vst4_s8(o, v);
  } else {
    int16x4_t ab = vreinterpret_s16_s8(vzip1_s8(cnn_q_load4_neon(p), cnn_q_load4_neon(p + plane)));
    int16x4_t ce = vreinterpret_s16_s8(vzip1_s8(cnn_q_load4_neon(p + 2 * plane), cnn_q_load4_neon(p + 3 * plane)));
    vst1q_s8(o, vreinterpretq_s8_s16(vcombine_s16(vzip1_s16(ab, ce), vzip2_s16(ab, ce))));
  }
}

/* quant.h's hooks */
#define CNN_Q_SIMD 1
#define cnn_q_tile_simd cnn_q_tile_neon
#define cnn_q_block_simd cnn_q_block_neon
#define cnn_q_add_simd cnn_q_add_neon
#define cnn_q_inter_simd cnn_q_inter_neon
#define cnn_q_max2n_simd cnn_q_max2n_neon
#endif
