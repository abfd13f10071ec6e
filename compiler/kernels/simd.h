/* ---- the micro-kernels of the matrix products, on SIMD registers ----
 * Written once over the vector vocabulary (vec, VL, vload, vfma, ...) that
 * the register block defines for the instruction set the compiler targets;
 * without SIMD (VL undefined) the portable ones take their place. */
#ifdef VL
/* kernel: c[r][0, NR) = (bias ? bias[r] : add ? c[r][0, NR) : 0) + the sum over kc
 * terms of a[r] * b[0, NR), for the rows r < mr; a advances by MR per term, b by
 * NR. The 2 x mr accumulators stay in registers. */
static ALWAYS_INLINE void kernel(const int mr, int kc, const real *restrict a,
    const real *restrict b, real *restrict c, int ldc, const real *restrict bias, int add) {
  vec acc[MR][2];
  for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = vzero();
  for (int k = 0; k < kc; k++, a += MR, b += NR) {
    const vec b0 = vload(b), b1 = vload(b + VL);
    for (int r = 0; r < mr; r++) {
      const vec ar = vset1(a[r]);
      acc[r][0] = vfma(ar, b0, acc[r][0]);
      acc[r][1] = vfma(ar, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < mr; r++) {
    real *cr = c + (size_t)r * ldc;
    vec c0 = acc[r][0], c1 = acc[r][1];
    if (bias) {
      c0 = vadd(vset1(bias[r]), c0);
      c1 = vadd(vset1(bias[r]), c1);
    } else if (add) {
      c0 = vadd(vload(cr), c0);
      c1 = vadd(vload(cr + VL), c1);
    }
    vstore(cr, c0);
    vstore(cr + VL, c1);
  }
}

/* kernel_xb: the same with the rows of b read in place: term k is x + off[k]
 * (an implicit window matrix), nv registers of it; the tile goes to t (MR
 * rows of NR). */
static ALWAYS_INLINE void kernel_xb(const int mr, const int nv, int kc, const real *restrict a,
    const real *restrict x, const int *restrict off, real *restrict t) {
  vec acc[MR][2];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) acc[r][v] = vzero();
  for (int k = 0; k < kc; k++, a += MR) {
    const real *xk = x + off[k];
    vec bv[2];
    for (int v = 0; v < nv; v++) bv[v] = vload(xk + v * VL);
    for (int r = 0; r < mr; r++) {
      const vec ar = vset1(a[r]);
      for (int v = 0; v < nv; v++) acc[r][v] = vfma(ar, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) vstore(t + r * NR + v * VL, acc[r][v]);
}

/* kernel_xa: the rows of a read in place: row r, term k is x[off[r] + k]; b
 * packed in panels of nv registers; c = (add ? c : 0) + the sum. Up to MR
 * rows with two registers, 12 with one (XA_ROWS). */
static ALWAYS_INLINE void kernel_xa(const int mr, const int nv, int kc, const real *restrict x,
    const int *restrict off, const real *restrict b, real *restrict c, int ldc, int add) {
  const real *ar[12 > MR ? 12 : MR];
  vec acc[12 > MR ? 12 : MR][2];
  for (int r = 0; r < mr; r++) {
    ar[r] = x + off[r];
    for (int v = 0; v < nv; v++) acc[r][v] = vzero();
  }
  for (int k = 0; k < kc; k++, b += nv * VL) {
    vec bv[2];
    for (int v = 0; v < nv; v++) bv[v] = vload(b + v * VL);
    for (int r = 0; r < mr; r++) {
      const vec a = vset1(ar[r][k]);
      for (int v = 0; v < nv; v++) acc[r][v] = vfma(a, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) {
      real *cv = c + (size_t)r * ldc + v * VL;
      vstore(cv, add ? vadd(vload(cv), acc[r][v]) : acc[r][v]);
    }
}
#endif /* VL */
