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
 * How it is organized (emit/infer_file.c reads the checkpoint and opens
 * the files; emit/infer_weights.c packs the values):
 *
 *  1. plan/infer.c decides, as data: the groups of fused layers (one
 *     kernel each), the geometry of their convolutions, where every value
 *     and temporary lives in the scratch arena (the shared memory planner),
 *     and which helpers the file needs. cnncc never prints this file's
 *     text twice: the preamble comes from the plan.
 *  2. cnn_infer_pack_tables() computes the static arrays from the checkpoint
 *     (weights packed for the kernels, batchnorm folded in), then the
 *     file is printed: preamble, each group's arrays and function, the API.
 *  3. Convolutions are all turned into one kind of kernel: a "shifted GEMM"
 *     over a prepared copy of the input. The input is copied, zero padded,
 *     and for stride s split into s x s phase planes, so that every tap of
 *     the kernel reads the prepared planes at a constant offset from the
 *     output position: out[oc][j] = bias[oc] + sum_c sum_t
 *     w[oc][c][t] * prep[c][off[t] + j], where j runs over the output rows
 *     laid out with the planes' row pitch (the few columns past the output
 *     width are computed and dropped). The kernel keeps 8 output channels x
 *     one SIMD vector of positions in registers (the position tile); the
 *     weights are packed for it. Where the dropped columns are many (small
 *     images), the plan picks the channel tile: 1 or 2 vectors of output
 *     channels x a few positions, input values broadcast (emit_ctile).
 *     Transposed convolutions are the same kernel once per output phase.
 *  4. SIMD: the kernels use a few vector macros that the generated file
 *     defines (compiler/kernels/vector.h, the vocabulary the training code
 *     uses too) for aarch64 NEON, AVX-512F, AVX2+FMA, SSE2 or plain C (one
 *     float per "vector"), chosen by the compiler's predefined macros when
 *     the file is compiled, or by -DCNNCC_SIMD=0..4. */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"
#include "kernels.h"
#include "infer_emit.h"

/* ---- helpers ---- */

/* An activation's formulas (front/ops.c's table); ACT_NONE: no activation. */
typedef const CnnActFormulas *ActKind;
#define ACT_NONE ((ActKind)NULL)

static void nl(CnnPrinter *P) { cnn_pr(P, "%s", ""); }

static bool is_act(CnnOp op) { return cnn_op_info(op)->flags & CNN_OPF_ACTIVATION; }
static bool is_max(CnnOp op) { return op == OP_MAXPOOL1D || op == OP_MAXPOOL2D; }

static ActKind act_kind(Emit *E, int id) {
  if (id < 0 || !is_act(node(E, id)->op)) return ACT_NONE;
  return &cnn_op_info(node(E, id)->op)->act;
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

const char *cnn_infer_flit(Emit *E, double v) {
  char buf[64];
  float_text(buf, sizeof buf, (float)v, &E->need_math);
  return fmt(E, "%s", buf);
}

/* ---- emission helpers ---- */

static const char *storage_expr(Emit *E, int st) {
  const CnnInferStorage *s = &E->p->st[st];
  switch (s->kind) {
  case CNN_IS_INPUT: return "input";
  case CNN_IS_OUTPUT: return "output";
  default: return s->offset ? fmt(E, "a + %" PRId64, s->offset) : "a";
  }
}

/* The formula `tmpl` of activation node `act` applied to `x`, as an operand. */
static const char *render_act(Emit *E, int act, const char *tmpl, const char *x) {
  ActKind f = act_kind(E, act);
  const char *arg = f->arg ? cnn_infer_flit(E, node(E, act)->negative_slope) : NULL;
  E->need_math |= f->libm;
  return cnn_formula(E->A, tmpl, &(CnnFormulaArgs){.x = x, .a = arg, .f = "f"}, true);
}

/* The scalar expression of an activation applied to `x`. */
static const char *act_expr(Emit *E, int act, const char *x) {
  ActKind f = act_kind(E, act);
  return f ? render_act(E, act, f->scalar, x) : x;
}

/* The same on a cnn_vec. */
static const char *vact_expr(Emit *E, int act, const char *x) {
  ActKind f = act_kind(E, act);
  if (!f) return x;
  E->need_vk |= f->vkernels;
  return render_act(E, act, f->vector, x);
}

/* Writes a static const float array, ten numbers a line. */
static void emit_array(Emit *E, const char *name, const float *v, int64_t n, const char *what) {
  CnnPrinter *P = E->P;
  pr(P, "static const float %s[%" PRId64 "] CNNCC_WEIGHT_ATTR = { /* %s */", name, n > 0 ? n : 1, what);
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

/* z, a 0 the optimizer cannot see through (read from the volatile NAME_zero): loops
 * that copy or clear add it, so that they do not become calls of CALLS,
 * which the standalone file must not need. */
static void declare_zero(Emit *E, const char *calls) {
  pr(E->P, "const float z = %s_zero; /* 0, opaque to the optimizer: no %s calls */", E->N, calls);
  E->need_zero = true;
}

static void layer_comment(Emit *E, const Group *g) {
  CnnPrinter *P = E->P;
  char b1[64], b2[64];
  const CnnNode *m = node(E, g->main), *r = node(E, g->result);
  const char *what = cnn_op_name(m->op);
  if (g->kind == CNN_IG_EW) {
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
  int ty, tx, nv;   /* the channel tile of nv vectors x ty x tx positions, when ty > 0 */
  int oh, ow, pw;   /* ... of the output's rows and columns, j = y * pw + x */
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

/* The channel tile: nv (1 or 2) vectors of output channels (nv * CNN_VL,
 * whichever SIMD level) by ty x tx output positions, each position's input value
 * broadcast, the weights packed [oc/16][ic][nt][16]; position (y, x) is
 * j = y * pw + x, as in the position tile, and only real positions are
 * computed. Per output the sum runs in the same order as there (bias,
 * then channel by channel, tap by tap): the same floats. */
static void emit_ctile(Emit *E, const Gemm *m) {
  CnnPrinter *P = E->P;
  int R = m->ty * m->tx, blk = CNN_INFER_CT_BLOCK, nv = m->nv;
  int64_t wb = (int64_t)m->ic * m->nt * blk; /* floats of one block of weights */
  int64_t *pos = cnn_alloc(E->A, sizeof(int64_t) * (size_t)R);
  for (int r = 0; r < R; r++) pos[r] = (int64_t)(r / m->tx) * m->pw + r % m->tx;
  const char *acc = "ab"; /* the accumulators of vector 0 and 1: a0, b0, a1, ... */
  pr(P, "for (int ob = 0; ob < %d; ob += %d * CNN_VL) {", m->oc, nv);
  pr(P, "const float *restrict w0 = %s + ob / %d * %" PRId64 " + ob %% %d;", m->w, blk, wb, blk);
  if (nv == 2)
    pr(P, "const float *restrict w1 = %s + (ob + CNN_VL) / %d * %" PRId64 " + (ob + CNN_VL) %% %d;", m->w,
       blk, wb, blk);
  pr(P, "for (int y = 0; y < %d; y += %d)", m->oh, m->ty);
  pr(P, "for (int x = 0; x < %d; x += %d) {", m->ow, m->tx);
  pr(P, "const int j = %s;", lin(E, "y", m->pw, 0));
  pr(P, "const float *restrict s = %s + j + x;", m->src);
  pr(P, "const float *restrict u0 = w0%s;", nv == 2 ? ", *restrict u1 = w1" : "");
  pr(P, "float *restrict o = %s + ob * %" PRId64 " + j + x;", m->dst, m->ocs);
  pr(P, "float t[%d * CNN_VL];", nv);
  for (int r = 0; r < R; r++)
    for (int v = 0; v < nv; v++)
      pr(P, "cnn_vec %c%d = cnn_vload(%s + ob%s);", acc[v], r, m->b, v ? " + CNN_VL" : "");
  pr(P, "for (int c = 0; c < %d; c++, s += %" PRId64 ", u0 += %d%s) {", m->ic, m->ps, m->nt * blk,
     nv == 2 ? fmt(E, ", u1 += %d", m->nt * blk) : "");
  for (int t = 0; t < m->nt; t++) {
    pr(P, "{");
    for (int v = 0; v < nv; v++) pr(P, "const cnn_vec p%d = cnn_vload(u%d + %d);", v, v, t * blk);
    for (int r = 0; r < R; r++) {
      pr(P, "const cnn_vec i%d = cnn_vset1(s[%" PRId64 "]);", r, m->off[t] + pos[r]);
      for (int v = 0; v < nv; v++) pr(P, "%c%d = cnn_vfma(p%d, i%d, %c%d);", acc[v], r, v, r, acc[v], r);
    }
    pr(P, "}");
  }
  pr(P, "}");
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < nv; v++)
      pr(P, "cnn_vstore(t%s, %s);", v ? " + CNN_VL" : "", vact_expr(E, m->act, fmt(E, "%c%d", acc[v], r)));
    pr(P, "for (int k = 0; k < %d * CNN_VL; k++) o[%s] = t[k];", nv, lin(E, "k", m->ocs, pos[r]));
  }
  pr(P, "}");
  pr(P, "}");
}

/* A GEMM of nt taps reads their offsets from a static const int table
 * rather than constants in the code when they are many (and the position
 * tile is used): infer_memory counts these tables. */
static bool has_offset_table(int nt, int ty) { return !ty && nt > 32; }

/* The whole GEMM. Loop order: channel blocks outside when the input is
 * small or the weights big; positions outside when the weights are small
 * and the input big (e.g. 1x1 convolutions with many channels), so that
 * what the inner loop sweeps again and again stays in L1. */
static void emit_gemm(Emit *E, const Gemm *m) {
  CnnPrinter *P = E->P;
  if (m->ty) {
    emit_ctile(E, m);
    return;
  }
  int full = m->oc / BLOCK, rem = m->oc % BLOCK, ocb = full + (rem > 0);
  bool table = has_offset_table(m->nt, m->ty);
  if (table) {
    char *s = cnn_alloc(E->A, (size_t)m->nt * 24 + 8);
    size_t o = 0;
    for (int t = 0; t < m->nt; t++) o += (size_t)sprintf(s + o, "%s%" PRId64, t ? ", " : "", m->off[t]);
    pr(P, "static const int off[%d] = {%s};", m->nt, s);
  }
  bool tail = m->exact && m->J % CNN_INFER_TILE_MAX != 0;
  const double l1 = 32 * 1024;
  double in_bytes = 4.0 * m->ic * (double)m->ps, w_bytes = 4.0 * ocb * m->ic * m->nt * BLOCK;
  double tiles = (m->J + CNN_INFER_TILE_MAX - 1) / CNN_INFER_TILE_MAX;
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
  else pr(P, "    d[oy * %d + ox] = m * %s;", ow, cnn_infer_flit(E, 1.0 / (kh * kw)));
  pr(P, "  }");
  pr(P, "}");
}


/* ---- the groups ---- */


static void emit_conv(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnInferConv *c = &E->p->cg[k];
  const CnnConvGeo *q = &c->g;
  const char *name = fn_name(E, g);
  layer_comment(E, g);
  pr(P, "/* kernel %dx%d, stride %dx%d, dilation %dx%d, padding %d/%d x %d/%d; %s */", q->kh, q->kw,
     q->sh, q->sw, q->dh, q->dw, q->pt, q->pb, q->pl, q->pr,
     c->prep ? fmt(E, "the input is copied into %d zero-padded plane%s of %dx%d per channel", c->taps.nphases,
                   c->taps.nphases > 1 ? "s (one per stride phase)" : "", c->ph, c->pw)
             : "the kernel reads the input in place");
  bool direct = c->direct;
  pr(P, "static void %s(const float *restrict src, float *restrict dst%s%s) {", name,
     c->prep ? ", float *restrict prep" : "", direct ? "" : ", float *restrict tmp");
  declare_zero(E, "memset/memcpy");
  pr(P, "(void)z;");
  if (c->prep)
    emit_gather(E, "src", q->ic, q->ih, q->iw, c->taps.nphases, c->taps.phase_y, c->taps.phase_x, c->ry0, c->rx0, q->sh, q->sw,
                c->ph, c->pw, c->ps, c->prep_floats);
  Gemm m = {.src = c->prep ? "prep" : "src", .ps = c->ps, .ic = q->ic, .nt = c->taps.ntaps, .off = c->off,
            .w = fmt(E, "%s_w", name), .b = fmt(E, "%s_b", name), .oc = q->oc,
            .dst = direct ? "dst" : "tmp", .ocs = direct ? (int64_t)q->oh * q->ow : c->JS, .J = c->J,
            .exact = direct, .act = g->act, .ty = c->ty, .tx = c->tx, .nv = c->nv, .oh = q->oh, .ow = q->ow,
            .pw = c->pw};
  emit_gemm(E, &m);
  if (!direct) {
    if (g->pool >= 0) {
      emit_pool_loops(E, node(E, g->pool), "tmp", c->JS, c->pw, q->oc, q->oh, q->ow, "dst");
    } else {
      pr(P, "for (int c = 0; c < %d; c++)", q->oc);
      pr(P, "  for (int y = 0; y < %d; y++)", q->oh);
      pr(P, "    for (int x = 0; x < %d; x++) dst[(c * %d + y) * %d + x] = tmp[c * %d + y * %d + x] + z;",
         q->ow, q->oh, q->ow, c->JS, c->pw);
    }
  }
  pr(P, "}");
}

/* A grouped or depthwise convolution, directly (as kernels/grouped.h in
 * training: memory bound, no products): per output channel, the bias, then
 * tap by tap the rows of the output whose window reads inside the input get
 * the weight times a row of the input (on vectors when the stride is 1),
 * then the activation. The spans of each tap are constants here. */
static void emit_grouped_tap(Emit *E, const CnnConvGeo *q, int icg, int ky, int kx) {
  CnnPrinter *P = E->P;
  int offy = ky * q->dh - q->pt, offx = kx * q->dw - q->pl, ylo, yhi, xlo, xhi;
  cnn_grouped_span(offy, q->ih, q->oh, q->sh, &ylo, &yhi);
  cnn_grouped_span(offx, q->iw, q->ow, q->sw, &xlo, &xhi);
  if (ylo >= yhi || xlo >= xhi) return;
  int t = ky * q->kw + kx, taps = q->kh * q->kw;
  pr(P, "for (int c = 0; c < %d; c++) { /* tap (%d, %d) */", icg, ky, kx);
  pr(P, "const float a = w[%s];", lin(E, "c", taps, t));
  pr(P, "const float *restrict xc = x + c * %d;", q->ih * q->iw);
  pr(P, "for (int oy = %d; oy < %d; oy++) {", ylo, yhi);
  pr(P, "float *restrict yr = y + oy * %d;", q->ow);
  pr(P, "const float *restrict xr = xc + %s;", lin(E, "oy", (int64_t)q->sh * q->iw, (int64_t)offy * q->iw + offx));
  pr(P, "int ox = %d;", xlo);
  if (q->sw == 1) {
    pr(P, "const cnn_vec av = cnn_vset1(a);");
    pr(P, "for (; ox + CNN_VL <= %d; ox += CNN_VL)", xhi);
    pr(P, "  cnn_vstore(yr + ox, cnn_vfma(av, cnn_vload(xr + ox), cnn_vload(yr + ox)));");
  }
  pr(P, "for (; ox < %d; ox++) yr[ox] += a * xr[%s];", xhi, lin(E, "ox", q->sw, 0));
  pr(P, "}\n}");
}

static void emit_grouped(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main);
  const CnnConvGeo q = cnn_conv_geo(E->net, n);
  int icg = q.ic / n->groups, ocg = q.oc / n->groups, opos = q.oh * q.ow, K = icg * q.kh * q.kw;
  const char *name = fn_name(E, g);
  layer_comment(E, g);
  pr(P, "/* %d groups, kernel %dx%d, stride %dx%d, dilation %dx%d, padding %d/%d x %d/%d */", n->groups, q.kh,
     q.kw, q.sh, q.sw, q.dh, q.dw, q.pt, q.pb, q.pl, q.pr);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", name);
  pr(P, "for (int o = 0; o < %d; o++) {", q.oc);
  pr(P, "float *restrict y = dst + o * %d;", opos);
  pr(P, "const float *restrict w = %s_w + o * %d;", name, K);
  pr(P, "const float *restrict x = src + %s;", ocg == 1 ? fmt(E, "o * %d", icg * q.ih * q.iw)
                                                       : fmt(E, "o / %d * %d", ocg, icg * q.ih * q.iw));
  pr(P, "for (int i = 0; i < %d; i++) y[i] = %s_b[o];", opos, name);
  for (int ky = 0; ky < q.kh; ky++)
    for (int kx = 0; kx < q.kw; kx++) emit_grouped_tap(E, &q, icg, ky, kx);
  if (g->act >= 0) pr(P, "for (int i = 0; i < %d; i++) y[i] = %s;", opos, act_expr(E, g->act, "y[i]"));
  pr(P, "}\n}");
}

static void emit_convt(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main); /* the conv_transpose2d, for its output padding */
  const CnnInferConvT *c = &E->p->tg[k];
  const CnnConvGeo *q = &c->g;
  const char *name = fn_name(E, g);
  layer_comment(E, g);
  pr(P, "/* kernel %dx%d, stride %dx%d, padding %dx%d, output padding %dx%d: one shifted GEMM per\n"
        " * output phase (rows and columns with the same position modulo the stride) */",
     q->kh, q->kw, q->sh, q->sw, q->pt, q->pl, n->output_padding[0], n->output_padding[1]);
  pr(P, "static void %s(const float *restrict src, float *restrict dst, float *restrict prep,", name);
  pr(P, "    float *restrict tmp) {");
  declare_zero(E, "memset/memcpy");
  pr(P, "(void)z;");
  pr(P, "(void)tmp;");
  int zy = 0, zx = 0;
  emit_gather(E, "src", q->ic, q->ih, q->iw, 1, &zy, &zx, c->qy0, c->qx0, 1, 1, c->ph, c->pw, c->ps,
              c->prep_floats);
  for (int p = 0; p < c->nphase; p++) {
    const CnnInferTPhase *f = &c->phase[p];
    if (!f->ny || !f->nx) continue;
    pr(P, "/* output phase (%d, %d): %d taps */", f->ry, f->rx, f->nt);
    const char *target = fmt(E, "dst[(c * %d + (y + %d) * %d + %d) * %d + (x + %d) * %d + %d]", q->oh,
                             f->y0, q->sh, f->ry - q->pt, q->ow, f->x0, q->sw, f->rx - q->pl);
    if (!f->nt) {
      pr(P, "for (int c = 0; c < %d; c++)", q->oc);
      pr(P, "  for (int y = 0; y < %d; y++)", f->ny);
      pr(P, "    for (int x = 0; x < %d; x++) %s = %s;", f->nx, target,
         act_expr(E, g->act, fmt(E, "%s_b[c]", name)));
      continue;
    }
    Gemm m = {.src = "prep", .ps = c->ps, .ic = q->ic, .nt = f->nt, .off = f->off,
              .w = fmt(E, "%s_w%d", name, p), .b = fmt(E, "%s_b", name), .oc = q->oc, .dst = "tmp",
              .ocs = c->JS, .J = f->J, .exact = false, .act = g->act};
    pr(P, "{");
    emit_gemm(E, &m);
    pr(P, "}");
    const char *v = fmt(E, "tmp[c * %d + y * %d + x]", c->JS, c->pw);
    pr(P, "for (int c = 0; c < %d; c++)", q->oc);
    pr(P, "  for (int y = 0; y < %d; y++)", f->ny);
    pr(P, "    for (int x = 0; x < %d; x++) %s = %s + z;", f->nx, target, v);
  }
  pr(P, "}");
}

static void emit_dense(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main);
  int O = (int)size_of(n), I = (int)size_of(in_node(E, n, 0));
  const char *name = fn_name(E, g);
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
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main);
  int c, h, w;
  cnn_shape_chw(in_node(E, n, 0)->shape, &c, &h, &w);
  layer_comment(E, g);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  emit_pool_loops(E, n, "src", (int64_t)h * w, w, c, h, w, "dst");
  pr(P, "}");
}

/* global_maxpool: the first maximum (NaN wins), as the training code
 * takes it. */
static void emit_gmp(Emit *E, int k, int c, int positions) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, &E->p->g[k]));
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "const float *restrict s = src + c * %d;", positions);
  pr(P, "float m = s[0];");
  pr(P, "for (int i = 1; i < %d; i++)", positions);
  pr(P, "  if (s[i] > m || s[i] != s[i]) m = s[i];");
  pr(P, "dst[c] = m;");
  pr(P, "}\n}");
}

/* upsample, adaptive_avgpool: what the training code computes
 * (emit/resample.c) */
static void emit_resize(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main);
  CnnShape in = in_node(E, n, 0)->shape;
  int c = n->shape.dim[0];
  layer_comment(E, g);
  cnn_print_resample_tables(P, n, in, "float", false);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  pr(P, "for (int c = 0; c < %d; c++) {", c);
  pr(P, "const float *restrict x = src + c * %" PRId64 ";", cnn_shape_size(in) / c);
  pr(P, "float *restrict y = dst + c * %" PRId64 ";", cnn_shape_size(n->shape) / c);
  cnn_print_resample_plane(P, n, in, "float", "x", "y");
  pr(P, "}\n}");
}

/* global_avgpool, global_maxpool */
static void emit_gap(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main);
  int c = n->shape.dim[0];
  int positions = (int)(size_of(in_node(E, n, 0)) / c);
  layer_comment(E, g);
  if (n->op == OP_GLOBAL_MAXPOOL) {
    emit_gmp(E, k, c, positions);
    return;
  }
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
  pr(P, "dst[c] = (((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))) * %s;", cnn_infer_flit(E, 1.0 / positions));
  pr(P, "}");
  pr(P, "}");
}

static void emit_ew(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *r = node(E, g->result), *first = node(E, g->chain[0]);
  int C = r->shape.dim[0];
  int64_t positions = size_of(r) / C;
  bool per_channel = E->tables[k].n > 0;
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
  const Group *g = &E->p->g[k];
  layer_comment(E, g);
  const char *params = "";
  for (int i = 0; i < g->ninputs; i++) params = fmt(E, "%sconst float *restrict src%d, ", params, i);
  pr(P, "static void %s(%sfloat *restrict dst) {", fn_name(E, g), params);
  declare_zero(E, "memcpy");
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
  const Group *g = &E->p->g[k];
  layer_comment(E, g);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  emit_softmax_loop(E, &node(E, g->main)->shape, "src", "dst");
  pr(P, "}");
}

static void emit_copy(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  pr(P, "/* the output is the input */");
  pr(P, "static void %s_copy(const float *restrict src, float *restrict dst) {", E->N);
  declare_zero(E, "memcpy");
  pr(P, "for (int i = 0; i < %" PRId64 "; i++) dst[i] = src[i] + z;", size_of(node(E, g->main)));
  pr(P, "}");
}

/* ---- the memory contract ---- */

/* Bytes of the tap offset tables that emit_gemm prints (4-byte int). */
static int64_t offset_table_bytes(const CnnInferPlan *p) {
  int64_t b = 0;
  for (int k = 0; k < p->ng; k++) {
    if (p->g[k].kind == CNN_IG_CONV && has_offset_table(p->cg[k].taps.ntaps, p->cg[k].ty))
      b += 4 * p->cg[k].taps.ntaps;
    for (int f = 0; p->g[k].kind == CNN_IG_CONVT && f < p->tg[k].nphase; f++) {
      const CnnInferTPhase *ph = &p->tg[k].phase[f];
      if (ph->nt && ph->ny && ph->nx && has_offset_table(ph->nt, 0)) b += 4 * ph->nt;
    }
  }
  return b;
}

/* The figures of the file that E prints, once its tables are packed:
 * exactly the static arrays and the API's buffers that it declares. */
static CnnInferMemory infer_memory(const Emit *E) {
  const CnnInferPlan *p = E->p;
  CnnInferMemory m = {.arena_bytes = p->arena_floats * 4,
                      .input_bytes = size_of(&E->net->nodes[0]) * 4,
                      .output_bytes = size_of(&E->net->nodes[E->net->output]) * 4,
                      .const_bytes = offset_table_bytes(p) + (p->need_zero ? 4 : 0)};
  for (int k = 0; k < p->ng; k++)
    for (int i = 0; i < E->tables[k].n; i++)
      m.weight_bytes += 4 * (E->tables[k].t[i].n > 0 ? E->tables[k].t[i].n : 1); /* as emit_array */
  if (E->opt->static_arena) m.static_bytes = (p->arena_floats + 16) * 4; /* as emit_api */
  else if (p->arena_floats) m.scratch_bytes = m.arena_bytes + 64;
  return m;
}

/* The figures, as the summary and the macros name them (NAME_ + suffix). */
static const struct {
  const char *suffix, *what;
  size_t at;
} memory_rows[] = {
    {"WEIGHT_BYTES", "const data (flash): weights, biases, folded batchnorms",
     offsetof(CnnInferMemory, weight_bytes)},
    {"CONST_BYTES", "other static data: tap offset tables, the opaque zero (volatile)",
     offsetof(CnnInferMemory, const_bytes)},
    {"SCRATCH_BYTES", "the caller's scratch (RAM) for one call, any alignment",
     offsetof(CnnInferMemory, scratch_bytes)},
    {"ARENA_BYTES", "of which used from its start aligned to 64 bytes", offsetof(CnnInferMemory, arena_bytes)},
    {"STATIC_BYTES", "written static data (RAM, .bss): --static-arena's arena",
     offsetof(CnnInferMemory, static_bytes)},
    {"INPUT_BYTES", "the caller's input buffer", offsetof(CnnInferMemory, input_bytes)},
    {"OUTPUT_BYTES", "the caller's output buffer", offsetof(CnnInferMemory, output_bytes)},
};
#define NMEMORY_ROWS ((int)(sizeof memory_rows / sizeof *memory_rows))

static int64_t memory_row(const CnnInferMemory *m, int r) {
  return *(const int64_t *)(const void *)((const char *)m + memory_rows[r].at);
}

/* Stack use is the C compiler's choice, not cnncc's: said, not stated. */
#define STACK_NOTE "the stack, which the C compiler sizes (gcc -fstack-usage tells)"

static void emit_memory_macros(Emit *E, CnnPrinter *P) {
  pr(P, "/* The memory contract in bytes (%s; docs/inference.md, \"Memory\"): beyond\n"
        " * these, only %s.\n"
        " * With --static-arena, SCRATCH_BYTES is 0 (pass NULL) and ARENA_BYTES lie\n"
        " * inside STATIC_BYTES. */", E->opt->quantize ? E->opt->quantize : "float", STACK_NOTE);
  for (int r = 0; r < NMEMORY_ROWS; r++)
    pr(P, "#define %s_%s %" PRId64 " /* %s */", E->NU, memory_rows[r].suffix, memory_row(&E->mem, r),
       memory_rows[r].what);
}

/* The table of the summary: one column per number format. */
static void print_memory(FILE *out, const char *NU, const CnnInferMemory *cols, const char *const *names,
                         int ncols) {
  fprintf(out, "\nMemory of --emit=inference in bytes (docs/inference.md, \"Memory\"):\n%-24s", "");
  for (int c = 0; c < ncols; c++) fprintf(out, " %12s", names[c]);
  fprintf(out, "\n");
  for (int r = 0; r < NMEMORY_ROWS; r++) {
    char name[128];
    snprintf(name, sizeof name, "%s_%s", NU, memory_rows[r].suffix);
    fprintf(out, "%-24s", name);
    for (int c = 0; c < ncols; c++) fprintf(out, " %12" PRId64, memory_row(&cols[c], r));
    fprintf(out, "  %s\n", memory_rows[r].what);
  }
  fprintf(out, "Beyond these, only %s.\n", STACK_NOTE);
}

/* ---- the file ---- */

/* The file's interface: sizes, the memory contract, the functions (float
 * and int8; in the .c file, or in the .h of --header). */
void cnn_infer_emit_declarations(Emit *E, CnnPrinter *P) {
  const CnnNet *net = E->net;
  const CnnNode *in = &net->nodes[0], *out = &net->nodes[net->output];
  const char *N = E->N, *NU = E->NU;
  char b1[64], b2[64];
  pr(P, "#define %s_INPUT_SIZE %" PRId64 " /* floats: %s %s */", NU, size_of(in), in->name,
     cnn_shape_str(in->shape, b1, sizeof b1));
  pr(P, "#define %s_OUTPUT_SIZE %" PRId64 " /* floats: %s %s */", NU, size_of(out), out->name,
     cnn_shape_str(out->shape, b2, sizeof b2));
  nl(P);
  emit_memory_macros(E, P);
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
  bool softmax = E->p->softmax_fn && !E->opt->quantize; /* int8: none yet */
  if (softmax) {
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
  if (softmax) pr(P, "#define cnn_softmax %s_softmax", N);
  pr(P, "#endif");
}

/* groupnorm, layernorm (one group): each group's mean and biased variance summed in double, then
 * x * scale + shift with scale = weight / stddev per unit (a channel of
 * groupnorm, a value of layernorm), as the training code computes it */
static void emit_norm(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Group *g = &E->p->g[k];
  const CnnNode *n = node(E, g->main);
  int size = (int)size_of(n), groups = n->op == OP_GROUPNORM ? n->groups : 1, gs = size / groups;
  int unit = n->op == OP_GROUPNORM ? size / n->shape.dim[0] : 1, per_group = gs / unit;
  layer_comment(E, g);
  pr(P, "static void %s(const float *restrict src, float *restrict dst) {", fn_name(E, g));
  pr(P, "for (int gr = 0; gr < %d; gr++) {", groups);
  pr(P, "const float *restrict x = src + gr * %d;", gs);
  pr(P, "float *restrict y = dst + gr * %d;", gs);
  pr(P, "double s = 0, ss = 0;");
  pr(P, "for (int i = 0; i < %d; i++) s += x[i];", gs);
  pr(P, "const float mean = (float)(s / %d);", gs);
  pr(P, "for (int i = 0; i < %d; i++) ss += (x[i] - mean) * (x[i] - mean);", gs);
  pr(P, "const float invstd = 1 / sqrtf((float)(ss / %d) + %s); /* libm's float functions only */", gs,
     cnn_infer_flit(E, n->eps));
  pr(P, "for (int u = 0; u < %d; u++) {", per_group);
  if (n->affine) {
    pr(P, "const int w = gr * %d + u;", per_group);
    pr(P, "const float scale = %s_%s_weight[w] * invstd, shift = %s_%s_bias[w] - mean * scale;", E->N, n->name,
       E->N, n->name);
  } else {
    pr(P, "const float scale = invstd, shift = -mean * scale;");
  }
  pr(P, "for (int i = u * %d; i < (u + 1) * %d; i++) y[i] = x[i] * scale + shift;", unit, unit);
  pr(P, "}\n}\n}");
}

/* Group k: its tables, then its function. */
static void render_group(Emit *E, int k) {
  CnnPrinter *P = E->P;
  const Tables *ts = &E->tables[k];
  nl(P);
  for (int i = 0; i < ts->n; i++) emit_array(E, ts->t[i].name, ts->t[i].v, ts->t[i].n, ts->t[i].what);
  if (ts->n) nl(P);
  static void (*const print_group[])(Emit *, int) = {
      [CNN_IG_CONV] = emit_conv, [CNN_IG_CONVT] = emit_convt, [CNN_IG_DENSE] = emit_dense,
      [CNN_IG_POOL] = emit_pool, [CNN_IG_GAP] = emit_gap,     [CNN_IG_RESIZE] = emit_resize,
      [CNN_IG_EW] = emit_ew,         [CNN_IG_NORM] = emit_norm,
      [CNN_IG_CONCAT] = emit_concat, [CNN_IG_SOFTMAX] = emit_softmax, [CNN_IG_COPY] = emit_copy,
      [CNN_IG_GROUPED] = emit_grouped,
  };
  print_group[E->p->g[k].kind](E, k);
}

/* The scratch layout, group by group, as a comment. */
static void emit_layout(Emit *E) {
  CnnPrinter *P = E->P;
  pr(P, "/* Scratch layout (float offsets from the 64-byte aligned start), by group:");
  for (int k = 0; k < E->p->ng; k++) {
    const Group *g = &E->p->g[k];
    const char *line = fmt(E, " *   %-14s", g->kind == CNN_IG_COPY ? "copy" : node(E, g->main)->name);
    int sts[3] = {g->st_out, g->st_prep, g->st_tmp};
    const char *what[3] = {"out", "prep", "tmp"};
    for (int i = 0; i < 3; i++) {
      if (sts[i] < 0) continue;
      const CnnInferStorage *s = &E->p->st[sts[i]];
      if (s->kind == CNN_IS_OUTPUT) line = fmt(E, "%s %s: output", line, what[i]);
      else line = fmt(E, "%s %s: [%" PRId64 ", %" PRId64 ")", line, what[i], s->offset, s->offset + s->floats);
    }
    pr(P, "%s", line);
  }
  pr(P, " * %" PRId64 " floats in all, against %" PRId64 " for every activation apart. */",
     E->p->arena_floats, E->net->activation_bytes / 4);
}

/* NAME_predict: the groups' functions one after the other on the arena. */
static void emit_predict(Emit *E) {
  CnnPrinter *P = E->P;
  const char *N = E->N;
  pr(P, "int %s_predict(const float *input, float *output, void *scratch) {", N);
  cnn_infer_emit_arena_start(E, "float", "a", E->opt->static_arena || E->p->arena_floats);
  for (int k = 0; k < E->p->ng; k++) {
    const Group *g = &E->p->g[k];
    const char *args = "";
    if (g->kind == CNN_IG_COPY) {
      pr(P, "%s_copy(input, output);", N);
      continue;
    }
    for (int i = 0; i < g->ninputs; i++)
      args = fmt(E, "%s%s, ", args, storage_expr(E, E->p->val_st[E->p->store[g->inputs[i]]]));
    args = fmt(E, "%s%s", args, storage_expr(E, g->st_out));
    if (g->st_prep >= 0) args = fmt(E, "%s, %s", args, storage_expr(E, g->st_prep));
    if (g->st_tmp >= 0) args = fmt(E, "%s, %s", args, storage_expr(E, g->st_tmp));
    pr(P, "%s(%s);", fn_name(E, g), args);
  }
  pr(P, "return 0;");
  pr(P, "}");
}

/* NAME_predict_batch: NAME_predict sample after sample (float and int8). */
void cnn_infer_emit_predict_batch(Emit *E) {
  CnnPrinter *P = E->P;
  const char *N = E->N, *NU = E->NU;
  pr(P, "int %s_predict_batch(const float *input, float *output, int n, void *scratch) {", N);
  pr(P, "if (n < 0) return -1;");
  pr(P, "for (int i = 0; i < n; i++)");
  pr(P, "  if (%s_predict(input + (size_t)i * %s_INPUT_SIZE, output + (size_t)i * %s_OUTPUT_SIZE, scratch))",
     N, NU, NU);
  pr(P, "    return -1;");
  pr(P, "return 0;");
  pr(P, "}");
}

/* The arena, NAME_predict, NAME_predict_batch and NAME_softmax. */
static void emit_api(Emit *E) {
  CnnPrinter *P = E->P;
  const char *N = E->N;
  nl(P);
  pr(P, "/* ---- the network ---- */");
  nl(P);
  cnn_infer_emit_static_arena(E, "float", "Activations and temporaries", E->p->arena_floats + 16);
  emit_layout(E);
  emit_predict(E);
  nl(P);
  cnn_infer_emit_predict_batch(E);
  if (E->p->softmax_fn) {
    nl(P);
    pr(P, "void %s_softmax(const float *output, float *probs) {", N);
    emit_softmax_loop(E, &E->net->nodes[E->net->output].shape, "output", "probs");
    pr(P, "}");
  }
}

/* <math.h>: for expf/tanhf, or for a weight that is not finite */
static bool file_needs_math(const Emit *E) { return E->p->need_math || E->weights_need_math; }

/* The header comment of the .c file. */
static void emit_banner(Emit *E, const char *c_name) {
  const CnnNet *net = E->net;
  const CnnNode *in = &net->nodes[0], *out = &net->nodes[net->output];
  char b1[64], b2[64];
  pr(E->P, "/* %s - standalone inference for the network \"%s\", generated by cnncc %s.\n"
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
         ? fmt(E, "a static arena of %" PRId64 " bytes (not reentrant)", E->mem.static_bytes)
         : fmt(E, "%" PRId64 " bytes of scratch from the caller (%s_SCRATCH_BYTES)", E->mem.scratch_bytes,
               E->NU),
     file_needs_math(E) ? " but libm's" : "", E->opt->static_arena ? " but its arena" : " (reentrant)",
     c_name);
}

/* CNNCC_WEIGHT_ATTR, empty unless the file's compiler defines it. */
/* --static-arena: the static array NAME_arena of n TYPE, which holds WHAT. */
void cnn_infer_emit_static_arena(Emit *E, const char *type, const char *what, int64_t n) {
  if (!E->opt->static_arena) return;
  pr(E->P, "/* %s: the one written global, so %s_predict is\n"
           " * not reentrant (one call at a time, not from several threads). */", what, E->N);
  pr(E->P, "static %s %s_arena[%" PRId64 "];", type, E->N, n);
  nl(E->P);
}

/* The start of NAME_predict: its arguments checked and, with an arena,
 * VAR (TYPE *) its 64-byte aligned start in the caller's scratch or in
 * the static NAME_arena; scratch is unused otherwise. */
void cnn_infer_emit_arena_start(Emit *E, const char *type, const char *var, bool arena) {
  CnnPrinter *P = E->P;
  bool in_scratch = arena && !E->opt->static_arena;
  if (arena) pr(P, "%s *%s;", type, var);
  if (!in_scratch) pr(P, "(void)scratch;");
  pr(P, "if (!input || !output%s) return -1;", in_scratch ? " || !scratch" : "");
  if (arena)
    pr(P, "%s = (%s *)(void *)(((uintptr_t)%s + 63) & ~(uintptr_t)63);", var, type,
       in_scratch ? "scratch" : fmt(E, "%s_arena", E->N));
}

void cnn_infer_emit_weight_attr(Emit *E) {
  CnnPrinter *P = E->P;
  pr(P, "/* Given to every weight array: e.g. -DCNNCC_WEIGHT_ATTR='__attribute__((used))'\n"
        " * keeps each array whole (an optimizing compiler may turn small ones into\n"
        " * instruction constants), or a section attribute places them\n"
        " * (docs/inference.md, \"Memory\"). */");
  pr(P, "#ifndef CNNCC_WEIGHT_ATTR");
  pr(P, "#define CNNCC_WEIGHT_ATTR");
  pr(P, "#endif");
}

/* What comes before the kernels: the header comment, includes,
 * declarations, the SIMD vocabulary and the vector functions only when
 * used (clang warns about unused static functions). */
static void emit_preamble(Emit *E, FILE *c, const char *c_name, const char *h_name) {
  CnnPrinter *P = E->P;
  emit_banner(E, c_name);
  pr(P, "#include <stddef.h>");
  pr(P, "#include <stdint.h>");
  if (file_needs_math(E)) pr(P, "#include <math.h>");
  nl(P);
  cnn_infer_emit_weight_attr(E);
  nl(P);
  if (h_name) {
    pr(P, "#include \"%s\"", h_name);
  } else {
    cnn_infer_emit_declarations(E, P);
  }
  nl(P);
  /* the SIMD vocabulary, and the vector functions only when used (clang
   * warns about unused static functions) */
  fputs(cnn_kernel_vector, c);
  if (E->p->need_vsum) fputs(cnn_kernel_vsum, c);
  unsigned vk = E->p->need_vk;
  if (vk & (CNN_VK_SIGMOID | CNN_VK_TANH)) fputs(cnn_kernel_vexp, c);
  if (vk & CNN_VK_SIGMOID) fputs(cnn_kernel_vsigmoid, c);
  if (vk & CNN_VK_TANH) fputs(cnn_kernel_vtanh, c);
  if (vk & CNN_VK_ERF) fputs(cnn_kernel_verf, c);
  if (E->p->need_zero) {
    nl(P);
    pr(P, "static const volatile float %s_zero = 0.0f;", E->N);
  }
}

/* The .h of --header: the declarations (float and int8). */
void cnn_infer_emit_header(Emit *E, FILE *h, const char *c_name, const char *h_name) {
  CnnPrinter hp;
  cnn_printer_init(&hp, h);
  CnnPrinter *P = &hp;
  const CnnNet *net = E->net;
  pr(P, "/* %s - the interface of %s: standalone inference for the network \"%s\",\n"
        " * generated by cnncc %s from %s with the weights of %s. */",
     h_name, c_name, net->name, PACKAGE_VERSION, E->opt->source_file ? E->opt->source_file : "?",
     E->opt->weights);
  pr(P, "#ifndef %s_INFER_H", E->NU);
  pr(P, "#define %s_INFER_H", E->NU);
  nl(P);
  pr(P, "#ifdef __cplusplus");
  pr(P, "extern \"C\" {");
  pr(P, "#endif");
  nl(P);
  cnn_infer_emit_declarations(E, P);
  nl(P);
  pr(P, "#ifdef __cplusplus");
  pr(P, "}");
  pr(P, "#endif");
  nl(P);
  pr(P, "#endif");
  if (hp.failed) longjmp(*E->A->oom, 1);
}

/* What the printing used must be what the plan foresaw: the preamble was
 * written from the plan. */
static bool check_needs(const Emit *E) {
  const CnnInferPlan *p = E->p;
  if ((!E->need_math || file_needs_math(E)) && (!E->need_zero || p->need_zero) &&
      (!E->need_vsum || p->need_vsum) && (E->need_vk & ~p->need_vk) == 0)
    return true;
  fprintf(stderr, "cnncc: internal error: the inference code uses a helper its plan did not foresee\n");
  return false;
}

static void emit_file(Emit *E, FILE *c, FILE *h, const char *c_name, const char *h_name) {
  CnnPrinter cp;
  cnn_printer_init(&cp, c);
  E->P = &cp;
  emit_preamble(E, c, c_name, h ? h_name : NULL);
  for (int k = 0; k < E->p->ng; k++) render_group(E, k);
  emit_api(E);
  if (h) cnn_infer_emit_header(E, h, c_name, h_name);
  if (cp.failed) longjmp(*E->A->oom, 1);
}

typedef struct {
  FILE *c, *h;
  const char *c_name, *h_name;
  Emit E; /* all but the arena and the plan */
} InferenceFiles;

/* Plans the inference code in A, packs the weights, prints the files (a
 * CnnArenaTask). */
static int plan_and_print(CnnArena *A, void *ctx) {
  InferenceFiles *f = ctx;
  Emit *E = &f->E;
  E->A = A;
  E->NU = cnn_strupper(A, E->net->name);
  if (!(E->p = cnn_plan_inference(A, E->net, E->opt))) return -1;
  cnn_infer_pack_tables(E);
  if (E->opt->quantize) {
    CnnPrinter cp;
    cnn_printer_init(&cp, f->c);
    E->P = &cp;
    return cnn_emit_quantized(E, f->c, f->h, f->c_name, f->h_name);
  }
  E->mem = infer_memory(E);
  emit_file(E, f->c, f->h, f->c_name, f->h_name);
  return check_needs(E) ? 0 : -1;
}

int cnn_emit_inference(FILE *c, FILE *h, const char *c_name, const char *h_name, const CnnNet *net,
                       const float *params, const float *buffers, uint32_t crc,
                       const CnnInferOptions *opt) {
  InferenceFiles f = {c, h, c_name, h_name,
                      {.net = net, .opt = opt, .N = net->name, .params = params, .buffers = buffers,
                       .crc = crc, .hash = cnn_arch_hash(net)}};
  return cnn_with_arena(plan_and_print, &f,
                        "out of memory (or cannot write) while generating inference code");
}

/* The summary's figures: the plan, and the tables packed from zeros (their
 * lengths do not depend on the values), a CnnArenaTask. */
typedef struct {
  Emit E;
  FILE *out;
} MemoryTask;

static int print_memory_task(CnnArena *A, void *ctx) {
  Emit *E = &((MemoryTask *)ctx)->E;
  E->A = A;
  E->NU = cnn_strupper(A, E->net->name);
  if (!(E->p = cnn_plan_inference(A, E->net, E->opt))) return -1;
  int64_t buffers = 0;
  for (int i = 0; i < E->net->nnodes; i++) {
    CnnTensorSpec ts[4];
    for (int t = cnn_node_tensors(E->net, &E->net->nodes[i], ts); t-- > 0;)
      if (!ts[t].learnable) buffers += ts[t].count;
  }
  E->params = cnn_alloc(A, sizeof(float) * (size_t)(E->net->nparams + 1));
  E->buffers = cnn_alloc(A, sizeof(float) * (size_t)(buffers + 1));
  cnn_infer_pack_tables(E);
  CnnInferMemory m[2] = {infer_memory(E)};
  if (E->opt->quantize && cnn_quant_memory(E, &m[1])) return -1;
  print_memory(((MemoryTask *)ctx)->out, E->NU, m, (const char *const[]){"float", "int8"},
               E->opt->quantize ? 2 : 1);
  return 0;
}

int cnn_print_inference_memory(FILE *out, const CnnNet *net, const CnnInferOptions *opt) {
  MemoryTask t = {{.net = net, .opt = opt, .N = net->name}, out};
  if (cnn_with_arena(print_memory_task, &t, "out of memory while planning the inference code")) return 1;
  return fflush(out) || ferror(out) ? 1 : 0;
}
