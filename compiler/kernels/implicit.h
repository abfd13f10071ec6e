/* ---- convolutions as implicit products ----
 * With the image padded (zeros around) and, for a stride s, split into the
 * planes of every s-th row and column that the kernel's taps read (xp: c x
 * those planes of hp x wp; pad_image), output position (oy, ox) is numbered
 * q = oy * wp + ox, and the
 * window matrix is col(k, q) = xp[off[k] + q] for k = (ch * kh + ky) * kw +
 * kx, with off[k] the tap's plane and its offset in it (a table cnncc
 * prints: cnn_implicit_offsets, plan/train_kernels.c): its rows
 * are stretches of xp, which the kernels read in place instead of copying
 * them out (im2col). Positions with ox >= ow are computed and dropped. The
 * input gradient of a stride-1 convolution is the same with dy padded and
 * the kernel flipped (pack_flipped).
 *
 * Each kernel is written once, as an ALWAYS_INLINE body (name_body) that
 * takes the geometry by pointer. Every layer gets its own functions that
 * call the bodies with its geometry, a static const Implicit, and its taps'
 * offsets, a static const table, both printed by cnncc: inlined there, the
 * C compiler sees the layer's sizes, strides and padding as literals and
 * specializes the loops (divisions by the plane width become
 * multiplications, the tiles' widths and the edge cases are known). With
 * -DCNNCC_GENERIC_KERNELS the layers call the NOINLINE generic kernels
 * (name) instead, which take the same geometry at run time: the reference
 * that the specialized code must match bit for bit (the same operations in
 * the same order). */
#ifdef CNNCC_GENERIC_KERNELS
#define SPECIALIZED(kernel) kernel
#else
#define SPECIALIZED(kernel) kernel##_body
#endif
typedef struct {
  int c, h, w;        /* the image: channels, height, width */
  int oh, ow;         /* the output positions */
  int kh, kw, dh, dw; /* kernel, dilation */
  int sh, sw;         /* stride */
  int pt, pl, hp, wp; /* padding top and left; height and width of a plane */
} Implicit;

/* the positions in padded-width numbering: q < (oh - 1) * wp + ow */
static INLINE int implicit_q(const Implicit *g) { return (g->oh - 1) * g->wp + g->ow; }

/* The phases (rows or columns mod the stride s) that the taps t * d of a
 * kernel of k taps read, and how many there are. */
static INLINE int phase_used(int a, int k, int d, int s) {
  for (int t = 0; t < k; t++)
    if (t * d % s == a) return 1;
  return 0;
}
static INLINE int phase_count(int k, int d, int s) {
  int n = 0;
  for (int p = 0; p < s; p++) n += phase_used(p, k, d, s);
  return n;
}

/* xp = x with zeros around, in planes (c x the used phases, hp x wp each),
 * and NR zeros after it, which the last tiles read. The rows are memset and
 * memcpy, not loops: inlined on a layer's geometry their sizes are literals
 * and they become a few vector moves (as calls, clang's generic pad spent
 * 6% of a ResNet step in memmove on 14-value rows), and gcc 12 -O3 with
 * AVX2 or AVX-512 vectorized the loop form wrongly on a 32 x 14 x 14 image
 * (half the copied values came out 0; tests/build-diff.sh caught it). */
static ALWAYS_INLINE void pad_image_body(const Implicit *g, real *restrict xp, const real *restrict x) {
  const int na = phase_count(g->kh, g->dh, g->sh), nb = phase_count(g->kw, g->dw, g->sw);
  const int planes = g->c * na * nb;
  int pa[g->sh], pb[g->sw]; /* the used phases, in order */
  for (int p = 0, i = 0; p < g->sh; p++)
    if (phase_used(p, g->kh, g->dh, g->sh)) pa[i++] = p;
  for (int p = 0, j = 0; p < g->sw; p++)
    if (phase_used(p, g->kw, g->dw, g->sw)) pb[j++] = p;
  for (int pn = 0; pn < planes; pn++) {
    const int ch = pn / (na * nb), a = pa[pn / nb % na], b = pb[pn % nb];
    for (int y = 0; y < g->hp; y++) {
      real *d = xp + ((size_t)pn * g->hp + y) * g->wp;
      const int iy = y * g->sh + a - g->pt;
      if (iy < 0 || iy >= g->h) {
        memset(d, 0, (size_t)g->wp * sizeof *d);
        continue;
      }
      const real *s = x + ((size_t)ch * g->h + iy) * g->w;
      if (g->sw == 1) {
        memset(d, 0, (size_t)g->pl * sizeof *d);
        memcpy(d + g->pl, s, (size_t)g->w * sizeof *d);
        memset(d + g->pl + g->w, 0, (size_t)(g->wp - g->pl - g->w) * sizeof *d);
      } else {
        for (int i = 0; i < g->wp; i++) {
          const int ix = i * g->sw + b - g->pl;
          d[i] = ix >= 0 && ix < g->w ? s[ix] : 0;
        }
      }
    }
  }
  for (int i = 0; i < NR; i++) xp[(size_t)planes * g->hp * g->wp + i] = 0;
}
static NOINLINE void pad_image(const Implicit *g, real *restrict xp, const real *restrict x) {
  pad_image_body(g, xp, x);
}

/* Where the lanes of the tile of positions q0... go: lane v < width is
 * position q0 + v, kept (bit v of mask) when it is an output position, at
 * compact index idx[v] = oy * ow + ox; the kept lanes' indices run on from
 * dst. */
typedef struct {
  int idx[NR], dst, n0; /* n0: kept lanes among the first NR / 2 */
  unsigned long mask;
} Lanes;

static INLINE void lanes(const Implicit *g, int q0, int width, Lanes *l) {
  const int Q = implicit_q(g);
  l->dst = -1;
  l->n0 = 0;
  l->mask = 0;
  for (int v = 0; v < NR; v++) {
    const int q = q0 + v, ox = q % g->wp;
    l->idx[v] = v < width && q < Q && ox < g->ow ? q / g->wp * g->ow + ox : -1;
    if (l->idx[v] < 0) continue;
    if (l->dst < 0) l->dst = l->idx[v];
    l->mask |= 1ul << v;
    l->n0 += v < NR / 2;
  }
}

#ifdef KERNEL_AVX512
/* y[r][kept lanes] = (bias ? bias[r] : add ? y : 0) + t[r][lanes], r < mr, then
 * max(0, y) with relu: the kept lanes are next to each other in y (compress
 * store) */
static INLINE void put(int mr, const real *restrict t, real *restrict y, int ldy, const Lanes *l,
    const real *restrict bias, int add, int relu) {
  const __mmask16 m0 = (__mmask16)l->mask, m1 = (__mmask16)(l->mask >> 16);
  /* the first n lanes: compress and expand in registers, then a plain masked
   * store or load (the memory forms of vcompressps/vexpandps are microcoded
   * on AMD Zen 4, about a hundred cycles each) */
  const __mmask16 k0 = (__mmask16)((1u << __builtin_popcount(m0)) - 1),
                  k1 = (__mmask16)((1u << __builtin_popcount(m1)) - 1);
  if (l->dst < 0) return;
  for (int r = 0; r < mr; r++) {
    real *y0 = y + (size_t)r * ldy + l->dst, *y1 = y0 + l->n0;
    cnn_vec v0 = cnn_vload(t + r * NR), v1 = cnn_vload(t + r * NR + CNN_VL);
    if (bias) {
      v0 = cnn_vadd(cnn_vset1(bias[r]), v0);
      v1 = cnn_vadd(cnn_vset1(bias[r]), v1);
    } else if (add) {
      v0 = cnn_vadd(_mm512_maskz_expand_ps(m0, _mm512_maskz_loadu_ps(k0, y0)), v0);
      v1 = cnn_vadd(_mm512_maskz_expand_ps(m1, _mm512_maskz_loadu_ps(k1, y1)), v1);
    }
    if (relu) { /* max(v, 0) is 0 for NaN, as v > 0 ? v : 0 */
      v0 = cnn_vmax(v0, cnn_vzero());
      v1 = cnn_vmax(v1, cnn_vzero());
    }
    _mm512_mask_storeu_ps(y0, k0, _mm512_maskz_compress_ps(m0, v0));
    _mm512_mask_storeu_ps(y1, k1, _mm512_maskz_compress_ps(m1, v1));
  }
}
#else
/* y[r][kept lanes] = (bias ? bias[r] : add ? y : 0) + t[r][lanes], r < mr, then
 * max(0, y) with relu */
static INLINE void put(int mr, const real *restrict t, real *restrict y, int ldy, const Lanes *l,
    const real *restrict bias, int add, int relu) {
  for (int r = 0; r < mr; r++) {
    real *yr = y + (size_t)r * ldy;
    for (int v = 0; v < NR; v++) {
      if (l->idx[v] < 0) continue;
      real *yv = yr + l->idx[v];
      const real s = bias ? bias[r] + t[r * NR + v] : add ? *yv + t[r * NR + v] : t[r * NR + v];
      *yv = relu ? (s > 0 ? s : 0) : s;
    }
  }
}
#endif

/* One tile of the product with col read in place: mr rows, nv registers
 * (kernel_xb), into t. */
static INLINE void tile_xb(int mr, int nv, int kc, const real *restrict a, const real *restrict x,
    const int *restrict off, real *restrict t) {
  (void)nv; /* NV_MAX 1: always 1 */
#if NV_MAX > 1
  if (nv < NV_MAX) {
    switch (mr) {
    case 1: kernel_xb(1, 1, kc, a, x, off, t); break;
    case 2: kernel_xb(2, 1, kc, a, x, off, t); break;
    case 3: kernel_xb(3, 1, kc, a, x, off, t); break;
    case 4: kernel_xb(4, 1, kc, a, x, off, t); break;
    case 5: kernel_xb(5, 1, kc, a, x, off, t); break;
#if MR > 6
    case 6: kernel_xb(6, 1, kc, a, x, off, t); break;
    case 7: kernel_xb(7, 1, kc, a, x, off, t); break;
#endif
    default: kernel_xb(MR, 1, kc, a, x, off, t); break;
    }
    return;
  }
#endif
  switch (mr) {
  case 1: kernel_xb(1, NV_MAX, kc, a, x, off, t); break;
  case 2: kernel_xb(2, NV_MAX, kc, a, x, off, t); break;
  case 3: kernel_xb(3, NV_MAX, kc, a, x, off, t); break;
#if MR > 4
  case 4: kernel_xb(4, NV_MAX, kc, a, x, off, t); break;
  case 5: kernel_xb(5, NV_MAX, kc, a, x, off, t); break;
#endif
#if MR > 6
  case 6: kernel_xb(6, NV_MAX, kc, a, x, off, t); break;
  case 7: kernel_xb(7, NV_MAX, kc, a, x, off, t); break;
#endif
  default: kernel_xb(MR, NV_MAX, kc, a, x, off, t); break;
  }
}

/* One tile of positions (q0, nv registers) and terms (k0, kc) of
 * conv_implicit for all m rows: the slivers of MR rows, then the last,
 * shorter one, each a call of its own so that, with m known, every tile_xb
 * has a constant row count (one kernel each, not all of tile_xb's). */
static ALWAYS_INLINE void implicit_tile(int m, int nv, int k0, int kc, const real *restrict ap,
    const Implicit *g, const int *restrict off, const real *restrict xp, int q0, const Lanes *l,
    real *restrict y, int ldy, const real *restrict bias, int add, int relu) {
  const int K = g->c * g->kh * g->kw, last = k0 + kc == K;
  real t[MR * NR];
  int i = 0;
  for (; i + MR <= m; i += MR) {
    tile_xb(MR, nv, kc, ap + (size_t)i * K + (size_t)k0 * MR, xp + q0, off + k0, t);
    put(MR, t, y + (size_t)i * ldy, ldy, l, bias && k0 == 0 ? bias + i : NULL, add || k0 > 0, relu && last);
  }
  if (i == m) return;
  tile_xb(m - i, nv, kc, ap + (size_t)i * K + (size_t)k0 * MR, xp + q0, off + k0, t);
  put(m - i, t, y + (size_t)i * ldy, ldy, l, bias && k0 == 0 ? bias + i : NULL, add || k0 > 0, relu && last);
}

/* y (m rows of oh * ow values, ldy apart) = (bias ? bias[i] : add ? y : 0) +
 * a * col, then max(0, y) with relu, for a packed by pack_a (m x c * kh * kw)
 * and col in xp. The last positions take a narrow tile (one register) when
 * they fit in one. */
static ALWAYS_INLINE void conv_implicit_body(int m, const real *restrict ap, const Implicit *g,
    const int *restrict off, const real *restrict xp, real *restrict y, int ldy,
    const real *restrict bias, int add, int relu) {
  const int K = g->c * g->kh * g->kw, Q = implicit_q(g);
  Lanes l;
  int q0 = 0;
  for (; Q - q0 > WV; q0 += NR) {
    lanes(g, q0, NR, &l);
    for (int k0 = 0; k0 < K; k0 += KC)
      implicit_tile(m, NV_MAX, k0, K - k0 < KC ? K - k0 : KC, ap, g, off, xp, q0, &l, y, ldy, bias, add, relu);
  }
  if (q0 == Q) return;
  lanes(g, q0, WV, &l);
  for (int k0 = 0; k0 < K; k0 += KC)
    implicit_tile(m, 1, k0, K - k0 < KC ? K - k0 : KC, ap, g, off, xp, q0, &l, y, ldy, bias, add, relu);
}
static NOINLINE void conv_implicit(int m, const real *restrict ap, const Implicit *g,
    const int *restrict off, const real *restrict xp, real *restrict y, int ldy,
    const real *restrict bias, int add, int relu) {
  conv_implicit_body(m, ap, g, off, xp, y, ldy, bias, add, relu);
}

/* The registers per panel (nv) of an operand with m columns for the weight
 * gradient: narrow panels (one register) when they waste much less. */
static INLINE int panel_nv(int m) {
#if NV_MAX > 1
  const int narrow = (m + WV - 1) / WV * WV, wide = (m + NR - 1) / NR * NR;
  return 100 * wide >= 115 * narrow ? 1 : NV_MAX;
#else
  (void)m;
  return 1;
#endif
}

/* bp: dy (m rows of oh * ow values) as the Q x m matrix B(q, o) = dy[o][q] in
 * padded-width numbering, 0 at the dropped positions, in panels as pack_b of
 * w = panel_nv(m) * WV columns */
static ALWAYS_INLINE void pack_dy_body(int m, const real *restrict dy, const Implicit *g, real *restrict bp) {
  const int Q = implicit_q(g), P = g->oh * g->ow, w = panel_nv(m) * WV;
  for (int j0 = 0; j0 < m; j0 += w) {
    const int nr = m - j0 < w ? m - j0 : w;
    const real *dyj = dy + (size_t)j0 * P;
    real *d = bp + (size_t)j0 * Q;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        real *dq = d + (size_t)(oy * g->wp + ox) * w;
        const real *s = dyj + oy * g->ow + ox;
        for (int v = 0; v < w; v++) dq[v] = v < nr ? s[(size_t)v * P] : 0;
      }
      for (int q = oy * g->wp + g->ow; q < (oy + 1) * g->wp && q < Q; q++) /* dropped */
        for (int v = 0; v < w; v++) d[(size_t)q * w + v] = 0;
    }
  }
}
static NOINLINE void pack_dy(int m, const real *restrict dy, const Implicit *g, real *restrict bp) {
  pack_dy_body(m, dy, g, bp);
}

/* Rows of a tile of the weight gradient with narrow panels (one register). */
#define XA_ROWS 12

/* A tile of the weight gradient: mr rows of a read in place, nr <= nv * WV
 * columns (kernel_xa). */
static INLINE void tile_xa(int mr, int nv, int nr, int kc, const real *restrict x,
    const int *restrict off, const real *restrict b, real *restrict c, int ldc, int add) {
  real buf[2 * MR * NR];
  const int w = nv * WV, whole = nr == w;
  real *t = whole ? c : buf;
  const int ldt = whole ? ldc : w, tadd = whole && add;
#if NV_MAX > 1
  if (nv < NV_MAX) {
    switch (mr) {
    case 1: kernel_xa(1, 1, kc, x, off, b, t, ldt, tadd); break;
    case 2: kernel_xa(2, 1, kc, x, off, b, t, ldt, tadd); break;
    case 3: kernel_xa(3, 1, kc, x, off, b, t, ldt, tadd); break;
    case 4: kernel_xa(4, 1, kc, x, off, b, t, ldt, tadd); break;
    case 5: kernel_xa(5, 1, kc, x, off, b, t, ldt, tadd); break;
    case 6: kernel_xa(6, 1, kc, x, off, b, t, ldt, tadd); break;
    case 7: kernel_xa(7, 1, kc, x, off, b, t, ldt, tadd); break;
    case 8: kernel_xa(8, 1, kc, x, off, b, t, ldt, tadd); break;
    case 9: kernel_xa(9, 1, kc, x, off, b, t, ldt, tadd); break;
    case 10: kernel_xa(10, 1, kc, x, off, b, t, ldt, tadd); break;
    case 11: kernel_xa(11, 1, kc, x, off, b, t, ldt, tadd); break;
    default: kernel_xa(XA_ROWS, 1, kc, x, off, b, t, ldt, tadd); break;
    }
  } else
#endif
    switch (mr) {
    case 1: kernel_xa(1, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
    case 2: kernel_xa(2, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
    case 3: kernel_xa(3, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
#if MR > 4
    case 4: kernel_xa(4, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
    case 5: kernel_xa(5, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
#endif
#if MR > 6
    case 6: kernel_xa(6, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
    case 7: kernel_xa(7, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
#endif
    default: kernel_xa(MR, NV_MAX, kc, x, off, b, t, ldt, tadd); break;
    }
  if (whole) return;
  for (int r = 0; r < mr; r++) {
    real *cr = c + (size_t)r * ldc;
    const real *br = buf + r * w;
    for (int v = 0; v < nr; v++) cr[v] = add ? cr[v] + br[v] : br[v];
  }
}

/* The weight gradient, transposed: dwt[k][o] (k < c * kh * kw, o < m, rows m
 * apart) = (add ? dwt : 0) + the sum over positions q of col(k, q) * B(q, o),
 * for col in xp and B packed by pack_dy. */
static ALWAYS_INLINE void conv_implicit_wgrad_body(int m, const real *restrict bp, const Implicit *g,
    const int *restrict off, const real *restrict xp, real *restrict dwt, int add) {
  const int K = g->c * g->kh * g->kw, Q = implicit_q(g), nv = panel_nv(m), w = nv * WV;
  const int rows = nv == NV_MAX ? MR : XA_ROWS;
  for (int q0 = 0; q0 < Q; q0 += KC) {
    const int qc = Q - q0 < KC ? Q - q0 : KC;
    for (int j = 0; j < m; j += w) {
      const int nr = m - j < w ? m - j : w;
      const real *b = bp + (size_t)j * Q + (size_t)q0 * w;
      int i = 0; /* whole tiles of rows, then the rest: constant row counts (implicit_tile) */
      for (; i + rows <= K; i += rows)
        tile_xa(rows, nv, nr, qc, xp + q0, off + i, b, dwt + (size_t)i * m + j, m, add || q0 > 0);
      if (i < K) tile_xa(K - i, nv, nr, qc, xp + q0, off + i, b, dwt + (size_t)i * m + j, m, add || q0 > 0);
    }
  }
}
static NOINLINE void conv_implicit_wgrad(int m, const real *restrict bp, const Implicit *g,
    const int *restrict off, const real *restrict xp, real *restrict dwt, int add) {
  conv_implicit_wgrad_body(m, bp, g, off, xp, dwt, add);
}

/* dw[o][k] += the parts' transposed gradients dwt[k][o] (m outputs, K rows),
 * added in part order */
static INLINE void add_parts_t(real *restrict dw, int m, int K, int n) {
  share_part_gradients(n, (long)m * K);
  const real *d[PARTS];
  const int np = part_gradients(n, d);
  PARALLEL_FOR_IF((long)m * K > 16384)
  for (int o = 0; o < m; o++)
    for (int k = 0; k < K; k++) {
      real s = d[0][(size_t)k * m + o];
      for (int q = 1; q < np; q++) s += d[q][(size_t)k * m + o];
      dw[(size_t)o * K + k] += s;
    }
}

/* ap: the weight w [m][c][kh][kw] as the c x (m * kh * kw) matrix of the input
 * gradient, a(i, (o * kh + ky) * kw + kx) = w[o][i][kh - 1 - ky][kw - 1 - kx],
 * packed as by pack_a */
static NOINLINE void pack_flipped(int m, int c, int kh, int kw, const real *restrict w,
    real *restrict ap) {
  const int K = m * kh * kw;
  for (int i0 = 0; i0 < c; i0 += MR) {
    real *d = ap + (size_t)i0 * K;
    for (int o = 0; o < m; o++)
      for (int ky = 0; ky < kh; ky++)
        for (int kx = 0; kx < kw; kx++) {
          real *dk = d + (size_t)((o * kh + ky) * kw + kx) * MR;
          for (int r = 0; r < MR; r++)
            dk[r] = i0 + r < c ? w[(((size_t)o * c + i0 + r) * kh + kh - 1 - ky) * kw + kw - 1 - kx] : 0;
        }
  }
}

/* ---- small weight gradients along the positions ----
 * With few output channels the weight gradient dw[o][k] = sum over q of
 * dy(o, q) * col(k, q) runs along the positions q instead: dy's rows (in
 * padded-width numbering: pad_dy) and col's rows (in xp) are both stretches
 * of memory, read a register at a time, and the products go lane by lane
 * into dwv[o][k][0, WV), over all the samples of a part; add_parts_dot adds
 * the lanes, then the parts, in order. No lane is wasted on missing
 * channels, and dy needs no transposing. Without SIMD: pack_dy and
 * conv_implicit_wgrad (dwv then holds dw transposed). */

/* dq: the m rows of dy in padded-width numbering, rows ldq (Q rounded up to
 * WV) apart, 0 at the dropped positions and after Q */
static ALWAYS_INLINE void pad_dy(int m, const real *restrict dy, const Implicit *g, real *restrict dq) {
  const int Q = implicit_q(g), ldq = (Q + WV - 1) / WV * WV;
  for (int o = 0; o < m; o++) {
    real *d = dq + (size_t)o * ldq;
    const real *s = dy + (size_t)o * g->oh * g->ow;
    int q = 0;
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->wp && q < ldq; ox++, q++) d[q] = ox < g->ow ? s[oy * g->ow + ox] : 0;
    for (; q < ldq; q++) d[q] = 0;
  }
}

#ifdef KERNEL_SIMD
/* dwv[o][k][lanes] = (add ? dwv : 0) + the products of row o of dq and the
 * row of col at x + off[k], nq registers along q, for o < mo <= 4, k < mk <= 5 */
static ALWAYS_INLINE void kernel_dot(const int mo, const int mk, int nq, const real *restrict dq, int ldq,
    const real *restrict x, const int *restrict off, real *restrict dwv, int ldw, int add) {
  cnn_vec acc[4][5];
  for (int o = 0; o < mo; o++)
    for (int k = 0; k < mk; k++)
      acc[o][k] = add ? cnn_vload(dwv + (size_t)o * ldw + k * CNN_VL) : cnn_vzero();
  for (int j = 0; j < nq; j++) {
    cnn_vec d[4], c[5];
    for (int o = 0; o < mo; o++) d[o] = cnn_vload(dq + (size_t)o * ldq + j * CNN_VL);
    for (int k = 0; k < mk; k++) c[k] = cnn_vload(x + off[k] + j * CNN_VL);
    for (int o = 0; o < mo; o++)
      for (int k = 0; k < mk; k++) acc[o][k] = cnn_vfma(d[o], c[k], acc[o][k]);
  }
  for (int o = 0; o < mo; o++)
    for (int k = 0; k < mk; k++) cnn_vstore(dwv + (size_t)o * ldw + k * CNN_VL, acc[o][k]);
}
#endif

#ifdef KERNEL_SIMD
/* kernel_dot with mo and mk as constants, picked from their run-time values
 * (a constant mo * 8 + mk leaves one case) */
static ALWAYS_INLINE void dot_block(int mo, int mk, int nq, const real *restrict d, int ldq,
    const real *restrict x, const int *restrict off, real *restrict w, int ldw, int add) {
#define DOT(a, b) kernel_dot(a, b, nq, d, ldq, x, off, w, ldw, add)
  switch (mo * 8 + mk) {
  case 8 + 1: DOT(1, 1); break;
  case 8 + 2: DOT(1, 2); break;
  case 8 + 3: DOT(1, 3); break;
  case 8 + 4: DOT(1, 4); break;
  case 8 + 5: DOT(1, 5); break;
  case 16 + 1: DOT(2, 1); break;
  case 16 + 2: DOT(2, 2); break;
  case 16 + 3: DOT(2, 3); break;
  case 16 + 4: DOT(2, 4); break;
  case 16 + 5: DOT(2, 5); break;
  case 24 + 1: DOT(3, 1); break;
  case 24 + 2: DOT(3, 2); break;
  case 24 + 3: DOT(3, 3); break;
  case 24 + 4: DOT(3, 4); break;
  case 24 + 5: DOT(3, 5); break;
  case 32 + 1: DOT(4, 1); break;
  case 32 + 2: DOT(4, 2); break;
  case 32 + 3: DOT(4, 3); break;
  case 32 + 4: DOT(4, 4); break;
  default: DOT(4, 5); break;
  }
#undef DOT
}

/* The mo rows of dq from output channel o against all K rows of col: whole
 * blocks of 5, then the rest (constant block sizes, as implicit_tile) */
static ALWAYS_INLINE void dot_rows(int mo, int o, int K, int nq, const real *restrict dq, int ldq,
    const real *restrict xp, const int *restrict off, real *restrict dwv, int add) {
  const real *d = dq + (size_t)o * ldq;
  int k = 0;
  for (; k + 5 <= K; k += 5) dot_block(mo, 5, nq, d, ldq, xp, off + k, dwv + ((size_t)o * K + k) * CNN_VL, K * CNN_VL, add);
  if (k < K) dot_block(mo, K - k, nq, d, ldq, xp, off + k, dwv + ((size_t)o * K + k) * CNN_VL, K * CNN_VL, add);
}
#endif

/* One sample's weight gradient into the part's dwv (add: after the part's
 * first sample), for m output channels; xp holds the padded image, dq is
 * scratch. */
static ALWAYS_INLINE void conv_wgrad_dot_body(int m, const real *restrict dy, const Implicit *g,
    const int *restrict off, const real *restrict xp, real *restrict dq, real *restrict dwv, int add) {
#ifdef KERNEL_SIMD
  const int K = g->c * g->kh * g->kw, ldq = (implicit_q(g) + WV - 1) / WV * WV, nq = ldq / CNN_VL;
  pad_dy(m, dy, g, dq);
  int o = 0;
  for (; o + 4 <= m; o += 4) dot_rows(4, o, K, nq, dq, ldq, xp, off, dwv, add);
  if (o < m) dot_rows(m - o, o, K, nq, dq, ldq, xp, off, dwv, add);
#else
  pack_dy_body(m, dy, g, dq);
  conv_implicit_wgrad_body(m, dq, g, off, xp, dwv, add);
#endif
}
static NOINLINE void conv_wgrad_dot(int m, const real *restrict dy, const Implicit *g,
    const int *restrict off, const real *restrict xp, real *restrict dq, real *restrict dwv, int add) {
  conv_wgrad_dot_body(m, dy, g, off, xp, dq, dwv, add);
}

/* dw[o][k] += the parts' dwv[o][k]: the lanes added in order, then the parts
 * in order */
static INLINE void add_parts_dot(real *restrict dw, int m, int K, int n) {
#ifdef KERNEL_SIMD
  share_part_gradients(n, (long)m * K * CNN_VL);
  const real *d[PARTS];
  const int np = part_gradients(n, d);
  PARALLEL_FOR_IF((long)m * K > 4096)
  for (int i = 0; i < m * K; i++) {
    real s = 0;
    for (int q = 0; q < np; q++) {
      const real *v = d[q] + (size_t)i * CNN_VL;
      real t = v[0];
      for (int l = 1; l < CNN_VL; l++) t += v[l];
      s = q ? s + t : t;
    }
    dw[i] += s;
  }
#else
  add_parts_t(dw, m, K, n);
#endif
}
