/* kernel-checks.c - the kernels of the generated code (the headers of
 * compiler/kernels/, included here directly) against naive loops, for
 * tests/kernels. The build compiles this file once per
 * configuration, each into a library of its own, with CHECKS naming its
 * table of checks (kernel-checks.h):
 *
 *   -DCNNCC_PORTABLE   portable C            kernel_checks_portable
 *   -mavx2 -mfma       AVX2 with FMA         kernel_checks_avx2
 *   -mavx512f          AVX-512F              kernel_checks_avx512
 *   -DKERNELS_DOUBLE   double (portable C)   kernel_checks_double
 *   aarch64 (NEON)     NEON                  kernel_checks_neon (tests/neon.sh)
 *
 * and so with the warnings of the project (-Wall -Wextra) on the headers.
 *
 * Every value is a small whole number, so that the sums are exact in any
 * order, with or without fused multiply-adds: a kernel and its loop agree
 * bit for bit. The sizes are ragged: from 1 to one past each blocking size
 * (MR rows, NR columns, the register width, KC terms), and past twice. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-checks.h"

/* What the generated file defines before the kernels (emit/train.c). */
#ifdef KERNELS_DOUBLE
typedef double real;
#else
typedef float real;
#endif
#define PARTS 4 /* CNN_PARTS, compiler/emit/kernels.h */

/* The vector vocabulary, which the inference code shares (float only): in
 * plain C here for the portable build, on SSE2 for the double one (x86). */
#ifdef CNNCC_PORTABLE
#define CNNCC_SIMD 0
#elif defined(KERNELS_DOUBLE) && defined(__SSE2__)
#define CNNCC_SIMD 1
#endif
#include "kernels/threads.h"
#include "kernels/vector.h"
#ifdef KERNELS_DOUBLE
#include "kernels/config_double.h"
#else
#include "kernels/config_float.h"
#endif
#include "kernels/pool.h"

/* the generated file's sum() and the parts' scratch, which gemm.h uses */
static INLINE real sum(const real *restrict a, int n) {
  real s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  return s;
}
static struct {
  real *dw;
} part[PARTS];

#include "kernels/simd.h"
#include "kernels/portable.h"
#include "kernels/gemm.h"
#include "kernels/implicit.h"
#include "kernels/window.h"

/* the inference code's vector functions */
#include "kernels/vsum.h"
#include "kernels/vexp.h"
#include "kernels/vsigmoid.h"
#include "kernels/vtanh.h"
#include "kernels/verf.h"

/* ---- data ---- */

static uint64_t seed = 1;

/* a whole number in [-3, 3] */
static real small(void) {
  seed = seed * 6364136223846793005u + 1442695040888963407u;
  return (real)((int)(seed >> 33) % 7 - 3);
}

static real *new_reals(size_t n) {
  real *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    fprintf(stderr, "kernel-checks: out of memory\n");
    exit(99);
  }
  for (size_t i = 0; i < n; i++) p[i] = small();
  return p;
}

static int round_up(int n, int m) { return (n + m - 1) / m * m; }

/* x[0, n) == want[0, n) bit for bit (NaNs too); else why says where */
static int same(const real *x, const real *want, size_t n, char *why, size_t size, const char *what) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(&x[i], &want[i], sizeof x[i])) {
      snprintf(why, size, "%s: [%zu] is %g, the loop's %g", what, i, (double)x[i], (double)want[i]);
      return 0;
    }
  return 1;
}

/* ---- the choice of micro-kernels ---- */

/* KERNEL_ISA is the build's WANT_ISA: vectors with AVX-512F, AVX2 + FMA or NEON
 * only, portable C with -DCNNCC_PORTABLE and in double */
static int check_isa(char *why, size_t size) {
  if (!strcmp(KERNEL_ISA, WANT_ISA)) return 1;
  snprintf(why, size, "KERNEL_ISA is %s", KERNEL_ISA);
  return 0;
}

/* ---- packing ---- */

/* pack_a and pack_b, rows and columns from 1 to past two slivers or
 * panels, the matrix read by rows and by columns */
static int check_pack_a(char *why, size_t size) {
  for (int m = 1; m <= 2 * MR + 1; m++)
    for (int k = 1; k <= 5; k += 2)
      for (int by_rows = 0; by_rows < 2; by_rows++) {
        const int rs = by_rows ? k : 1, cs = by_rows ? 1 : m, n = round_up(m, MR) * k;
        real *a = new_reals((size_t)m * k), *ap = new_reals((size_t)n), *want = new_reals((size_t)n);
        for (int i = 0; i < round_up(m, MR); i++)
          for (int j = 0; j < k; j++)
            want[(i / MR) * MR * k + j * MR + i % MR] = i < m ? a[i * rs + j * cs] : 0;
        pack_a(m, k, a, rs, cs, ap);
        char what[64];
        snprintf(what, sizeof what, "m %d, k %d, rs %d, cs %d", m, k, rs, cs);
        const int ok = same(ap, want, (size_t)n, why, size, what);
        free(a), free(ap), free(want);
        if (!ok) return 0;
      }
  return 1;
}

static int check_pack_b(char *why, size_t size) {
  for (int n = 1; n <= 2 * NR + 1; n++)
    for (int k = 1; k <= 5; k += 2)
      for (int by_rows = 0; by_rows < 2; by_rows++) {
        const int rs = by_rows ? n : 1, cs = by_rows ? 1 : k, count = round_up(n, NR) * k;
        real *b = new_reals((size_t)k * n), *bp = new_reals((size_t)count), *want = new_reals((size_t)count);
        for (int i = 0; i < k; i++)
          for (int j = 0; j < round_up(n, NR); j++)
            want[(j / NR) * NR * k + i * NR + j % NR] = j < n ? b[i * rs + j * cs] : 0;
        pack_b(k, n, b, rs, cs, bp);
        char what[64];
        snprintf(what, sizeof what, "k %d, n %d, rs %d, cs %d", k, n, rs, cs);
        const int ok = same(bp, want, (size_t)count, why, size, what);
        free(b), free(bp), free(want);
        if (!ok) return 0;
      }
  return 1;
}

/* ap: the weights w [m][c][kh][kw] flipped and transposed, as pack_a packs */
static int check_pack_flipped(char *why, size_t size) {
  const int taps[][2] = {{1, 1}, {3, 3}, {1, 5}};
  for (int m = 1; m <= MR + 1; m++)
    for (int c = 1; c <= 2 * MR + 1; c++)
      for (int t = 0; t < 3; t++) {
        const int kh = taps[t][0], kw = taps[t][1], K = m * kh * kw, n = round_up(c, MR) * K;
        real *w = new_reals((size_t)m * c * kh * kw), *ap = new_reals((size_t)n), *want = new_reals((size_t)n);
        for (int i = 0; i < round_up(c, MR); i++)
          for (int o = 0; o < m; o++)
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++) {
                const int j = (o * kh + ky) * kw + kx;
                want[(i / MR) * MR * K + j * MR + i % MR] =
                    i < c ? w[((o * c + i) * kh + kh - 1 - ky) * kw + kw - 1 - kx] : 0;
              }
        pack_flipped(m, c, kh, kw, w, ap);
        char what[64];
        snprintf(what, sizeof what, "m %d, c %d, kernel %dx%d", m, c, kh, kw);
        const int ok = same(ap, want, (size_t)n, why, size, what);
        free(w), free(ap), free(want);
        if (!ok) return 0;
      }
  return 1;
}

/* ---- the matrix product ---- */

enum { PLAIN, BIAS, ACCUMULATE };

/* c = (bias | c | 0) + a * b by gemm (or gemm_parallel) on packed operands,
 * c with rows ldc = n + 3 apart whose last 3 values stay as they were */
static int gemm_case(int m, int n, int k, int mode, int parallel, char *why, size_t size) {
  const int ldc = n + 3;
  real *a = new_reals((size_t)m * k), *b = new_reals((size_t)k * n), *bias = new_reals((size_t)m);
  real *ap = new_reals((size_t)round_up(m, MR) * k), *bp = new_reals((size_t)round_up(n, NR) * k);
  real *c = new_reals((size_t)m * ldc), *want = malloc((size_t)m * ldc * sizeof *want);
  if (!want) exit(99);
  memcpy(want, c, (size_t)m * ldc * sizeof *want);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      real s = mode == BIAS ? bias[i] : mode == ACCUMULATE ? c[i * ldc + j] : 0;
      for (int t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
      want[i * ldc + j] = s;
    }
  pack_a(m, k, a, k, 1, ap);
  pack_b(k, n, b, n, 1, bp);
  if (parallel) gemm_parallel(m, n, k, ap, bp, c, ldc, mode == BIAS ? bias : NULL, mode == ACCUMULATE);
  else gemm(m, n, k, ap, bp, c, ldc, mode == BIAS ? bias : NULL, mode == ACCUMULATE);
  char what[96];
  snprintf(what, sizeof what, "%s, m %d, n %d, k %d, %s", parallel ? "gemm_parallel" : "gemm", m, n, k,
      mode == BIAS ? "bias" : mode == ACCUMULATE ? "accumulate" : "plain");
  const int ok = same(c, want, (size_t)m * ldc, why, size, what);
  free(a), free(b), free(bias), free(ap), free(bp), free(c), free(want);
  return ok;
}

/* every tile shape with short sums, then the blocks of KC terms */
static int gemm_sweep(int parallel, char *why, size_t size) {
  const int short_k[] = {1, 7}, long_k[] = {KC - 1, KC, KC + 1, 2 * KC + 1};
  const int long_m[] = {1, MR, MR + 1, 2 * MR + 1}, long_n[] = {1, NR, NR + 1, 2 * NR + 1};
  for (int mode = PLAIN; mode <= ACCUMULATE; mode++) {
    for (int m = 1; m <= MR + 1; m++)
      for (int n = 1; n <= NR + 1; n++)
        for (int t = 0; t < 2; t++)
          if (!gemm_case(m, n, short_k[t], mode, parallel, why, size)) return 0;
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++)
        for (int t = 0; t < 4; t++)
          if (!gemm_case(long_m[i], long_n[j], long_k[t], mode, parallel, why, size)) return 0;
  }
  return 1;
}

static int check_gemm(char *why, size_t size) { return gemm_sweep(0, why, size); }
static int check_gemm_parallel(char *why, size_t size) { return gemm_sweep(1, why, size); }

/* ---- convolutions ---- */

/* A convolution's shape: image c x h x w, kernel kh x kw, stride, dilation,
 * padding top, bottom, left, right; m output channels. */
typedef struct {
  int c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, m;
} Conv;

static int conv_oh(const Conv *v) { return (v->h + v->pt + v->pb - (v->kh - 1) * v->dh - 1) / v->sh + 1; }
static int conv_ow(const Conv *v) { return (v->w + v->pl + v->pr - (v->kw - 1) * v->dw - 1) / v->sw + 1; }

/* The shapes the checks run: rows of one (1-d) with the positions from 1 to
 * past two register blocks, each with 1, MR + 1 and 2 MR + 1 outputs, then
 * 2-d ones with stride, dilation and padding, and sums of more than KC
 * (29 x 3 x 3 terms). */
static int conv_shapes(Conv *list, int max) {
  int n = 0;
  for (int ow = 1; ow <= 2 * NR + 1 && n < max; ow += ow < NR + 1 ? 1 : NR)
    for (int m = 1; m <= 2 * MR + 1 && n < max; m += MR)
      list[n++] = (Conv){.c = 2, .h = 1, .w = ow + 2, .kh = 1, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .m = m};
  const Conv more[] = {
      {.c = 3, .h = 7, .w = 9, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .m = 5},
      {.c = 2, .h = 9, .w = 11, .kh = 3, .kw = 2, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .pt = 1, .pb = 0, .pl = 0, .pr = 1, .m = MR + 1},
      {.c = 3, .h = 8, .w = 10, .kh = 2, .kw = 3, .sh = 1, .sw = 3, .dh = 2, .dw = 2, .pt = 0, .pb = 1, .pl = 2, .pr = 0, .m = 3},
      {.c = 1, .h = 12, .w = 12, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pt = 2, .pb = 2, .pl = 2, .pr = 2, .m = 6},
      {.c = 29, .h = 6, .w = 7, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pt = 1, .pb = 1, .pl = 1, .pr = 1, .m = MR + 1},
      {.c = 29, .h = 5, .w = 40, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .m = 2},
  };
  for (size_t i = 0; i < sizeof more / sizeof *more && n < max; i++) list[n++] = more[i];
  return n;
}

/* The window matrix of the naive loops: col(k, p) is the pixel
 * col_pixel(k, p) of the image, or 0 in the padding (-1). */
static int col_pixel(const Conv *v, int k, int p) {
  const int ch = k / (v->kh * v->kw), ky = k / v->kw % v->kh, kx = k % v->kw, ow = conv_ow(v);
  const int iy = p / ow * v->sh + ky * v->dh - v->pt, ix = p % ow * v->sw + kx * v->dw - v->pl;
  return iy >= 0 && iy < v->h && ix >= 0 && ix < v->w ? (ch * v->h + iy) * v->w + ix : -1;
}

static real col_at(const Conv *v, const real *x, int k, int p) {
  const int i = col_pixel(v, k, p);
  return i < 0 ? 0 : x[i];
}

/* The Implicit of the forward pass and its padded image, as the generated
 * code makes them (emit/train.c's implicit_image): xp, and off for col. */
typedef struct {
  Implicit g;
  real *xp;
  int *off;
} Image;

/* off[k] as cnncc prints it (plan/train_kernels.c, cnn_implicit_offsets),
 * found here another way: the index in xp that pad_image gives the input
 * pixel (or padding) under tap (ky, kx) of channel ch at output (0, 0),
 * searched plane by plane among the planes of channel ch */
static void naive_offsets(const Implicit *g, int *off) {
  const int na = phase_count(g->kh, g->dh, g->sh), nb = phase_count(g->kw, g->dw, g->sw);
  for (int ch = 0, k = 0; ch < g->c; ch++)
    for (int ky = 0; ky < g->kh; ky++)
      for (int kx = 0; kx < g->kw; kx++, k++) {
        const int y = ky * g->dh, x = kx * g->dw; /* in the padded image */
        int plane = ch * na * nb;                 /* the phases in order: count the used ones below */
        for (int a = 0; a < y % g->sh; a++) plane += phase_used(a, g->kh, g->dh, g->sh) * nb;
        for (int b = 0; b < x % g->sw; b++) plane += phase_used(b, g->kw, g->dw, g->sw);
        off[k] = (plane * g->hp + y / g->sh) * g->wp + x / g->sw;
      }
}

static Image implicit_of(const Conv *v, const real *x) {
  Image im = {{v->c, v->h, v->w, conv_oh(v), conv_ow(v), v->kh, v->kw, v->dh, v->dw, v->sh, v->sw, v->pt, v->pl,
                  (v->h + v->pt + v->pb + v->sh - 1) / v->sh, (v->w + v->pl + v->pr + v->sw - 1) / v->sw},
      NULL, NULL};
  im.xp = new_reals((size_t)v->c * v->sh * v->sw * im.g.hp * im.g.wp + NR);
  im.off = malloc(sizeof *im.off * (size_t)v->c * v->kh * v->kw);
  if (!im.off) exit(99);
  pad_image(&im.g, im.xp, x);
  naive_offsets(&im.g, im.off);
  return im;
}

static void free_image(Image *im) { free(im->xp), free(im->off); }

static void conv_what(const Conv *v, const char *kernel, char *what, size_t size) {
  snprintf(what, size, "%s, %d x %dx%d by %d x %dx%d, stride %dx%d, dilation %dx%d, pad %d %d %d %d", kernel,
      v->c, v->h, v->w, v->m, v->kh, v->kw, v->sh, v->sw, v->dh, v->dw, v->pt, v->pb, v->pl, v->pr);
}

/* y = (bias | y | 0) + w * col, then relu (with bias), by conv_implicit */
static int conv_forward_case(const Conv *v, int mode, char *why, size_t size) {
  const int K = v->c * v->kh * v->kw, P = conv_oh(v) * conv_ow(v);
  real *x = new_reals((size_t)v->c * v->h * v->w), *w = new_reals((size_t)v->m * K);
  real *bias = new_reals((size_t)v->m), *ap = new_reals((size_t)round_up(v->m, MR) * K);
  real *y = new_reals((size_t)v->m * P), *want = new_reals((size_t)v->m * P);
  for (int o = 0; o < v->m; o++)
    for (int p = 0; p < P; p++) {
      real s = mode == BIAS ? bias[o] : mode == ACCUMULATE ? y[o * P + p] : 0;
      for (int k = 0; k < K; k++) s += w[o * K + k] * col_at(v, x, k, p);
      want[o * P + p] = mode == BIAS ? (s > 0 ? s : 0) : s;
    }
  Image im = implicit_of(v, x);
  pack_a(v->m, K, w, K, 1, ap);
  conv_implicit(v->m, ap, &im.g, im.off, im.xp, y, P, mode == BIAS ? bias : NULL, mode == ACCUMULATE, mode == BIAS);
  char what[256];
  conv_what(v, mode == BIAS ? "conv_implicit, bias and relu" : mode == ACCUMULATE ? "conv_implicit, add" : "conv_implicit", what, sizeof what);
  const int ok = same(y, want, (size_t)v->m * P, why, size, what);
  free_image(&im);
  free(x), free(w), free(bias), free(ap), free(y), free(want);
  return ok;
}

/* the naive weight gradient dw[o][k] = the sum over p of dy[o][p] * col(k, p) */
static void naive_wgrad(const Conv *v, const real *x, const real *dy, real *dw) {
  const int K = v->c * v->kh * v->kw, P = conv_oh(v) * conv_ow(v);
  for (int o = 0; o < v->m; o++)
    for (int k = 0; k < K; k++) {
      real s = 0;
      for (int p = 0; p < P; p++) s += dy[o * P + p] * col_at(v, x, k, p);
      dw[o * K + k] = s;
    }
}

/* dwt = (dwt | 0) + the weight gradient transposed, by pack_dy and
 * conv_implicit_wgrad */
static int conv_wgrad_case(const Conv *v, int add, char *why, size_t size) {
  const int K = v->c * v->kh * v->kw, P = conv_oh(v) * conv_ow(v);
  real *x = new_reals((size_t)v->c * v->h * v->w), *dy = new_reals((size_t)v->m * P);
  real *dw = new_reals((size_t)v->m * K), *dwt = new_reals((size_t)K * v->m), *want = new_reals((size_t)K * v->m);
  Image im = implicit_of(v, x);
  real *bp = new_reals((size_t)round_up(v->m, NR) * implicit_q(&im.g));
  naive_wgrad(v, x, dy, dw);
  for (int k = 0; k < K; k++)
    for (int o = 0; o < v->m; o++) want[k * v->m + o] = (add ? dwt[k * v->m + o] : 0) + dw[o * K + k];
  pack_dy(v->m, dy, &im.g, bp);
  conv_implicit_wgrad(v->m, bp, &im.g, im.off, im.xp, dwt, add);
  char what[256];
  conv_what(v, add ? "conv_implicit_wgrad, add" : "conv_implicit_wgrad", what, sizeof what);
  const int ok = same(dwt, want, (size_t)K * v->m, why, size, what);
  free_image(&im);
  free(x), free(dy), free(dw), free(dwt), free(want), free(bp);
  return ok;
}

/* dw += the weight gradient of two samples, by conv_wgrad_dot into a
 * part's gradient (the second sample added) and add_parts_dot */
static int conv_wgrad_dot_case(const Conv *v, char *why, size_t size) {
  const int K = v->c * v->kh * v->kw, P = conv_oh(v) * conv_ow(v);
  real *x[2] = {new_reals((size_t)v->c * v->h * v->w), new_reals((size_t)v->c * v->h * v->w)};
  real *dy[2] = {new_reals((size_t)v->m * P), new_reals((size_t)v->m * P)};
  real *dw = new_reals((size_t)v->m * K), *want = new_reals((size_t)v->m * K), *g = new_reals((size_t)v->m * K);
  real *dwv = new_reals((size_t)v->m * K * NR);
  for (int s = 0; s < 2; s++) {
    naive_wgrad(v, x[s], dy[s], g);
    for (int i = 0; i < v->m * K; i++) want[i] = (s ? want[i] : dw[i]) + g[i];
  }
  for (int s = 0; s < 2; s++) {
    Image im = implicit_of(v, x[s]);
    real *dq = new_reals((size_t)round_up(v->m, NR) * (implicit_q(&im.g) + NR));
    conv_wgrad_dot(v->m, dy[s], &im.g, im.off, im.xp, dq, dwv, s);
    free_image(&im);
    free(dq);
  }
  /* a batch of 2 has samples in parts 1 and 3; the sums of both are in dwv */
  real *zero = calloc((size_t)v->m * K * NR, sizeof *zero);
  if (!zero) exit(99);
  part[1].dw = dwv, part[3].dw = zero;
  add_parts_dot(dw, v->m, K, 2);
  char what[256];
  conv_what(v, "conv_wgrad_dot and add_parts_dot", what, sizeof what);
  const int ok = same(dw, want, (size_t)v->m * K, why, size, what);
  free(x[0]), free(x[1]), free(dy[0]), free(dy[1]), free(dw), free(want), free(g), free(dwv), free(zero);
  return ok;
}

static int check_conv_implicit(char *why, size_t size) {
  Conv list[128];
  const int n = conv_shapes(list, 128);
  for (int i = 0; i < n; i++)
    for (int mode = PLAIN; mode <= ACCUMULATE; mode++)
      if (!conv_forward_case(&list[i], mode, why, size)) return 0;
  return 1;
}

static int check_conv_implicit_wgrad(char *why, size_t size) {
  Conv list[128];
  const int n = conv_shapes(list, 128);
  for (int i = 0; i < n; i++)
    for (int add = 0; add < 2; add++)
      if (!conv_wgrad_case(&list[i], add, why, size)) return 0;
  return 1;
}

static int check_conv_wgrad_dot(char *why, size_t size) {
  Conv list[128];
  const int n = conv_shapes(list, 128);
  for (int i = 0; i < n; i++)
    for (int m = 1; m <= 9; m += 4) { /* blocks of 4 outputs by 5 taps */
      Conv v = list[i];
      v.m = m;
      if (!conv_wgrad_dot_case(&v, why, size)) return 0;
    }
  return 1;
}

/* ---- the window copies ---- */

static Window window_of(const Conv *v) {
  return (Window){v->c, v->h, v->w, conv_oh(v), conv_ow(v), v->kh, v->kw, v->sh, v->sw, v->dh, v->dw, v->pt, v->pl};
}

/* The two panel layouts of the window copies: im2col_panels puts col(k, p)
 * at cp[(p / NR) * NR * K + k * NR + p % NR] (panels of NR positions),
 * im2row_panels at ct[(k / NR) * NR * P + p * NR + k % NR] (panels of NR
 * terms); the padded dimension is rounded up to NR and left unwritten. */
typedef struct {
  const char *name;
  void (*copy)(const Window *g, real *panels, const real *x);
  int by_positions; /* 1: panels of positions (im2col), 0: of terms (im2row) */
} PanelCopy;

static size_t panel_index(const PanelCopy *c, int K, int P, int k, int p) {
  return c->by_positions ? (size_t)(p / NR) * NR * K + (size_t)k * NR + p % NR
                         : (size_t)(k / NR) * NR * P + (size_t)p * NR + k % NR;
}

static int check_panel_copy(const PanelCopy *c, char *why, size_t size) {
  Conv list[128];
  const int n = conv_shapes(list, 128);
  for (int i = 0; i < n; i++) {
    const Conv *v = &list[i];
    const int K = v->c * v->kh * v->kw, P = conv_oh(v) * conv_ow(v);
    const int count = c->by_positions ? round_up(P, NR) * K : round_up(K, NR) * P;
    const Window g = window_of(v);
    real *x = new_reals((size_t)v->c * v->h * v->w), *panels = new_reals((size_t)count);
    real *want = malloc((size_t)count * sizeof *want);
    if (!want) exit(99);
    c->copy(&g, panels, x);
    memcpy(want, panels, (size_t)count * sizeof *want); /* the padding: not written */
    for (int k = 0; k < K; k++)
      for (int p = 0; p < P; p++) want[panel_index(c, K, P, k, p)] = col_at(v, x, k, p);
    char what[256];
    conv_what(v, c->name, what, sizeof what);
    const int ok = same(panels, want, (size_t)count, why, size, what);
    free(x), free(panels), free(want);
    if (!ok) return 0;
  }
  return 1;
}

static int check_im2col_panels(char *why, size_t size) {
  const PanelCopy c = {"im2col_panels", im2col_panels, 1};
  return check_panel_copy(&c, why, size);
}

static int check_im2row_panels(char *why, size_t size) {
  const PanelCopy c = {"im2row_panels", im2row_panels, 0};
  return check_panel_copy(&c, why, size);
}

/* col2im: x += col added back to the pixels it was copied from */
static int check_col2im(char *why, size_t size) {
  Conv list[128];
  const int n = conv_shapes(list, 128);
  for (int i = 0; i < n; i++) {
    const Conv *v = &list[i];
    const int K = v->c * v->kh * v->kw, P = conv_oh(v) * conv_ow(v), pixels = v->c * v->h * v->w;
    const Window g = window_of(v);
    real *x = new_reals((size_t)pixels), *col = new_reals((size_t)K * P), *want = malloc((size_t)pixels * sizeof *want);
    if (!want) exit(99);
    memcpy(want, x, (size_t)pixels * sizeof *want);
    for (int k = 0; k < K; k++)
      for (int p = 0; p < P; p++)
        if (col_pixel(v, k, p) >= 0) want[col_pixel(v, k, p)] += col[k * P + p];
    col2im(&g, x, col);
    char what[256];
    conv_what(v, "col2im", what, sizeof what);
    const int ok = same(x, want, (size_t)pixels, why, size, what);
    free(x), free(col), free(want);
    if (!ok) return 0;
  }
  return 1;
}

/* ---- pooling ---- */

/* maxpool_2x2: each window's maximum and where its first one is, a NaN
 * winning (one window in 11 has one), 1 to past two blocks of 16 windows */
static int check_maxpool_2x2(char *why, size_t size) {
  for (int ow = 1; ow <= 33; ow++)
    for (int oh = 1; oh <= 2; oh++)
      for (int extra = 0; extra < 2; extra++) { /* an odd width: a column no window reads */
        const int w = 2 * ow + extra, h = 2 * oh, P = oh * ow;
        real *x = new_reals((size_t)h * w), *y = new_reals((size_t)P), *want = new_reals((size_t)P);
        int32_t *arg = malloc(sizeof *arg * (size_t)P), *want_arg = malloc(sizeof *arg * (size_t)P);
        if (!arg || !want_arg) exit(99);
        for (int i = 0; i < h * w; i += 11) x[i] = (real)NAN;
        for (int oy = 0; oy < oh; oy++)
          for (int ox = 0; ox < ow; ox++) {
            const int i0 = 2 * oy * w + 2 * ox, step[4] = {0, 1, w, w + 1};
            int best = i0;
            for (int k = 1; k < 4; k++)
              if (x[i0 + step[k]] > x[best] || x[i0 + step[k]] != x[i0 + step[k]]) best = i0 + step[k];
            want[oy * ow + ox] = x[best];
            want_arg[oy * ow + ox] = best;
          }
        maxpool_2x2(x, w, oh, ow, y, arg);
        char what[64];
        snprintf(what, sizeof what, "%dx%d to %dx%d", h, w, oh, ow);
        int ok = same(y, want, (size_t)P, why, size, what);
        for (int i = 0; ok && i < P; i++)
          if (arg[i] != want_arg[i]) {
            snprintf(why, size, "%s: the maximum of window %d is at %d, the loop's at %d", what, i, (int)arg[i],
                (int)want_arg[i]);
            ok = 0;
          }
        free(x), free(y), free(want), free(arg), free(want_arg);
        if (!ok) return 0;
      }
  return 1;
}

/* ---- the inference vector functions ---- */

/* |got - want| <= tol * max(1, |want|); else why says where */
static int near(float got, float want, float tol, const char *what, float x, char *why, size_t size) {
  if (fabsf(got - want) <= tol * fmaxf(1, fabsf(want))) return 1;
  snprintf(why, size, "%s at %.9g: %.9g, the reference %.9g", what, (double)x, (double)got, (double)want);
  return 0;
}

/* cnn_vexp, cnn_vsigmoid and cnn_vtanh within a few ulp of libm for x in
 * [-30, 30] (in plain C they are libm's), cnn_verf within 1e-6 of erff
 * (its fit is good to 4e-7), cnn_vsum exact on whole numbers */
static int check_infer_functions(char *why, size_t size) {
  float x[CNN_VL], y[CNN_VL];
  for (int i = -3000; i < 3000; i += CNN_VL) {
    for (int l = 0; l < CNN_VL; l++) x[l] = (float)(i + l) / 100;
#if CNNCC_SIMD != 0
    cnn_vstore(y, cnn_vexp(cnn_vload(x)));
    for (int l = 0; l < CNN_VL; l++)
      if (!near(y[l], expf(x[l]), 1e-6f, "cnn_vexp", x[l], why, size)) return 0;
#endif
    cnn_vstore(y, cnn_vsigmoid(cnn_vload(x)));
    for (int l = 0; l < CNN_VL; l++)
      if (!near(y[l], 1 / (1 + expf(-x[l])), 1e-6f, "cnn_vsigmoid", x[l], why, size)) return 0;
    cnn_vstore(y, cnn_vtanh(cnn_vload(x)));
    for (int l = 0; l < CNN_VL; l++)
      if (!near(y[l], tanhf(x[l]), 1e-6f, "cnn_vtanh", x[l], why, size)) return 0;
    cnn_vstore(y, cnn_verf(cnn_vload(x)));
    for (int l = 0; l < CNN_VL; l++)
      if (!near(y[l], erff(x[l]), 1e-6f, "cnn_verf", x[l], why, size)) return 0;
    float whole = 0;
    for (int l = 0; l < CNN_VL; l++) whole += x[l] = (float)small();
    if (!near(cnn_vsum(cnn_vload(x)), whole, 0, "cnn_vsum", x[0], why, size)) return 0;
  }
  return 1;
}

/* cnn_vmax and cnn_vmin bit for bit as a > b ? a : b and a < b ? a : b,
 * the portable code's, on every pair of NaN, -NaN, +-0, +-1 and +-inf: the
 * same answers on every level (a compare and select on NEON, not vmaxq) */
static int check_vmax_vmin(char *why, size_t size) {
  const float v[] = {NAN, -NAN, -0.0f, 0.0f, 1, -1, INFINITY, -INFINITY};
  const int n = sizeof v / sizeof *v;
  for (int i = 0; i < n * n; i += CNN_VL) {
    float a[CNN_VL], b[CNN_VL], hi[CNN_VL], lo[CNN_VL], want_hi[CNN_VL], want_lo[CNN_VL];
    for (int l = 0; l < CNN_VL; l++) {
      a[l] = v[(i + l) % (n * n) / n], b[l] = v[(i + l) % n];
      want_hi[l] = a[l] > b[l] ? a[l] : b[l];
      want_lo[l] = a[l] < b[l] ? a[l] : b[l];
    }
    cnn_vstore(hi, cnn_vmax(cnn_vload(a), cnn_vload(b)));
    cnn_vstore(lo, cnn_vmin(cnn_vload(a), cnn_vload(b)));
    for (int l = 0; l < CNN_VL; l++)
      if (memcmp(&hi[l], &want_hi[l], sizeof hi[l]) || memcmp(&lo[l], &want_lo[l], sizeof lo[l])) {
        snprintf(why, size, "max(%g, %g) = %g, min %g; want %g, %g", (double)a[l], (double)b[l], (double)hi[l],
            (double)lo[l], (double)want_hi[l], (double)want_lo[l]);
        return 0;
      }
  }
  return 1;
}

const KernelCheck CHECKS[] = {
    {"the configuration's micro-kernels (KERNEL_ISA)", check_isa},
    {"pack_a as a loop packs (m 1..2MR+1)", check_pack_a},
    {"pack_b as a loop packs (n 1..2NR+1)", check_pack_b},
    {"pack_flipped as a loop packs (m 1..MR+1, c 1..2MR+1)", check_pack_flipped},
    {"gemm as a naive product (m 1..MR+1 by n 1..NR+1; k around KC, 2KC)", check_gemm},
    {"gemm_parallel as a naive product (m 1..MR+1 by n 1..NR+1; k around KC, 2KC)", check_gemm_parallel},
    {"conv_implicit as a naive convolution (positions 1..2NR+1, outputs 1..2MR+1, > KC terms)",
        check_conv_implicit},
    {"pack_dy and conv_implicit_wgrad as a naive weight gradient", check_conv_implicit_wgrad},
    {"conv_wgrad_dot and add_parts_dot as a naive weight gradient", check_conv_wgrad_dot},
    {"im2col_panels as a naive window copy", check_im2col_panels},
    {"im2row_panels as a naive window copy", check_im2row_panels},
    {"col2im as a naive scatter", check_col2im},
    {"maxpool_2x2 as a naive loop (windows 1..33 a row, NaNs)", check_maxpool_2x2},
    {"the inference code's cnn_vexp, cnn_vsigmoid, cnn_vtanh, cnn_verf near libm's, cnn_vsum exact",
        check_infer_functions},
    {"cnn_vmax and cnn_vmin bit for bit as the portable code (NaN, -0, +0)", check_vmax_vmin},
    {NULL, NULL},
};
