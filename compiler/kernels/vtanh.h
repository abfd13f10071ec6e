#ifndef CNNCC_VTANH_1
#define CNNCC_VTANH_1
#if CNNCC_SIMD != 0
static inline cnn_vec cnn_vtanh(cnn_vec x) {
  const cnn_vec one = cnn_vset1(1.0f), z = cnn_vmul(x, x);
  /* 1 - 2 / (exp(2x) + 1), and near 0 an odd polynomial */
  const cnn_vec big = cnn_vsub(one, cnn_vdiv(cnn_vset1(2.0f), cnn_vadd(cnn_vexp(cnn_vadd(x, x)), one)));
  cnn_vec p = cnn_vfma(cnn_vset1(-5.70498872745e-3f), z, cnn_vset1(2.06390887954e-2f));
  p = cnn_vfma(p, z, cnn_vset1(-5.37397155531e-2f));
  p = cnn_vfma(p, z, cnn_vset1(1.33314422036e-1f));
  p = cnn_vfma(p, z, cnn_vset1(-3.33332819422e-1f));
  p = cnn_vfma(cnn_vmul(p, z), x, x);
  return cnn_vselect_lt(z, cnn_vset1(0.390625f), p, big);
}
#else
#define cnn_vtanh(x) tanhf(x)
#endif
#endif
