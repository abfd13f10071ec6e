#ifndef CNNCC_VSIGMOID_1
#define CNNCC_VSIGMOID_1
#if CNNCC_SIMD != 0
static inline cnn_vec cnn_vsigmoid(cnn_vec x) {
  const cnn_vec one = cnn_vset1(1.0f);
  return cnn_vdiv(one, cnn_vadd(one, cnn_vexp(cnn_vsub(cnn_vzero(), x))));
}
#else
#define cnn_vsigmoid(x) (1 / (1 + expf(-(x))))
#endif
#endif
