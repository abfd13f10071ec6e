#ifndef CNNCC_VERF_1
#define CNNCC_VERF_1
#if CNNCC_SIMD != 0
/* erf as a rational function of odd/even polynomials in x (Eigen's and
 * XLA's single-precision fit): within 4e-7 of erff on [-4, 4], and outside
 * it erf is +-1 in float. */
static inline cnn_vec cnn_verf(cnn_vec x) {
  x = cnn_vmin(cnn_vmax(x, cnn_vset1(-4.0f)), cnn_vset1(4.0f));
  const cnn_vec z = cnn_vmul(x, x);
  cnn_vec p = cnn_vfma(cnn_vset1(-2.72614225801306e-10f), z, cnn_vset1(2.77068142495902e-08f));
  p = cnn_vfma(p, z, cnn_vset1(-2.10102402082508e-06f));
  p = cnn_vfma(p, z, cnn_vset1(-5.69250639462346e-05f));
  p = cnn_vfma(p, z, cnn_vset1(-7.34990630326855e-04f));
  p = cnn_vfma(p, z, cnn_vset1(-2.95459980854025e-03f));
  p = cnn_vmul(cnn_vfma(p, z, cnn_vset1(-1.60960333262415e-02f)), x);
  cnn_vec q = cnn_vfma(cnn_vset1(-1.45660718464996e-05f), z, cnn_vset1(-2.13374055278905e-04f));
  q = cnn_vfma(q, z, cnn_vset1(-1.68282697438203e-03f));
  q = cnn_vfma(q, z, cnn_vset1(-7.37332916720468e-03f));
  q = cnn_vfma(q, z, cnn_vset1(-1.42647390514189e-02f));
  return cnn_vdiv(p, q);
}
#else
#define cnn_verf(x) erff(x)
#endif
#endif
