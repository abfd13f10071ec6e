/* emit/train.c - the training code generator: a network IR in, one C file and
 * its header out (docs/generated-code.md describes what they contain).
 *
 * The generated code is meant to be read. Every layer gets a _forward and a
 * _backward function side by side, preceded by a comment with the layer's
 * name, operator, source line and shapes. All shapes, strides and sizes are
 * literals; only the batch size n is a run-time value. The parameters live
 * in one array with named views; activations and their gradients in one
 * arena allocated by <net>_setup().
 *
 * What the code is (which kernels, the memory plan, the scratch) is decided
 * before by the plan (plan/train.c, plan/train_kernels.c); this renders it.
 * All targets share the kernels: the generated file picks its micro-kernel
 * (AVX-512, AVX2+FMA or portable C) by the preprocessor, and the target
 * chooses the compiler flags (build.c). */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"
#include "kernels.h"
#include "train.h"

#define pr cnn_pr

static void nl(CnnPrinter *P) { cnn_pr(P, "%s", ""); }

typedef struct {
  const CnnNet *net;
  CnnPrinter *P;
  CnnArena *A;
  const CnnEmitOptions *opt;
  bool dbl;
  const char *N; /* network name, the prefix of public symbols */
  char *NU;      /* upper case, for macros */
  const CnnTrainPlan *T; /* what the text says (plan/train.c) */
  const char **fwd, **bwd; /* the call of each layer's functions */
  bool *fwd_training, *fwd_seed; /* the call uses `training`, `dropout_seed` */
  int *prof, nprof; /* the row of each node in the layer profile (-1: none), rows */
} Emit;

/* ---- small helpers ---- */

/* printf into the emitter's arena (the text lives as long as the emitter) */
#define fmt(E, ...) ((const char *)cnn_format((E)->A, __VA_ARGS__))

/* A floating-point literal of the generated code's type. */
static const char *lit(Emit *E, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, E->dbl ? "%.17g" : "%.9g", v);
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  return fmt(E, "%s%s", buf, E->dbl ? "" : "f");
}

/* The shortest "%g" text that reads back as v. */
static const char *num(Emit *E, double v) {
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return fmt(E, "%s", buf);
}

/* math.h function of the generated code's type: exp -> expf for float. */
static const char *fn(Emit *E, const char *name) { return E->dbl ? name : fmt(E, "%sf", name); }

static int64_t size_of(const CnnNode *n) { return cnn_shape_size(n->shape); }
static const CnnNode *input_node(Emit *E, const CnnNode *n, int i) {
  return &E->net->nodes[n->inputs[i]];
}
static const char *act(Emit *E, int id) { return fmt(E, "act.%s", E->net->nodes[E->T->root[id]].name); }
static const char *grad(Emit *E, int id) { return fmt(E, "grad.%s", E->net->nodes[E->T->root[id]].name); }

/* The gradient buffer for input i of node n as the backward call passes it:
 * NULL unless someone needs it (parameters upstream, or d loss / d input). */
static const char *din_arg(Emit *E, const CnnNode *n, int i) {
  int id = n->inputs[i];
  return E->T->ng[id] ? grad(E, id) : fmt(E, "want_dx ? %s : NULL", grad(E, id));
}

/* "=" if node n's backward pass writes input k's gradient, "+=" if it adds */
static const char *acc_op(Emit *E, const CnnNode *n, int k) { return E->T->assign[n->id][k] ? "=" : "+="; }

/* The buffer a layer's forward pass writes: its own, or its fused relu's. */
static const char *out_act(Emit *E, const CnnNode *n) {
  return act(E, E->T->relu_into[n->id] >= 0 ? E->T->relu_into[n->id] : n->id);
}

/* "oy * 2 + ky * 3 - 1", leaving out zero terms and unit factors. */
static const char *lin(Emit *E, const char *v0, int c0, const char *v1, int c1, int k) {
  char buf[128];
  size_t o = 0;
  const char *v[2] = {v0, v1};
  int c[2] = {c0, c1};
  for (int i = 0; i < 2; i++) {
    if (!v[i] || !c[i]) continue;
    const char *sep = o ? (c[i] < 0 ? " - " : " + ") : (c[i] < 0 ? "-" : "");
    int a = abs(c[i]);
    o += (size_t)snprintf(buf + o, sizeof buf - o, a == 1 ? "%s%s" : "%s%s * %d", sep, v[i], a);
  }
  if (k || !o) o += (size_t)snprintf(buf + o, sizeof buf - o, o ? (k < 0 ? " - %d" : " + %d") : "%d", o ? abs(k) : k);
  return fmt(E, "%s", buf);
}


char *cnn_arch_text(CnnArena *a, const CnnNet *net) {
  size_t cap = 256 + (size_t)net->nnodes * (300 + 8 * CNN_MAX_INPUTS), n = 0;
  char *s = cnn_alloc(a, cap);
  n += (size_t)snprintf(s + n, cap - n, "cnncc-arch 1\nloss %d %d output %d\n", (int)net->loss,
                        net->loss_input, net->output);
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *d = &net->nodes[i];
    n += (size_t)snprintf(s + n, cap - n, "node %d %s inputs", d->id, cnn_op_name(d->op));
    for (int k = 0; k < d->ninputs; k++) n += (size_t)snprintf(s + n, cap - n, " %d", d->inputs[k]);
    n += (size_t)snprintf(s + n, cap - n, " shape");
    for (int k = 0; k < d->shape.rank; k++)
      n += (size_t)snprintf(s + n, cap - n, " %d", d->shape.dim[k]);
    n += (size_t)snprintf(
        s + n, cap - n,
        " out_channels %d kernel %d %d stride %d %d dilation %d %d pad %d %d %d %d"
        " output_padding %d %d bias %d eps %.17g momentum %.17g p %.17g slope %.17g\n",
        d->out_channels, d->kernel[0], d->kernel[1], d->stride[0], d->stride[1], d->dilation[0],
        d->dilation[1], d->pad_lo[0], d->pad_lo[1], d->pad_hi[0], d->pad_hi[1],
        d->output_padding[0], d->output_padding[1], d->bias ? 1 : 0, d->eps, d->momentum, d->p,
        d->negative_slope);
  }
  return s;
}

uint64_t cnn_arch_hash(const CnnNet *net) {
  CnnArena a = {0};
  const char *s = cnn_arch_text(&a, net);
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    h ^= *p;
    h *= UINT64_C(0x100000001b3);
  }
  cnn_arena_free(&a);
  return h;
}

/* ---- layer comments ---- */

static void layer_comment(Emit *E, const CnnNode *n, const char *extra) {
  char in[256] = "", out[64], buf[64];
  size_t o = 0;
  for (int k = 0; k < n->ninputs && o < sizeof in - 80; k++)
    o += (size_t)snprintf(in + o, sizeof in - o, "%s%s %s", k ? ", " : "", input_node(E, n, k)->name,
                          cnn_shape_str(input_node(E, n, k)->shape, buf, sizeof buf));
  cnn_shape_str(n->shape, out, sizeof out);
  nl(E->P);
  pr(E->P, "/* %s: %s, line %d\n * %s -> %s%s%s */", n->name, cnn_op_name(n->op), n->loc.first_line,
     in, out, extra && *extra ? "\n * " : "", extra ? extra : "");
}

static const char *tensor_shape_text(Emit *E, const CnnNode *n) {
  char buf[256];
  size_t o = 0;
  buf[0] = '\0';
  for (int t = 0; t < E->T->nts[n->id]; t++) {
    const CnnTensorSpec *s = &E->T->ts[n->id][t];
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s [", t ? ", " : "", s->name);
    for (int k = 0; k < s->rank; k++)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%d", k ? ", " : "", s->dim[k]);
    o += (size_t)snprintf(buf + o, sizeof buf - o, "]");
  }
  return fmt(E, "%s", buf);
}

static const char *param(Emit *E, const CnnNode *n, const char *t) {
  return fmt(E, "%s_%s", n->name, t);
}

/* ---- window geometry of convolutions and pooling ---- */

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
  pr(E->P, "for (int b = PART_BEGIN(n, p); b < PART_BEGIN(n, p + 1); b++) {");
}

static void emit_implicit(Emit *E, const char *name, const char *what, const CnnImplicit *m) {
  pr(E->P, "static const Implicit %s = {.c = %d, .h = %d, .w = %d, .oh = %d, .ow = %d, /* %s */", name,
     m->c, m->h, m->w, m->oh, m->ow, what);
  pr(E->P, "    .kh = %d, .kw = %d, .dh = %d, .dw = %d, .sh = %d, .sw = %d, .pt = %d, .pl = %d, .hp = %d,",
     m->kh, m->kw, m->dh, m->dw, m->sh, m->sw, m->pt, m->pl, m->hp);
  pr(E->P, "    .wp = %d};", m->wp);
  pr(E->P, "static int %s_off[%d];", name, m->c * m->kh * m->kw);
}

static void conv_forward_implicit(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  CnnImplicit m = cnn_implicit_image(g);
  int64_t K = (int64_t)m.c * m.kh * m.kw, pos = (int64_t)g->oh * g->ow;
  const char *img = fmt(E, "%s_image", n->name);
  emit_implicit(E, img, "the input, padded", &m);
  nl(P);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "pack_a(%d, %" PRId64 ", weight, %" PRId64 ", 1, shared.w); /* weight [%d][%" PRId64 "] */", g->oc,
     K, K, g->oc, K);
  pr(P, "offsets(&%s, %s_off);", img, img);
  parts_begin(E);
  pr(P, "pad_image(&%s, part[p].col, in + (size_t)b * %d);", img, g->ic * g->ih * g->iw);
  bool relu = E->T->relu_into[n->id] >= 0;
  pr(P, "/* y[oc][p] = %s%ssum over k of weight[oc][k] * col[k][p]%s */", relu ? "relu(" : "",
     n->bias ? "bias[oc] + " : "", relu ? fmt(E, "), the output of %s", E->net->nodes[E->T->relu_into[n->id]].name) : "");
  pr(P, "conv_implicit(%d, shared.w, &%s, %s_off, part[p].col, out + (size_t)b * %" PRId64 ", %" PRId64
        ", %s, 0, %d);",
     g->oc, img, img, g->oc * pos, pos, n->bias ? "bias" : "NULL", relu ? 1 : 0);
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
  if (dx_gemm) emit_window(E, n, &w);
  else emit_implicit(E, dyi, "dy, padded, for the input gradient", &d);
  nl(P);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  pr(P, "offsets(&%s, %s_off);", img, img);
  if (dx_gemm) {
    pr(P, "if (din) pack_a(%" PRId64 ", %d, weight, 1, %" PRId64 ", shared.w); /* weight^T [%" PRId64 "][%d] */",
       K, g->oc, K, K, g->oc);
  } else {
    pr(P, "if (din) {");
    pr(P, "pack_flipped(%d, %d, %d, %d, weight, shared.w);", g->oc, m.c, m.kh, m.kw);
    pr(P, "offsets(&%s, %s_off);", dyi, dyi);
    pr(P, "}");
  }
  parts_begin(E);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 ";", g->oc * pos);
  pr(P, "pad_image(&%s, part[p].col, in + (size_t)b * %d);", img, in_size);
  if (dot) {
    pr(P, "/* weight gradient of the part, along the positions: dw[oc][k] += sum over p of dy[oc][p] * col[k][p] */");
    pr(P, "conv_wgrad_dot(%d, dy, &%s, %s_off, part[p].col, part[p].b, part[p].dw, b > PART_BEGIN(n, p));",
       g->oc, img, img);
  } else {
    pr(P, "/* weight gradient of the part, transposed: dw[k][oc] += sum over p of col[k][p] * dy[oc][p] */");
    pr(P, "pack_dy(%d, dy, &%s, part[p].b);", g->oc, img);
    pr(P, "conv_implicit_wgrad(%d, part[p].b, &%s, %s_off, part[p].col, part[p].dw, b > PART_BEGIN(n, p));",
       g->oc, img, img);
  }
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
    pr(P, "pad_image(&%s, part[p].dcol, dy);", dyi);
    pr(P, "conv_implicit(%d, shared.w, &%s, %s_off, part[p].dcol, din + (size_t)b * %d, %d, NULL, %d, 0);",
       m.c, dyi, dyi, in_size, g->ih * g->iw, E->T->assign[n->id][0] ? 0 : 1);
  }
  pr(P, "}\n}");
  pr(P, "%s(dweight, %d, %" PRId64 ", n);", dot ? "add_parts_dot" : "add_parts_t", g->oc, K);
  if (n->bias) {
    pr(P, "bias_grad(dbias, dout, %d, %" PRId64 ", n);", g->oc, pos);
  }
  pr(P, "}");
}

/* conv_transpose2d, weight [in, out, kh, kw] = [in][kt] with kt = (oc, ky,
 * kx): col[kt][p] = sum over ic of weight[ic][kt] * x[ic][p], scattered to
 * the output pixels (col2im); the adjoint of conv2d. */
static void convt_forward_gemm(Emit *E, const CnnNode *n, const CnnConvGeo *g) {
  CnnPrinter *P = E->P;
  CnnWindow w = cnn_convt_window(g);
  bool trivial = E->T->kernel[n->id].kind == CNN_KERNEL_GEMM;
  int64_t K = cnn_window_rows(&w), pos = cnn_window_cols(&w), out = (int64_t)g->oc * g->oh * g->ow;
  if (!trivial) emit_window(E, n, &w);
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
  CnnWindow w = cnn_convt_window(g);
  bool trivial = E->T->kernel[n->id].kind == CNN_KERNEL_GEMM;
  int64_t K = cnn_window_rows(&w), pos = cnn_window_cols(&w), out = (int64_t)g->oc * g->oh * g->ow;
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

/* the targets' names, for the file's first comment */
static const char *const target_names[] = {
    [CNN_TARGET_GENERIC] = "generic",
    [CNN_TARGET_NATIVE] = "native",
    [CNN_TARGET_AVX2] = "avx2",
    [CNN_TARGET_AVX512] = "avx512",
};

/* ---- layers ---- */

/* What follows in a layer emitter is its backward pass, which a layer that
 * only predict runs (e.g. a softmax after the logits) does not have: false
 * for those. */
static bool backward_begin(Emit *E, const CnnNode *n) {
  nl(E->P);
  return E->T->live_train[n->id];
}

/* pad text for comments: "padding 2/2 x 1/0 (top/bottom x left/right)" */
static const char *window_text(Emit *E, const CnnNode *n) {
  bool one_d = n->shape.rank == 2;
  if (one_d)
    return fmt(E, "kernel %d, stride %d, dilation %d, padding %d left %d right", n->kernel[1],
               n->stride[1], n->dilation[1], n->pad_lo[1], n->pad_hi[1]);
  return fmt(E, "kernel %dx%d, stride %dx%d, dilation %dx%d, padding %d/%d x %d/%d (top/bottom x left/right)",
             n->kernel[0], n->kernel[1], n->stride[0], n->stride[1], n->dilation[0], n->dilation[1],
             n->pad_lo[0], n->pad_hi[0], n->pad_lo[1], n->pad_hi[1]);
}

/* act() in a backward call: one of backward_reads(), or the plan is wrong */
static const char *bact(Emit *E, const CnnNode *n, int id) {
  if (!cnn_train_reads_in_backward(E->T, n->id, E->T->root[id])) {
    fprintf(stderr, "cnncc: internal error: the memory plan misses that %s's backward pass reads %s\n",
            n->name, E->net->nodes[id].name);
    abort();
  }
  return act(E, id);
}


static void emit_conv(Emit *E, const CnnNode *n) {
  CnnConvGeo g = cnn_conv_geo(E->net, n);
  bool t = n->op == OP_CONV_TRANSPOSE2D;
  const char *extra = fmt(E, "%s\n * %s%s", tensor_shape_text(E, n), window_text(E, n),
                          t ? fmt(E, ", output_padding %dx%d", n->output_padding[0], n->output_padding[1]) : "");
  layer_comment(E, n, extra);
  if (t) convt_forward_gemm(E, n, &g);
  else conv_forward_implicit(E, n, &g);
  const char *in = act(E, n->inputs[0]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s%sn);", n->name, out_act(E, n), in,
                      param(E, n, "weight"), n->bias ? param(E, n, "bias") : "", n->bias ? ", " : "");
  if (!backward_begin(E, n)) return;
  if (t) convt_backward_gemm(E, n, &g);
  else conv_backward_implicit(E, n, &g);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s%sn);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), bact(E, n, n->inputs[0]), param(E, n, "weight"), param(E, n, "weight"),
                      n->bias ? fmt(E, "%s_grad", param(E, n, "bias")) : "", n->bias ? ", " : "");
}

static void emit_dense(Emit *E, const CnnNode *n) {
  int in = (int)size_of(input_node(E, n, 0)), out = (int)size_of(n);
  layer_comment(E, n, tensor_shape_text(E, n));
  dense_forward_gemm(E, n, in, out);
  const char *x = act(E, n->inputs[0]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s%sn);", n->name, act(E, n->id), x,
                      param(E, n, "weight"), n->bias ? param(E, n, "bias") : "", n->bias ? ", " : "");
  if (!backward_begin(E, n)) return;
  dense_backward_gemm(E, n, in, out);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s%sn);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), bact(E, n, n->inputs[0]), param(E, n, "weight"), param(E, n, "weight"),
                      n->bias ? fmt(E, "%s_grad", param(E, n, "bias")) : "", n->bias ? ", " : "");
}

/* Along one axis (kernel k, stride s, padding pad, out windows): o0 and o1,
 * the first and the last window that covers input position i. */
static void emit_covering_windows(Emit *E, const char *i, const char *o, int k, int s, int pad, int out) {
  const char *first = lin(E, i, 1, NULL, 0, pad - k + 1), *last = lin(E, i, 1, NULL, 0, pad);
  pr(E->P, "const int %s0 = %s <= 0 ? 0 : (%s) / %d;", o, first, lin(E, i, 1, NULL, 0, pad - k + s), s);
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
    if (assign) pr(P, "memset(dxc, 0, %d * sizeof *dxc);", g->ih * g->iw);
    pr(P, "for (int o = 0; o < %d; o++) dxc[ac[o]] %s= dyc[o];", g->oh * g->ow, assign ? "" : "+");
    return;
  }
  bool tiled = g->sw == g->kw && !g->pl && g->ow * g->sw == g->iw &&
               (g->one_d || (g->sh == g->kh && !g->pt && g->oh * g->sh == g->ih));
  if (assign && !tiled) pr(P, "memset(dxc, 0, %d * sizeof *dxc);", g->ih * g->iw);
  if (!g->one_d) {
    pr(P, "for (int oy = 0; oy < %d; oy++) {", g->oh);
    pr(P, "for (int ky = 0; ky < %d; ky++) {", g->kh);
    pr(P, "const int iy = %s;", lin(E, "oy", g->sh, "ky", 1, -g->pt));
    if (cnn_pool_needs_check(g->kh, g->sh, g->pt, g->ih, g->oh)) pr(P, "if (iy < 0 || iy >= %d) continue;", g->ih);
  }
  pr(P, "for (int ox = 0; ox < %d; ox++) {", g->ow);
  pr(P, "for (int kx = 0; kx < %d; kx++) {", g->kw);
  pr(P, "const int ix = %s;", lin(E, "ox", g->sw, "kx", 1, -g->pl));
  if (cnn_pool_needs_check(g->kw, g->sw, g->pl, g->iw, g->ow)) pr(P, "if (ix < 0 || ix >= %d) continue;", g->iw);
  const char *i = g->one_d ? "ix" : fmt(E, "iy * %d + ix", g->iw);
  const char *o = g->one_d ? "ox" : fmt(E, "oy * %d + ox", g->ow);
  pr(P, "dxc[%s] %s= dyc[%s] * %s;", i, assign ? "" : "+", o, lit(E, 1.0 / (g->kh * g->kw)));
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
  pr(P, max ? "s += ac[%s] == %s ? dyc[%s] : 0;" : "s += dyc[%s];", o, i, o);
  pr(P, g->one_d ? "}" : "}\n}");
  const char *scaled = max ? "s" : fmt(E, "s * %s", lit(E, 1.0 / (g->kh * g->kw)));
  pr(P, "dxc[%s] %s= %s;", i, E->T->assign[n->id][0] ? "" : "+", scaled);
  pr(P, "}");
  if (!g->one_d) pr(P, "}");
}

static void emit_pool_backward(Emit *E, const CnnNode *n, const CnnConvGeo *g, bool max) {
  CnnPrinter *P = E->P;
  int ihw = g->ih * g->iw, ohw = g->oh * g->ow;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, %sint n) {", n->name,
     max ? "const int32_t *restrict argmax, " : "");
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", g->oc * ihw);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", g->oc);
  pr(P, "real *restrict dxc = din + (size_t)bc * %d;", ihw);
  pr(P, "const real *restrict dyc = dout + (size_t)bc * %d;", ohw);
  if (max) pr(P, "const int32_t *restrict ac = argmax + (size_t)bc * %d;", ohw);
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
  layer_comment(E, n, fmt(E, "%s\n * %s", window_text(E, n),
                          max ? "the gradient goes to the first maximum of each window"
                              : "padding counts as zeros (count_include_pad)"));
  const char *iy = g.one_d ? NULL : lin(E, "oy", g.sh, "ky", 1, -g.pt);
  const char *ix = lin(E, "ox", g.sw, "kx", 1, -g.pl);
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
      const char *i = g.one_d ? lin(E, "ox", g.sw, NULL, 0, kx - g.pl)
                              : fmt(E, "(%s) * %d + %s", lin(E, "oy", g.sh, NULL, 0, ky - g.pt), g.iw,
                                    lin(E, "ox", g.sw, NULL, 0, kx - g.pl));
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
    pr(P, "yc[%s] = s * %s;", oidx, lit(E, 1.0 / khw));
  }
  pr(P, "}");
  if (!g.one_d) pr(P, "}");
  pr(P, "}\n}");
  }
  const char *argmax = max ? fmt(E, "argmax.%s, ", n->name) : "";
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s%s, n);", n->name, act(E, n->id), argmax, act(E, n->inputs[0]));
  if (!backward_begin(E, n)) return;
  emit_pool_backward(E, n, &g, max);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %sn);", n->name, grad(E, n->id), grad(E, n->inputs[0]),
                      argmax);
}

static void emit_global_avgpool(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int c = n->shape.dim[0];
  int positions = (int)(size_of(input_node(E, n, 0)) / c);
  layer_comment(E, n, "the mean over all positions of each channel");
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) out[bc] = sum(in + (size_t)bc * %d, %d) * %s;", c,
     positions, positions, lit(E, 1.0 / positions));
  pr(P, "}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  if (!backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, int n) {", n->name);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", c);
  pr(P, "const real g = dout[bc] * %s;", lit(E, 1.0 / positions));
  pr(P, "real *dx = din + (size_t)bc * %d;", positions);
  pr(P, "for (int i = 0; i < %d; i++) dx[i] %s g;", positions, acc_op(E, n, 0));
  pr(P, "}\n}");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), grad(E, n->inputs[0]));
}

/* relu, leaky_relu, sigmoid, tanh, dropout: one element at a time. */
static void emit_elementwise(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  const char *y = NULL, *dx = NULL, *note = "";
  switch (n->op) {
  case OP_RELU:
    y = "x > 0 ? x : 0";
    dx = "out[i] > 0 ? dout[i] : 0"; /* out > 0 exactly when in > 0 */
    break;
  case OP_LEAKY_RELU:
    y = fmt(E, "x > 0 ? x : %s * x", lit(E, n->negative_slope));
    dx = fmt(E, "in[i] > 0 ? dout[i] : %s * dout[i]", lit(E, n->negative_slope));
    note = fmt(E, "negative_slope %g", n->negative_slope);
    break;
  case OP_SIGMOID:
    y = fmt(E, "1 / (1 + %s(-x))", fn(E, "exp"));
    dx = "dout[i] * out[i] * (1 - out[i])";
    break;
  case OP_TANH:
    y = fmt(E, "%s(x)", fn(E, "tanh"));
    dx = "dout[i] * (1 - out[i] * out[i])";
    break;
  default: break;
  }
  int into = E->T->fused[n->id] ? n->inputs[0] : -1;
  if (into >= 0 && cnn_merges_relu_backward(&E->net->nodes[into])) {
    layer_comment(E, n, fmt(E, "no code: %s does it", E->net->nodes[into].name));
    return;
  }
  layer_comment(E, n, into >= 0 ? fmt(E, "forward: %s computes the output", E->net->nodes[into].name) : note);
  if (into < 0) {
    pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
    pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
    pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) {", size);
    pr(P, "const real x = in[i];");
    pr(P, "out[i] = %s;", y);
    pr(P, "}\n}");
    E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  }
  if (!backward_begin(E, n)) return;
  bool uses_out = n->op == OP_SIGMOID || n->op == OP_TANH || n->op == OP_RELU;
  const char *used = bact(E, n, uses_out ? n->id : n->inputs[0]);
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
  const char *scale = lit(E, 1.0 / (1.0 - n->p));
  layer_comment(E, n, fmt(E, "p %g: in training each element is kept with probability 1 - p and scaled by 1/(1-p);\n"
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
  if (!backward_begin(E, n)) return;
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
static void emit_lanes(Emit *E) {
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
  pr(P, "/* the sums of dy and of dy * (x - mean), dy = g, or g where r > 0 when r is given */");
  pr(P, "static INLINE void add_lanes_grad(double s[16], double t[16], const real *restrict g,");
  pr(P, "    const real *restrict r, const real *restrict x, real mean, int n) {");
  pr(P, "real fs[16] = {0}, ft[16] = {0};");
  pr(P, "int i = 0;");
  pr(P, "if (r) {");
  pr(P, "for (; i + 16 <= n; i += 16)");
  pr(P, "  for (int j = 0; j < 16; j++) {");
  pr(P, "    const real gj = g[i + j], dy = r[i + j] > 0 ? gj : 0;");
  pr(P, "    fs[j] += dy;");
  pr(P, "    ft[j] += dy * (x[i + j] - mean);");
  pr(P, "  }");
  pr(P, "for (int j = 0; i + j < n; j++) {");
  pr(P, "const real gj = g[i + j], dy = r[i + j] > 0 ? gj : 0;");
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

static void emit_batchnorm(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int c = n->shape.dim[0];
  int positions = (int)(size_of(n) / c);
  int relu = E->T->relu_into[n->id];
  const char *rname = relu >= 0 ? E->net->nodes[relu].name : NULL;
  layer_comment(E, n, fmt(E, "%s; eps %g, momentum %g\n"
                             " * training: normalize with the batch mean and biased variance over the %s,\n"
                             " * and move the running stats toward the mean and the unbiased variance;\n"
                             " * evaluation: normalize with the running stats%s",
                          tensor_shape_text(E, n), n->eps, n->momentum,
                          positions > 1 ? fmt(E, "batch and %d positions", positions) : "batch",
                          relu >= 0 ? fmt(E, "\n * with %s: writes relu(y) as the output of %s, and does its backward pass", rname, rname) : ""));
  pr(P, "static real %s_mean[%d], %s_invstd[%d]; /* what the last forward used */", n->name, c, n->name, c);
  nl(P);
  /* the output from the statistics: the forward pass and the recomputation
   * (which must give the same values) run this one function */
  pr(P, "/* channel c of the output%s: y = x * scale + shift%s with the statistics of the last\n"
        " * forward pass */", relu >= 0 ? fmt(E, ", the output of %s", rname) : "", relu >= 0 ? ", then relu" : "");
  pr(P, "static NOINLINE void %s_normalize(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, const real *restrict bias, int c, int n) {");
  pr(P, "const real scale = weight[c] * %s_invstd[c], shift = bias[c] - %s_mean[c] * scale;", n->name, n->name);
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "real *y = out + ((size_t)b * %d + c) * %d;", c, positions);
  if (relu >= 0) {
    pr(P, "for (int i = 0; i < %d; i++) {", positions);
    pr(P, "const real v = x[i] * scale + shift;");
    pr(P, "y[i] = v > 0 ? v : 0;");
    pr(P, "}");
  } else {
    pr(P, "for (int i = 0; i < %d; i++) y[i] = x[i] * scale + shift;", positions);
  }
  pr(P, "}\n}");
  nl(P);
  /* forward */
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, const real *restrict bias, real *restrict running_mean,");
  pr(P, "    real *restrict running_var, int n, int training) {");
  pr(P, "const int count = n * %d;", positions);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "real mean, invstd;");
  pr(P, "if (training) {");
  pr(P, "double s[16] = {0}, ss[16] = {0};");
  pr(P, "for (int b = 0; b < n; b++) add_lanes(s, in + ((size_t)b * %d + c) * %d, %d);", c, positions,
     positions);
  pr(P, "const double mu = lanes_total(s) / count;");
  pr(P, "for (int b = 0; b < n; b++) add_lanes_sq(ss, in + ((size_t)b * %d + c) * %d, (real)mu, %d);", c,
     positions, positions);
  pr(P, "const double var = lanes_total(ss); /* times count */");
  pr(P, "const double unbiased = count > 1 ? var / (count - 1) : var;");
  pr(P, "running_mean[c] = (real)((1 - %s) * running_mean[c] + %s * mu);", num(E, n->momentum),
     num(E, n->momentum));
  pr(P, "running_var[c] = (real)((1 - %s) * running_var[c] + %s * unbiased);", num(E, n->momentum),
     num(E, n->momentum));
  pr(P, "mean = (real)mu;");
  pr(P, "invstd = (real)(1 / sqrt(var / count + %s));", num(E, n->eps));
  pr(P, "} else {");
  pr(P, "mean = running_mean[c];");
  pr(P, "invstd = (real)(1 / sqrt(running_var[c] + %s));", num(E, n->eps));
  pr(P, "}");
  pr(P, "%s_mean[c] = mean;", n->name);
  pr(P, "%s_invstd[c] = invstd;", n->name);
  pr(P, "%s_normalize(out, in, weight, bias, c, n);", n->name);
  pr(P, "}\n}");
  const char *ps[4];
  for (int t = 0; t < 4; t++) ps[t] = param(E, n, E->T->ts[n->id][t].name);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s, %s, %s, n, training);", n->name, out_act(E, n),
                      act(E, n->inputs[0]), ps[0], ps[1], ps[2], ps[3]);
  E->fwd_training[n->id] = true;
  if (!backward_begin(E, n)) return;
  /* backward: dy is the gradient of the output, or with a fused relu the
   * relu's gradient where its output is > 0 */
  const char *dy1 = relu >= 0 ? "(r[i] > 0 ? g[i] : 0)" : "g[i]";
  bool in_place = E->T->in_place[n->id];
  if (in_place)
    pr(P, "static void %s_backward(real *restrict dout, int din,", n->name);
  else
    pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, %sconst real *restrict weight, real *restrict dweight,",
     relu >= 0 ? "const real *restrict out, " : "");
  pr(P, "    real *restrict dbias, int n, int training) {");
  pr(P, "const int count = n * %d;", positions);
  if (relu >= 0) pr(P, "/* dout, out: the gradient and output of %s */", rname);
  if (in_place)
    pr(P, "/* in place: dout, the gradient of %s, becomes that of %s (if din) */", relu >= 0 ? rname : n->name,
       input_node(E, n, 0)->name);
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "const real mean = %s_mean[c], invstd = %s_invstd[c];", n->name, n->name);
  pr(P, "double s[16] = {0}, t[16] = {0}; /* sums of dy and of dy * (x - mean), in lanes */");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const size_t at = ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "add_lanes_grad(s, t, dout + at, %s, in + at, mean, %d);", relu >= 0 ? "out + at" : "NULL", positions);
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
  pr(P, "const size_t at = ((size_t)b * %d + c) * %d;", c, positions);
  if (in_place) {
    pr(P, "const real *x = in + at;");
    if (relu >= 0) pr(P, "const real *r = out + at;");
    pr(P, "real *g = dout + at;");
    pr(P, "for (int i = 0; i < %d; i++) g[i] = k * (%s - a - (x[i] - mean) * q);", positions, dy1);
  } else {
    pr(P, "const real *x = in + at, *g = dout + at;");
    if (relu >= 0) pr(P, "const real *r = out + at;");
    pr(P, "real *dx = din + at;");
    pr(P, "for (int i = 0; i < %d; i++) dx[i] %s k * (%s - a - (x[i] - mean) * q);", positions,
       acc_op(E, n, 0), dy1);
  }
  pr(P, "}\n}\n}");
  int r = relu >= 0 ? relu : n->id;
  if (E->T->recompute[r] == n->id) {
    nl(P);
    pr(P, "/* %s again for the backward passes that read it, which is not kept: the values\n"
          " * of the forward pass, bit for bit */", E->net->nodes[r].name);
    pr(P, "static void %s_recompute(real *restrict out, const real *restrict in, const real *restrict weight,",
       n->name);
    pr(P, "    const real *restrict bias, int n) {");
    pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", c * positions);
    pr(P, "for (int c = 0; c < %d; c++) %s_normalize(out, in, weight, bias, c, n);", c, n->name);
    pr(P, "}");
  }
  /* in place: whether to write the input's gradient */
  const char *din = !in_place ? din_arg(E, n, 0) : E->T->ng[n->inputs[0]] ? "1" : "want_dx";
  if (relu >= 0)
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s, %s_grad, %s_grad, n, last.training);", n->name,
                        grad(E, relu), din, bact(E, n, n->inputs[0]), bact(E, n, relu), ps[0], ps[0], ps[1]);
  else
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s_grad, n, last.training);", n->name,
                        grad(E, n->id), din, bact(E, n, n->inputs[0]), ps[0], ps[0], ps[1]);
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
  layer_comment(E, n, fmt(E, "the sum of %d inputs; each gets the whole gradient%s%s", n->ninputs,
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
  if (!backward_begin(E, n)) return;
  /* with a relu and inputs that share the buffer: the sum's gradient is made there, in place */
  bool in_place = relu >= 0 && o;
  pr(P, "static void %s_backward(%sreal *restrict dout, %sreal *const din[%d], int n) {", n->name,
     in_place ? "" : "const ", relu >= 0 ? "const real *restrict out, " : "", n->ninputs);
  emit_assign_flags(E, n);
  if (relu >= 0) pr(P, "/* dout, out: the gradient and output of %s */", rname);
  pr(P, "const long count = n * %" PRId64 "L;", size);
  if (in_place) {
    pr(P, "/* in place: dout becomes the gradient of the sum, which is that of %s */", shared);
    pr(P, "PARALLEL_FOR_IF(count > 32768)");
    pr(P, "for (long i = 0; i < count; i++) dout[i] = out[i] > 0 ? dout[i] : 0;");
  }
  pr(P, "for (int k = 0; k < %d; k++) {", n->ninputs);
  pr(P, "real *d = din[k];");
  pr(P, "if (!d) continue;");
  if (relu >= 0 && !in_place) {
    pr(P, "PARALLEL_FOR_IF(count > 32768)");
    pr(P, "for (long i = 0; i < count; i++) {");
    pr(P, "const real g = dout[i], dy = out[i] > 0 ? g : 0;");
    pr(P, "d[i] = assign[k] ? dy : d[i] + dy;");
    pr(P, "}");
  } else {
    pr(P, "if (assign[k]) {");
    pr(P, "memcpy(d, dout, (size_t)count * sizeof *d);");
    pr(P, "continue;");
    pr(P, "}");
    pr(P, "PARALLEL_FOR_IF(count > 32768)");
    pr(P, "for (long i = 0; i < count; i++) d[i] += dout[i];");
  }
  pr(P, "}\n}");
  if (relu >= 0)
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, n);", n->name, grad(E, relu), bact(E, n, relu),
                        buffer_list(E, n, true));
  else
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), buffer_list(E, n, true));
}

static void emit_mul(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  layer_comment(E, n, "the element-wise product of two inputs");
  pr(P, "static void %s_forward(real *restrict out, const real *a, const real *b, int n) {", n->name);
  pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
  pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) out[i] = a[i] * b[i];", size);
  pr(P, "}");
  const char *a = act(E, n->inputs[0]), *b = act(E, n->inputs[1]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, n);", n->name, act(E, n->id), a, b);
  if (!backward_begin(E, n)) return;
  pr(P, "static void %s_backward(const real *restrict dout, real *da, real *db, const real *a,", n->name);
  pr(P, "    const real *b, int n) {");
  pr(P, "PARALLEL_FOR_IF(n * %" PRId64 " > 32768)", size);
  pr(P, "for (long i = 0; i < n * %" PRId64 "L; i++) {", size);
  pr(P, "const real g = dout[i], ai = a[i], bi = b[i];");
  pr(P, "if (da) da[i] %s g * bi;", acc_op(E, n, 0));
  pr(P, "if (db) db[i] %s g * ai;", acc_op(E, n, 1));
  pr(P, "}\n}");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s, n);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), din_arg(E, n, 1), bact(E, n, n->inputs[0]), bact(E, n, n->inputs[1]));
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
  layer_comment(E, n, fmt(E, "%d inputs stacked along the channels", n->ninputs));
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
  if (!backward_begin(E, n)) return;
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
  layer_comment(E, n, fmt(E, "softmax over the %d channels at each of %d position%s", c, positions,
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
  if (!backward_begin(E, n)) return;
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
                      grad(E, n->inputs[0]), bact(E, n, n->id));
}

static void emit_layer(Emit *E, const CnnNode *n) {
  switch (n->op) {
  case OP_INPUT: break;
  case OP_FLATTEN:
    layer_comment(E, n, fmt(E, "no code: the same memory as %s, viewed as a vector",
                            input_node(E, n, 0)->name));
    break;
  case OP_CONV1D: case OP_CONV2D: case OP_CONV_TRANSPOSE2D: emit_conv(E, n); break;
  case OP_MAXPOOL1D: case OP_MAXPOOL2D: case OP_AVGPOOL1D: case OP_AVGPOOL2D: emit_pool(E, n); break;
  case OP_GLOBAL_AVGPOOL: emit_global_avgpool(E, n); break;
  case OP_DENSE: emit_dense(E, n); break;
  case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH: emit_elementwise(E, n); break;
  case OP_BATCHNORM: emit_batchnorm(E, n); break;
  case OP_DROPOUT: emit_dropout(E, n); break;
  case OP_ADD: emit_add(E, n); break;
  case OP_MUL: emit_mul(E, n); break;
  case OP_CONCAT: emit_concat(E, n); break;
  case OP_SOFTMAX: emit_softmax(E, n); break;
  case OP_COUNT: break;
  }
}

/* ---- the loss ---- */

static void emit_loss(Emit *E) {
  CnnPrinter *P = E->P;
  nl(P);
  pr(P, "/* Adds v to *sum and the rounding error to *lost (Neumaier): the loss is a\n"
        " * mean of many terms, and finite-difference checks need all its digits. */");
  pr(P, "static void add_compensated(double *sum, double *lost, double v) {");
  pr(P, "const double t = *sum + v;");
  pr(P, "*lost += fabs(*sum) >= fabs(v) ? (*sum - t) + v : (v - t) + *sum;");
  pr(P, "*sum = t;");
  pr(P, "}");
  const CnnNet *net = E->net;
  const CnnNode *z = &net->nodes[net->loss_input];
  int c = z->shape.dim[0];
  int positions = (int)(size_of(z) / c);
  int64_t size = size_of(z);
  char shape[64];
  cnn_shape_str(z->shape, shape, sizeof shape);
  const char *cp = lin(E, "c", positions, NULL, 0, 0);   /* c * positions */
  const char *lp = lin(E, "label", positions, NULL, 0, 0);
  const char *bp = lin(E, "b", positions, "p", 1, 0);
  if (net->loss == LOSS_SOFTMAX_CROSS_ENTROPY) {
    nl(P);
    pr(P, "/* loss: softmax cross-entropy of %s %s, line %d\n"
          " * classes along the %d channels, one label per %s; the mean over n * %d terms.\n"
          " * Labels outside [0, %d) add nothing (and count as wrong). */",
       z->name, shape, net->loss_loc.first_line, c, positions > 1 ? "position" : "sample", positions, c);
    pr(P, "static real loss_forward(const real *restrict logits, const int32_t *restrict labels, int n,");
    pr(P, "    long *correct) {");
    pr(P, "double total = 0, lost = 0; /* compensated (Neumaier) sum */");
    pr(P, "long right = 0;");
    pr(P, "for (int b = 0; b < n; b++) {");
    pr(P, "for (int p = 0; p < %d; p++) {", positions);
    pr(P, "const real *z = logits + (size_t)b * %" PRId64 " + p;", size);
    pr(P, "const int32_t label = labels[%s];", bp);
    pr(P, "real m = z[0];");
    pr(P, "int best = 0;");
    pr(P, "for (int c = 1; c < %d; c++) {", c);
    pr(P, "if (z[%s] > m) {", cp);
    pr(P, "m = z[%s];", cp);
    pr(P, "best = c;");
    pr(P, "}");
    pr(P, "}");
    pr(P, "double s = 0;");
    pr(P, "for (int c = 0; c < %d; c++) s += %s(z[%s] - m);", c, fn(E, "exp"), cp);
    pr(P, "if (label < 0 || label >= %d) continue;", c);
    pr(P, "add_compensated(&total, &lost, log(s) + m - z[%s]);", lp);
    pr(P, "right += best == label;");
    pr(P, "}\n}");
    pr(P, "if (correct) *correct = right;");
    pr(P, "return (real)((total + lost) / ((double)n * %d));", positions);
    pr(P, "}");
    nl(P);
    pr(P, "/* d loss / d logits = (softmax - onehot(label)) / (n * %d), written (not added) */", positions);
    pr(P, "static void loss_backward(real *restrict dlogits, const real *restrict logits,");
    pr(P, "    const int32_t *restrict labels, int n) {");
    pr(P, "const real scale = (real)(1.0 / ((double)n * %d));", positions);
    pr(P, "for (int b = 0; b < n; b++) {");
    pr(P, "for (int p = 0; p < %d; p++) {", positions);
    pr(P, "const real *z = logits + (size_t)b * %" PRId64 " + p;", size);
    pr(P, "real *dz = dlogits + (size_t)b * %" PRId64 " + p;", size);
    pr(P, "const int32_t label = labels[%s];", bp);
    pr(P, "if (label < 0 || label >= %d) {", c);
    pr(P, "for (int c = 0; c < %d; c++) dz[%s] = 0;", c, cp);
    pr(P, "continue;");
    pr(P, "}");
    pr(P, "real m = z[0], s = 0;");
    pr(P, "for (int c = 1; c < %d; c++) m = z[%s] > m ? z[%s] : m;", c, cp, cp);
    pr(P, "for (int c = 0; c < %d; c++) s += %s(z[%s] - m);", c, fn(E, "exp"), cp);
    pr(P, "for (int c = 0; c < %d; c++)", c);
    pr(P, "  dz[%s] = (%s(z[%s] - m) / s - (c == label)) * scale;", cp, fn(E, "exp"), cp);
    pr(P, "}\n}\n}");
  } else {
    nl(P);
    pr(P, "/* loss: mean squared error of %s %s, line %d: the mean over n * %" PRId64 " elements.\n"
          " * Correct: positions whose largest channel is the label (when labels are given). */",
       z->name, shape, net->loss_loc.first_line, size);
    pr(P, "static real loss_forward(const real *restrict y, const real *restrict targets,");
    pr(P, "    const int32_t *restrict labels, int n, long *correct) {");
    pr(P, "double total = 0, lost = 0; /* compensated (Neumaier) sum */");
    pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) {", size);
    pr(P, "const double d = (double)y[i] - targets[i];");
    pr(P, "add_compensated(&total, &lost, d * d);");
    pr(P, "}");
    pr(P, "long right = 0;");
    pr(P, "if (labels) {");
    pr(P, "for (int b = 0; b < n; b++) {");
    pr(P, "for (int p = 0; p < %d; p++) {", positions);
    pr(P, "const real *z = y + (size_t)b * %" PRId64 " + p;", size);
    pr(P, "int best = 0;");
    pr(P, "for (int c = 1; c < %d; c++) best = z[%s] > z[%s] ? c : best;", c, cp,
       lin(E, "best", positions, NULL, 0, 0));
    pr(P, "right += best == labels[%s];", bp);
    pr(P, "}\n}\n}");
    pr(P, "if (correct) *correct = right;");
    pr(P, "return (real)((total + lost) / ((double)n * %" PRId64 "));", size);
    pr(P, "}");
    nl(P);
    pr(P, "/* d loss / d y = 2 (y - target) / (n * %" PRId64 ") */", size);
    pr(P, "static void loss_backward(real *restrict dy, const real *restrict y,");
    pr(P, "    const real *restrict targets, int n) {");
    pr(P, "const real scale = (real)(2.0 / ((double)n * %" PRId64 "));", size);
    pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) dy[i] = (y[i] - targets[i]) * scale;",
       size);
    pr(P, "}");
  }
}

/* ---- the file ---- */

static void emit_header(Emit *E, FILE *h) {
  CnnPrinter hp, *P = &hp;
  cnn_printer_init(P, h);
  const CnnNet *net = E->net;
  const CnnNode *z = &net->nodes[net->loss_input], *o = &net->nodes[net->output];
  const char *N = E->N, *NU = E->NU;
  char b1[64];
  pr(P, "/* %s.h - training code for the network \"%s\", generated by cnncc %s\n"
        " * from %s. Do not edit: change the .cnn file and run cnncc again.\n"
        " * The API is described in docs/generated-code.md of cnncc. */",
     N, net->name, PACKAGE_VERSION, E->opt->source_file ? E->opt->source_file : "?");
  pr(P, "#ifndef %s_H", NU);
  pr(P, "#define %s_H", NU);
  nl(P);
  pr(P, "#include <stddef.h>");
  pr(P, "#include <stdint.h>");
  nl(P);
  pr(P, "#include <cnnrt.h>");
  nl(P);
  pr(P, "#ifdef __cplusplus");
  pr(P, "extern \"C\" {");
  P->indent = 0; /* no indentation inside extern "C" */
  pr(P, "#endif");
  nl(P);
  pr(P, "typedef %s %s_real;", E->dbl ? "double" : "float", N);
  nl(P);
  pr(P, "#define %s_NPARAMS %" PRId64 " /* learnable parameters */", NU, E->T->nparams);
  pr(P, "#define %s_NBUFFERS %" PRId64 " /* batchnorm running statistics */", NU, E->T->nbuffers);
  pr(P, "#define %s_NTENSORS %d", NU, E->T->ntensors);
  pr(P, "#define %s_IN_SIZE %" PRId64 " /* input per sample: %s */", NU, size_of(&net->nodes[0]),
     cnn_shape_str(net->nodes[0].shape, b1, sizeof b1));
  pr(P, "#define %s_OUT_SIZE %" PRId64 " /* logits per sample (%s): %s */", NU, size_of(z), z->name,
     cnn_shape_str(z->shape, b1, sizeof b1));
  pr(P, "#define %s_CLASSES %d /* channels of the logits */", NU, z->shape.dim[0]);
  pr(P, "#define %s_LABELS %" PRId64 " /* labels per sample: one per position */", NU,
     size_of(z) / z->shape.dim[0]);
  pr(P, "#define %s_PRED_SIZE %" PRId64 " /* output of predict per sample (%s): %s */", NU, size_of(o),
     o->name, cnn_shape_str(o->shape, b1, sizeof b1));
  pr(P, "#define %s_ARCH_HASH UINT64_C(0x%016" PRIx64 ")", NU, cnn_arch_hash(net));
  pr(P, "#define %s_LOSS_MSE %d /* 0: softmax cross-entropy */", NU, net->loss == LOSS_MSE);
  nl(P);
  pr(P, "/* Parameters (learnable, in %s_params) and buffers (in %s_buffers), in", N, N);
  pr(P, " * PyTorch's order and layout; offset is into the block the tensor is in. */");
  pr(P, "typedef struct {");
  pr(P, "const char *name; /* \"conv1.weight\" */");
  pr(P, "int learnable;");
  pr(P, "long offset, count;");
  pr(P, "int rank, dim[4];");
  pr(P, "} %s_tensor;", N);
  pr(P, "extern const %s_tensor %s_tensors[];", N, N);
  nl(P);
  pr(P, "extern %s_real %s_params[];  /* %s_NPARAMS */", N, N, NU);
  pr(P, "extern %s_real %s_grads[];   /* %s_NPARAMS: d loss / d params */", N, N, NU);
  pr(P, "extern %s_real %s_buffers[]; /* %s_NBUFFERS */", N, N, NU);
  nl(P);
  pr(P, "/* Allocate activations for up to max_batch samples; 0 on success, -1 if out\n"
        " * of memory. Call again to change max_batch; %s_free() releases them. */", N);
  pr(P, "int %s_setup(int max_batch);", N);
  pr(P, "void %s_free(void);", N);
  pr(P, "/* PyTorch's default initialization from a seed; zeroes the Adam state. */");
  pr(P, "void %s_init(uint64_t seed);", N);
  pr(P, "/* Forward pass on n <= max_batch samples x (n * %s_IN_SIZE). With labels\n"
        " * (n * %s_LABELS) and for mse targets (n * %s_OUT_SIZE; NULL: one-hot of\n"
        " * the labels) returns the mean loss and stores the correctly classified\n"
        " * positions in *correct (may be NULL); without both returns 0. training=1\n"
        " * uses batch statistics and the dropout masks of dropout_seed. */", NU, NU, NU);
  pr(P, "%s_real %s_forward(const %s_real *x, const int32_t *labels, const %s_real *targets,", N, N, N, N);
  pr(P, "    int n, int training, uint64_t dropout_seed, long *correct);");
  pr(P, "/* Overwrite %s_grads with the gradient of the last forward's mean loss. */", N);
  pr(P, "void %s_backward(int n);", N);
  pr(P, "/* The same, and d loss / d x into dx (n * %s_IN_SIZE) unless dx is NULL. */", NU);
  pr(P, "void %s_backward_input(int n, %s_real *dx);", N, N);
  pr(P, "/* One Adam step (t counts from 1) over all parameters with %s_grads. */", N);
  pr(P, "void %s_update(const RtAdam *cfg, long t);", N);
  pr(P, "/* Evaluation-mode outputs of %s for n samples (any n) into out\n"
        " * (n * %s_PRED_SIZE). Overwrites the activations of the last forward. */", o->name, NU);
  pr(P, "void %s_predict(const %s_real *x, int n, %s_real *out);", N, N, N);
  pr(P, "/* Logits of the last forward: n * %s_OUT_SIZE values. */", NU);
  pr(P, "const %s_real *%s_output(void);", N, N);
  nl(P);
  pr(P, "#ifdef __cplusplus");
  P->indent = 1;
  pr(P, "}");
  pr(P, "#endif");
  nl(P);
  pr(P, "#endif");
}

/* The helpers the layers call: sum(), then the matrix product and the
 * window copies (emit/kernels.c). */
static void emit_helpers(Emit *E) {
  CnnPrinter *P = E->P;
  if (E->T->needs.sum || E->T->needs.gemm) {
    nl(P);
    pr(P, "/* Sums in eight independent lanes, which compilers vectorize without");
    pr(P, " * reordering floating-point additions themselves. */");
    pr(P, "static INLINE real sum(const real *restrict a, int n) {");
    pr(P, "real lane[8] = {0};");
    pr(P, "int i = 0;");
    pr(P, "for (; i + 8 <= n; i += 8)");
    pr(P, "  for (int j = 0; j < 8; j++) lane[j] += a[i + j];");
    pr(P, "for (; i < n; i++) lane[0] += a[i];");
    pr(P, "return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));");
    pr(P, "}");
  }
  if (E->T->needs.lanes) emit_lanes(E);
  if (E->T->needs.pool2) cnn_emit_pool_kernels(P);
  if (E->T->needs.gemm) cnn_emit_kernels(P, E->dbl, E->T->needs.implicit, E->T->needs.windows);
}

/* The layer profile: with CNNCC_PROFILE=1 (any value but 0) in the
 * environment, the network functions time every layer's passes (lap()) and
 * the program prints a table at exit. Rows: the layers that have code, then
 * the loss and the zeroing of the gradients (E->prof maps nodes to rows). */
static void emit_profile(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  E->prof = cnn_alloc(E->A, sizeof(int) * (size_t)net->nnodes);
  E->nprof = 0;
  for (int i = 0; i < net->nnodes; i++)
    E->prof[i] = (E->T->live_train[i] || E->T->live_pred[i]) && (E->fwd[i] || E->bwd[i]) ? E->nprof++ : -1;
  E->nprof += 2;
  nl(P);
  pr(P, "/* ---- the layer profile ----");
  pr(P, " * With CNNCC_PROFILE=1 in the environment, lap() adds the time since the last");
  pr(P, " * lap to a layer's forward or backward pass, and the table goes to stderr at");
  pr(P, " * exit: milliseconds per call and GFLOP/s (backward: twice the forward FLOPs,");
  pr(P, " * for layers with weights). */");
  pr(P, "static struct {");
  pr(P, "const char *name, *op;");
  pr(P, "double flops; /* forward, per sample */");
  pr(P, "int weights;  /* backward does twice the forward's FLOPs */");
  pr(P, "double seconds[2];");
  pr(P, "long calls[2], samples[2];");
  pr(P, "} profile[%d] = {", E->nprof);
  for (int i = 0; i < net->nnodes; i++) {
    if (E->prof[i] < 0) continue;
    const CnnNode *n = &net->nodes[i];
    bool w = n->op == OP_CONV1D || n->op == OP_CONV2D || n->op == OP_CONV_TRANSPOSE2D || n->op == OP_DENSE;
    pr(P, "{\"%s\", \"%s\", %" PRId64 ", %d, {0, 0}, {0, 0}, {0, 0}},", n->name, cnn_op_name(n->op),
       n->flops, w ? 1 : 0);
  }
  pr(P, "{\"(loss)\", \"\", 0, 0, {0, 0}, {0, 0}, {0, 0}},");
  pr(P, "{\"(zero gradients)\", \"\", 0, 0, {0, 0}, {0, 0}, {0, 0}},");
  pr(P, "};");
  pr(P, "static int profiling = -1; /* -1: not decided yet */");
  pr(P, "static double profile_clock;");
  nl(P);
  pr(P, "static double seconds(void) {");
  pr(P, "#ifdef _OPENMP");
  pr(P, "return omp_get_wtime();");
  pr(P, "#else");
  pr(P, "return (double)clock() / CLOCKS_PER_SEC; /* one thread: its time */");
  pr(P, "#endif");
  pr(P, "}");
  nl(P);
  pr(P, "/* the time since the last lap goes to row k (-1: nowhere), pass 0 forward, 1 backward */");
  pr(P, "static void lap(int k, int pass, int n) {");
  pr(P, "if (profiling <= 0) return;");
  pr(P, "const double t = seconds();");
  pr(P, "if (k >= 0) {");
  pr(P, "profile[k].seconds[pass] += t - profile_clock;");
  pr(P, "profile[k].calls[pass]++;");
  pr(P, "profile[k].samples[pass] += n;");
  pr(P, "}");
  pr(P, "profile_clock = t;");
  pr(P, "}");
  nl(P);
  pr(P, "static void profile_print(void) {");
  pr(P, "double total[2] = {0, 0}, flops[2] = {0, 0};");
  pr(P, "fprintf(stderr, \"%%-24s %%-16s %%11s %%8s %%11s %%8s\\n\", \"layer (CNNCC_PROFILE)\", \"op\", \"forward ms\",");
  pr(P, "        \"GFLOP/s\", \"backward ms\", \"GFLOP/s\");");
  pr(P, "for (int k = 0; k < %d; k++) {", E->nprof);
  pr(P, "fprintf(stderr, \"%%-24s %%-16s\", profile[k].name, profile[k].op);");
  pr(P, "for (int pass = 0; pass < 2; pass++) {");
  pr(P, "const double s = profile[k].seconds[pass];");
  pr(P, "const double f = profile[k].flops * profile[k].samples[pass] * (pass && profile[k].weights ? 2 : 1);");
  pr(P, "total[pass] += s;");
  pr(P, "flops[pass] += f;");
  pr(P, "if (!profile[k].calls[pass]) fprintf(stderr, \" %%11s %%8s\", \"-\", \"-\");");
  pr(P, "else if (pass && !profile[k].weights && profile[k].flops) fprintf(stderr, \" %%11.3f %%8s\", 1e3 * s / profile[k].calls[pass], \"\");");
  pr(P, "else fprintf(stderr, \" %%11.3f %%8.1f\", 1e3 * s / profile[k].calls[pass], s > 0 ? f / s * 1e-9 : 0.0);");
  pr(P, "}");
  pr(P, "fputc('\\n', stderr);");
  pr(P, "}");
  pr(P, "const long calls = profile[0].calls[0] > 0 ? profile[0].calls[0] : 1;");
  pr(P, "fprintf(stderr, \"%%-24s %%-16s %%11.3f %%8.1f %%11.3f %%8.1f\\n\", \"total per call\", \"\",");
  pr(P, "        1e3 * total[0] / calls, total[0] > 0 ? flops[0] / total[0] * 1e-9 : 0.0,");
  pr(P, "        1e3 * total[1] / calls, total[1] > 0 ? flops[1] / total[1] * 1e-9 : 0.0);");
  pr(P, "}");
  nl(P);
  pr(P, "/* Decides once whether to profile (CNNCC_PROFILE) and prints the table at exit. */");
  pr(P, "static void profile_start(void) {");
  pr(P, "if (profiling >= 0) return;");
  pr(P, "const char *env = getenv(\"CNNCC_PROFILE\");");
  pr(P, "profiling = env && *env && strcmp(env, \"0\") != 0;");
  pr(P, "if (profiling) atexit(profile_print);");
  pr(P, "}");
}

/* the file's first comment and its includes */
static void emit_prologue(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N;
  pr(P, "/* %s.c - training code for the network \"%s\", generated by cnncc %s\n"
        " * from %s (%s, target %s).\n"
        " * Do not edit: change the .cnn file and run cnncc again.\n"
        " * The layers follow in network order, each with its forward and backward\n"
        " * pass; then the whole-network functions declared in %s.\n"
        " * Build a trainer: cc -O2 %s.c $(pkg-config --cflags --libs cnnrt)\n"
        " * (with -DCNNCC_NO_MAIN, only the functions). */",
     N, net->name, PACKAGE_VERSION, E->opt->source_file ? E->opt->source_file : "?",
     E->dbl ? "double" : "float", target_names[E->opt->target], E->opt->header_name, N);
  pr(P, "#include <math.h>");
  pr(P, "#include <stdio.h>");
  pr(P, "#include <stdlib.h>");
  pr(P, "#include <string.h>");
  pr(P, "#include <time.h>");
  nl(P);
  pr(P, "#include \"%s\"", E->opt->header_name);
  nl(P);
  pr(P, "typedef %s_real real;", N);
  nl(P);
}

/* the parameters, their gradients, the buffers and the Adam moments, and
 * the table and named views of the tensors */
static void emit_params(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  pr(P, "/* ---- parameters, gradients and buffers: one block each ---- */");
  nl(P);
  pr(P, "%s_real %s_params[%s_NPARAMS > 0 ? %s_NPARAMS : 1];", N, N, NU, NU);
  pr(P, "%s_real %s_grads[%s_NPARAMS > 0 ? %s_NPARAMS : 1];", N, N, NU, NU);
  pr(P, "%s_real %s_buffers[%s_NBUFFERS > 0 ? %s_NBUFFERS : 1];", N, N, NU, NU);
  pr(P, "static real adam_m[%s_NPARAMS > 0 ? %s_NPARAMS : 1], adam_v[%s_NPARAMS > 0 ? %s_NPARAMS : 1];",
     NU, NU, NU, NU);
  pr(P, "/* %s_update has run since %s_init, and the moments are not all zero: a program", N, N);
  pr(P, " * that never calls it (libcnnrt's trainer has its own) never touches their memory */");
  pr(P, "static int adam_started;");
  nl(P);
  pr(P, "const %s_tensor %s_tensors[%s_NTENSORS > 0 ? %s_NTENSORS : 1] = {", N, N, NU, NU);
  for (int i = 0; i < net->nnodes; i++)
    for (int t = 0; t < E->T->nts[i]; t++) {
      const CnnTensorSpec *s = &E->T->ts[i][t];
      pr(P, "{\"%s.%s\", %d, %" PRId64 ", %" PRId64 ", %d, {%d, %d, %d, %d}},", net->nodes[i].name, s->name,
         s->learnable, E->T->off[i][t], s->count, s->rank, s->dim[0], s->rank > 1 ? s->dim[1] : 0,
         s->rank > 2 ? s->dim[2] : 0, s->rank > 3 ? s->dim[3] : 0);
    }
  if (!E->T->ntensors) pr(P, "{0}");
  pr(P, "};");
  nl(P);
  pr(P, "/* Named views: layer_tensor points into the block, layer_tensor_grad into the gradients. */");
  for (int i = 0; i < net->nnodes; i++)
    for (int t = 0; t < E->T->nts[i]; t++) {
      const CnnTensorSpec *s = &E->T->ts[i][t];
      char dims[64];
      size_t k = 0;
      for (int d = 0; d < s->rank; d++) k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%d", d ? ", " : "", s->dim[d]);
      pr(P, "#define %s_%s (%s_%s + %" PRId64 ") /* [%s] */", net->nodes[i].name, s->name, N,
         s->learnable ? "params" : "buffers", E->T->off[i][t], dims);
      if (s->learnable)
        pr(P, "#define %s_%s_grad (%s_grads + %" PRId64 ")", net->nodes[i].name, s->name, N, E->T->off[i][t]);
    }
}

/* the pointers into the arena (activations, gradients, max pooling indexes,
 * scratch) and what the last forward pass did */
static void emit_state(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *NU = E->NU;
  bool mse = net->loss == LOSS_MSE;
  nl(P);
  cnn_emit_kernel_config(P, E->dbl);
  nl(P);
  pr(P, "/* ---- activations and their gradients: n samples each, in one pool (layout()) ---- */");
  nl(P);
  pr(P, "static struct {");
  for (int i = 0; i < net->nnodes; i++)
    if ((E->T->live_train[i] || E->T->live_pred[i]) && E->T->root[i] == i)
      pr(P, "real *%s; /* %" PRId64 " per sample%s */", net->nodes[i].name, size_of(&net->nodes[i]),
         E->T->relu_into[i] >= 0   ? fmt(E, "; act: none (%s is written)", net->nodes[E->T->relu_into[i]].name)
         : E->T->recompute[i] >= 0 ? "; act: recomputed for backward"
                                : "");
  pr(P, "} act, grad;");
  bool any_max = false;
  for (int i = 0; i < net->nnodes; i++)
    any_max |= (E->T->live_train[i] || E->T->live_pred[i]) &&
               (net->nodes[i].op == OP_MAXPOOL1D || net->nodes[i].op == OP_MAXPOOL2D);
  if (any_max) {
    pr(P, "static struct { /* where each max pooling window's maximum was */");
    for (int i = 0; i < net->nnodes; i++)
      if ((E->T->live_train[i] || E->T->live_pred[i]) &&
          (net->nodes[i].op == OP_MAXPOOL1D || net->nodes[i].op == OP_MAXPOOL2D))
        pr(P, "int32_t *%s;", net->nodes[i].name);
    pr(P, "} argmax;");
  }
  if (E->T->needs.gemm) {
    pr(P, "static struct { /* scratch of the matrix products, per part of the batch */");
    pr(P, "real *col;  /* a packed right-hand operand: a window matrix or its transpose */");
    pr(P, "real *b;    /* another packed right-hand operand */");
    pr(P, "real *a;    /* a packed left-hand operand */");
    pr(P, "real *dcol; /* a window matrix to scatter (col2im) */");
    pr(P, "real *dw;   /* the part's weight gradient */");
    pr(P, "} part[PARTS];");
    pr(P, "static struct { /* scratch shared by the parts */");
    pr(P, "real *w;    /* a packed weight */");
    pr(P, "real *a, *b; /* packed operands of dense layers (the batch at once) */");
    pr(P, "} shared;");
  }
  pr(P, "static int32_t *labels_copy; /* %s_LABELS per sample */", NU);
  if (mse) pr(P, "static real *targets_copy; /* %s_OUT_SIZE per sample */", NU);
  pr(P, "static void *arena;");
  pr(P, "static char *pool; /* in the arena: act, grad and argmax (layout()) */");
  pr(P, "static int max_batch;");
  pr(P, "static struct { /* what the last forward did, for backward */");
  pr(P, "int n, training, has_loss;");
  pr(P, "uint64_t dropout_seed;");
  if (E->T->replay) pr(P, "int reused; /* a backward pass has reused memory of its activations since */");
  pr(P, "} last;");
}

/* the helpers, then each layer's functions and the loss */
static void emit_layers(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  emit_helpers(E);
  nl(P);
  pr(P, "/* ---- layers ---- */");
  for (int i = 0; i < net->nnodes; i++)
    if (E->T->live_train[i] || E->T->live_pred[i]) emit_layer(E, &net->nodes[i]);
  emit_loss(E);
}

/* layout(): the arena, with the pool as the memory plan has it */
static void emit_layout(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *NU = E->NU;
  bool mse = net->loss == LOSS_MSE;
  nl(P);
  pr(P, "/* ---- the network ---- */");
  nl(P);
  pr(P, "/* Lays out the arena for b samples; with base NULL only measures it. */");
  pr(P, "static size_t layout(char *base, size_t b) {");
  pr(P, "size_t off = 0;");
  pr(P, "#define SLOT(ptr, count) /* count values */ \\");
  pr(P, "  do { \\");
  pr(P, "    off = (off + 63) & ~(size_t)63; \\");
  pr(P, "    if (base) (ptr) = (void *)(base + off); \\");
  pr(P, "    off += (count) * sizeof *(ptr); \\");
  pr(P, "  } while (0)");
  pr(P, "/* The pool: a buffer is in use only from its first to its last use in a");
  pr(P, " * training step (the comments: the forward and backward passes of layers; the");
  pr(P, " * end: after the backward pass), and buffers in use at different times share");
  pr(P, " * memory. The offsets are bytes per sample, planned by cnncc. */");
  pr(P, "SLOT(pool, b * %" PRId64 ");", E->T->pool_bytes);
  pr(P, "if (base) {");
  pr(P, "#define AT(bytes) (void *)(pool + b * (size_t)(bytes))");
  for (int i = 0; i < net->nnodes; i++) {
    const int bs[3] = {E->T->act_buf[i], E->T->grad_alias[i] < 0 ? E->T->grad_buf[i] : -1, E->T->arg_buf[i]};
    for (int k = 0; k < 3; k++)
      if (bs[k] >= 0)
        pr(P, "%s = AT(%" PRId64 "); /* %s */", E->T->buf[bs[k]].name, E->T->buf[bs[k]].offset, cnn_train_life_text(E->T, &E->T->buf[bs[k]]));
  }
  for (int i = net->nnodes - 1; i >= 0; i--) { /* a buffer before those that share it */
    if (E->T->grad_alias[i] < 0) continue;
    const CnnNode *by = &net->nodes[E->T->alias_by[i]];
    pr(P, "grad.%s = grad.%s; /* %s */", net->nodes[i].name, net->nodes[E->T->grad_alias[i]].name,
       by->op == OP_ADD ? fmt(E, "the same gradient: %s passes it on", by->name)
                        : fmt(E, "%s's backward pass turns one into the other", by->name));
  }
  pr(P, "#undef AT");
  pr(P, "}");
  pr(P, "SLOT(labels_copy, b * %s_LABELS);", NU);
  if (mse) pr(P, "SLOT(targets_copy, b * %s_OUT_SIZE);", NU);
  if (E->T->needs.gemm) {
    pr(P, "for (int p = 0; p < PARTS; p++) { /* scratch of one sample per part */");
    pr(P, "SLOT(part[p].col, %" PRId64 ");", E->T->scratch.col);
    pr(P, "SLOT(part[p].b, %" PRId64 ");", E->T->scratch.b);
    pr(P, "SLOT(part[p].a, %" PRId64 ");", E->T->scratch.a);
    pr(P, "SLOT(part[p].dcol, %" PRId64 ");", E->T->scratch.dcol);
    pr(P, "SLOT(part[p].dw, %" PRId64 ");", E->T->scratch.dw);
    pr(P, "}");
    pr(P, "SLOT(shared.w, %" PRId64 ");", E->T->scratch.w);
    pr(P, "SLOT(shared.a, b * %" PRId64 " + %" PRId64 ");", E->T->scratch.a_per, E->T->scratch.a_fix);
    pr(P, "SLOT(shared.b, b * %" PRId64 ");", E->T->scratch.b_per);
  }
  pr(P, "#undef SLOT");
  pr(P, "return off;");
  pr(P, "}");
  nl(P);
}

/* the layer profile, <net>_setup() and <net>_free() */
static void emit_setup(Emit *E) {
  CnnPrinter *P = E->P;
  const char *N = E->N;
  emit_profile(E);
  nl(P);
  pr(P, "int %s_setup(int batch) {", N);
  pr(P, "if (batch < 1) return -1;");
  pr(P, "profile_start();");
  pr(P, "char *base = malloc(layout(NULL, (size_t)batch));");
  pr(P, "if (!base) return -1;");
  pr(P, "free(arena);");
  pr(P, "arena = base;");
  pr(P, "max_batch = batch;");
  pr(P, "layout(base, (size_t)batch);");
  pr(P, "return 0;");
  pr(P, "}");
  nl(P);
  pr(P, "void %s_free(void) {", N);
  pr(P, "free(arena);");
  pr(P, "arena = NULL;");
  pr(P, "max_batch = 0;");
  pr(P, "}");
}

/* <net>_init(): the parameters as PyTorch initializes them */
static void emit_init(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N;
  nl(P);
  pr(P, "static void init_uniform(real *p, long count, long fan_in, RtRng *rng) {");
  pr(P, "const double bound = 1 / sqrt((double)fan_in);");
  pr(P, "for (long i = 0; i < count; i++) p[i] = (real)rt_rng_uniform_range(rng, -bound, bound);");
  pr(P, "}");
  nl(P);
  bool any_bn = false;
  for (int i = 0; i < net->nnodes; i++) any_bn |= net->nodes[i].op == OP_BATCHNORM;
  if (any_bn) {
    pr(P, "static void fill(real *p, long count, real v) {");
    pr(P, "for (long i = 0; i < count; i++) p[i] = v;");
    pr(P, "}");
    nl(P);
  }
  pr(P, "/* PyTorch's defaults: convolution and dense weights and biases uniform in");
  pr(P, " * +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)), drawn in parameter order;");
  pr(P, " * batchnorm weight 1, bias 0, running mean 0, running variance 1. */");
  pr(P, "void %s_init(uint64_t seed) {", N);
  pr(P, "RtRng rng;");
  pr(P, "rt_rng_seed(&rng, seed);");
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!E->T->nts[i]) continue;
    if (n->op == OP_BATCHNORM) {
      int c = n->shape.dim[0];
      pr(P, "fill(%s, %d, 1);", param(E, n, "weight"), c);
      pr(P, "fill(%s, %d, 0);", param(E, n, "bias"), c);
      pr(P, "fill(%s, %d, 0);", param(E, n, "running_mean"), c);
      pr(P, "fill(%s, %d, 1);", param(E, n, "running_var"), c);
      continue;
    }
    const CnnTensorSpec *w = &E->T->ts[i][0];
    int64_t fan_in = w->count / w->dim[0]; /* weight.size(1) * kernel */
    for (int t = 0; t < E->T->nts[i]; t++)
      pr(P, "init_uniform(%s, %" PRId64 ", %" PRId64 ", &rng);", param(E, n, E->T->ts[i][t].name),
         E->T->ts[i][t].count, fan_in);
  }
  bool any_uniform = false;
  for (int i = 0; i < net->nnodes; i++) any_uniform |= E->T->nts[i] && net->nodes[i].op != OP_BATCHNORM;
  if (!any_uniform) pr(P, "(void)rng;");
  pr(P, "if (adam_started) { /* else they are all zero */");
  pr(P, "memset(adam_m, 0, sizeof adam_m);");
  pr(P, "memset(adam_v, 0, sizeof adam_v);");
  pr(P, "adam_started = 0;");
  pr(P, "}");
  pr(P, "}");
}

/* forward_layers(), replay() and <net>_forward() */
static void emit_forward(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  const CnnNode *z = &net->nodes[net->loss_input];
  bool mse = net->loss == LOSS_MSE;
  bool train_training = false, train_seed = false;
  for (int i = 0; i < net->nnodes; i++) {
    train_training |= E->T->live_train[i] && E->fwd[i] && E->fwd_training[i];
    train_seed |= E->T->live_train[i] && E->fwd[i] && E->fwd_seed[i];
  }
  nl(P);
  pr(P, "/* The layers' forward passes, for %s_forward()%s */", N, E->T->replay ? " and replay()" : "");
  pr(P, "static void forward_layers(int n, int training, uint64_t dropout_seed) {");
  if (!train_training) pr(P, "(void)training;");
  if (!train_seed) pr(P, "(void)dropout_seed;");
  pr(P, "lap(-1, 0, n);");
  for (int i = 0; i < net->nnodes; i++)
    if (E->T->live_train[i] && E->fwd[i]) {
      pr(P, "%s", E->fwd[i]);
      pr(P, "lap(%d, 0, n);", E->prof[i]);
    }
  pr(P, "}");
  if (E->T->replay) {
    nl(P);
    pr(P, "/* For a second backward pass after one forward pass: the first reused the");
    pr(P, " * memory of activations it had read for the last time (the pool), so the forward");
    pr(P, " * pass runs again, from the input that the pool keeps, which gives the same");
    pr(P, " * values bit for bit; the running statistics it moves are put back. */");
    pr(P, "static void replay(void) {");
    if (E->T->nbuffers > 0) {
      pr(P, "static real saved[%s_NBUFFERS];", NU);
      pr(P, "memcpy(saved, %s_buffers, sizeof saved);", N);
    }
    pr(P, "forward_layers(last.n, last.training, last.dropout_seed);");
    if (E->T->nbuffers > 0) pr(P, "memcpy(%s_buffers, saved, sizeof saved);", N);
    pr(P, "}");
  }
  nl(P);
  pr(P, "%s_real %s_forward(const %s_real *x, const int32_t *labels, const %s_real *targets,", N, N, N, N);
  pr(P, "    int n, int training, uint64_t dropout_seed, long *correct) {");
  pr(P, "if (correct) *correct = 0;");
  pr(P, "if (n < 1 || n > max_batch) return NAN;");
  pr(P, "last.n = n;");
  pr(P, "last.training = training;");
  pr(P, "last.dropout_seed = dropout_seed;");
  if (E->T->replay) pr(P, "last.reused = 0;");
  pr(P, "memcpy(%s, x, (size_t)n * %s_IN_SIZE * sizeof *x);", act(E, 0), NU);
  pr(P, "forward_layers(n, training, dropout_seed);");
  if (mse) {
    pr(P, "last.has_loss = targets || labels;");
    pr(P, "if (!last.has_loss) return 0;");
    pr(P, "if (labels) memcpy(labels_copy, labels, (size_t)n * %s_LABELS * sizeof *labels);", NU);
    pr(P, "if (targets) {");
    pr(P, "memcpy(targets_copy, targets, (size_t)n * %s_OUT_SIZE * sizeof *targets);", NU);
    pr(P, "} else { /* one-hot targets from the labels */");
    pr(P, "memset(targets_copy, 0, (size_t)n * %s_OUT_SIZE * sizeof *targets_copy);", NU);
    pr(P, "for (int b = 0; b < n; b++)");
    pr(P, "  for (int p = 0; p < %s_LABELS; p++) {", NU);
    pr(P, "    const int32_t c = labels[b * %s_LABELS + p];", NU);
    pr(P, "    if (c >= 0 && c < %s_CLASSES) targets_copy[((size_t)b * %s_CLASSES + c) * %s_LABELS + p] = 1;",
       NU, NU, NU);
    pr(P, "  }");
    pr(P, "}");
    pr(P, "return loss_forward(%s, targets_copy, labels ? labels_copy : NULL, n, correct);", act(E, z->id));
  } else {
    pr(P, "(void)targets; /* cross-entropy uses the labels */");
    pr(P, "last.has_loss = labels != NULL;");
    pr(P, "if (!labels) return 0;");
    pr(P, "memcpy(labels_copy, labels, (size_t)n * %s_LABELS * sizeof *labels);", NU);
    pr(P, "return loss_forward(%s, labels_copy, n, correct);", act(E, z->id));
  }
  pr(P, "}");
}

/* <net>_backward_input() and <net>_backward() */
static void emit_backward(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  const CnnNode *z = &net->nodes[net->loss_input];
  bool mse = net->loss == LOSS_MSE;
  nl(P);
  pr(P, "void %s_backward_input(int n, %s_real *dx) {", N, N);
  pr(P, "const int want_dx = dx != NULL; /* is d loss / d input wanted? */");
  pr(P, "(void)want_dx;");
  pr(P, "lap(-1, 1, n);");
  pr(P, "memset(%s_grads, 0, sizeof %s_grads);", N, N);
  pr(P, "if (n != last.n || !last.has_loss) return;");
  if (E->T->replay) {
    pr(P, "if (last.reused) replay();");
    pr(P, "last.reused = 1;");
  }
  pr(P, "/* the loss and then each layer, in reverse order, write or add their part of the");
  pr(P, " * gradient of their inputs: the first to reach a gradient writes it, the rest add */");
  pr(P, "lap(%d, 1, n); /* zeroing the parameters' gradients */", E->nprof - 1);
  if (mse) pr(P, "loss_backward(%s, %s, targets_copy, n);", grad(E, z->id), act(E, z->id));
  else pr(P, "loss_backward(%s, %s, labels_copy, n);", grad(E, z->id), act(E, z->id));
  pr(P, "lap(%d, 1, n); /* loss */", E->nprof - 2);
  for (int i = net->nnodes - 1; i > 0; i--)
    if (E->T->live_train[i] && E->bwd[i]) {
      for (int r = 0; r < net->nnodes; r++) {
        if (E->T->recompute_at[r] != i) continue;
        /* skipped with the layers that read it */
        bool needed = false;
        for (int j = 1; j < net->nnodes; j++)
          needed |= E->T->has_bwd[j] && cnn_train_reads_in_backward(E->T, j, r) && E->T->ng[j];
        /* a batchnorm: without the statistics; others: their forward pass again */
        const CnnNode *p = &net->nodes[E->T->recompute[r]];
        const char *call = p->op == OP_BATCHNORM
                               ? fmt(E, "%s_recompute(%s, %s, %s, %s, n);", p->name, act(E, r),
                                     act(E, p->inputs[0]), param(E, p, "weight"), param(E, p, "bias"))
                               : E->fwd[p->id];
        pr(P, "%s%s /* %s, not kept */", needed ? "" : "if (want_dx) ", call, net->nodes[r].name);
      }
      if (!E->T->ng[i] && strncmp(E->bwd[i], "if (want_dx)", 12)) pr(P, "if (want_dx) %s", E->bwd[i]);
      else pr(P, "%s", E->bwd[i]);
      pr(P, "lap(%d, 1, n);", E->prof[i]);
    }
  pr(P, "if (dx) memcpy(dx, %s, (size_t)n * %s_IN_SIZE * sizeof *dx);", grad(E, 0), NU);
  pr(P, "}");
  nl(P);
  pr(P, "void %s_backward(int n) {", N);
  pr(P, "%s_backward_input(n, NULL);", N);
  pr(P, "}");
}

/* <net>_update(): an Adam step */
static void emit_update(Emit *E) {
  CnnPrinter *P = E->P;
  const char *N = E->N, *NU = E->NU;
  nl(P);
  pr(P, "void %s_update(const RtAdam *cfg, long t) {", N);
  pr(P, "adam_started = 1;");
  if (!E->dbl) {
    pr(P, "rt_adam_step(%s_params, %s_grads, adam_m, adam_v, %s_NPARAMS, cfg, t);", N, N, NU);
  } else {
    pr(P, "/* torch.optim.Adam, as rt_adam_step but in double */");
    pr(P, "const double c1 = 1 - pow(cfg->beta1, (double)t), c2 = sqrt(1 - pow(cfg->beta2, (double)t));");
    pr(P, "for (long i = 0; i < %s_NPARAMS; i++) {", NU);
    pr(P, "const double g = %s_grads[i] + cfg->weight_decay * %s_params[i];", N, N);
    pr(P, "adam_m[i] = cfg->beta1 * adam_m[i] + (1 - cfg->beta1) * g;");
    pr(P, "adam_v[i] = cfg->beta2 * adam_v[i] + (1 - cfg->beta2) * g * g;");
    pr(P, "%s_params[i] -= cfg->lr / c1 * adam_m[i] / (sqrt(adam_v[i]) / c2 + cfg->eps);", N);
    pr(P, "}");
  }
  pr(P, "}");
}

/* <net>_predict() and <net>_output() */
static void emit_predict(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  const CnnNode *z = &net->nodes[net->loss_input], *o = &net->nodes[net->output];
  bool uses_training = false, uses_seed = false;
  for (int i = 0; i < net->nnodes; i++) {
    uses_training |= E->T->live_pred[i] && E->fwd_training[i];
    uses_seed |= E->T->live_pred[i] && E->fwd_seed[i];
  }
  nl(P);
  pr(P, "void %s_predict(const %s_real *x, int count, %s_real *out) {", N, N, N);
  if (uses_training) pr(P, "const int training = 0;");
  if (uses_seed) pr(P, "const uint64_t dropout_seed = 0;");
  pr(P, "last.n = 0; /* backward needs a new forward */");
  pr(P, "if (max_batch < 1) return;");
  pr(P, "for (int first = 0; first < count; first += max_batch) {");
  pr(P, "const int n = count - first < max_batch ? count - first : max_batch;");
  pr(P, "memcpy(%s, x + (size_t)first * %s_IN_SIZE, (size_t)n * %s_IN_SIZE * sizeof *x);", act(E, 0),
     NU, NU);
  for (int i = 0; i < net->nnodes; i++)
    if (E->T->live_pred[i] && E->fwd[i]) pr(P, "%s", E->fwd[i]);
  pr(P, "memcpy(out + (size_t)first * %s_PRED_SIZE, %s, (size_t)n * %s_PRED_SIZE * sizeof *out);", NU,
     act(E, o->id), NU);
  pr(P, "}");
  pr(P, "}");
  nl(P);
  pr(P, "const %s_real *%s_output(void) {", N, N);
  pr(P, "return %s;", act(E, z->id));
  pr(P, "}");
}

/* the trainer program: the RtNet description of the network and main() */
static void emit_main(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  const CnnNode *z = &net->nodes[net->loss_input];
  bool mse = net->loss == LOSS_MSE;
  if (!E->dbl) {
    const CnnNode *in = &net->nodes[0];
    char idim[64], odim[64];
    snprintf(idim, sizeof idim, "{%d, %d, %d}", in->shape.dim[0], in->shape.dim[1], in->shape.dim[2]);
    snprintf(odim, sizeof odim, "{%d, %d, %d}", z->shape.dim[0], z->shape.dim[1], z->shape.dim[2]);
    const CnnTrainConfig *t = &net->train;
    nl(P);
    pr(P, "/* ---- the trainer program: libcnnrt's command line over this network ---- */");
    nl(P);
    pr(P, "#ifndef CNNCC_NO_MAIN");
    pr(P, "/* how this file was compiled, as its compiler says (the trainer's --version) */");
    pr(P, "#if defined(__GNUC__) && !defined(__clang__)");
    pr(P, "#define CNNCC_BUILT_BY \"gcc \" __VERSION__ /* gcc's is only the number */");
    pr(P, "#elif defined(__VERSION__)");
    pr(P, "#define CNNCC_BUILT_BY __VERSION__");
    pr(P, "#else");
    pr(P, "#define CNNCC_BUILT_BY \"a compiler without __VERSION__\"");
    pr(P, "#endif");
    pr(P, "#ifdef _OPENMP");
    pr(P, "#define CNNCC_BUILT_OPENMP _OPENMP");
    pr(P, "#else");
    pr(P, "#define CNNCC_BUILT_OPENMP 0");
    pr(P, "#endif");
    pr(P, "static const RtNet net = {");
    pr(P, ".name = \"%s\",", net->name);
    pr(P, ".in_rank = %d, .in_dim = %s,", in->shape.rank, idim);
    pr(P, ".out_rank = %d, .out_dim = %s,", z->shape.rank, odim);
    pr(P, ".loss = %s,", mse ? "RT_LOSS_MSE" : "RT_LOSS_SOFTMAX_CROSS_ENTROPY");
    pr(P, ".nparams = %s_NPARAMS,", NU);
    pr(P, ".params = %s_params,", N);
    pr(P, ".grads = %s_grads,", N);
    pr(P, ".nbuffers = %s_NBUFFERS,", NU);
    pr(P, ".buffers = %s_buffers,", N);
    pr(P, ".arch_hash = %s_ARCH_HASH,", NU);
    pr(P, ".defaults = {.lr = %s, .beta1 = %s, .beta2 = %s, .eps = %s,", num(E, t->lr),
       num(E, t->beta1), num(E, t->beta2), num(E, t->eps));
    pr(P, "             .weight_decay = %s, .batch = %d, .epochs = %d,", num(E, t->weight_decay),
       t->batch, t->epochs);
    pr(P, "             .seed = UINT64_C(%" PRIu64 ")},", t->seed);
    pr(P, ".setup = %s_setup,", N);
    pr(P, ".init = %s_init,", N);
    pr(P, ".forward = %s_forward,", N);
    pr(P, ".backward = %s_backward,", N);
    pr(P, ".output = %s_output,", N);
    pr(P, ".build = {.compiler = CNNCC_BUILT_BY, .openmp = CNNCC_BUILT_OPENMP, .kernels = KERNEL_ISA},");
    pr(P, "};");
    nl(P);
    pr(P, "int main(int argc, char **argv) {");
    pr(P, "return rt_main(argc, argv, &net);");
    pr(P, "}");
    pr(P, "#endif");
  }
}

/* The C file: its sections in order. */
static void emit_source(Emit *E) {
  emit_prologue(E);
  emit_params(E);
  emit_state(E);
  emit_layers(E);
  emit_layout(E);
  emit_setup(E);
  emit_init(E);
  emit_forward(E);
  emit_backward(E);
  emit_update(E);
  emit_predict(E);
  emit_main(E);
}

int cnn_emit_c(FILE *c, FILE *h, const CnnNet *net, const CnnEmitOptions *opt) {
  if (net->loss == LOSS_NONE || net->loss_input < 0) {
    fprintf(stderr, "cnncc: network '%s' has no loss; training code needs a 'loss' statement\n",
            net->name);
    return -1;
  }
  CnnArena arena = {0};
  jmp_buf oom;
  arena.oom = &oom;
  if (setjmp(oom)) {
    cnn_arena_free(&arena);
    fprintf(stderr, "cnncc: out of memory\n");
    return -1;
  }
  CnnPrinter printer;
  cnn_printer_init(&printer, c);
  Emit E = {.net = net, .P = &printer, .A = &arena, .opt = opt, .dbl = opt->dtype == CNN_DTYPE_DOUBLE,
            .N = net->name};
  E.NU = cnn_strdup(&arena, net->name);
  for (char *p = E.NU; *p; p++) *p = (char)toupper((unsigned char)*p);
  E.T = cnn_plan_training(&arena, net, E.dbl ? (int64_t)sizeof(double) : (int64_t)sizeof(float));
  if (!E.T) {
    cnn_arena_free(&arena);
    return -1;
  }
  size_t nn = (size_t)net->nnodes;
  E.fwd = cnn_alloc(&arena, sizeof(char *) * nn);
  E.bwd = cnn_alloc(&arena, sizeof(char *) * nn);
  E.fwd_training = cnn_alloc(&arena, nn);
  E.fwd_seed = cnn_alloc(&arena, nn);
  emit_header(&E, h);
  emit_source(&E);
  bool failed = printer.failed;
  cnn_arena_free(&arena);
  if (failed || ferror(c) || ferror(h)) {
    fprintf(stderr, "cnncc: error writing the generated code\n");
    return -1;
  }
  return 0;
}
