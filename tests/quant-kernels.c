/* quant-kernels.c - checks of compiler/kernels/quant.h for tests/quant.sh:
 * the rounding of the requantization and of the input's quantization
 * against hand-worked values and against exact arithmetic; built with AVX2
 * (-march=native on such a machine) or for aarch64 (NEON, with and without
 * the dot product), the SIMD kernels against quant.h's, bit for bit: the
 * x86 (quant_x86.h) or NEON (quant_neon.h) requantization on random and
 * edge cases (for NEON: ties of both signs, the INT32 limits, every shift
 * and multiplier), and through quant.h's hooks the tile against
 * cnn_q_tile_c, a block's requantized outputs against cnn_q_finish, add,
 * the interleaving and 2 x 2 max pooling against scalar loops; with
 * -include tests/quant-vnni.h too, the tile's AVX-512 VNNI version on a
 * portable vpdpbusd.
 *
 *     cc -Icompiler/kernels tests/quant-kernels.c -lm && ./a.out
 *     aarch64-linux-gnu-gcc -march=armv8.2-a+dotprod -Icompiler/kernels tests/quant-kernels.c -lm &&
 *       qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu ./a.out
 * Prints the failures and exits with 1 if any. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#include "vector.h"
#include "quant_x86.h"
#include "quant_neon.h"
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

#ifdef CNN_Q_SIMD
/* a random int8 value in [lo, 127] */
static signed char q8(int lo) { return (signed char)((int)(next() % (unsigned)(128 - lo)) + lo); }

/* an int32 of any size: random bits shifted right by 0 to 31 */
static int32_t any32(void) { return (int32_t)(next() >> 32) >> (int)(next() % 32); }

/* a multiplier as cnncc makes them, in [2^30, 2^31) */
static int32_t mult(void) { return (int32_t)((1u << 30) + (next() >> 34)); }
#endif

#ifdef CNN_Q_NEON
/* the NEON rounding shift and requantization against quant.h's, on 4
 * values at a time */
static void neon_rshift4(const int32_t *x, int e) {
  int32_t got[4];
  vst1q_s32(got, cnn_q_rshift_neon(vld1q_s32(x), vdupq_n_s32(-e)));
  for (int j = 0; j < 4; j++)
    if (got[j] != cnn_q_rshift(x[j], e)) {
      printf("neon rshift(%ld, %d) = %ld, expected %ld\n", (long)x[j], e, (long)got[j], (long)cnn_q_rshift(x[j], e));
      failures++;
    }
}

static void neon_requant4(const int32_t *x, int32_t m, int shift) {
  int32_t got[4];
  CnnQReqNeon q;
  cnn_q_req_init_neon(&q, 0, m, shift);
  vst1q_s32(got, cnn_q_req_neon(vld1q_s32(x), &q));
  for (int j = 0; j < 4; j++)
    if (got[j] != cnn_q_requant(x[j], m, shift)) {
      printf("neon requant(%ld, %ld, %d) = %ld, expected %ld\n", (long)x[j], (long)m, shift, (long)got[j],
             (long)cnn_q_requant(x[j], m, shift));
      failures++;
    }
}

/* srshl rounds ties up, cnn_q_rshift away from zero: every shift on the
 * ties of both signs and their neighbours, the limits, random values; the
 * requantization with every shift from -30 to 31, the multipliers cnncc
 * makes and any other (0, 1, INT32_MAX, INT32_MIN: sqrdmulh's saturation),
 * accumulators of every size and the limits (the left shift's saturation) */
static void check_neon_requant(void) {
  static const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1,
                                 1 << 30, -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1, 12345, -12345, 127, -127};
  const int nedge = (int)(sizeof edge / sizeof edge[0]);
  static const int32_t mults[] = {0, 1, -1, INT32_MAX, INT32_MIN, 1 << 30, -(1 << 30), (1 << 30) + 1};
  for (int e = 0; e < 32; e++) {
    for (int i = 0; i + 4 <= nedge; i++) neon_rshift4(edge + i, e);
    for (int i = 0; i < 4000; i++) {
      int64_t k = (int64_t)(int32_t)(next() >> 32) >> e, half = e ? (int64_t)1 << (e - 1) : 0, t = k * 2 * half;
      int32_t x[4];
      for (int j = 0; j < 4; j++) { /* a tie (k + 1/2) 2^e, one below and one above, any value */
        int64_t v = j == 3 ? (int64_t)any32() : e ? t + half + j - 1 : k;
        x[j] = (int32_t)(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
      }
      neon_rshift4(x, e);
    }
  }
  for (int shift = -30; shift < 32; shift++) {
    for (int k = 0; k < (int)(sizeof mults / sizeof mults[0]); k++)
      for (int i = 0; i + 4 <= nedge; i++) neon_requant4(edge + i, mults[k], shift);
    for (int i = 0; i < 4000 && failures < 5; i++) {
      int32_t x[4] = {any32(), any32(), any32(), any32()};
      neon_requant4(x, i % 3 ? mult() : (int32_t)(next() >> 32), shift);
    }
  }
  printf("the NEON requantization checked\n");
}
#endif

#ifdef CNN_Q_SIMD
/* the SIMD addition against the scalar one, through quant.h's loop: any
 * length (the SIMD part and the scalar tail) */
static void check_add(void) {
  signed char u[64], v[64], y1[64], y2[64];
  for (int i = 0; i < 2000; i++) {
    int32_t ma = mult(), mb = mult();
    int sa = (int)(next() % 16) - 12, sb = (int)(next() % 16) - 12, lo = i % 2 ? 0 : -127;
    long n = i % 4 ? 64 : (long)(next() % 65);
    for (int j = 0; j < 64; j++) u[j] = q8(-127), v[j] = q8(-127);
    cnn_q_add(u, ma, sa, v, mb, sb, y1, n, lo);
    for (int j = 0; j < n; j++)
      y2[j] = cnn_q_clamp(cnn_q_rshift(cnn_q_requant(u[j], ma, sa) + cnn_q_requant(v[j], mb, sb), 8), lo);
    for (int j = 0; j < n; j++) expect("simd add", y1[j], y2[j]);
  }
}

/* random weights of G groups x 4 channels x 4 bytes, or all sw (the
 * extremes) */
static void random_weights(int32_t *w, int n, int extreme, int sw) {
  for (int j = 0; j < n; j++) {
    uint32_t word = 0;
    for (int b = 0; b < 4; b++) word |= (uint32_t)(uint8_t)(extreme ? (signed char)sw : q8(-127)) << 8 * b;
    w[j] = (int32_t)word;
  }
}

/* the SIMD tile (x86: vpmaddubsw and vpmaddwd, or vpdpbusd with
 * CNN_Q_VNNI; NEON: sdot or smull/sadalp) against cnn_q_tile_c: G groups
 * (odd and even) at random offsets of a panel of int8 values (>= 0 where
 * nonneg says so), 16 and 8 positions; random weights, and the extremes
 * (every product 127 * 127 of either sign: the most an int16 pair holds). */
static void check_tile(void) {
  static signed char panel[4096];
  static int32_t w[4 * 4 * 40];
  int32_t off[40], a[64], want[64];
  for (int i = 0; i < 3000 && failures < 5; i++) {
    int G = 1 + (int)(next() % 40), nonneg = i % 2, np = i % 3 ? 16 : 8, extreme = i % 10 == 9;
    int sx = next() % 2 ? 127 : -127, sw = next() % 2 ? 127 : -127;
    CnnQConv c = {0};
    for (int j = 0; j < 4096; j++) panel[j] = extreme ? (signed char)(nonneg ? 127 : sx) : q8(nonneg ? 0 : -127);
    random_weights(w, 16 * G, extreme, sw);
    for (int g = 0; g < G; g++) off[g] = (int)(next() % (4096 - 64));
    c.G = G, c.w = w, c.off = off;
    for (int ob = 0; ob < 4; ob++) {
      cnn_q_tile_c(&c, panel, ob, np, want);
      cnn_q_tile_simd(w + ob * G * 4, panel, off, G, nonneg, np, a);
      for (int r = 0; r < 4; r++)
        for (int t = 0; t < np; t++) expect("simd tile", a[r * 16 + t], want[r * 16 + t]);
    }
  }
}

/* a block of up to 4 output channels (cnn_q_block_simd: the tile
 * requantized in registers, stored 16 or 8 bytes at a time or byte by
 * byte at the end) against cnn_q_tile_c and cnn_q_finish: rows of 1 to 40
 * positions (the tiles of 16 and 8, the row ends), 1 to 3 rows of the
 * panel rs apart, 1 to 4 channels, any bias, multiplier and shift, lo 0 or
 * -127, the outputs before and after untouched */
static void check_block(void) {
  static signed char panel[3 * 64 * 4 + 8 * 256 + 64], y[4 * 128 + 32], want[4 * 128 + 32];
  int32_t w[4 * 8], off[8], b[4], m[4], a[64];
  signed char shift[4];
  for (int i = 0; i < 2000 && failures < 5; i++) {
    CnnQConv c = {0};
    int nch = 1 + (int)(next() % 4);
    c.G = 1 + (int)(next() % 8), c.rows = 1 + (int)(next() % 3), c.len = 1 + (int)(next() % 40);
    c.rs = c.len + (int)(next() % 8), c.oc = nch, c.oh = c.rows, c.ow = c.len, c.lo = i % 2 ? 0 : -127;
    c.w = w, c.off = off, c.b = b, c.m = m, c.shift = shift;
    long npos = (long)c.oh * c.ow;
    for (int j = 0; j < (int)sizeof panel; j++) panel[j] = q8(-127);
    random_weights(w, 4 * c.G, 0, 0);
    for (int g = 0; g < c.G; g++) off[g] = (int)(next() % 256) * 8;
    for (int r = 0; r < 4; r++) {
      b[r] = any32() >> 12, m[r] = mult();
      shift[r] = (signed char)((int)(next() % 40) - 12);
    }
    for (int j = 0; j < (int)sizeof y; j++) y[j] = want[j] = 99;
    for (int row = 0; row < c.rows; row++)
      for (int t0 = 0, np; t0 < c.len; t0 += np) {
        np = c.len - t0 > 8 ? 16 : 8;
        cnn_q_tile_c(&c, panel + ((long)row * c.rs + t0) * 4, 0, np, a);
        cnn_q_finish(&c, a, 0, (long)row * c.len + t0, c.len - t0 < np ? c.len - t0 : np, want + 16, NULL);
      }
    cnn_q_block_simd(w, off, c.G, 0, panel, c.rows, c.len, c.rs, b, m, shift, nch, c.lo, y + 16, npos);
    for (int j = 0; j < (int)sizeof y; j++) expect("simd block", y[j], want[j]);
  }
}

/* cnn_q_interleave (cnn_q_interleave_simd's steps and the scalar rest)
 * against the layout it writes: column x of channel 4 g + j at 4 x + j;
 * and the windows of a row (plane 1: the 4 bytes from column x on) */
static void check_interleave(void) {
  static signed char x[8 * 6 * 45 + 3], d[4 * 45 + 4];
  for (int i = 0; i < 1000; i++) {
    CnnQConv c = {0};
    c.ic = 4 + (int)(next() % 5), c.ih = 1 + (int)(next() % 6), c.iw = 1 + (int)(next() % 45);
    int g = (int)(next() % (unsigned)(c.ic / 4)), yy = (int)(next() % (unsigned)c.ih), n;
    for (int j = 0; j < (int)sizeof x; j++) x[j] = q8(-127);
    d[4 * c.iw] = 99;
    cnn_q_interleave(&c, x, g, yy, d);
    for (int xx = 0; xx < c.iw; xx++)
      for (int j = 0; j < 4; j++)
        expect("simd interleave", d[xx * 4 + j], x[((g * 4 + j) * c.ih + yy) * c.iw + xx]);
    expect("simd interleave: past the row", d[4 * c.iw], 99);
    n = cnn_q_interleave_simd(x, 1, c.iw, d);
    expect("simd windows: columns", n, c.iw < 4 ? 0 : c.iw);
    for (int xx = 0; xx < n; xx++)
      for (int j = 0; j < 4; j++) expect("simd windows", d[xx * 4 + j], x[xx + j]);
  }
}

/* cnn_q_maxpool's 2 x 2, stride 2 windows (cnn_q_max2_simd's steps and
 * the scalar rest) against the maxima: rows of 1 to 40 outputs, odd and
 * even input widths and heights */
static void check_max2(void) {
  static signed char x[3 * 81 * 81], y[3 * 40 * 40];
  for (int i = 0; i < 300 && failures < 5; i++) {
    int C = 1 + (int)(next() % 3), ih = 2 + (int)(next() % 80), iw = 2 + (int)(next() % 80);
    int oh = ih / 2, ow = iw / 2;
    for (int j = 0; j < C * ih * iw; j++) x[j] = q8(-128 + (int)(next() % 2));
    cnn_q_maxpool(x, y, C, ih, iw, oh, ow, 2, 2, 2, 2, 0, 0);
    for (int k = 0; k < C; k++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          const signed char *p = x + ((long)k * ih + 2 * oy) * iw + 2 * ox;
          int best = p[0] > p[1] ? p[0] : p[1];
          best = best > p[iw] ? best : p[iw];
          best = best > p[iw + 1] ? best : p[iw + 1];
          expect("simd max2", y[((long)k * oh + oy) * ow + ox], best);
        }
  }
}
#endif

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
  printf("the x86 requantization checked\n");
#endif
#ifdef CNN_Q_NEON
  check_neon_requant();
#endif
#ifdef CNN_Q_SIMD
  check_add();
  check_tile();
  check_block();
  check_interleave();
  check_max2();
#ifdef CNN_Q_VNNI
  printf("the SIMD kernels' hooks checked, the tile with vpdpbusd\n");
#else
  printf("the SIMD kernels' hooks checked\n");
#endif
#endif
  (void)cnn_q_maxpool, (void)cnn_q_avgpool, (void)cnn_q_conv, (void)cnn_q_dequantize, (void)cnn_q_tile_c;
  printf("%s\n", failures ? "FAILED" : "all quant.h checks pass");
  return failures != 0;
}
