/* ---- grouped and depthwise convolutions, directly ----
 * A convolution with groups > 1 (depthwise: one input channel per group)
 * does few multiply-adds per value it reads, so it is bound by memory, not
 * arithmetic: im2col and matrix products would move more than they save.
 * These kernels go tap by tap over one sample: for each output channel o and
 * each tap k = (input channel of o's group, ky, kx), the rows of the output
 * plane whose window reads inside the input get a * (a row of the input),
 * on vectors along the row when the stride is 1 (the portable loop is the
 * reference and the fallback). The input gradient scatters the same rows
 * back; the weight gradient is their dot product with dy. */
typedef struct {
  int c, h, w, oc, oh, ow; /* one sample's input and output planes */
  int icg, ocg;            /* channels per group, in and out */
  int kh, kw, sh, sw, dh, dw, pt, pl;
} Grouped;

/* The outputs [*lo, *hi) of an axis (on of them, stride s) whose tap at
 * offset off (kernel position * dilation - padding) reads inside [0, n). */
static ALWAYS_INLINE void grouped_span(int off, int n, int on, int s, int *lo, int *hi) {
  *lo = off >= 0 ? 0 : (-off + s - 1) / s;
  *hi = off >= n ? 0 : (n - 1 - off) / s + 1;
  if (*hi > on) *hi = on;
  if (*hi < *lo) *hi = *lo;
}

/* y[i] += a * x[i * sx] for i < len */
static ALWAYS_INLINE void grouped_axpy_in(real *restrict y, const real *restrict x, int sx, real a, int len) {
  int i = 0;
#ifdef KERNEL_SIMD
  if (sx == 1) {
    const cnn_vec av = cnn_vset1(a);
    for (; i + CNN_VL <= len; i += CNN_VL) cnn_vstore(y + i, cnn_vfma(av, cnn_vload(x + i), cnn_vload(y + i)));
  }
#endif
  for (; i < len; i++) y[i] += a * x[(size_t)i * sx];
}

/* y[i * sy] += a * x[i] for i < len */
static ALWAYS_INLINE void grouped_axpy_out(real *restrict y, int sy, const real *restrict x, real a, int len) {
  int i = 0;
#ifdef KERNEL_SIMD
  if (sy == 1) {
    const cnn_vec av = cnn_vset1(a);
    for (; i + CNN_VL <= len; i += CNN_VL) cnn_vstore(y + i, cnn_vfma(av, cnn_vload(x + i), cnn_vload(y + i)));
  }
#endif
  for (; i < len; i++) y[(size_t)i * sy] += a * x[i];
}

/* the sum of d[i] * x[i * sx] for i < len */
static ALWAYS_INLINE real grouped_dot(const real *restrict d, const real *restrict x, int sx, int len) {
  int i = 0;
  real s = 0;
#ifdef KERNEL_SIMD
  if (sx == 1 && len >= CNN_VL) {
    cnn_vec acc = cnn_vzero();
    for (; i + CNN_VL <= len; i += CNN_VL) acc = cnn_vfma(cnn_vload(d + i), cnn_vload(x + i), acc);
    real lanes[CNN_VL];
    cnn_vstore(lanes, acc);
    for (int l = 0; l < CNN_VL; l++) s += lanes[l];
  }
#endif
  for (; i < len; i++) s += d[i] * x[(size_t)i * sx];
  return s;
}

/* Where tap k of output channel o reads: the input plane of its channel,
 * offset by the tap (the first output row and column's input), and the
 * outputs [ylo, yhi) x [xlo, xhi) it reads inside the input for. */
typedef struct {
  int64_t x0;
  int ylo, yhi, xlo, xhi;
} GroupedTap;

static ALWAYS_INLINE GroupedTap grouped_tap(const Grouped *g, int o, int k) {
  const int c = (o / g->ocg) * g->icg + k / (g->kh * g->kw), ky = k / g->kw % g->kh, kx = k % g->kw;
  const int oy = ky * g->dh - g->pt, ox = kx * g->dw - g->pl;
  GroupedTap t;
  grouped_span(oy, g->h, g->oh, g->sh, &t.ylo, &t.yhi);
  grouped_span(ox, g->w, g->ow, g->sw, &t.xlo, &t.xhi);
  t.x0 = ((int64_t)c * g->h + oy) * g->w + ox;
  return t;
}

/* y = bias + the convolution of one sample x with weight [oc][icg][kh][kw] */
static NOINLINE void grouped_forward(const Grouped *g, const real *restrict x, const real *restrict weight,
    const real *restrict bias, real *restrict y) {
  const int opos = g->oh * g->ow, K = g->icg * g->kh * g->kw;
  for (int o = 0; o < g->oc; o++) {
    real *restrict yo = y + (size_t)o * opos;
    for (int q = 0; q < opos; q++) yo[q] = bias ? bias[o] : 0;
    for (int k = 0; k < K; k++) {
      const GroupedTap t = grouped_tap(g, o, k);
      const real a = weight[(size_t)o * K + k];
      for (int oy = t.ylo; oy < t.yhi; oy++)
        grouped_axpy_in(yo + oy * g->ow + t.xlo, x + (t.x0 + (int64_t)oy * g->sh * g->w + (int64_t)t.xlo * g->sw),
                        g->sw, a, t.xhi - t.xlo);
    }
  }
}

/* dx += the input gradient of one sample from dy */
static NOINLINE void grouped_dx(const Grouped *g, const real *restrict weight, const real *restrict dy,
    real *restrict dx) {
  const int opos = g->oh * g->ow, K = g->icg * g->kh * g->kw;
  for (int o = 0; o < g->oc; o++)
    for (int k = 0; k < K; k++) {
      const GroupedTap t = grouped_tap(g, o, k);
      const real a = weight[(size_t)o * K + k];
      for (int oy = t.ylo; oy < t.yhi; oy++)
        grouped_axpy_out(dx + (t.x0 + (int64_t)oy * g->sh * g->w + (int64_t)t.xlo * g->sw), g->sw,
                         dy + (size_t)o * opos + oy * g->ow + t.xlo, a, t.xhi - t.xlo);
    }
}

/* dw (= or, with add, +=) the weight gradient of one sample */
static NOINLINE void grouped_wgrad(const Grouped *g, const real *restrict x, const real *restrict dy,
    real *restrict dw, int add) {
  const int opos = g->oh * g->ow, K = g->icg * g->kh * g->kw;
  for (int o = 0; o < g->oc; o++)
    for (int k = 0; k < K; k++) {
      const GroupedTap t = grouped_tap(g, o, k);
      real s = 0;
      for (int oy = t.ylo; oy < t.yhi; oy++)
        s += grouped_dot(dy + (size_t)o * opos + oy * g->ow + t.xlo,
                         x + (t.x0 + (int64_t)oy * g->sh * g->w + (int64_t)t.xlo * g->sw), g->sw, t.xhi - t.xlo);
      dw[(size_t)o * K + k] = add ? dw[(size_t)o * K + k] + s : s;
    }
}

/* ---- stride 1: on the padded plane ----
 * With stride 1, output (oy, ox) and tap (ky, kx) read the padded input at
 * (oy + ky dh) wp + ox + kx dw. Numbering the outputs q = oy wp + ox on the
 * padded width (the columns ox >= ow are computed and dropped), a tap is one
 * offset and a channel one run of q: vectors without row ends, the sums in
 * registers over the taps. The padded planes go in the parts' scratch. */
static ALWAYS_INLINE int grouped_hp(const Grouped *g) { return g->oh + (g->kh - 1) * g->dh; }
static ALWAYS_INLINE int grouped_wp(const Grouped *g) { return g->ow + (g->kw - 1) * g->dw; }
static ALWAYS_INLINE int grouped_q(const Grouped *g) { return (g->oh - 1) * grouped_wp(g) + g->ow; }

/* xp = the icg channels of group gi of x, zero-padded to hp x wp */
static void grouped_pad(const Grouped *g, int gi, const real *restrict x, real *restrict xp) {
  const int hp = grouped_hp(g), wp = grouped_wp(g);
  memset(xp, 0, (size_t)g->icg * hp * wp * sizeof *xp);
  for (int c = 0; c < g->icg; c++) {
    const real *restrict xc = x + (size_t)(gi * g->icg + c) * g->h * g->w;
    real *restrict p = xp + ((size_t)c * hp + g->pt) * wp + g->pl;
    for (int y = 0; y < g->h; y++) memcpy(p + (size_t)y * wp, xc + (size_t)y * g->w, g->w * sizeof *p);
  }
}

/* t = output channel o of dy on the padded width (0 in the dropped columns) */
static void grouped_spread(const Grouped *g, const real *restrict dy, int o, real *restrict t) {
  const int wp = grouped_wp(g), q = grouped_q(g);
  const real *restrict d = dy + (size_t)o * g->oh * g->ow;
  for (int i = 0; i < q; i++) t[i] = 0;
  for (int y = 0; y < g->oh; y++) memcpy(t + (size_t)y * wp, d + (size_t)y * g->ow, g->ow * sizeof *t);
}

/* t[q] = bias + the taps of output channel o over the padded group xp */
static ALWAYS_INLINE real grouped_sum1(const Grouped *g, const real *restrict w, const real *restrict xp, int q,
    real b) {
  const int hp = grouped_hp(g), wp = grouped_wp(g);
  for (int c = 0; c < g->icg; c++)
    for (int ky = 0; ky < g->kh; ky++)
      for (int kx = 0; kx < g->kw; kx++)
        b += w[(c * g->kh + ky) * g->kw + kx] * xp[((size_t)c * hp + ky * g->dh) * wp + kx * g->dw + q];
  return b;
}

/* the same sums along q, a tap at a time: portable C that compilers vectorize */
static ALWAYS_INLINE void grouped_sum_runs(const Grouped *g, const real *restrict w, const real *restrict xp, real b,
    real *restrict t, int Q) {
  const int hp = grouped_hp(g), wp = grouped_wp(g);
  for (int q = 0; q < Q; q++) t[q] = b;
  for (int c = 0; c < g->icg; c++)
    for (int ky = 0; ky < g->kh; ky++)
      for (int kx = 0; kx < g->kw; kx++)
        grouped_axpy_in(t, xp + ((size_t)c * hp + ky * g->dh) * wp + kx * g->dw, 1,
                        w[(c * g->kh + ky) * g->kw + kx], Q);
}

static NOINLINE void grouped_forward1(const Grouped *g, const real *restrict x, const real *restrict weight,
    const real *restrict bias, real *restrict y, real *restrict xp, real *restrict t) {
  const int wp = grouped_wp(g), Q = grouped_q(g), K = g->icg * g->kh * g->kw;
  for (int gi = 0; gi < g->oc / g->ocg; gi++) {
    grouped_pad(g, gi, x, xp);
    for (int o = gi * g->ocg; o < (gi + 1) * g->ocg; o++) {
      const real *restrict w = weight + (size_t)o * K;
      const real b = bias ? bias[o] : 0;
#ifdef KERNEL_SIMD
      int q = 0;
      for (; q + CNN_VL <= Q; q += CNN_VL) {
        cnn_vec acc = cnn_vset1(b);
        for (int c = 0; c < g->icg; c++)
          for (int ky = 0; ky < g->kh; ky++) {
            const real *restrict xr = xp + ((size_t)c * grouped_hp(g) + ky * g->dh) * wp + q;
            for (int kx = 0; kx < g->kw; kx++)
              acc = cnn_vfma(cnn_vset1(w[(c * g->kh + ky) * g->kw + kx]), cnn_vload(xr + kx * g->dw), acc);
          }
        cnn_vstore(t + q, acc);
      }
      for (; q < Q; q++) t[q] = grouped_sum1(g, w, xp, q, b);
#else
      grouped_sum_runs(g, w, xp, b, t, Q);
#endif
      real *restrict yo = y + (size_t)o * g->oh * g->ow;
      for (int oy = 0; oy < g->oh; oy++) memcpy(yo + (size_t)oy * g->ow, t + (size_t)oy * wp, g->ow * sizeof *yo);
    }
  }
}

/* One sample's weight gradient into dw (= or, with add, +=) and, with dx,
 * its input gradient added to dx; xp, t and dxp the part's scratch. */
static NOINLINE void grouped_backward1(const Grouped *g, const real *restrict x, const real *restrict dy,
    const real *restrict weight, real *restrict dw, int add, real *restrict dx, real *restrict xp,
    real *restrict t, real *restrict dxp) {
  const int hp = grouped_hp(g), wp = grouped_wp(g), Q = grouped_q(g), K = g->icg * g->kh * g->kw;
  for (int gi = 0; gi < g->oc / g->ocg; gi++) {
    grouped_pad(g, gi, x, xp);
    if (dx) memset(dxp, 0, (size_t)g->icg * hp * wp * sizeof *dxp);
    for (int o = gi * g->ocg; o < (gi + 1) * g->ocg; o++) {
      grouped_spread(g, dy, o, t);
      for (int c = 0; c < g->icg; c++)
        for (int ky = 0; ky < g->kh; ky++)
          for (int kx = 0; kx < g->kw; kx++) {
            const size_t at = ((size_t)c * hp + ky * g->dh) * wp + kx * g->dw;
            const int k = (c * g->kh + ky) * g->kw + kx;
            const real s = grouped_dot(t, xp + at, 1, Q);
            dw[(size_t)o * K + k] = add ? dw[(size_t)o * K + k] + s : s;
            if (dx) grouped_axpy_out(dxp + at, 1, t, weight[(size_t)o * K + k], Q);
          }
    }
    if (!dx) continue;
    for (int c = 0; c < g->icg; c++) {
      real *restrict d = dx + (size_t)(gi * g->icg + c) * g->h * g->w;
      const real *restrict p = dxp + ((size_t)c * hp + g->pt) * wp + g->pl;
      for (int y = 0; y < g->h; y++)
        for (int i = 0; i < g->w; i++) d[(size_t)y * g->w + i] += p[(size_t)y * wp + i];
    }
  }
}
