/* emit/resample.c - the resampling layers (upsample, adaptive_avgpool):
 * their tables and forward loop, which the training code
 * (emit/train_layers.c) and the inference code (emit/infer.c) print alike,
 * so that both compute what PyTorch's F.interpolate and
 * F.adaptive_avg_pool do; the sources come from plan/geometry.c's
 * cnn_resample_source. */
#include <stdio.h>
#include <string.h>

#include "kernels.h"
#include "plan/plan.h"

/* One axis's sources: what item() prints of output o. */
typedef struct {
  const CnnNode *n;
  int axis, in, out;
  int what; /* 0: i0, 1: i1, 2: l1 */
  bool dbl;
} Source;

static const char *source_item(char *buf, size_t size, const Source *s, int o) {
  int i0, i1;
  double l1;
  cnn_resample_source(s->n, s->axis, s->in, s->out, o, &i0, &i1, &l1);
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

static void print_table(CnnPrinter *P, const char *type, const char *name, const Source *s) {
  cnn_pr(P, "static const %s %s_%s[%d] = {", type, s->n->name, name, s->out);
  char line[100], buf[40];
  size_t len = 0;
  for (int o = 0; o < s->out; o++) {
    const char *item = source_item(buf, sizeof buf, s, o);
    if (len + strlen(item) + 2 > 88) {
      cnn_pr(P, "%s", line);
      len = 0;
    }
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%s,", len ? " " : "", item);
  }
  if (len) cnn_pr(P, "%s", line);
  cnn_pr(P, "};");
}

void cnn_print_resample_tables(CnnPrinter *P, const CnnNode *n, CnnShape in, const char *real, bool dbl) {
  static const char *const names[2][3] = {{"y0", "y1", "ly"}, {"x0", "x1", "lx"}};
  int c, ih, iw, oh, ow;
  cnn_shape_chw(in, &c, &ih, &iw);
  cnn_shape_chw(n->shape, &c, &oh, &ow);
  /* nearest: the sources; bilinear: both and the second's weight;
   * adaptive: the windows' starts and ends */
  int what = n->op != OP_UPSAMPLE ? 2 : n->mode == CNN_UPSAMPLE_BILINEAR ? 3 : 1;
  for (int a = 0; a < 2; a++)
    for (int w = 0; w < what; w++) {
      Source s = {n, a, a ? iw : ih, a ? ow : oh, w, dbl};
      print_table(P, w == 2 ? real : "int", names[a][w], &s);
    }
}

/* adaptive_avgpool: the mean of each window, divided as PyTorch does */
static void print_adaptive(CnnPrinter *P, const CnnNode *n, const char *real, int iw, int ow, const char *x,
                           const char *y) {
  const char *N = n->name;
  cnn_pr(P, "const int y0 = %s_y0[oy], y1 = %s_y1[oy];", N, N);
  cnn_pr(P, "for (int ox = 0; ox < %d; ox++) {", ow);
  cnn_pr(P, "const int x0 = %s_x0[ox], x1 = %s_x1[ox];", N, N);
  cnn_pr(P, "%s s = 0;", real);
  cnn_pr(P, "for (int iy = y0; iy < y1; iy++)");
  cnn_pr(P, "  for (int ix = x0; ix < x1; ix++) s += %s[iy * %d + ix];", x, iw);
  cnn_pr(P, "%s[oy * %d + ox] = s / (y1 - y0) / (x1 - x0);", y, ow);
  cnn_pr(P, "}\n}");
}

void cnn_print_resample_plane(CnnPrinter *P, const CnnNode *n, CnnShape in, const char *real, const char *x,
                              const char *y) {
  int c, ih, iw, oh, ow;
  cnn_shape_chw(in, &c, &ih, &iw);
  cnn_shape_chw(n->shape, &c, &oh, &ow);
  const char *N = n->name;
  cnn_pr(P, "for (int oy = 0; oy < %d; oy++) {", oh);
  if (n->op != OP_UPSAMPLE) {
    print_adaptive(P, n, real, iw, ow, x, y);
  } else if (n->mode == CNN_UPSAMPLE_NEAREST) {
    cnn_pr(P, "const int r = %s_y0[oy] * %d;", N, iw);
    cnn_pr(P, "for (int ox = 0; ox < %d; ox++) %s[oy * %d + ox] = %s[r + %s_x0[ox]];", ow, y, ow, x, N);
    cnn_pr(P, "}");
  } else { /* as PyTorch's upsample_bilinear2d: the weights 1 - l and l */
    cnn_pr(P, "const int r0 = %s_y0[oy] * %d, r1 = %s_y1[oy] * %d;", N, iw, N, iw);
    cnn_pr(P, "const %s ly1 = %s_ly[oy], ly0 = 1 - ly1;", real, N);
    cnn_pr(P, "for (int ox = 0; ox < %d; ox++) {", ow);
    cnn_pr(P, "const int c0 = %s_x0[ox], c1 = %s_x1[ox];", N, N);
    cnn_pr(P, "const %s lx1 = %s_lx[ox], lx0 = 1 - lx1;", real, N);
    cnn_pr(P, "%s[oy * %d + ox] = ly0 * (lx0 * %s[r0 + c0] + lx1 * %s[r0 + c1]) +", y, ow, x, x);
    cnn_pr(P, "    ly1 * (lx0 * %s[r1 + c0] + lx1 * %s[r1 + c1]);", x, x);
    cnn_pr(P, "}\n}");
  }
}
