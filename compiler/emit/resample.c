/* emit/resample.c - upsample's tables and forward loop, which the training
 * code (emit/train_layers.c) and the inference code (emit/infer.c) print
 * alike, so that both compute what PyTorch's F.interpolate does: the
 * sources and weights come from plan/geometry.c's cnn_upsample_source. */
#include <stdio.h>
#include <string.h>

#include "kernels.h"
#include "plan/plan.h"

static void print_table(CnnPrinter *P, const CnnNode *n, const char *type, const char *name, int count,
                        const char *(*item)(char *buf, size_t size, int o, void *ctx), void *ctx) {
  cnn_pr(P, "static const %s %s_%s[%d] = {", type, n->name, name, count);
  char line[100], buf[40];
  size_t len = 0;
  for (int o = 0; o < count; o++) {
    const char *s = item(buf, sizeof buf, o, ctx);
    if (len + strlen(s) + 2 > 88) {
      cnn_pr(P, "%s", line);
      len = 0;
    }
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%s,", len ? " " : "", s);
  }
  if (len) cnn_pr(P, "%s", line);
  cnn_pr(P, "};");
}

/* One axis's sources: what item() prints of output o. */
typedef struct {
  const CnnNode *n;
  int axis, in;
  int what; /* 0: i0, 1: i1, 2: l1 */
  bool dbl;
} Source;

static const char *source_item(char *buf, size_t size, int o, void *ctx) {
  const Source *s = ctx;
  int i0, i1;
  double l1;
  cnn_upsample_source(s->n, s->axis, s->in, o, &i0, &i1, &l1);
  if (s->what < 2) {
    snprintf(buf, size, "%d", s->what ? i1 : i0);
    return buf;
  }
  /* a C floating literal: "0.25f", "0.0f" */
  int len = snprintf(buf, size, s->dbl ? "%.17g" : "%.9g", l1);
  if (buf[strcspn(buf, ".e")] == '\0') len += snprintf(buf + len, size - (size_t)len, ".0");
  if (!s->dbl) snprintf(buf + len, size - (size_t)len, "f");
  return buf;
}

void cnn_print_upsample_tables(CnnPrinter *P, const CnnNode *n, CnnShape in, const char *real, bool dbl) {
  static const char *const names[2][3] = {{"y0", "y1", "ly"}, {"x0", "x1", "lx"}};
  int what = n->mode == CNN_UPSAMPLE_BILINEAR ? 3 : 1;
  for (int a = 0; a < 2; a++)
    for (int w = 0; w < what; w++) {
      Source s = {n, a, in.dim[1 + a], w, dbl};
      print_table(P, n, w == 2 ? real : "int", names[a][w], n->shape.dim[1 + a], source_item, &s);
    }
}

void cnn_print_upsample_plane(CnnPrinter *P, const CnnNode *n, CnnShape in, const char *real, const char *x,
                              const char *y) {
  int w = in.dim[2], oh = n->shape.dim[1], ow = n->shape.dim[2];
  const char *N = n->name;
  cnn_pr(P, "for (int oy = 0; oy < %d; oy++) {", oh);
  if (n->mode == CNN_UPSAMPLE_NEAREST) {
    cnn_pr(P, "const int r = %s_y0[oy] * %d;", N, w);
    cnn_pr(P, "for (int ox = 0; ox < %d; ox++) %s[oy * %d + ox] = %s[r + %s_x0[ox]];", ow, y, ow, x, N);
    cnn_pr(P, "}");
    return;
  }
  /* as PyTorch's upsample_bilinear2d: the weights 1 - l and l, rows outside */
  cnn_pr(P, "const int r0 = %s_y0[oy] * %d, r1 = %s_y1[oy] * %d;", N, w, N, w);
  cnn_pr(P, "const %s ly1 = %s_ly[oy], ly0 = 1 - ly1;", real, N);
  cnn_pr(P, "for (int ox = 0; ox < %d; ox++) {", ow);
  cnn_pr(P, "const int c0 = %s_x0[ox], c1 = %s_x1[ox];", N, N);
  cnn_pr(P, "const %s lx1 = %s_lx[ox], lx0 = 1 - lx1;", real, N);
  cnn_pr(P, "%s[oy * %d + ox] = ly0 * (lx0 * %s[r0 + c0] + lx1 * %s[r0 + c1]) +", y, ow, x, x);
  cnn_pr(P, "    ly1 * (lx0 * %s[r1 + c0] + lx1 * %s[r1 + c1]);", x, x);
  cnn_pr(P, "}\n}");
}
