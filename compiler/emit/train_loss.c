/* emit/train_loss.c - the loss: its forward and backward functions. */
#include "train.h"

/* The loss input z and the index texts the loss functions share. */
typedef struct {
  const CnnNode *z;
  int c, positions; /* channels (classes), positions per channel */
  int64_t size;     /* per sample */
  const char *shape;
  const char *cp, *lp, *bp; /* c * positions, label * positions, b * positions + p */
} Loss;

/* The loops over the samples b and positions p of the loss input, the
 * open braces of both left to the caller to close; z is the position's
 * first channel in VALUES, channel c at z[L->cp]. */
static void loss_positions(Emit *E, const Loss *L, const char *values) {
  CnnPrinter *P = E->P;
  pr(P, "for (int b = 0; b < n; b++) {");
  pr(P, "for (int p = 0; p < %d; p++) {", L->positions);
  pr(P, "const real *z = %s + (size_t)b * %" PRId64 " + p;", values, L->size);
}

/* softmax cross-entropy over the channels, one label per position */
static void loss_cross_entropy(Emit *E, const Loss *L) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  nl(P);
  pr(P, "/* loss: softmax cross-entropy of %s %s, line %d\n"
        " * classes along the %d channels, one label per %s; the mean over n * %d terms.\n"
        " * Labels outside [0, %d) add nothing (and count as wrong). */",
     L->z->name, L->shape, net->loss_loc.first_line, L->c, L->positions > 1 ? "position" : "sample", L->positions,
     L->c);
  pr(P, "static real loss_forward(const real *restrict logits, const int32_t *restrict labels, int n,");
  pr(P, "    long *correct) {");
  pr(P, "double total = 0, lost = 0; /* compensated (Neumaier) sum */");
  pr(P, "long right = 0;");
  loss_positions(E, L, "logits");
  pr(P, "const int32_t label = labels[%s];", L->bp);
  pr(P, "real m = z[0];");
  pr(P, "int best = 0;");
  pr(P, "for (int c = 1; c < %d; c++) {", L->c);
  pr(P, "if (z[%s] > m) {", L->cp);
  pr(P, "m = z[%s];", L->cp);
  pr(P, "best = c;");
  pr(P, "}");
  pr(P, "}");
  pr(P, "double s = 0;");
  pr(P, "for (int c = 0; c < %d; c++) s += %s(z[%s] - m);", L->c, fn(E, "exp"), L->cp);
  pr(P, "if (label < 0 || label >= %d) continue;", L->c);
  pr(P, "add_compensated(&total, &lost, log(s) + m - z[%s]);", L->lp);
  pr(P, "right += best == label;");
  pr(P, "}\n}");
  pr(P, "if (correct) *correct = right;");
  pr(P, "return (real)((total + lost) / ((double)n * %d));", L->positions);
  pr(P, "}");
  nl(P);
  pr(P, "/* d loss / d logits = (softmax - onehot(label)) / (n * %d), written (not added) */", L->positions);
  pr(P, "static void loss_backward(real *restrict dlogits, const real *restrict logits,");
  pr(P, "    const int32_t *restrict labels, int n) {");
  pr(P, "const real scale = (real)(1.0 / ((double)n * %d));", L->positions);
  loss_positions(E, L, "logits");
  pr(P, "real *dz = dlogits + (size_t)b * %" PRId64 " + p;", L->size);
  pr(P, "const int32_t label = labels[%s];", L->bp);
  pr(P, "if (label < 0 || label >= %d) {", L->c);
  pr(P, "for (int c = 0; c < %d; c++) dz[%s] = 0;", L->c, L->cp);
  pr(P, "continue;");
  pr(P, "}");
  pr(P, "real m = z[0], s = 0;");
  pr(P, "for (int c = 1; c < %d; c++) m = z[%s] > m ? z[%s] : m;", L->c, L->cp, L->cp);
  pr(P, "for (int c = 0; c < %d; c++) s += %s(z[%s] - m);", L->c, fn(E, "exp"), L->cp);
  pr(P, "for (int c = 0; c < %d; c++)", L->c);
  pr(P, "  dz[%s] = (%s(z[%s] - m) / s - (c == label)) * scale;", L->cp, fn(E, "exp"), L->cp);
  pr(P, "}\n}\n}");
}

/* mean squared error, with the positions whose largest channel is the label */
static void loss_mse(Emit *E, const Loss *L) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  nl(P);
  pr(P, "/* loss: mean squared error of %s %s, line %d: the mean over n * %" PRId64 " elements.\n"
        " * Correct: positions whose largest channel is the label (when labels are given). */",
     L->z->name, L->shape, net->loss_loc.first_line, L->size);
  pr(P, "static real loss_forward(const real *restrict y, const real *restrict targets,");
  pr(P, "    const int32_t *restrict labels, int n, long *correct) {");
  pr(P, "double total = 0, lost = 0; /* compensated (Neumaier) sum */");
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) {", L->size);
  pr(P, "const double d = (double)y[i] - targets[i];");
  pr(P, "add_compensated(&total, &lost, d * d);");
  pr(P, "}");
  pr(P, "long right = 0;");
  pr(P, "if (labels) {");
  loss_positions(E, L, "y");
  pr(P, "int best = 0;");
  pr(P, "for (int c = 1; c < %d; c++) best = z[%s] > z[%s] ? c : best;", L->c, L->cp,
     cnn_lin(E, "best", L->positions, NULL, 0, 0));
  pr(P, "right += best == labels[%s];", L->bp);
  pr(P, "}\n}\n}");
  pr(P, "if (correct) *correct = right;");
  pr(P, "return (real)((total + lost) / ((double)n * %" PRId64 "));", L->size);
  pr(P, "}");
  nl(P);
  pr(P, "/* d loss / d y = 2 (y - target) / (n * %" PRId64 ") */", L->size);
  pr(P, "static void loss_backward(real *restrict dy, const real *restrict y,");
  pr(P, "    const real *restrict targets, int n) {");
  pr(P, "const real scale = (real)(2.0 / ((double)n * %" PRId64 "));", L->size);
  pr(P, "for (size_t i = 0; i < (size_t)n * %" PRId64 "; i++) dy[i] = (y[i] - targets[i]) * scale;",
     L->size);
  pr(P, "}");
}

void cnn_emit_loss(Emit *E) {
  CnnPrinter *P = E->P;
  nl(P);
  pr(P, "/* Adds v to *sum and the rounding error to *lost (Neumaier): the loss is a\n"
        " * mean of many terms, and finite-difference checks need all its digits. */");
  pr(P, "static void add_compensated(double *sum, double *lost, double v) {");
  pr(P, "const double t = *sum + v;");
  pr(P, "*lost += fabs(*sum) >= fabs(v) ? (*sum - t) + v : (v - t) + *sum;");
  pr(P, "*sum = t;");
  pr(P, "}");
  const CnnNode *z = &E->net->nodes[E->net->loss_input];
  char shape[64];
  Loss L = {.z = z, .c = z->shape.dim[0], .size = size_of(z), .shape = cnn_shape_str(z->shape, shape, sizeof shape)};
  L.positions = (int)(L.size / L.c);
  L.cp = cnn_lin(E, "c", L.positions, NULL, 0, 0);
  L.lp = cnn_lin(E, "label", L.positions, NULL, 0, 0);
  L.bp = cnn_lin(E, "b", L.positions, "p", 1, 0);
  if (E->net->loss == LOSS_SOFTMAX_CROSS_ENTROPY) loss_cross_entropy(E, &L);
  else loss_mse(E, &L);
}
