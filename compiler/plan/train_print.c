/* train_print.c - `cnncc --plan`: the training plan as text, one line per
 * node, buffer and scratch, in a stable form that tests/plan.sh checks with
 * a checker of its own (docs/generated-code.md describes it). */
#include <inttypes.h>
#include <string.h>

#include "train.h"

static const char *const kernel_names[] = {
    [CNN_KERNEL_NONE] = "none",       [CNN_KERNEL_IMPLICIT] = "implicit", [CNN_KERNEL_GEMM] = "gemm",
    [CNN_KERNEL_WINDOWS] = "windows", [CNN_KERNEL_POOL2] = "pool2",       [CNN_KERNEL_LOOPS] = "loops",
    [CNN_KERNEL_GROUPED] = "grouped",
};

/* "node 3 conv1 conv2d: forward backward kernel implicit dx=gemm wgrad=dot relu=relu1" */
static void print_node(FILE *f, const CnnTrainPlan *T, int i) {
  const CnnNode *n = &T->net->nodes[i];
  const CnnTrainKernel *k = &T->kernel[i];
  fprintf(f, "node %d %s %s:", i, n->name, cnn_op_name(n->op));
  if (!T->live_train[i] && !T->live_pred[i]) {
    fprintf(f, " dead\n");
    return;
  }
  fprintf(f, " %s %s %s kernel %s", T->live_train[i] ? "train" : "predict-only",
          T->has_fwd[i] ? "forward" : "-", T->has_bwd[i] ? "backward" : "-", kernel_names[k->kind]);
  if (k->kind == CNN_KERNEL_IMPLICIT && T->live_train[i])
    fprintf(f, " dx=%s wgrad=%s", k->dx_gemm ? "gemm" : "implicit", k->wgrad_dot ? "dot" : "transposed");
  if (T->relu_into[i] >= 0) fprintf(f, " relu=%s", T->net->nodes[T->relu_into[i]].name);
  if (T->fused[i]) fprintf(f, " fused");
  if (T->relu_back[i] >= 0) fprintf(f, " relu-backward=%s", T->net->nodes[T->relu_back[i]].name);
  if (T->root[i] != i) fprintf(f, " alias=%s", T->net->nodes[T->root[i]].name);
  if (T->recompute[i] >= 0)
    fprintf(f, " recomputed-by=%s before=%s", T->net->nodes[T->recompute[i]].name,
            T->net->nodes[T->recompute_at[i]].name);
  if (T->in_place[i]) fprintf(f, " dx-in-place");
  if (T->grad_alias[i] >= 0) fprintf(f, " grad=grad.%s", T->net->nodes[T->grad_alias[i]].name);
  fprintf(f, "\n");
}

static void print_life(FILE *f, const CnnBlock *b, int life) {
  if (cnn_block_unused(b, life)) fprintf(f, " -");
  else fprintf(f, " %d..%d", b->lo[life], b->hi[life]);
}

/* "scratch conv1 col=123 b=456": the nonzero needs (total: all of them) */
static void print_scratch(FILE *f, const char *what, const CnnTrainScratch *s, bool all) {
  fprintf(f, "scratch %s", what);
  for (int k = 0; k < CNN_SCRATCH_FIELDS; k++)
    if (all || CNN_SCRATCH(s, k)) fprintf(f, " %s=%" PRId64, cnn_scratch_fields[k].name, CNN_SCRATCH(s, k));
  fprintf(f, "\n");
}

void cnn_print_train_plan(FILE *f, const CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  fprintf(f, "# the training plan of \"%s\" (cnncc --plan)\n", net->name);
  fprintf(f, "# steps: i the forward pass of node i, %d the loss, %d its backward pass,\n", nn, nn + 1);
  fprintf(f, "# %d - i the backward pass of node i, %d after it; sizes: buffers in bytes\n",
          cnn_train_step_end(T), cnn_train_step_end(T));
  fprintf(f, "# per sample, scratch in values\n");
  fprintf(f, "steps %d\n", cnn_train_step_end(T) + 1);
  for (int i = 0; i < nn; i++) print_node(f, T, i);
  fprintf(f, "# buffer NAME offset OFFSET size SIZE lives FORWARD BACKWARD (first..last step, - none)\n");
  for (int b = 0; b < T->nbuf; b++) {
    const CnnBlock *u = &T->buf[b];
    fprintf(f, "buffer %s offset %" PRId64 " size %" PRId64 " lives", u->name, u->offset, u->size);
    print_life(f, u, 0);
    print_life(f, u, 1);
    fprintf(f, " # %s\n", cnn_train_life_text(T, u));
  }
  fprintf(f, "pool %" PRId64 "\n", T->pool_bytes);
  fprintf(f, "replay %s\n", T->replay ? "yes" : "no");
  for (int i = 0; i < nn; i++)
    if (memcmp(&T->kernel[i].scratch, &(CnnTrainScratch){0}, sizeof(CnnTrainScratch)))
      print_scratch(f, net->nodes[i].name, &T->kernel[i].scratch, false);
  print_scratch(f, "total", &T->scratch, true);
  const CnnTrainNeeds *h = &T->needs;
  fprintf(f, "helpers%s%s%s%s%s%s\n", h->sum ? " sum" : "", h->gemm ? " gemm" : "", h->implicit ? " implicit" : "",
          h->windows ? " windows" : "", h->lanes ? " lanes" : "", h->pool2 ? " pool2" : "");
}

typedef struct {
  FILE *f;
  const CnnNet *net;
  int64_t element_size;
} PlanOutput;

/* Plans the training code in A and prints the plan (a CnnArenaTask). */
static int plan_and_print(CnnArena *A, void *ctx) {
  const PlanOutput *o = ctx;
  CnnTrainPlan *T = cnn_plan_training(A, o->net, o->element_size);
  if (T) cnn_print_train_plan(o->f, T);
  return !T || fflush(o->f) || ferror(o->f) ? -1 : 0;
}

int cnn_print_training_plan(FILE *f, const CnnNet *net, const CnnEmitOptions *opt) {
  if (net->loss == LOSS_NONE || net->loss_input < 0) {
    fprintf(stderr, "cnncc: network '%s' has no loss; a training plan needs a 'loss' statement\n", net->name);
    return 1;
  }
  PlanOutput o = {f, net, opt->dtype == CNN_DTYPE_DOUBLE ? (int64_t)sizeof(double) : (int64_t)sizeof(float)};
  return cnn_with_arena(plan_and_print, &o, "out of memory") ? 1 : 0;
}
