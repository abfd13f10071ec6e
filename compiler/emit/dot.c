/* emit/dot.c - `cnncc --emit=dot`: the network as a Graphviz graph, for
 * a picture (`dot -Tsvg`). One box per layer: the operator with the
 * arguments that differ from front/ops.c's defaults, in the language's own
 * syntax, then the layer's name, output shape and parameters (summary.c's
 * numbers). Edges follow the DAG; an edge that skips (a residual shortcut,
 * a branch into a concat) is dashed and coloured, and the main line is
 * weighted straight, so that a ResNet reads as a column with its shortcuts
 * beside it. The output is deterministic: the pictures in docs/images/ are
 * compared with it (tests/dot.sh). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"

/* The fill of a box by the kind of operator, so that a long network can be
 * read at a glance: convolutions, pools, dense, merges, normalization. */
static const char *fill(CnnOp op) {
  const CnnOpInfo *info = cnn_op_info(op);
  if (info->flags & CNN_OPF_CONV) return "#cfe2f3";
  if (info->flags & CNN_OPF_POOL || op == OP_GLOBAL_AVGPOOL || op == OP_GLOBAL_MAXPOOL || op == OP_UPSAMPLE ||
      op == OP_ADAPTIVE_AVGPOOL1D || op == OP_ADAPTIVE_AVGPOOL2D)
    return "#d9ead3";
  if (info->flags & CNN_OPF_ACTIVATION) return "#f3f3f3";
  switch (op) {
  case OP_INPUT: return "#fff2cc";
  case OP_DENSE: return "#fce5cd";
  case OP_BATCHNORM: case OP_GROUPNORM: case OP_LAYERNORM: return "#ead1dc";
  case OP_ADD: case OP_MUL: case OP_CONCAT: return "#d9d2e9";
  default: return "#ffffff"; /* flatten, dropout, softmax */
  }
}

/* "3" when both axes agree or for a 1-d operator, "(3, 5)" otherwise. */
static const char *size_text(const int v[2], CnnOp op, char *buf, size_t size) {
  if (cnn_op_info(op)->rank == 1 || v[0] == v[1]) snprintf(buf, size, "%d", v[1]);
  else snprintf(buf, size, "(%d, %d)", v[0], v[1]);
  return buf;
}

/* The default of op's keyword parameter `name` from front/ops.c's table. */
static double default_of(CnnOp op, const char *name) {
  const CnnOpInfo *info = cnn_op_info(op);
  for (int i = 0; i < cnn_op_nparams(info); i++)
    if (!strcmp(info->params[i].name, name)) return info->params[i].value;
  return 0;
}

typedef struct {
  char *buf;
  size_t size, len;
} Text;

static void add(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(Text *t, const char *fmt, ...) {
  if (t->len >= t->size) return; /* truncated: a label, never memory */
  va_list ap;
  va_start(ap, fmt);
  t->len += (size_t)vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
  va_end(ap);
}

/* ", name=v" for a size argument unless it is `unless` on both axes. */
static void size_arg(Text *t, const CnnNode *n, const char *name, const int v[2], int unless) {
  char b[32];
  if (v[0] != unless || v[1] != unless) add(t, ", %s=%s", name, size_text(v, n->op, b, sizeof b));
}

/* The padding of `same` along axis i: the window's extent less one. */
static int same_total(const CnnNode *n, int i) { return n->dilation[i] * (n->kernel[i] - 1); }

/* Zero padding: a size when symmetric, else what the source said if it
 * can be told (`causal`: all of it before; `same`: the window's extent,
 * split), else before+after per axis. */
static void padding_arg(Text *t, const CnnNode *n) {
  bool one_d = cnn_op_info(n->op)->rank == 1, same = true;
  for (int i = one_d; i < 2; i++)
    same = same && n->pad_lo[i] + n->pad_hi[i] == same_total(n, i) && n->stride[i] == 1;
  if (n->pad_lo[0] == n->pad_hi[0] && n->pad_lo[1] == n->pad_hi[1]) size_arg(t, n, "padding", n->pad_lo, 0);
  else if (one_d && same && n->pad_hi[1] == 0) add(t, ", padding=causal");
  else if (same) add(t, ", padding=same");
  else if (one_d) add(t, ", padding=%d+%d", n->pad_lo[1], n->pad_hi[1]);
  else add(t, ", padding=(%d+%d, %d+%d)", n->pad_lo[0], n->pad_hi[0], n->pad_lo[1], n->pad_hi[1]);
}

/* The operator's arguments as the language writes them: "6, 5, padding=2". */
static void arguments(Text *t, const CnnNode *n) {
  char b[32];
  bool conv = cnn_op_info(n->op)->flags & CNN_OPF_CONV, pool = cnn_op_info(n->op)->flags & CNN_OPF_POOL;
  if (conv) {
    add(t, "%d, %s", n->out_channels, size_text(n->kernel, n->op, b, sizeof b));
    size_arg(t, n, "stride", n->stride, 1);
    padding_arg(t, n);
    if (n->op == OP_CONV_TRANSPOSE2D) size_arg(t, n, "output_padding", n->output_padding, 0);
    size_arg(t, n, "dilation", n->dilation, 1);
    if (n->groups > 1) add(t, ", groups=%d", n->groups);
  } else if (pool) {
    add(t, "%s", size_text(n->kernel, n->op, b, sizeof b));
    if (n->stride[0] != n->kernel[0] || n->stride[1] != n->kernel[1])
      add(t, ", stride=%s", size_text(n->stride, n->op, b, sizeof b));
    padding_arg(t, n);
  } else if (n->op == OP_DENSE) {
    add(t, "%d", n->out_channels);
  } else if (n->op == OP_ADAPTIVE_AVGPOOL1D || n->op == OP_ADAPTIVE_AVGPOOL2D) {
    add(t, "%s", size_text(n->output_size, n->op, b, sizeof b));
  } else if (n->op == OP_UPSAMPLE) {
    add(t, "scale=%s", size_text(n->scale, n->op, b, sizeof b));
    if (n->mode != CNN_UPSAMPLE_NEAREST) add(t, ", mode=bilinear");
  } else if (n->op == OP_DROPOUT) {
    add(t, "p=%g", n->p);
  } else if (n->op == OP_LEAKY_RELU && n->negative_slope != default_of(n->op, "negative_slope")) {
    add(t, "negative_slope=%g", n->negative_slope);
  } else if (n->op == OP_BATCHNORM) {
    if (n->eps != default_of(n->op, "eps")) add(t, "eps=%g", n->eps);
    if (n->momentum != default_of(n->op, "momentum"))
      add(t, "%smomentum=%g", t->len ? ", " : "", n->momentum);
  } else if (n->op == OP_GROUPNORM || n->op == OP_LAYERNORM) {
    if (n->op == OP_GROUPNORM) add(t, "%d", n->groups);
    if (n->eps != default_of(n->op, "eps")) add(t, "%seps=%g", t->len ? ", " : "", n->eps);
    if (!n->affine) add(t, "%saffine=false", t->len ? ", " : "");
  }
  if ((conv || n->op == OP_DENSE) && !n->bias) add(t, "%sbias=false", t->len ? ", " : "");
}

/* A box: the operator in bold with the arguments, under it in grey the
 * layer's name, output shape and parameters: "conv2d(6, 5, padding=2)",
 * "conv1: [6, 28, 28], 156 params". Names and arguments are identifiers,
 * numbers and punctuation, none of which HTML-like labels need escaped; the
 * input is named as the language declares it. */
static void node(FILE *out, const CnnNet *net, const CnnNode *n) {
  char args[192] = "", shape[64], count[32];
  Text t = {args, sizeof args, 0};
  arguments(&t, n);
  cnn_shape_str(n->shape, shape, sizeof shape);
  fprintf(out, "  \"%s\" [fillcolor=\"%s\"%s, label=<", n->name, fill(n->op),
          n->id == net->output ? ", penwidth=2" : "");
  fprintf(out, t.len ? "<B>%s</B>(%s)" : "<B>%s</B>", cnn_op_name(n->op), args);
  fprintf(out, "<BR/><FONT POINT-SIZE=\"9\" COLOR=\"#555555\">%s: %s",
          n->op == OP_INPUT && n->var ? n->var : n->name, shape);
  if (n->nparams)
    fprintf(out, ", %s param%s", cnn_grouped(n->nparams, count, sizeof count), n->nparams == 1 ? "" : "s");
  fprintf(out, "</FONT>>];\n");
}

/* The longest path from the input to each node: an edge that advances it
 * by one is the main line, any other one skips (a shortcut into an add, an
 * encoder's branch into a concat). By this, of a block with a projection
 * shortcut, the shorter branch is the dashed one. NULL when out of memory. */
static int *depths(const CnnNet *net) {
  int *d = calloc((size_t)net->nnodes, sizeof *d);
  for (int i = 0; d && i < net->nnodes; i++)
    for (int j = 0; j < net->nodes[i].ninputs; j++)
      if (d[net->nodes[i].inputs[j]] + 1 > d[i]) d[i] = d[net->nodes[i].inputs[j]] + 1;
  return d;
}

static void edges(FILE *out, const CnnNet *net, const CnnNode *n, const int *depth) {
  for (int i = 0; i < n->ninputs; i++) {
    const CnnNode *from = &net->nodes[n->inputs[i]];
    if (depth[from->id] + 1 == depth[n->id])
      fprintf(out, "  \"%s\" -> \"%s\" [weight=8];\n", from->name, n->name);
    else
      fprintf(out, "  \"%s\" -> \"%s\" [style=dashed, color=\"#c0504d\", weight=1];\n", from->name,
              n->name);
  }
}

static const char *loss_name(CnnLossKind k) {
  return k == LOSS_SOFTMAX_CROSS_ENTROPY ? "softmax_cross_entropy" : "mse";
}

int cnn_emit_dot(FILE *out, const CnnNet *net, const char *source) {
  char params[32], flops[32];
  int *depth = depths(net);
  if (!depth) return -1;
  const char *base = source ? strrchr(source, '/') : NULL; /* the same from any directory */
  fprintf(out, "// %s: cnncc --emit=dot%s%s; render with dot -Tsvg\n", net->name, source ? " " : "",
          base ? base + 1 : source ? source : "");
  fprintf(out, "digraph \"%s\" {\n", net->name);
  fprintf(out, "  graph [rankdir=TB, nodesep=0.3, ranksep=0.25, fontname=\"Helvetica\", fontsize=12,\n"
               "         labelloc=t, label=<<B>%s</B>: %s parameters, %s FLOPs per sample>];\n",
          net->name, cnn_grouped(net->nparams, params, sizeof params),
          cnn_grouped(net->flops, flops, sizeof flops));
  fprintf(out, "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10,"
               " margin=\"0.12,0.04\"];\n");
  fprintf(out, "  edge [color=\"#595959\", arrowsize=0.6];\n");
  for (int i = 0; i < net->nnodes; i++) node(out, net, &net->nodes[i]);
  for (int i = 1; i < net->nnodes; i++) edges(out, net, &net->nodes[i], depth);
  free(depth);
  if (net->loss != LOSS_NONE) { /* what training minimizes, below the layer it reads */
    fprintf(out, "  \"loss()\" [shape=ellipse, style=dashed, label=<loss %s>];\n", loss_name(net->loss));
    fprintf(out, "  \"%s\" -> \"loss()\" [style=dashed];\n", net->nodes[net->loss_input].name);
  }
  fprintf(out, "}\n");
  return ferror(out) ? -1 : 0;
}
