/* ---- the micro-kernels of the matrix products, on SIMD registers ----
 * Written once over the vector vocabulary of vector.h (cnn_vec, CNN_VL,
 * cnn_vload, cnn_vfma, ...), where the register block chooses vectors
 * (KERNEL_SIMD, config_float.h); elsewhere the portable ones take their
 * place. */
#ifdef KERNEL_SIMD
/* kernel: c[r][0, NR) = (bias ? bias[r] : add ? c[r][0, NR) : 0) + the sum over kc
 * terms of a[r] * b[0, NR), for the rows r < mr; a advances by MR per term, b by
 * NR. The 2 x mr accumulators stay in registers. */
static ALWAYS_INLINE void kernel(const int mr, int kc, const real *restrict a,
    const real *restrict b, real *restrict c, int ldc, const real *restrict bias, int add) {
  cnn_vec acc[MR][2];
  for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = cnn_vzero();
  for (int k = 0; k < kc; k++, a += MR, b += NR) {
    const cnn_vec b0 = cnn_vload(b), b1 = cnn_vload(b + CNN_VL);
    for (int r = 0; r < mr; r++) {
      const cnn_vec ar = cnn_vset1(a[r]);
      acc[r][0] = cnn_vfma(ar, b0, acc[r][0]);
      acc[r][1] = cnn_vfma(ar, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < mr; r++) {
    real *cr = c + (size_t)r * ldc;
    cnn_vec c0 = acc[r][0], c1 = acc[r][1];
    if (bias) {
      c0 = cnn_vadd(cnn_vset1(bias[r]), c0);
      c1 = cnn_vadd(cnn_vset1(bias[r]), c1);
    } else if (add) {
      c0 = cnn_vadd(cnn_vload(cr), c0);
      c1 = cnn_vadd(cnn_vload(cr + CNN_VL), c1);
    }
    cnn_vstore(cr, c0);
    cnn_vstore(cr + CNN_VL, c1);
  }
}

/* kernel_xb: the same with the rows of b read in place: term k is x + off[k]
 * (an implicit window matrix), nv registers of it; the tile goes to t (MR
 * rows of NR). */
static ALWAYS_INLINE void kernel_xb(const int mr, const int nv, int kc, const real *restrict a,
    const real *restrict x, const int *restrict off, real *restrict t) {
  cnn_vec acc[MR][2];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) acc[r][v] = cnn_vzero();
  for (int k = 0; k < kc; k++, a += MR) {
    const real *xk = x + off[k];
    cnn_vec bv[2];
    for (int v = 0; v < nv; v++) bv[v] = cnn_vload(xk + v * CNN_VL);
    for (int r = 0; r < mr; r++) {
      const cnn_vec ar = cnn_vset1(a[r]);
      for (int v = 0; v < nv; v++) acc[r][v] = cnn_vfma(ar, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) cnn_vstore(t + r * NR + v * CNN_VL, acc[r][v]);
}

/* kernel_xa: the rows of a read in place: row r, term k is x[off[r] + k]; b
 * packed in panels of nv registers; c = (add ? c : 0) + the sum. Up to MR
 * rows with two registers, 12 with one (XA_ROWS). */
static ALWAYS_INLINE void kernel_xa(const int mr, const int nv, int kc, const real *restrict x,
    const int *restrict off, const real *restrict b, real *restrict c, int ldc, int add) {
  const real *ar[12 > MR ? 12 : MR];
  cnn_vec acc[12 > MR ? 12 : MR][2];
  for (int r = 0; r < mr; r++) {
    ar[r] = x + off[r];
    for (int v = 0; v < nv; v++) acc[r][v] = cnn_vzero();
  }
  for (int k = 0; k < kc; k++, b += nv * CNN_VL) {
    cnn_vec bv[2];
    for (int v = 0; v < nv; v++) bv[v] = cnn_vload(b + v * CNN_VL);
    for (int r = 0; r < mr; r++) {
      const cnn_vec a = cnn_vset1(ar[r][k]);
      for (int v = 0; v < nv; v++) acc[r][v] = cnn_vfma(a, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) {
      real *cv = c + (size_t)r * ldc + v * CNN_VL;
      cnn_vstore(cv, add ? cnn_vadd(cnn_vload(cv), acc[r][v]) : acc[r][v]);
    }
}
#endif /* KERNEL_SIMD */
