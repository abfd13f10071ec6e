/* emit_c.c - the training code generator: a network IR in, one C file and
 * its header out (docs/generated-code.md describes what they contain).
 *
 * The generated code is meant to be read. Every layer gets a _forward and a
 * _backward function side by side, preceded by a comment with the layer's
 * name, operator, source line and shapes. All shapes, strides and sizes are
 * literals; only the batch size n is a run-time value. The parameters live
 * in one array with named views; activations and their gradients in one
 * arena allocated by <net>_setup().
 *
 * Target seam: the kernels of the heavy layers (convolutions, dense) are
 * chosen through the table `kernels[]` by CnnTarget. Only portable C exists
 * now ("generic"; "native" uses the same kernels with -march=native). */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"

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
  int *root;        /* the node whose buffer a node uses (flatten aliases) */
  bool *live_train; /* computed by forward: ancestors of the loss input */
  bool *live_pred;  /* computed by predict: ancestors of the output */
  bool *ng;         /* its gradient is needed for parameter gradients */
  int *nts;
  CnnTensorSpec (*ts)[4];
  int64_t (*off)[4]; /* offset of each tensor in params or buffers */
  int64_t nparams, nbuffers;
  int ntensors;
  const char **fwd, **bwd; /* the call of each layer's functions */
  bool *fwd_training, *fwd_seed; /* the call uses `training`, `dropout_seed` */
  bool need_dot, need_sum, need_gemm; /* helpers the layers use */
  int64_t scratch_col, scratch_t, scratch_w; /* scratch sizes the layers need */
} Emit;

/* ---- small helpers ---- */

static const char *fmt(Emit *E, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(Emit *E, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = cnn_vformat(E->A, f, ap);
  va_end(ap);
  return s;
}

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
static const char *act(Emit *E, int id) { return fmt(E, "act.%s", E->net->nodes[E->root[id]].name); }
static const char *grad(Emit *E, int id) { return fmt(E, "grad.%s", E->net->nodes[E->root[id]].name); }

/* The gradient buffer for input i of node n as the backward call passes it:
 * NULL unless someone needs it (parameters upstream, or d loss / d input). */
static const char *din_arg(Emit *E, const CnnNode *n, int i) {
  int id = n->inputs[i];
  return E->ng[id] ? grad(E, id) : fmt(E, "want_dx ? %s : NULL", grad(E, id));
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

/* The o in [0, nout) with 0 <= o*s - p + k*d < nin form [lo, hi). */
static void tap_range(int k, int s, int p, int d, int nin, int nout, int *lo, int *hi) {
  *lo = *hi = 0;
  bool any = false;
  for (int o = 0; o < nout; o++) {
    int64_t i = (int64_t)o * s - p + (int64_t)k * d;
    if (i < 0 || i >= nin) continue;
    if (!any) *lo = o;
    any = true;
    *hi = o + 1;
  }
}

/* Loop bounds over the output positions `var` for each tap of one axis.
 * When every tap covers the whole axis the bounds are 0 and nout; otherwise
 * a table per tap is emitted, e.g. static const int oy_lo[3] = {1, 0, 0}. */
typedef struct {
  const char *lo, *hi; /* expressions, using the tap variable */
} Range;

static Range tap_bounds(Emit *E, const char *var, const char *tap, int K, int s, int p, int d,
                        int nin, int nout) {
  int *lo = cnn_alloc(E->A, sizeof(int) * (size_t)K), *hi = cnn_alloc(E->A, sizeof(int) * (size_t)K);
  bool full = true;
  for (int k = 0; k < K; k++) {
    tap_range(k, s, p, d, nin, nout, &lo[k], &hi[k]);
    if (lo[k] != 0 || hi[k] != nout) full = false;
  }
  if (full) return (Range){"0", fmt(E, "%d", nout)};
  if (K == 1) return (Range){fmt(E, "%d", lo[0]), fmt(E, "%d", hi[0])};
  size_t cap = (size_t)K * 12 + 1, ln = 0, hn = 0;
  char *lbuf = cnn_alloc(E->A, cap), *hbuf = cnn_alloc(E->A, cap);
  for (int k = 0; k < K; k++) {
    ln += (size_t)snprintf(lbuf + ln, cap - ln, "%s%d", k ? ", " : "", lo[k]);
    hn += (size_t)snprintf(hbuf + hn, cap - hn, "%s%d", k ? ", " : "", hi[k]);
  }
  pr(E->P, "static const int %s_lo[%d] = {%s};", var, K, lbuf);
  pr(E->P, "static const int %s_hi[%d] = {%s};", var, K, hbuf);
  return (Range){fmt(E, "%s_lo[%s]", var, tap), fmt(E, "%s_hi[%s]", var, tap)};
}

/* ---- analysis ---- */

static void analyse(Emit *E) {
  const CnnNet *net = E->net;
  int nn = net->nnodes;
  E->root = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->live_train = cnn_alloc(E->A, (size_t)nn);
  E->live_pred = cnn_alloc(E->A, (size_t)nn);
  E->ng = cnn_alloc(E->A, (size_t)nn);
  E->nts = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->ts = cnn_alloc(E->A, sizeof *E->ts * (size_t)nn);
  E->off = cnn_alloc(E->A, sizeof *E->off * (size_t)nn);
  E->fwd = cnn_alloc(E->A, sizeof(char *) * (size_t)nn);
  E->bwd = cnn_alloc(E->A, sizeof(char *) * (size_t)nn);
  E->fwd_training = cnn_alloc(E->A, (size_t)nn);
  E->fwd_seed = cnn_alloc(E->A, (size_t)nn);
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    E->root[i] = n->op == OP_FLATTEN ? E->root[n->inputs[0]] : i;
    E->nts[i] = cnn_node_tensors(net, n, E->ts[i]);
    for (int t = 0; t < E->nts[i]; t++) {
      CnnTensorSpec *s = &E->ts[i][t];
      E->off[i][t] = s->learnable ? E->nparams : E->nbuffers;
      *(s->learnable ? &E->nparams : &E->nbuffers) += s->count;
      E->ntensors++;
    }
    bool ng = n->nparams > 0;
    for (int k = 0; k < n->ninputs; k++) ng |= E->ng[n->inputs[k]];
    E->ng[i] = ng;
  }
  /* liveness: walk back from the loss input and from the output */
  E->live_train[net->loss_input] = true;
  E->live_pred[net->output] = true;
  for (int i = nn - 1; i >= 0; i--) {
    const CnnNode *n = &net->nodes[i];
    for (int k = 0; k < n->ninputs; k++) {
      if (E->live_train[i]) E->live_train[n->inputs[k]] = true;
      if (E->live_pred[i]) E->live_pred[n->inputs[k]] = true;
    }
  }
}

/* ---- architecture hash ---- */

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
  for (int t = 0; t < E->nts[n->id]; t++) {
    const CnnTensorSpec *s = &E->ts[n->id][t];
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

typedef struct {
  int ic, ih, iw, oc, oh, ow;
  int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr; /* padding top, left, bottom, right */
  bool one_d;
} Geo;

static Geo geometry(Emit *E, const CnnNode *n) {
  Geo g;
  cnn_shape_chw(input_node(E, n, 0)->shape, &g.ic, &g.ih, &g.iw);
  cnn_shape_chw(n->shape, &g.oc, &g.oh, &g.ow);
  g.kh = n->kernel[0], g.kw = n->kernel[1];
  g.sh = n->stride[0], g.sw = n->stride[1];
  g.dh = n->dilation[0], g.dw = n->dilation[1];
  g.pt = n->pad_lo[0], g.pl = n->pad_lo[1];
  g.pb = n->pad_hi[0], g.pr = n->pad_hi[1];
  g.one_d = n->shape.rank == 2;
  return g;
}

/* ---- kernels: convolutions as matrix products (portable C) ----
 *
 * A convolution gathers, for every output position p, the input values
 * under the kernel: with col[k][p] = x[ic][iy][ix] for k = (ic, ky, kx) (0
 * in the padding; "im2col"), it is the matrix product y = weight * col, and
 * its gradients are products too: d weight = dy * col^T and d col =
 * weight^T * dy, which "col2im" adds back to the input pixels. A transposed
 * convolution is the same with the roles of input and output exchanged.
 * The products run in gemm(), whose register blocks the compiler
 * vectorizes; the window loops of im2col and col2im have constant bounds,
 * with the range of positions each kernel tap reaches precomputed. */

/* The big side of a window: channels c, h x w pixels; the small side: oh x
 * ow positions; col has c * kh * kw rows of oh * ow values. For a
 * convolution the big side is the input, for a transposed one the output. */
typedef struct {
  int c, h, w, oh, ow;
  int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool one_d;
} Window;

static Window conv_window(const Geo *g) {
  return (Window){g->ic, g->ih, g->iw, g->oh, g->ow, g->kh, g->kw, g->sh, g->sw,
                  g->dh, g->dw, g->pt, g->pl, g->pb, g->pr, g->one_d};
}

static Window convt_window(const Geo *g) {
  return (Window){g->oc, g->oh, g->ow, g->ih, g->iw, g->kh, g->kw, g->sh, g->sw,
                  g->dh, g->dw, g->pt, g->pl, g->pb, g->pr, g->one_d};
}

/* A 1x1 window with stride 1 and no padding: col is the big side itself. */
static bool window_trivial(const Window *w) {
  return w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !w->pt && !w->pl && !w->pb &&
         !w->pr && w->oh == w->h && w->ow == w->w;
}

static int64_t window_rows(const Window *w) { return (int64_t)w->c * w->kh * w->kw; }
static int64_t window_cols(const Window *w) { return (int64_t)w->oh * w->ow; }

/* im2col (gather: col = pixels) or col2im (scatter: pixels += col). */
static void emit_window_copy(Emit *E, const CnnNode *n, const Window *w, bool gather) {
  CnnPrinter *P = E->P;
  int hw = w->h * w->w, p = w->oh * w->ow;
  Range ry = {0}, rx;
  const char *k = w->one_d ? lin(E, "ch", w->kw, "kx", 1, 0)
                           : fmt(E, "(%s) * %d + kx", lin(E, "ch", w->kh, "ky", 1, 0), w->kw);
  const char *row = w->one_d ? lin(E, "kx", w->dw, NULL, 0, -w->pl)
                             : fmt(E, "(%s) * %d + %s", lin(E, "oy", w->sh, "ky", w->dh, -w->pt),
                                   w->w, lin(E, "kx", w->dw, NULL, 0, -w->pl));
  if (gather) {
    pr(P, "/* col[%s][%s] = x[ch][%s][%s], 0 in the padding */", k, w->one_d ? "ox" : fmt(E, "oy * %d + ox", w->ow),
       w->one_d ? "0" : lin(E, "oy", w->sh, "ky", w->dh, -w->pt), lin(E, "ox", w->sw, "kx", w->dw, -w->pl));
    pr(P, "static void %s_im2col(real *restrict col, const real *restrict x) {", n->name);
  } else {
    pr(P, "/* x[ch][%s][%s] += col[%s][%s]: the adjoint of %s_im2col */",
       w->one_d ? "0" : lin(E, "oy", w->sh, "ky", w->dh, -w->pt), lin(E, "ox", w->sw, "kx", w->dw, -w->pl),
       k, w->one_d ? "ox" : fmt(E, "oy * %d + ox", w->ow), n->name);
    pr(P, "static void %s_col2im(real *restrict x, const real *restrict col) {", n->name);
  }
  if (!w->one_d) ry = tap_bounds(E, "oy", "ky", w->kh, w->sh, w->pt, w->dh, w->h, w->oh);
  rx = tap_bounds(E, "ox", "kx", w->kw, w->sw, w->pl, w->dw, w->w, w->ow);
  bool full = !strcmp(rx.lo, "0") && !strcmp(rx.hi, fmt(E, "%d", w->ow)) &&
              (w->one_d || (!strcmp(ry.lo, "0") && !strcmp(ry.hi, fmt(E, "%d", w->oh))));
  pr(P, "for (int ch = 0; ch < %d; ch++) {", w->c);
  pr(P, "%sreal *xc = x + ch * %d;", gather ? "const " : "", hw);
  if (!w->one_d) pr(P, "for (int ky = 0; ky < %d; ky++) {", w->kh);
  pr(P, "for (int kx = 0; kx < %d; kx++) {", w->kw);
  pr(P, "%sreal *c = col + (%s) * %d;", gather ? "" : "const ", k, p);
  if (gather && !full) pr(P, "memset(c, 0, %d * sizeof *c);", p);
  if (!w->one_d) {
    pr(P, "for (int oy = %s; oy < %s; oy++) {", ry.lo, ry.hi);
    pr(P, "const int row = %s;", row);
    pr(P, "%sreal *cr = c + oy * %d;", gather ? "" : "const ", w->ow);
  } else {
    pr(P, "const int row = %s;", row);
    pr(P, "%sreal *cr = c;", gather ? "" : "const ");
  }
  if (gather)
    pr(P, "for (int ox = %s; ox < %s; ox++) cr[ox] = xc[%s];", rx.lo, rx.hi, lin(E, "row", 1, "ox", w->sw, 0));
  else
    pr(P, "for (int ox = %s; ox < %s; ox++) xc[%s] += cr[ox];", rx.lo, rx.hi, lin(E, "row", 1, "ox", w->sw, 0));
  if (!w->one_d) pr(P, "}");
  pr(P, "}");
  if (!w->one_d) pr(P, "}");
  pr(P, "}\n}");
  nl(P);
}

static void need_scratch(int64_t *have, int64_t want) {
  if (*have < want) *have = want;
}

static void conv_forward_gemm(Emit *E, const CnnNode *n, const Geo *g) {
  CnnPrinter *P = E->P;
  Window w = conv_window(g);
  bool trivial = window_trivial(&w);
  int64_t K = window_rows(&w), pos = window_cols(&w);
  E->need_gemm = true;
  if (!trivial) {
    emit_window_copy(E, n, &w, true);
    need_scratch(&E->scratch_col, K * pos);
  }
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + (size_t)b * %d;", g->ic * g->ih * g->iw);
  pr(P, "real *y = out + (size_t)b * %" PRId64 ";", g->oc * pos);
  if (trivial) pr(P, "const real *col = x; /* a 1x1 window: the input is its own col */");
  else {
    pr(P, "real *col = scratch.col;");
    pr(P, "%s_im2col(col, x);", n->name);
  }
  if (n->bias) {
    pr(P, "for (int oc = 0; oc < %d; oc++)", g->oc);
    pr(P, "  for (int p = 0; p < %" PRId64 "; p++) y[oc * %" PRId64 " + p] = bias[oc];", pos, pos);
  }
  pr(P, "/* y[oc][p] %s= sum over k of weight[oc][k] * col[k][p] */", n->bias ? "+" : "");
  pr(P, "gemm(%d, %" PRId64 ", %" PRId64 ", weight, %" PRId64 ", 1, col, y, %d);", g->oc, pos, K, K,
     n->bias ? 1 : 0);
  pr(P, "}\n}");
}

static void conv_backward_gemm(Emit *E, const CnnNode *n, const Geo *g) {
  CnnPrinter *P = E->P;
  Window w = conv_window(g);
  bool trivial = window_trivial(&w);
  int64_t K = window_rows(&w), pos = window_cols(&w);
  int in_size = g->ic * g->ih * g->iw;
  if (!trivial) emit_window_copy(E, n, &w, false);
  need_scratch(&E->scratch_t, pos * g->oc);
  need_scratch(&E->scratch_w, K * g->oc);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + (size_t)b * %d;", in_size);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 ";", g->oc * pos);
  if (n->bias) {
    E->need_sum = true;
    pr(P, "for (int oc = 0; oc < %d; oc++) dbias[oc] += sum(dy + oc * %" PRId64 ", %" PRId64 ");", g->oc,
       pos, pos);
  }
  if (trivial) pr(P, "const real *col = x;");
  else {
    pr(P, "real *col = scratch.col;");
    pr(P, "%s_im2col(col, x);", n->name);
  }
  pr(P, "/* weight gradient: dweight[oc][k] += sum over p of dy[oc][p] * col[k][p];");
  pr(P, " * computed as (col * dy^T)[k][oc] into scratch.w, summed over the batch */");
  pr(P, "transpose(scratch.t, dy, %d, %" PRId64 ");", g->oc, pos);
  pr(P, "gemm(%" PRId64 ", %d, %" PRId64 ", col, %" PRId64 ", 1, scratch.t, scratch.w, b > 0);", K, g->oc,
     pos, pos);
  pr(P, "if (!din) continue;");
  pr(P, "/* input gradient: dcol[k][p] = sum over oc of weight[oc][k] * dy[oc][p], added to the pixels */");
  if (trivial) {
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, weight, 1, %" PRId64 ", dy, din + (size_t)b * %d, 1);", K,
       pos, g->oc, K, in_size);
  } else {
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, weight, 1, %" PRId64 ", dy, scratch.col, 0);", K, pos, g->oc,
       K);
    pr(P, "%s_col2im(din + (size_t)b * %d, scratch.col);", n->name, in_size);
  }
  pr(P, "}");
  pr(P, "for (int oc = 0; oc < %d; oc++)", g->oc);
  pr(P, "  for (int k = 0; k < %" PRId64 "; k++) dweight[oc * %" PRId64 " + k] += scratch.w[k * %d + oc];",
     K, K, g->oc);
  pr(P, "}");
}

/* conv_transpose2d, weight [in, out, kh, kw] = [in][kt] with kt = (oc, ky,
 * kx): col[kt][p] = sum over ic of weight[ic][kt] * x[ic][p], scattered to
 * the output pixels (col2im); the adjoint of conv2d. */
static void convt_forward_gemm(Emit *E, const CnnNode *n, const Geo *g) {
  CnnPrinter *P = E->P;
  Window w = convt_window(g);
  bool trivial = window_trivial(&w);
  int64_t K = window_rows(&w), pos = window_cols(&w), out = (int64_t)g->oc * g->oh * g->ow;
  E->need_gemm = true;
  if (!trivial) {
    emit_window_copy(E, n, &w, false);
    need_scratch(&E->scratch_col, K * pos);
  }
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + (size_t)b * %" PRId64 ";", g->ic * pos);
  pr(P, "real *y = out + (size_t)b * %" PRId64 ";", out);
  pr(P, "for (int oc = 0; oc < %d; oc++)", g->oc);
  pr(P, "  for (int p = 0; p < %d; p++) y[oc * %d + p] = %s;", g->oh * g->ow, g->oh * g->ow,
     n->bias ? "bias[oc]" : "0");
  pr(P, "/* col[kt][p] = sum over ic of weight[ic][kt] * x[ic][p] */");
  if (trivial) {
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, weight, 1, %" PRId64 ", x, y, 1);", K, pos, g->ic, K);
  } else {
    pr(P, "gemm(%" PRId64 ", %" PRId64 ", %d, weight, 1, %" PRId64 ", x, scratch.col, 0);", K, pos, g->ic, K);
    pr(P, "%s_col2im(y, scratch.col);", n->name);
  }
  pr(P, "}\n}");
}

static void convt_backward_gemm(Emit *E, const CnnNode *n, const Geo *g) {
  CnnPrinter *P = E->P;
  Window w = convt_window(g);
  bool trivial = window_trivial(&w);
  int64_t K = window_rows(&w), pos = window_cols(&w), out = (int64_t)g->oc * g->oh * g->ow;
  if (!trivial) emit_window_copy(E, n, &w, true);
  need_scratch(&E->scratch_t, pos * g->ic);
  need_scratch(&E->scratch_w, K * g->ic);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + (size_t)b * %" PRId64 ";", g->ic * pos);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 ";", out);
  if (n->bias) {
    E->need_sum = true;
    pr(P, "for (int oc = 0; oc < %d; oc++) dbias[oc] += sum(dy + oc * %d, %d);", g->oc, g->oh * g->ow,
       g->oh * g->ow);
  }
  if (trivial) pr(P, "const real *dcol = dy;");
  else {
    pr(P, "real *dcol = scratch.col;");
    pr(P, "%s_im2col(dcol, dy);", n->name);
  }
  pr(P, "/* weight gradient: dweight[ic][kt] += sum over p of x[ic][p] * dcol[kt][p];");
  pr(P, " * computed as (dcol * x^T)[kt][ic] into scratch.w, summed over the batch */");
  pr(P, "transpose(scratch.t, x, %d, %" PRId64 ");", g->ic, pos);
  pr(P, "gemm(%" PRId64 ", %d, %" PRId64 ", dcol, %" PRId64 ", 1, scratch.t, scratch.w, b > 0);", K, g->ic,
     pos, pos);
  pr(P, "/* input gradient: dx[ic][p] += sum over kt of weight[ic][kt] * dcol[kt][p] */");
  pr(P, "if (din) gemm(%d, %" PRId64 ", %" PRId64 ", weight, %" PRId64 ", 1, dcol, din + (size_t)b * %" PRId64
        ", 1);",
     g->ic, pos, K, K, g->ic * pos);
  pr(P, "}");
  pr(P, "for (int ic = 0; ic < %d; ic++)", g->ic);
  pr(P, "  for (int k = 0; k < %" PRId64 "; k++) dweight[ic * %" PRId64 " + k] += scratch.w[k * %d + ic];",
     K, K, g->ic);
  pr(P, "}");
}

/* dense: y = W x + b with W [out, in]; the weight row stays in cache while
 * the batch streams past it. */
static void dense_forward_generic(Emit *E, const CnnNode *n, int in, int out) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, %sint n) {", n->bias ? "const real *restrict bias, " : "");
  pr(P, "for (int o = 0; o < %d; o++) {", out);
  pr(P, "const real *w = weight + (size_t)o * %d;", in);
  pr(P, "for (int b = 0; b < n; b++)");
  E->need_dot = true;
  pr(P, "  out[(size_t)b * %d + o] = %sdot(w, in + (size_t)b * %d, %d);", out,
     n->bias ? "bias[o] + " : "", in, in);
  pr(P, "}\n}");
}

static void dense_backward_generic(Emit *E, const CnnNode *n, int in, int out) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    %sint n) {", n->bias ? "real *restrict dbias, " : "");
  pr(P, "for (int o = 0; o < %d; o++) {", out);
  pr(P, "const real *w = weight + (size_t)o * %d;", in);
  pr(P, "real *dw = dweight + (size_t)o * %d;", in);
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real g = dout[(size_t)b * %d + o];", out);
  pr(P, "const real *x = in + (size_t)b * %d;", in);
  if (n->bias) pr(P, "dbias[o] += g;");
  pr(P, "for (int i = 0; i < %d; i++) dw[i] += g * x[i];", in);
  pr(P, "if (din) {");
  pr(P, "real *dx = din + (size_t)b * %d;", in);
  pr(P, "for (int i = 0; i < %d; i++) dx[i] += g * w[i];", in);
  pr(P, "}\n}\n}\n}");
}

/* The target seam: a target supplies these kernels; NULL entries fall back
 * to the portable ones. */
typedef struct {
  const char *name;
  void (*conv_forward)(Emit *, const CnnNode *, const Geo *);
  void (*conv_backward)(Emit *, const CnnNode *, const Geo *);
  void (*convt_forward)(Emit *, const CnnNode *, const Geo *);
  void (*convt_backward)(Emit *, const CnnNode *, const Geo *);
  void (*dense_forward)(Emit *, const CnnNode *, int, int);
  void (*dense_backward)(Emit *, const CnnNode *, int, int);
} Kernels;

static const Kernels kernels[] = {
    [CNN_TARGET_GENERIC] = {"generic", conv_forward_gemm, conv_backward_gemm, convt_forward_gemm,
                            convt_backward_gemm, dense_forward_generic, dense_backward_generic},
    [CNN_TARGET_NATIVE] = {"native", NULL, NULL, NULL, NULL, NULL, NULL},
};

#define KERNEL(E, k) \
  (kernels[(E)->opt->target].k ? kernels[(E)->opt->target].k : kernels[CNN_TARGET_GENERIC].k)

/* ---- layers ---- */

/* What follows in a layer emitter is its backward pass, which a layer that
 * only predict runs (e.g. a softmax after the logits) does not need. */
static void backward_begin(Emit *E, const CnnNode *n) {
  nl(E->P);
  E->P->mute = !E->live_train[n->id];
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

static void emit_conv(Emit *E, const CnnNode *n) {
  Geo g = geometry(E, n);
  bool t = n->op == OP_CONV_TRANSPOSE2D;
  const char *extra = fmt(E, "%s\n * %s%s", tensor_shape_text(E, n), window_text(E, n),
                          t ? fmt(E, ", output_padding %dx%d", n->output_padding[0], n->output_padding[1]) : "");
  layer_comment(E, n, extra);
  if (t) {
    KERNEL(E, convt_forward)(E, n, &g);
    backward_begin(E, n);
    KERNEL(E, convt_backward)(E, n, &g);
  } else {
    KERNEL(E, conv_forward)(E, n, &g);
    backward_begin(E, n);
    KERNEL(E, conv_backward)(E, n, &g);
  }
  const char *in = act(E, n->inputs[0]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s%sn);", n->name, act(E, n->id), in,
                      param(E, n, "weight"), n->bias ? param(E, n, "bias") : "", n->bias ? ", " : "");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s%sn);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), in, param(E, n, "weight"), param(E, n, "weight"),
                      n->bias ? fmt(E, "%s_grad", param(E, n, "bias")) : "", n->bias ? ", " : "");
}

static void emit_dense(Emit *E, const CnnNode *n) {
  int in = (int)size_of(input_node(E, n, 0)), out = (int)size_of(n);
  layer_comment(E, n, tensor_shape_text(E, n));
  KERNEL(E, dense_forward)(E, n, in, out);
  backward_begin(E, n);
  KERNEL(E, dense_backward)(E, n, in, out);
  const char *x = act(E, n->inputs[0]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s%sn);", n->name, act(E, n->id), x,
                      param(E, n, "weight"), n->bias ? param(E, n, "bias") : "", n->bias ? ", " : "");
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s%sn);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), x, param(E, n, "weight"), param(E, n, "weight"),
                      n->bias ? fmt(E, "%s_grad", param(E, n, "bias")) : "", n->bias ? ", " : "");
}

/* Can a pooling window reach outside the input along an axis? */
static bool pool_needs_check(int k, int s, int p, int in, int out) {
  return p > 0 || (int64_t)(out - 1) * s + k > in;
}

static void emit_pool(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Geo g = geometry(E, n);
  bool max = n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D;
  int ihw = g.ih * g.iw, ohw = g.oh * g.ow, khw = g.kh * g.kw;
  bool cy = !g.one_d && pool_needs_check(g.kh, g.sh, g.pt, g.ih, g.oh);
  bool cx = pool_needs_check(g.kw, g.sw, g.pl, g.iw, g.ow);
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
  pr(P, "for (int bc = 0; bc < n * %d; bc++) { /* every (sample, channel) plane */", g.oc);
  pr(P, "const real *xc = in + (size_t)bc * %d;", ihw);
  pr(P, "real *yc = out + (size_t)bc * %d;", ohw);
  if (max) pr(P, "int32_t *ac = argmax + (size_t)bc * %d;", ohw);
  if (!g.one_d) pr(P, "for (int oy = 0; oy < %d; oy++) {", g.oh);
  pr(P, "for (int ox = 0; ox < %d; ox++) {", g.ow);
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
    pr(P, "if (best < 0 || v > m || v != v) { /* first maximum; NaN wins */");
    pr(P, "m = v;");
    pr(P, "best = %s;", idx);
    pr(P, "}");
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
  backward_begin(E, n);
  /* backward */
  if (max) {
    pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
    pr(P, "    const int32_t *restrict argmax, int n) {");
    pr(P, "for (int bc = 0; bc < n * %d; bc++) {", g.oc);
    pr(P, "real *dxc = din + (size_t)bc * %d;", ihw);
    pr(P, "const real *dyc = dout + (size_t)bc * %d;", ohw);
    pr(P, "const int32_t *ac = argmax + (size_t)bc * %d;", ohw);
    pr(P, "for (int i = 0; i < %d; i++) dxc[ac[i]] += dyc[i];", ohw);
    pr(P, "}\n}");
    E->fwd[n->id] = fmt(E, "%s_forward(%s, argmax.%s, %s, n);", n->name, act(E, n->id), n->name,
                        act(E, n->inputs[0]));
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, argmax.%s, n);", n->name, grad(E, n->id),
                        grad(E, n->inputs[0]), n->name);
  } else {
    pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, int n) {", n->name);
    pr(P, "for (int bc = 0; bc < n * %d; bc++) {", g.oc);
    pr(P, "real *dxc = din + (size_t)bc * %d;", ihw);
    pr(P, "const real *dyc = dout + (size_t)bc * %d;", ohw);
    if (!g.one_d) pr(P, "for (int oy = 0; oy < %d; oy++) {", g.oh);
    pr(P, "for (int ox = 0; ox < %d; ox++) {", g.ow);
    pr(P, "const real g = dyc[%s] * %s;", oidx, lit(E, 1.0 / khw));
    if (!g.one_d) {
      pr(P, "for (int ky = 0; ky < %d; ky++) {", g.kh);
      pr(P, "const int iy = %s;", iy);
      if (cy) pr(P, "if (iy < 0 || iy >= %d) continue;", g.ih);
    }
    pr(P, "for (int kx = 0; kx < %d; kx++) {", g.kw);
    pr(P, "const int ix = %s;", ix);
    if (cx) pr(P, "if (ix < 0 || ix >= %d) continue;", g.iw);
    pr(P, "dxc[%s] += g;", idx);
    pr(P, "}");
    if (!g.one_d) pr(P, "}");
    pr(P, "}");
    if (!g.one_d) pr(P, "}");
    pr(P, "}\n}");
    E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
    E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), grad(E, n->inputs[0]));
  }
}

static void emit_global_avgpool(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int c = n->shape.dim[0];
  int positions = (int)(size_of(input_node(E, n, 0)) / c);
  layer_comment(E, n, "the mean over all positions of each channel");
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
  E->need_sum = true;
  pr(P, "for (int bc = 0; bc < n * %d; bc++) out[bc] = sum(in + (size_t)bc * %d, %d) * %s;", c,
     positions, positions, lit(E, 1.0 / positions));
  pr(P, "}");
  backward_begin(E, n);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, int n) {", n->name);
  pr(P, "for (int bc = 0; bc < n * %d; bc++) {", c);
  pr(P, "const real g = dout[bc] * %s;", lit(E, 1.0 / positions));
  pr(P, "real *dx = din + (size_t)bc * %d;", positions);
  pr(P, "for (int i = 0; i < %d; i++) dx[i] += g;", positions);
  pr(P, "}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
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
    dx = "in[i] > 0 ? dout[i] : 0";
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
  layer_comment(E, n, note);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n) {", n->name);
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) {", size);
  pr(P, "const real x = in[i];");
  pr(P, "out[i] = %s;", y);
  pr(P, "}\n}");
  backward_begin(E, n);
  bool uses_out = n->op == OP_SIGMOID || n->op == OP_TANH;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict %s, int n) {", uses_out ? "out" : "in");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) din[i] += %s;", size, dx);
  pr(P, "}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, n);", n->name, grad(E, n->id),
                      grad(E, n->inputs[0]), uses_out ? act(E, n->id) : act(E, n->inputs[0]));
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
  pr(P, "#define %s_KEEP(seed, i) ((rt_hash64(seed, %d, i) >> 11) >= UINT64_C(%" PRIu64 "))", n->name,
     n->id, threshold);
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in, int n, int training,", n->name);
  pr(P, "    uint64_t seed) {");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++)", size);
  pr(P, "  out[i] = !training ? in[i] : %s_KEEP(seed, i) ? in[i] * %s : 0;", n->name, scale);
  pr(P, "}");
  backward_begin(E, n);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, int n, int training,",
     n->name);
  pr(P, "    uint64_t seed) {");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++)", size);
  pr(P, "  din[i] += !training ? dout[i] : %s_KEEP(seed, i) ? dout[i] * %s : 0;", n->name, scale);
  pr(P, "}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n, training, dropout_seed);", n->name, act(E, n->id),
                      act(E, n->inputs[0]));
  E->fwd_training[n->id] = E->fwd_seed[n->id] = true;
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n, last.training, last.dropout_seed);", n->name,
                      grad(E, n->id), grad(E, n->inputs[0]));
}

static void emit_batchnorm(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int c = n->shape.dim[0];
  int positions = (int)(size_of(n) / c);
  layer_comment(E, n, fmt(E, "%s; eps %g, momentum %g\n"
                             " * training: normalize with the batch mean and biased variance over the %s,\n"
                             " * and move the running stats toward the mean and the unbiased variance;\n"
                             " * evaluation: normalize with the running stats",
                          tensor_shape_text(E, n), n->eps, n->momentum,
                          positions > 1 ? fmt(E, "batch and %d positions", positions) : "batch"));
  pr(P, "static real %s_mean[%d], %s_invstd[%d]; /* what the last forward used */", n->name, c, n->name, c);
  nl(P);
  /* forward */
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,", n->name);
  pr(P, "    const real *restrict weight, const real *restrict bias, real *restrict running_mean,");
  pr(P, "    real *restrict running_var, int n, int training) {");
  pr(P, "const int count = n * %d;", positions);
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "real mean, invstd;");
  pr(P, "if (training) {");
  pr(P, "double s = 0, ss = 0;");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "for (int i = 0; i < %d; i++) s += x[i];", positions);
  pr(P, "}");
  pr(P, "const double mu = s / count;");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "for (int i = 0; i < %d; i++) ss += (x[i] - mu) * (x[i] - mu);", positions);
  pr(P, "}");
  pr(P, "const double unbiased = count > 1 ? ss / (count - 1) : ss;");
  pr(P, "running_mean[c] = (real)((1 - %s) * running_mean[c] + %s * mu);", num(E, n->momentum),
     num(E, n->momentum));
  pr(P, "running_var[c] = (real)((1 - %s) * running_var[c] + %s * unbiased);", num(E, n->momentum),
     num(E, n->momentum));
  pr(P, "mean = (real)mu;");
  pr(P, "invstd = (real)(1 / sqrt(ss / count + %s));", num(E, n->eps));
  pr(P, "} else {");
  pr(P, "mean = running_mean[c];");
  pr(P, "invstd = (real)(1 / sqrt(running_var[c] + %s));", num(E, n->eps));
  pr(P, "}");
  pr(P, "%s_mean[c] = mean;", n->name);
  pr(P, "%s_invstd[c] = invstd;", n->name);
  pr(P, "const real scale = weight[c] * invstd, shift = bias[c] - mean * scale;");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "real *y = out + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "for (int i = 0; i < %d; i++) y[i] = x[i] * scale + shift;", positions);
  pr(P, "}\n}\n}");
  backward_begin(E, n);
  /* backward */
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict in, const real *restrict weight, real *restrict dweight,");
  pr(P, "    real *restrict dbias, int n, int training) {");
  pr(P, "const int count = n * %d;", positions);
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "const real mean = %s_mean[c], invstd = %s_invstd[c];", n->name, n->name);
  pr(P, "double sdy = 0, sdyx = 0; /* sums of dy and of dy * (x - mean) */");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "const real *dy = dout + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "for (int i = 0; i < %d; i++) {", positions);
  pr(P, "sdy += dy[i];");
  pr(P, "sdyx += dy[i] * (x[i] - mean);");
  pr(P, "}\n}");
  pr(P, "dbias[c] += (real)sdy;");
  pr(P, "dweight[c] += (real)(sdyx * invstd);");
  pr(P, "if (!din) continue;");
  pr(P, "const real k = weight[c] * invstd;");
  pr(P, "/* in training the mean and variance depend on x too */");
  pr(P, "const real a = training ? (real)(sdy / count) : 0;");
  pr(P, "const real q = training ? (real)(sdyx * invstd * invstd / count) : 0;");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const real *x = in + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "const real *dy = dout + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "real *dx = din + ((size_t)b * %d + c) * %d;", c, positions);
  pr(P, "for (int i = 0; i < %d; i++) dx[i] += k * (dy[i] - a - (x[i] - mean) * q);", positions);
  pr(P, "}\n}\n}");
  const char *ps[4];
  for (int t = 0; t < 4; t++) ps[t] = param(E, n, E->ts[n->id][t].name);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, %s, %s, %s, n, training);", n->name, act(E, n->id),
                      act(E, n->inputs[0]), ps[0], ps[1], ps[2], ps[3]);
  E->fwd_training[n->id] = true;
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s_grad, %s_grad, n, last.training);", n->name,
                      grad(E, n->id), din_arg(E, n, 0), act(E, n->inputs[0]), ps[0], ps[0], ps[1]);
}

/* A list of the inputs' buffers as a compound literal: (const real *const[]){...} */
static const char *buffer_list(Emit *E, const CnnNode *n, bool grads) {
  size_t cap = 64 + (size_t)n->ninputs * 80, o = 0;
  char *s = cnn_alloc(E->A, cap);
  o += (size_t)snprintf(s, cap, grads ? "(real *const[]){" : "(const real *const[]){");
  for (int k = 0; k < n->ninputs; k++)
    o += (size_t)snprintf(s + o, cap - o, "%s%s", k ? ", " : "",
                          grads ? din_arg(E, n, k) : act(E, n->inputs[k]));
  snprintf(s + o, cap - o, "}");
  return s;
}

static void emit_add(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  layer_comment(E, n, fmt(E, "the sum of %d inputs; each gets the whole gradient", n->ninputs));
  pr(P, "static void %s_forward(real *restrict out, const real *const in[%d], int n) {", n->name,
     n->ninputs);
  pr(P, "const size_t count = (size_t)n * %" PRId64 ";", size);
  pr(P, "memcpy(out, in[0], count * sizeof *out);");
  pr(P, "for (int k = 1; k < %d; k++)", n->ninputs);
  pr(P, "  for (size_t i = 0; i < count; i++) out[i] += in[k][i];");
  pr(P, "}");
  backward_begin(E, n);
  pr(P, "static void %s_backward(const real *restrict dout, real *const din[%d], int n) {", n->name,
     n->ninputs);
  pr(P, "const size_t count = (size_t)n * %" PRId64 ";", size);
  pr(P, "for (int k = 0; k < %d; k++)", n->ninputs);
  pr(P, "  if (din[k])");
  pr(P, "    for (size_t i = 0; i < count; i++) din[k][i] += dout[i];");
  pr(P, "}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), buffer_list(E, n, false));
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, n);", n->name, grad(E, n->id), buffer_list(E, n, true));
}

static void emit_mul(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  int64_t size = size_of(n);
  layer_comment(E, n, "the element-wise product of two inputs");
  pr(P, "static void %s_forward(real *restrict out, const real *a, const real *b, int n) {", n->name);
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) out[i] = a[i] * b[i];", size);
  pr(P, "}");
  backward_begin(E, n);
  pr(P, "static void %s_backward(const real *restrict dout, real *da, real *db, const real *a,", n->name);
  pr(P, "    const real *b, int n) {");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) {", size);
  pr(P, "const real g = dout[i], ai = a[i], bi = b[i];");
  pr(P, "if (da) da[i] += g * bi;");
  pr(P, "if (db) db[i] += g * ai;");
  pr(P, "}\n}");
  const char *a = act(E, n->inputs[0]), *b = act(E, n->inputs[1]);
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, %s, n);", n->name, act(E, n->id), a, b);
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, %s, %s, n);", n->name, grad(E, n->id),
                      din_arg(E, n, 0), din_arg(E, n, 1), a, b);
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
  backward_begin(E, n);
  pr(P, "static void %s_backward(const real *restrict dout, real *const din[%d], int n) {", n->name,
     n->ninputs);
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "for (int k = 0; k < %d; k++) {", n->ninputs);
  pr(P, "if (!din[k]) continue;");
  pr(P, "real *dx = din[k] + (size_t)b * %s_size[k];", n->name);
  pr(P, "const real *dy = dout + (size_t)b * %" PRId64 " + %s_offset[k];", size, n->name);
  pr(P, "for (int i = 0; i < %s_size[k]; i++) dx[i] += dy[i];", n->name);
  pr(P, "}\n}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), buffer_list(E, n, false));
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
  backward_begin(E, n);
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din,", n->name);
  pr(P, "    const real *restrict out, int n) {");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "for (int p = 0; p < %d; p++) {", positions);
  pr(P, "const size_t base = (size_t)b * %" PRId64 " + p;", size_of(n));
  pr(P, "real s = 0;");
  pr(P, "for (int c = 0; c < %d; c++) s += dout[base + c * %d] * out[base + c * %d];", c, positions,
     positions);
  pr(P, "for (int c = 0; c < %d; c++)", c);
  pr(P, "  din[base + c * %d] += out[base + c * %d] * (dout[base + c * %d] - s);", positions,
     positions, positions);
  pr(P, "}\n}\n}");
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s, n);", n->name, act(E, n->id), act(E, n->inputs[0]));
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s, n);", n->name, grad(E, n->id),
                      grad(E, n->inputs[0]), act(E, n->id));
}

static void emit_layer(Emit *E, const CnnNode *n) {
  E->P->mute = false;
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
  E->P->mute = false;
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
    pr(P, "/* d loss / d logits = (softmax - onehot(label)) / (n * %d) */", positions);
    pr(P, "static void loss_backward(real *restrict dlogits, const real *restrict logits,");
    pr(P, "    const int32_t *restrict labels, int n) {");
    pr(P, "const real scale = (real)(1.0 / ((double)n * %d));", positions);
    pr(P, "for (int b = 0; b < n; b++) {");
    pr(P, "for (int p = 0; p < %d; p++) {", positions);
    pr(P, "const real *z = logits + (size_t)b * %" PRId64 " + p;", size);
    pr(P, "real *dz = dlogits + (size_t)b * %" PRId64 " + p;", size);
    pr(P, "const int32_t label = labels[%s];", bp);
    pr(P, "if (label < 0 || label >= %d) continue;", c);
    pr(P, "real m = z[0], s = 0;");
    pr(P, "for (int c = 1; c < %d; c++) m = z[%s] > m ? z[%s] : m;", c, cp, cp);
    pr(P, "for (int c = 0; c < %d; c++) s += %s(z[%s] - m);", c, fn(E, "exp"), cp);
    pr(P, "for (int c = 0; c < %d; c++)", c);
    pr(P, "  dz[%s] += (%s(z[%s] - m) / s - (c == label)) * scale;", cp, fn(E, "exp"), cp);
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
    pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) dy[i] += (y[i] - targets[i]) * scale;",
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
  pr(P, "#define %s_NPARAMS %" PRId64 " /* learnable parameters */", NU, E->nparams);
  pr(P, "#define %s_NBUFFERS %" PRId64 " /* batchnorm running statistics */", NU, E->nbuffers);
  pr(P, "#define %s_NTENSORS %d", NU, E->ntensors);
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

static void emit_gemm(Emit *E) {
  CnnPrinter *P = E->P;
  /* register blocks: MR rows of NR values; "native" (AVX and wider) takes wider rows */
  int mr = 4, nr = E->dbl ? 4 : 8;
  if (E->opt->target == CNN_TARGET_NATIVE) nr *= 2;
  nl(P);
  pr(P, "/* c[i][j] = (accumulate ? c[i][j] : 0) + the sum over k < kn of a(i, k) * b[k][j],");
  pr(P, " * for i < m, j < n; a(i, k) = a[i * as + k * ak] (so a may be transposed), and the");
  pr(P, " * rows of b and c have n values. A block of GEMM_MR x GEMM_NR values of c stays in");
  pr(P, " * registers while k runs, over GEMM_KC values of k at a time, with the GEMM_NR");
  pr(P, " * columns of b it needs packed next to each other (rows of b can be 4 KiB apart,");
  pr(P, " * which caches handle badly). */");
  pr(P, "#define GEMM_MR %d", mr);
  pr(P, "#define GEMM_NR %d", nr);
  pr(P, "#define GEMM_KC 256");
  pr(P, "static void gemm(int m, int n, int kn, const real *restrict a, int as, int ak,");
  pr(P, "    const real *restrict b, real *restrict c, int accumulate) {");
  pr(P, "real panel[GEMM_KC * GEMM_NR];");
  pr(P, "for (int k0 = 0; k0 < kn; k0 += GEMM_KC) {");
  pr(P, "const int kc = kn - k0 < GEMM_KC ? kn - k0 : GEMM_KC, add = accumulate || k0 > 0;");
  pr(P, "for (int j = 0; j < n; j += GEMM_NR) {");
  pr(P, "const int nr = n - j < GEMM_NR ? n - j : GEMM_NR;");
  pr(P, "for (int k = 0; k < kc; k++) {");
  pr(P, "const real *bk = b + (size_t)(k0 + k) * n + j;");
  pr(P, "for (int v = 0; v < GEMM_NR; v++) panel[k * GEMM_NR + v] = v < nr ? bk[v] : 0;");
  pr(P, "}");
  pr(P, "for (int i = 0; i < m; i += GEMM_MR) {");
  pr(P, "const int mr = m - i < GEMM_MR ? m - i : GEMM_MR;");
  pr(P, "const real *ai = a + (size_t)i * as + (size_t)k0 * ak;");
  pr(P, "real t[GEMM_MR][GEMM_NR] = {{0}};");
  pr(P, "if (mr == GEMM_MR) { /* a whole block: constant bounds */");
  pr(P, "for (int k = 0; k < kc; k++)");
  pr(P, "  for (int r = 0; r < GEMM_MR; r++) {");
  pr(P, "    const real ar = ai[(size_t)r * as + (size_t)k * ak];");
  pr(P, "    for (int v = 0; v < GEMM_NR; v++) t[r][v] += ar * panel[k * GEMM_NR + v];");
  pr(P, "  }");
  pr(P, "} else { /* the last rows */");
  pr(P, "for (int k = 0; k < kc; k++)");
  pr(P, "  for (int r = 0; r < mr; r++) {");
  pr(P, "    const real ar = ai[(size_t)r * as + (size_t)k * ak];");
  pr(P, "    for (int v = 0; v < GEMM_NR; v++) t[r][v] += ar * panel[k * GEMM_NR + v];");
  pr(P, "  }");
  pr(P, "}");
  pr(P, "for (int r = 0; r < mr; r++) {");
  pr(P, "real *cr = c + (size_t)(i + r) * n + j;");
  pr(P, "for (int v = 0; v < nr; v++) cr[v] = (add ? cr[v] : 0) + t[r][v];");
  pr(P, "}\n}\n}\n}\n}");
  nl(P);
  pr(P, "/* t[j][i] = s[i][j] for an m x n matrix s, in tiles of 8 x 8 */");
  pr(P, "static void transpose(real *restrict t, const real *restrict s, int m, int n) {");
  pr(P, "for (int i0 = 0; i0 < m; i0 += 8)");
  pr(P, "  for (int j0 = 0; j0 < n; j0 += 8)");
  pr(P, "    for (int i = i0; i < m && i < i0 + 8; i++)");
  pr(P, "      for (int j = j0; j < n && j < j0 + 8; j++) t[(size_t)j * m + i] = s[(size_t)i * n + j];");
  pr(P, "}");
}

static void emit_helpers(Emit *E) {
  CnnPrinter *P = E->P;
  if (E->need_gemm) emit_gemm(E);
  if (!E->need_dot && !E->need_sum) return;
  nl(P);
  pr(P, "/* Sums in eight independent lanes, which compilers vectorize without");
  pr(P, " * reordering floating-point additions themselves. */");
  const char *lanes =
      "return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));";
  if (E->need_dot) {
    pr(P, "static inline real dot(const real *restrict a, const real *restrict b, int n) {");
    pr(P, "real lane[8] = {0};");
    pr(P, "int i = 0;");
    pr(P, "for (; i + 8 <= n; i += 8)");
    pr(P, "  for (int j = 0; j < 8; j++) lane[j] += a[i + j] * b[i + j];");
    pr(P, "for (; i < n; i++) lane[0] += a[i] * b[i];");
    pr(P, "%s", lanes);
    pr(P, "}");
  }
  if (E->need_dot && E->need_sum) nl(P);
  if (E->need_sum) {
    pr(P, "static inline real sum(const real *restrict a, int n) {");
    pr(P, "real lane[8] = {0};");
    pr(P, "int i = 0;");
    pr(P, "for (; i + 8 <= n; i += 8)");
    pr(P, "  for (int j = 0; j < 8; j++) lane[j] += a[i + j];");
    pr(P, "for (; i < n; i++) lane[0] += a[i];");
    pr(P, "%s", lanes);
    pr(P, "}");
  }
}

static void emit_source(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  const CnnNode *z = &net->nodes[net->loss_input], *o = &net->nodes[net->output];
  bool mse = net->loss == LOSS_MSE;
  /* the layers go to memory first: the helpers and scratch they use come before them */
  char *layers = NULL;
  size_t layers_len = 0;
  FILE *mem = open_memstream(&layers, &layers_len);
  if (!mem) {
    P->failed = true;
    return;
  }
  CnnPrinter lp;
  cnn_printer_init(&lp, mem);
  E->P = &lp;
  for (int i = 0; i < net->nnodes; i++)
    if (E->live_train[i] || E->live_pred[i]) emit_layer(E, &net->nodes[i]);
  emit_loss(E);
  E->P = P;
  P->failed |= lp.failed || fclose(mem) != 0;
  pr(P, "/* %s.c - training code for the network \"%s\", generated by cnncc %s\n"
        " * from %s (%s, target %s).\n"
        " * Do not edit: change the .cnn file and run cnncc again.\n"
        " * The layers follow in network order, each with its forward and backward\n"
        " * pass; then the whole-network functions declared in %s.\n"
        " * Build a trainer: cc -O2 %s.c $(pkg-config --cflags --libs cnnrt)\n"
        " * (with -DCNNCC_NO_MAIN, only the functions). */",
     N, net->name, PACKAGE_VERSION, E->opt->source_file ? E->opt->source_file : "?",
     E->dbl ? "double" : "float", kernels[E->opt->target].name, E->opt->header_name, N);
  pr(P, "#include <math.h>");
  pr(P, "#include <stdlib.h>");
  pr(P, "#include <string.h>");
  nl(P);
  pr(P, "#include \"%s\"", E->opt->header_name);
  nl(P);
  pr(P, "typedef %s_real real;", N);
  nl(P);
  /* parameters */
  pr(P, "/* ---- parameters, gradients and buffers: one block each ---- */");
  nl(P);
  pr(P, "%s_real %s_params[%s_NPARAMS > 0 ? %s_NPARAMS : 1];", N, N, NU, NU);
  pr(P, "%s_real %s_grads[%s_NPARAMS > 0 ? %s_NPARAMS : 1];", N, N, NU, NU);
  pr(P, "%s_real %s_buffers[%s_NBUFFERS > 0 ? %s_NBUFFERS : 1];", N, N, NU, NU);
  pr(P, "static real adam_m[%s_NPARAMS > 0 ? %s_NPARAMS : 1], adam_v[%s_NPARAMS > 0 ? %s_NPARAMS : 1];",
     NU, NU, NU, NU);
  nl(P);
  pr(P, "const %s_tensor %s_tensors[%s_NTENSORS > 0 ? %s_NTENSORS : 1] = {", N, N, NU, NU);
  for (int i = 0; i < net->nnodes; i++)
    for (int t = 0; t < E->nts[i]; t++) {
      const CnnTensorSpec *s = &E->ts[i][t];
      pr(P, "{\"%s.%s\", %d, %" PRId64 ", %" PRId64 ", %d, {%d, %d, %d, %d}},", net->nodes[i].name, s->name,
         s->learnable, E->off[i][t], s->count, s->rank, s->dim[0], s->rank > 1 ? s->dim[1] : 0,
         s->rank > 2 ? s->dim[2] : 0, s->rank > 3 ? s->dim[3] : 0);
    }
  if (!E->ntensors) pr(P, "{0}");
  pr(P, "};");
  nl(P);
  pr(P, "/* Named views: layer_tensor points into the block, layer_tensor_grad into the gradients. */");
  for (int i = 0; i < net->nnodes; i++)
    for (int t = 0; t < E->nts[i]; t++) {
      const CnnTensorSpec *s = &E->ts[i][t];
      char dims[64];
      size_t k = 0;
      for (int d = 0; d < s->rank; d++) k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%d", d ? ", " : "", s->dim[d]);
      pr(P, "#define %s_%s (%s_%s + %" PRId64 ") /* [%s] */", net->nodes[i].name, s->name, N,
         s->learnable ? "params" : "buffers", E->off[i][t], dims);
      if (s->learnable)
        pr(P, "#define %s_%s_grad (%s_grads + %" PRId64 ")", net->nodes[i].name, s->name, N, E->off[i][t]);
    }
  /* activations */
  nl(P);
  pr(P, "/* ---- activations and their gradients: n samples each, in one arena ---- */");
  nl(P);
  pr(P, "static struct {");
  for (int i = 0; i < net->nnodes; i++)
    if ((E->live_train[i] || E->live_pred[i]) && E->root[i] == i)
      pr(P, "real *%s; /* %" PRId64 " per sample */", net->nodes[i].name, size_of(&net->nodes[i]));
  pr(P, "} act, grad;");
  bool any_max = false;
  for (int i = 0; i < net->nnodes; i++)
    any_max |= (E->live_train[i] || E->live_pred[i]) &&
               (net->nodes[i].op == OP_MAXPOOL1D || net->nodes[i].op == OP_MAXPOOL2D);
  if (any_max) {
    pr(P, "static struct { /* where each max pooling window's maximum was */");
    for (int i = 0; i < net->nnodes; i++)
      if ((E->live_train[i] || E->live_pred[i]) &&
          (net->nodes[i].op == OP_MAXPOOL1D || net->nodes[i].op == OP_MAXPOOL2D))
        pr(P, "int32_t *%s;", net->nodes[i].name);
    pr(P, "} argmax;");
  }
  if (E->need_gemm) {
    pr(P, "static struct { /* scratch of the convolutions, for one sample */");
    pr(P, "real *col; /* %" PRId64 " values: a window matrix (im2col) */", E->scratch_col);
    pr(P, "real *t;   /* %" PRId64 " values: a transposed matrix */", E->scratch_t);
    pr(P, "real *w;   /* %" PRId64 " values: a weight gradient, summed over the batch */", E->scratch_w);
    pr(P, "} scratch;");
  }
  pr(P, "static int32_t *labels_copy; /* %s_LABELS per sample */", NU);
  if (mse) pr(P, "static real *targets_copy; /* %s_OUT_SIZE per sample */", NU);
  pr(P, "static void *arena;");
  pr(P, "static int max_batch;");
  pr(P, "static struct { /* what the last forward did, for backward */");
  pr(P, "int n, training, has_loss;");
  pr(P, "uint64_t dropout_seed;");
  pr(P, "} last;");
  /* layers */
  emit_helpers(E);
  nl(P);
  pr(P, "/* ---- layers ---- */");
  if (layers) fwrite(layers, 1, layers_len, P->out);
  free(layers);

  /* setup */
  nl(P);
  pr(P, "/* ---- the network ---- */");
  nl(P);
  pr(P, "/* Lays out the arena for b samples; with base NULL only measures it. */");
  pr(P, "static size_t layout(char *base, size_t b) {");
  pr(P, "size_t off = 0;");
  pr(P, "#define SLOT(ptr, count) \\");
  pr(P, "  do { \\");
  pr(P, "    off = (off + 63) & ~(size_t)63; \\");
  pr(P, "    if (base) (ptr) = (void *)(base + off); \\");
  pr(P, "    off += b * (count) * sizeof *(ptr); \\");
  pr(P, "  } while (0)");
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!(E->live_train[i] || E->live_pred[i]) || E->root[i] != i) continue;
    pr(P, "SLOT(act.%s, %" PRId64 ");", n->name, size_of(n));
    if (E->live_train[i]) pr(P, "SLOT(grad.%s, %" PRId64 ");", n->name, size_of(n));
    if (n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D)
      pr(P, "SLOT(argmax.%s, %" PRId64 ");", n->name, size_of(n));
  }
  pr(P, "SLOT(labels_copy, %s_LABELS);", NU);
  if (mse) pr(P, "SLOT(targets_copy, %s_OUT_SIZE);", NU);
  if (E->need_gemm) {
    pr(P, "b = 1; /* the scratch is for one sample */");
    pr(P, "SLOT(scratch.col, %" PRId64 ");", E->scratch_col);
    pr(P, "SLOT(scratch.t, %" PRId64 ");", E->scratch_t);
    pr(P, "SLOT(scratch.w, %" PRId64 ");", E->scratch_w);
  }
  pr(P, "#undef SLOT");
  pr(P, "return off;");
  pr(P, "}");
  nl(P);
  pr(P, "int %s_setup(int batch) {", N);
  pr(P, "if (batch < 1) return -1;");
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
  /* init */
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
    if (!E->nts[i]) continue;
    if (n->op == OP_BATCHNORM) {
      int c = n->shape.dim[0];
      pr(P, "fill(%s, %d, 1);", param(E, n, "weight"), c);
      pr(P, "fill(%s, %d, 0);", param(E, n, "bias"), c);
      pr(P, "fill(%s, %d, 0);", param(E, n, "running_mean"), c);
      pr(P, "fill(%s, %d, 1);", param(E, n, "running_var"), c);
      continue;
    }
    const CnnTensorSpec *w = &E->ts[i][0];
    int64_t fan_in = w->count / w->dim[0]; /* weight.size(1) * kernel */
    for (int t = 0; t < E->nts[i]; t++)
      pr(P, "init_uniform(%s, %" PRId64 ", %" PRId64 ", &rng);", param(E, n, E->ts[i][t].name),
         E->ts[i][t].count, fan_in);
  }
  bool any_uniform = false;
  for (int i = 0; i < net->nnodes; i++) any_uniform |= E->nts[i] && net->nodes[i].op != OP_BATCHNORM;
  if (!any_uniform) pr(P, "(void)rng;");
  pr(P, "memset(adam_m, 0, sizeof adam_m);");
  pr(P, "memset(adam_v, 0, sizeof adam_v);");
  pr(P, "}");
  /* forward */
  bool uses_training = false, uses_seed = false;
  for (int i = 0; i < net->nnodes; i++) {
    uses_training |= E->live_pred[i] && E->fwd_training[i];
    uses_seed |= E->live_pred[i] && E->fwd_seed[i];
  }
  nl(P);
  pr(P, "%s_real %s_forward(const %s_real *x, const int32_t *labels, const %s_real *targets,", N, N, N, N);
  pr(P, "    int n, int training, uint64_t dropout_seed, long *correct) {");
  pr(P, "if (correct) *correct = 0;");
  pr(P, "if (n < 1 || n > max_batch) return NAN;");
  pr(P, "last.n = n;");
  pr(P, "last.training = training;");
  pr(P, "last.dropout_seed = dropout_seed;");
  pr(P, "memcpy(%s, x, (size_t)n * %s_IN_SIZE * sizeof *x);", act(E, 0), NU);
  for (int i = 0; i < net->nnodes; i++)
    if (E->live_train[i] && E->fwd[i]) pr(P, "%s", E->fwd[i]);
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
  /* backward */
  nl(P);
  pr(P, "void %s_backward_input(int n, %s_real *dx) {", N, N);
  pr(P, "const int want_dx = dx != NULL; /* is d loss / d input wanted? */");
  pr(P, "(void)want_dx;");
  pr(P, "memset(%s_grads, 0, sizeof %s_grads);", N, N);
  pr(P, "if (n != last.n || !last.has_loss) return;");
  pr(P, "/* every consumer adds its part to the gradient of its inputs */");
  for (int i = 0; i < net->nnodes; i++)
    if (E->live_train[i] && E->root[i] == i)
      pr(P, "memset(grad.%s, 0, (size_t)n * %" PRId64 " * sizeof(real));", net->nodes[i].name,
         size_of(&net->nodes[i]));
  if (mse) pr(P, "loss_backward(%s, %s, targets_copy, n);", grad(E, z->id), act(E, z->id));
  else pr(P, "loss_backward(%s, %s, labels_copy, n);", grad(E, z->id), act(E, z->id));
  for (int i = net->nnodes - 1; i > 0; i--)
    if (E->live_train[i] && E->bwd[i]) {
      if (!E->ng[i] && strncmp(E->bwd[i], "if (want_dx)", 12)) pr(P, "if (want_dx) %s", E->bwd[i]);
      else pr(P, "%s", E->bwd[i]);
    }
  pr(P, "if (dx) memcpy(dx, %s, (size_t)n * %s_IN_SIZE * sizeof *dx);", grad(E, 0), NU);
  pr(P, "}");
  nl(P);
  pr(P, "void %s_backward(int n) {", N);
  pr(P, "%s_backward_input(n, NULL);", N);
  pr(P, "}");
  /* update */
  nl(P);
  pr(P, "void %s_update(const RtAdam *cfg, long t) {", N);
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
  /* predict */
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
    if (E->live_pred[i] && E->fwd[i]) pr(P, "%s", E->fwd[i]);
  pr(P, "memcpy(out + (size_t)first * %s_PRED_SIZE, %s, (size_t)n * %s_PRED_SIZE * sizeof *out);", NU,
     act(E, o->id), NU);
  pr(P, "}");
  pr(P, "}");
  nl(P);
  pr(P, "const %s_real *%s_output(void) {", N, N);
  pr(P, "return %s;", act(E, z->id));
  pr(P, "}");
  /* main */
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
    pr(P, "};");
    nl(P);
    pr(P, "int main(int argc, char **argv) {");
    pr(P, "return rt_main(argc, argv, &net);");
    pr(P, "}");
    pr(P, "#endif");
  }
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
  analyse(&E);
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
