/* quant-kernels.c - checks of compiler/kernels/quant.h for tests/quant.sh:
 * the rounding of the requantization and of the input's quantization
 * against hand-worked values and against exact arithmetic; built with AVX2
 * (-march=native on such a machine), the x86 requantization, addition and
 * tile (quant_x86.h) against quant.h's, bit for bit; with -include
 * tests/quant-vnni.h too, the tile's AVX-512 VNNI version on a portable
 * vpdpbusd.
 *
 *     cc -Icompiler/kernels tests/quant-kernels.c -lm && ./a.out
 * Prints the failures and exits with 1 if any. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#include "vector.h"
#include "quant_x86.h"
#include "quant.h"

static int failures;

#ifdef CNN_Q_X86
/* cnn_q_requant(x, m, shift) of 8 int32 with quant_x86.h's vectors */
static __m256i requant_x86(__m256i x, int32_t m, int shift) {
  CnnQReqX86 q;
  cnn_q_req_init_x86(&q, 0, m, shift, INT32_MAX);
  return cnn_q_req_x86(x, &q);
}
#endif

static void expect(const char *what, long got, long want) {
  if (got == want) return;
  printf("%s: %ld, expected %ld\n", what, got, want);
  failures++;
}

static uint64_t state = 88172645463325252u;
static uint64_t next(void) { /* xorshift64 */
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return state;
}

int main(void) {
  /* ties away from zero */
  expect("rshift(5, 1)", cnn_q_rshift(5, 1), 3);
  expect("rshift(-5, 1)", cnn_q_rshift(-5, 1), -3);
  expect("rshift(-4, 1)", cnn_q_rshift(-4, 1), -2);
  expect("rshift(7, 2)", cnn_q_rshift(7, 2), 2);
  expect("rshift(-6, 2)", cnn_q_rshift(-6, 2), -2);
  expect("rshift(-7, 3)", cnn_q_rshift(-7, 3), -1);
  expect("rshift(x, 0)", cnn_q_rshift(-123, 0), -123);
  expect("mulhi(MIN, MIN)", cnn_q_mulhi(INT32_MIN, INT32_MIN), INT32_MAX);
  expect("mulhi(3, 2^30)", cnn_q_mulhi(3, 1 << 30), 2);   /* 1.5 -> 2 */
  expect("mulhi(-3, 2^30)", cnn_q_mulhi(-3, 1 << 30), -1); /* -1.5 -> -1: ties up */
  expect("mulhi(-1, 2^30)", cnn_q_mulhi(-1, 1 << 30), 0);  /* -0.5 -> 0 */
  /* (2^31 - 1) after the saturated shift, times 1/2: 2^30 - 0.5 -> 2^30 */
  expect("requant left shift saturates", cnn_q_requant(INT32_MAX / 2, 1 << 30, -4), 1 << 30);
  /* the two roundings stay within one of the exact quotient */
  for (int i = 0; i < 200000; i++) {
    int32_t acc = (int32_t)(next() >> 40) - (1 << 23);
    int32_t m = (int32_t)((1u << 30) + (next() >> 34));
    int shift = (int)(next() % 20);
    double exact = (double)acc * m / 2147483648.0 / ldexp(1, shift);
    int32_t got = cnn_q_requant(acc, m, shift);
    if (fabs(got - exact) > 1) {
      printf("requant(%ld, %ld, %d) = %ld, exact %.3f\n", (long)acc, (long)m, shift, (long)got, exact);
      failures++;
      break;
    }
  }
  /* the input: round to nearest even, clamped, NaN 0, as nearbyintf */
  float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 200.0f, -200.0f, NAN, 126.5f, 0.49999997f, -126.5f};
  long want[] = {0, 2, 2, 0, -2, 127, -127, 0, 126, 0, -126};
  signed char q[11];
  cnn_q_quantize(x, q, 11, 1.0f);
  for (int i = 0; i < 11; i++) expect("quantize", q[i], want[i]);
  for (int i = 0; i < 200000; i++) {
    float v = (float)((double)(int64_t)(next() >> 11) / 9007199254740992.0 * 300 - 150), r = nearbyintf(v);
    signed char got;
    cnn_q_quantize(&v, &got, 1, 1.0f);
    r = r > 127 ? 127 : r < -127 ? -127 : r;
    if (got != (long)r) {
      printf("quantize(%.9g) = %d, expected %.0f\n", (double)v, got, (double)r);
      failures++;
      break;
    }
  }
  /* add at equal scales: exact; clamped at the fused ReLU's 0 */
  signed char a[2] = {10, -100}, b[2] = {-3, 20}, y[2];
  cnn_q_add(a, 1 << 30, -9, b, 1 << 30, -9, y, 2, -127);
  expect("add 10 + -3", y[0], 7);
  expect("add -100 + 20", y[1], -80);
  cnn_q_add(a, 1 << 30, -9, b, 1 << 30, -9, y, 2, 0);
  expect("add + relu", y[1], 0);
  cnn_q_relu(a, y, 2);
  expect("relu 10", y[0], 10);
  expect("relu -100", y[1], 0);
#ifdef CNN_Q_X86
  /* the x86 requantization: every shift cnncc makes, accumulators of every
   * size, multipliers in [0, 2^31) */
  for (int i = 0; i < 400000 && failures < 5; i++) {
    int32_t acc[8], got[8], m = i % 97 ? (int32_t)((1u << 30) + (next() >> 34)) : (int32_t)(next() >> 33);
    int shift = (int)(next() % 62) - 30;
    for (int j = 0; j < 8; j++) acc[j] = (int32_t)(next() >> 32) >> (int)(next() % 32);
    _mm256_storeu_si256((__m256i *)(void *)got,
                        requant_x86(_mm256_loadu_si256((const __m256i *)(const void *)acc), m, shift));
    for (int j = 0; j < 8; j++)
      if (got[j] != cnn_q_requant(acc[j], m, shift)) {
        printf("x86 requant(%ld, %ld, %d) = %ld, expected %ld\n", (long)acc[j], (long)m, shift, (long)got[j],
               (long)cnn_q_requant(acc[j], m, shift));
        failures++;
      }
  }
  /* the x86 addition against the scalar one, through quant.h's loop */
  signed char u[64], v[64], y1[64], y2[64];
  for (int i = 0; i < 2000; i++) {
    int32_t ma = (int32_t)((1u << 30) + (next() >> 34)), mb = (int32_t)((1u << 30) + (next() >> 34));
    int sa = (int)(next() % 16) - 12, sb = (int)(next() % 16) - 12, lo = i % 2 ? 0 : -127;
    for (int j = 0; j < 64; j++) {
      u[j] = (signed char)((int)(next() % 255) - 127);
      v[j] = (signed char)((int)(next() % 255) - 127);
    }
    cnn_q_add(u, ma, sa, v, mb, sb, y1, 64, lo);
    for (int j = 0; j < 64; j++)
      y2[j] = cnn_q_clamp(cnn_q_rshift(cnn_q_requant(u[j], ma, sa) + cnn_q_requant(v[j], mb, sb), 8), lo);
    for (int j = 0; j < 64; j++) expect("x86 add", y1[j], y2[j]);
  }
  /* the x86 tile (vpmaddubsw and vpmaddwd, or vpdpbusd with CNN_Q_VNNI)
   * against the portable one: 5 groups, inputs >= 0 or of both signs, 16
   * and 8 positions */
  static signed char panel[5 * 256 + 64];
  int32_t off[5], wt[4 * 5], at[64], ac[64];
  for (int i = 0; i < 400 && failures < 5; i++) {
    int nonneg = i % 2, np = i % 4 < 2 ? 16 : 8;
    const CnnQConv c = {.G = 5, .w = wt, .off = off};
    for (int g = 0; g < 5; g++) off[g] = g * 256 + (int)(next() % 48) * 4;
    for (int j = 0; j < (int)sizeof panel; j++)
      panel[j] = (signed char)(nonneg ? (int)(next() % 128) : (int)(next() % 255) - 127);
    for (int j = 0; j < 4 * 5; j++) {
      uint32_t word = 0;
      for (int b = 0; b < 4; b++) word |= (uint32_t)(uint8_t)(signed char)((int)(next() % 255) - 127) << 8 * b;
      wt[j] = (int32_t)word;
    }
    cnn_q_tile_c(&c, panel, 0, np, ac);
    cnn_q_tile_x86(wt, panel, off, 5, nonneg, np, at);
    for (int r = 0; r < 4; r++)
      for (int t = 0; t < np; t++) expect("x86 tile", at[r * 16 + t], ac[r * 16 + t]);
  }
#ifdef CNN_Q_VNNI
  printf("the x86 kernels checked, the tile with vpdpbusd\n");
#else
  printf("the x86 kernels checked\n");
#endif
#endif
  (void)cnn_q_maxpool, (void)cnn_q_avgpool, (void)cnn_q_conv, (void)cnn_q_dequantize, (void)cnn_q_tile_c;
  printf("%s\n", failures ? "FAILED" : "all quant.h checks pass");
  return failures != 0;
}
