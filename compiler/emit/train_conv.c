/* emit/train_conv.c - the layers that run as matrix products: conv1d,
 * conv2d, conv_transpose2d and dense, each with the kernels the plan chose
 * for it (plan/train_kernels.c). */
#include "train.h"

/* ---- kernels: convolutions and dense layers as matrix products ----
 *
 * A convolution gathers, for every output position p, the input values
 * under the kernel: with col[k][p] = x[ic][iy][ix] for k = (ic, ky, kx) (0
 * in the padding; "im2col"), it is the matrix product y = weight * col, and
 * its gradients are products too: d weight = dy * col^T and d col =
 * weight^T * dy, which "col2im" adds back to the input pixels. A transposed
 * convolution is the same with the roles of input and output exchanged.
 * The products run in the file's gemm() (emit/kernels.c) on packed
 * operands: the window copies write col straight into gemm's panels. The
 * work over the batch goes in PARTS fixed parts, in parallel; the weight
 * gradient of each part is summed into part[p].dw and the parts are added
 * in order (add_parts), so the result does not depend on the threads. */

static void emit_window(Emit *E, const CnnNode *n, const CnnWindow *w) {
  pr(E->P, "static const Window %s_window = {.c = %d, .h = %d, .w = %d, .oh = %d, .ow = %d,", n->name,
     w->c, w->h, w->w, w->oh, w->ow);
  pr(E->P, "    .kh = %d, .kw = %d, .sh = %d, .sw = %d, .dh = %d, .dw = %d, .pt = %d, .pl = %d};", w->kh,
     w->kw, w->sh, w->sw, w->dh, w->dw, w->pt, w->pl);
  nl(E->P);
}

/* The loop over the parts of the batch, each part's samples in order. */
static void parts_begin(Emit *E) {
  pr(E->P, "PARALLEL_PARTS_IF(n > 1)");
  pr(E->P, "for (int p = 0; p < PARTS; p++) {");
  if (E->opt->mpi) pr(E->P, "if (!PART_MINE(p)) continue; /* another rank's */");
  pr(E->P, "for (int b = PART_BEGIN(n, p); b < PART_BEGIN(n, p + 1); b++) {");
}

/* An image of implicit products, its taps' offsets (a constant table) and
 * the function that pads it: the geometry the layer's specialized kernels
 * are inlined on (kernels/implicit.h). */
static void emit_implicit(Emit *E, const char *name, const char *what, const CnnImplicit *m) {
  CnnPrinter *P = E->P;
  int K = m->c * m->kh * m->kw, *off = cnn_alloc(E->A, sizeof *off * (size_t)K);
  pr(P, "static const Implicit %s = {.c = %d, .h = %d, .w = %d, .oh = %d, .ow = %d, /* %s */", name, m->c,
     m->h, m->w, m->oh, m->ow, what);
  pr(P, "    .kh = %d, .kw = %d, .dh = %d, .dw = %d, .sh = %d, .sw = %d, .pt = %d, .pl = %d, .hp = %d,", m->kh,
     m->kw, m->dh, m->dw, m->sh, m->sw, m->pt, m->pl, m->hp);
  pr(P, "    .wp = %d};", m->wp);
  cnn_implicit_offsets(m, off);
  pr(P, "static const int %s_off[%d] = {", name, K);
  for (int k0 = 0; k0 < K; k0 += 12) {
    const char *line = "";
    for (int k = k0; k < K && k < k0 + 12; k++) line = fmt(E, "%s%d,%s", line, off[k], k + 1 < k0 + 12 ? " " : "");
    pr(P, "    %s", line);
  }
  pr(P, "};");
  pr(P, "static NOINLINE void %s_pad(real *restrict xp, const real *restrict x) {", name);
  pr(P, "SPECIALIZED(pad_image)(&%s, xp, x);", name);
  pr(P, "}");
}

/* name_product: y (m rows, ldy apart) = bias + or add to the implicit
 * product of ap and the image, relu or not, specialized (implicit.h) */
static void emit_product(Emit *E, const char *name, const char *img, int m, int64_t ldy, bool bias,
                         const char *add, bool relu) {
  CnnPrinter *P = E->P;
  pr(P, "static NOINLINE void %s_product(const real *restrict ap, const real *restrict xp, real *restrict y%s) {",
     name, bias ? ", const real *restrict bias" : "");
  pr(P, "SPECIALIZED(conv_implicit)(%d, ap, &%s, %s_off, xp, y, %" PRId64 ", %s, %s, %d);", m, img, img, ldy,
     bias ? "bias" : "NULL", add, relu ? 1 : 0);
  pr(P, "}");
}

/* name_wgrad: the weight gradient of one sample into a part's dw (add:
 * after the part's first sample), along the positions (dot) or as a product
 * with dy packed into b, specialized (implicit.h) */
static void emit_wgrad(Emit *E, const char *name, const char *img, int m, bool dot) {
  CnnPrinter *P = E->P;
  pr(P, "static NOINLINE void %s_wgrad(const real *restrict dy, const real *restrict xp, real *restrict b,", name);
  pr(P, "    real *restrict dw, int add) {");
  if (dot) {
    pr(P, "SPECIALIZED(conv_wgrad_dot)(%d, dy, &%s, %s_off, xp, b, dw, add);", m, img, img);
  } else {
    pr(P, "SPECIALIZED(pack_dy)(%d, dy, &%s, b);", m, img);
    pr(P, "SPECIALIZED(conv_implicit_wgrad)(%d, b, &%s, %s_off, xp, dw, add);", m, img, img);
  }
  pr(P, "}");
}

static void conv_forward_implicit(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  CnnImplicit m = cnn_implicit_image(g);
  int64_t K = (int64_t)m.c * m.kh * m.kw, pos = (int64_t)g->oh * g->ow;
  const char *img = fmt(E, "%s_image", n->name);
  bool relu = E->T->relu_into[n->id] >= 0;
  emit_implicit(E, img, "the input, padded", &m);
  emit_product(E, n->name, img, g->oc, pos, n->bias, "0", relu);
  nl(P);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "pack_a(%d, %" PRId64 ", weight, %" PRId64 ", 1, shared.w); /* weight [%d][%" PRId64 "] */", g->oc,
     K, K, g->oc, K);
  parts_begin(E);
  pr(P, "%s_pad(part[p].col, in + (size_t)b * %d);", img, g->ic * g->ih * g->iw);
  pr(P, "/* y[oc][p] = %s%ssum over k of weight[oc][k] * col[k][p]%s */", relu ? "relu(" : "",
     n->bias ? "bias[oc] + " : "", relu ? fmt(E, "), the output of %s", E->net->nodes[E->T->relu_into[n->id]].name) : "");
  pr(P, "%s_product(shared.w, part[p].col, out + (size_t)b * %" PRId64 "%s);", n->name, g->oc * pos,
     n->bias ? ", bias" : "");
  pr(P, "}\n}\n}");
}

static void conv_backward_implicit(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  CnnImplicit m = cnn_implicit_image(g), d = cnn_implicit_dy(g);
  int64_t K = (int64_t)m.c * m.kh * m.kw, pos = (int64_t)g->oh * g->ow;
  int in_size = g->ic * g->ih * g->iw;
  const char *img = fmt(E, "%s_image", n->name), *dyi = fmt(E, "%s_dy", n->name);
  /* how: plan/train_kernels.c */
  bool dx_gemm = E->T->kernel[n->id].dx_gemm, dot = E->T->kernel[n->id].wgrad_dot;
  CnnWindow w = cnn_conv_window(g);
  if (dx_gemm) {
    emit_window(E, n, &w);
  } else {
    emit_implicit(E, dyi, "dy, padded, for the input gradient", &d);
    emit_product(E, fmt(E, "%s_dx", n->name), dyi, m.c, g->ih * g->iw, false, E->T->assign[n->id][0] ? "0" : "1",
                 false);
  }
  emit_wgrad(E, n->name, img, g->oc, dot);
  nl(P);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  if (dx_gemm) {
    pr(P, "if (din) pack_a(%" PRId64 ", %d, weight, 1, %" PRId64 ", shared.w); /* weight^T [%" PRId64 "][%d] */",
       K, g->oc, K, K, g->oc);
  } else {
    pr(P, "if (din) pack_flipped(%d, %d, %d, %d, weight, shared.w);", g->oc, m.c, m.kh, m.kw);
  }
  parts_begin(E);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 ";", g->oc * pos);
  pr(P, "%s_pad(part[p].col, in + (size_t)b * %d);", img, in_size);
  if (dot)
    pr(P, "/* weight gradient of the part, along the positions: dw[oc][k] += sum over p of dy[oc][p] * col[k][p] */");
  else
    pr(P, "/* weight gradient of the part, transposed: dw[k][oc] += sum over p of col[k][p] * dy[oc][p] */");
  pr(P, "%s_wgrad(dy, part[p].col, part[p].b, part[p].dw, b > PART_BEGIN(n, p));", n->name);
  pr(P, "if (!din) continue;");
  if (dx_gemm) {
    pr(P, "/* input gradient: dcol[k][p] = sum over oc of weight[oc][k] * dy[oc][p], %s the pixels */",
       E->T->assign[n->id][0] ? "summed into" : "added to");
    pr(P, "pack_b(%d, %" PRId64 ", dy, %" PRId64 ", 1, part[p].b);", g->oc, pos, pos);
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, shared.w, part[p].b, part[p].dcol, %" PRId64 ", NULL, 0);", K,
       pos, g->oc, pos);
    if (E->T->assign[n->id][0]) pr(P, "memset(din + (size_t)b * %d, 0, %d * sizeof *din);", in_size, in_size);
    pr(P, "col2im(&%s_window, din + (size_t)b * %d, part[p].dcol);", n->name, in_size);
  } else {
    pr(P, "/* input gradient: dx %s dy (padded) correlated with the flipped kernel */", acc_op(E, n, 0));
    pr(P, "%s_pad(part[p].dcol, dy);", dyi);
    pr(P, "%s_dx_product(shared.w, part[p].dcol, din + (size_t)b * %d);", n->name, in_size);
  }
  pr(P, "}\n}");
  pr(P, "%s(dweight, %d, %" PRId64 ", n);", dot ? "add_parts_dot" : "add_parts_t", g->oc, K);
  if (n->bias) {
    pr(P, "bias_grad(dbias, dout, %d, %" PRId64 ", n);", g->oc, pos);
  }
  pr(P, "}");
}

/* groups > 1 (depthwise included): the direct kernels of grouped.h, one
 * sample at a time, the parts of the batch in parallel; with stride 1 on
 * the padded planes in the part's scratch (col: the input, b: a channel of
 * the output or dy, dcol: the input gradient). */
static void grouped_geometry(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  pr(E->P, "static const Grouped %s_grouped = {.c = %d, .h = %d, .w = %d, .oc = %d, .oh = %d, .ow = %d,",
     n->name, g->ic, g->ih, g->iw, g->oc, g->oh, g->ow);
  pr(E->P, "    .icg = %d, .ocg = %d, .kh = %d, .kw = %d, .sh = %d, .sw = %d, .dh = %d, .dw = %d,",
     g->ic / n->groups, g->oc / n->groups, g->kh, g->kw, g->sh, g->sw, g->dh, g->dw);
  pr(E->P, "    .pt = %d, .pl = %d}; /* %d groups */", g->pt, g->pl, n->groups);
}

static bool stride1(const CnnConvGeo *g) { return g->sh == 1 && g->sw == 1; }

static void grouped_forward(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  int64_t in = (int64_t)g->ic * g->ih * g->iw, out = (int64_t)g->oc * g->oh * g->ow;
  grouped_geometry(E, n, g);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  parts_begin(E);
  bool one = stride1(g);
  pr(P, "grouped_forward%s(&%s_grouped, in + (size_t)b * %" PRId64 ", weight, %s, out + (size_t)b * %" PRId64 "%s);",
     one ? "1" : "", n->name, in, n->bias ? "bias" : "NULL", out, one ? ", part[p].col, part[p].b" : "");
  pr(P, "}\n}\n}");
}

/* the backward pass of a strided grouped convolution, in the loop over the samples */
static void grouped_backward_strided(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  int64_t in = (int64_t)g->ic * g->ih * g->iw;
  pr(P, "grouped_wgrad(&%s_grouped, in + (size_t)b * %" PRId64 ", dy, part[p].dw, b > PART_BEGIN(n, p));",
     n->name, in);
  pr(P, "if (!din) continue;");
  if (E->T->assign[n->id][0])
    pr(P, "memset(din + (size_t)b * %" PRId64 ", 0, %" PRId64 " * sizeof *din);", in, in);
  pr(P, "grouped_dx(&%s_grouped, weight, dy, din + (size_t)b * %" PRId64 ");", n->name, in);
  pr(P, "}\n}");
}

static void grouped_backward(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  int64_t in = (int64_t)g->ic * g->ih * g->iw, out = (int64_t)g->oc * g->oh * g->ow;
  int64_t count = (int64_t)g->oc * (g->ic / n->groups) * g->kh * g->kw;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  parts_begin(E);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 ";", out);
  if (stride1(g)) {
    if (E->T->assign[n->id][0])
      pr(P, "if (din) memset(din + (size_t)b * %" PRId64 ", 0, %" PRId64 " * sizeof *din);", in, in);
    pr(P, "grouped_backward1(&%s_grouped, in + (size_t)b * %" PRId64 ", dy, weight, part[p].dw,", n->name, in);
    pr(P, "    b > PART_BEGIN(n, p),");
    pr(P, "    din ? din + (size_t)b * %" PRId64 " : NULL, part[p].col, part[p].b, part[p].dcol);", in);
    pr(P, "}\n}");
  } else {
    grouped_backward_strided(E, n, g);
  }
  pr(P, "add_parts(dweight, %" PRId64 ", n);", count);
  if (n->bias) pr(P, "bias_grad(dbias, dout, %d, %d, n);", g->oc, g->oh * g->ow);
  pr(P, "}");
}

/* conv_transpose2d, weight [in, out, kh, kw] = [in][kt] with kt = (oc, ky,
 * kx): col[kt][p] = sum over ic of weight[ic][kt] * x[ic][p], scattered to
 * the output pixels (col2im); the adjoint of conv2d. */

/* What the forward and backward functions of a conv_transpose2d share: its
 * window; trivial when the plan's kernel is a plain GEMM (a trivial window:
 * no im2col or col2im); K rows (oc, ky, kx) and pos columns (input pixels)
 * of col; out values per sample. */
typedef struct {
  CnnWindow w;
  bool trivial;
  int64_t K, pos, out;
} ConvT;

static ConvT convt_geometry(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  ConvT t = {.w = cnn_convt_window(g), .trivial = E->T->kernel[n->id].kind == CNN_KERNEL_GEMM};
  t.K = cnn_window_rows(&t.w);
  t.pos = cnn_window_cols(&t.w);
  t.out = (int64_t)g->oc * g->oh * g->ow;
  return t;
}

static void convt_forward_gemm(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  ConvT t = convt_geometry(E, n, g);
  bool trivial = t.trivial;
  int64_t K = t.K, pos = t.pos, out = t.out;
  if (!trivial) emit_window(E, n, &t.w);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "pack_a(%" PRId64 ", %d, weight, 1, %" PRId64 ", shared.w); /* weight^T [%" PRId64 "][%d] */", K,
     g->ic, K, K, g->ic);
  parts_begin(E);
  pr(P, "const real *x = in + (size_t)b * %" PRId64 ";", g->ic * pos);
  pr(P, "real *y = out + (size_t)b * %" PRId64 ";", out);
  pr(P, "for (int oc = 0; oc < %d; oc++)", g->oc);
  pr(P, "  for (int q = 0; q < %d; q++) y[oc * %d + q] = %s;", g->oh * g->ow, g->oh * g->ow,
     n->bias ? "bias[oc]" : "0");
  pr(P, "/* col[kt][p] = sum over ic of weight[ic][kt] * x[ic][p] */");
  pr(P, "pack_b(%d, %" PRId64 ", x, %" PRId64 ", 1, part[p].b);", g->ic, pos, pos);
  if (trivial) {
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, shared.w, part[p].b, y, %" PRId64 ", NULL, 1);", K, pos, g->ic,
       pos);
  } else {
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, shared.w, part[p].b, part[p].dcol, %" PRId64 ", NULL, 0);", K,
       pos, g->ic, pos);
    pr(P, "col2im(&%s_window, y, part[p].dcol);", n->name);
  }
  pr(P, "}\n}\n}");
}

static void convt_backward_gemm(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  ConvT t = convt_geometry(E, n, g);
  bool trivial = t.trivial;
  int64_t K = t.K, pos = t.pos, out = t.out;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  pr(P, "if (din) pack_a(%d, %" PRId64 ", weight, %" PRId64 ", 1, shared.w); /* weight [%d][%" PRId64 "] */",
     g->ic, K, K, g->ic, K);
  parts_begin(E);
  pr(P, "const real *x = in + (size_t)b * %" PRId64 ", *dy = dout + (size_t)b * %" PRId64 ";", g->ic * pos,
     out);
  pr(P, "/* weight gradient of the part: dw[ic][kt] += sum over p of x[ic][p] * dcol[kt][p], dcol = im2col(dy) */");
  pr(P, "pack_a(%d, %" PRId64 ", x, %" PRId64 ", 1, part[p].a);", g->ic, pos, pos);
  if (trivial)
    pr(P, "pack_b(%" PRId64 ", %" PRId64 ", dy, 1, %" PRId64 ", part[p].col);", pos, K, pos);
  else
    pr(P, "im2row_panels(&%s_window, part[p].col, dy);", n->name);
  pr(P, "gemm(%d, %" PRId64 ", %" PRId64 ", part[p].a, part[p].col, part[p].dw, %" PRId64
        ", NULL, b > PART_BEGIN(n, p));",
     g->ic, K, pos, K);
  pr(P, "if (!din) continue;");
  pr(P, "/* input gradient: dx[ic][p] %s sum over kt of weight[ic][kt] * dcol[kt][p] */", acc_op(E, n, 0));
  if (trivial)
    pr(P, "pack_b(%" PRId64 ", %" PRId64 ", dy, %" PRId64 ", 1, part[p].b);", K, pos, pos);
  else
    pr(P, "im2col_panels(&%s_window, part[p].b, dy);", n->name);
  pr(P, "gemm(%d, %" PRId64 ", %" PRId64 ", shared.w, part[p].b, din + (size_t)b * %" PRId64 ", %" PRId64
        ", NULL, %d);",
     g->ic, pos, K, g->ic * pos, pos, E->T->assign[n->id][0] ? 0 : 1);
  pr(P, "}\n}");
  pr(P, "add_parts(dweight, %" PRId64 ", n);", g->ic * K);
  if (n->bias) {
    pr(P, "bias_grad(dbias, dout, %d, %d, n);", g->oc, g->oh * g->ow);
  }
  pr(P, "}");
}

/* dense: y = x W^T + b with W [out, in], as one product over the batch,
 * its columns shared between threads. */
static void dense_forward_gemm(Emit *E, const CnnNode *n, int in, int out) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "/* y[b][o] = %ssum over i of x[b][i] * weight[o][i] */", n->bias ? "bias[o] + " : "");
  pr(P, "pack_a(n, %d, in, %d, 1, shared.a);", in, in);
  pr(P, "pack_b(%d, %d, weight, 1, %d, shared.w); /* weight^T */", in, out, in);
  if (n->bias) {
    pr(P, "for (int b = 0; b < n; b++) memcpy(out + (size_t)b * %d, bias, %d * sizeof *out);", out, out);
  }
  pr(P, "gemm_parallel(n, %d, %d, shared.a, shared.w, out, %d, NULL, %d);", out, in, out, n->bias ? 1 : 0);
  pr(P, "}");
}

static void dense_backward_gemm(Emit *E, const CnnNode *n, int in, int out) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  pr(P, "/* weight gradient: dweight[o][i] += sum over the batch of dy[b][o] * x[b][i] */");
  pr(P, "pack_a(%d, n, dout, 1, %d, shared.a); /* dy^T */", out, out);
  pr(P, "pack_b(n, %d, in, %d, 1, shared.b);", in, in);
  pr(P, "gemm_parallel(%d, %d, n, shared.a, shared.b, dweight, %d, NULL, 1);", out, in, in);
  if (n->bias) {
    pr(P, "bias_grad(dbias, dout, %d, 1, n);", out);
  }
  pr(P, "if (!din) return;");
  pr(P, "/* input gradient: dx[b][i] %s sum over o of dy[b][o] * weight[o][i] */", acc_op(E, n, 0));
  pr(P, "pack_a(n, %d, dout, %d, 1, shared.a);", out, out);
  pr(P, "pack_b(%d, %d, weight, %d, 1, shared.w);", out, in, in);
  pr(P, "gemm_parallel(n, %d, %d, shared.a, shared.w, din, %d, NULL, %d);", in, out, in,
     E->T->assign[n->id][0] ? 0 : 1);
  pr(P, "}");
}

void cnn_emit_conv(Emit *E, const CnnNode *n) {
  CnnConvGeo g = cnn_conv_geo(E->net, n);
  bool t = n->op == OP_CONV_TRANSPOSE2D;
  const char *extra = fmt(E, "%s\n * %s%s", cnn_tensor_shape_text(E, n), cnn_window_text(E, n),
                          t ? fmt(E, ", output_padding %dx%d", n->output_padding[0], n->output_padding[1]) : "");
  cnn_layer_comment(E, n, extra);
  bool grouped = n->groups > 1;
  if (t) convt_forward_gemm(E, n, &g);
  else if (grouped) grouped_forward(E, n, &g);
  else conv_forward_implicit(E, n, &g);
  const char *in = act(E, n->inputs[0]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s%sn);", n->name, out_act(E, n), in,
                      param(E, n, "weight"), n->bias ? param(E, n, "bias") : "", n->bias ? ", " : "");
  if (!cnn_backward_begin(E, n)) return;
  if (t) convt_backward_gemm(E, n, &g);
  else if (grouped) grouped_backward(E, n, &g);
  else conv_backward_implicit(E, n, &g);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s%sn);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), cnn_bact(E, n, n->inputs[0]), param(E, n, "weight"), param(E, n, "weight"),
                      n->bias ? fmt(E, "%s_grad", param(E, n, "bias")) : "", n->bias ? ", " : "");
}

void cnn_emit_dense(Emit *E, const CnnNode *n) {
  int in = (int)size_of(input_node(E, n, 0)), out = (int)size_of(n);
  cnn_layer_comment(E, n, cnn_tensor_shape_text(E, n));
  dense_forward_gemm(E, n, in, out);
  const char *x = act(E, n->inputs[0]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s%sn);", n->name, act(E, n->id), x,
                      param(E, n, "weight"), n->bias ? param(E, n, "bias") : "", n->bias ? ", " : "");
  if (!cnn_backward_begin(E, n)) return;
  dense_backward_gemm(E, n, in, out);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s%sn);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), cnn_bact(E, n, n->inputs[0]), param(E, n, "weight"), param(E, n, "weight"),
                      n->bias ? fmt(E, "%s_grad", param(E, n, "bias")) : "", n->bias ? ", " : "");
}
