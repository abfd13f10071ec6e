#ifndef CNNCC_VEXP_1
#define CNNCC_VEXP_1
#if CNNCC_SIMD != 0
static inline cnn_vec cnn_vexp(cnn_vec x) {
  cnn_vec n, y, z;
  x = cnn_vmin(cnn_vmax(x, cnn_vset1(-87.0f)), cnn_vset1(88.0f));
  n = cnn_vround(cnn_vmul(x, cnn_vset1(1.44269504088896341f)));
  x = cnn_vsub(x, cnn_vmul(n, cnn_vset1(0.693359375f)));
  x = cnn_vsub(x, cnn_vmul(n, cnn_vset1(-2.12194440e-4f)));
  z = cnn_vmul(x, x);
  y = cnn_vfma(cnn_vset1(1.9875691500e-4f), x, cnn_vset1(1.3981999507e-3f));
  y = cnn_vfma(y, x, cnn_vset1(8.3334519073e-3f));
  y = cnn_vfma(y, x, cnn_vset1(4.1665795894e-2f));
  y = cnn_vfma(y, x, cnn_vset1(1.6666665459e-1f));
  y = cnn_vfma(y, x, cnn_vset1(5.0000001201e-1f));
  y = cnn_vfma(y, z, cnn_vadd(x, cnn_vset1(1.0f)));
  return cnn_vmul(y, cnn_vpow2n(n));
}
#endif
#endif
