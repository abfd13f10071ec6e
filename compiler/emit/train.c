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
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"
#include "train.h"

/* A floating-point literal of the generated code's type. */
const char *cnn_lit(Emit *E, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, E->dbl ? "%.17g" : "%.9g", v);
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  return fmt(E, "%s%s", buf, E->dbl ? "" : "f");
}

/* The shortest "%g" text that reads back as v. */
const char *cnn_num(Emit *E, double v) {
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return fmt(E, "%s", buf);
}

/* "oy * 2 + ky * 3 - 1", leaving out zero terms and unit factors. */
const char *cnn_lin(Emit *E, const char *v0, int c0, const char *v1, int c1, int k) {
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

void cnn_layer_comment(Emit *E, const CnnNode *n, const char *extra) {
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

const char *cnn_tensor_shape_text(Emit *E, const CnnNode *n) {
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

/* the targets' names, for the file's first comment */
static const char *const target_names[] = {
    [CNN_TARGET_GENERIC] = "generic",
    [CNN_TARGET_NATIVE] = "native",
    [CNN_TARGET_AVX2] = "avx2",
    [CNN_TARGET_AVX512] = "avx512",
};

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
    cnn_pr_verbatim(P, cnn_kernel_sum);
  }
  if (E->T->needs.lanes) cnn_emit_lanes(E);
  if (E->T->needs.pool2) cnn_emit_pool_kernels(P);
  if (E->T->needs.gemm) cnn_emit_kernels(P, E->dbl, E->T->needs.implicit, E->T->needs.windows);
}

/* The layer profile: with CNNCC_PROFILE=1 (any value but 0) in the
 * environment, the network functions time every layer's passes (lap()) and
 * the program prints a table at exit, with the roofline model's numbers of
 * each pass (plan/roofline.c). Rows: the layers that have code, then the
 * loss and the zeroing of the gradients (E->prof maps nodes to rows). */
static void emit_profile_row(Emit *E, const char *name, const char *op, CnnRoofline r) {
  pr(E->P, "{\"%s\", \"%s\", {%" PRId64 ", %" PRId64 "}, {%" PRId64 ", %" PRId64 "}, {%" PRId64 ", %" PRId64 "}, {0, 0}, {0, 0}, {0, 0}},",
     name, op, r.flops[0], r.flops[1], r.bytes[0], r.bytes[1], r.wbytes[0], r.wbytes[1]);
}

static void emit_profile(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const int64_t es = E->dbl ? 8 : 4;
  E->prof = cnn_alloc(E->A, sizeof(int) * (size_t)net->nnodes);
  E->nprof = 0;
  for (int i = 0; i < net->nnodes; i++)
    E->prof[i] = (E->T->live_train[i] || E->T->live_pred[i]) && (E->fwd[i] || E->bwd[i]) ? E->nprof++ : -1;
  E->nprof += 2;
  nl(P);
  pr(P, "/* ---- the layer profile ----");
  pr(P, " * With CNNCC_PROFILE=1 in the environment, lap() adds the time since the last");
  pr(P, " * lap to a layer's forward or backward pass, and the table goes to stderr at");
  pr(P, " * exit: per pass milliseconds per call, GFLOP/s, GB/s and where the pass");
  pr(P, " * stands against the roofline of the machine's measured peaks. The FLOPs and");
  pr(P, " * bytes are cnncc's count (docs/performance.md): bytes the tensors the pass");
  pr(P, " * reads and writes, each once. */");
  pr(P, "static struct {");
  pr(P, "const char *name, *op;");
  pr(P, "double flops[2], bytes[2]; /* per sample: forward, backward */");
  pr(P, "double wbytes[2];          /* per call: parameters and their gradients */");
  pr(P, "double seconds[2];");
  pr(P, "long calls[2], samples[2];");
  pr(P, "} profile[%d] = {", E->nprof);
  for (int i = 0; i < net->nnodes; i++)
    if (E->prof[i] >= 0)
      emit_profile_row(E, net->nodes[i].name, cnn_op_name(net->nodes[i].op), cnn_roofline(E->T, i, es));
  emit_profile_row(E, "(loss)", "", cnn_roofline_loss(E->T, es));
  emit_profile_row(E, "(zero gradients)", "", cnn_roofline_zeroing(E->T, es));
  pr(P, "};");
  pr(P, "static int profiling = -1; /* -1: not decided yet */");
  pr(P, "static double profile_clock;");
  nl(P);
  cnn_pr_verbatim(P, cnn_kernel_profile);
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
  if (E->opt->mpi) {
    pr(P, "/* --mpi: a data-parallel trainer; build it with mpicc and libcnnrt_mpi */");
    pr(P, "#define CNNCC_MPI 1");
  }
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
  if (E->mse) pr(P, "static real *targets_copy; /* %s_OUT_SIZE per sample */", NU);
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
    if (E->T->live_train[i] || E->T->live_pred[i]) cnn_emit_layer(E, &net->nodes[i]);
  cnn_emit_loss(E);
}

/* layout(): the arena, with the pool as the memory plan has it */
static void emit_layout(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *NU = E->NU;
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
      if (bs[k] >= 0) {
        const CnnBlock *u = &E->T->buf[bs[k]];
        pr(P, "%s = AT(%" PRId64 "); /* %s */", u->name, u->offset, cnn_train_life_text(E->T, u));
      }
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
  if (E->mse) pr(P, "SLOT(targets_copy, b * %s_OUT_SIZE);", NU);
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
  cnn_pr_verbatim(P, cnn_kernel_arena);
  nl(P);
  pr(P, "int %s_setup(int batch) { return arena_setup(batch); }", N);
  pr(P, "void %s_free(void) { arena_free(); }", N);
}

/* <net>_init(): the parameters as PyTorch initializes them */
static void emit_init(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N;
  nl(P);
  cnn_pr_verbatim(P, cnn_kernel_init);
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

/* Whether the forward passes of the live nodes (live: the training or the
 * prediction path's) read training (batchnorm, dropout) and dropout_seed. */
typedef struct {
  bool training, seed;
} Reads;

static Reads forward_reads(Emit *E, const bool *live) {
  Reads r = {false, false};
  for (int i = 0; i < E->net->nnodes; i++) {
    r.training |= live[i] && E->fwd[i] && E->fwd_training[i];
    r.seed |= live[i] && E->fwd[i] && E->fwd_seed[i];
  }
  return r;
}

/* forward_layers(), replay() and <net>_forward() */
static void emit_forward(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
  Reads train = forward_reads(E, E->T->live_train);
  nl(P);
  pr(P, "/* The layers' forward passes, for %s_forward()%s */", N, E->T->replay ? " and replay()" : "");
  pr(P, "static void forward_layers(int n, int training, uint64_t dropout_seed) {");
  if (!train.training) pr(P, "(void)training;");
  if (!train.seed) pr(P, "(void)dropout_seed;");
  pr(P, "lap(-1, 0, n);");
  cnn_mpi_begin(E);
  for (int i = 0; i < net->nnodes; i++) {
    if (!E->T->live_train[i]) continue;
    cnn_mpi_forward(E, i);
    if (E->fwd[i]) {
      pr(P, "%s", E->fwd[i]);
      pr(P, "lap(%d, 0, n);", E->prof[i]);
    }
  }
  cnn_mpi_make_whole(E, E->z->id); /* for the loss */
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
  if (E->mse) {
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
    pr(P, "return loss_forward(%s, targets_copy, labels ? labels_copy : NULL, n, correct);", act(E, E->z->id));
  } else {
    pr(P, "(void)targets; /* cross-entropy uses the labels */");
    pr(P, "last.has_loss = labels != NULL;");
    pr(P, "if (!labels) return 0;");
    pr(P, "memcpy(labels_copy, labels, (size_t)n * %s_LABELS * sizeof *labels);", NU);
    pr(P, "return loss_forward(%s, labels_copy, n, correct);", act(E, E->z->id));
  }
  pr(P, "}");
}

/* <net>_backward_input() and <net>_backward() */
static void emit_backward(Emit *E) {
  CnnPrinter *P = E->P;
  const CnnNet *net = E->net;
  const char *N = E->N, *NU = E->NU;
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
  if (E->mse) pr(P, "loss_backward(%s, %s, targets_copy, n);", grad(E, E->z->id), act(E, E->z->id));
  else pr(P, "loss_backward(%s, %s, labels_copy, n);", grad(E, E->z->id), act(E, E->z->id));
  pr(P, "lap(%d, 1, n); /* loss */", E->nprof - 2);
  cnn_mpi_backward_begin(E);
  for (int i = net->nnodes - 1; i > 0; i--) {
    if (E->T->live_train[i]) cnn_mpi_backward(E, i);
    if (E->T->live_train[i] && E->bwd[i]) {
      for (int r = 0; r < net->nnodes; r++) {
        if (E->T->recompute_at[r] != i) continue;
        /* skipped with the layers that read it */
        bool needed = cnn_train_recompute_always(E->T, r);
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
  Reads uses = forward_reads(E, E->T->live_pred);
  nl(P);
  pr(P, "void %s_predict(const %s_real *x, int count, %s_real *out) {", N, N, N);
  if (uses.training) pr(P, "const int training = 0;");
  if (uses.seed) pr(P, "const uint64_t dropout_seed = 0;");
  pr(P, "last.n = 0; /* backward needs a new forward */");
  pr(P, "if (max_batch < 1) return;");
  pr(P, "for (int first = 0; first < count; first += max_batch) {");
  pr(P, "const int n = count - first < max_batch ? count - first : max_batch;");
  pr(P, "memcpy(%s, x + (size_t)first * %s_IN_SIZE, (size_t)n * %s_IN_SIZE * sizeof *x);", act(E, 0),
     NU, NU);
  cnn_mpi_begin(E);
  for (int i = 0; i < net->nnodes; i++) {
    if (!E->T->live_pred[i]) continue;
    cnn_mpi_forward(E, i);
    if (E->fwd[i]) pr(P, "%s", E->fwd[i]);
  }
  cnn_mpi_make_whole(E, o->id);
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
  if (!E->dbl) {
    const CnnNode *in = &net->nodes[0];
    char idim[64], odim[64];
    snprintf(idim, sizeof idim, "{%d, %d, %d}", in->shape.dim[0], in->shape.dim[1], in->shape.dim[2]);
    snprintf(odim, sizeof odim, "{%d, %d, %d}", E->z->shape.dim[0], E->z->shape.dim[1], E->z->shape.dim[2]);
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
    pr(P, ".out_rank = %d, .out_dim = %s,", E->z->shape.rank, odim);
    pr(P, ".loss = %s,", E->mse ? "RT_LOSS_MSE" : "RT_LOSS_SOFTMAX_CROSS_ENTROPY");
    pr(P, ".nparams = %s_NPARAMS,", NU);
    pr(P, ".params = %s_params,", N);
    pr(P, ".grads = %s_grads,", N);
    pr(P, ".nbuffers = %s_NBUFFERS,", NU);
    pr(P, ".buffers = %s_buffers,", N);
    pr(P, ".arch_hash = %s_ARCH_HASH,", NU);
    pr(P, ".defaults = {.lr = %s, .beta1 = %s, .beta2 = %s, .eps = %s,", cnn_num(E, t->lr),
       cnn_num(E, t->beta1), cnn_num(E, t->beta2), cnn_num(E, t->eps));
    pr(P, "             .weight_decay = %s, .batch = %d, .epochs = %d,", cnn_num(E, t->weight_decay),
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

typedef struct {
  FILE *c, *h;
  const CnnNet *net;
  const CnnEmitOptions *opt;
} TrainingFiles;

/* Plans the training code in A, then prints it (a CnnArenaTask). */
static int plan_and_print(CnnArena *A, void *ctx) {
  const TrainingFiles *f = ctx;
  const CnnNet *net = f->net;
  CnnPrinter printer;
  cnn_printer_init(&printer, f->c);
  Emit E = {.net = net, .P = &printer, .A = A, .opt = f->opt, .dbl = f->opt->dtype == CNN_DTYPE_DOUBLE,
            .N = net->name, .NU = cnn_strupper(A, net->name), .z = &net->nodes[net->loss_input],
            .mse = net->loss == LOSS_MSE};
  E.T = cnn_plan_training(A, net, E.dbl ? (int64_t)sizeof(double) : (int64_t)sizeof(float));
  if (!E.T) return -1;
  size_t nn = (size_t)net->nnodes;
  E.fwd = cnn_alloc(A, sizeof(char *) * nn);
  E.bwd = cnn_alloc(A, sizeof(char *) * nn);
  E.fwd_training = cnn_alloc(A, nn);
  E.fwd_seed = cnn_alloc(A, nn);
  emit_header(&E, f->h);
  emit_source(&E);
  if (printer.failed || ferror(f->c) || ferror(f->h)) {
    fprintf(stderr, "cnncc: error writing the generated code\n");
    return -1;
  }
  return 0;
}

int cnn_emit_c(FILE *c, FILE *h, const CnnNet *net, const CnnEmitOptions *opt) {
  if (net->loss == LOSS_NONE || net->loss_input < 0) {
    fprintf(stderr, "cnncc: network '%s' has no loss; training code needs a 'loss' statement\n",
            net->name);
    return -1;
  }
  if (opt->mpi && !cnn_mpi_check(net)) return -1;
  return cnn_with_arena(plan_and_print, &(TrainingFiles){c, h, net, opt}, "out of memory");
}
