/* quant.h - the int8 kernels of quantized inference code (cnncc
 * --emit=inference --quantize=int8; docs/inference.md, "int8
 * quantization"): portable C, integer arithmetic but for the float input's
 * quantization and the output's dequantization, one float operation each,
 * so that every compiler and target gives the same bits. Faster versions
 * (AVX2 and AVX-512 VNNI in quant_x86.h, NEON in quant_neon.h, printed
 * before this file) must give the same results: the int32 sums do not
 * depend on the order, and the requantization is the two steps below,
 * which map one to one to vpmuldq / sqrdmulh + srshl. Such a file defines
 * CNN_Q_SIMD and the hooks the code below calls, each at one place:
 * cnn_q_tile_simd (a tile's int32 sums), cnn_q_block_simd (a block of 4
 * output channels requantized), cnn_q_add_simd, cnn_q_inter_simd (a step
 * of the interleaving) and cnn_q_max2n_simd (a step of 2 x 2 max
 * pooling). */

/* x * y * 2^-31 rounded to nearest, ties toward +infinity (as NEON's
 * sqrdmulh), saturated: gemmlowp's SaturatingRoundingDoublingHighMul. */
static int32_t cnn_q_mulhi(int32_t x, int32_t y) {
  int64_t p = (int64_t)x * y;
  if (x == INT32_MIN && y == INT32_MIN) return INT32_MAX;
  return (int32_t)((p + (p >= 0 ? (int64_t)1 << 30 : 1 - ((int64_t)1 << 30))) / ((int64_t)1 << 31));
}

/* x / 2^e rounded to nearest, ties away from zero (gemmlowp's
 * RoundingDivideByPOT), with floor division written out so that it does not
 * depend on how >> treats negative numbers. */
static int32_t cnn_q_rshift(int32_t x, int e) {
  int32_t mask = (int32_t)(((int64_t)1 << e) - 1), rem = x & mask;
  int32_t fl = x >= 0 ? x >> e : -((-(x + 1)) >> e) - 1;
  return fl + (rem > (mask >> 1) + (x < 0));
}

/* acc * m * 2^-31 * 2^-shift (a negative shift multiplies first, saturated) */
static int32_t cnn_q_requant(int32_t acc, int32_t m, int shift) {
  if (shift < 0) {
    int64_t v = (int64_t)acc * ((int64_t)1 << -shift);
    acc = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
  }
  return cnn_q_rshift(cnn_q_mulhi(acc, m), shift > 0 ? shift : 0);
}

static signed char cnn_q_clamp(int32_t v, int lo) {
  return (signed char)(v < lo ? lo : v > 127 ? 127 : v);
}

/* x * inv_scale rounded to nearest even and clamped to [-127, 127] (NaN
 * gives 0), without the C library: the truncation and its exact remainder
 * decide the rounding. */
static void cnn_q_quantize(const float *x, signed char *q, long n, float inv_scale) {
  for (long i = 0; i < n; i++) {
    float v = x[i] * inv_scale;
    int r;
    float f;
    if (v != v) v = 0.0f;
    if (v > 127.0f) v = 127.0f;
    if (v < -127.0f) v = -127.0f;
    r = (int)v;
    f = v - (float)r;
    if (f > 0.5f || (f == 0.5f && (r & 1))) r++;
    if (f < -0.5f || (f == -0.5f && (r & 1))) r--;
    q[i] = (signed char)r;
  }
}

static void cnn_q_dequantize(const signed char *q, float *y, long n, float scale) {
  for (long i = 0; i < n; i++) y[i] = (float)q[i] * scale;
}

/* A convolution (a dense layer is one of 1 x 1 positions and kernel) as a
 * matrix product: y[o][p] = b[o] + the sum over k of w[o][k] x[k][p], the
 * K = ic * kh * kw products in groups g of four. The input is first gathered
 * into a panel where group g of position p is the 4 bytes at
 * panel + off[g] + 4 p, so that 8 positions of a group are one 32-byte load:
 *  - direct (4 input channels or more, as many taps as strides or more):
 *    the input padded, 4 channels interleaved, split into sh x sw phases
 *    (padded row sh r + a, column sw k + b is row r, column k of phase
 *    (a, b)), each a plane of ps positions [ps / wp][wp]; output (oy, ox)
 *    is position p = oy * wp + ox, whose tap (ky, kx) is in phase
 *    (ky dh % sh, kx dw % sw) at p + ky dh / sh * wp + kx dw / sw: off[]
 *    holds the taps, no copies of them (stride 1: one phase; a stride's
 *    rows are interleaved past the phases first, iw x 4 bytes);
 *  - windows (direct = 2: fewer channels, column stride and dilation 1):
 *    each channel's padded plane, [ps / wp][wp] positions, with the 4
 *    bytes from (row, column) to (row, column + 3) at each; output
 *    (oy, ox) is position p = oy * sh * wp + ox, group g = (i * kh + ky) *
 *    kq + q (columns 4 q to 4 q + 3 of kernel row ky of channel i, kq
 *    groups a row) is at p + ky * dh * wp + 4 q in plane i (the weights
 *    past kw are zero);
 *  - im2col (the rest): group g of K for every position
 *    p = oy * ow + ox, in planes of ps positions.
 * The outputs are rows (of the image, or all of it for im2col) of len
 * positions, rs apart in the panel, in tiles of 16 or (a row's last) 8
 * positions; a last tile's extra positions read the panel's zeros or the
 * next row and are dropped. The weights are packed at compile time in the
 * order the tiles read them: [oc / 4][G][4 channels] words of 4 weights
 * (bits 8 j to 8 j + 7: the one for byte j of the group), zero past oc and
 * K. Everything is integer, so the sums do not depend on the order: the
 * SIMD tiles (quant_x86.h, quant_neon.h) and the portable ones below give
 * the same bits. */
typedef struct {
  int direct;          /* the panel: 1 direct, 2 windows, 0 im2col (above) */
  int ic, ih, iw, kh, kw, sh, sw, dh, dw, pt, pl;
  int wp, ps;          /* direct: a phase's row length; positions per panel plane */
  int oc, oh, ow, G;
  int rows, len, rs;
  int lo;              /* the lowest output: 0 with a fused ReLU, else -127 */
  int nonneg;          /* the input is >= 0 (made by a ReLU): the x86 tiles' fast case */
  const int32_t *w;
  const int32_t *off;
  const int32_t *b;    /* bias at the scale of input x weight, per channel (to oc / 4 * 4) */
  const int32_t *m;    /* requantization multiplier (Q31) and shift per channel */
  const signed char *shift;
  const float *deq;    /* a last layer: float output = acc * deq[c]; else NULL */
} CnnQConv;

#ifdef CNN_Q_SIMD
/* The 4 rows s, s + plane, ... interleaved into d (column x's 4 bytes at
 * d + 4 x), n columns: cnn_q_inter_simd's steps of 16, 8 and 4 columns,
 * a row's last 8 or 4 again over the previous ones (the same bytes);
 * returns how many columns it did (all but for n < 4). */
static int cnn_q_interleave_simd(const signed char *s, long plane, int n, signed char *d) {
  int x = 0;
  for (; x + 16 <= n; x += 16) cnn_q_inter_simd(s, plane, x, 16, d);
  for (; x + 8 <= n; x += 8) cnn_q_inter_simd(s, plane, x, 8, d);
  if (x < n && n >= 8) cnn_q_inter_simd(s, plane, x = n - 8, 8, d), x = n;
  for (; x + 4 <= n; x += 4) cnn_q_inter_simd(s, plane, x, 4, d);
  if (x < n && n >= 4) cnn_q_inter_simd(s, plane, x = n - 4, 4, d), x = n;
  return x;
}
#endif

/* Row y of input channels 4 g to 4 g + 3 interleaved into d (iw x 4 bytes,
 * zeros past ic). */
static void cnn_q_interleave(const CnnQConv *c, const signed char *x, int g, int y, signed char *d) {
  const long plane = (long)c->ih * c->iw;
  const int iw = c->iw; /* a local: the stores through d may alias *c for the compiler */
  const signed char *s = x + (long)g * 4 * plane + (long)y * iw;
  if (g * 4 + 4 <= c->ic) {
    int xx = 0;
#ifdef CNN_Q_SIMD
    xx = cnn_q_interleave_simd(s, plane, iw, d);
#endif
    for (; xx < iw; xx++) {
      d[xx * 4] = s[xx];
      d[xx * 4 + 1] = s[plane + xx];
      d[xx * 4 + 2] = s[2 * plane + xx];
      d[xx * 4 + 3] = s[3 * plane + xx];
    }
    return;
  }
  for (int xx = 0; xx < c->iw; xx++)
    for (int j = 0; j < 4; j++) d[xx * 4 + j] = g * 4 + j < c->ic ? s[j * plane + xx] : 0;
}

/* The outputs [*lo, *hi) of an axis (n inputs, on outputs, stride s) whose
 * tap at offset off (tap * dilation - padding) reads inside the input. */
static void cnn_q_span(int off, int n, int on, int s, int *lo, int *hi) {
  *lo = off < 0 ? (-off + s - 1) / s : 0;
  *hi = n - off <= 0 ? 0 : (n - off - 1) / s + 1;
  if (*hi > on) *hi = on;
  if (*lo > *hi) *lo = *hi;
}

/* A zero that compilers cannot see: a loop storing it is not a memset
 * call (the file calls no C library function; gcc for Cortex-M turned the
 * tile's zeroing into one). An int32 of unknown value is no byte pattern;
 * bytes take i & zero, which differs in each. */
static const volatile int32_t cnn_q_zero = 0;

/* n zero bytes from d, not a memset call (see cnn_q_zero) */
static void cnn_q_clear(signed char *d, long n) {
  const int32_t zero = cnn_q_zero;
  for (long i = 0; i < n; i++) d[i] = (signed char)(i & zero);
}

/* Input row y of channels 4 g to 4 g + 3 into its phases' rows at d (wp
 * positions each, ps apart), zeros where no input is (a stride's phases;
 * stride 1 is one cnn_q_interleave): interleaved into t first, then each
 * position's 4 bytes to its phase. */
static void cnn_q_phase_row(const CnnQConv *c, const signed char *x, int g, int y, signed char *d, signed char *t) {
  /* locals: the stores through d may alias *c for the compiler */
  const long ps = c->ps;
  const int sw = c->sw, wp = c->wp, pl = c->pl, iw = c->iw;
  cnn_q_interleave(c, x, g, y, t);
  for (int b = 0; b < sw; b++, d += ps * 4) {
    int lo, hi;
    cnn_q_span(b - pl, iw, wp, sw, &lo, &hi);
    cnn_q_clear(d, lo * 4);
    for (int k = lo; k < hi; k++) {
      const signed char *s = t + (b + k * sw - pl) * 4;
      d[k * 4] = s[0], d[k * 4 + 1] = s[1], d[k * 4 + 2] = s[2], d[k * 4 + 3] = s[3];
    }
    cnn_q_clear(d + hi * 4, (wp - hi) * 4);
  }
}

/* The windows panel (see CnnQConv): each padded row copied into t (wp + 3
 * bytes), then its 4-byte windows at every position. */
static void cnn_q_gather_windows(const CnnQConv *c, const signed char *x, signed char *panel) {
  /* locals: the stores through the panel may alias *c for the compiler */
  const int wp = c->wp, pl = c->pl, pt = c->pt, ih = c->ih, iw = c->iw, ic = c->ic;
  const long ps = c->ps;
  signed char *t = panel + ic * ps * 4;
  for (int i = 0; i < ic; i++)
    for (int r = 0; r < ps / wp; r++) {
      const signed char *s = x + ((long)i * ih + r - pt) * iw;
      signed char *d = panel + (i * ps + (long)r * wp) * 4;
      int k = 0;
      if (r < pt || r - pt >= ih) {
        cnn_q_clear(d, wp * 4);
        continue;
      }
      cnn_q_clear(t, pl);
      for (int xx = 0; xx < iw; xx++) t[pl + xx] = s[xx];
      cnn_q_clear(t + pl + iw, wp + 3 - pl - iw);
#ifdef CNN_Q_SIMD
      k = cnn_q_interleave_simd(t, 1, wp, d);
#endif
      for (; k < wp; k++) d[k * 4] = t[k], d[k * 4 + 1] = t[k + 1], d[k * 4 + 2] = t[k + 2], d[k * 4 + 3] = t[k + 3];
    }
}

/* The panel of the input x (see CnnQConv), zeros where no input is. */
static void cnn_q_gather(const CnnQConv *c, const signed char *x, signed char *panel) {
  if (c->direct == 2) {
    cnn_q_gather_windows(c, x, panel);
    return;
  }
  if (c->direct) {
    const int sh = c->sh, sw = c->sw, wp = c->wp, pt = c->pt, pl = c->pl, ih = c->ih, iw = c->iw, ic = c->ic;
    const long ps = c->ps;
    signed char *t = panel + (ic + 3) / 4 * sh * sw * ps * 4; /* a stride's row, interleaved */
    for (int g = 0; g * 4 < ic; g++)
      for (int r = 0; r < ps / wp * sh; r++) {
        int y = r - pt;
        signed char *d = panel + ((g * sh * sw + r % sh * sw) * ps + (long)(r / sh) * wp) * 4;
        if (y < 0 || y >= ih) {
          for (int b = 0; b < sw; b++) cnn_q_clear(d + b * ps * 4, wp * 4);
        } else if (sw > 1) {
          cnn_q_phase_row(c, x, g, y, d, t);
        } else {
          cnn_q_clear(d, pl * 4);
          cnn_q_clear(d + (pl + iw) * 4, (wp - pl - iw) * 4);
          cnn_q_interleave(c, x, g, y, d + pl * 4);
        }
      }
    return;
  }
  for (int g = 0; g < c->G; g++)
    for (int j = 0; j < 4; j++) {
      int k = g * 4 + j, i = k / (c->kh * c->kw), ky = k / c->kw % c->kh, kx = k % c->kw, p = 0;
      int offx = kx * c->dw - c->pl, x0, x1;
      signed char *d = panel + (long)g * c->ps * 4 + j;
      cnn_q_span(offx, c->iw, c->ow, c->sw, &x0, &x1);
      for (int oy = 0; oy < c->oh && i < c->ic; oy++, p += c->ow) {
        int iy = oy * c->sh + ky * c->dh - c->pt, in = iy >= 0 && iy < c->ih, hi = in ? x1 : x0, ox = 0;
        long row = ((long)i * c->ih + (in ? iy : 0)) * c->iw + offx;
        for (; ox < x0; ox++) d[(p + ox) * 4] = 0;
        for (; ox < hi; ox++) d[(p + ox) * 4] = x[row + ox * c->sw];
        for (; ox < c->ow; ox++) d[(p + ox) * 4] = 0;
      }
      for (; p < c->ps; p++) d[p * 4] = 0;
    }
}

/* The sums a[r * 16 + t] of channels 4 ob + r, t < np positions of x
 * (the panel at the tile's first position). */
static void cnn_q_tile_c(const CnnQConv *c, const signed char *x, int ob, int np, int32_t *a) {
  const int32_t *w = c->w + (long)ob * c->G * 4, zero = cnn_q_zero;
  for (int i = 0; i < 64; i++) a[i] = zero;
  for (int g = 0; g < c->G; g++, w += 4) {
    const signed char *xg = x + c->off[g];
    int wb[16]; /* the group's weights, channel r's byte j at r * 4 + j */
    for (int i = 0; i < 16; i++) {
      wb[i] = (int)((uint32_t)w[i / 4] >> 8 * (i % 4) & 255);
      wb[i] = wb[i] > 127 ? wb[i] - 256 : wb[i];
    }
    for (int t = 0; t < np; t++)
      for (int r = 0; r < 4; r++)
        a[r * 16 + t] += wb[r * 4] * xg[t * 4] + wb[r * 4 + 1] * xg[t * 4 + 1] + wb[r * 4 + 2] * xg[t * 4 + 2] +
                         wb[r * 4 + 3] * xg[t * 4 + 3];
  }
}

/* The first n outputs of the tile, output position at of each channel:
 * requantized into y, or for a last layer (yf, with c->deq) as floats
 * into yf. The test is on yf, not deq: a network whose last layer is no
 * convolution passes yf = NULL everywhere, and clang -O2 made the float
 * stores through it, which c->deq does not rule out, a memset call. */
static void cnn_q_finish(const CnnQConv *c, const int32_t *a, int ob, long at, int n, signed char *y, float *yf) {
  long npos = (long)c->oh * c->ow;
  for (int r = 0; r < 4 && ob * 4 + r < c->oc; r++) {
    int o = ob * 4 + r;
    const int32_t *v = a + r * 16;
    if (yf) {
      for (int t = 0; t < n; t++) {
        int32_t s = v[t] + c->b[o];
        yf[o * npos + at + t] = (float)(s < 0 && c->lo == 0 ? 0 : s) * c->deq[o];
      }
      continue;
    }
    for (int t = 0; t < n; t++) y[o * npos + at + t] = cnn_q_clamp(cnn_q_requant(v[t] + c->b[o], c->m[o], c->shift[o]), c->lo);
  }
}

/* The convolution of x into y (int8) or, for a last layer (deq), into yf
 * (the other one NULL); panel is scratch memory (the largest layer's
 * panel). */
static void cnn_q_conv(const CnnQConv *c, const signed char *x, signed char *y, float *yf, signed char *panel) {
  int32_t a[64];
  cnn_q_gather(c, x, panel);
  for (int ob = 0; ob * 4 < c->oc; ob++) {
#ifdef CNN_Q_SIMD
    if (!yf) {
      long npos = (long)c->oh * c->ow;
      cnn_q_block_simd(c->w + (long)ob * c->G * 4, c->off, c->G, c->nonneg, panel, c->rows, c->len, c->rs, c->b + ob * 4,
                      c->m + ob * 4, c->shift + ob * 4, c->oc - ob * 4 < 4 ? c->oc - ob * 4 : 4, c->lo,
                      y + ob * 4 * npos, npos);
      continue;
    }
#endif
    for (int row = 0; row < c->rows; row++)
      for (int t0 = 0, np; t0 < c->len; t0 += np) {
        const signed char *xt = panel + ((long)row * c->rs + t0) * 4;
        np = c->len - t0 > 8 ? 16 : 8;
#ifdef CNN_Q_SIMD
        cnn_q_tile_simd(c->w + (long)ob * c->G * 4, xt, c->off, c->G, c->nonneg, np, a);
#else
        cnn_q_tile_c(c, xt, ob, np, a);
#endif
        cnn_q_finish(c, a, ob, (long)row * c->len + t0, c->len - t0 < np ? c->len - t0 : np, y, yf);
      }
  }
}

#ifdef CNN_Q_SIMD
/* cnn_q_maxpool's 2 x 2, stride 2 windows of the output row y from input
 * rows r and r + iw (ow outputs: 2 ow <= iw): cnn_q_max2n_simd's steps of
 * 8 and 4, the last 4 again over the previous ones; returns how many it
 * did (all but for ow < 4). */
static int cnn_q_max2_simd(const signed char *r, int iw, signed char *y, int ow) {
  int x = 0;
  for (; x + 8 <= ow; x += 8) cnn_q_max2n_simd(r, iw, y, x, 8);
  for (; x + 4 <= ow; x += 4) cnn_q_max2n_simd(r, iw, y, x, 4);
  if (x < ow && ow >= 4) cnn_q_max2n_simd(r, iw, y, x = ow - 4, 4), x = ow;
  return x;
}
#endif

/* Max pooling on int8 (exact: requantization is monotonic): kernel k,
 * stride s, padding p (skipped taps) per axis. */
static void cnn_q_maxpool(const signed char *x, signed char *y, int C, int ih, int iw, int oh, int ow, int kh,
                          int kw, int sh, int sw, int pt, int pl) {
  for (int c = 0; c < C; c++)
    for (int oy = 0; oy < oh; oy++) {
      int ox = 0;
#ifdef CNN_Q_SIMD
      if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && 2 * oy + 1 < ih && 2 * ow <= iw)
        ox = cnn_q_max2_simd(x + ((long)c * ih + 2 * oy) * iw, iw, y + ((long)c * oh + oy) * ow, ow);
#endif
      for (; ox < ow; ox++) {
        int best = -128;
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kw; kx++) {
            int iy = oy * sh + ky - pt, ix = ox * sw + kx - pl;
            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw && x[((long)c * ih + iy) * iw + ix] > best)
              best = x[((long)c * ih + iy) * iw + ix];
          }
        y[((long)c * oh + oy) * ow + ox] = (signed char)best;
      }
    }
}

/* Average pooling without padding (global: one window of ih x iw): the
 * int32 sum requantized with m, shift, which hold 1 / (kh * kw) too. */
static void cnn_q_avgpool(const signed char *x, signed char *y, int C, int ih, int iw, int oh, int ow, int kh,
                          int kw, int sh, int sw, int32_t m, int shift) {
  for (int c = 0; c < C; c++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        int32_t sum = 0;
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kw; kx++) sum += x[((long)c * ih + oy * sh + ky) * iw + ox * sw + kx];
        y[((long)c * oh + oy) * ow + ox] = cnn_q_clamp(cnn_q_requant(sum, m, shift), -127);
      }
}

/* ReLU alone: its output keeps the input's scale, so it is a clamp. */
static void cnn_q_relu(const signed char *x, signed char *y, long n) {
  for (long i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i];
}

/* a + b at the output's scale: each input requantized to 256 times the
 * output's scale (m and shift hold the 256), the sum shifted back by 8
 * (one rounding as in cnn_q_rshift), clamped at lo (0: a fused ReLU). */
static void cnn_q_add(const signed char *a, int32_t ma, int sa, const signed char *b, int32_t mb, int sb,
                      signed char *y, long n, int lo) {
  long i = 0;
#ifdef CNN_Q_SIMD
  i = cnn_q_add_simd(a, ma, sa, b, mb, sb, y, n, lo);
#endif
  for (; i < n; i++)
    y[i] = cnn_q_clamp(cnn_q_rshift(cnn_q_requant(a[i], ma, sa) + cnn_q_requant(b[i], mb, sb), 8), lo);
}
