/* train.h - what the files of the training printer share (emit/train.c:
 * the file and its sections; train_conv.c: the matrix-product layers;
 * train_layers.c: the other layers; train_loss.c: the loss). They render
 * the plan (plan/train.h), which decides everything the text depends on. */
#ifndef CNNCC_EMIT_TRAIN_H
#define CNNCC_EMIT_TRAIN_H

#include <inttypes.h>

#include "cnncc.h"
#include "kernels.h"
#include "plan/train.h"

#define pr cnn_pr

typedef struct CnnLayerCode CnnLayerCode; /* emit/train_shared.c */

typedef struct {
  const CnnNet *net;
  CnnPrinter *P;
  CnnArena *A;
  const CnnEmitOptions *opt;
  bool dbl;
  const char *N; /* network name, the prefix of public symbols */
  char *NU;      /* upper case, for macros */
  const CnnNode *z; /* the loss input (the logits) */
  bool mse;         /* the loss is the mean squared error */
  const CnnTrainPlan *T; /* what the text says (plan/train.c) */
  const char **fwd, **bwd; /* the call of each layer's functions */
  bool *fwd_training, *fwd_seed; /* the call uses `training`, `dropout_seed` */
  int *prof, nprof; /* the row of each node in the layer profile (-1: none), rows */
  /* --mpi (train_mpi.c), per root node: are the activation, the activation
   * when its layer ran, and the gradient known for every sample? */
  char *whole, *whole_at_forward, *grad_whole;
  CnnLayerCode *codes; /* the distinct layer code printed so far */
} Emit;

/* printf into the emitter's arena (the text lives as long as the emitter) */
#define fmt(E, ...) ((const char *)cnn_format((E)->A, __VA_ARGS__))

static inline void nl(CnnPrinter *P) { cnn_pr(P, "%s", ""); }

/* math.h function of the generated code's type: exp -> expf for float. */
static inline const char *fn(Emit *E, const char *name) { return E->dbl ? name : fmt(E, "%sf", name); }

static inline int64_t size_of(const CnnNode *n) { return cnn_shape_size(n->shape); }
static inline const CnnNode *input_node(Emit *E, const CnnNode *n, int i) { return &E->net->nodes[n->inputs[i]]; }
static inline const char *act(Emit *E, int id) { return fmt(E, "act.%s", E->net->nodes[E->T->root[id]].name); }
static inline const char *grad(Emit *E, int id) { return fmt(E, "grad.%s", E->net->nodes[E->T->root[id]].name); }

/* The gradient buffer for input i of node n as the backward call passes it:
 * NULL unless someone needs it (parameters upstream, or d loss / d input). */
static inline const char *din_arg(Emit *E, const CnnNode *n, int i) {
  int id = n->inputs[i];
  return E->T->ng[id] ? grad(E, id) : fmt(E, "want_dx ? %s : NULL", grad(E, id));
}

/* "=" if node n's backward pass writes input k's gradient, "+=" if it adds */
static inline const char *acc_op(Emit *E, const CnnNode *n, int k) { return E->T->assign[n->id][k] ? "=" : "+="; }

/* The buffer a layer's forward pass writes: its own, or its fused relu's. */
static inline const char *out_act(Emit *E, const CnnNode *n) {
  return act(E, E->T->relu_into[n->id] >= 0 ? E->T->relu_into[n->id] : n->id);
}

/* "conv1_weight": a parameter's named view */
static inline const char *param(Emit *E, const CnnNode *n, const char *t) { return fmt(E, "%s_%s", n->name, t); }

/* ---- emit/train.c ---- */
/* A floating-point literal of the generated code's type. */
const char *cnn_lit(Emit *E, double v);
/* The shortest "%g" text that reads back as v. */
const char *cnn_num(Emit *E, double v);
/* "oy * 2 + ky * 3 - 1", leaving out zero terms and unit factors. */
const char *cnn_lin(Emit *E, const char *v0, int c0, const char *v1, int c1, int k);
/* The comment before a layer's functions: name, operator, line, shapes. */
void cnn_layer_comment(Emit *E, const CnnNode *n, const char *extra);
/* "weight [6, 1, 5, 5], bias [6]" */
const char *cnn_tensor_shape_text(Emit *E, const CnnNode *n);

/* ---- emit/train_layers.c ---- */
/* What follows in a layer emitter is its backward pass, which a layer that
 * only predict runs (e.g. a softmax after the logits) does not have: false
 * for those. */
bool cnn_backward_begin(Emit *E, const CnnNode *n);
/* "kernel 3x3, stride 1x1, ..." for comments */
const char *cnn_window_text(Emit *E, const CnnNode *n);
/* act() in a backward call: one of those the plan has it read, or abort */
const char *cnn_bact(Emit *E, const CnnNode *n, int id);
/* The per-channel sums of batchnorm (the helper the file carries). */
void cnn_emit_lanes(Emit *E);
/* A layer's functions, and its calls in E->fwd, E->bwd. */
void cnn_emit_layer(Emit *E, const CnnNode *n);
/* The same, sharing the functions of an earlier layer with the same code
 * (emit/train_shared.c). */
void cnn_emit_layer_once(Emit *E, const CnnNode *n);

/* ---- emit/train_norm.c: groupnorm, layernorm ---- */
void cnn_emit_norm(Emit *E, const CnnNode *n);
/* the layer's per-sample statistics in layout() */
void cnn_emit_norm_slot(Emit *E, const CnnNode *n);

/* ---- emit/train_conv.c ---- */
void cnn_emit_conv(Emit *E, const CnnNode *n);
void cnn_emit_dense(Emit *E, const CnnNode *n);

/* ---- emit/train_loss.c ---- */
void cnn_emit_loss(Emit *E);

/* train_mpi.c: the exchanges of a trainer built with --mpi (no-ops without) */
bool cnn_mpi_check(const CnnNet *net);
void cnn_mpi_begin(Emit *E);
void cnn_mpi_forward(Emit *E, int i);
void cnn_mpi_make_whole(Emit *E, int id);
void cnn_mpi_backward_begin(Emit *E);
void cnn_mpi_backward(Emit *E, int i);

#endif
