/* ---- the micro-kernels of the matrix products, in portable C ----
 * Without SIMD registers (KERNEL_SIMD undefined: double, -DCNNCC_PORTABLE,
 * or neither AVX-512F nor AVX2 with FMA): the SIMD micro-kernels' work in
 * plain C. */
#ifndef KERNEL_SIMD
/* kernel: c[r][0, NR) = (bias ? bias[r] : add ? c[r][0, NR) : 0) + the sum over kc
 * terms of a[r] * b[0, NR), for the rows r < mr; a advances by MR per term, b by
 * NR. The accumulators are a small array that compilers keep in registers. */
static ALWAYS_INLINE void kernel(const int mr, int kc, const real *restrict a,
    const real *restrict b, real *restrict c, int ldc, const real *restrict bias, int add) {
  real acc[MR][NR];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NR; v++) acc[r][v] = 0;
  for (int k = 0; k < kc; k++, a += MR, b += NR)
    for (int r = 0; r < mr; r++) {
      const real ar = a[r];
      for (int v = 0; v < NR; v++) acc[r][v] += ar * b[v];
    }
  for (int r = 0; r < mr; r++) {
    real *cr = c + (size_t)r * ldc;
    for (int v = 0; v < NR; v++) cr[v] = bias ? bias[r] + acc[r][v] : add ? cr[v] + acc[r][v] : acc[r][v];
  }
}

/* kernel_xb: the same with the rows of b read in place: term k is x + off[k]
 * (an implicit window matrix); the tile goes to t (MR x NR). nv is 1. */
static ALWAYS_INLINE void kernel_xb(const int mr, const int nv, int kc, const real *restrict a,
    const real *restrict x, const int *restrict off, real *restrict t) {
  real acc[MR][NR];
  (void)nv;
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NR; v++) acc[r][v] = 0;
  for (int k = 0; k < kc; k++, a += MR) {
    const real *xk = x + off[k];
    for (int r = 0; r < mr; r++) {
      const real ar = a[r];
      for (int v = 0; v < NR; v++) acc[r][v] += ar * xk[v];
    }
  }
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NR; v++) t[r * NR + v] = acc[r][v];
}

/* kernel_xa: the rows of a read in place: row r, term k is x[off[r] + k]; b
 * packed; c = (add ? c : 0) + the sum. nv is 1. */
static ALWAYS_INLINE void kernel_xa(const int mr, const int nv, int kc, const real *restrict x,
    const int *restrict off, const real *restrict b, real *restrict c, int ldc, int add) {
  real acc[MR][NR];
  (void)nv;
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NR; v++) acc[r][v] = 0;
  for (int k = 0; k < kc; k++, b += NR)
    for (int r = 0; r < mr; r++) {
      const real a = x[off[r] + k];
      for (int v = 0; v < NR; v++) acc[r][v] += a * b[v];
    }
  for (int r = 0; r < mr; r++) {
    real *cr = c + (size_t)r * ldc;
    for (int v = 0; v < NR; v++) cr[v] = add ? cr[v] + acc[r][v] : acc[r][v];
  }
}
#endif /* !KERNEL_SIMD */
