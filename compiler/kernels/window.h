/* ---- the window copies of the convolutions ----
 * A convolution is a matrix product with its window matrix col: a row per
 * (channel, ky, kx) of the kernel, a column per output position,
 * col(k, p) = x[ch][iy][ix] with k = (ch * kh + ky) * kw + kx, p = oy * ow + ox,
 * iy = oy * sh + ky * dh - pt, ix = ox * sw + kx * dw - pl, and 0 in the padding. */
typedef struct {
  int c, h, w;                        /* the image: channels, height, width */
  int oh, ow;                         /* the window positions */
  int kh, kw, sh, sw, dh, dw, pt, pl; /* kernel, stride, dilation, padding top and left */
} Window;

/* The positions ox in [*lo, *hi) whose tap kx falls inside the image. */
static INLINE void tap_range(const Window *g, int kx, int *lo, int *hi) {
  const int off = kx * g->dw - g->pl;
  int l = 0, h = g->ow;
  while (l < h && l * g->sw + off < 0) l++;
  while (h > l && (h - 1) * g->sw + off >= g->w) h--;
  *lo = l;
  *hi = h;
}

/* col straight into the panels of pack_b: col(k, p) at
 * cp[(p / NR) * NR * K + k * NR + p % NR], K = c * kh * kw. */
static NOINLINE void im2col_panels(const Window *g, real *restrict cp, const real *restrict x) {
  const size_t panel = (size_t)NR * g->c * g->kh * g->kw;
  for (int ch = 0; ch < g->c; ch++)
    for (int ky = 0; ky < g->kh; ky++)
      for (int kx = 0; kx < g->kw; kx++) {
        real *ck = cp + (size_t)((ch * g->kh + ky) * g->kw + kx) * NR;
        const int off = kx * g->dw - g->pl;
        int lo, hi;
        tap_range(g, kx, &lo, &hi);
        for (int oy = 0; oy < g->oh; oy++) {
          const int iy = oy * g->sh + ky * g->dh - g->pt;
          const int in_row = iy >= 0 && iy < g->h;
          const real *xr = x + ((size_t)ch * g->h + (in_row ? iy : 0)) * g->w;
          for (int ox = 0, p = oy * g->ow; ox < g->ow;) { /* runs within one panel */
            const int run = g->ow - ox < NR - p % NR ? g->ow - ox : NR - p % NR;
            real *d = ck + (size_t)(p / NR) * panel + p % NR;
            for (int i = 0; i < run; i++) {
              const int o = ox + i;
              d[i] = in_row && o >= lo && o < hi ? xr[o * g->sw + off] : 0;
            }
            ox += run;
            p += run;
          }
        }
      }
}

/* col transposed (a row per position), into the panels of pack_b:
 * col(k, p) at ct[(k / NR) * NR * P + p * NR + k % NR], P = oh * ow. */
static NOINLINE void im2row_panels(const Window *g, real *restrict ct, const real *restrict x) {
  const int P = g->oh * g->ow;
  for (int ch = 0; ch < g->c; ch++)
    for (int ky = 0; ky < g->kh; ky++)
      for (int kx = 0; kx < g->kw; kx++) {
        const int k = (ch * g->kh + ky) * g->kw + kx, off = kx * g->dw - g->pl;
        real *ck = ct + (size_t)(k / NR) * NR * P + k % NR;
        int lo, hi;
        tap_range(g, kx, &lo, &hi);
        for (int oy = 0; oy < g->oh; oy++) {
          const int iy = oy * g->sh + ky * g->dh - g->pt;
          real *d = ck + (size_t)oy * g->ow * NR;
          if (iy < 0 || iy >= g->h) {
            for (int ox = 0; ox < g->ow; ox++) d[(size_t)ox * NR] = 0;
            continue;
          }
          const real *xr = x + ((size_t)ch * g->h + iy) * g->w;
          for (int ox = 0; ox < g->ow; ox++)
            d[(size_t)ox * NR] = ox >= lo && ox < hi ? xr[ox * g->sw + off] : 0;
        }
      }
}

/* x += col scattered back to the pixels (the adjoint of im2col), for a plain
 * col of K rows of P = oh * ow values */
static NOINLINE void col2im(const Window *g, real *restrict x, const real *restrict col) {
  const int P = g->oh * g->ow;
  for (int ch = 0; ch < g->c; ch++)
    for (int ky = 0; ky < g->kh; ky++)
      for (int kx = 0; kx < g->kw; kx++) {
        const real *ck = col + (size_t)((ch * g->kh + ky) * g->kw + kx) * P;
        const int off = kx * g->dw - g->pl;
        int lo, hi;
        tap_range(g, kx, &lo, &hi);
        for (int oy = 0; oy < g->oh; oy++) {
          const int iy = oy * g->sh + ky * g->dh - g->pt;
          if (iy < 0 || iy >= g->h) continue;
          real *xr = x + ((size_t)ch * g->h + iy) * g->w;
          const real *cr = ck + (size_t)oy * g->ow;
          for (int ox = lo; ox < hi; ox++) xr[ox * g->sw + off] += cr[ox];
        }
      }
}
