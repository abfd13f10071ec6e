/* emit/train_norm.c - groupnorm and layernorm in the training code: each
 * sample normalized by groups of its values (a group: channels in a row;
 * layernorm has one group, the whole sample), then the affine transform,
 * whose weight and bias have one value per "unit": a channel of groupnorm,
 * a single value of layernorm. The statistics are per sample, so unlike
 * batchnorm's nothing is summed across the batch in the forward pass; the
 * sums (in double lanes, as batchnorm's) run in one fixed order whatever
 * the threads, and so do the parameters' gradients, one unit per thread
 * summing over the samples in order. */
#include "train.h"

/* A normalization layer's geometry: per sample `groups` groups of
 * `group_size` values; units of `unit` values (in rows of `row` values for
 * the lane sums), `units` of them per sample, each with its own weight. */
typedef struct {
  int groups, group_size, row, unit, units;
  bool affine;
  const char *stats; /* the mean and 1/stddev of each sample's groups */
} Norm;

static Norm norm_shape(Emit *E, const CnnNode *n) {
  int size = (int)size_of(n), c = n->shape.dim[0];
  Norm m = {.groups = n->op == OP_GROUPNORM ? n->groups : 1, .row = size / c, .affine = n->affine};
  m.group_size = size / m.groups;
  m.unit = n->op == OP_GROUPNORM ? m.row : 1;
  m.units = size / m.unit;
  m.stats = fmt(E, "%s_stats", n->name);
  return m;
}

/* The forward pass: the statistics of group bg (sample bg / groups), then
 * y = x * scale + shift with scale = weight * invstd and shift = bias -
 * mean * scale per unit, as PyTorch's group_norm kernel computes it. */
static void norm_forward(Emit *E, const CnnNode *n, Norm m) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s_forward(real *restrict out, const real *restrict in,%s int n) {", n->name,
     m.affine ? " const real *restrict weight, const real *restrict bias," : "");
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", m.groups * m.group_size);
  pr(P, "for (int bg = 0; bg < n * %d; bg++) {", m.groups);
  pr(P, "const real *restrict x = in + (size_t)bg * %d;", m.group_size);
  pr(P, "real *restrict y = out + (size_t)bg * %d;", m.group_size);
  pr(P, "double s[16] = {0}, ss[16] = {0};");
  pr(P, "for (int r = 0; r < %d; r++) add_lanes(s, x + r * %d, %d);", m.group_size / m.row, m.row, m.row);
  pr(P, "const real mean = (real)(lanes_total(s) / %d);", m.group_size);
  pr(P, "for (int r = 0; r < %d; r++) add_lanes_sq(ss, x + r * %d, mean, %d);", m.group_size / m.row, m.row,
     m.row);
  pr(P, "const real invstd = (real)(1 / sqrt(lanes_total(ss) / %d + %s));", m.group_size, cnn_num(E, n->eps));
  pr(P, "%s[2 * (size_t)bg] = mean;", m.stats);
  pr(P, "%s[2 * (size_t)bg + 1] = invstd;", m.stats);
  if (m.affine) pr(P, "const int u0 = bg %% %d * %d; /* the group's first unit */", m.groups, m.units / m.groups);
  pr(P, "for (int u = 0; u < %d; u++) {", m.units / m.groups);
  if (m.affine)
    pr(P, "const real scale = weight[u0 + u] * invstd, shift = bias[u0 + u] - mean * scale;");
  else
    pr(P, "const real scale = invstd, shift = -mean * scale;");
  pr(P, "for (int i = u * %d; i < (u + 1) * %d; i++) y[i] = x[i] * scale + shift;", m.unit, m.unit);
  pr(P, "}\n}\n}");
}

/* d in, group by group: with dy' = dy * weight, invstd (dy' - mean(dy') -
 * (x - mean) invstd^2 mean(dy' (x - mean))) */
static void norm_backward_input(Emit *E, const CnnNode *n, Norm m) {
  CnnPrinter *P = E->P;
  const char *w = m.affine ? "weight[u0 + u]" : "1";
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", m.groups * m.group_size);
  pr(P, "for (int bg = 0; bg < n * %d; bg++) {", m.groups);
  pr(P, "const size_t at = (size_t)bg * %d;", m.group_size);
  pr(P, "const real *restrict x = in + at, *restrict g = dout + at;");
  pr(P, "real *restrict dx = din + at;");
  pr(P, "const real mean = %s[2 * (size_t)bg], invstd = %s[2 * (size_t)bg + 1];", m.stats, m.stats);
  if (m.affine) pr(P, "const int u0 = bg %% %d * %d; /* the group's first unit */", m.groups, m.units / m.groups);
  pr(P, "double s = 0, t = 0; /* sums of dy' and of dy' * (x - mean) */");
  pr(P, "for (int u = 0; u < %d; u++)", m.units / m.groups);
  pr(P, "  for (int i = u * %d; i < (u + 1) * %d; i++) {", m.unit, m.unit);
  pr(P, "    const real dy = g[i] * %s;", w);
  pr(P, "    s += dy;");
  pr(P, "    t += dy * (x[i] - mean);");
  pr(P, "  }");
  pr(P, "const real a = (real)(s / %d), q = (real)(t * invstd * invstd / %d);", m.group_size, m.group_size);
  pr(P, "for (int u = 0; u < %d; u++)", m.units / m.groups);
  pr(P, "  for (int i = u * %d; i < (u + 1) * %d; i++)", m.unit, m.unit);
  pr(P, "    dx[i] %s invstd * (g[i] * %s - a - (x[i] - mean) * q);", acc_op(E, n, 0), w);
  pr(P, "}");
}

/* d weight and d bias, unit by unit over the samples in order */
static void norm_backward_params(Emit *E, Norm m) {
  CnnPrinter *P = E->P;
  int size = m.groups * m.group_size, per_group = m.units / m.groups;
  pr(P, "PARALLEL_FOR_IF(n * %d > 16384)", size);
  pr(P, "for (int u = 0; u < %d; u++) {", m.units);
  pr(P, "double sw = 0, sb = 0;");
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "const size_t at = (size_t)b * %d + (size_t)u * %d, bg = (size_t)b * %d + u / %d;", size, m.unit,
     m.groups, per_group);
  pr(P, "const real mean = %s[2 * bg], invstd = %s[2 * bg + 1];", m.stats, m.stats);
  pr(P, "for (int i = 0; i < %d; i++) {", m.unit);
  pr(P, "sb += dout[at + i];");
  pr(P, "sw += dout[at + i] * ((in[at + i] - mean) * invstd);");
  pr(P, "}\n}");
  pr(P, "dweight[u] += (real)sw;");
  pr(P, "dbias[u] += (real)sb;");
  pr(P, "}");
}

static void norm_backward(Emit *E, const CnnNode *n, Norm m) {
  CnnPrinter *P = E->P;
  pr(P, "static void %s_backward(const real *restrict dout, real *restrict din, const real *restrict in,",
     n->name);
  if (m.affine) pr(P, "    const real *restrict weight, real *restrict dweight, real *restrict dbias,");
  pr(P, "    int n) {");
  if (m.affine) norm_backward_params(E, m);
  pr(P, "if (!din) return;");
  norm_backward_input(E, n, m);
  pr(P, "}");
}

void cnn_emit_norm(Emit *E, const CnnNode *n) {
  CnnPrinter *P = E->P;
  Norm m = norm_shape(E, n);
  cnn_layer_comment(E, n, fmt(E, "%s%seps %g; per sample: %d group%s of %d values, normalized by their own\n"
                                 " * mean and biased variance (no running statistics)",
                              cnn_tensor_shape_text(E, n), m.affine ? "; " : "", n->eps, m.groups,
                              m.groups > 1 ? "s" : "", m.group_size));
  pr(P, "static real *%s; /* mean and 1/stddev of each sample's groups (layout()) */", m.stats);
  nl(P);
  norm_forward(E, n, m);
  const char *w = param(E, n, "weight"), *b = param(E, n, "bias");
  const char *ps = m.affine ? fmt(E, " %s, %s,", w, b) : "";
  E->fwd[n->id] = fmt(E, "%s_forward(%s, %s,%s n);", n->name, act(E, n->id), act(E, n->inputs[0]), ps);
  if (!cnn_backward_begin(E, n)) return;
  norm_backward(E, n, m);
  const char *pg = m.affine ? fmt(E, " %s, %s_grad, %s_grad,", w, w, b) : "";
  E->bwd[n->id] = fmt(E, "%s_backward(%s, %s, %s,%s n);", n->name, grad(E, n->id), din_arg(E, n, 0),
                      cnn_bact(E, n, n->inputs[0]), pg);
}

/* The per-sample statistics' slot in layout() (b samples). */
void cnn_emit_norm_slot(Emit *E, const CnnNode *n) {
  Norm m = norm_shape(E, n);
  pr(E->P, "SLOT(%s, b * %d);", m.stats, 2 * m.groups);
}
