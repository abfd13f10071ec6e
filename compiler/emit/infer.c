/* emit/infer.c - the standalone inference code generator (cnncc
 * --emit=inference; docs/inference.md describes what it writes).
 *
 * In: the network IR and a checkpoint. Out: one C99 file (and with
 * --header its .h) that computes the network's evaluation-mode output for
 * one sample at a time with the weights compiled in as static const arrays.
 * The generated code needs no C library: no malloc (the caller passes
 * scratch memory, or --static-arena makes it a static array), no stdio, no
 * written globals, and <math.h> only for exp/tanh.
 *
 * How it is organized:
 *
 *  1. plan(): the live layers (ancestors of the output) are grouped into
 *     kernels. A group is a convolution, transposed convolution or dense
 *     layer with what follows it fused in (a batchnorm folded into its
 *     weights, an activation applied in registers, a pooling that reads its
 *     output), a chain of element-wise layers (add, mul, batchnorm as scale
 *     and shift, activations) done in one loop, or one of pool, global
 *     average pool, concat, softmax. Dropout is the identity and flatten a
 *     view, so neither costs anything.
 *  2. Every value a group produces, and the temporaries of a group, get a
 *     place in one scratch arena: values live from the group that makes
 *     them to the last group that reads them, and blocks whose lives do not
 *     overlap share memory (greedy placement, largest first). Element-wise
 *     chains work in place when their input dies there. The result is
 *     written straight to the caller's output.
 *  3. Convolutions are all turned into one kind of kernel: a "shifted GEMM"
 *     over a prepared copy of the input. The input is copied, zero padded,
 *     and for stride s split into s x s phase planes, so that every tap of
 *     the kernel reads the prepared planes at a constant offset from the
 *     output position: out[oc][j] = bias[oc] + sum_c sum_t
 *     w[oc][c][t] * prep[c][off[t] + j], where j runs over the output rows
 *     laid out with the planes' row pitch (the few columns past the output
 *     width are computed and dropped). The kernel keeps 8 output channels x
 *     one SIMD vector of positions in registers; the weights are packed for
 *     it. Transposed convolutions are the same kernel once per output phase.
 *  4. SIMD: the kernels use a few vector macros that the generated file
 *     defines (compiler/kernels/infer_prelude.h, as kernels.h tells) for
 *     AVX-512F, AVX2+FMA, SSE2 or plain C (one float per
 *     "vector"), chosen by the compiler's predefined macros when the file is
 *     compiled, or by -DCNNCC_SIMD=0..3. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"
#include "cnnrt.h"
#include "kernels.h"

#define pr cnn_pr

/* ---- the plan ---- */

typedef enum {
  G_CONV,    /* conv1d, conv2d (+ batchnorm folded, activation, pooling) */
  G_CONVT,   /* conv_transpose2d (+ batchnorm folded, activation) */
  G_DENSE,   /* dense (+ batchnorm folded, activation) */
  G_POOL,    /* maxpool, avgpool */
  G_GAP,     /* global_avgpool */
  G_EW,      /* add, mul, batchnorm, activations: a chain in one loop */
  G_CONCAT,
  G_SOFTMAX,
  G_COPY,    /* the output is the input (or a view of it) */
} GroupKind;

typedef enum { ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_SIGMOID, ACT_TANH } ActKind;

#define MAX_CHAIN 32

typedef struct {
  GroupKind kind;
  int main;              /* the node the group is named after */
  int result;            /* the node whose value the group produces */
  int bn;                /* batchnorm folded into the weights, or -1 */
  int act;               /* fused activation node, or -1 */
  int pool;              /* fused pooling node (G_CONV), or -1 */
  int chain[MAX_CHAIN];  /* G_EW: the nodes, first to last */
  int nchain;
  int ninputs;
  const int *inputs;     /* values read: node ids (their storage via store[]) */
  int st_out, st_prep, st_tmp; /* storages; -1: none */
} Group;

typedef enum { ST_ARENA, ST_INPUT, ST_OUTPUT } StorageKind;

typedef struct {
  StorageKind kind;
  int64_t floats;      /* size, including the slack that kernels may read */
  int first, last;     /* groups that write it first and read it last */
  int64_t offset;      /* in floats from the aligned arena start */
} Storage;

/* Geometry of a convolution as the shifted GEMM sees it. */
typedef struct {
  int ic, ih, iw, oc, oh, ow;
  int kh, kw, sy, sx, dy, dx, py, px;
  bool prep;        /* gather the input into a prepared buffer */
  int ry0, rx0;     /* source row/column of prepared (0, 0), phase (0, 0) */
  int nph, *phy, *phx; /* the phases used (stride > 1) */
  int ph, pw;       /* rows and columns of a plane */
  int64_t ps;       /* plane (channel) stride */
  int nt;           /* taps per input channel */
  int64_t *off;     /* offset of each tap */
  int *tap_ky, *tap_kx;
  int J, JS;        /* output positions computed; per-channel stride of tmp */
  bool direct;      /* j is the output index: store straight into dst */
  int64_t prep_floats;
} ConvGeo;

/* One phase of a transposed convolution. */
typedef struct {
  int ry, rx;          /* output rows with (oy + pad) % stride == ry */
  int y0, ny, x0, nx;  /* Y in [y0, y0 + ny): oy = Y * sy + ry - pad */
  int nt;
  int64_t *off;
  int *tap_ky, *tap_kx;
  int J;
} TPhase;

typedef struct {
  int ic, ih, iw, oc, oh, ow;
  int kh, kw, sy, sx, dy, dx, py, px;
  int qy0, qx0;        /* input row/column of prepared (0, 0) */
  int ph, pw;
  int64_t ps;
  int nphase;
  TPhase *phase;
  int JS;
  int64_t prep_floats;
} ConvTGeo;

typedef struct {
  const CnnNet *net;
  const CnnInferOptions *opt;
  CnnArena *A;
  CnnPrinter *P;
  const char *N; /* network name: the prefix of every symbol */
  char *NU;      /* upper case, for macros */
  const float *params, *buffers;
  uint32_t crc;
  uint64_t hash;
  int *nts;
  CnnTensorSpec (*ts)[4];
  int64_t (*toff)[4];
  bool *live;
  int *base;  /* the node whose value a node is (through dropout) */
  int *store; /* ... and whose memory it is (through dropout and flatten) */
  int *uses;  /* live reads of a base value, through dropout */
  int *made_by; /* node -> group producing it as result, -1 */
  Group *g;
  int ng;
  Storage *st;
  int nst;
  int *val_st;   /* store node -> storage */
  ConvGeo *cg;   /* per group (G_CONV) */
  ConvTGeo *tg;  /* per group (G_CONVT) */
  int64_t arena_floats;
  bool need_math, need_zero, need_vsum, need_vsigmoid, need_vtanh, softmax_fn;
  int out_base;
} Emit;

#define TILE_MAX 16 /* the widest SIMD vector in floats (AVX-512) */
#define BLOCK 8     /* output channels per register block */

/* printf into the emitter's arena (the text lives as long as the emitter) */
#define fmt(E, ...) ((const char *)cnn_format((E)->A, __VA_ARGS__))

static void nl(CnnPrinter *P) { cnn_pr(P, "%s", ""); }

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static int64_t size_of(const CnnNode *n) { return cnn_shape_size(n->shape); }
static const CnnNode *node(Emit *E, int id) { return &E->net->nodes[id]; }
static const CnnNode *in_node(Emit *E, const CnnNode *n, int k) {
  return &E->net->nodes[n->inputs[k]];
}

static bool is_act(CnnOp op) {
  return op == OP_RELU || op == OP_LEAKY_RELU || op == OP_SIGMOID || op == OP_TANH;
}
static bool is_max(CnnOp op) { return op == OP_MAXPOOL1D || op == OP_MAXPOOL2D; }

static ActKind act_kind(Emit *E, int id) {
  if (id < 0) return ACT_NONE;
  switch (node(E, id)->op) {
  case OP_RELU: return ACT_RELU;
  case OP_LEAKY_RELU: return ACT_LEAKY;
  case OP_SIGMOID: return ACT_SIGMOID;
  case OP_TANH: return ACT_TANH;
  default: return ACT_NONE;
  }
}

/* A float constant as C source: the shortest text that reads back exactly. */
static void float_text(char *buf, size_t size, float v, bool *need_math) {
  if (isnan(v)) {
    snprintf(buf, size, "NAN");
    *need_math = true;
    return;
  }
  if (isinf(v)) {
    snprintf(buf, size, v > 0 ? "HUGE_VALF" : "-HUGE_VALF");
    *need_math = true;
    return;
  }
  if (v == 0) {
    snprintf(buf, size, signbit(v) ? "-0.0f" : "0.0f");
    return;
  }
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, size, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".e")) strcat(buf, ".0");
  strcat(buf, "f");
}

static const char *flit(Emit *E, double v) {
  char buf[64];
  float_text(buf, sizeof buf, (float)v, &E->need_math);
  return fmt(E, "%s", buf);
}

/* The tensor `name` of node n in the checkpoint's blocks. */
static const float *tensor(Emit *E, const CnnNode *n, const char *name) {
  for (int t = 0; t < E->nts[n->id]; t++)
    if (!strcmp(E->ts[n->id][t].name, name))
      return (E->ts[n->id][t].learnable ? E->params : E->buffers) + E->toff[n->id][t];
  return NULL;
}

/* Batchnorm in evaluation mode as y = x * scale + shift, computed as the
 * training code does (the inverse standard deviation in double). */
static void bn_affine(Emit *E, const CnnNode *bn, float *scale, float *shift) {
  const float *w = tensor(E, bn, "weight"), *b = tensor(E, bn, "bias");
  const float *mean = tensor(E, bn, "running_mean"), *var = tensor(E, bn, "running_var");
  for (int c = 0; c < bn->shape.dim[0]; c++) {
    float invstd = (float)(1 / sqrt((double)var[c] + bn->eps));
    scale[c] = w[c] * invstd;
    shift[c] = b[c] - mean[c] * scale[c];
  }
}

/* ---- planning: groups ---- */

static int new_group(Emit *E, GroupKind kind, int main) {
  Group *g = &E->g[E->ng];
  memset(g, 0, sizeof *g);
  g->kind = kind;
  g->main = g->result = main;
  g->bn = g->act = g->pool = -1;
  g->st_out = g->st_prep = g->st_tmp = -1;
  const CnnNode *n = node(E, main);
  int *in = cnn_alloc(E->A, sizeof(int) * (size_t)(n->ninputs ? n->ninputs : 1));
  for (int k = 0; k < n->ninputs; k++) in[k] = n->inputs[k];
  g->inputs = in;
  g->ninputs = n->ninputs;
  E->made_by[main] = E->ng;
  return E->ng++;
}

/* The group whose result is the base value of node id's input, if this
 * node is its only reader and it may take more fused layers. */
static Group *fusable(Emit *E, int input) {
  int b = E->base[input];
  if (E->made_by[b] < 0 || E->uses[b] != 1 || b == E->out_base) return NULL;
  Group *g = &E->g[E->made_by[b]];
  return g->result == b ? g : NULL;
}

static void extend(Emit *E, Group *g, int id) {
  E->made_by[g->result] = -1;
  g->result = id;
  E->made_by[id] = (int)(g - E->g);
}

/* A convolution or dense group, which can take a batchnorm and an activation. */
static bool weighted(const Group *g) {
  return g && (g->kind == G_CONV || g->kind == G_CONVT || g->kind == G_DENSE);
}

/* Node i into *slot of g (its batchnorm or activation) when given, else onto
 * g's element-wise chain when g is one with room, else a chain of its own. */
static void fuse_or_chain(Emit *E, Group *g, int i, int *slot) {
  if (slot) {
    *slot = i;
    extend(E, g, i);
  } else if (g && g->kind == G_EW && g->nchain < MAX_CHAIN) {
    g->chain[g->nchain++] = i;
    extend(E, g, i);
  } else {
    Group *c = &E->g[new_group(E, G_EW, i)];
    c->chain[c->nchain++] = i;
  }
}

static void plan_groups(Emit *E) {
  const CnnNet *net = E->net;
  int nn = net->nnodes;
  E->live = cnn_alloc(E->A, (size_t)nn);
  E->base = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->store = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->uses = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->made_by = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->g = cnn_alloc(E->A, sizeof(Group) * (size_t)(nn + 1));
  E->live[net->output] = true;
  for (int i = nn - 1; i >= 0; i--)
    if (E->live[i])
      for (int k = 0; k < net->nodes[i].ninputs; k++) E->live[net->nodes[i].inputs[k]] = true;
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    E->made_by[i] = -1;
    E->base[i] = n->op == OP_DROPOUT ? E->base[n->inputs[0]] : i;
    E->store[i] = n->op == OP_DROPOUT || n->op == OP_FLATTEN ? E->store[n->inputs[0]] : i;
  }
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!E->live[i] || n->op == OP_DROPOUT) continue;
    for (int k = 0; k < n->ninputs; k++) E->uses[E->base[n->inputs[k]]]++;
  }
  E->out_base = E->base[net->output];
  for (int i = 1; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!E->live[i]) continue;
    Group *g;
    switch (n->op) {
    case OP_INPUT: case OP_DROPOUT: case OP_FLATTEN: break;
    case OP_CONV1D: case OP_CONV2D: new_group(E, G_CONV, i); break;
    case OP_CONV_TRANSPOSE2D: new_group(E, G_CONVT, i); break;
    case OP_DENSE: new_group(E, G_DENSE, i); break;
    case OP_GLOBAL_AVGPOOL: new_group(E, G_GAP, i); break;
    case OP_CONCAT: new_group(E, G_CONCAT, i); break;
    case OP_SOFTMAX: new_group(E, G_SOFTMAX, i); break;
    case OP_MAXPOOL1D: case OP_MAXPOOL2D: case OP_AVGPOOL1D: case OP_AVGPOOL2D:
      g = fusable(E, n->inputs[0]);
      if (g && g->kind == G_CONV && g->pool < 0) {
        g->pool = i;
        extend(E, g, i);
      } else {
        new_group(E, G_POOL, i);
      }
      break;
    case OP_BATCHNORM:
      g = fusable(E, n->inputs[0]);
      fuse_or_chain(E, g, i, weighted(g) && g->bn < 0 && g->act < 0 && g->pool < 0 ? &g->bn : NULL);
      break;
    case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH:
      g = fusable(E, n->inputs[0]);
      fuse_or_chain(E, g, i, weighted(g) && g->act < 0 && g->pool < 0 ? &g->act : NULL);
      break;
    case OP_ADD: case OP_MUL: fuse_or_chain(E, NULL, i, NULL); break;
    default: break;
    }
  }
  /* the output is the input itself (or a view of it): one copy */
  if (E->made_by[E->out_base] < 0) new_group(E, G_COPY, E->out_base);
}

/* ---- planning: convolution geometry ---- */

static void conv_geo(Emit *E, Group *g, ConvGeo *c, bool src_in_arena) {
  const CnnNode *n = node(E, g->main);
  cnn_shape_chw(in_node(E, n, 0)->shape, &c->ic, &c->ih, &c->iw);
  cnn_shape_chw(n->shape, &c->oc, &c->oh, &c->ow);
  c->kh = n->kernel[0], c->kw = n->kernel[1];
  c->sy = n->stride[0], c->sx = n->stride[1];
  c->dy = n->dilation[0], c->dx = n->dilation[1];
  c->py = n->pad_lo[0], c->px = n->pad_lo[1];
  bool padded = c->py || c->px || n->pad_hi[0] || n->pad_hi[1];
  /* Planes a multiple of 1 KiB apart map to the same few L1 sets: reading
   * one vector from each of many channels then misses. A copy with a
   * padded plane stride costs little next to the GEMM when there are many
   * output channels. */
  int64_t in_plane = (int64_t)c->ih * c->iw;
  bool aliased = in_plane % 256 == 0 && c->ic >= 16 && c->oc >= 64;
  c->prep = padded || c->sy != 1 || c->sx != 1 || !src_in_arena || aliased;
  c->ry0 = -c->py, c->rx0 = -c->px;
  /* phases: which (ky * dy % sy, kx * dx % sx) occur */
  c->nph = 0;
  int *phase_of = cnn_alloc(E->A, sizeof(int) * (size_t)c->sy * (size_t)c->sx);
  for (int i = 0; i < c->sy * c->sx; i++) phase_of[i] = -1;
  c->nt = c->kh * c->kw;
  c->phy = cnn_alloc(E->A, sizeof(int) * (size_t)c->nt);
  c->phx = cnn_alloc(E->A, sizeof(int) * (size_t)c->nt);
  c->off = cnn_alloc(E->A, sizeof(int64_t) * (size_t)c->nt);
  c->tap_ky = cnn_alloc(E->A, sizeof(int) * (size_t)c->nt);
  c->tap_kx = cnn_alloc(E->A, sizeof(int) * (size_t)c->nt);
  int maxdy = 0, maxdx = 0;
  for (int ky = 0; ky < c->kh; ky++)
    for (int kx = 0; kx < c->kw; kx++) {
      int ay = ky * c->dy, ax = kx * c->dx;
      int qy = ay % c->sy, qx = ax % c->sx;
      int key = qy * c->sx + qx;
      if (phase_of[key] < 0) {
        phase_of[key] = c->nph;
        c->phy[c->nph] = qy;
        c->phx[c->nph] = qx;
        c->nph++;
      }
      if (ay / c->sy > maxdy) maxdy = ay / c->sy;
      if (ax / c->sx > maxdx) maxdx = ax / c->sx;
    }
  if (c->prep) {
    /* rows Y of a plane: source rows ry0 + Y * sy + phase; all the output needs */
    c->ph = c->oh + maxdy;
    c->pw = c->ow + maxdx;
  } else {
    c->ph = c->ih;
    c->pw = c->iw;
  }
  c->ps = (int64_t)c->ph * c->pw;
  if (c->prep && c->ps % 256 == 0) c->ps += 16;
  for (int ky = 0, t = 0; ky < c->kh; ky++)
    for (int kx = 0; kx < c->kw; kx++, t++) {
      int ay = ky * c->dy, ax = kx * c->dx;
      int p = phase_of[(ay % c->sy) * c->sx + ax % c->sx];
      c->off[t] = (int64_t)p * c->ic * c->ps + (int64_t)(ay / c->sy) * c->pw + ax / c->sx;
      c->tap_ky[t] = ky;
      c->tap_kx[t] = kx;
    }
  c->direct = c->oh == 1 || c->pw == c->ow;
  c->J = (c->oh - 1) * c->pw + c->ow;
  c->JS = (int)round_up(c->J, TILE_MAX);
  int64_t maxoff = 0;
  for (int t = 0; t < c->nt; t++)
    if (c->off[t] > maxoff) maxoff = c->off[t];
  /* the kernel reads up to (ic - 1) * ps + maxoff + JS - 1 */
  int64_t reach = (int64_t)(c->ic - 1) * c->ps + maxoff + c->JS;
  int64_t planes = (int64_t)c->nph * c->ic * c->ps;
  c->prep_floats = reach > planes ? reach : planes;
}

static void convt_geo(Emit *E, Group *g, ConvTGeo *c) {
  const CnnNode *n = node(E, g->main);
  cnn_shape_chw(in_node(E, n, 0)->shape, &c->ic, &c->ih, &c->iw);
  cnn_shape_chw(n->shape, &c->oc, &c->oh, &c->ow);
  c->kh = n->kernel[0], c->kw = n->kernel[1];
  c->sy = n->stride[0], c->sx = n->stride[1];
  c->dy = n->dilation[0], c->dx = n->dilation[1];
  c->py = n->pad_lo[0], c->px = n->pad_lo[1];
  /* oy = iy * s - p + k * d: for output phase r = (oy + p) % s the taps are
   * the k with k * d % s == r, and iy = Y - m for oy = Y * s + r - p and
   * m = (k * d - r) / s. */
  c->nphase = 0;
  c->phase = cnn_alloc(E->A, sizeof(TPhase) * (size_t)c->sy * (size_t)c->sx);
  int qy0 = 0, qx0 = 0, ymax = 0, xmax = 0;
  bool first = true;
  for (int ry = 0; ry < c->sy; ry++)
    for (int rx = 0; rx < c->sx; rx++) {
      TPhase *f = &c->phase[c->nphase++];
      memset(f, 0, sizeof *f);
      f->ry = ry, f->rx = rx;
      /* Y with 0 <= Y * s + r - p < out */
      int ylo = 0;
      while ((int64_t)ylo * c->sy + ry - c->py < 0) ylo++;
      int yhi = ylo;
      while ((int64_t)yhi * c->sy + ry - c->py < c->oh) yhi++;
      int xlo = 0;
      while ((int64_t)xlo * c->sx + rx - c->px < 0) xlo++;
      int xhi = xlo;
      while ((int64_t)xhi * c->sx + rx - c->px < c->ow) xhi++;
      f->y0 = ylo, f->ny = yhi - ylo, f->x0 = xlo, f->nx = xhi - xlo;
      f->tap_ky = cnn_alloc(E->A, sizeof(int) * (size_t)(c->kh * c->kw));
      f->tap_kx = cnn_alloc(E->A, sizeof(int) * (size_t)(c->kh * c->kw));
      f->off = cnn_alloc(E->A, sizeof(int64_t) * (size_t)(c->kh * c->kw));
      int mmy = 0, mmx = 0;
      for (int ky = 0; ky < c->kh; ky++)
        for (int kx = 0; kx < c->kw; kx++)
          if ((ky * c->dy) % c->sy == ry && (kx * c->dx) % c->sx == rx) {
            f->tap_ky[f->nt] = ky;
            f->tap_kx[f->nt] = kx;
            f->nt++;
            if ((ky * c->dy - ry) / c->sy > mmy) mmy = (ky * c->dy - ry) / c->sy;
            if ((kx * c->dx - rx) / c->sx > mmx) mmx = (kx * c->dx - rx) / c->sx;
          }
      if (!f->nt || !f->ny || !f->nx) continue;
      if (first || ylo - mmy < qy0) qy0 = ylo - mmy;
      if (first || xlo - mmx < qx0) qx0 = xlo - mmx;
      if (first || yhi - 1 > ymax) ymax = yhi - 1;
      if (first || xhi - 1 > xmax) xmax = xhi - 1;
      first = false;
    }
  c->qy0 = qy0, c->qx0 = qx0;
  c->ph = first ? 1 : ymax - qy0 + 1;
  c->pw = first ? 1 : xmax - qx0 + 1;
  c->ps = (int64_t)c->ph * c->pw;
  int64_t reach = 0;
  c->JS = TILE_MAX;
  for (int p = 0; p < c->nphase; p++) {
    TPhase *f = &c->phase[p];
    if (!f->nt || !f->ny || !f->nx) continue;
    f->J = (f->ny - 1) * c->pw + f->nx;
    int js = (int)round_up(f->J, TILE_MAX);
    if (js > c->JS) c->JS = js;
    for (int t = 0; t < f->nt; t++) {
      int my = (f->tap_ky[t] * c->dy - f->ry) / c->sy, mx = (f->tap_kx[t] * c->dx - f->rx) / c->sx;
      f->off[t] = (int64_t)(f->y0 - my - qy0) * c->pw + (f->x0 - mx - qx0);
      int64_t r = (int64_t)(c->ic - 1) * c->ps + f->off[t] + js;
      if (r > reach) reach = r;
    }
  }
  int64_t planes = (int64_t)c->ic * c->ps;
  c->prep_floats = reach > planes ? reach : planes;
}

/* ---- planning: memory ---- */

static int new_storage(Emit *E, StorageKind kind, int64_t floats, int first) {
  Storage *s = &E->st[E->nst];
  s->kind = kind;
  s->floats = floats;
  s->first = s->last = first;
  s->offset = 0;
  return E->nst++;
}

static void plan_memory(Emit *E) {
  const CnnNet *net = E->net;
  int nn = net->nnodes;
  E->st = cnn_alloc(E->A, sizeof(Storage) * (size_t)(3 * E->ng + 4));
  E->val_st = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->cg = cnn_alloc(E->A, sizeof(ConvGeo) * (size_t)(E->ng + 1));
  E->tg = cnn_alloc(E->A, sizeof(ConvTGeo) * (size_t)(E->ng + 1));
  for (int i = 0; i < nn; i++) E->val_st[i] = -1;
  /* last group reading each stored value */
  int *last_use = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  for (int i = 0; i < nn; i++) last_use[i] = -1;
  for (int k = 0; k < E->ng; k++)
    for (int i = 0; i < E->g[k].ninputs; i++) last_use[E->store[E->g[k].inputs[i]]] = k;
  E->val_st[0] = new_storage(E, ST_INPUT, size_of(&net->nodes[0]), -1);
  int out_store = E->store[net->output];
  for (int k = 0; k < E->ng; k++) {
    Group *g = &E->g[k];
    int r = g->result;
    /* convolution geometry; the source may be read in place when it has slack */
    if (g->kind == G_CONV) {
      int src = E->store[g->inputs[0]];
      conv_geo(E, g, &E->cg[k], src != 0);
      if (!E->cg[k].prep) {
        Storage *s = &E->st[E->val_st[src]];
        if (E->cg[k].prep_floats > s->floats) s->floats = E->cg[k].prep_floats;
      } else {
        g->st_prep = new_storage(E, ST_ARENA, E->cg[k].prep_floats, k);
      }
      if (g->pool >= 0) E->cg[k].direct = false;
      if (!E->cg[k].direct) g->st_tmp = new_storage(E, ST_ARENA, (int64_t)E->cg[k].oc * E->cg[k].JS, k);
    } else if (g->kind == G_CONVT) {
      convt_geo(E, g, &E->tg[k]);
      g->st_prep = new_storage(E, ST_ARENA, E->tg[k].prep_floats, k);
      g->st_tmp = new_storage(E, ST_ARENA, (int64_t)E->tg[k].oc * E->tg[k].JS, k);
    }
    /* the result */
    if (r == out_store || E->store[r] == out_store) {
      g->st_out = new_storage(E, ST_OUTPUT, size_of(node(E, r)), k);
    } else if (g->kind == G_EW) {
      /* in place when an input of the same size dies here */
      for (int i = 0; i < g->ninputs && g->st_out < 0; i++) {
        int s = E->store[g->inputs[i]];
        int st = E->val_st[s];
        if (st >= 0 && E->st[st].kind == ST_ARENA && last_use[s] == k &&
            size_of(node(E, s)) == size_of(node(E, r)))
          g->st_out = st;
      }
    }
    if (g->st_out < 0) g->st_out = new_storage(E, ST_ARENA, size_of(node(E, r)), k);
    E->val_st[r] = g->st_out;
    if (last_use[r] > E->st[g->st_out].last) E->st[g->st_out].last = last_use[r];
    for (int i = 0; i < g->ninputs; i++) {
      int st = E->val_st[E->store[g->inputs[i]]];
      if (st >= 0 && E->st[st].last < k) E->st[st].last = k;
    }
  }
  /* place the arena blocks: largest first, each at the lowest offset that
   * does not overlap a placed block whose life overlaps its own */
  int *order = cnn_alloc(E->A, sizeof(int) * (size_t)E->nst);
  int n = 0;
  for (int i = 0; i < E->nst; i++)
    if (E->st[i].kind == ST_ARENA) order[n++] = i;
  for (int i = 1; i < n; i++) /* insertion sort by size, descending */
    for (int j = i; j > 0 && E->st[order[j]].floats > E->st[order[j - 1]].floats; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  E->arena_floats = 0;
  for (int i = 0; i < n; i++) {
    Storage *s = &E->st[order[i]];
    int64_t size = round_up(s->floats, 16), offset = 0;
    bool moved = true;
    while (moved) {
      moved = false;
      for (int j = 0; j < i; j++) {
        Storage *o = &E->st[order[j]];
        if (o->last < s->first || s->last < o->first) continue; /* lives apart */
        int64_t osize = round_up(o->floats, 16);
        if (offset < o->offset + osize && o->offset < offset + size) {
          offset = o->offset + osize;
          moved = true;
        }
      }
    }
    s->offset = offset;
    if (offset + size > E->arena_floats) E->arena_floats = offset + size;
  }
}

/* ---- emission helpers ---- */

static const char *storage_expr(Emit *E, int st) {
  const Storage *s = &E->st[st];
  switch (s->kind) {
  case ST_INPUT: return "input";
  case ST_OUTPUT: return "output";
  default: return s->offset ? fmt(E, "a + %" PRId64, s->offset) : "a";
  }
}

/* The scalar expression of an activation applied to `x`. */
static const char *act_expr(Emit *E, int act, const char *x) {
  switch (act_kind(E, act)) {
  case ACT_RELU: return fmt(E, "(%s > 0 ? %s : 0)", x, x);
  case ACT_LEAKY:
    return fmt(E, "(%s > 0 ? %s : %s * %s)", x, x, flit(E, node(E, act)->negative_slope), x);
  case ACT_SIGMOID: E->need_math = true; return fmt(E, "(1 / (1 + expf(-%s)))", x);
  case ACT_TANH: E->need_math = true; return fmt(E, "tanhf(%s)", x);
  default: return x;
  }
}

/* The same on a cnn_vec. */
static const char *vact_expr(Emit *E, int act, const char *x) {
  switch (act_kind(E, act)) {
  case ACT_RELU: return fmt(E, "cnn_vmax(%s, cnn_vzero())", x);
  case ACT_LEAKY:
    return fmt(E, "cnn_vfma(cnn_vset1(%s), cnn_vmin(%s, cnn_vzero()), cnn_vmax(%s, cnn_vzero()))",
               flit(E, node(E, act)->negative_slope), x, x);
  case ACT_SIGMOID: E->need_math = E->need_vsigmoid = true; return fmt(E, "cnn_vsigmoid(%s)", x);
  case ACT_TANH: E->need_math = E->need_vtanh = true; return fmt(E, "cnn_vtanh(%s)", x);
  default: return x;
  }
}

/* Writes a static const float array, ten numbers a line. */
static void emit_array(Emit *E, const char *name, const float *v, int64_t n, const char *what) {
  CnnPrinter *P = E->P;
  pr(P, "static const float %s[%" PRId64 "] = { /* %s */", name, n > 0 ? n : 1, what);
  char line[400], num[48];
  size_t len = 0;
  for (int64_t i = 0; i < n; i++) {
    float_text(num, sizeof num, v[i], &E->need_math);
    size_t k = strlen(num);
    if (len + k + 2 >= sizeof line) {
      pr(P, "  %s", line);
      len = 0;
    }
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%s,", len ? " " : "", num);
    if ((i + 1) % 10 == 0) {
      pr(P, "  %s", line);
      len = 0;
    }
  }
  if (n == 0) len += (size_t)snprintf(line, sizeof line, "0.0f");
  if (len) pr(P, "  %s", line);
  pr(P, "};");
}

static void layer_comment(Emit *E, const Group *g) {
  CnnPrinter *P = E->P;
  char b1[64], b2[64];
  const CnnNode *m = node(E, g->main), *r = node(E, g->result);
  const char *what = cnn_op_name(m->op);
  if (g->kind == G_EW) {
    what = "";
    for (int i = 0; i < g->nchain; i++)
      what = fmt(E, "%s%s%s", what, i ? " -> " : "", cnn_op_name(node(E, g->chain[i])->op));
  } else {
    if (g->bn >= 0) what = fmt(E, "%s + %s (folded into the weights)", what, node(E, g->bn)->name);
    if (g->act >= 0) what = fmt(E, "%s + %s", what, cnn_op_name(node(E, g->act)->op));
    if (g->pool >= 0) what = fmt(E, "%s + %s", what, cnn_op_name(node(E, g->pool)->op));
  }
  const char *ins = "";
  for (int k = 0; k < g->ninputs; k++)
    ins = fmt(E, "%s%s%s %s", ins, k ? ", " : "", node(E, g->inputs[k])->name,
              cnn_shape_str(node(E, g->inputs[k])->shape, b1, sizeof b1));
  pr(P, "/* %s (line %d): %s\n * %s -> %s %s */", m->name, m->loc.first_line, what, ins, r->name,
     cnn_shape_str(r->shape, b2, sizeof b2));
}

/* "a * x + b" as short C: no "* 1", no "+ 0", "- 3" rather than "+ -3". */
static const char *lin(Emit *E, const char *x, int64_t a, int64_t b) {
  const char *t = a == 0 ? NULL : a == 1 ? x : fmt(E, "%s * %" PRId64, x, a);
  if (!t) return fmt(E, "%" PRId64, b);
  if (b == 0) return t;
  return fmt(E, "%s %c %" PRId64, t, b < 0 ? '-' : '+', b < 0 ? -b : b);
}

/* ---- the shifted GEMM of the convolutions ---- */

typedef struct {
  const char *src;  /* base of the prepared planes (may be offset per phase) */
  int64_t ps;       /* plane stride */
  int ic, nt;
  const int64_t *off;
  const char *w, *b; /* packed weights [oc/8][ic][nt][8] and bias [oc/8 * 8] */
  int oc;
  const char *dst;
  int64_t ocs;      /* channel stride of dst */
  int J;
  bool exact;       /* dst has exactly J floats a channel: the last vector is cut */
  int act;          /* activation node applied in registers, or -1 */
} Gemm;

/* One register tile: R output channels (block ob) by one vector of
 * positions from j, over every input channel and tap. */
static void emit_tile(Emit *E, const Gemm *m, int R, bool table, bool tail) {
  CnnPrinter *P = E->P;
  pr(P, "const float *restrict w = %s + ob * %" PRId64 ";", m->w, (int64_t)m->ic * m->nt * BLOCK);
  pr(P, "const float *restrict bb = %s + ob * %d;", m->b, BLOCK);
  pr(P, "float *restrict o = %s + ob * %" PRId64 ";", m->dst, (int64_t)BLOCK * m->ocs);
  for (int r = 0; r < R; r++) pr(P, "cnn_vec a%d = cnn_vset1(bb[%d]);", r, r);
  pr(P, "const float *restrict x = %s + j;", m->src);
  if (m->ic > 1)
    pr(P, "for (int c = 0; c < %d; c++, x += %" PRId64 ", w += %d) {", m->ic, m->ps, m->nt * BLOCK);
  if (table) {
    pr(P, "for (int t = 0; t < %d; t++) {", m->nt);
    pr(P, "const cnn_vec v = cnn_vload(x + off[t]);");
    for (int r = 0; r < R; r++) pr(P, "a%d = cnn_vfma(cnn_vset1(w[t * %d + %d]), v, a%d);", r, BLOCK, r, r);
    pr(P, "}");
  } else {
    for (int t = 0; t < m->nt; t++) {
      pr(P, "{");
      pr(P, "const cnn_vec v = cnn_vload(x + %" PRId64 ");", m->off[t]);
      for (int r = 0; r < R; r++) pr(P, "a%d = cnn_vfma(cnn_vset1(w[%d]), v, a%d);", r, t * BLOCK + r, r);
      pr(P, "}");
    }
  }
  if (m->ic > 1) pr(P, "}");
  if (act_kind(E, m->act) != ACT_NONE)
    for (int r = 0; r < R; r++) pr(P, "a%d = %s;", r, vact_expr(E, m->act, fmt(E, "a%d", r)));
  if (tail) pr(P, "if (j + CNN_VL <= %d) {", m->J);
  for (int r = 0; r < R; r++) pr(P, "cnn_vstore(o + %s, a%d);", lin(E, "j", 1, (int64_t)r * m->ocs), r);
  if (tail) {
    E->need_zero = true;
    pr(P, "} else { /* the last positions */");
    pr(P, "float t[CNN_VL];");
    pr(P, "const int n = %d - j;", m->J);
    for (int r = 0; r < R; r++) {
      pr(P, "cnn_vstore(t, a%d);", r);
      pr(P, "for (int k = 0; k < n; k++) o[%s] = t[k] + z;", lin(E, "j + k", 1, (int64_t)r * m->ocs));
    }
    pr(P, "}");
  }
}

/* The whole GEMM. Loop order: channel blocks outside when the input is
 * small or the weights big; positions outside when the weights are small
 * and the input big (e.g. 1x1 convolutions with many channels), so that
 * what the inner loop sweeps again and again stays in L1. */
static void emit_gemm(Emit *E, const Gemm *m) {
  CnnPrinter *P = E->P;
  int full = m->oc / BLOCK, rem = m->oc % BLOCK, ocb = full + (rem > 0);
  bool table = m->nt > 32;
  if (table) {
    char *s = cnn_alloc(E->A, (size_t)m->nt * 24 + 8);
    size_t o = 0;
    for (int t = 0; t < m->nt; t++) o += (size_t)sprintf(s + o, "%s%" PRId64, t ? ", " : "", m->off[t]);
    pr(P, "static const int off[%d] = {%s};", m->nt, s);
  }
  bool tail = m->exact && m->J % TILE_MAX != 0;
  const double l1 = 32 * 1024;
  double in_bytes = 4.0 * m->ic * (double)m->ps, w_bytes = 4.0 * ocb * m->ic * m->nt * BLOCK;
  double tiles = (m->J + TILE_MAX - 1) / TILE_MAX;
  double blocks_outside = (in_bytes <= l1 ? in_bytes : ocb * in_bytes) + w_bytes;
  double positions_outside = (w_bytes <= l1 ? w_bytes : tiles * w_bytes) + in_bytes;
  bool j_outer = positions_outside < blocks_outside && ocb > 1;
  if (j_outer) pr(P, "for (int j = 0; j < %d; j += CNN_VL) {", m->J);
  for (int pass = 0; pass < 2; pass++) {
    int R = pass == 0 ? BLOCK : rem;
    if (pass == 0 ? !full : !rem) continue;
    if (pass == 0) pr(P, "for (int ob = 0; ob < %d; ob++) {", full);
    else pr(P, "{ /* the last %d channels */\nconst int ob = %d;", rem, full);
    if (!j_outer) pr(P, "for (int j = 0; j < %d; j += CNN_VL) {", m->J);
    emit_tile(E, m, R, table, tail);
    if (!j_outer) pr(P, "}");
    pr(P, "}");
  }
  if (j_outer) pr(P, "}");
}

/* Pack convolution weights for the GEMM: [oc/8][ic][taps][8], batchnorm
 * folded in; w(oc, ic, t) reads the checkpoint's layout. */
typedef float (*WeightAt)(Emit *E, const Group *g, int oc, int ic, int t, const void *ctx);

static float *pack_conv(Emit *E, const Group *g, int oc, int ic, int nt, WeightAt at, const void *ctx,
                        const float *scale, int64_t *count) {
  int ocb = (oc + BLOCK - 1) / BLOCK;
  *count = (int64_t)ocb * ic * nt * BLOCK;
  float *p = calloc((size_t)*count, sizeof *p);
  if (!p) return NULL;
  for (int o = 0; o < oc; o++)
    for (int c = 0; c < ic; c++)
      for (int t = 0; t < nt; t++) {
        double w = at(E, g, o, c, t, ctx);
        if (scale) w *= scale[o];
        p[(((int64_t)(o / BLOCK) * ic + c) * nt + t) * BLOCK + o % BLOCK] = (float)w;
      }
  return p;
}

/* Bias with the batchnorm folded in, padded to whole blocks. */
static float *folded_bias(Emit *E, const Group *g, int oc, int padded, const float *scale,
                          const float *shift) {
  const CnnNode *n = node(E, g->main);
  const float *b = n->bias ? tensor(E, n, "bias") : NULL;
  float *p = calloc((size_t)(padded > 0 ? padded : 1), sizeof *p);
  if (!p) return NULL;
  for (int o = 0; o < oc; o++) {
    double v = b ? b[o] : 0;
    if (scale) v = v * scale[o] + shift[o];
    p[o] = (float)v;
  }
  return p;
}

/* The batchnorm folded into group g: scale and shift per channel, or NULL. */
static void group_bn(Emit *E, const Group *g, int oc, float **scale, float **shift) {
  *scale = *shift = NULL;
  if (g->bn < 0) return;
  *scale = cnn_alloc(E->A, sizeof(float) * (size_t)oc);
  *shift = cnn_alloc(E->A, sizeof(float) * (size_t)oc);
  bn_affine(E, node(E, g->bn), *scale, *shift);
}

static float conv_weight_at(Emit *E, const Group *g, int o, int c, int t, const void *ctx) {
  const ConvGeo *cg = ctx;
  const float *w = tensor(E, node(E, g->main), "weight"); /* [out][in][kh][kw] */
  return w[(((int64_t)o * cg->ic + c) * cg->kh + cg->tap_ky[t]) * cg->kw + cg->tap_kx[t]];
}

typedef struct {
  const ConvTGeo *tg;
  const TPhase *f;
} TCtx;

static float convt_weight_at(Emit *E, const Group *g, int o, int c, int t, const void *ctx) {
  const TCtx *x = ctx;
  const float *w = tensor(E, node(E, g->main), "weight"); /* [in][out][kh][kw] */
  return w[(((int64_t)c * x->tg->oc + o) * x->tg->kh + x->f->tap_ky[t]) * x->tg->kw + x->f->tap_kx[t]];
}

static bool oom(Emit *E, const void *p) {
  if (!p) longjmp(*E->A->oom, 1);
  return false;
}

/* Gather of an input [ic][ih][iw] into prepared planes: plane p, channel
 * c, row Y, column X holds source row r0 + Y * sy + qy[p], column
 * c0 + X * sx + qx[p], and zero outside the source; the floats after the
 * planes (read for positions that are dropped) are zeroed too. */
static void emit_gather(Emit *E, const char *src, int ic, int ih, int iw, int nph, const int *qy,
                        const int *qx, int r0, int c0, int sy, int sx, int ph, int pw, int64_t plane,
                        int64_t floats) {
  CnnPrinter *P = E->P;
  E->need_zero = true;
  for (int p = 0; p < nph; p++) {
    /* rows and columns of the plane that fall inside the source */
    int ylo = ph, yhi = ph, xlo = pw, xhi = pw;
    for (int Y = ph - 1; Y >= 0; Y--) {
      int r = r0 + Y * sy + qy[p];
      if (r < 0 || r >= ih) continue;
      if (yhi == ph && ylo == ph) yhi = Y + 1;
      ylo = Y;
    }
    for (int X = pw - 1; X >= 0; X--) {
      int c = c0 + X * sx + qx[p];
      if (c < 0 || c >= iw) continue;
      if (xhi == pw && xlo == pw) xhi = X + 1;
      xlo = X;
    }
    if (ylo >= yhi || xlo >= xhi) ylo = yhi = xlo = xhi = 0; /* nothing inside: all zero */
    if (nph > 1) pr(P, "/* phase (%d, %d) */", qy[p], qx[p]);
    pr(P, "for (int c = 0; c < %d; c++) {", ic);
    pr(P, "float *restrict d = prep + %s;", lin(E, "c", plane, (int64_t)p * ic * plane));
    if (ylo > 0) pr(P, "for (int i = 0; i < %" PRId64 "; i++) d[i] = z;", (int64_t)ylo * pw);
    if (ylo < yhi) {
      pr(P, "for (int y = %d; y < %d; y++) {", ylo, yhi);
      pr(P, "const float *restrict s = %s + %s;", src,
         lin(E, "c", (int64_t)ih * iw, 0));
      pr(P, "float *restrict e = d + y * %d;", pw);
      pr(P, "const int r = %s;", lin(E, "y", sy, r0 + qy[p]));
      if (xlo > 0) pr(P, "for (int x = 0; x < %d; x++) e[x] = z;", xlo);
      pr(P, "for (int x = %d; x < %d; x++) e[x] = s[r * %d + %s] + z;", xlo, xhi, iw,
         lin(E, "x", sx, c0 + qx[p]));
      if (xhi < pw) pr(P, "for (int x = %d; x < %d; x++) e[x] = z;", xhi, pw);
      pr(P, "}");
    }
    if ((int64_t)yhi * pw < plane)
      pr(P, "for (int i = %" PRId64 "; i < %" PRId64 "; i++) d[i] = z;", (int64_t)yhi * pw, plane);
    pr(P, "}");
  }
  int64_t planes = (int64_t)nph * ic * plane;
  if (floats > planes)
    pr(P, "for (int i = %" PRId64 "; i < %" PRId64 "; i++) prep[i] = z;", planes, floats);
}

/* Pooling of `src` ([C][H][W] with channel stride cs and row pitch `pitch`)
 * into dst ([C][OH][OW]). */
static void emit_pool_loops(Emit *E, const CnnNode *pool, const char *src, int64_t cs, int pitch,
                            int C, int H, int W, const char *dst) {
  CnnPrinter *P = E->P;
  int oc, oh, ow;
  cnn_shape_chw(pool->shape, &oc, &oh, &ow);
  int kh = pool->kernel[0], kw = pool->kernel[1], sy = pool->stride[0], sx = pool->stride[1];
  int dy = pool->dilation[0] > 0 ? pool->dilation[0] : 1, dx = pool->dilation[1] > 0 ? pool->dilation[1] : 1;
  int py = pool->pad_lo[0], px = pool->pad_lo[1];
  bool max = is_max(pool->op);
  bool inside = py == 0 && px == 0 && (int64_t)(oh - 1) * sy + (int64_t)(kh - 1) * dy < H &&
                (int64_t)(ow - 1) * sx + (int64_t)(kw - 1) * dx < W;
  pr(P, "for (int c = 0; c < %d; c++) {", C);
  pr(P, "const float *restrict s = %s + c * %" PRId64 ";", src, cs);
  pr(P, "float *restrict d = %s + c * %d;", dst, oh * ow);
  pr(P, "for (int oy = 0; oy < %d; oy++)", oh);
  pr(P, "  for (int ox = 0; ox < %d; ox++) {", ow);
  if (inside && kh * kw <= 16) {
    pr(P, "    const float *restrict r = s + oy * %d + ox * %d;", sy * pitch, sx);
    for (int ky = 0, t = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++, t++) {
        int o = ky * dy * pitch + kx * dx;
        if (t == 0) pr(P, "    float m = r[%d];", o);
        else if (max) pr(P, "    if (r[%d] > m || r[%d] != r[%d]) m = r[%d];", o, o, o, o);
        else pr(P, "    m += r[%d];", o);
      }
  } else {
    pr(P, "    float m = 0;");
    if (max) pr(P, "    int any = 0;");
    pr(P, "    for (int ky = 0; ky < %d; ky++) {", kh);
    pr(P, "      const int iy = oy * %d + ky * %d - %d;", sy, dy, py);
    pr(P, "      if (iy < 0 || iy >= %d) continue;", H);
    pr(P, "      for (int kx = 0; kx < %d; kx++) {", kw);
    pr(P, "        const int ix = ox * %d + kx * %d - %d;", sx, dx, px);
    pr(P, "        if (ix < 0 || ix >= %d) continue;", W);
    pr(P, "        {");
    pr(P, "          const float v = s[iy * %d + ix];", pitch);
    if (max) pr(P, "          if (!any || v > m || v != v) m = v;\n          any = 1;");
    else pr(P, "          m += v;");
    pr(P, "        }");
    pr(P, "      }");
    pr(P, "    }");
  }
  if (max) pr(P, "    d[oy * %d + ox] = m;", ow);
  else pr(P, "    d[oy * %d + ox] = m * %s;", ow, flit(E, 1.0 / (kh * kw)));
  pr(P, "  }");
  pr(P, "}");
}


/* ---- the groups ---- */

static const char *fn_name(Emit *E, const Group *g) { return fmt(E, "%s_%s", E->N, node(E, g->main)->name); }

static void emit_conv(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  const ConvGeo *c = &E->cg[k];
  const char *name = fn_name(E, g);
  float *scale, *shift;
  group_bn(E, g, c->oc, &scale, &shift);
  int64_t count;
  float *w = pack_conv(E, g, c->oc, c->ic, c->nt, conv_weight_at, c, scale, &count);
  oom(E, w);
  int padded = (c->oc + BLOCK - 1) / BLOCK * BLOCK;
  float *b = folded_bias(E, g, c->oc, padded, scale, shift);
  if (!b) free(w);
  oom(E, b);
  nl(P);
  emit_array(E, fmt(E, "%s_w", name), w, count,
             fmt(E, "[%d][%d][%d][%d]: output channels by 8, input channels, taps, 8", padded / BLOCK,
                 c->ic, c->nt, BLOCK));
  emit_array(E, fmt(E, "%s_b", name), b, padded, "bias");
  free(w);
  free(b);
  nl(P);
  layer_comment(E, g);
  const CnnNode *n = node(E, g->main);
  pr(P, "/* kernel %dx%d, stride %dx%d, dilation %dx%d, padding %d/%d x %d/%d; %s */", c->kh, c->kw,
     c->sy, c->sx, c->dy, c->dx, n->pad_lo[0], n->pad_hi[0], n->pad_lo[1], n->pad_hi[1],
     c->prep ? fmt(E, "the input is copied into %d zero-padded plane%s of %dx%d per channel", c->nph,
                   c->nph > 1 ? "s (one per stride phase)" : "", c->ph, c->pw)
             : "the kernel reads the input in place");
  bool direct = c->direct;
  pr(P, "static void %s(const float *restrict src, float *restrict dst%s%s) {", name,
     c->prep ? ", float *restrict prep" : "", direct ? "" : ", float *restrict tmp");
  pr(P, "const float z = %s_zero; /* 0, opaque to the optimizer: no memset/memcpy calls */", E->N);
  pr(P, "(void)z;");
  E->need_zero = true;
  if (c->prep)
    emit_gather(E, "src", c->ic, c->ih, c->iw, c->nph, c->phy, c->phx, c->ry0, c->rx0, c->sy, c->sx,
                c->ph, c->pw, c->ps, c->prep_floats);
  Gemm m = {.src = c->prep ? "prep" : "src", .ps = c->ps, .ic = c->ic, .nt = c->nt, .off = c->off,
            .w = fmt(E, "%s_w", name), .b = fmt(E, "%s_b", name), .oc = c->oc,
            .dst = direct ? "dst" : "tmp", .ocs = direct ? (int64_t)c->oh * c->ow : c->JS, .J = c->J,
            .exact = direct, .act = g->act};
  emit_gemm(E, &m);
  if (!direct) {
    if (g->pool >= 0) {
      emit_pool_loops(E, node(E, g->pool), "tmp", c->JS, c->pw, c->oc, c->oh, c->ow, "dst");
    } else {
      pr(P, "for (int c = 0; c < %d; c++)", c->oc);
      pr(P, "  for (int y = 0; y < %d; y++)", c->oh);
      pr(P, "    for (int x = 0; x < %d; x++) dst[(c * %d + y) * %d + x] = tmp[c * %d + y * %d + x] + z;",
         c->ow, c->oh, c->ow, c->JS, c->pw);
    }
  }
  pr(P, "}");
}

static void emit_convt(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  const ConvTGeo *c = &E->tg[k];
  const CnnNode *n = node(E, g->main);
  const char *name = fn_name(E, g);
  float *scale, *shift;
  group_bn(E, g, c->oc, &scale, &shift);
  int padded = (c->oc + BLOCK - 1) / BLOCK * BLOCK;
  nl(P);
  for (int p = 0; p < c->nphase; p++) {
    const TPhase *f = &c->phase[p];
    if (!f->nt || !f->ny || !f->nx) continue;
    TCtx ctx = {c, f};
    int64_t count;
    float *w = pack_conv(E, g, c->oc, c->ic, f->nt, convt_weight_at, &ctx, scale, &count);
    oom(E, w);
    emit_array(E, fmt(E, "%s_w%d", name, p), w, count,
               fmt(E, "output phase (%d, %d): [%d][%d][%d][%d]", f->ry, f->rx, padded / BLOCK, c->ic,
                   f->nt, BLOCK));
    free(w);
  }
  float *b = folded_bias(E, g, c->oc, padded, scale, shift);
  oom(E, b);
  emit_array(E, fmt(E, "%s_b", name), b, padded, "bias");
  free(b);
  nl(P);
  layer_comment(E, g);
  pr(P, "/* kernel %dx%d, stride %dx%d, padding %dx%d, output padding %dx%d: one shifted GEMM per\n"
        " * output phase (rows and columns with the same position modulo the stride) */",
     c->kh, c->kw, c->sy, c->sx, c->py, c->px, n->output_padding[0], n->output_padding[1]);
  pr(P, "static void %s(const float *restrict src, float *restrict dst, float *restrict prep,", name);
  pr(P, "    float *restrict tmp) {");
  pr(P, "const float z = %s_zero; /* 0, opaque to the optimizer: no memset/memcpy calls */", E->N);
  pr(P, "(void)z;");
  pr(P, "(void)tmp;");
  E->need_zero = true;
  int zy = 0, zx = 0;
  emit_gather(E, "src", c->ic, c->ih, c->iw, 1, &zy, &zx, c->qy0, c->qx0, 1, 1, c->ph, c->pw, c->ps,
              c->prep_floats);
  for (int p = 0; p < c->nphase; p++) {
    const TPhase *f = &c->phase[p];
    if (!f->ny || !f->nx) continue;
    pr(P, "/* output phase (%d, %d): %d taps */", f->ry, f->rx, f->nt);
    const char *target = fmt(E, "dst[(c * %d + (y + %d) * %d + %d) * %d + (x + %d) * %d + %d]", c->oh,
                             f->y0, c->sy, f->ry - c->py, c->ow, f->x0, c->sx, f->rx - c->px);
    if (!f->nt) {
      pr(P, "for (int c = 0; c < %d; c++)", c->oc);
      pr(P, "  for (int y = 0; y < %d; y++)", f->ny);
      pr(P, "    for (int x = 0; x < %d; x++) %s = %s;", f->nx, target,
         act_expr(E, g->act, fmt(E, "%s_b[c]", name)));
      continue;
    }
    Gemm m = {.src = "prep", .ps = c->ps, .ic = c->ic, .nt = f->nt, .off = f->off,
              .w = fmt(E, "%s_w%d", name, p), .b = fmt(E, "%s_b", name), .oc = c->oc, .dst = "tmp",
              .ocs = c->JS, .J = f->J, .exact = false, .act = g->act};
    pr(P, "{");
    emit_gemm(E, &m);
    pr(P, "}");
    const char *v = fmt(E, "tmp[c * %d + y * %d + x]", c->JS, c->pw);
    pr(P, "for (int c = 0; c < %d; c++)", c->oc);
    pr(P, "  for (int y = 0; y < %d; y++)", f->ny);
    pr(P, "    for (int x = 0; x < %d; x++) %s = %s + z;", f->nx, target, v);
  }
  pr(P, "}");
}

static void emit_dense(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  const CnnNode *n = node(E, g->main);
  int O = (int)size_of(n), I = (int)size_of(in_node(E, n, 0));
  const char *name = fn_name(E, g);
  float *scale, *shift;
  group_bn(E, g, O, &scale, &shift);
  const float *src = tensor(E, n, "weight");
  float *w = malloc(sizeof(float) * (size_t)O * (size_t)I + 1);
  oom(E, w);
  for (int o = 0; o < O; o++)
    for (int i = 0; i < I; i++)
      w[(int64_t)o * I + i] = scale ? (float)((double)src[(int64_t)o * I + i] * scale[o])
                                    : src[(int64_t)o * I + i];
  float *b = folded_bias(E, g, O, O, scale, shift);
  if (!b) free(w);
  oom(E, b);
  nl(P);
  emit_array(E, fmt(E, "%s_w", name), w, (int64_t)O * I, fmt(E, "[%d][%d]", O, I));
  emit_array(E, fmt(E, "%s_b", name), b, O, "bias");
  free(w);
  free(b);
  nl(P);
  layer_comment(E, g);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", name);
  const char *W = fmt(E, "%s_w", name), *B = fmt(E, "%s_b", name);
  E->need_vsum = true;
  int rows = 4;
  if (O >= rows) {
    pr(P, "for (int o = 0; o < %d; o += %d) {", O / rows * rows, rows);
    pr(P, "const float *restrict w = %s + o * %d;", W, I);
    pr(P, "cnn_vec a0 = cnn_vzero(), a1 = cnn_vzero(), a2 = cnn_vzero(), a3 = cnn_vzero();");
    pr(P, "cnn_vec b0 = cnn_vzero(), b1 = cnn_vzero(), b2 = cnn_vzero(), b3 = cnn_vzero();");
    pr(P, "float s0, s1, s2, s3;");
    pr(P, "int i;");
    pr(P, "/* two vectors a row: eight sums in flight */");
    pr(P, "for (i = 0; i + 2 * CNN_VL <= %d; i += 2 * CNN_VL) {", I);
    pr(P, "const cnn_vec x = cnn_vload(src + i), y = cnn_vload(src + i + CNN_VL);");
    for (int r = 0; r < rows; r++) {
      pr(P, "a%d = cnn_vfma(cnn_vload(w + %s), x, a%d);", r, lin(E, "i", 1, (int64_t)r * I), r);
      pr(P, "b%d = cnn_vfma(cnn_vload(w + %s + CNN_VL), y, b%d);", r, lin(E, "i", 1, (int64_t)r * I), r);
    }
    pr(P, "}");
    pr(P, "for (; i + CNN_VL <= %d; i += CNN_VL) {", I);
    pr(P, "const cnn_vec x = cnn_vload(src + i);");
    for (int r = 0; r < rows; r++) pr(P, "a%d = cnn_vfma(cnn_vload(w + %s), x, a%d);", r, lin(E, "i", 1, (int64_t)r * I), r);
    pr(P, "}");
    for (int r = 0; r < rows; r++) pr(P, "s%d = cnn_vsum(cnn_vadd(a%d, b%d));", r, r, r);
    pr(P, "for (; i < %d; i++) {", I);
    for (int r = 0; r < rows; r++) pr(P, "s%d += w[%s] * src[i];", r, lin(E, "i", 1, (int64_t)r * I));
    pr(P, "}");
    for (int r = 0; r < rows; r++) {
      pr(P, "s%d += %s[%s];", r, B, lin(E, "o", 1, r));
      pr(P, "dst[%s] = %s;", lin(E, "o", 1, r), act_expr(E, g->act, fmt(E, "s%d", r)));
    }
    pr(P, "}");
  }
  if (O % rows) {
    pr(P, "for (int o = %d; o < %d; o++) {", O / rows * rows, O);
    pr(P, "const float *restrict w = %s + o * %d;", W, I);
    pr(P, "cnn_vec a0 = cnn_vzero();");
    pr(P, "float s0;");
    pr(P, "int i;");
    pr(P, "for (i = 0; i + CNN_VL <= %d; i += CNN_VL) a0 = cnn_vfma(cnn_vload(w + i), cnn_vload(src + i), a0);", I);
    pr(P, "s0 = cnn_vsum(a0);");
    pr(P, "for (; i < %d; i++) s0 += w[i] * src[i];", I);
    pr(P, "s0 += %s[o];", B);
    pr(P, "dst[o] = %s;", act_expr(E, g->act, "s0"));
    pr(P, "}");
  }
  pr(P, "}");
}

static void emit_pool(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  const CnnNode *n = node(E, g->main);
  int c, h, w;
  cnn_shape_chw(in_node(E, n, 0)->shape, &c, &h, &w);
  nl(P);
  layer_comment(E, g);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  emit_pool_loops(E, n, "src", (int64_t)h * w, w, c, h, w, "dst");
  pr(P, "}");
}

static void emit_gap(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  const CnnNode *n = node(E, g->main);
  int c = n->shape.dim[0];
  int positions = (int)(size_of(in_node(E, n, 0)) / c);
  nl(P);
  layer_comment(E, g);
  pr(P, "/* sums in eight lanes, as the training code does */");
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "const float *restrict s = src + c * %d;", positions);
  pr(P, "float l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;");
  pr(P, "int i = 0;");
  if (positions >= 8) {
    pr(P, "for (; i + 8 <= %d; i += 8) {", positions);
    pr(P, "l0 += s[i]; l1 += s[i + 1]; l2 += s[i + 2]; l3 += s[i + 3];");
    pr(P, "l4 += s[i + 4]; l5 += s[i + 5]; l6 += s[i + 6]; l7 += s[i + 7];");
    pr(P, "}");
  }
  if (positions % 8) pr(P, "for (; i < %d; i++) l0 += s[i];", positions);
  pr(P, "(void)i;");
  pr(P, "dst[c] = (((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))) * %s;", flit(E, 1.0 / positions));
  pr(P, "}");
  pr(P, "}");
}

static void emit_ew(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  const CnnNode *r = node(E, g->result), *first = node(E, g->chain[0]);
  int C = r->shape.dim[0];
  int64_t positions = size_of(r) / C;
  bool per_channel = false;
  nl(P);
  for (int i = 0; i < g->nchain; i++) {
    const CnnNode *n = node(E, g->chain[i]);
    if (n->op != OP_BATCHNORM) continue;
    per_channel = true;
    float *scale = cnn_alloc(E->A, sizeof(float) * (size_t)C), *shift = cnn_alloc(E->A, sizeof(float) * (size_t)C);
    bn_affine(E, n, scale, shift);
    emit_array(E, fmt(E, "%s_%s_scale", E->N, n->name), scale, C, "weight / sqrt(running_var + eps)");
    emit_array(E, fmt(E, "%s_%s_shift", E->N, n->name), shift, C, "bias - running_mean * scale");
  }
  if (per_channel) nl(P);
  layer_comment(E, g);
  /* in place: no restrict */
  const char *params = "";
  for (int i = 0; i < g->ninputs; i++) params = fmt(E, "%sconst float *src%d, ", params, i);
  pr(P, "static void %s(%sfloat *dst) {", fn_name(E, g), params);
  int64_t span = per_channel ? positions : size_of(r);
  if (per_channel) pr(P, "for (int c = 0; c < %d; c++) {", C);
  else pr(P, "{");
  pr(P, "const int end = %s%" PRId64 ";", per_channel ? "(c + 1) * " : "", span);
  pr(P, "int i = %s;", per_channel ? fmt(E, "c * %" PRId64, span) : "0");
  /* the chain on vectors, then on the last few floats */
  for (int vec = 1; vec >= 0; vec--) {
    if (vec) pr(P, "for (; i + CNN_VL <= end; i += CNN_VL) {");
    else pr(P, "for (; i < end; i++) {");
    const char *x;
    if (vec) {
      x = "cnn_vload(src0 + i)";
      if (first->op == OP_ADD)
        for (int i = 1; i < g->ninputs; i++) x = fmt(E, "cnn_vadd(%s, cnn_vload(src%d + i))", x, i);
      else if (first->op == OP_MUL) x = "cnn_vmul(cnn_vload(src0 + i), cnn_vload(src1 + i))";
      pr(P, "cnn_vec x = %s;", x);
    } else {
      x = "src0[i]";
      if (first->op == OP_ADD)
        for (int i = 1; i < g->ninputs; i++) x = fmt(E, "%s + src%d[i]", x, i);
      else if (first->op == OP_MUL) x = "src0[i] * src1[i]";
      pr(P, "float x = %s;", x);
    }
    for (int i = 0; i < g->nchain; i++) {
      const CnnNode *n = node(E, g->chain[i]);
      if (n->op == OP_BATCHNORM) {
        const char *sc = fmt(E, "%s_%s_scale[c]", E->N, n->name), *sh = fmt(E, "%s_%s_shift[c]", E->N, n->name);
        if (vec) pr(P, "x = cnn_vfma(x, cnn_vset1(%s), cnn_vset1(%s));", sc, sh);
        else pr(P, "x = x * %s + %s;", sc, sh);
      } else if (is_act(n->op)) {
        pr(P, "x = %s;", vec ? vact_expr(E, g->chain[i], "x") : act_expr(E, g->chain[i], "x"));
      }
    }
    pr(P, vec ? "cnn_vstore(dst + i, x);" : "dst[i] = x;");
    pr(P, "}");
  }
  pr(P, "}");
  pr(P, "}");
}

static void emit_concat(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  nl(P);
  layer_comment(E, g);
  const char *params = "";
  for (int i = 0; i < g->ninputs; i++) params = fmt(E, "%sconst float *restrict src%d, ", params, i);
  pr(P, "static void %s(%sfloat *restrict dst) {", fn_name(E, g), params);
  pr(P, "const float z = %s_zero; /* 0, opaque to the optimizer: no memcpy calls */", E->N);
  E->need_zero = true;
  int64_t off = 0;
  for (int i = 0; i < g->ninputs; i++) {
    int64_t s = size_of(node(E, g->inputs[i]));
    pr(P, "for (int i = 0; i < %" PRId64 "; i++) dst[%" PRId64 " + i] = src%d[i] + z;", s, off, i);
    off += s;
  }
  pr(P, "}");
}

static void emit_softmax_loop(Emit *E, const CnnShape *shape, const char *src, const char *dst) {
  CnnPrinter *P = E->P;
  int C = shape->dim[0];
  int64_t positions = cnn_shape_size(*shape) / C;
  E->need_math = true;
  pr(P, "for (int p = 0; p < %" PRId64 "; p++) {", positions);
  pr(P, "const float *x = %s + p;", src);
  pr(P, "float *y = %s + p;", dst);
  pr(P, "float m = x[0], s = 0;");
  pr(P, "for (int c = 1; c < %d; c++) m = x[c * %" PRId64 "] > m ? x[c * %" PRId64 "] : m;", C, positions,
     positions);
  pr(P, "for (int c = 0; c < %d; c++) s += y[c * %" PRId64 "] = expf(x[c * %" PRId64 "] - m);", C,
     positions, positions);
  pr(P, "for (int c = 0; c < %d; c++) y[c * %" PRId64 "] /= s;", C, positions);
  pr(P, "}");
}

static void emit_softmax(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  nl(P);
  layer_comment(E, g);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  emit_softmax_loop(E, &node(E, g->main)->shape, "src", "dst");
  pr(P, "}");
}

static void emit_copy(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->g[k];
  nl(P);
  pr(P, "/* the output is the input */");
  pr(P, "static void %s_copy(const float *restrict src, float *restrict dst) {", E->N);
  pr(P, "const float z = %s_zero; /* 0, opaque to the optimizer: no memcpy calls */", E->N);
  E->need_zero = true;
  pr(P, "for (int i = 0; i < %" PRId64 "; i++) dst[i] = src[i] + z;", size_of(node(E, g->main)));
  pr(P, "}");
}

/* ---- the file ---- */

static void emit_declarations(Emit *E, CnnPrinter *P) {
  const CnnNet *net = E->net;
  const CnnNode *in = &net->nodes[0], *out = &net->nodes[net->output];
  const char *N = E->N, *NU = E->NU;
  char b1[64], b2[64];
  int64_t scratch = E->opt->static_arena || !E->arena_floats ? 0 : E->arena_floats * 4 + 64;
  pr(P, "#define %s_INPUT_SIZE %" PRId64 " /* floats: %s %s */", NU, size_of(in), in->name,
     cnn_shape_str(in->shape, b1, sizeof b1));
  pr(P, "#define %s_OUTPUT_SIZE %" PRId64 " /* floats: %s %s */", NU, size_of(out), out->name,
     cnn_shape_str(out->shape, b2, sizeof b2));
  if (E->opt->static_arena)
    pr(P, "#define %s_SCRATCH_BYTES 0 /* a static arena (%" PRId64 " bytes): pass NULL */", NU,
       E->arena_floats * 4);
  else
    pr(P, "#define %s_SCRATCH_BYTES %" PRId64 " /* scratch memory for one call, any alignment */", NU,
       scratch);
  nl(P);
  pr(P, "/* The network's output for one sample: input holds %s_INPUT_SIZE floats\n"
        " * (channels first, as PyTorch), output receives %s_OUTPUT_SIZE; scratch is\n"
        " * %s. Returns 0, or -1 if a pointer is NULL. */",
     NU, NU,
     E->opt->static_arena ? "ignored (the static arena is used: one call at a time)"
                          : fmt(E, "%s_SCRATCH_BYTES bytes that the call may overwrite", NU));
  pr(P, "int %s_predict(const float *input, float *output, void *scratch);", N);
  pr(P, "/* The same for n samples one after the other. */");
  pr(P, "int %s_predict_batch(const float *input, float *output, int n, void *scratch);", N);
  if (E->softmax_fn) {
    pr(P, "/* Probabilities from one sample's output: softmax over the %d channels%s.\n"
          " * probs may be output itself. */",
       out->shape.dim[0], out->shape.rank > 1 ? " at each position" : "");
    pr(P, "void %s_softmax(const float *output, float *probs);", N);
  }
  nl(P);
  pr(P, "/* Names for programs that work with whichever network they are built with\n"
        " * (examples/classify.c): define CNNCC_GENERIC_NAMES before including this. */");
  pr(P, "#ifdef CNNCC_GENERIC_NAMES");
  pr(P, "#define CNN_NET_NAME \"%s\"", net->name);
  pr(P, "#define CNN_INPUT_SIZE %s_INPUT_SIZE", NU);
  pr(P, "#define CNN_OUTPUT_SIZE %s_OUTPUT_SIZE", NU);
  pr(P, "#define CNN_OUTPUT_CHANNELS %d", out->shape.dim[0]);
  pr(P, "#define CNN_SCRATCH_BYTES %s_SCRATCH_BYTES", NU);
  pr(P, "#define cnn_predict %s_predict", N);
  pr(P, "#define cnn_predict_batch %s_predict_batch", N);
  if (E->softmax_fn) pr(P, "#define cnn_softmax %s_softmax", N);
  pr(P, "#endif");
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void emit_file(Emit *E, FILE *c, FILE *h, const char *c_name, const char *h_name) {
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  char b1[64], b2[64];
  /* the kernels go to memory first: they decide whether math.h is needed */
  char *body = NULL;
  size_t body_len = 0;
  FILE *mem = open_memstream(&body, &body_len);
  if (!mem) longjmp(*E->A->oom, 1);
  CnnPrinter bp;
  cnn_printer_init(&bp, mem);
  E->P = &bp;
  CnnPrinter *P = &bp;
  for (int k = 0; k < E->ng; k++) {
    switch (E->g[k].kind) {
    case G_CONV: emit_conv(E, k); break;
    case G_CONVT: emit_convt(E, k); break;
    case G_DENSE: emit_dense(E, k); break;
    case G_POOL: emit_pool(E, k); break;
    case G_GAP: emit_gap(E, k); break;
    case G_EW: emit_ew(E, k); break;
    case G_CONCAT: emit_concat(E, k); break;
    case G_SOFTMAX: emit_softmax(E, k); break;
    case G_COPY: emit_copy(E, k); break;
    }
  }
  /* the API */
  nl(P);
  pr(P, "/* ---- the network ---- */");
  nl(P);
  if (E->opt->static_arena) {
    pr(P, "/* Activations and temporaries: the one written global, so %s_predict is\n"
          " * not reentrant (one call at a time, not from several threads). */", N);
    pr(P, "static float %s_arena[%" PRId64 "];", N, E->arena_floats + 16);
    nl(P);
  }
  pr(P, "/* Scratch layout (float offsets from the 64-byte aligned start), by group:");
  for (int k = 0; k < E->ng; k++) {
    const Group *g = &E->g[k];
    const char *line = fmt(E, " *   %-14s", g->kind == G_COPY ? "copy" : node(E, g->main)->name);
    int sts[3] = {g->st_out, g->st_prep, g->st_tmp};
    const char *what[3] = {"out", "prep", "tmp"};
    for (int i = 0; i < 3; i++) {
      if (sts[i] < 0) continue;
      const Storage *s = &E->st[sts[i]];
      if (s->kind == ST_OUTPUT) line = fmt(E, "%s %s: output", line, what[i]);
      else line = fmt(E, "%s %s: [%" PRId64 ", %" PRId64 ")", line, what[i], s->offset, s->offset + s->floats);
    }
    pr(P, "%s", line);
  }
  pr(P, " * %" PRId64 " floats in all, against %" PRId64 " for every activation apart. */",
     E->arena_floats, net->activation_bytes / 4);
  pr(P, "int %s_predict(const float *input, float *output, void *scratch) {", N);
  if (E->opt->static_arena) {
    pr(P, "float *a = (float *)(void *)(((uintptr_t)%s_arena + 63) & ~(uintptr_t)63);", N);
    pr(P, "(void)scratch;");
    pr(P, "if (!input || !output) return -1;");
  } else if (E->arena_floats) {
    pr(P, "float *a;");
    pr(P, "if (!input || !output || !scratch) return -1;");
    pr(P, "a = (float *)(void *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);");
  } else {
    pr(P, "(void)scratch;");
    pr(P, "if (!input || !output) return -1;");
  }
  for (int k = 0; k < E->ng; k++) {
    const Group *g = &E->g[k];
    const char *args = "";
    if (g->kind == G_COPY) {
      pr(P, "%s_copy(input, output);", N);
      continue;
    }
    for (int i = 0; i < g->ninputs; i++)
      args = fmt(E, "%s%s, ", args, storage_expr(E, E->val_st[E->store[g->inputs[i]]]));
    args = fmt(E, "%s%s", args, storage_expr(E, g->st_out));
    if (g->st_prep >= 0) args = fmt(E, "%s, %s", args, storage_expr(E, g->st_prep));
    if (g->st_tmp >= 0) args = fmt(E, "%s, %s", args, storage_expr(E, g->st_tmp));
    pr(P, "%s(%s);", fn_name(E, g), args);
  }
  pr(P, "return 0;");
  pr(P, "}");
  nl(P);
  pr(P, "int %s_predict_batch(const float *input, float *output, int n, void *scratch) {", N);
  pr(P, "if (n < 0) return -1;");
  pr(P, "for (int i = 0; i < n; i++)");
  pr(P, "  if (%s_predict(input + (size_t)i * %s_INPUT_SIZE, output + (size_t)i * %s_OUTPUT_SIZE, scratch))",
     N, NU, NU);
  pr(P, "    return -1;");
  pr(P, "return 0;");
  pr(P, "}");
  if (E->softmax_fn) {
    nl(P);
    pr(P, "void %s_softmax(const float *output, float *probs) {", N);
    emit_softmax_loop(E, &net->nodes[net->output].shape, "output", "probs");
    pr(P, "}");
  }
  bool failed = bp.failed | (fclose(mem) != 0);
  if (failed) {
    free(body);
    longjmp(*E->A->oom, 1);
  }

  /* the header comment, includes, declarations, then the body */
  CnnPrinter cp;
  cnn_printer_init(&cp, c);
  P = &cp;
  E->P = P;
  const CnnNode *in = &net->nodes[0], *out = &net->nodes[net->output];
  pr(P, "/* %s - standalone inference for the network \"%s\", generated by cnncc %s.\n"
        " * Do not edit: change the .cnn file or the checkpoint and run cnncc again.\n"
        " *\n"
        " *   network:      %s, %" PRId64 " parameters, %" PRId64 " FLOPs per sample\n"
        " *   source:       %s\n"
        " *   weights:      %s (CRC-32 0x%08" PRIx32 ")\n"
        " *   architecture: hash 0x%016" PRIx64 "\n"
        " *   target:       portable C99; SIMD kernels chosen when compiled (see CNNCC_SIMD)\n"
        " *   input:        %s %s, %" PRId64 " floats\n"
        " *   output:       %s %s, %" PRId64 " floats (evaluation mode: batchnorm with the\n"
        " *                 running statistics, folded into the convolutions; no dropout)\n"
        " *   memory:       %s\n"
        " *\n"
        " * Uses no C library functions%s, allocates nothing and\n"
        " * writes no globals%s. Build with optimization, e.g.\n"
        " * cc -O3 -march=native -c %s (-march picks the SIMD kernels) */",
     c_name, net->name, PACKAGE_VERSION, net->name, net->nparams, net->flops,
     E->opt->source_file ? E->opt->source_file : "?", E->opt->weights, E->crc, E->hash, in->name,
     cnn_shape_str(in->shape, b1, sizeof b1), size_of(in), out->name,
     cnn_shape_str(out->shape, b2, sizeof b2), size_of(out),
     E->opt->static_arena
         ? fmt(E, "a static arena of %" PRId64 " bytes (not reentrant)", E->arena_floats * 4)
         : fmt(E, "%" PRId64 " bytes of scratch from the caller (%s_SCRATCH_BYTES)",
               E->arena_floats ? E->arena_floats * 4 + 64 : 0, NU),
     E->need_math ? " but libm's" : "", E->opt->static_arena ? " but its arena" : " (reentrant)", c_name);
  pr(P, "#include <stddef.h>");
  pr(P, "#include <stdint.h>");
  if (E->need_math) pr(P, "#include <math.h>");
  nl(P);
  if (h) {
    pr(P, "#include \"%s\"", h_name);
  } else {
    emit_declarations(E, P);
  }
  nl(P);
  /* the SIMD vocabulary, and the vector functions only when used (clang
   * warns about unused static functions) */
  fputs(cnn_kernel_vector, c);
  if (E->need_vsum) fputs(cnn_kernel_vsum, c);
  if (E->need_vsigmoid || E->need_vtanh) fputs(cnn_kernel_vexp, c);
  if (E->need_vsigmoid) fputs(cnn_kernel_vsigmoid, c);
  if (E->need_vtanh) fputs(cnn_kernel_vtanh, c);
  if (E->need_zero) {
    nl(P);
    pr(P, "static const volatile float %s_zero = 0.0f;", N);
  }
  fwrite(body, 1, body_len, c);
  free(body);
  if (h) {
    CnnPrinter hp;
    cnn_printer_init(&hp, h);
    P = &hp;
    pr(P, "/* %s - the interface of %s: standalone inference for the network \"%s\",\n"
          " * generated by cnncc %s from %s with the weights of %s. */",
       h_name, c_name, net->name, PACKAGE_VERSION, E->opt->source_file ? E->opt->source_file : "?",
       E->opt->weights);
    pr(P, "#ifndef %s_INFER_H", NU);
    pr(P, "#define %s_INFER_H", NU);
    nl(P);
    pr(P, "#ifdef __cplusplus");
    pr(P, "extern \"C\" {");
    pr(P, "#endif");
    nl(P);
    emit_declarations(E, P);
    nl(P);
    pr(P, "#ifdef __cplusplus");
    pr(P, "}");
    pr(P, "#endif");
    nl(P);
    pr(P, "#endif");
    if (hp.failed) longjmp(*E->A->oom, 1);
  }
  if (cp.failed) longjmp(*E->A->oom, 1);
}

int cnn_emit_inference(FILE *c, FILE *h, const char *c_name, const char *h_name, const CnnNet *net,
                       const float *params, const float *buffers, uint32_t crc,
                       const CnnInferOptions *opt) {
  CnnArena arena = {0};
  jmp_buf oom_jmp;
  arena.oom = &oom_jmp;
  if (setjmp(oom_jmp)) {
    cnn_arena_free(&arena);
    fprintf(stderr, "cnncc: out of memory (or cannot write) while generating inference code\n");
    return -1;
  }
  Emit E = {.net = net, .opt = opt, .A = &arena, .N = net->name, .params = params,
            .buffers = buffers, .crc = crc, .hash = cnn_arch_hash(net)};
  E.NU = cnn_strdup(&arena, net->name);
  for (char *p = E.NU; *p; p++) *p = (char)toupper((unsigned char)*p);
  int nn = net->nnodes;
  E.nts = cnn_alloc(&arena, sizeof(int) * (size_t)nn);
  E.ts = cnn_alloc(&arena, sizeof *E.ts * (size_t)nn);
  E.toff = cnn_alloc(&arena, sizeof *E.toff * (size_t)nn);
  int64_t np = 0, nb = 0;
  for (int i = 0; i < nn; i++) {
    E.nts[i] = cnn_node_tensors(net, &net->nodes[i], E.ts[i]);
    for (int t = 0; t < E.nts[i]; t++) {
      E.toff[i][t] = E.ts[i][t].learnable ? np : nb;
      *(E.ts[i][t].learnable ? &np : &nb) += E.ts[i][t].count;
    }
  }
  plan_groups(&E);
  /* the G_COPY group reads the input and writes the output */
  for (int k = 0; k < E.ng; k++)
    if (E.g[k].kind == G_COPY) {
      int *in = cnn_alloc(&arena, sizeof(int));
      in[0] = 0;
      E.g[k].inputs = in;
      E.g[k].ninputs = 1;
    }
  plan_memory(&E);
  const CnnNode *o = &net->nodes[net->output];
  E.softmax_fn = !opt->no_softmax && net->nodes[E.out_base].op != OP_SOFTMAX && o->shape.dim[0] > 1;
  emit_file(&E, c, h, c_name, h_name);
  cnn_arena_free(&arena);
  return 0;
}

/* ---- cnncc --emit=inference ---- */

int cnn_emit_inference_file(const CnnNet *net, const char *src_path, const char *out_path,
                            const CnnInferOptions *opt) {
  if (!opt->weights) {
    fprintf(stderr, "cnncc: --emit=inference needs the weights: --weights CHECKPOINT\n"
                    "(a checkpoint written by the trainer: train --save CHECKPOINT)\n");
    return 2;
  }
  /* the checkpoint, read and checked by the runtime */
  int64_t np = 0, nb = 0;
  for (int i = 0; i < net->nnodes; i++) {
    CnnTensorSpec ts[4];
    int k = cnn_node_tensors(net, &net->nodes[i], ts);
    for (int t = 0; t < k; t++) *(ts[t].learnable ? &np : &nb) += ts[t].count;
  }
  float *params = malloc(sizeof(float) * (size_t)(np + 1)), *buffers = malloc(sizeof(float) * (size_t)(nb + 1));
  if (!params || !buffers) {
    free(params);
    free(buffers);
    fprintf(stderr, "cnncc: out of memory\n");
    return 1;
  }
  RtNet rt = {.name = net->name, .nparams = (size_t)np, .params = params, .nbuffers = (size_t)nb,
              .buffers = buffers, .arch_hash = cnn_arch_hash(net)};
  char err[1024];
  if (rt_checkpoint_load(opt->weights, &rt, NULL, NULL, NULL, err, sizeof err)) {
    fprintf(stderr, "cnncc: %s\n", err);
    free(params);
    free(buffers);
    return 1;
  }
  /* its CRC: the last four bytes, little-endian (the load checked it) */
  uint32_t crc = 0;
  FILE *f = fopen(opt->weights, "rb");
  unsigned char b4[4];
  if (f && fseek(f, -4, SEEK_END) == 0 && fread(b4, 1, 4, f) == 4)
    crc = (uint32_t)b4[0] | (uint32_t)b4[1] << 8 | (uint32_t)b4[2] << 16 | (uint32_t)b4[3] << 24;
  if (f) fclose(f);

  /* where to write: -o FILE, '-' for stdout, or NAME_infer.c next to FILE.cnn */
  char *made = NULL, *h_path = NULL;
  const char *c_path = out_path;
  if (!c_path) {
    size_t n = strlen(src_path);
    made = malloc(n + 16);
    if (!made) {
      free(params);
      free(buffers);
      fprintf(stderr, "cnncc: out of memory\n");
      return 1;
    }
    memcpy(made, src_path, n + 1);
    if (n > 4 && !strcmp(made + n - 4, ".cnn")) made[n - 4] = '\0';
    strcat(made, "_infer.c");
    c_path = strcmp(src_path, "-") ? made : "-";
  }
  bool to_stdout = !strcmp(c_path, "-");
  int status = 0;
  if (opt->header) {
    if (to_stdout) {
      fprintf(stderr, "cnncc: --header needs an output file (-o FILE.c)\n");
      status = 2;
    } else {
      size_t n = strlen(c_path);
      h_path = malloc(n + 3);
      if (!h_path) {
        status = 1;
      } else {
        memcpy(h_path, c_path, n + 1);
        if (n > 2 && !strcmp(h_path + n - 2, ".c")) h_path[n - 2] = '\0';
        strcat(h_path, ".h");
      }
    }
  }
  FILE *c = NULL, *h = NULL;
  if (!status) {
    c = to_stdout ? stdout : fopen(c_path, "w");
    if (!c) {
      fprintf(stderr, "cnncc: cannot write '%s': %s\n", c_path, strerror(errno));
      status = 1;
    }
  }
  if (!status && h_path && !(h = fopen(h_path, "w"))) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", h_path, strerror(errno));
    status = 1;
  }
  if (!status) {
    CnnInferOptions o = *opt;
    if (!o.source_file) o.source_file = src_path;
    char stdout_name[300];
    snprintf(stdout_name, sizeof stdout_name, "%s_infer.c", net->name);
    if (cnn_emit_inference(c, h, to_stdout ? stdout_name : base_name(c_path),
                           h_path ? base_name(h_path) : NULL, net, params, buffers, crc, &o))
      status = 1;
    if ((c != stdout && fclose(c)) || (c == stdout && fflush(c)) || (h && fclose(h))) {
      if (!status) fprintf(stderr, "cnncc: cannot write '%s': %s\n", c_path, strerror(errno));
      status = 1;
    }
    c = h = NULL;
    if (status && !to_stdout) {
      remove(c_path);
      if (h_path) remove(h_path);
    }
  }
  if (c && c != stdout) fclose(c);
  if (h) fclose(h);
  free(made);
  free(h_path);
  free(params);
  free(buffers);
  return status;
}
