/* emit/infer_weights.c - the values of the standalone inference code: the
 * checkpoint's tensors packed for the kernels that emit/infer.c prints
 * (convolution weights by blocks of output channels and taps, batchnorm
 * folded into weights and biases, or as scale and shift), all computed
 * before any text is written. */
#include <math.h>
#include <string.h>

#include "infer_emit.h"

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


/* Where each node's tensors are in the checkpoint's blocks. */
static void locate_tensors(Emit *E) {
  const CnnNet *net = E->net;
  int nn = net->nnodes;
  E->nts = cnn_alloc(E->A, sizeof(int) * (size_t)nn);
  E->ts = cnn_alloc(E->A, sizeof *E->ts * (size_t)nn);
  E->toff = cnn_alloc(E->A, sizeof *E->toff * (size_t)nn);
  int64_t np = 0, nb = 0;
  for (int i = 0; i < nn; i++) {
    E->nts[i] = cnn_node_tensors(net, &net->nodes[i], E->ts[i]);
    for (int t = 0; t < E->nts[i]; t++) {
      E->toff[i][t] = E->ts[i][t].learnable ? np : nb;
      *(E->ts[i][t].learnable ? &np : &nb) += E->ts[i][t].count;
    }
  }
}

/* Pack convolution weights for the GEMM: [oc/blk][ic][taps][blk] (blk is
 * BLOCK for the position tile, CNN_INFER_CT_BLOCK for the channel tile),
 * batchnorm folded in; w(oc, ic, t) reads the checkpoint's layout. */
typedef float (*WeightAt)(Emit *E, const Group *g, int oc, int ic, int t, const void *ctx);

static float *pack_conv(Emit *E, const Group *g, int oc, int ic, int nt, int blk, WeightAt at,
                        const void *ctx, const float *scale, int64_t *count) {
  int ocb = (oc + blk - 1) / blk;
  *count = (int64_t)ocb * ic * nt * blk;
  float *p = cnn_alloc(E->A, sizeof *p * (size_t)*count);
  for (int o = 0; o < oc; o++)
    for (int c = 0; c < ic; c++)
      for (int t = 0; t < nt; t++) {
        double w = at(E, g, o, c, t, ctx);
        if (scale) w *= scale[o];
        p[(((int64_t)(o / blk) * ic + c) * nt + t) * blk + o % blk] = (float)w;
      }
  return p;
}

/* Bias with the batchnorm folded in, padded to whole blocks. */
static float *folded_bias(Emit *E, const Group *g, int oc, int padded, const float *scale,
                          const float *shift) {
  const CnnNode *n = node(E, g->main);
  const float *b = n->bias ? tensor(E, n, "bias") : NULL;
  float *p = cnn_alloc(E->A, sizeof *p * (size_t)(padded > 0 ? padded : 1));
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
  const CnnInferConv *cg = ctx;
  const float *w = tensor(E, node(E, g->main), "weight"); /* [out][in][kh][kw] */
  const CnnTap *tap = &cg->taps.tap[t];
  return w[(((int64_t)o * cg->g.ic + c) * cg->g.kh + tap->ky) * cg->g.kw + tap->kx];
}

typedef struct {
  const CnnInferConvT *tg;
  const CnnInferTPhase *f;
} TCtx;

static float convt_weight_at(Emit *E, const Group *g, int o, int c, int t, const void *ctx) {
  const TCtx *x = ctx;
  const float *w = tensor(E, node(E, g->main), "weight"); /* [in][out][kh][kw] */
  const CnnTap *tap = &x->tg->taps.tap[x->f->tap[t]];
  return w[(((int64_t)c * x->tg->g.oc + o) * x->tg->g.kh + tap->ky) * x->tg->g.kw + tap->kx];
}

static void add_table(Emit *E, int k, const char *name, const char *what, const float *v, int64_t n) {
  Tables *ts = &E->tables[k];
  ts->t[ts->n++] = (Table){name, what, v, n};
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) E->weights_need_math = true;
}

/* What the tables of a conv or convt group share: the group's name, the
 * batchnorm folded into the weights (scale, shift) and the output channels
 * padded to whole blocks of BLOCK. */
typedef struct {
  const char *name;
  float *scale, *shift;
  int oc, padded;
} ConvFold;

static ConvFold conv_fold(Emit *E, const Group *g, int oc) {
  ConvFold f = {fn_name(E, g), NULL, NULL, oc, (oc + BLOCK - 1) / BLOCK * BLOCK};
  group_bn(E, g, oc, &f.scale, &f.shift);
  return f;
}

/* the bias table, with the batchnorm's shift folded in: the last table of a
 * conv or convt group */
static void add_conv_bias(Emit *E, int k, const Group *g, const ConvFold *f) {
  add_table(E, k, fmt(E, "%s_b", f->name), "bias", folded_bias(E, g, f->oc, f->padded, f->scale, f->shift),
            f->padded);
}

static void pack_conv_tables(Emit *E, int k) {
  const Group *g = &E->p->g[k];
  const CnnInferConv *c = &E->p->cg[k];
  ConvFold f = conv_fold(E, g, c->g.oc);
  int64_t count;
  int blk = c->ty ? CNN_INFER_CT_BLOCK : BLOCK;
  float *w = pack_conv(E, g, c->g.oc, c->g.ic, c->taps.ntaps, blk, conv_weight_at, c, f.scale, &count);
  add_table(E, k, fmt(E, "%s_w", f.name),
            fmt(E, "[%d][%d][%d][%d]: output channels by %d, input channels, taps, %d",
                (c->g.oc + blk - 1) / blk, c->g.ic, c->taps.ntaps, blk, blk, blk),
            w, count);
  add_conv_bias(E, k, g, &f);
}

static void pack_convt_tables(Emit *E, int k) {
  const Group *g = &E->p->g[k];
  const CnnInferConvT *c = &E->p->tg[k];
  ConvFold fold = conv_fold(E, g, c->g.oc);
  for (int p = 0; p < c->nphase; p++) {
    const CnnInferTPhase *f = &c->phase[p];
    if (!f->nt || !f->ny || !f->nx) continue;
    TCtx ctx = {c, f};
    int64_t count;
    float *w = pack_conv(E, g, c->g.oc, c->g.ic, f->nt, BLOCK, convt_weight_at, &ctx, fold.scale, &count);
    add_table(E, k, fmt(E, "%s_w%d", fold.name, p),
              fmt(E, "output phase (%d, %d): [%d][%d][%d][%d]", f->ry, f->rx, fold.padded / BLOCK, c->g.ic,
                  f->nt, BLOCK),
              w, count);
  }
  add_conv_bias(E, k, g, &fold);
}

/* The weights as O rows of I (dense: [out][in]; convolutions:
 * [out][in / groups * kh * kw], the checkpoint's layout), each scaled by a
 * folded batchnorm, and the bias with its shift. */
void cnn_infer_folded_rows(Emit *E, const Group *g, int *O, int *I, float **w, float **b) {
  const CnnNode *n = node(E, g->main), *in = in_node(E, n, 0);
  bool dense = g->kind == CNN_IG_DENSE;
  *O = dense ? (int)size_of(n) : n->out_channels;
  *I = dense ? (int)size_of(in) : in->shape.dim[0] / n->groups * n->kernel[0] * n->kernel[1];
  float *scale, *shift;
  group_bn(E, g, *O, &scale, &shift);
  const float *src = tensor(E, n, "weight");
  *w = cnn_alloc(E->A, sizeof(float) * (size_t)*O * (size_t)*I + 1);
  for (int o = 0; o < *O; o++)
    for (int i = 0; i < *I; i++)
      (*w)[(int64_t)o * *I + i] = scale ? (float)((double)src[(int64_t)o * *I + i] * scale[o])
                                        : src[(int64_t)o * *I + i];
  *b = folded_bias(E, g, *O, *O, scale, shift);
}

/* dense and grouped convolutions: the folded rows and the bias */
static void pack_row_tables(Emit *E, int k) {
  const Group *g = &E->p->g[k];
  const char *name = fn_name(E, g);
  int O, I;
  float *w, *b;
  cnn_infer_folded_rows(E, g, &O, &I, &w, &b);
  add_table(E, k, fmt(E, "%s_w", name), fmt(E, "[%d][%d]", O, I), w, (int64_t)O * I);
  add_table(E, k, fmt(E, "%s_b", name), "bias", b, O);
}

/* The batchnorms of an element-wise chain as scale and shift. */
static void pack_ew_tables(Emit *E, int k) {
  const Group *g = &E->p->g[k];
  int C = node(E, g->result)->shape.dim[0];
  for (int i = 0; i < g->nchain; i++) {
    const CnnNode *n = node(E, g->chain[i]);
    if (n->op != OP_BATCHNORM) continue;
    float *scale = cnn_alloc(E->A, sizeof(float) * (size_t)C), *shift = cnn_alloc(E->A, sizeof(float) * (size_t)C);
    bn_affine(E, n, scale, shift);
    add_table(E, k, fmt(E, "%s_%s_scale", E->N, n->name), "weight / sqrt(running_var + eps)", scale, C);
    add_table(E, k, fmt(E, "%s_%s_shift", E->N, n->name), "bias - running_mean * scale", shift, C);
  }
}

/* groupnorm's and layernorm's weight and bias as the checkpoint has them */
static void pack_norm_tables(Emit *E, int k) {
  const CnnNode *n = node(E, E->p->g[k].main);
  for (int t = 0; t < E->nts[n->id]; t++)
    add_table(E, k, fmt(E, "%s_%s_%s", E->N, n->name, E->ts[n->id][t].name), E->ts[n->id][t].name,
              tensor(E, n, E->ts[n->id][t].name), E->ts[n->id][t].count);
}

void cnn_infer_pack_tables(Emit *E) {
  locate_tensors(E);
  E->tables = cnn_alloc(E->A, sizeof(Tables) * (size_t)(E->p->ng + 1));
  for (int k = 0; k < E->p->ng; k++) {
    /* at most: weights and bias (a set of weights per phase), scale and shift per chained layer */
    const Group *g = &E->p->g[k];
    int most = 2 + 2 * g->nchain + (g->kind == CNN_IG_CONVT ? E->p->tg[k].nphase : 0);
    E->tables[k].t = cnn_alloc(E->A, sizeof(Table) * (size_t)most);
    switch (g->kind) {
    case CNN_IG_CONV: pack_conv_tables(E, k); break;
    case CNN_IG_CONVT: pack_convt_tables(E, k); break;
    case CNN_IG_DENSE: case CNN_IG_GROUPED: pack_row_tables(E, k); break;
    case CNN_IG_EW: pack_ew_tables(E, k); break;
    case CNN_IG_NORM: pack_norm_tables(E, k); break;
    default: break;
    }
  }
}
