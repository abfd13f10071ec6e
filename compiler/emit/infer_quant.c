/* emit/infer_quant.c - cnncc --emit=inference --quantize=int8: int8
 * inference code (docs/inference.md, "int8 quantization").
 *
 * The float network (batchnorm folded, emit/infer_weights.c) runs here, in
 * plain loops, over the first samples of the --calibrate data (read with
 * libcnnrt's loaders) to find each value's largest magnitude; the file then
 * carries the weights quantized per output channel, the biases as int32,
 * the requantization multipliers, and the kernels of kernels/quant.h. The
 * groups are the float plan's (plan/infer.c); the int8 values and the
 * panels share the scratch memory by lifetime (place_scratch), a layout
 * that the calibration does not change, so that `cnncc --summary` states
 * the int8 file's figures without calibration data (quant_memory). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "cnncc.h"
#include "cnnrt.h"
#include "infer_emit.h"
#include "kernels.h"

/* How a convolution or dense group runs (kernels/quant.h, CnnQConv): the
 * panel's kind and size, the positions computed, the K groups. */
typedef struct {
  int direct; /* 1 direct, 2 windows, 0 im2col (kernels/quant.h, CnnQConv) */
  int wp, ps, G, rows, len, rs, ocp;
  int64_t panel; /* bytes */
} QLayout;

typedef struct {
  Emit *E;
  float **val;        /* per store node: the float value of the current sample */
  double *amax;       /* per store node: the largest |x| seen */
  float **w, **b;     /* per group (conv, dense): folded weights [O][I], bias */
  float *ftmp;        /* a convolution's output before its fused pooling */
  CnnConvGeo *geo;    /* per group (conv, dense, pool, gap) */
  int64_t *off;       /* per store node: byte offset of its int8 value */
  QLayout *lay;       /* per group (conv, dense) */
  bool *nonneg;       /* per store node: the int8 value is >= 0 whatever the input */
  double amin;        /* the smallest input seen */
  int64_t *panel_at, *tmp_at; /* per group (conv, dense): its panel, its pooling's input */
  int64_t scratch;    /* bytes of scratch used from its 64-byte aligned start */
} Quant;

static int store_of(Quant *Q, int id) { return Q->E->p->store[id]; }
static float scale_of(Quant *Q, int id) {
  double a = Q->amax[store_of(Q, id)];
  return a > 0 ? (float)(a / 127) : 1.0f;
}
static bool is_relu(Emit *E, int id) { return id >= 0 && node(E, id)->op == OP_RELU; }

/* ---- what quantizes ---- */

/* The node that keeps group g from being quantized, or -1. */
static int unsupported(Emit *E, const Group *g) {
  if (g->act >= 0 && !is_relu(E, g->act)) return g->act;
  switch (g->kind) {
  case CNN_IG_CONV:
    return g->pool >= 0 && !(node(E, g->pool)->op == OP_MAXPOOL1D || node(E, g->pool)->op == OP_MAXPOOL2D)
               ? g->pool : -1;
  case CNN_IG_DENSE: return -1;
  case CNN_IG_GAP: return -1;
  case CNN_IG_POOL: {
    const CnnNode *n = node(E, g->main);
    CnnConvGeo q = cnn_conv_geo(E->net, n);
    bool avg = n->op == OP_AVGPOOL1D || n->op == OP_AVGPOOL2D;
    return avg && (q.pt || q.pl || q.pb || q.pr) ? g->main : -1;
  }
  case CNN_IG_EW:
    if (g->nchain == 1 && is_relu(E, g->chain[0])) return -1;
    if (node(E, g->chain[0])->op != OP_ADD || g->ninputs != 2) return g->chain[0];
    if (g->nchain > 2 || (g->nchain == 2 && !is_relu(E, g->chain[1]))) return g->chain[g->nchain - 1];
    return -1;
  default: return g->main;
  }
}

static int check_supported(Emit *E) {
  for (int k = 0; k < E->p->ng; k++) {
    int id = unsupported(E, &E->p->g[k]);
    if (id < 0) continue;
    const CnnNode *n = node(E, id);
    fprintf(stderr, "cnncc: --quantize=int8: layer '%s' (%s, line %d) has no int8 version yet; "
                    "quantized are conv1d/conv2d and dense (with batchnorm folded in), relu, "
                    "maxpool, avgpool, global pooling, add and flatten\n", n->name, cnn_op_name(n->op), n->loc.first_line);
    return -1;
  }
  return 0;
}

/* ---- the float network, for calibration ---- */

static void float_conv(const CnnConvGeo *c, const float *w, const float *b, const float *x, float *y, bool relu) {
  for (int o = 0; o < c->oc; o++)
    for (int oy = 0; oy < c->oh; oy++)
      for (int ox = 0; ox < c->ow; ox++) {
        double s = b[o];
        for (int i = 0; i < c->ic; i++)
          for (int ky = 0; ky < c->kh; ky++)
            for (int kx = 0; kx < c->kw; kx++) {
              int iy = oy * c->sh + ky * c->dh - c->pt, ix = ox * c->sw + kx * c->dw - c->pl;
              if (iy >= 0 && iy < c->ih && ix >= 0 && ix < c->iw)
                s += (double)w[((o * c->ic + i) * c->kh + ky) * c->kw + kx] * x[(i * c->ih + iy) * c->iw + ix];
            }
        y[(o * c->oh + oy) * c->ow + ox] = relu && s < 0 ? 0.0f : (float)s;
      }
}

static void float_pool(const CnnConvGeo *c, const float *x, float *y, bool avg) {
  for (int o = 0; o < c->oc; o++)
    for (int oy = 0; oy < c->oh; oy++)
      for (int ox = 0; ox < c->ow; ox++) {
        double s = avg ? 0 : -HUGE_VAL;
        for (int ky = 0; ky < c->kh; ky++)
          for (int kx = 0; kx < c->kw; kx++) {
            int iy = oy * c->sh + ky - c->pt, ix = ox * c->sw + kx - c->pl;
            if (iy < 0 || iy >= c->ih || ix < 0 || ix >= c->iw) continue;
            double v = x[(o * c->ih + iy) * c->iw + ix];
            s = avg ? s + v : v > s ? v : s;
          }
        y[(o * c->oh + oy) * c->ow + ox] = (float)(avg ? s / (c->kh * c->kw) : s);
      }
}

/* A window geometry over a whole [C, H, W] (or [C, L]) value. */
static CnnConvGeo whole(const CnnNode *in) {
  CnnShape s = in->shape;
  int h = s.rank > 2 ? s.dim[1] : 1, w = s.rank > 2 ? s.dim[2] : s.rank > 1 ? s.dim[1] : 1;
  return (CnnConvGeo){.ic = s.dim[0], .oc = s.dim[0], .ih = h, .iw = w, .oh = 1, .ow = 1, .kh = h, .kw = w,
                      .sh = 1, .sw = 1, .dh = 1, .dw = 1};
}

static bool is_avg(CnnOp op) {
  return op == OP_AVGPOOL1D || op == OP_AVGPOOL2D || op == OP_GLOBAL_AVGPOOL;
}

static void run_group(Quant *Q, int k) {
  Emit *E = Q->E;
  const Group *g = &E->p->g[k];
  float *x = Q->val[store_of(Q, g->inputs[0])], *y = Q->val[store_of(Q, g->result)];
  int64_t n = size_of(node(E, g->result));
  switch (g->kind) {
  case CNN_IG_CONV: case CNN_IG_DENSE:
    if (g->pool < 0) {
      float_conv(&Q->geo[k], Q->w[k], Q->b[k], x, y, g->act >= 0);
    } else {
      const CnnNode *pn = node(E, g->pool);
      float_conv(&Q->geo[k], Q->w[k], Q->b[k], x, Q->ftmp, g->act >= 0);
      CnnConvGeo pg = cnn_conv_geo(E->net, pn);
      float_pool(&pg, Q->ftmp, y, false);
    }
    break;
  case CNN_IG_POOL: case CNN_IG_GAP: float_pool(&Q->geo[k], x, y, is_avg(node(E, g->main)->op)); break;
  default: /* EW: relu, or add (+ relu) */
    for (int64_t i = 0; i < n; i++) {
      float v = g->ninputs == 2 ? x[i] + Q->val[store_of(Q, g->inputs[1])][i] : x[i];
      y[i] = is_relu(E, g->chain[g->nchain - 1]) && v < 0 ? 0.0f : v;
    }
  }
  for (int64_t i = 0; i < n; i++)
    if (fabs(y[i]) > Q->amax[store_of(Q, g->result)]) Q->amax[store_of(Q, g->result)] = fabs(y[i]);
}

/* The calibration data as the trainer reads --data DIR: one CSV file, image
 * folders DIR/train, DIR/train.csv, else IDX or CIFAR-10 files. */
static int load_calibration(Emit *E, const char *dir, RtDataset *ds) {
  const CnnNode *in = node(E, 0), *out = node(E, E->net->output);
  RtNet rn = {.name = E->net->name, .in_rank = in->shape.rank, .out_rank = out->shape.rank,
              .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY};
  for (int i = 0; i < in->shape.rank; i++) rn.in_dim[i] = in->shape.dim[i];
  for (int i = 0; i < out->shape.rank; i++) rn.out_dim[i] = out->shape.dim[i];
  char err[1024] = "", path[4096];
  struct stat st;
  RtCsvOptions csv = {NULL, -1};
  int rc;
  if (stat(dir, &st)) {
    fprintf(stderr, "cnncc: --calibrate: no such file or directory: %s\n", dir);
    return -1;
  }
  if (S_ISREG(st.st_mode)) rc = rt_csv_load(dir, &csv, ds, err, sizeof err);
  else if ((rc = rt_folders_load(dir, "train", &rn, ds, err, sizeof err)) > 0) {
    snprintf(path, sizeof path, "%s/train.csv", dir);
    rc = stat(path, &st) ? rt_dataset_load(dir, "train", ds, err, sizeof err)
                         : rt_csv_load(path, &csv, ds, err, sizeof err);
  }
  uint8_t *labels = ds->labels;
  ds->labels = NULL; /* the labels are not needed: only the shape is checked */
  if (!rc) rc = rt_dataset_check(ds, &rn, err, sizeof err);
  ds->labels = labels;
  if (rc) fprintf(stderr, "cnncc: --calibrate %s: %s\n", dir, err);
  return rc ? -1 : 0;
}

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/* The layout of a convolution of geometry c (kernels/quant.h, CnnQConv):
 * direct (on the padded input, 4 channels interleaved, split into sh x sw
 * phases of its rows and columns) with 4 input channels or more and at
 * least as many taps as phases (a strided 1 x 1 reads one phase in
 * sh x sw: its im2col panel is smaller); windows (a padded input plane per
 * channel, 4 consecutive bytes at each position; a kernel row in groups of
 * 4 columns) for fewer channels, column stride and dilation 1; else
 * im2col. */
static QLayout layout(const CnnConvGeo *c) {
  QLayout L = {.direct = c->ic >= 4 && c->kh * c->kw >= c->sh * c->sw, .ocp = (int)round_up(c->oc, 4)};
  if (!L.direct && c->sw == 1 && c->dw == 1) {
    int64_t hp = c->ih + c->pt + c->pb, need, kq = (c->kw + 3) / 4;
    L.direct = 2;
    L.wp = c->iw + c->pl + c->pr;
    L.rows = c->oh, L.len = c->ow, L.rs = c->sh * L.wp;
    need = (int64_t)(c->oh - 1) * L.rs + round_up(c->ow, 8) + (int64_t)(c->kh - 1) * c->dh * L.wp + (kq - 1) * 4;
    L.ps = (int)round_up(need > hp * L.wp ? need : hp * L.wp, L.wp);
    L.G = (int)(c->ic * c->kh * kq);
    L.panel = (int64_t)c->ic * L.ps * 4 + L.wp + 3; /* and a padded row */
  } else if (L.direct) {
    int64_t hp = (c->ih + c->pt + c->pb + c->sh - 1) / c->sh, maxoff, need;
    L.wp = (c->iw + c->pl + c->pr + c->sw - 1) / c->sw;
    L.rows = c->oh, L.len = c->ow, L.rs = L.wp;
    /* the last tile of the last row reads up to here */
    maxoff = (int64_t)(c->kh - 1) * c->dh / c->sh * L.wp + (c->kw - 1) * c->dw / c->sw;
    need = (int64_t)(c->oh - 1) * L.wp + round_up(c->ow, 8) + maxoff;
    L.ps = (int)round_up(need > hp * L.wp ? need : hp * L.wp, L.wp);
    L.G = (c->ic + 3) / 4 * c->kh * c->kw;
    L.panel = (int64_t)(c->ic + 3) / 4 * c->sh * c->sw * L.ps * 4 + (c->sw > 1 ? c->iw * 4 : 0);
  } else {
    L.rows = 1, L.len = c->oh * c->ow, L.rs = 0;
    L.ps = (int)round_up(L.len, 8);
    L.G = (c->ic * c->kh * c->kw + 3) / 4;
    L.panel = (int64_t)L.G * L.ps * 4;
  }
  return L;
}

/* Each convolution and dense group's geometry, layout and folded weights;
 * the other windows' geometry. */
static void layout_groups(Quant *Q) {
  Emit *E = Q->E;
  const CnnInferPlan *p = E->p;
  Q->w = cnn_alloc(E->A, sizeof(float *) * (size_t)p->ng);
  Q->b = cnn_alloc(E->A, sizeof(float *) * (size_t)p->ng);
  Q->geo = cnn_alloc(E->A, sizeof(CnnConvGeo) * (size_t)p->ng);
  Q->lay = cnn_alloc(E->A, sizeof(QLayout) * (size_t)p->ng);
  for (int k = 0; k < p->ng; k++) {
    const Group *g = &p->g[k];
    const CnnNode *m = node(E, g->main);
    if (g->kind == CNN_IG_CONV || g->kind == CNN_IG_DENSE) {
      int O, I;
      cnn_infer_folded_rows(E, g, &O, &I, &Q->w[k], &Q->b[k]);
      Q->geo[k] = g->kind == CNN_IG_CONV ? cnn_conv_geo(E->net, m)
                  : (CnnConvGeo){.ic = I, .oc = O, .ih = 1, .iw = 1, .oh = 1, .ow = 1, .kh = 1, .kw = 1,
                                 .sh = 1, .sw = 1, .dh = 1, .dw = 1};
      Q->lay[k] = layout(&Q->geo[k]);
    } else if (g->kind == CNN_IG_POOL) {
      Q->geo[k] = cnn_conv_geo(E->net, m);
    } else if (g->kind == CNN_IG_GAP) {
      Q->geo[k] = whole(in_node(E, m, 0));
    }
  }
}

/* A fused pooling's input: the int8 output of its convolution. */
static int64_t pooled_size(Emit *E, const Group *g) {
  return g->pool >= 0 ? size_of(in_node(E, node(E, g->pool), 0)) : 0;
}

/* The scratch memory: the int8 values, each convolution's panel and a fused
 * pooling's input, as blocks in use from the step that writes them to the
 * last that reads them (step 0 quantizes the input, group k is step k + 1),
 * placed by the float plan's memory planner (plan/memory.c): blocks in use
 * together never overlap, so no kernel's input, output and panel share
 * bytes. Each block is 64-byte aligned. Returns 0, or -1 if the placement
 * breaks that (an internal error, as the float plan checks its own). */
static int place_scratch(Quant *Q) {
  Emit *E = Q->E;
  const CnnInferPlan *p = E->p;
  int nn = E->net->nnodes, nb = 0;
  CnnBlock *bl = cnn_alloc(E->A, sizeof(CnnBlock) * (size_t)(nn + 2 * p->ng + 1));
  int *value = cnn_alloc(E->A, sizeof(int) * (size_t)nn), *panel = cnn_alloc(E->A, sizeof(int) * (size_t)p->ng);
  Q->off = cnn_alloc(E->A, sizeof(int64_t) * (size_t)nn);
  Q->panel_at = cnn_alloc(E->A, sizeof(int64_t) * (size_t)p->ng);
  Q->tmp_at = cnn_alloc(E->A, sizeof(int64_t) * (size_t)p->ng);
  for (int i = 0; i < nn; i++) {
    value[i] = -1;
    if (p->store[i] != i || !(p->live[i] || i == 0)) continue;
    value[i] = nb;
    cnn_block_init(&bl[nb++], node(E, i)->name, size_of(node(E, i)), 64);
  }
  cnn_block_use(&bl[value[store_of(Q, 0)]], 0, 0);
  for (int k = 0; k < p->ng; k++) {
    const Group *g = &p->g[k];
    for (int j = 0; j < g->ninputs; j++) cnn_block_use(&bl[value[store_of(Q, g->inputs[j])]], 0, k + 1);
    cnn_block_use(&bl[value[store_of(Q, g->result)]], 0, k + 1);
    panel[k] = -1;
    if (g->kind != CNN_IG_CONV && g->kind != CNN_IG_DENSE) continue;
    panel[k] = nb;
    cnn_block_init(&bl[nb], "panel", Q->lay[k].panel, 64);
    cnn_block_use(&bl[nb++], 0, k + 1);
    cnn_block_init(&bl[nb], "pooling input", pooled_size(E, g), 64);
    cnn_block_use(&bl[nb++], 0, k + 1);
  }
  Q->scratch = cnn_place_blocks(E->A, bl, nb);
  for (int i = 0; i < nn; i++)
    if (value[i] >= 0) Q->off[i] = bl[value[i]].offset;
  for (int k = 0; k < p->ng; k++) {
    Q->panel_at[k] = panel[k] >= 0 ? bl[panel[k]].offset : 0;
    Q->tmp_at[k] = panel[k] >= 0 ? bl[panel[k] + 1].offset : 0;
  }
  int a, b;
  if (cnn_check_placement(bl, nb, Q->scratch, &a, &b)) return 0;
  fprintf(stderr, "cnncc: internal error: int8 scratch block '%s' %s%s\n", bl[a].name,
          b < 0 ? "exceeds the scratch" : "overlaps ", b < 0 ? "" : bl[b].name);
  return -1;
}

/* The float values of calibration, and the range trackers. */
static void setup_calibration(Quant *Q) {
  Emit *E = Q->E;
  const CnnInferPlan *p = E->p;
  int nn = E->net->nnodes;
  int64_t pool = 0;
  Q->val = cnn_alloc(E->A, sizeof(float *) * (size_t)nn);
  Q->amax = cnn_alloc(E->A, sizeof(double) * (size_t)nn);
  Q->nonneg = cnn_alloc(E->A, sizeof(bool) * (size_t)nn);
  Q->amin = HUGE_VAL;
  for (int i = 0; i < nn; i++) {
    Q->amax[i] = 0;
    if (p->store[i] == i && (p->live[i] || i == 0))
      Q->val[i] = cnn_alloc(E->A, sizeof(float) * (size_t)size_of(node(E, i)));
  }
  for (int k = 0; k < p->ng; k++)
    if (pooled_size(E, &p->g[k]) > pool) pool = pooled_size(E, &p->g[k]);
  Q->ftmp = cnn_alloc(E->A, sizeof(float) * (size_t)(pool > 0 ? pool : 1));
}

static int calibrate(Quant *Q) {
  Emit *E = Q->E;
  RtDataset ds;
  memset(&ds, 0, sizeof ds);
  if (load_calibration(E, E->opt->calibrate, &ds)) {
    rt_dataset_free(&ds);
    return -1;
  }
  long n = E->opt->calibrate_samples > 0 ? E->opt->calibrate_samples : 500;
  if (n > ds.n) n = ds.n;
  if (n < 1) {
    fprintf(stderr, "cnncc: --calibrate %s: no samples\n", E->opt->calibrate);
    rt_dataset_free(&ds);
    return -1;
  }
  for (long s = 0; s < n; s++) {
    rt_dataset_batch(&ds, NULL, s, 1, Q->val[0], NULL);
    for (int64_t i = 0; i < size_of(node(E, 0)); i++) {
      if (fabs(Q->val[0][i]) > Q->amax[0]) Q->amax[0] = fabs(Q->val[0][i]);
      if (Q->val[0][i] < Q->amin) Q->amin = Q->val[0][i];
    }
    for (int k = 0; k < E->p->ng; k++) run_group(Q, k);
  }
  rt_dataset_free(&ds);
  return 0;
}

/* Scales that are fixed rather than calibrated: max pooling and a lone
 * ReLU give their input's scale (so that they are exact on int8). */
static void tie_scales(Quant *Q) {
  Emit *E = Q->E;
  for (int k = 0; k < E->p->ng; k++) {
    const Group *g = &E->p->g[k];
    bool max = (g->kind == CNN_IG_POOL || g->kind == CNN_IG_GAP) && !is_avg(node(E, g->main)->op);
    if (max || (g->kind == CNN_IG_EW && g->ninputs == 1))
      Q->amax[store_of(Q, g->result)] = Q->amax[store_of(Q, g->inputs[0])];
  }
}

/* Which int8 values are >= 0 whatever the input: the input if no
 * calibration sample was negative (its negative values are then clamped to
 * 0), what a ReLU makes, and pooling of those. The convolutions reading
 * them take the x86 tiles' fast case. */
static void signs(Quant *Q) {
  Emit *E = Q->E;
  Q->nonneg[store_of(Q, 0)] = Q->amin >= 0;
  for (int k = 0; k < E->p->ng; k++) {
    const Group *g = &E->p->g[k];
    bool v;
    switch (g->kind) {
    case CNN_IG_CONV: case CNN_IG_DENSE: v = g->act >= 0; break;
    case CNN_IG_POOL: case CNN_IG_GAP: v = Q->nonneg[store_of(Q, g->inputs[0])]; break;
    default: v = is_relu(E, g->chain[g->nchain - 1]);
    }
    Q->nonneg[store_of(Q, g->result)] = v;
  }
}

/* ---- quantization ---- */

/* M as m * 2^-31 * 2^-shift with m in [2^30, 2^31) (0 for M = 0), the
 * shift in [-30, 31]. */
static void multiplier(double M, int64_t *m, int64_t *shift) {
  int e;
  double f = frexp(M, &e);
  int64_t q = (int64_t)llround(f * 2147483648.0);
  if (q == ((int64_t)1 << 31)) q /= 2, e++;
  if (M <= 0 || -e > 31) q = 0, e = 0;
  if (e > 30) q = INT32_MAX, e = 30;
  *m = q;
  *shift = -e;
}

static int64_t *ints(Emit *E, int64_t n) { return cnn_alloc(E->A, sizeof(int64_t) * (size_t)(n > 0 ? n : 1)); }

static void emit_ints(Emit *E, const char *type, const char *name, const int64_t *v, int64_t n, const char *what) {
  CnnPrinter *P = E->P;
  pr(P, "static const %s %s[%" PRId64 "] CNNCC_WEIGHT_ATTR = { /* %s */", type, name, n > 0 ? n : 1, what);
  char line[200];
  size_t len = 0;
  for (int64_t i = 0; i < n; i++) {
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%" PRId64 ",", len ? " " : "", v[i]);
    if (len > 100 || i == n - 1) {
      pr(P, "  %s", line);
      len = 0;
    }
  }
  if (n == 0) pr(P, "  0");
  pr(P, "};");
}


static bool is_last(Emit *E, const Group *g) {
  return g->st_out >= 0 && E->p->st[g->st_out].kind == CNN_IS_OUTPUT;
}

/* The packed weights of group k (kernels/quant.h, CnnQConv) from wq
 * [oc][ic][kh][kw]: [oc / 4][G][4] words, byte j of channel r's word in
 * group g being channel 4 (g / taps) + j at tap g % taps (direct), kernel
 * row g of column j (windows), or k = 4 g + j of K. */
static int64_t *pack_weights(Quant *Q, int k, const int64_t *wq) {
  const CnnConvGeo *c = &Q->geo[k];
  const QLayout *L = &Q->lay[k];
  int64_t taps = (int64_t)c->kh * c->kw, K = c->ic * taps, n = (int64_t)L->ocp * L->G;
  int64_t *w = ints(Q->E, n);
  for (int64_t at = 0; at < n; at++) {
    int64_t r = at % 4, g = at / 4 % L->G, o = at / 4 / L->G * 4 + r;
    uint32_t word = 0;
    for (int j = 0; j < 4; j++) {
      int64_t kq = (c->kw + 3) / 4, kx = g % kq * 4 + j;
      int64_t kk = L->direct == 1 ? (g / taps * 4 + j) * taps + g % taps : L->direct ? g / kq * c->kw + kx : g * 4 + j;
      bool in = o < c->oc && (L->direct == 1 ? g / taps * 4 + j < c->ic : L->direct ? kx < c->kw : kk < K);
      word |= (uint32_t)(uint8_t)(in ? wq[o * K + kk] : 0) << 8 * j;
    }
    w[at] = (int32_t)word;
  }
  return w;
}

/* off[g]: where group g of position 0 is in the panel (bytes); direct:
 * tap (ky, kx) of 4 channels is in phase (ky dh % sh, kx dw % sw), rows
 * and columns further by ky dh / sh and kx dw / sw. */
static int64_t *offsets(Quant *Q, int k) {
  const CnnConvGeo *c = &Q->geo[k];
  const QLayout *L = &Q->lay[k];
  int64_t *off = ints(Q->E, L->G);
  int kq = (c->kw + 3) / 4;
  for (int g = 0; g < L->G; g++) {
    int tap = g % (c->kh * c->kw), ky = tap / c->kw * c->dh, kx = tap % c->kw * c->dw;
    int64_t plane = (int64_t)g / (c->kh * c->kw) * c->sh * c->sw + ky % c->sh * c->sw + kx % c->sw;
    off[g] = L->direct == 1 ? (plane * L->ps + (int64_t)ky / c->sh * L->wp + kx / c->sw) * 4
           : L->direct ? ((int64_t)g / kq / c->kh * L->ps + (int64_t)(g / kq % c->kh) * c->dh * L->wp + g % kq * 4) * 4
                       : (int64_t)g * L->ps * 4;
  }
  return off;
}

/* A convolution or dense group's tables and its CnnQConv NAME_q. */
static void emit_conv_tables(Quant *Q, int k) {
  Emit *E = Q->E;
  const Group *g = &E->p->g[k];
  const CnnConvGeo *c = &Q->geo[k];
  const QLayout *L = &Q->lay[k];
  const char *N = fn_name(E, g);
  int64_t I = (int64_t)c->ic * c->kh * c->kw;
  int64_t *w = ints(E, c->oc * I), *b = ints(E, L->ocp), *m = ints(E, L->ocp), *sh = ints(E, L->ocp);
  float *deq = cnn_alloc(E->A, sizeof(float) * (size_t)c->oc);
  double s_in = scale_of(Q, g->inputs[0]), s_out = scale_of(Q, g->result);
  bool last = is_last(E, g) && g->pool < 0;
  for (int o = 0; o < c->oc; o++) {
    double mx = 0;
    for (int64_t i = 0; i < I; i++) mx = fmax(mx, fabs(Q->w[k][o * I + i]));
    double sw = mx > 0 ? mx / 127 : 1;
    for (int64_t i = 0; i < I; i++) w[o * I + i] = (int64_t)fmax(-127, fmin(127, nearbyint(Q->w[k][o * I + i] / sw)));
    b[o] = (int64_t)fmax(-2147483647.0, fmin(2147483647.0, nearbyint(Q->b[k][o] / (s_in * sw))));
    multiplier(s_in * sw / s_out, &m[o], &sh[o]);
    deq[o] = (float)(s_in * sw);
  }
  emit_ints(E, "int32_t", fmt(E, "%s_w", N), pack_weights(Q, k, w), (int64_t)L->ocp * L->G,
            fmt(E, "[%d][%d][4] words of 4 int8 weights of K (%s), per output channel scale", L->ocp / 4, L->G,
                L->direct == 1 ? "4 input channels of a tap" : L->direct ? "4 columns of a kernel row" : "ic x kh x kw"));
  emit_ints(E, "int32_t", fmt(E, "%s_off", N), offsets(Q, k), L->G, "where each group of K is in the panel");
  emit_ints(E, "int32_t", fmt(E, "%s_b", N), b, L->ocp, "bias at scale input x weight");
  emit_ints(E, "int32_t", fmt(E, "%s_m", N), m, L->ocp, "requantization multipliers (Q31)");
  emit_ints(E, "signed char", fmt(E, "%s_s", N), sh, L->ocp, "requantization shifts (right)");
  if (last) {
    CnnPrinter *P = E->P;
    pr(P, "static const float %s_deq[%d] CNNCC_WEIGHT_ATTR = { /* float output = int32 sum x this */", N, c->oc);
    for (int o = 0; o < c->oc; o++) pr(P, "  %s,", cnn_infer_flit(E, deq[o]));
    pr(P, "};");
  }
  pr(E->P, "static const CnnQConv %s_q = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d,\n"
           "  %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %s_w, %s_off, %s_b, %s_m, %s_s, %s};",
     N, L->direct, c->ic, c->ih, c->iw, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
     L->wp, L->ps, c->oc, c->oh, c->ow, L->G, L->rows, L->len, L->rs, g->act >= 0 ? 0 : -127,
     Q->nonneg[store_of(Q, g->inputs[0])], N, N, N, N, N, last ? fmt(E, "%s_deq", N) : "NULL");
}

static const char *qval(Quant *Q, int id) { return fmt(Q->E, "q + %" PRId64, Q->off[store_of(Q, id)]); }

static const char *pool_args(Emit *E, const CnnConvGeo *c) {
  return fmt(E, "%d, %d, %d, %d, %d, %d, %d, %d, %d", c->oc, c->ih, c->iw, c->oh, c->ow, c->kh, c->kw, c->sh, c->sw);
}

/* The call of group k in NAME_predict. */
static void emit_call(Quant *Q, int k) {
  Emit *E = Q->E;
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const char *N = fn_name(E, g), *x = qval(Q, g->inputs[0]), *y = qval(Q, g->result);
  double s_in = scale_of(Q, g->inputs[0]), s_out = scale_of(Q, g->result);
  const char *panel = fmt(E, "q + %" PRId64, Q->panel_at[k]), *t = fmt(E, "q + %" PRId64, Q->tmp_at[k]);
  bool last = is_last(E, g);
  int64_t m, sh;
  pr(P, "/* %s: %s, scale %.9g */", node(E, g->result)->name, cnn_op_name(node(E, g->main)->op), s_out);
  switch (g->kind) {
  case CNN_IG_CONV: case CNN_IG_DENSE:
    if (g->pool < 0) {
      pr(P, "cnn_q_conv(&%s_q, %s, %s, %s, %s);", N, x, last ? "NULL" : y, last ? "output" : "NULL", panel);
      return;
    }
    CnnConvGeo pg = cnn_conv_geo(E->net, node(E, g->pool));
    pr(P, "cnn_q_conv(&%s_q, %s, %s, NULL, %s);", N, x, t, panel);
    pr(P, "cnn_q_maxpool(%s, %s, %s, %d, %d);", t, y, pool_args(E, &pg), pg.pt, pg.pl);
    break;
  case CNN_IG_POOL: case CNN_IG_GAP:
    if (is_avg(node(E, g->main)->op)) {
      multiplier(s_in / (s_out * Q->geo[k].kh * Q->geo[k].kw), &m, &sh);
      pr(P, "cnn_q_avgpool(%s, %s, %s, %" PRId64 ", %" PRId64 ");", x, y, pool_args(E, &Q->geo[k]), m, sh);
    } else {
      pr(P, "cnn_q_maxpool(%s, %s, %s, %d, %d);", x, y, pool_args(E, &Q->geo[k]), Q->geo[k].pt, Q->geo[k].pl);
    }
    break;
  default:
    if (g->ninputs == 1) {
      pr(P, "cnn_q_relu(%s, %s, %" PRId64 ");", x, y, size_of(node(E, g->result)));
    } else {
      int64_t mb, shb;
      multiplier(s_in * 256 / s_out, &m, &sh);
      multiplier(scale_of(Q, g->inputs[1]) * 256 / s_out, &mb, &shb);
      pr(P, "cnn_q_add(%s, %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", %d);", x, m, sh,
         qval(Q, g->inputs[1]), mb, shb, y, size_of(node(E, g->result)), is_relu(E, g->chain[g->nchain - 1]) ? 0 : -127);
    }
  }
  if (last) pr(P, "cnn_q_dequantize(%s, output, %" PRId64 ", %s);", y, size_of(node(E, g->result)), cnn_infer_flit(E, (float)s_out));
}

static void emit_api(Quant *Q) {
  Emit *E = Q->E;
  CnnPrinter *P = E->P;
  const char *N = E->N, *NU = E->NU;
  pr(P, "%s", "");
  cnn_infer_emit_static_arena(E, "signed char", "The int8 values and panels", E->mem.static_bytes);
  pr(P, "int %s_predict(const float *input, float *output, void *scratch) {", N);
  cnn_infer_emit_arena_start(E, "signed char", "q", true);
  pr(P, "/* not every network uses every kernel: no unused-function warnings */");
  pr(P, "(void)cnn_q_tile_c, (void)cnn_q_maxpool, (void)cnn_q_avgpool, (void)cnn_q_add,\n"
        "  (void)cnn_q_dequantize, (void)cnn_q_relu;");
  pr(P, "cnn_q_quantize(input, %s, %s_INPUT_SIZE, %s); /* input scale %.9g */", qval(Q, 0), NU,
     cnn_infer_flit(E, 1.0f / scale_of(Q, 0)), scale_of(Q, 0));
  if (Q->nonneg[store_of(Q, 0)])
    pr(P, "cnn_q_relu(%s, %s, %s_INPUT_SIZE); /* no calibration input was negative */", qval(Q, 0), qval(Q, 0), NU);
  for (int k = 0; k < E->p->ng; k++) emit_call(Q, k);
  pr(P, "return 0;");
  pr(P, "}");
  pr(P, "%s", "");
  cnn_infer_emit_predict_batch(Q->E);
}

static void emit_preamble(Quant *Q, FILE *c, const char *h_name) {
  Emit *E = Q->E;
  CnnPrinter *P = E->P;
  pr(P, "/* Standalone int8 inference for the network \"%s\", generated by cnncc %s\n"
        " * from %s with the weights of %s, quantized to int8 with the ranges of\n"
        " * %ld samples of %s (docs/inference.md, \"int8 quantization\"). */",
     E->net->name, PACKAGE_VERSION, E->opt->source_file ? E->opt->source_file : "?", E->opt->weights,
     E->opt->calibrate_samples > 0 ? E->opt->calibrate_samples : 500L, E->opt->calibrate);
  pr(P, "#include <stddef.h>");
  pr(P, "#include <stdint.h>");
  pr(P, "%s", "");
  cnn_infer_emit_weight_attr(E);
  pr(P, "%s", "");
  if (h_name) pr(P, "#include \"%s\"", h_name);
  else cnn_infer_emit_declarations(E, P);
  pr(P, "%s", "");
  fflush(c);
  fputs(cnn_kernel_vector, c);
  fputs(cnn_kernel_quant_x86, c);
  fputs(cnn_kernel_quant_neon, c);
  fputs(cnn_kernel_quant, c);
}

/* The figures of the int8 file (docs/inference.md, "Memory"): its static
 * arrays as emit_conv_tables prints them, and the scratch of place_scratch.
 * Its descriptors (CnnQConv NAME_LAYER_q, pointers) are not counted: their
 * size is the target's. */
static CnnInferMemory quant_memory(Quant *Q) {
  Emit *E = Q->E;
  CnnInferMemory m = {.input_bytes = size_of(node(E, 0)) * 4,
                      .output_bytes = size_of(node(E, E->net->output)) * 4,
                      .arena_bytes = Q->scratch,
                      .const_bytes = 4}; /* cnn_q_zero */
  for (int k = 0; k < E->p->ng; k++) {
    const Group *g = &E->p->g[k];
    const QLayout *L = &Q->lay[k];
    if (g->kind != CNN_IG_CONV && g->kind != CNN_IG_DENSE) continue;
    m.weight_bytes += 4 * ((int64_t)L->ocp * L->G > 0 ? (int64_t)L->ocp * L->G : 1) /* _w */
                      + 4 * 2 * L->ocp + L->ocp                                   /* _b, _m, _s */
                      + (is_last(E, g) && g->pool < 0 ? 4 * Q->geo[k].oc : 0);   /* _deq */
    m.const_bytes += 4 * (L->G > 0 ? L->G : 1);                                   /* _off */
  }
  if (E->opt->static_arena) m.static_bytes = Q->scratch + 64;
  else m.scratch_bytes = Q->scratch + 64;
  return m;
}

/* The layout of the int8 file, which its calibration does not change. */
static int plan_quant(Quant *Q) {
  if (check_supported(Q->E)) return -1;
  layout_groups(Q);
  if (place_scratch(Q)) return -1;
  Q->E->mem = quant_memory(Q);
  return 0;
}

int cnn_quant_memory(Emit *E, CnnInferMemory *m) {
  Quant Q = {.E = E};
  if (plan_quant(&Q)) return -1;
  *m = E->mem;
  return 0;
}

int cnn_emit_quantized(Emit *E, FILE *c, FILE *h, const char *c_name, const char *h_name) {
  Quant Q = {.E = E};
  if (plan_quant(&Q)) return -1;
  setup_calibration(&Q);
  if (calibrate(&Q)) return -1;
  tie_scales(&Q);
  signs(&Q);
  emit_preamble(&Q, c, h ? h_name : NULL);
  for (int k = 0; k < E->p->ng; k++) {
    const Group *g = &E->p->g[k];
    if (g->kind != CNN_IG_CONV && g->kind != CNN_IG_DENSE) continue;
    pr(E->P, "%s", "");
    emit_conv_tables(&Q, k);
  }
  emit_api(&Q);
  if (h) cnn_infer_emit_header(E, h, c_name, h_name);
  return 0;
}
