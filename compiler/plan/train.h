/* train.h - the plan of the training code (plan/train.c): which nodes run
 * in which pass, the fusions, the parameter layout and the memory plan, as
 * data that the training printer (emit/train.c) renders and that
 * `cnncc --plan` prints (cnn_print_train_plan). */
#ifndef CNNCC_PLAN_TRAIN_H
#define CNNCC_PLAN_TRAIN_H

#include "plan.h"

typedef struct {
  const CnnNet *net;
  CnnArena *A;
  int *root;        /* the node whose buffer a node uses (flatten aliases) */
  bool *live_train; /* computed by forward: ancestors of the loss input */
  bool *live_pred;  /* computed by predict: ancestors of the output */
  bool *ng;         /* its gradient is needed for parameter gradients */
  int *nts;
  CnnTensorSpec (*ts)[4];
  int64_t (*off)[4]; /* offset of each tensor in params or buffers */
  int64_t nparams, nbuffers;
  int ntensors;
  /* fusions: relu_into[i] is the relu whose forward pass node i's layer does
   * too, writing the relu's output (a batchnorm also does its backward pass),
   * -1 if none; fused[r] marks such a relu. */
  int *relu_into;
  bool *fused;
  /* has_fwd[i], has_bwd[i]: node i has a forward (backward) call of its own */
  bool *has_fwd, *has_bwd;
  /* assign[i][k]: node i's backward pass writes (=) the gradient of its
   * input k instead of adding to it (+=): it is the first in backward order
   * to write that buffer, so no buffer needs zeroing. */
  bool (*assign)[CNN_MAX_INPUTS];
  /* the memory plan: bread[i] lists the activations (root nodes) that node
   * i's backward pass reads; recompute[r] is the batchnorm or mul whose
   * output r the backward pass recomputes instead of keeping it (-1: none),
   * before the backward pass of node recompute_at[r]; buf[] the blocks of
   * the pool (bytes per sample), act_buf[r], grad_buf[r], arg_buf[r] their
   * index (-1) */
  int (*bread)[2], *nbread;
  int *recompute, *recompute_at;
  /* in_place[i]: node i's backward pass writes its input's gradient over
   * its output's, whose buffer grad_alias[input] then is (-1: its own) */
  bool *in_place;
  int *grad_alias;
  bool (*add_alias)[CNN_MAX_INPUTS]; /* add_alias[i][k]: input k of add i has its gradient buffer */
  int *alias_by; /* the node whose backward pass makes grad_alias[] */
  CnnBlock *buf;
  int nbuf, *act_buf, *grad_buf, *arg_buf;
  int64_t pool_bytes; /* per sample */
  bool replay;        /* a second backward pass must run the forward pass again */
} CnnTrainPlan;

/* The plan of the training code of net in elements of es bytes (float or
 * double); NULL (with a message) if the memory plan fails its check. */
CnnTrainPlan *cnn_plan_training(CnnArena *A, const CnnNet *net, int64_t es);
/* Layers whose backward pass does their fused relu's too. */
bool cnn_merges_relu_backward(const CnnNode *n);
/* Does node i's backward pass read activation (root node) r? */
bool cnn_train_reads_in_backward(const CnnTrainPlan *T, int i, int r);
/* The step of node i's backward pass, and the step after the backward pass. */
int cnn_train_step_backward(const CnnTrainPlan *T, int i);
int cnn_train_step_end(const CnnTrainPlan *T);
/* "conv1 forward", "bn1 backward .. end": the steps of a block, in words */
const char *cnn_train_life_text(const CnnTrainPlan *T, const CnnBlock *u);
/* The plan as text (cnncc --plan, docs/generated-code.md). */
void cnn_print_train_plan(FILE *f, const CnnTrainPlan *T);

#endif
