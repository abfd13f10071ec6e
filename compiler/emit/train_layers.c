/* emit/train_layers.c - the layers other than the matrix-product ones
 * (train_conv.c): pooling, elementwise, dropout, batchnorm, add, mul,
 * concat, softmax; each gets its forward and backward functions side by
 * side, and its calls in E->fwd, E->bwd. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* What follows in a layer emitter is its backward pass, which a layer that
 * only predict runs (e.g. a softmax after the logits) does not have: false
 * for those. */
bool cnn_backward_begin(Emit *E, const CnnNode *n) {
  nl(E->P);
  return E->T->live_train[n->id];
}

/* pad text for comments: "padding 2/2 x 1/0 (top/bottom x left/right)" */
const char *cnn_window_text(Emit *E, const CnnNode *n) {
  bool one_d = n->shape.rank == 2;
  if (one_d)
    return fmt(E, "kernel %d, stride %d, dilation %d, padding %d left %d right", n->kernel[1],
               n->stride[1], n->dilation[1], n->pad_lo[1], n->pad_hi[1]);
  return fmt(E, "kernel %dx%d, stride %dx%d, dilation %dx%d, padding %d/%d x %d/%d (top/bottom x left/right)",
             n->kernel[0], n->kernel[1], n->stride[0], n->stride[1], n->dilation[0], n->dilation[1],
             n->pad_lo[0], n->pad_hi[0], n->pad_lo[1], n->pad_hi[1]);
}

/* act() in a backward call: one of backward_reads(), or the plan is wrong */
const char *cnn_bact(Emit *E, const CnnNode *n, int id) {
  if (!cnn_train_reads_in_backward(E->T, n->id, E->T->root[id])) {
    fprintf(stderr, "cnncc: internal error: the memory plan misses that %s's backward pass reads %s\n",
            n->name, E->net->nodes[id].name);
    abort();
  }
  return act(E, id);
}



/* Along one axis (kernel k, stride s, padding pad, out windows): o0 and o1,
 * the first and the last window that covers input position i. */
static void emit_covering_windows(Emit *E, const char *i, const char *o, int k, int s, int pad, int out) {
  const char *first = cnn_lin(E, i, 1, NULL, 0, pad - k + 1), *last = cnn_lin(E, i, 1, NULL, 0, pad);
  pr(E->P, "const int %s0 = %s <= 0 ? 0 : (%s) / %d;", o, first, cnn_lin(E, i, 1, NULL, 0, pad - k + s), s);
  pr(E->P, "const int %s1 = (%s) / %d < %d ? (%s) / %d : %d;", o, last, s, out - 1, last, s, out - 1);
}

/* Pooling windows that do not overlap (stride >= kernel on every axis, as
 * in the common 2x2 max pooling): each input position is under one window
 * at most, so no two windows write the same position and nothing is summed
 * across windows. Max pooling stores each window's gradient at its maximum
 * (after zeroing, when the layer writes the gradient rather than adds to
 * it); average pooling writes each window's positions in turn, stride
 * apart with the taps unrolled, and zeroes first the positions under no
 * window. */
static void emit_pool_backward_disjoint(Emit *E, const CnnNode *n, const CnnConvGeo *g, bool max) {
  CnnPrinter *P = E->P;
  bool assign = E->T->assign[n->id][0];
  if (max) {
    const char *dy = E->T->relu_back[n->id] >= 0 ? "yc[o] > 0 ? dyc[o] : 0" : "dyc[o]";
    if (assign) pr(P, "memset(dxc, 0, %d * sizeof *dxc);", g->ih * g->iw);
    pr(P, "for (int o = 0; o < %d; o++) dxc[ac[o]] %s= %s;", g->oh * g->ow, assign ? "" : "+", dy);
    return;
  }
  bool tiled = g->sw == g->kw && !g->pl && g->ow * g->sw == g->iw &&
               (g->one_d || (g->sh == g->kh && !g->pt && g->oh * g->sh == g->ih));
  if (assign && !tiled) pr(P, "memset(dxc, 0, %d * sizeof *dxc);", g->ih * g->iw);
  if (!g->one_d) {
    pr(P, "for (int oy = 0; oy < %d; oy++) {", g->oh);
    pr(P, "for (int ky = 0; ky < %d; ky++) {", g->kh);
    pr(P, "const int iy = %s;", cnn_lin(E, "oy", g->sh, "ky", 1, -g->pt));
    if (cnn_pool_needs_check(g->kh, g->sh, g->pt, g->ih, g->oh)) pr(P, "if (iy < 0 || iy >= %d) continue;", g->ih);
  }
  pr(P, "for (int ox = 0; ox < %d; ox++) {", g->ow);
  pr(P, "for (int kx = 0; kx < %d; kx++) {", g->kw);
  pr(P, "const int ix = %s;", cnn_lin(E, "ox", g->sw, "kx", 1, -g->pl));
  if (cnn_pool_needs_check(g->kw, g->sw, g->pl, g->iw, g->ow)) pr(P, "if (ix < 0 || ix >= %d) continue;", g->iw);
  const char *i = g->one_d ? "ix" : fmt(E, "iy * %d + ix", g->iw);
  const char *o = g->one_d ? "ox" : fmt(E, "oy * %d + ox", g->ow);
  pr(P, "dxc[%s] %s= dyc[%s] * %s;", i, assign ? "" : "+", o, cnn_lit(E, 1.0 / (g->kh * g->kw)));
  pr(P, g->one_d ? "}\n}" : "}\n}\n}\n}");
}

/* The backward of a pooling layer as a gather: each input position sums the
 * gradients of the windows that cover it (of those whose maximum it was, for
 * max pooling) in window order, and writes its own gradient once. The
 * scatter-add it replaces (every window adding into the positions under it)
 * was miscompiled by clang 14's loop vectorizer in OpenMP-outlined code
 * where windows overlap (issue #11, tests/build-diff.sh), and it
 * read-modified-wrote every input position k times. */
static void emit_pool_backward_gather(Emit *E, const CnnNode *n, const CnnConvGeo *g, bool max) {
  CnnPrinter *P = E->P;
  if (!g->one_d) {
    pr(P, "for (int iy = 0; iy < %d; iy++) {", g->ih);
    emit_covering_windows(E, "iy", "oy", g->kh, g->sh, g->pt, g->oh);
  }
  pr(P, "for (int ix = 0; ix < %d; ix++) {", g->iw);
  emit_covering_windows(E, "ix", "ox", g->kw, g->sw, g->pl, g->ow);
  const char *i = g->one_d ? "ix" : fmt(E, "iy * %d + ix", g->iw);
  const char *o = g->one_d ? "ox" : fmt(E, "oy * %d + ox", g->ow);
  pr(P, "real s = 0;");
  if (!g->one_d) pr(P, "for (int oy = oy0; oy <= oy1; oy++) {");
  pr(P, "for (int ox = ox0; ox <= ox1; ox++) {");
  if (!max) pr(P, "s += dyc[%s];", o);
  else if (E->T->relu_back[n->id] >= 0) pr(P, "s += ac[%s] == %s && yc[%s] > 0 ? dyc[%s] : 0;", o, i, o, o);
  else pr(P, "s += ac[%s] == %s ? dyc[%s] : 0;", o, i, o);
  pr(P, g->one_d ? "}" : "}\n}");
  const char *scaled = max ? "s" : fmt(E, "s * %s", cnn_lit(E, 1.0 / (g->kh * g->kw)));
  pr(P, "dxc[%s] %s= %s;", i, E->T->assign[n->id][0] ? "" : "+", scaled);
  pr(P, "}");
  if (!g->one_d) pr(P, "}");
}

/* With a relu before it (relu_back), a max pooling's backward pass does the
 * relu's too: din is the gradient of the relu's input, and out (the
 * pooling's output, the relu's output at each window's maximum) masks dy. */
static void emit_pool_backward(Emit *E, const CnnNode *n, const CnnConvGeo *g, bool max) {
  CnnPrinter *P = E->P;
  int ihw = g->ih * g->iw, ohw = g->oh * g->ow, relu = E->T->relu_back[n->id];
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, %s%sint n) {", n->name,
     max ? "const int32_t *restrict argmax, " : "", relu >= 0 ? "const real *restrict out, " : "");
  if (relu >= 0)
    pr(P, "/* din: the gradient of %s, as %s's backward pass writes it */",
       input_node(E, &E->net->nodes[relu], 0)->name, E->net->nodes[relu].name);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", g->oc * ihw);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", g->oc);
  pr(P, "real *restrict dxc = din + (size_t)bc * %d;", ihw);
  pr(P, "const real *restrict dyc = dout + (size_t)bc * %d;", ohw);
  if (max) pr(P, "const int32_t *restrict ac = argmax + (size_t)bc * %d;", ohw);
  if (relu >= 0) pr(P, "const real *restrict yc = out + (size_t)bc * %d;", ohw);
  if (g->sw >= g->kw && (g->one_d || g->sh >= g->kh))
    emit_pool_backward_disjoint(E, n, g, max);
  else
    emit_pool_backward_gather(E, n, g, max);
  pr(P, "}\n}");
}

static void emit_pool(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  CnnConvGeo g = cnn_conv_geo(E->net, n);
  bool max = n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D;
  int ihw = g.ih * g.iw, ohw = g.oh * g.ow, khw = g.kh * g.kw;
  bool cy = !g.one_d && cnn_pool_needs_check(g.kh, g.sh, g.pt, g.ih, g.oh);
  bool cx = cnn_pool_needs_check(g.kw, g.sw, g.pl, g.iw, g.ow);
  cnn_layer_comment(E, n, fmt(E, "%s\n * %s", cnn_window_text(E, n),
                          max ? "the gradient goes to the first maximum of each window"
                              : "padding counts as zeros (count_include_pad)"));
  const char *iy = g.one_d ? NULL : cnn_lin(E, "oy", g.sh, "ky", 1, -g.pt);
  const char *ix = cnn_lin(E, "ox", g.sw, "kx", 1, -g.pl);
  const char *idx = g.one_d ? "ix" : fmt(E, "iy * %d + ix", g.iw);
  const char *oidx = g.one_d ? "ox" : fmt(E, "oy * %d + ox", g.ow);
  /* forward */
  pr(P, "static void %s_forward(real *restrict out, %sconst real *restrict in, int n) {", n->name,
     max ? "int32_t *restrict argmax, " : "");
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", g.oc * ohw * khw);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) { /* every (sample, channel) plane */", g.oc);
  pr(P, "const real *restrict xc = in + (size_t)bc * %d;", ihw);
  pr(P, "real *restrict yc = out + (size_t)bc * %d;", ohw);
  if (max) pr(P, "int32_t *restrict ac = argmax + (size_t)bc * %d;", ohw);
  bool two = E->T->kernel[n->id].kind == CNN_KERNEL_POOL2;
  if (!two) {
    if (!g.one_d) pr(P, "for (int oy = 0; oy < %d; oy++) {", g.oh);
    pr(P, "for (int ox = 0; ox < %d; ox++) {", g.ow);
  }
  if (two) {
    pr(P, "maxpool_2x2(xc, %d, %d, %d, yc, ac);", g.iw, g.oh, g.ow);
    pr(P, "}\n}");
  } else if (max && !cy && !cx && khw <= 16) {
    /* every window inside the input: its taps one after the other, from the
     * first, with selects that the compiler vectorizes over ox */
    for (int t = 0; t < khw; t++) {
      int ky = t / g.kw, kx = t % g.kw;
      const char *i = g.one_d ? cnn_lin(E, "ox", g.sw, NULL, 0, kx - g.pl)
                              : fmt(E, "(%s) * %d + %s", cnn_lin(E, "oy", g.sh, NULL, 0, ky - g.pt), g.iw,
                                    cnn_lin(E, "ox", g.sw, NULL, 0, kx - g.pl));
      if (t == 0) {
        pr(P, "int32_t best = %s;", i);
        pr(P, "real m = xc[best];");
        continue;
      }
      pr(P, "{ /* tap %d, %d: the first maximum; NaN wins */", ky, kx);
      pr(P, "const int32_t i = %s;", i);
      pr(P, "const real v = xc[i];");
      pr(P, "const int take = (v > m) | (v != v);");
      pr(P, "m = take ? v : m;");
      pr(P, "best = take ? i : best;");
      pr(P, "}");
    }
    pr(P, "yc[%s] = m;", oidx);
    pr(P, "ac[%s] = best;", oidx);
    pr(P, "}");
    if (!g.one_d) pr(P, "}");
    pr(P, "}\n}");
  } else {
  if (max) {
    pr(P, "real m = -INFINITY;");
    pr(P, "int32_t best = -1;");
  } else {
    pr(P, "real s = 0;");
  }
  if (!g.one_d) {
    pr(P, "for (int ky = 0; ky < %d; ky++) {", g.kh);
    pr(P, "const int iy = %s;", iy);
    if (cy) pr(P, "if (iy < 0 || iy >= %d) continue;", g.ih);
  }
  pr(P, "for (int kx = 0; kx < %d; kx++) {", g.kw);
  pr(P, "const int ix = %s;", ix);
  if (cx) pr(P, "if (ix < 0 || ix >= %d) continue;", g.iw);
  if (max) {
    pr(P, "const real v = xc[%s];", idx);
    pr(P, "const int take = (best < 0) | (v > m) | (v != v); /* first maximum; NaN wins */");
    pr(P, "m = take ? v : m;");
    pr(P, "best = take ? %s : best;", idx);
  } else {
    pr(P, "s += xc[%s];", idx);
  }
  pr(P, "}");
  if (!g.one_d) pr(P, "}");
  if (max) {
    pr(P, "yc[%s] = m;", oidx);
    pr(P, "ac[%s] = best;", oidx);
  } else {
    pr(P, "yc[%s] = s * %s;", oidx, cnn_lit(E, 1.0 / khw));
  }
  pr(P, "}");
  if (!g.one_d) pr(P, "}");
  pr(P, "}\n}");
  }
  const char *argmax = max ? fmt(E, "argmax.%s, ", n->name) : "";
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s%s, n);", n->name, act(E, n->id), argmax, act(E, n->inputs[0]));
  if (!cnn_backward_begin(E, n)) return;
  emit_pool_backward(E, n, &g, max);
  const char *out = E->T->relu_back[n->id] >= 0 ? fmt(E, "%s, ", cnn_bact(E, n, n->id)) : "";
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s%sn);", n->name, grad(E, n->id),
                      grad(E, cnn_train_dx_node(E->T, n->id, 0)), argmax, out);
}

/* The first maximum of each plane of global_maxpool n (NaN wins, as in
 * maxpool): the forward pass takes its value, and the backward pass finds
 * it again, rather than keeping an argmax, to give it the whole gradient
 * (PyTorch's adaptive_max_pool does the same with ties). */
static void emit_plane_argmax(Emit *E, const CnnNode *n, int positions) {
  CnnPrinter *P = E->P;
  pr(P, "static int %s_argmax(const real *restrict x) {", n->name);
  pr(P, "int best = 0;");
  pr(P, "for (int i = 1; i < %d; i++)", positions);
  pr(P, "  if (x[i] > x[best] || x[i] != x[i]) best = i;");
  pr(P, "return best;\n}");
}

/* global_avgpool and global_maxpool: the mean or the maximum over all
 * positions of each channel. */
static void emit_global_pool(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  bool max = n->op == OP_GLOBAL_MAXPOOL;
  int c = n->shape.dim[0];
  int positions = (int)(size_of(input_node(E, n, 0)) / c);
  const char *inv = cnn_lit(E, 1.0 / positions);
  cnn_layer_comment(E, n, max ? "the maximum over all positions of each channel; its gradient goes to the first"
                              : "the mean over all positions of each channel");
  if (max) emit_plane_argmax(E, n, positions);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", c);
  pr(P, "const real *restrict x = in + (size_t)bc * %d;", positions);
  if (max) pr(P, "out[bc] = x[%s_argmax(x)];", n->name);
  else pr(P, "out[bc] = sum(x, %d) * %s;", positions, inv);
  pr(P, "}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  if (!cnn_backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,%s int n) {", n->name,
     max ? " const real *restrict in," : "");
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", c);
  pr(P, "real *dx = din + (size_t)bc * %d;", positions);
  if (max) {
    pr(P, "const int best = %s_argmax(in + (size_t)bc * %d);", n->name, positions);
    pr(P, "for (int i = 0; i < %d; i++) dx[i] %s (i == best ? dout[bc] : 0);", positions, acc_op(E, n, 0));
  } else {
    pr(P, "const real g = dout[bc] * %s;", inv);
    pr(P, "for (int i = 0; i < %d; i++) dx[i] %s g;", positions, acc_op(E, n, 0));
  }
  pr(P, "}\n}");
  const char *x = max ? fmt(E, "%s, ", cnn_bact(E, n, n->inputs[0])) : "";
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %sn);", n->name, grad(E, n->id), grad(E, n->inputs[0]), x);
}

/* The inner loop of a resampling backward pass: output (oy, ox)'s gradient
 * d back to its sources with the forward pass's weights. */
static void emit_resample_scatter(Emit *E, const CnnNode *n, int iw) {
  CnnPrinter *P = E->P;
  const char *N = n->name;
  if (n->op != OP_UPSAMPLE) { /* adaptive_avgpool: the mean's share, as PyTorch divides */
    pr(P, "const int x0 = %s_x0[ox], x1 = %s_x1[ox];", N, N);
    pr(P, "const real share = d / (y1 - y0) / (x1 - x0);");
    pr(P, "for (int iy = y0; iy < y1; iy++)");
    pr(P, "  for (int ix = x0; ix < x1; ix++) dx[iy * %d + ix] += share;", iw);
  } else if (n->mode == CNN_UPSAMPLE_BILINEAR) {
    pr(P, "const int c0 = %s_x0[ox], c1 = %s_x1[ox];", N, N);
    pr(P, "const real lx1 = %s_lx[ox], lx0 = 1 - lx1;", N);
    pr(P, "dx[r0 + c0] += ly0 * lx0 * d;");
    pr(P, "dx[r0 + c1] += ly0 * lx1 * d;");
    pr(P, "dx[r1 + c0] += ly1 * lx0 * d;");
    pr(P, "dx[r1 + c1] += ly1 * lx1 * d;");
  } else {
    pr(P, "dx[r + %s_x0[ox]] += d;", N);
  }
}

/* The backward pass of a resampling layer, plane by plane (one thread a
 * plane: the sums race with no other). */
static void emit_resample_backward(Emit *E, const CnnNode *n, int ih, int iw) {
  CnnPrinter *P = E->P;
  const char *N = n->name;
  int c, oh, ow;
  cnn_shape_chw(n->shape, &c, &oh, &ow);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, int n) {", N);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * oh * ow);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", c);
  pr(P, "const real *restrict g = dout + (size_t)bc * %d;", oh * ow);
  pr(P, "real *restrict dx = din + (size_t)bc * %d;", ih * iw);
  if (!strcmp(acc_op(E, n, 0), "=")) pr(P, "for (int i = 0; i < %d; i++) dx[i] = 0;", ih * iw);
  pr(P, "for (int oy = 0; oy < %d; oy++) {", oh);
  if (n->op != OP_UPSAMPLE) {
    pr(P, "const int y0 = %s_y0[oy], y1 = %s_y1[oy];", N, N);
  } else if (n->mode == CNN_UPSAMPLE_BILINEAR) {
    pr(P, "const int r0 = %s_y0[oy] * %d, r1 = %s_y1[oy] * %d;", N, iw, N, iw);
    pr(P, "const real ly1 = %s_ly[oy], ly0 = 1 - ly1;", N);
  } else {
    pr(P, "const int r = %s_y0[oy] * %d;", N, iw);
  }
  pr(P, "for (int ox = 0; ox < %d; ox++) {", ow);
  pr(P, "const real d = g[oy * %d + ox];", ow);
  emit_resample_scatter(E, n, iw);
  pr(P, "}\n}\n}\n}");
}

/* upsample and adaptive_avgpool: the tables and the loop that the inference
 * code prints too (emit/resample.c). */
static void emit_resample(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  CnnShape in = input_node(E, n, 0)->shape;
  int c, ih, iw;
  cnn_shape_chw(in, &c, &ih, &iw);
  const char *what = n->op != OP_UPSAMPLE ? "the mean of each window [y0, y1) x [x0, x1), as F.adaptive_avg_pool"
                   : n->mode == CNN_UPSAMPLE_BILINEAR
                       ? "bilinear, as F.interpolate(align_corners=False): each output's two source rows "
                         "and columns and the second one's weight"
                       : "nearest, as F.interpolate: each output's source row and column";
  cnn_layer_comment(E, n, what);
  cnn_print_resample_tables(P, n, in, "real", E->dbl);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
  pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 16384)", size_of(n));
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", c);
  pr(P, "const real *restrict x = in + (size_t)bc * %d;", ih * iw);
  pr(P, "real *restrict y = out + (size_t)bc * %" PRId64 ";", size_of(n) / c);
  cnn_print_resample_plane(P, n, in, "real", "x", "y");
  pr(P, "}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  if (!cnn_backward_begin(E, n)) return;
  emit_resample_backward(E, n, ih, iw);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), grad(E, n->inputs[0]));
}

/* The activations (CNN_OPF_ACTIVATION): one element at a time. */
static void emit_elementwise(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  /* the formulas of front/ops.c's table */
  const CnnActFormulas *f = &cnn_op_info(n->op)->act;
  bool uses_out = f->reads_output; /* the derivative reads out[i], else in[i] */
  CnnFormulaArgs args = {.x = "x", .g = "dout[i]", .a = f->arg ? cnn_lit(E, n->negative_slope) : NULL,
                         .f = E->dbl ? "" : "f"};
  const char *y = cnn_formula(E->A, f->scalar, &args, false);
  args.x = uses_out ? "out[i]" : "in[i]";
  const char *dx = cnn_formula(E->A, f->derivative, &args, false);
  const char *note = f->arg ? fmt(E, "%s %g", f->arg, n->negative_slope) : "";
  int into = E->T->fused[n->id] ? n->inputs[0] : -1;
  if (into >= 0 && cnn_merges_relu_backward(&E->net->nodes[into])) {
    cnn_layer_comment(E, n, fmt(E, "no code: %s does it", E->net->nodes[into].name));
    return;
  }
  int back = E->T->back_into[n->id]; /* a max pooling that does the backward pass */
  const char *pool = back >= 0 ? E->net->nodes[back].name : NULL;
  const char *fwd = into >= 0 ? fmt(E, "forward: %s computes the output", E->net->nodes[into].name) : note;
  cnn_layer_comment(E, n, pool ? fmt(E, "%s%sbackward: %s does it", fwd, *fwd ? "; " : "", pool) : fwd);
  if (into >= 0 && pool) return;
  if (into < 0) {
    pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
    pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
    pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) {", size);
    pr(P, "const real x = in[i];");
    pr(P, "out[i] = %s;", y);
    pr(P, "}\n}");
    E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  }
  if (pool || !cnn_backward_begin(E, n)) return;
  const char *used = cnn_bact(E, n, uses_out ? n->id : n->inputs[0]);
  if (E->T->in_place[n->id]) {
    pr(P, "static void %s_backward(real *restrict dout, const real *restrict %s, int n) {", n->name,
       uses_out ? "out" : "in");
    pr(P, "/* in place: dout, the gradient of %s, becomes that of %s */", n->name, input_node(E, n, 0)->name);
    pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
    pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) dout[i] = %s;", size, dx);
    pr(P, "}");
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), used);
  } else {
    pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
    pr(P, "    const real *restrict %s, int n) {", uses_out ? "out" : "in");
    pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
    pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) din[i] %s %s;", size, acc_op(E, n, 0), dx);
    pr(P, "}");
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, n);", n->name, grad(E, n->id), grad(E, n->inputs[0]), used);
  }
}

static void emit_dropout(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  /* keep iff (hash >> 11) * 2^-53 >= p, i.e. (hash >> 11) >= ceil(p * 2^53) */
  uint64_t threshold = (uint64_t)ceil(n->p * 9007199254740992.0);
  const char *scale = cnn_lit(E, 1.0 / (1.0 - n->p));
  cnn_layer_comment(E, n, fmt(E, "p %g: in training each element is kept with probability 1 - p and scaled by 1/(1-p);\n"
                             " * the mask is a hash of (dropout_seed, layer id %d, element index in the batch)",
                          n->p, n->id));
  if (threshold == 0) /* p = 0 keeps everything; a ">= 0" test would draw a warning */
    pr(P, "#define %s_KEEP(seed, i) ((void)(seed), (void)(i), 1)", n->name);
  else
    pr(P, "#define %s_KEEP(seed, i) ((rt_hash64(seed, %d, i) >> 11) >= UINT64_C(%" PRIu64 "))", n->name,
       n->id, threshold);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n, int training,", n->name);
  pr(P, "    uint64_t seed) {");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++)", size);
  pr(P, "  out[i] = !training ? in[i] : %s_KEEP(seed, i) ? in[i] * %s : 0;", n->name, scale);
  pr(P, "}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n, training, dropout_seed);", n->name, act(E, n->id),
                      act(E, n->inputs[0]));
  E->fwd_training[n->id] = E->fwd_seed[n->id] = true;
  if (!cnn_backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, int n, int training,",
     n->name);
  pr(P, "    uint64_t seed) {");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++)", size);
  pr(P, "  din[i] %s !training ? dout[i] : %s_KEEP(seed, i) ? dout[i] * %s : 0;", acc_op(E, n, 0), n->name, scale);
  pr(P, "}");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n, last.training, last.dropout_seed);", n->name,
                      grad(E, n->id), grad(E, n->inputs[0]));
}

/* Per-channel sums over the batch: each row of a channel (one sample's
 * positions) is summed in 16 lanes of the code's type, which vectorize, and
 * the lanes are added to 16 double lanes; the lanes are totalled at the end.
 * The order is fixed whatever the threads (which share the channels). */
void cnn_emit_lanes(Emit *E) {
  CnnPrinter *P = E->P;
  nl(P);
  pr(P, "/* lane[j] += the sum of the x[i] with i %% 16 == j */");
  pr(P, "static INLINE void add_lanes(double lane[16], const real *restrict x, int n) {");
  pr(P, "real f[16] = {0};");
  pr(P, "int i = 0;");
  pr(P, "for (; i + 16 <= n; i += 16)");
  pr(P, "  for (int j = 0; j < 16; j++) f[j] += x[i + j];");
  pr(P, "for (int j = 0; i + j < n; j++) f[j] += x[i + j];");
  pr(P, "for (int j = 0; j < 16; j++) lane[j] += f[j];");
  pr(P, "}");
  nl(P);
  pr(P, "/* the same with (x[i] - mean)^2 */");
  pr(P, "static INLINE void add_lanes_sq(double lane[16], const real *restrict x, real mean, int n) {");
  pr(P, "real f[16] = {0};");
  pr(P, "int i = 0;");
  pr(P, "for (; i + 16 <= n; i += 16)");
  pr(P, "  for (int j = 0; j < 16; j++) f[j] += (x[i + j] - mean) * (x[i + j] - mean);");
  pr(P, "for (int j = 0; i + j < n; j++) f[j] += (x[i + j] - mean) * (x[i + j] - mean);");
  pr(P, "for (int j = 0; j < 16; j++) lane[j] += f[j];");
  pr(P, "}");
  nl(P);
  pr(P, "/* y = x * scale + shift: the one expression of a batchnorm's output, so that the");
  pr(P, " * backward pass's relu mask is the forward pass's, bit for bit */");
  pr(P, "static INLINE real bn_affine(real x, real scale, real shift) { return x * scale + shift; }");
  nl(P);
  pr(P, "/* the sums of dy and of dy * (x - mean), dy = g, or with relu g where the output");
  pr(P, " * bn_affine(x, scale, shift) > 0: the mask from x, which is read anyway, rather than");
  pr(P, " * from the relu's output, one stream of memory less */");
  pr(P, "static INLINE void add_lanes_grad(double s[16], double t[16], const real *restrict g,");
  pr(P, "    const real *restrict x, real mean, int relu, real scale, real shift, int n) {");
  pr(P, "real fs[16] = {0}, ft[16] = {0};");
  pr(P, "int i = 0;");
  pr(P, "if (relu) {");
  pr(P, "for (; i + 16 <= n; i += 16)");
  pr(P, "  for (int j = 0; j < 16; j++) {");
  pr(P, "    const real gj = g[i + j], dy = bn_affine(x[i + j], scale, shift) > 0 ? gj : 0;");
  pr(P, "    fs[j] += dy;");
  pr(P, "    ft[j] += dy * (x[i + j] - mean);");
  pr(P, "  }");
  pr(P, "for (int j = 0; i + j < n; j++) {");
  pr(P, "const real gj = g[i + j], dy = bn_affine(x[i + j], scale, shift) > 0 ? gj : 0;");
  pr(P, "fs[j] += dy;");
  pr(P, "ft[j] += dy * (x[i + j] - mean);");
  pr(P, "}");
  pr(P, "} else {");
  pr(P, "for (; i + 16 <= n; i += 16)");
  pr(P, "  for (int j = 0; j < 16; j++) {");
  pr(P, "    fs[j] += g[i + j];");
  pr(P, "    ft[j] += g[i + j] * (x[i + j] - mean);");
  pr(P, "  }");
  pr(P, "for (int j = 0; i + j < n; j++) {");
  pr(P, "fs[j] += g[i + j];");
  pr(P, "ft[j] += g[i + j] * (x[i + j] - mean);");
  pr(P, "}");
  pr(P, "}");
  pr(P, "for (int j = 0; j < 16; j++) {");
  pr(P, "s[j] += fs[j];");
  pr(P, "t[j] += ft[j];");
  pr(P, "}\n}");
  nl(P);
  pr(P, "static INLINE double lanes_total(const double l[16]) {");
  pr(P, "double h[8];");
  pr(P, "for (int j = 0; j < 8; j++) h[j] = l[j] + l[j + 8];");
  pr(P, "return ((h[0] + h[1]) + (h[2] + h[3])) + ((h[4] + h[5]) + (h[6] + h[7]));");
  pr(P, "}");
}

/* What the batchnorm printers share: c channels of positions values each,
 * and the relu fused into it (relu, its node's id, or -1; rname its name). */
typedef struct {
  int c, positions, relu;
  const char *rname;
} Batchnorm;

static Batchnorm batchnorm_shape(Emit *E, const CnnNode *n) {
  Batchnorm bn = {.c = n->shape.dim[0], .relu = E->T->relu_into[n->id]};
  bn.positions = (int)(size_of(n) / bn.c);
  bn.rname = bn.relu >= 0 ? E->net->nodes[bn.relu].name : NULL;
  return bn;
}

/* The output from the statistics: the forward pass and the recomputation
 * (which must give the same values) run this one function. */
static void batchnorm_normalize(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Batchnorm bn = batchnorm_shape(E, n);
  pr(P, "/* channel c of the output%s: y = x * scale + shift%s with the statistics of the last\n"
        " * forward pass */",
     bn.relu >= 0 ? fmt(E, ", the output of %s", bn.rname) : "", bn.relu >= 0 ? ", then relu" : "");
  pr(P, "static NOINLINE void %s_normalize(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, const real *restrict bias, int c, int n) {");
  pr(P, "const real scale = weight[c] * %s_invstd[c], shift = bias[c] - %s_mean[c] * scale;", n->name, n->name);
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", bn.c, bn.positions);
  pr(P, "real *y = out + ((size_t)b * %d + c) * %d;", bn.c, bn.positions);
  if (bn.relu >= 0) {
    pr(P, "for (int i = 0; i < %d; i++) {", bn.positions);
    pr(P, "const real v = bn_affine(x[i], scale, shift);");
    pr(P, "y[i] = v > 0 ? v : 0;");
    pr(P, "}");
  } else {
    pr(P, "for (int i = 0; i < %d; i++) y[i] = bn_affine(x[i], scale, shift);", bn.positions);
  }
  pr(P, "}\n}");
  nl(P);
}

static void batchnorm_forward(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Batchnorm bn = batchnorm_shape(E, n);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, const real *restrict bias, real *restrict running_mean,");
  pr(P, "    real *restrict running_var, int n, int training) {");
  pr(P, "const int count = n * %d;", bn.positions);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", bn.c * bn.positions);
  pr(P, "for (int c = 0; c < %d; c++) {", bn.c);
  pr(P, "real mean, invstd;");
  pr(P, "if (training) {");
  pr(P, "double s[16] = {0}, ss[16] = {0};");
  pr(P, "for (int b = 0; b < n; b++) add_lanes(s, in + ((size_t)b * %d + c) * %d, %d);", bn.c, bn.positions,
     bn.positions);
  pr(P, "const double mu = lanes_total(s) / count;");
  pr(P, "for (int b = 0; b < n; b++) add_lanes_sq(ss, in + ((size_t)b * %d + c) * %d, (real)mu, %d);", bn.c,
     bn.positions, bn.positions);
  pr(P, "const double var = lanes_total(ss); /* times count */");
  pr(P, "const double unbiased = count > 1 ? var / (count - 1) : var;");
  pr(P, "running_mean[c] = (real)((1 - %s) * running_mean[c] + %s * mu);", cnn_num(E, n->momentum),
     cnn_num(E, n->momentum));
  pr(P, "running_var[c] = (real)((1 - %s) * running_var[c] + %s * unbiased);", cnn_num(E, n->momentum),
     cnn_num(E, n->momentum));
  pr(P, "mean = (real)mu;");
  pr(P, "invstd = (real)(1 / sqrt(var / count + %s));", cnn_num(E, n->eps));
  pr(P, "} else {");
  pr(P, "mean = running_mean[c];");
  pr(P, "invstd = (real)(1 / sqrt(running_var[c] + %s));", cnn_num(E, n->eps));
  pr(P, "}");
  pr(P, "%s_mean[c] = mean;", n->name);
  pr(P, "%s_invstd[c] = invstd;", n->name);
  pr(P, "%s_normalize(out, in, weight, bias, c, n);", n->name);
  pr(P, "}\n}");
}

/* dy is the gradient of the output, or with a fused relu the relu's
 * gradient where its output is > 0: the output from x again (bn_affine),
 * as the forward pass computed it, rather than read */
static void batchnorm_backward(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Batchnorm bn = batchnorm_shape(E, n);
  bool in_place = E->T->in_place[n->id];
  const char *dy1 = bn.relu >= 0 ? "(bn_affine(x[i], scale, shift) > 0 ? g[i] : 0)" : "g[i]";
  if (in_place)
    pr(P, "static void %s_backward(real *restrict dout, int din,", n->name);
  else
    pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, %sreal *restrict dweight,",
     bn.relu >= 0 ? "const real *restrict bias, " : "");
  pr(P, "    real *restrict dbias, int n, int training) {");
  pr(P, "const int count = n * %d;", bn.positions);
  if (bn.relu >= 0) pr(P, "/* dout: the gradient of %s, whose output is relu(bn_affine(x, scale, shift)) */", bn.rname);
  if (in_place)
    pr(P, "/* in place: dout, the gradient of %s, becomes that of %s (if din) */",
       bn.relu >= 0 ? bn.rname : n->name,
       input_node(E, n, 0)->name);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", bn.c * bn.positions);
  pr(P, "for (int c = 0; c < %d; c++) {", bn.c);
  pr(P, "const real mean = %s_mean[c], invstd = %s_invstd[c];", n->name, n->name);
  if (bn.relu >= 0)
    pr(P, "const real scale = weight[c] * invstd, shift = bias[c] - mean * scale; /* as %s_normalize */", n->name);
  pr(P, "double s[16] = {0}, t[16] = {0}; /* sums of dy and of dy * (x - mean), in lanes */");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const size_t at = ((size_t)b * %d + c) * %d;", bn.c, bn.positions);
  pr(P, "add_lanes_grad(s, t, dout + at, in + at, mean, %s, %d);", bn.relu >= 0 ? "1, scale, shift" : "0, 0, 0",
     bn.positions);
  pr(P, "}");
  pr(P, "const double sdy = lanes_total(s), sdyx = lanes_total(t);");
  pr(P, "dbias[c] += (real)sdy;");
  pr(P, "dweight[c] += (real)(sdyx * invstd);");
  pr(P, "if (!din) continue;");
  pr(P, "const real k = weight[c] * invstd;");
  pr(P, "/* in training the mean and variance depend on x too */");
  pr(P, "const real a = training ? (real)(sdy / count) : 0;");
  pr(P, "const real q = training ? (real)(sdyx * invstd * invstd / count) : 0;");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const size_t at = ((size_t)b * %d + c) * %d;", bn.c, bn.positions);
  if (in_place) {
    pr(P, "const real *x = in + at;");
    pr(P, "real *g = dout + at;");
    pr(P, "for (int i = 0; i < %d; i++) g[i] = k * (%s - a - (x[i] - mean) * q);", bn.positions, dy1);
  } else {
    pr(P, "const real *x = in + at, *g = dout + at;");
    pr(P, "real *dx = din + at;");
    pr(P, "for (int i = 0; i < %d; i++) dx[i] %s k * (%s - a - (x[i] - mean) * q);", bn.positions,
       acc_op(E, n, 0), dy1);
  }
  pr(P, "}\n}\n}");
}

/* the output again for the backward passes that read it, if not kept */
static void batchnorm_recompute(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Batchnorm bn = batchnorm_shape(E, n);
  int r = bn.relu >= 0 ? bn.relu : n->id;
  if (E->T->recompute[r] != n->id) return;
  nl(P);
  pr(P, "/* %s again for the backward passes that read it, which is not kept: the values\n"
        " * of the forward pass, bit for bit */", E->net->nodes[r].name);
  pr(P, "static void %s_recompute(real *restrict out, const real *restrict in, const real *restrict weight,",
     n->name);
  pr(P, "    const real *restrict bias, int n) {");
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", bn.c * bn.positions);
  pr(P, "for (int c = 0; c < %d; c++) %s_normalize(out, in, weight, bias, c, n);", bn.c, n->name);
  pr(P, "}");
}

static void emit_batchnorm(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Batchnorm bn = batchnorm_shape(E, n);
  cnn_layer_comment(E, n, fmt(E, "%s; eps %g, momentum %g\n"
                             " * training: normalize with the batch mean and biased variance over the %s,\n"
                             " * and move the running stats toward the mean and the unbiased variance;\n"
                             " * evaluation: normalize with the running stats%s",
                          cnn_tensor_shape_text(E, n), n->eps, n->momentum,
                          bn.positions > 1 ? fmt(E, "batch and %d positions", bn.positions) : "batch",
                          bn.relu >= 0 ? fmt(E, "\n * with %s: writes relu(y) as the output of %s, and does its backward pass",
                                             bn.rname, bn.rname)
                                       : ""));
  pr(P, "static real %s_mean[%d], %s_invstd[%d]; /* what the last forward used */", n->name, bn.c, n->name,
     bn.c);
  nl(P);
  batchnorm_normalize(E, n);
  batchnorm_forward(E, n);
  const char *ps[4];
  for (int t = 0; t < 4; t++) ps[t] = param(E, n, E->T->ts[n->id][t].name);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s, %s, %s, n, training);", n->name, out_act(E, n),
                      act(E, n->inputs[0]), ps[0], ps[1], ps[2], ps[3]);
  E->fwd_training[n->id] = true;
  if (!cnn_backward_begin(E, n)) return;
  batchnorm_backward(E, n);
  bool in_place = E->T->in_place[n->id];
  batchnorm_recompute(E, n);
  /* in place: whether to write the input's gradient */
  const char *din = !in_place ? din_arg(E, n, 0) : E->T->ng[n->inputs[0]] ? "1" : "want_dx";
  if (bn.relu >= 0)
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s, %s_grad, %s_grad, n, last.training);", n->name,
                        grad(E, bn.relu), din, cnn_bact(E, n, n->inputs[0]), ps[0], ps[1], ps[0], ps[1]);
  else
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s_grad, n, last.training);", n->name,
                        grad(E, n->id), din, cnn_bact(E, n, n->inputs[0]), ps[0], ps[0], ps[1]);
}

/* A list of the inputs' buffers as a compound literal: (const real *const[]){...} */
static const char *buffer_list(Emit *E, const CnnNode *n, bool grads) {
  size_t cap = 64 + (size_t)n->ninputs * 80, o = 0;
  char *s = cnn_alloc(E->A, cap);
  o += (size_t)snprintf(s, cap, grads ? "(real *const[]){" : "(const real *const[]){");
  for (int k = 0; k < n->ninputs; k++)
    o += (size_t)snprintf(s + o, cap - o, "%s%s", k ? ", " : "",
                          !grads                   ? act(E, n->inputs[k])
                          : n->op == OP_ADD && E->T->add_alias[n->id][k] ? "NULL"
                                                   : din_arg(E, n, k));
  snprintf(s + o, cap - o, "}");
  return s;
}

/* In a backward pass over several inputs: which gradients it writes (=, the
 * first writer) rather than adds to (+=). */
static void emit_assign_flags(Emit *E, const CnnNode *n) {
  char buf[3 * CNN_MAX_INPUTS + 8];
  size_t o = 0;
  for (int k = 0; k < n->ninputs; k++)
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%d", k ? ", " : "", E->T->assign[n->id][k] ? 1 : 0);
  pr(E->P, "/* 1: the gradient of the input is written here first (=); 0: added to (+=) */");
  pr(E->P, "static const unsigned char assign[%d] = {%s};", n->ninputs, buf);
}

static void emit_add(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  int relu = E->T->relu_into[n->id];
  const char *rname = relu >= 0 ? E->net->nodes[relu].name : NULL;
  /* inputs whose gradient is the buffer of the sum's: nothing to do */
  const char *shared = "";
  bool o = false;
  for (int k = 0; k < n->ninputs; k++)
    if (E->T->add_alias[n->id][k]) {
      shared = fmt(E, "%s%s%s", shared, o ? ", " : "", input_node(E, n, k)->name);
      o = true;
    }
  cnn_layer_comment(E, n, fmt(E, "the sum of %d inputs; each gets the whole gradient%s%s", n->ninputs,
                          relu >= 0 ? fmt(E, "\n * with %s: writes relu(sum) as its output, and does its backward pass", rname) : "",
                          o ? fmt(E, "\n * the gradient of %s is the sum's (the same buffer, NULL in din)", shared) : ""));
  pr(P, "static void %s_forward(real *restrict out, const real *const in[%d], int n) {", n->name,
     n->ninputs);
  pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size * n->ninputs);
  pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) {", size);
  pr(P, "real s = in[0][i];");
  pr(P, "for (int k = 1; k < %d; k++) s += in[k][i];", n->ninputs);
  pr(P, relu >= 0 ? "out[i] = s > 0 ? s : 0; /* %s */" : "out[i] = s;%s", relu >= 0 ? rname : "");
  pr(P, "}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, out_act(E, n), buffer_list(E, n, false));
  if (!cnn_backward_begin(E, n)) return;
  /* with a relu and inputs that share the buffer: the sum's gradient is made there, in place */
  bool in_place = relu >= 0 && o;
  pr(P, "static void %s_backward(%sreal *restrict dout, %sreal *const din[%d], int n) {", n->name,
     in_place ? "" : "const ", relu >= 0 ? "const real *restrict out, " : "", n->ninputs);
  emit_assign_flags(E, n);
  if (relu >= 0) pr(P, "/* dout, out: the gradient and output of %s */", rname);
  pr(P, "const long count = n * %" PRId64 "L;", size);
  pr(P, "/* in blocks of 2048 values, so that each input reads the block of dout from the");
  pr(P, " * first-level cache: dout (and out) come from memory once */");
  pr(P, "PARALLEL_FOR_IF(count > 32768)");
  pr(P, "for (long at = 0; at < count; at += 2048) {");
  pr(P, "const int m = count - at < 2048 ? (int)(count - at) : 2048;");
  pr(P, "%sreal *restrict g = dout + at;", in_place ? "" : "const ");
  if (relu >= 0) pr(P, "const real *restrict y = out + at;");
  if (in_place) {
    pr(P, "/* in place: dout becomes the gradient of the sum, which is that of %s */", shared);
    pr(P, "for (int i = 0; i < m; i++) g[i] = y[i] > 0 ? g[i] : 0;");
  }
  pr(P, "for (int k = 0; k < %d; k++) {", n->ninputs);
  pr(P, "if (!din[k]) continue;");
  pr(P, "real *restrict d = din[k] + at;");
  if (relu >= 0 && !in_place) {
    pr(P, "for (int i = 0; i < m; i++) {");
    pr(P, "const real dy = y[i] > 0 ? g[i] : 0;");
    pr(P, "d[i] = assign[k] ? dy : d[i] + dy;");
    pr(P, "}");
  } else {
    pr(P, "if (assign[k])");
    pr(P, "  memcpy(d, g, (size_t)m * sizeof *d);");
    pr(P, "else");
    pr(P, "  for (int i = 0; i < m; i++) d[i] += g[i];");
  }
  pr(P, "}\n}\n}");
  if (relu >= 0)
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, n);", n->name, grad(E, relu), cnn_bact(E, n, relu),
                        buffer_list(E, n, true));
  else
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), buffer_list(E, n, true));
}

static void emit_mul(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  cnn_layer_comment(E, n, "the element-wise product of two inputs");
  pr(P, "static void %s_forward(real *restrict out, const real *a, const real *b, int n) {", n->name);
  pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
  pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) out[i] = a[i] * b[i];", size);
  pr(P, "}");
  const char *a = act(E, n->inputs[0]), *b = act(E, n->inputs[1]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, n);", n->name, act(E, n->id), a, b);
  if (!cnn_backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *da, real *db, const real *a,", n->name);
  pr(P, "    const real *b, int n) {");
  pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
  pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) {", size);
  pr(P, "const real g = dout[i], ai = a[i], bi = b[i];");
  pr(P, "if (da) da[i] %s g * bi;", acc_op(E, n, 0));
  pr(P, "if (db) db[i] %s g * ai;", acc_op(E, n, 1));
  pr(P, "}\n}");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s, n);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), din_arg(E, n, 1), cnn_bact(E, n, n->inputs[0]), cnn_bact(E, n, n->inputs[1]));
}

static void emit_concat(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  char sizes[1024], offs[1024];
  size_t so = 0, oo = 0;
  int64_t off = 0;
  for (int k = 0; k < n->ninputs; k++) {
    int64_t s = size_of(input_node(E, n, k));
    so += (size_t)snprintf(sizes + so, sizeof sizes - so, "%s%" PRId64, k ? ", " : "", s);
    oo += (size_t)snprintf(offs + oo, sizeof offs - oo, "%s%" PRId64, k ? ", " : "", off);
    off += s;
    if (so > sizeof sizes - 32 || oo > sizeof offs - 32) break;
  }
  cnn_layer_comment(E, n, fmt(E, "%d inputs stacked along the channels", n->ninputs));
  pr(P, "static const int %s_size[%d] = {%s}; /* per sample */", n->name, n->ninputs, sizes);
  pr(P, "static const int %s_offset[%d] = {%s};", n->name, n->ninputs, offs);
  nl(P);
  pr(P, "static void %s_forward(real *restrict out, const real *const in[%d], int n) {", n->name,
     n->ninputs);
  pr(P, "for (int b = 0; b < n; b++)");
  pr(P, "  for (int k = 0; k < %d; k++)", n->ninputs);
  pr(P, "    memcpy(out + (size_t)b * %" PRId64 " + %s_offset[k], in[k] + (size_t)b * %s_size[k],", size,
     n->name, n->name);
  pr(P, "           %s_size[k] * sizeof *out);", n->name);
  pr(P, "}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), buffer_list(E, n, false));
  if (!cnn_backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *const din[%d], int n) {", n->name,
     n->ninputs);
  emit_assign_flags(E, n);
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "for (int k = 0; k < %d; k++) {", n->ninputs);
  pr(P, "if (!din[k]) continue;");
  pr(P, "real *dx = din[k] + (size_t)b * %s_size[k];", n->name);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 " + %s_offset[k];", size, n->name);
  pr(P, "if (assign[k]) memcpy(dx, dy, %s_size[k] * sizeof *dx);", n->name);
  pr(P, "else for (int i = 0; i < %s_size[k]; i++) dx[i] += dy[i];", n->name);
  pr(P, "}\n}\n}");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), buffer_list(E, n, true));
}

static void emit_softmax(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int c = n->shape.dim[0];
  int positions = (int)(size_of(n) / c);
  cnn_layer_comment(E, n, fmt(E, "softmax over the %d channels at each of %d position%s", c, positions,
                          positions == 1 ? "" : "s"));
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "for (int p = 0; p < %d; p++) {", positions);
  pr(P, "const real *x = in + (size_t)b * %" PRId64 " + p;", size_of(n));
  pr(P, "real *y = out + (size_t)b * %" PRId64 " + p;", size_of(n));
  pr(P, "real m = x[0], s = 0;");
  pr(P, "for (int c = 1; c < %d; c++) m = x[c * %d] > m ? x[c * %d] : m;", c, positions, positions);
  pr(P, "for (int c = 0; c < %d; c++) s += y[c * %d] = %s(x[c * %d] - m);", c, positions,
     fn(E, "exp"), positions);
  pr(P, "for (int c = 0; c < %d; c++) y[c * %d] /= s;", c, positions);
  pr(P, "}\n}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  if (!cnn_backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict out, int n) {");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "for (int p = 0; p < %d; p++) {", positions);
  pr(P, "const size_t base = (size_t)b * %" PRId64 " + p;", size_of(n));
  pr(P, "real s = 0;");
  pr(P, "for (int c = 0; c < %d; c++) s += dout[base + c * %d] * out[base + c * %d];", c, positions,
     positions);
  pr(P, "for (int c = 0; c < %d; c++)", c);
  pr(P, "  din[base + c * %d] %s out[base + c * %d] * (dout[base + c * %d] - s);", positions,
     acc_op(E, n, 0), positions, positions);
  pr(P, "}\n}\n}");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, n);", n->name, grad(E, n->id),
                      grad(E, n->inputs[0]), cnn_bact(E, n, n->id));
}

/* A flatten is a view: its output is its input's memory. */
static void emit_flatten(Emit *E, const CnnNode *n) {
  cnn_layer_comment(E, n, fmt(E, "no code: the same memory as %s, viewed as a vector", input_node(E, n, 0)->name));
}

/* The printer of each operator's layer (none for the input; the
 * activations' is emit_elementwise). */
static void (*const print_layer[OP_COUNT])(Emit *, const CnnNode *) = {
    [OP_CONV1D] = cnn_emit_conv,         [OP_CONV2D] = cnn_emit_conv,
    [OP_CONV_TRANSPOSE2D] = cnn_emit_conv, [OP_MAXPOOL1D] = emit_pool,
    [OP_MAXPOOL2D] = emit_pool,           [OP_AVGPOOL1D] = emit_pool,
    [OP_AVGPOOL2D] = emit_pool,           [OP_GLOBAL_AVGPOOL] = emit_global_pool,
    [OP_GLOBAL_MAXPOOL] = emit_global_pool, [OP_UPSAMPLE] = emit_resample,
    [OP_ADAPTIVE_AVGPOOL1D] = emit_resample, [OP_ADAPTIVE_AVGPOOL2D] = emit_resample,
    [OP_DENSE] = cnn_emit_dense,          [OP_FLATTEN] = emit_flatten,
    [OP_BATCHNORM] = emit_batchnorm,      [OP_DROPOUT] = emit_dropout,
    [OP_GROUPNORM] = cnn_emit_norm,       [OP_LAYERNORM] = cnn_emit_norm,
    [OP_ADD] = emit_add,                  [OP_MUL] = emit_mul,
    [OP_CONCAT] = emit_concat,            [OP_SOFTMAX] = emit_softmax,
};

void cnn_emit_layer(Emit *E, const CnnNode *n) {
  if (cnn_op_info(n->op)->flags & CNN_OPF_ACTIVATION) emit_elementwise(E, n);
  else if (print_layer[n->op]) print_layer[n->op](E, n);
}
