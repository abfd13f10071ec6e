/* geometry.c - the geometry of convolutions and pooling windows, which
 * the training and the inference printers both build their kernels on. */
#include <math.h>

#include "plan.h"

CnnConvGeo cnn_conv_geo(const CnnNet *net, const CnnNode *n) {
  CnnConvGeo g;
  cnn_shape_chw(net->nodes[n->inputs[0]].shape, &g.ic, &g.ih, &g.iw);
  cnn_shape_chw(n->shape, &g.oc, &g.oh, &g.ow);
  g.kh = n->kernel[0], g.kw = n->kernel[1];
  g.sh = n->stride[0], g.sw = n->stride[1];
  g.dh = n->dilation[0], g.dw = n->dilation[1];
  g.pt = n->pad_lo[0], g.pl = n->pad_lo[1];
  g.pb = n->pad_hi[0], g.pr = n->pad_hi[1];
  g.one_d = n->shape.rank == 2;
  return g;
}

void cnn_grouped_span(int off, int n, int on, int s, int *lo, int *hi) {
  *lo = off >= 0 ? 0 : (-off + s - 1) / s;
  *hi = off >= n ? 0 : (n - 1 - off) / s + 1;
  if (*hi > on) *hi = on;
  if (*hi < *lo) *hi = *lo;
}

void cnn_conv_taps(CnnArena *A, const CnnConvGeo *g, CnnTaps *t) {
  int *phase_of = cnn_alloc(A, sizeof(int) * (size_t)g->sh * (size_t)g->sw);
  for (int i = 0; i < g->sh * g->sw; i++) phase_of[i] = -1;
  t->ntaps = g->kh * g->kw;
  t->tap = cnn_alloc(A, sizeof(CnnTap) * (size_t)t->ntaps);
  t->phase_y = cnn_alloc(A, sizeof(int) * (size_t)t->ntaps);
  t->phase_x = cnn_alloc(A, sizeof(int) * (size_t)t->ntaps);
  t->nphases = t->max_qy = t->max_qx = 0;
  for (int ky = 0, k = 0; ky < g->kh; ky++)
    for (int kx = 0; kx < g->kw; kx++, k++) {
      int ay = ky * g->dh, ax = kx * g->dw, key = ay % g->sh * g->sw + ax % g->sw;
      if (phase_of[key] < 0) {
        phase_of[key] = t->nphases;
        t->phase_y[t->nphases] = ay % g->sh;
        t->phase_x[t->nphases] = ax % g->sw;
        t->nphases++;
      }
      t->tap[k] = (CnnTap){ky, kx, phase_of[key], ay / g->sh, ax / g->sw};
      if (ay / g->sh > t->max_qy) t->max_qy = ay / g->sh;
      if (ax / g->sw > t->max_qx) t->max_qx = ax / g->sw;
    }
}

/* Does a tap t * d of a kernel of k taps fall on phase a (mod the stride s)? */
static bool phase_used(int a, int k, int d, int s) {
  for (int t = 0; t < k; t++)
    if ((int64_t)t * d % s == a) return true;
  return false;
}

int cnn_phase_index(int a, int k, int d, int s) {
  int n = 0;
  for (int p = 0; p < a; p++) n += phase_used(p, k, d, s);
  return n;
}

int cnn_phase_count(int k, int d, int s) { return cnn_phase_index(s, k, d, s); }

void cnn_resample_source(const CnnNode *n, int a, int in, int out, int o, int *i0, int *i1, double *l1) {
  *l1 = 0;
  if (n->op != OP_UPSAMPLE) {
    cnn_adaptive_window(in, out, o, i0, i1);
    return;
  }
  float scale = (float)(1.0 / n->scale[a]); /* area_pixel_compute_scale, nearest_idx */
  if (n->mode == CNN_UPSAMPLE_NEAREST) {
    int i = (int)floorf((float)o * scale);
    *i0 = *i1 = i < in - 1 ? i : in - 1;
    return;
  }
  float src = scale * ((float)o + 0.5f) - 0.5f;
  if (src < 0) src = 0;
  *i0 = (int)src;
  *i1 = *i0 + (*i0 < in - 1);
  *l1 = src - (float)*i0;
}
