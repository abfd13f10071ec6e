/* train_kernels.c - the kernels of the training code, as data: how each
 * convolution and dense layer runs as matrix products (emit/kernels.c),
 * the scratch those need, and the helpers the file carries for them.
 *
 * A convolution gathers, for every output position p, the input values
 * under the kernel: with col[k][p] = x[ic][iy][ix] for k = (ic, ky, kx) (0
 * in the padding; "im2col"), it is the matrix product y = weight * col, and
 * its gradients are products too: d weight = dy * col^T and d col =
 * weight^T * dy, which "col2im" adds back to the input pixels. A transposed
 * convolution is the same with the roles of input and output exchanged.
 * Stride-1 convolutions read col in place from the padded image (implicit
 * products). */
#include <stddef.h>

#include "kernels.h"
#include "train.h"

#define FIELD(f) {#f, offsetof(CnnTrainScratch, f)}
const CnnScratchField cnn_scratch_fields[CNN_SCRATCH_FIELDS] = {
    FIELD(col), FIELD(b), FIELD(a), FIELD(dcol), FIELD(dw), FIELD(w), FIELD(a_per), FIELD(a_fix), FIELD(b_per),
};
#undef FIELD

static CnnWindow make_window(int c, int h, int w, int oh, int ow, const CnnConvGeo *g) {
  CnnWindow win = {c, h, w, oh, ow, g->kh, g->kw, g->sh, g->sw, g->dh, g->dw, g->pt, g->pl};
  if (g->one_d) win.kh = win.sh = win.dh = 1, win.pt = 0;
  return win;
}

CnnWindow cnn_conv_window(const CnnConvGeo *g) { return make_window(g->ic, g->ih, g->iw, g->oh, g->ow, g); }
CnnWindow cnn_convt_window(const CnnConvGeo *g) { return make_window(g->oc, g->oh, g->ow, g->ih, g->iw, g); }

bool cnn_window_trivial(const CnnWindow *w, const CnnConvGeo *g) {
  return w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !g->pt && !g->pl && !g->pb &&
         !g->pr && w->oh == w->h && w->ow == w->w;
}

int64_t cnn_window_rows(const CnnWindow *w) { return (int64_t)w->c * w->kh * w->kw; }
int64_t cnn_window_cols(const CnnWindow *w) { return (int64_t)w->oh * w->ow; }

CnnImplicit cnn_implicit_image(const CnnConvGeo *g) {
  CnnImplicit m = {g->ic, g->ih, g->iw, g->oh, g->ow, g->kh, g->kw, g->dh, g->dw, g->sh, g->sw, g->pt, g->pl, 0, 0};
  if (g->one_d) m.kh = m.dh = m.sh = 1, m.pt = 0;
  m.hp = g->one_d ? 1 : (g->ih + g->pt + g->pb + m.sh - 1) / m.sh;
  m.wp = (g->iw + g->pl + g->pr + m.sw - 1) / m.sw;
  return m;
}

CnnImplicit cnn_implicit_dy(const CnnConvGeo *g) {
  CnnImplicit m = cnn_implicit_image(g);
  int ekh = (m.kh - 1) * m.dh, ekw = (m.kw - 1) * m.dw;
  m.c = g->oc, m.h = g->oh, m.w = g->ow, m.oh = g->ih, m.ow = g->iw;
  m.pt = g->one_d ? 0 : ekh - g->pt;
  m.pl = ekw - g->pl;
  m.hp = g->one_d ? 1 : g->oh + 2 * ekh - g->pt - g->pb;
  m.wp = g->ow + 2 * ekw - g->pl - g->pr;
  return m;
}

void cnn_implicit_offsets(const CnnImplicit *m, int *off) {
  int na = cnn_phase_count(m->kh, m->dh, m->sh), nb = cnn_phase_count(m->kw, m->dw, m->sw), k = 0;
  for (int ch = 0; ch < m->c; ch++)
    for (int ky = 0; ky < m->kh; ky++)
      for (int kx = 0; kx < m->kw; kx++) {
        int y = ky * m->dh, x = kx * m->dw;
        int a = cnn_phase_index(y % m->sh, m->kh, m->dh, m->sh), b = cnn_phase_index(x % m->sw, m->kw, m->dw, m->sw);
        int plane = (ch * na + a) * nb + b;
        off[k++] = (plane * m->hp + y / m->sh) * m->wp + x / m->sw;
      }
}

static int64_t implicit_q(const CnnImplicit *m) { return (int64_t)(m->oh - 1) * m->wp + m->ow; }

/* the padded image in its stride-phase planes, and a tile's overrun */
static int64_t implicit_padded(const CnnImplicit *m) {
  return (int64_t)m->c * cnn_phase_count(m->kh, m->dh, m->sh) * cnn_phase_count(m->kw, m->dw, m->sw) * m->hp *
             m->wp + CNN_MAX_NR;
}

bool cnn_pool_needs_check(int k, int s, int p, int in, int out) {
  return p > 0 || (int64_t)(out - 1) * s + k > in;
}

/* Their input gradient correlates dy, padded by the kernel's extent less the
 * padding, with the flipped kernel, which needs that padding to be >= 0. */
static bool conv_dx_implicit_ok(const CnnConvGeo *g) {
  int ekh = (g->one_d ? 0 : (g->kh - 1) * g->dh), ekw = (g->kw - 1) * g->dw;
  bool rows = g->one_d || (g->sh == 1 && g->pt <= ekh && g->pb <= ekh);
  return rows && g->sw == 1 && g->pl <= ekw && g->pr <= ekw;
}

static void need(int64_t *have, int64_t want) {
  if (*have < want) *have = want;
}
/* bounds of m rounded up to slivers or panels, for any MR, NR the file picks */
static int64_t pad_mr(int64_t m) { return m + CNN_MAX_MR - 1; }
static int64_t pad_nr(int64_t n) { return n + CNN_MAX_NR - 1; }

/* A convolution's forward pass: an implicit product on the padded input. */
static void conv_forward(CnnTrainPlan *T, const CnnConvGeo *g, CnnTrainKernel *k) {
  CnnImplicit m = cnn_implicit_image(g);
  T->needs.gemm = T->needs.implicit = true;
  need(&k->scratch.w, pad_mr(g->oc) * m.c * m.kh * m.kw);
  need(&k->scratch.col, implicit_padded(&m));
}

/* A convolution's backward pass. The input gradient as an implicit product
 * computes every tap of the padded dy, zeros too: for a valid convolution
 * with a large kernel, the product weight^T * dy and col2im do less
 * (estimated costs, in multiply-adds of the lanes an AVX-512 kernel
 * computes, plus col2im): when the product is clearly cheaper, as col2im
 * moves more memory. Few output channels: the weight gradient along the
 * positions. */
static void conv_backward(CnnTrainPlan *T, const CnnNode *n, const CnnConvGeo *g, CnnTrainKernel *k) {
  CnnImplicit m = cnn_implicit_image(g), d = cnn_implicit_dy(g);
  int64_t K = (int64_t)m.c * m.kh * m.kw, Kd = (int64_t)d.c * d.kh * d.kw, pos = (int64_t)g->oh * g->ow;
  int64_t qd = implicit_q(&d), lanes_pos = (pos + 31) / 32 * 32;
  int64_t lanes_dx = qd / 32 * 32 + (qd % 32 == 0 ? 0 : qd % 32 <= 16 ? 16 : 32); /* conv_implicit's tiles */
  int64_t depth = g->oc < 48 ? 48 : g->oc; /* a short sum (few channels) stores tiles more than it adds */
  k->dx_gemm = !conv_dx_implicit_ok(g) ||
               2 * (int64_t)(g->ic + 5) / 6 * 6 * Kd * lanes_dx > 3 * (K * depth * lanes_pos + 6 * K * pos);
  int64_t narrow = (g->oc + 15) / 16 * 16, wide = (g->oc + 31) / 32 * 32; /* AVX-512 panels */
  k->wgrad_dot = g->oc * K <= 16384 && 10 * g->oc < 7 * (100 * wide >= 115 * narrow ? narrow : wide);
  *(k->dx_gemm ? &T->needs.windows : &T->needs.implicit) = true;
  need(&k->scratch.col, implicit_padded(&m));
  need(&k->scratch.b, pad_nr(g->oc) * implicit_q(&m));
  need(&k->scratch.b, g->oc * (implicit_q(&m) + CNN_MAX_NR));
  need(&k->scratch.dw, K * g->oc * (k->wgrad_dot ? 16 : 1)); /* dot: a register of lanes per weight */
  if (k->dx_gemm) {
    need(&k->scratch.w, pad_mr(K) * g->oc);
    need(&k->scratch.b, pad_nr(pos) * g->oc);
    need(&k->scratch.dcol, K * pos);
  } else {
    need(&k->scratch.dcol, implicit_padded(&d));
    need(&k->scratch.w, pad_mr(g->ic) * Kd);
  }
  T->needs.sum |= n->bias;
}

/* conv_transpose2d: products, and window copies unless the window is 1x1;
 * the backward pass if the node has one */
static void convt(CnnTrainPlan *T, const CnnNode *n, const CnnConvGeo *g, CnnTrainKernel *k, bool backward) {
  CnnWindow w = cnn_convt_window(g);
  bool trivial = cnn_window_trivial(&w, g);
  int64_t K = cnn_window_rows(&w), pos = cnn_window_cols(&w);
  k->kind = trivial ? CNN_KERNEL_GEMM : CNN_KERNEL_WINDOWS;
  T->needs.gemm = true;
  T->needs.windows |= !trivial;
  need(&k->scratch.w, pad_mr(K) * g->ic); /* forward */
  need(&k->scratch.b, pad_nr(pos) * g->ic);
  if (!trivial) need(&k->scratch.dcol, K * pos);
  if (!backward) return;
  need(&k->scratch.w, pad_mr(g->ic) * K);
  need(&k->scratch.a, pad_mr(g->ic) * pos);
  need(&k->scratch.col, pad_nr(K) * pos);
  need(&k->scratch.dw, g->ic * K);
  need(&k->scratch.b, pad_nr(pos) * K);
  T->needs.sum |= n->bias;
}

/* groups > 1: the direct kernels of grouped.h, which need add_parts and
 * bias_grad (gemm.h) and the parts' weight gradients; with stride 1 the
 * padded planes of a group (col; dcol, its gradient) and of a channel (b) */
static void grouped(CnnTrainPlan *T, const CnnNode *n, const CnnConvGeo *g, CnnTrainKernel *k, bool backward) {
  int64_t plane = (int64_t)(g->oh + (g->kh - 1) * g->dh) * (g->ow + (g->kw - 1) * g->dw);
  bool stride1 = g->sh == 1 && g->sw == 1;
  k->kind = CNN_KERNEL_GROUPED;
  T->needs.grouped = T->needs.gemm = true;
  if (stride1) {
    need(&k->scratch.col, g->ic / n->groups * plane);
    need(&k->scratch.b, plane);
  }
  if (!backward) return;
  if (stride1) need(&k->scratch.dcol, g->ic / n->groups * plane);
  need(&k->scratch.dw, T->ts[n->id][0].count);
  T->needs.sum |= n->bias;
}

/* dense: one product over the batch, forward and (if it has one) backward */
static void dense(CnnTrainPlan *T, const CnnNode *n, CnnTrainKernel *k, bool backward) {
  int64_t in = cnn_shape_size(T->net->nodes[n->inputs[0]].shape), out = cnn_shape_size(n->shape);
  T->needs.gemm = true;
  need(&k->scratch.w, pad_nr(out) * in);
  need(&k->scratch.a_per, in);
  need(&k->scratch.a_fix, (CNN_MAX_MR - 1) * in);
  if (!backward) return;
  need(&k->scratch.w, pad_nr(in) * out);
  need(&k->scratch.a_per, pad_mr(out));
  need(&k->scratch.a_per, out);
  need(&k->scratch.a_fix, (CNN_MAX_MR - 1) * out);
  need(&k->scratch.b_per, pad_nr(in));
  T->needs.sum |= n->bias;
}

/* max pooling 2x2 with stride 2, every window inside the input */
static bool pool2(const CnnNode *n, const CnnConvGeo *g) {
  bool cy = !g->one_d && cnn_pool_needs_check(g->kh, g->sh, g->pt, g->ih, g->oh);
  bool cx = cnn_pool_needs_check(g->kw, g->sw, g->pl, g->iw, g->ow);
  bool max = n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D;
  return max && !g->one_d && g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && !g->pt &&
         !g->pl && !cy && !cx;
}

/* Every node that has code; a node that only predict runs has no backward
 * pass, whose scratch and helpers it then does not need. */
void cnn_plan_kernels(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  T->kernel = cnn_alloc(T->A, sizeof *T->kernel * (size_t)net->nnodes);
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    CnnTrainKernel *k = &T->kernel[i];
    if (!T->live_train[i] && !T->live_pred[i]) continue;
    bool windowed = n->op == OP_CONV1D || n->op == OP_CONV2D || n->op == OP_CONV_TRANSPOSE2D ||
                    n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D;
    CnnConvGeo g = windowed ? cnn_conv_geo(net, n) : (CnnConvGeo){0};
    k->kind = n->op == OP_INPUT || n->op == OP_FLATTEN ? CNN_KERNEL_NONE : CNN_KERNEL_LOOPS;
    switch (n->op) {
    case OP_CONV1D: case OP_CONV2D:
      if (n->groups > 1) {
        grouped(T, n, &g, k, T->live_train[i]);
        break;
      }
      k->kind = CNN_KERNEL_IMPLICIT;
      conv_forward(T, &g, k);
      if (T->live_train[i]) conv_backward(T, n, &g, k);
      break;
    case OP_CONV_TRANSPOSE2D: convt(T, n, &g, k, T->live_train[i]); break;
    case OP_DENSE: k->kind = CNN_KERNEL_GEMM; dense(T, n, k, T->live_train[i]); break;
    case OP_MAXPOOL1D: case OP_MAXPOOL2D:
      if (pool2(n, &g)) k->kind = CNN_KERNEL_POOL2, T->needs.pool2 = true;
      break;
    case OP_GLOBAL_AVGPOOL: T->needs.sum = true; break;
    case OP_BATCHNORM: case OP_GROUPNORM: case OP_LAYERNORM: T->needs.lanes = true; break;
    default: break;
    }
    for (int f = 0; f < CNN_SCRATCH_FIELDS; f++) need(&CNN_SCRATCH(&T->scratch, f), CNN_SCRATCH(&k->scratch, f));
  }
}
