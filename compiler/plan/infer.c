/* plan/infer.c - the plan of the standalone inference code (plan/infer.h):
 *
 *  1. plan_groups(): the live layers (ancestors of the output) are grouped
 *     into kernels. A group is a convolution, transposed convolution or
 *     dense layer with what follows it fused in (a batchnorm folded into
 *     its weights, an activation applied in registers, a pooling that reads
 *     its output), a chain of element-wise layers (add, mul, batchnorm as
 *     scale and shift, activations) done in one loop, or one of pool,
 *     global average pool, concat, softmax. Dropout is the identity and
 *     flatten a view, so neither costs anything.
 *  2. conv_geo(), convt_geo(): the shifted GEMM of every convolution (see
 *     emit/infer.c), on the taps that plan/geometry.c enumerates, and its
 *     register tile (channel_tile()).
 *  3. plan_storage(), place(): every value a group produces, and the
 *     temporaries of a group, get a place in one scratch arena: values live
 *     from the group that makes them to the last group that reads them, and
 *     the shared memory planner (plan/memory.c) lets blocks whose lives do
 *     not overlap share memory. Element-wise chains work in place when their
 *     input dies there. The result is written straight to the caller's
 *     output.
 *  4. plan_needs(): what the file carries besides the kernels. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer.h"

typedef CnnInferPlan Plan;
typedef CnnInferGroup Group;

/* Arena blocks are whole 64-byte lines (16 floats): every kernel's vectors
 * start aligned. */
#define ARENA_ALIGN 16

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static int64_t size_of(const Plan *p, int id) { return cnn_shape_size(p->net->nodes[id].shape); }

/* ---- groups ---- */

static int new_group(CnnArena *A, Plan *p, CnnInferGroupKind kind, int main) {
  Group *g = &p->g[p->ng];
  memset(g, 0, sizeof *g);
  g->kind = kind;
  g->main = g->result = main;
  g->bn = g->act = g->pool = -1;
  g->st_out = g->st_prep = g->st_tmp = -1;
  const CnnNode *n = &p->net->nodes[main];
  int *in = cnn_alloc(A, sizeof(int) * (size_t)(n->ninputs ? n->ninputs : 1));
  for (int k = 0; k < n->ninputs; k++) in[k] = n->inputs[k];
  g->inputs = in;
  g->ninputs = n->ninputs;
  p->made_by[main] = p->ng;
  return p->ng++;
}

/* The group whose result is the base value of node id's input, if this
 * node is its only reader and it may take more fused layers. */
static Group *fusable(Plan *p, int input) {
  int b = p->base[input];
  if (p->made_by[b] < 0 || p->uses[b] != 1 || b == p->out_base) return NULL;
  Group *g = &p->g[p->made_by[b]];
  return g->result == b ? g : NULL;
}

static void extend(Plan *p, Group *g, int id) {
  p->made_by[g->result] = -1;
  g->result = id;
  p->made_by[id] = (int)(g - p->g);
}

/* A convolution or dense group, which can take a batchnorm and an activation. */
static bool weighted(const Group *g) {
  return g && (g->kind == CNN_IG_CONV || g->kind == CNN_IG_CONVT || g->kind == CNN_IG_DENSE ||
               g->kind == CNN_IG_GROUPED);
}

/* Node i into *slot of g (its batchnorm or activation) when given, else onto
 * g's element-wise chain when g is one with room, else a chain of its own. */
static void fuse_or_chain(CnnArena *A, Plan *p, Group *g, int i, int *slot) {
  if (slot) {
    *slot = i;
    extend(p, g, i);
  } else if (g && g->kind == CNN_IG_EW && g->nchain < CNN_INFER_MAX_CHAIN) {
    g->chain[g->nchain++] = i;
    extend(p, g, i);
  } else {
    Group *c = &p->g[new_group(A, p, CNN_IG_EW, i)];
    c->chain[c->nchain++] = i;
  }
}

/* Liveness, the base and storage node of every node, and the reads. */
static void plan_values(CnnArena *A, Plan *p) {
  const CnnNet *net = p->net;
  int nn = net->nnodes;
  p->live = cnn_alloc(A, (size_t)nn);
  p->base = cnn_alloc(A, sizeof(int) * (size_t)nn);
  p->store = cnn_alloc(A, sizeof(int) * (size_t)nn);
  p->uses = cnn_alloc(A, sizeof(int) * (size_t)nn);
  p->made_by = cnn_alloc(A, sizeof(int) * (size_t)nn);
  p->live[net->output] = true;
  for (int i = nn - 1; i >= 0; i--)
    if (p->live[i])
      for (int k = 0; k < net->nodes[i].ninputs; k++) p->live[net->nodes[i].inputs[k]] = true;
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    p->made_by[i] = -1;
    p->base[i] = n->op == OP_DROPOUT ? p->base[n->inputs[0]] : i;
    p->store[i] = n->op == OP_DROPOUT || n->op == OP_FLATTEN ? p->store[n->inputs[0]] : i;
  }
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!p->live[i] || n->op == OP_DROPOUT) continue;
    for (int k = 0; k < n->ninputs; k++) p->uses[p->base[n->inputs[k]]]++;
  }
  p->out_base = p->base[net->output];
}

/* Node i into a group of its own or fused into the one it reads. */
static void group_node(CnnArena *A, Plan *p, int i) {
  const CnnNode *n = &p->net->nodes[i];
  Group *g;
  switch (n->op) {
  case OP_INPUT: case OP_DROPOUT: case OP_FLATTEN: break;
  case OP_CONV1D: case OP_CONV2D: new_group(A, p, n->groups > 1 ? CNN_IG_GROUPED : CNN_IG_CONV, i); break;
  case OP_CONV_TRANSPOSE2D: new_group(A, p, CNN_IG_CONVT, i); break;
  case OP_DENSE: new_group(A, p, CNN_IG_DENSE, i); break;
  case OP_GLOBAL_AVGPOOL: case OP_GLOBAL_MAXPOOL: new_group(A, p, CNN_IG_GAP, i); break;
  case OP_UPSAMPLE: case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D:
    new_group(A, p, CNN_IG_RESIZE, i);
    break;
  case OP_CONCAT: new_group(A, p, CNN_IG_CONCAT, i); break;
  case OP_SOFTMAX: new_group(A, p, CNN_IG_SOFTMAX, i); break;
  case OP_GROUPNORM: case OP_LAYERNORM: new_group(A, p, CNN_IG_NORM, i); break;
  case OP_MAXPOOL1D: case OP_MAXPOOL2D: case OP_AVGPOOL1D: case OP_AVGPOOL2D:
    g = fusable(p, n->inputs[0]);
    if (g && g->kind == CNN_IG_CONV && g->pool < 0) {
      g->pool = i;
      extend(p, g, i);
    } else {
      new_group(A, p, CNN_IG_POOL, i);
    }
    break;
  case OP_BATCHNORM:
    g = fusable(p, n->inputs[0]);
    fuse_or_chain(A, p, g, i, weighted(g) && g->bn < 0 && g->act < 0 && g->pool < 0 ? &g->bn : NULL);
    break;
  case OP_ADD: case OP_MUL: fuse_or_chain(A, p, NULL, i, NULL); break;
  default:
    if (cnn_op_info(n->op)->flags & CNN_OPF_ACTIVATION) {
      g = fusable(p, n->inputs[0]);
      fuse_or_chain(A, p, g, i, weighted(g) && g->act < 0 && g->pool < 0 ? &g->act : NULL);
    }
  }
}

static void plan_groups(CnnArena *A, Plan *p) {
  int nn = p->net->nnodes;
  p->g = cnn_alloc(A, sizeof(Group) * (size_t)(nn + 1));
  plan_values(A, p);
  for (int i = 1; i < nn; i++)
    if (p->live[i]) group_node(A, p, i);
  /* the output is the input itself (or a view of it): one copy, which
   * reads the input and writes the output */
  if (p->made_by[p->out_base] < 0) {
    Group *g = &p->g[new_group(A, p, CNN_IG_COPY, p->out_base)];
    int *in = cnn_alloc(A, sizeof(int));
    in[0] = 0;
    g->inputs = in;
    g->ninputs = 1;
  }
}

/* ---- convolution geometry ---- */

/* The largest divisor of n that is at most most. */
static int divisor_upto(int n, int most) {
  int d = most < n ? most : n;
  while (n % d) d--;
  return d;
}

/* The channel tile instead of the position tile when the position tile
 * wastes: it computes JS positions of the planes' pitch for oh x ow
 * outputs (an 8x8 image with pitch 10: 80 for 64; 16x16 with pitch 18:
 * 288 for 256). The channel tile's vectors hold output channels, so it
 * computes only real positions: ty x tx of them, whole divisors of the
 * output's rows and columns, for 12 to 24 accumulators. Two vectors of
 * channels on every SIMD level need oc a multiple of 32; then it was
 * measured faster down to a waste of 6% (32x32 with pitch 34). One vector
 * (oc a multiple of 16) loads a weight vector per position, as the
 * position tile loads an input vector per channel: only worth it where the
 * waste is large (lenet's 10x10 with pitch 14, not resnet's 28x28 with
 * pitch 30, which measured the same). Many taps (over 32) keep the position
 * tile's table of offsets. Each output is stored alone (the vectors hold
 * channels, the output is channel-major), which the FMAs into it must
 * dwarf: not for an input of 3 channels. */
static void channel_tile(CnnInferConv *c) {
  const CnnConvGeo *q = &c->g;
  int64_t real = (int64_t)q->oh * q->ow;
  c->ty = c->tx = c->nv = 0;
  int nv = q->oc % 32 ? 1 : 2;
  /* waste under 5% (with 2 vectors), under 15% (with 1) */
  if (q->oc % 16 || c->taps.ntaps > 32 || c->JS * 20 < real * (nv == 2 ? 21 : 23)) return;
  if (q->ic * c->taps.ntaps < 64) return; /* its transposing stores would cost more */
  int tx = divisor_upto(q->ow, CNN_INFER_CT_MAX / nv);
  int ty = divisor_upto(q->oh, CNN_INFER_CT_MAX / nv / tx);
  if (tx * ty * nv < 12) return;
  c->ty = ty, c->tx = tx, c->nv = nv;
}

static void conv_geo(CnnArena *A, const Plan *p, const Group *g, CnnInferConv *c, bool src_in_arena) {
  const CnnConvGeo *q = &c->g;
  c->g = cnn_conv_geo(p->net, &p->net->nodes[g->main]);
  cnn_conv_taps(A, q, &c->taps);
  bool padded = q->pt || q->pl || q->pb || q->pr;
  /* Planes a multiple of 1 KiB apart map to the same few L1 sets: reading
   * one vector from each of many channels then misses. A copy with a
   * padded plane stride costs little next to the GEMM when there are many
   * output channels. */
  int64_t in_plane = (int64_t)q->ih * q->iw;
  bool aliased = in_plane % 256 == 0 && q->ic >= 16 && q->oc >= 64;
  c->prep = padded || q->sh != 1 || q->sw != 1 || !src_in_arena || aliased;
  c->ry0 = -q->pt, c->rx0 = -q->pl;
  /* rows Y of a plane: source rows ry0 + Y * sy + phase; all the output needs */
  c->ph = c->prep ? q->oh + c->taps.max_qy : q->ih;
  c->pw = c->prep ? q->ow + c->taps.max_qx : q->iw;
  c->ps = (int64_t)c->ph * c->pw;
  if (c->prep && c->ps % 256 == 0) c->ps += 16;
  c->off = cnn_alloc(A, sizeof(int64_t) * (size_t)c->taps.ntaps);
  int64_t maxoff = 0;
  for (int t = 0; t < c->taps.ntaps; t++) {
    const CnnTap *tp = &c->taps.tap[t];
    c->off[t] = (int64_t)tp->phase * q->ic * c->ps + (int64_t)tp->qy * c->pw + tp->qx;
    if (c->off[t] > maxoff) maxoff = c->off[t];
  }
  c->direct = q->oh == 1 || c->pw == q->ow;
  c->J = (q->oh - 1) * c->pw + q->ow;
  c->JS = (int)round_up(c->J, CNN_INFER_TILE_MAX);
  /* the kernel reads up to (ic - 1) * ps + maxoff + JS - 1 */
  int64_t reach = (int64_t)(q->ic - 1) * c->ps + maxoff + c->JS;
  int64_t planes = (int64_t)c->taps.nphases * q->ic * c->ps;
  c->prep_floats = reach > planes ? reach : planes;
  channel_tile(c);
}

/* The first Y in [from, ...) with Y * s + r - pad >= limit. */
static int first_at(int from, int s, int r, int pad, int limit) {
  int y = from;
  while ((int64_t)y * s + r - pad < limit) y++;
  return y;
}

/* Output phase (ry, rx) of a transposed convolution: oy = iy * s - p + k *
 * d, so for r = (oy + p) % s the taps are the k with k * d % s == r (plane
 * r of the taps), and iy = Y - m for oy = Y * s + r - p, m = (k * d - r) / s
 * (the tap's row in the plane). Widens [*lo, *hi] to the input rows and
 * columns it reads. */
static void convt_phase(CnnArena *A, CnnInferConvT *c, CnnInferTPhase *f, int ry, int rx, int lo[2],
                        int hi[2], bool *first) {
  const CnnConvGeo *q = &c->g;
  memset(f, 0, sizeof *f);
  f->ry = ry, f->rx = rx;
  /* Y with 0 <= Y * s + r - p < out */
  f->y0 = first_at(0, q->sh, ry, q->pt, 0);
  f->ny = first_at(f->y0, q->sh, ry, q->pt, q->oh) - f->y0;
  f->x0 = first_at(0, q->sw, rx, q->pl, 0);
  f->nx = first_at(f->x0, q->sw, rx, q->pl, q->ow) - f->x0;
  f->tap = cnn_alloc(A, sizeof(int) * (size_t)c->taps.ntaps);
  f->off = cnn_alloc(A, sizeof(int64_t) * (size_t)c->taps.ntaps);
  int mmy = 0, mmx = 0;
  for (int t = 0; t < c->taps.ntaps; t++) {
    const CnnTap *tp = &c->taps.tap[t];
    if (c->taps.phase_y[tp->phase] != ry || c->taps.phase_x[tp->phase] != rx) continue;
    f->tap[f->nt++] = t;
    if (tp->qy > mmy) mmy = tp->qy;
    if (tp->qx > mmx) mmx = tp->qx;
  }
  if (!f->nt || !f->ny || !f->nx) return;
  int l[2] = {f->y0 - mmy, f->x0 - mmx}, h[2] = {f->y0 + f->ny - 1, f->x0 + f->nx - 1};
  for (int a = 0; a < 2; a++) {
    if (*first || l[a] < lo[a]) lo[a] = l[a];
    if (*first || h[a] > hi[a]) hi[a] = h[a];
  }
  *first = false;
}

static void convt_geo(CnnArena *A, const Plan *p, const Group *g, CnnInferConvT *c) {
  const CnnConvGeo *q = &c->g;
  c->g = cnn_conv_geo(p->net, &p->net->nodes[g->main]);
  cnn_conv_taps(A, q, &c->taps);
  c->nphase = 0;
  c->phase = cnn_alloc(A, sizeof(CnnInferTPhase) * (size_t)q->sh * (size_t)q->sw);
  int lo[2] = {0, 0}, hi[2] = {0, 0};
  bool first = true;
  for (int ry = 0; ry < q->sh; ry++)
    for (int rx = 0; rx < q->sw; rx++) convt_phase(A, c, &c->phase[c->nphase++], ry, rx, lo, hi, &first);
  c->qy0 = lo[0], c->qx0 = lo[1];
  c->ph = first ? 1 : hi[0] - lo[0] + 1;
  c->pw = first ? 1 : hi[1] - lo[1] + 1;
  c->ps = (int64_t)c->ph * c->pw;
  int64_t reach = 0;
  c->JS = CNN_INFER_TILE_MAX;
  for (int k = 0; k < c->nphase; k++) {
    CnnInferTPhase *f = &c->phase[k];
    if (!f->nt || !f->ny || !f->nx) continue;
    f->J = (f->ny - 1) * c->pw + f->nx;
    int js = (int)round_up(f->J, CNN_INFER_TILE_MAX);
    if (js > c->JS) c->JS = js;
    for (int t = 0; t < f->nt; t++) {
      const CnnTap *tp = &c->taps.tap[f->tap[t]];
      f->off[t] = (int64_t)(f->y0 - tp->qy - c->qy0) * c->pw + (f->x0 - tp->qx - c->qx0);
      int64_t r = (int64_t)(q->ic - 1) * c->ps + f->off[t] + js;
      if (r > reach) reach = r;
    }
  }
  int64_t planes = (int64_t)q->ic * c->ps;
  c->prep_floats = reach > planes ? reach : planes;
}

/* ---- memory ---- */

static int new_storage(CnnArena *A, Plan *p, CnnInferStorageKind kind, int64_t floats, int first,
                       const char *name) {
  CnnInferStorage *s = &p->st[p->nst];
  s->kind = kind;
  s->floats = floats;
  s->first = s->last = first;
  s->offset = 0;
  s->name = kind == CNN_IS_ARENA ? (const char *)cnn_format(A, "%s.%s", p->net->nodes[p->g[first].main].name, name)
                                 : name;
  return p->nst++;
}

/* The geometry of convolution group k and its temporaries; the source may
 * be read in place when it has slack. */
static void plan_conv_storage(CnnArena *A, Plan *p, int k) {
  Group *g = &p->g[k];
  if (g->kind == CNN_IG_CONV) {
    int src = p->store[g->inputs[0]];
    CnnInferConv *c = &p->cg[k];
    conv_geo(A, p, g, c, src != 0);
    if (!c->prep) {
      CnnInferStorage *s = &p->st[p->val_st[src]];
      if (c->prep_floats > s->floats) s->floats = c->prep_floats;
    } else {
      g->st_prep = new_storage(A, p, CNN_IS_ARENA, c->prep_floats, k, "prep");
    }
    if (g->pool >= 0) c->direct = false;
    if (!c->direct) g->st_tmp = new_storage(A, p, CNN_IS_ARENA, (int64_t)c->g.oc * c->JS, k, "tmp");
  } else if (g->kind == CNN_IG_CONVT) {
    CnnInferConvT *c = &p->tg[k];
    convt_geo(A, p, g, c);
    g->st_prep = new_storage(A, p, CNN_IS_ARENA, c->prep_floats, k, "prep");
    g->st_tmp = new_storage(A, p, CNN_IS_ARENA, (int64_t)c->g.oc * c->JS, k, "tmp");
  }
}

/* The storage of group k's result: the output, an input of the same size
 * that dies here (element-wise chains work in place), or its own. */
static int result_storage(CnnArena *A, Plan *p, int k, const int *last_use) {
  const Group *g = &p->g[k];
  int r = g->result, out_store = p->store[p->net->output];
  if (r == out_store || p->store[r] == out_store)
    return new_storage(A, p, CNN_IS_OUTPUT, size_of(p, r), k, "output");
  if (g->kind == CNN_IG_EW)
    for (int i = 0; i < g->ninputs; i++) {
      int s = p->store[g->inputs[i]], st = p->val_st[s];
      if (st >= 0 && p->st[st].kind == CNN_IS_ARENA && last_use[s] == k && size_of(p, s) == size_of(p, r))
        return st;
    }
  return new_storage(A, p, CNN_IS_ARENA, size_of(p, r), k, "out");
}

static void plan_storage(CnnArena *A, Plan *p) {
  int nn = p->net->nnodes;
  p->st = cnn_alloc(A, sizeof(CnnInferStorage) * (size_t)(3 * p->ng + 4));
  p->val_st = cnn_alloc(A, sizeof(int) * (size_t)nn);
  p->cg = cnn_alloc(A, sizeof(CnnInferConv) * (size_t)(p->ng + 1));
  p->tg = cnn_alloc(A, sizeof(CnnInferConvT) * (size_t)(p->ng + 1));
  for (int i = 0; i < nn; i++) p->val_st[i] = -1;
  /* last group reading each stored value */
  int *last_use = cnn_alloc(A, sizeof(int) * (size_t)nn);
  for (int i = 0; i < nn; i++) last_use[i] = -1;
  for (int k = 0; k < p->ng; k++)
    for (int i = 0; i < p->g[k].ninputs; i++) last_use[p->store[p->g[k].inputs[i]]] = k;
  p->val_st[0] = new_storage(A, p, CNN_IS_INPUT, size_of(p, 0), -1, "input");
  for (int k = 0; k < p->ng; k++) {
    Group *g = &p->g[k];
    plan_conv_storage(A, p, k);
    g->st_out = result_storage(A, p, k, last_use);
    p->val_st[g->result] = g->st_out;
    if (last_use[g->result] > p->st[g->st_out].last) p->st[g->st_out].last = last_use[g->result];
    for (int i = 0; i < g->ninputs; i++) {
      int st = p->val_st[p->store[g->inputs[i]]];
      if (st >= 0 && p->st[st].last < k) p->st[st].last = k;
    }
  }
}

/* The arena storages through the shared memory planner. */
static bool place(CnnArena *A, Plan *p) {
  p->blocks = cnn_alloc(A, sizeof(CnnBlock) * (size_t)(p->nst + 1));
  int *of = cnn_alloc(A, sizeof(int) * (size_t)(p->nst + 1));
  p->nblocks = 0;
  for (int i = 0; i < p->nst; i++) {
    const CnnInferStorage *s = &p->st[i];
    if (s->kind != CNN_IS_ARENA) continue;
    CnnBlock *b = &p->blocks[p->nblocks];
    cnn_block_init(b, s->name, s->floats, ARENA_ALIGN);
    cnn_block_use(b, 0, s->first);
    cnn_block_use(b, 0, s->last);
    of[p->nblocks++] = i;
  }
  p->arena_floats = cnn_place_blocks(A, p->blocks, p->nblocks);
  for (int b = 0; b < p->nblocks; b++) p->st[of[b]].offset = p->blocks[b].offset;
  int a, b;
  if (cnn_check_placement(p->blocks, p->nblocks, p->arena_floats, &a, &b)) return true;
  fprintf(stderr, "cnncc: internal error: inference arena block '%s' %s%s\n", p->blocks[a].name,
          b < 0 ? "exceeds the arena" : "overlaps ", b < 0 ? "" : p->blocks[b].name);
  return false;
}

/* ---- what the file needs ---- */

/* Activation node act as group code applies it: on vectors (vec) needs the
 * vector functions its formula calls, one that calls libm math.h, and a slope that
 * is not finite a macro of math.h. */
static void need_act(Plan *p, int act, bool vec) {
  if (act < 0) return;
  const CnnNode *n = &p->net->nodes[act];
  const CnnActFormulas *f = &cnn_op_info(n->op)->act; /* front/ops.c */
  if (f->libm) p->need_math = true;
  if (vec) p->need_vk |= f->vkernels;
  if (f->arg && !isfinite((float)n->negative_slope)) p->need_math = true;
}

static void need_group(Plan *p, int k) {
  const Group *g = &p->g[k];
  switch (g->kind) {
  case CNN_IG_CONV: p->need_zero = true; need_act(p, g->act, true); break;
  case CNN_IG_CONVT:
    p->need_zero = true;
    for (int f = 0; f < p->tg[k].nphase; f++) {
      const CnnInferTPhase *ph = &p->tg[k].phase[f];
      if (ph->ny && ph->nx) need_act(p, g->act, ph->nt > 0);
    }
    break;
  case CNN_IG_DENSE: p->need_vsum = true; need_act(p, g->act, false); break;
  case CNN_IG_GROUPED: need_act(p, g->act, false); break;
  case CNN_IG_EW:
    for (int i = 0; i < g->nchain; i++) need_act(p, g->chain[i], true);
    break;
  case CNN_IG_CONCAT: case CNN_IG_COPY: p->need_zero = true; break;
  case CNN_IG_SOFTMAX: case CNN_IG_NORM: p->need_math = true; break;
  default: break;
  }
}

static void plan_needs(Plan *p, const CnnInferOptions *opt) {
  const CnnNet *net = p->net;
  for (int k = 0; k < p->ng; k++) need_group(p, k);
  p->softmax_fn = !opt->no_softmax && net->nodes[p->out_base].op != OP_SOFTMAX &&
                  net->nodes[net->output].shape.dim[0] > 1;
  if (p->softmax_fn) p->need_math = true;
}

CnnInferPlan *cnn_plan_inference(CnnArena *A, const CnnNet *net, const CnnInferOptions *opt) {
  Plan *p = cnn_alloc(A, sizeof *p);
  memset(p, 0, sizeof *p);
  p->net = net;
  plan_groups(A, p);
  plan_storage(A, p);
  if (!place(A, p)) return NULL;
  plan_needs(p, opt);
  return p;
}

/* ---- the plan as text ---- */

/* The name of a group's kind in the plan's text. */
static const char *kind_name(CnnInferGroupKind kind) {
  static const char *const names[] = {
      [CNN_IG_CONV] = "conv",     [CNN_IG_CONVT] = "convt",   [CNN_IG_DENSE] = "dense",
      [CNN_IG_POOL] = "pool",     [CNN_IG_GAP] = "gap",       [CNN_IG_RESIZE] = "resize",
      [CNN_IG_EW] = "ew",         [CNN_IG_NORM] = "norm",     [CNN_IG_CONCAT] = "concat",
      [CNN_IG_SOFTMAX] = "softmax", [CNN_IG_COPY] = "copy",
      [CNN_IG_GROUPED] = "grouped"};
  return names[kind];
}

/* "conv1 + bn1 + relu1 + pool1": the nodes of group g, in order. */
static void print_group(FILE *out, const Plan *p, int k) {
  const Group *g = &p->g[k];
  const CnnNode *nodes = p->net->nodes;
  fprintf(out, "group %d %s %s:", k, kind_name(g->kind),
          g->kind == CNN_IG_COPY ? "copy" : nodes[g->main].name);
  if (g->kind == CNN_IG_EW)
    for (int i = 0; i < g->nchain; i++) fprintf(out, "%s %s", i ? " +" : "", nodes[g->chain[i]].name);
  else if (g->kind != CNN_IG_COPY)
    fprintf(out, " %s", nodes[g->main].name);
  const int fused[3] = {g->bn, g->act, g->pool};
  for (int i = 0; i < 3; i++)
    if (g->kind != CNN_IG_EW && fused[i] >= 0) fprintf(out, " + %s", nodes[fused[i]].name);
  if (g->kind == CNN_IG_CONV) {
    const CnnInferConv *c = &p->cg[k];
    if (c->ty)
      fprintf(out, " (channel tile: %d vector%s of channels x %dx%d positions)", c->nv, c->nv > 1 ? "s" : "",
              c->ty, c->tx);
    else fprintf(out, " (position tile: 8 channels x 1 vector of positions)");
  }
  fputc('\n', out);
}

/* Plans the inference code of net (ctx) in A and prints the plan (a
 * CnnArenaTask). */
static int plan_and_print(CnnArena *A, void *ctx) {
  const CnnNet *net = ctx;
  FILE *out = stdout;
  CnnInferOptions opt = {0};
  const Plan *p = cnn_plan_inference(A, net, &opt);
  if (p) {
    fprintf(out, "inference plan of %s: %d groups, %d arena blocks (sizes in floats)\n", net->name, p->ng,
            p->nblocks);
    for (int k = 0; k < p->ng; k++) print_group(out, p, k);
    for (int b = 0; b < p->nblocks; b++) {
      const CnnBlock *bl = &p->blocks[b];
      fprintf(out, "buffer %s offset %" PRId64 " size %" PRId64 " lives %d..%d\n", bl->name, bl->offset,
              bl->size, bl->lo[0], bl->hi[0]);
    }
    fprintf(out, "arena %" PRId64 "\n", p->arena_floats);
  }
  return p && !fflush(out) && !ferror(out) ? 0 : -1;
}

int cnn_print_inference_plan(const CnnNet *net) {
  return cnn_with_arena(plan_and_print, (void *)net, "out of memory while planning the inference code") ? 1 : 0;
}
