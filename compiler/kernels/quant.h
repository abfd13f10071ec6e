/* quant.h - the int8 kernels of quantized inference code (cnncc
 * --emit=inference --quantize=int8; docs/inference.md, "int8
 * quantization"): portable C, integer arithmetic but for the float input's
 * quantization and the output's dequantization, one float operation each,
 * so that every compiler and target gives the same bits. Faster versions
 * (AVX2, AVX-512 VNNI, NEON) must give the same results: the int32 sums do
 * not depend on the order, and the requantization is the two steps below,
 * which map one to one to vpmuldq / sqrdmulh + srshl. */

/* A convolution (a dense layer is one of 1 x 1 positions and kernel):
 * weights [oc][ic][kh][kw], requantization per output channel. */
typedef struct {
  int ic, ih, iw, oc, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
  int lo;              /* the lowest output: 0 with a fused ReLU, else -127 */
  const signed char *w;
  const int32_t *b;    /* bias at the scale of input x weight */
  const int32_t *m;    /* requantization multiplier (Q31) and shift per channel */
  const signed char *shift;
  const float *deq;    /* a last layer: float output = acc * deq[c]; else NULL */
} CnnQConv;

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

/* The outputs [*lo, *hi) of an axis (n inputs, on outputs, stride s) whose
 * tap at offset off (tap * dilation - padding) reads inside the input. */
static void cnn_q_span(int off, int n, int on, int s, int *lo, int *hi) {
  *lo = off < 0 ? (-off + s - 1) / s : 0;
  *hi = n - off <= 0 ? 0 : (n - off - 1) / s + 1;
  if (*hi > on) *hi = on;
  if (*lo > *hi) *lo = *hi;
}

/* Output channel o of a convolution: acc (oh * ow int32) = bias + the
 * taps, one weight times a shifted window of the input at a time. */
static void cnn_q_conv_channel(const CnnQConv *c, const signed char *x, int o, int32_t *acc) {
  int npos = c->oh * c->ow;
  for (int j = 0; j < npos; j++) acc[j] = c->b[o];
  for (int ky = 0; ky < c->kh; ky++)
    for (int kx = 0; kx < c->kw; kx++) {
      int y0, y1, x0, x1, offy = ky * c->dh - c->pt, offx = kx * c->dw - c->pl;
      cnn_q_span(offy, c->ih, c->oh, c->sh, &y0, &y1);
      cnn_q_span(offx, c->iw, c->ow, c->sw, &x0, &x1);
      for (int i = 0; i < c->ic; i++) {
        int32_t w = c->w[((o * c->ic + i) * c->kh + ky) * c->kw + kx];
        const signed char *xi = x + (long)i * c->ih * c->iw + (long)offy * c->iw + offx;
        if (!w) continue;
        for (int oy = y0; oy < y1; oy++) {
          const signed char *row = xi + (long)oy * c->sh * c->iw;
          int32_t *a = acc + oy * c->ow;
          for (int ox = x0; ox < x1; ox++) a[ox] += w * row[ox * c->sw];
        }
      }
    }
}

/* The convolution into y (int8) or, for a last layer (deq), into yf. */
static void cnn_q_conv(const CnnQConv *c, const signed char *x, signed char *y, float *yf, int32_t *acc) {
  int npos = c->oh * c->ow;
  for (int o = 0; o < c->oc; o++) {
    cnn_q_conv_channel(c, x, o, acc);
    for (int j = 0; j < npos; j++) {
      if (c->deq) {
        int32_t v = acc[j] < 0 && c->lo == 0 ? 0 : acc[j];
        yf[(long)o * npos + j] = (float)v * c->deq[o];
      } else {
        y[(long)o * npos + j] = cnn_q_clamp(cnn_q_requant(acc[j], c->m[o], c->shift[o]), c->lo);
      }
    }
  }
}

/* Max pooling on int8 (exact: requantization is monotonic): kernel k,
 * stride s, padding p (skipped taps) per axis. */
static void cnn_q_maxpool(const signed char *x, signed char *y, int C, int ih, int iw, int oh, int ow, int kh,
                          int kw, int sh, int sw, int pt, int pl) {
  for (int c = 0; c < C; c++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
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
  for (long i = 0; i < n; i++)
    y[i] = cnn_q_clamp(cnn_q_rshift(cnn_q_requant(a[i], ma, sa) + cnn_q_requant(b[i], mb, sb), 8), lo);
}
