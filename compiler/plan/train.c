/* train.c - the plan of the training code: liveness, parameter layout,
 * fusions, which nodes have forward and backward calls, and the memory
 * plan (recomputation, in-place gradients, replay), as data for the
 * training printer (emit/train.c) and for `cnncc --plan`. */
#include "train.h"

/* printf into the plan's arena */
#define fmt(T, ...) ((const char *)cnn_format((T)->A, __VA_ARGS__))

/* Where each tensor of the parameters and buffers goes, which nodes need
 * their gradient, and which nodes forward (the loss input's ancestors) and
 * predict (the output's) run. */
static void analyse(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  T->root = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->live_train = cnn_alloc(T->A, (size_t)nn);
  T->live_pred = cnn_alloc(T->A, (size_t)nn);
  T->ng = cnn_alloc(T->A, (size_t)nn);
  T->nts = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->ts = cnn_alloc(T->A, sizeof *T->ts * (size_t)nn);
  T->off = cnn_alloc(T->A, sizeof *T->off * (size_t)nn);
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    T->root[i] = n->op == OP_FLATTEN ? T->root[n->inputs[0]] : i;
    T->nts[i] = cnn_node_tensors(net, n, T->ts[i]);
    for (int t = 0; t < T->nts[i]; t++) {
      CnnTensorSpec *s = &T->ts[i][t];
      T->off[i][t] = s->learnable ? T->nparams : T->nbuffers;
      *(s->learnable ? &T->nparams : &T->nbuffers) += s->count;
      T->ntensors++;
    }
    bool ng = n->nparams > 0;
    for (int k = 0; k < n->ninputs; k++) ng |= T->ng[n->inputs[k]];
    T->ng[i] = ng;
  }
  /* liveness: walk back from the loss input and from the output */
  T->live_train[net->loss_input] = true;
  T->live_pred[net->output] = true;
  for (int i = nn - 1; i >= 0; i--) {
    const CnnNode *n = &net->nodes[i];
    for (int k = 0; k < n->ninputs; k++) {
      if (T->live_train[i]) T->live_train[n->inputs[k]] = true;
      if (T->live_pred[i]) T->live_pred[n->inputs[k]] = true;
    }
  }
}

/* Layers whose backward pass does their fused relu's too. */
bool cnn_merges_relu_backward(const CnnNode *n) { return n->op == OP_BATCHNORM || n->op == OP_ADD; }

/* Does node i have a backward call of its own? */
static bool backward_call(const CnnTrainPlan *T, int i) {
  const CnnNode *n = &T->net->nodes[i];
  if (!T->live_train[i] || n->op == OP_INPUT || n->op == OP_FLATTEN) return false;
  /* a relu fused into a batchnorm or an add runs in its backward pass, one
   * before a max pooling in the pooling's */
  return !(T->fused[i] && cnn_merges_relu_backward(&T->net->nodes[n->inputs[0]])) && T->back_into[i] < 0;
}

int cnn_train_dx_node(const CnnTrainPlan *T, int i, int k) {
  int r = T->relu_back[i];
  return T->root[r >= 0 ? T->net->nodes[r].inputs[0] : T->net->nodes[i].inputs[k]];
}

/* A max pooling whose input is a relu does the relu's backward pass too: it
 * writes the gradient of the relu's input, dy where its output (the relu's
 * output at the window's maximum) is > 0, and 0 elsewhere: the relu's mask
 * at every position a window's gradient goes to, and 0 where none goes.
 * Only where that gradient is the same bit for bit: the relu is the pooling's
 * input alone and has its own backward pass (not a batchnorm's or an add's),
 * and its input, which only the relu reads, gets no other gradient, so the
 * pooling writes it (=) as the relu did. Not an average pooling: its
 * output does not say the sign of each position under the window. */
static void fuse_relu_backward(CnnTrainPlan *T, const int *uses) {
  const CnnNet *net = T->net;
  for (int p = 0; p < net->nnodes; p++) {
    const CnnNode *n = &net->nodes[p];
    T->relu_back[p] = T->back_into[p] = -1;
    if ((n->op != OP_MAXPOOL1D && n->op != OP_MAXPOOL2D) || !T->live_train[p]) continue;
    int r = n->inputs[0], x = net->nodes[r].inputs[0];
    if (net->nodes[r].op != OP_RELU || uses[r] != 1 || r == net->loss_input || r == net->output) continue;
    if (T->fused[r] && cnn_merges_relu_backward(&net->nodes[x])) continue;
    if (uses[x] != 1 || T->root[x] != x || x == net->loss_input) continue;
    T->relu_back[p] = r;
    T->back_into[r] = p;
  }
}

/* Does node i have a forward call of its own? */
static bool forward_call(const CnnTrainPlan *T, int i) {
  const CnnNode *n = &T->net->nodes[i];
  return (T->live_train[i] || T->live_pred[i]) && n->op != OP_INPUT && n->op != OP_FLATTEN && !T->fused[i];
}

/* Fusions and the assignment of gradients (after analyse()). A relu whose
 * input is a batchnorm, an add, or a stride-1 convolution (implicit), used by
 * nothing else, runs inside that layer: the layer writes the relu's output,
 * and its own output is not kept. A batchnorm or an add does the relu's
 * backward pass too (it reads the relu's gradient; an add the relu's output,
 * a batchnorm its input, from which it computes the output's sign again); a
 * convolution leaves it to the relu, whose backward pass needs only the
 * relu's output. */
static void analyse_fusion(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  T->relu_into = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->fused = cnn_alloc(T->A, (size_t)nn);
  T->assign = cnn_alloc(T->A, sizeof *T->assign * (size_t)nn);
  int *uses = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  for (int i = 0; i < nn; i++) {
    T->relu_into[i] = -1;
    if (!T->live_train[i] && !T->live_pred[i]) continue;
    for (int k = 0; k < net->nodes[i].ninputs; k++) uses[net->nodes[i].inputs[k]]++;
  }
  for (int r = 0; r < nn; r++) {
    const CnnNode *n = &net->nodes[r];
    if (n->op != OP_RELU || (!T->live_train[r] && !T->live_pred[r])) continue;
    int b = n->inputs[0];
    const CnnNode *in = &net->nodes[b];
    bool conv = (in->op == OP_CONV2D || in->op == OP_CONV1D) && in->groups == 1;
    if (!cnn_merges_relu_backward(in) && !conv) continue;
    if (uses[b] != 1 || b == net->loss_input || b == net->output || T->root[b] != b) continue;
    T->relu_into[b] = r;
    T->fused[r] = true;
  }
  T->relu_back = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->back_into = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  fuse_relu_backward(T, uses);
  T->has_fwd = cnn_alloc(T->A, (size_t)nn);
  T->has_bwd = cnn_alloc(T->A, (size_t)nn);
  for (int i = 0; i < nn; i++) T->has_fwd[i] = forward_call(T, i), T->has_bwd[i] = backward_call(T, i);
  /* the first writer of each gradient buffer in backward order assigns; the
   * loss writes the loss input's gradient before all layers */
  bool *written = cnn_alloc(T->A, (size_t)nn);
  written[T->root[net->loss_input]] = true;
  for (int i = nn - 1; i > 0; i--) {
    if (!T->has_bwd[i]) continue;
    const CnnNode *n = &net->nodes[i];
    for (int k = 0; k < n->ninputs; k++) {
      int r = cnn_train_dx_node(T, i, k);
      T->assign[i][k] = !written[r];
      written[r] = true;
    }
  }
}

/* ---- the memory plan ----
 *
 * A training step needs the buffer of an activation, of a gradient or of
 * max pooling indexes only for a while: an activation from the forward pass
 * that writes it to the last one that reads it or, when a backward pass
 * reads it, to the last of those; a gradient from the first backward pass
 * that writes it to the backward pass of its layer. All these buffers share
 * one pool: each is placed at an offset (bytes per sample, so the plan holds
 * for any batch) where it overlaps no buffer in use at the same time, and
 * only the buffers in use at once take memory (the gradients of a deep
 * network: a few; activations that only the forward pass reads: none after
 * it).
 *
 * The output of a batchnorm (with a fused relu, the relu's output) or of a
 * mul is not kept for the backward passes that read it: the backward pass
 * recomputes it before the first of them from the layer's inputs, which the
 * layer's own backward pass needs anyway (a batchnorm with the statistics of
 * the forward pass: <bn>_recompute; both run the code of the forward pass,
 * so the values are the same bit for bit).
 *
 * Gradients share buffers too: a backward pass that computes each value of
 * its input's gradient from the same value of its output's (batchnorm,
 * relu, ...) and writes that gradient first writes it over the output's
 * (in place), and an input of an add whose gradient nothing else writes has
 * the add's gradient buffer (an add passes its gradient on unchanged).
 *
 * As a backward pass reuses the memory of the activations it is done with,
 * a second backward pass after one forward pass first runs the forward pass
 * again (replay()).
 *
 * Steps: the forward pass of node i is step i (the input: 0), the loss nn,
 * its backward pass nn + 1, the backward pass of node i 2 nn + 1 - i, and
 * 2 nn + 1 is after the backward pass (d loss / d input, <net>_output() and
 * a replay read buffers then). */

int cnn_train_step_backward(const CnnTrainPlan *T, int i) { return 2 * T->net->nnodes + 1 - i; }
int cnn_train_step_end(const CnnTrainPlan *T) { return 2 * T->net->nnodes + 1; }

/* "conv1 forward", "bn1 backward", for the comments of layout() */
static const char *step_text(const CnnTrainPlan *T, int t) {
  int nn = T->net->nnodes;
  if (t == 0) return "input";
  if (t < nn) return fmt(T, "%s forward", T->net->nodes[t].name);
  if (t == nn) return "loss";
  if (t == nn + 1) return "loss backward";
  if (t < cnn_train_step_end(T)) return fmt(T, "%s backward", T->net->nodes[2 * nn + 1 - t].name);
  return "end";
}

const char *cnn_train_life_text(const CnnTrainPlan *T, const CnnBlock *u) {
  const char *s[2] = {NULL, NULL};
  for (int ph = 0; ph < 2; ph++)
    if (u->lo[ph] <= u->hi[ph])
      s[ph] = u->lo[ph] == u->hi[ph] ? step_text(T, u->lo[ph])
                                     : fmt(T, "%s .. %s", step_text(T, u->lo[ph]), step_text(T, u->hi[ph]));
  if (s[0] && s[1]) return fmt(T, "%s; %s (recomputed)", s[0], s[1]);
  return s[0] ? s[0] : s[1] ? s[1] : "unused";
}

/* The activations (root nodes) that node i's backward pass reads; the layer
 * emitters pass exactly these to it (cnn_bact()). */
static void backward_reads(CnnTrainPlan *T, int i) {
  const CnnNode *n = &T->net->nodes[i];
  int *r = T->bread[i], k = 0, in0 = n->ninputs > 0 ? T->root[n->inputs[0]] : -1;
  if (cnn_op_info(n->op)->flags & CNN_OPF_ACTIVATION) { /* the table says which */
    r[k++] = cnn_op_info(n->op)->act.reads_output ? i : in0;
    T->nbread[i] = k;
    return;
  }
  switch (n->op) {
  case OP_CONV1D: case OP_CONV2D: case OP_CONV_TRANSPOSE2D: case OP_DENSE:
    r[k++] = in0;
    break;
  case OP_BATCHNORM: /* its input (with a relu, whose mask it computes from it again) */
  case OP_GROUPNORM: case OP_LAYERNORM: /* its input, with the statistics of its forward pass */
    r[k++] = in0;
    break;
  case OP_ADD:
    if (T->relu_into[i] >= 0) r[k++] = T->relu_into[i];
    break;
  case OP_MUL:
    r[k++] = in0;
    if (T->root[n->inputs[1]] != in0) r[k++] = T->root[n->inputs[1]];
    break;
  case OP_GLOBAL_MAXPOOL: /* its input, where it finds each maximum again */
    r[k++] = in0;
    break;
  case OP_SOFTMAX: /* its output */
    r[k++] = i;
    break;
  case OP_MAXPOOL1D: case OP_MAXPOOL2D: /* with a relu, its output for the relu's mask */
    if (T->relu_back[i] >= 0) r[k++] = i;
    break;
  default: break;
  }
  T->nbread[i] = k;
}

bool cnn_train_reads_in_backward(const CnnTrainPlan *T, int i, int r) {
  for (int k = 0; k < T->nbread[i]; k++)
    if (T->bread[i][k] == r) return true;
  return false;
}

bool cnn_train_recompute_always(const CnnTrainPlan *T, int r) {
  for (int j = 1; j < T->net->nnodes; j++)
    if (T->has_bwd[j] && T->ng[j] && cnn_train_reads_in_backward(T, j, r)) return true;
  return false;
}

static int new_buf(CnnTrainPlan *T, const char *name, int64_t bytes) {
  cnn_block_init(&T->buf[T->nbuf], name, bytes, 64);
  return T->nbuf++;
}

/* buffer b (none if < 0) is used at step t: of the forward life up to the
 * loss, of the backward one after it */
static void use(CnnTrainPlan *T, int b, int t) {
  if (b >= 0) cnn_block_use(&T->buf[b], t > T->net->nnodes, t);
}

/* Gradients that share a buffer, decided from the last node back (so that
 * the later nodes' choices are known): an add passes its output's gradient
 * (with a fused relu: where the output is > 0, which it writes in place) to
 * its inputs, and an input whose gradient nothing else writes uses that
 * buffer; a backward pass elementwise in the gradient (dx[i] from dy[i])
 * that writes its input's gradient first writes it in place. Neither writes
 * in place a buffer that several inputs of an add share. */
static void plan_grad_aliases(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  int *writers = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  for (int i = 1; i < nn; i++)
    if (T->has_bwd[i])
      for (int k = 0; k < net->nodes[i].ninputs; k++) writers[cnn_train_dx_node(T, i, k)]++;
  int *shared_by = cnn_alloc(T->A, sizeof(int) * (size_t)nn); /* an add's inputs that use its buffer */
  for (int i = nn - 1; i > 0; i--) {
    const CnnNode *n = &net->nodes[i];
    if (!T->has_bwd[i]) continue;
    bool merged = T->relu_into[i] >= 0 && cnn_merges_relu_backward(n);
    int d = merged ? T->relu_into[i] : i; /* the gradient it reads */
    bool exclusive = true; /* may it write that buffer? */
    for (int t = d; T->grad_alias[t] >= 0; t = T->grad_alias[t])
      exclusive &= !(net->nodes[T->alias_by[t]].op == OP_ADD && shared_by[T->alias_by[t]] > 1);
    if (n->op == OP_ADD && (!merged || exclusive)) {
      for (int k = 0; k < n->ninputs; k++) {
        int x = T->root[n->inputs[k]];
        if (writers[x] != 1 || (T->relu_into[x] >= 0 && cnn_merges_relu_backward(&net->nodes[x]))) continue;
        T->add_alias[i][k] = true;
        T->grad_alias[x] = d;
        T->alias_by[x] = i;
        shared_by[i]++;
      }
    }
    bool elementwise = n->op == OP_BATCHNORM || (cnn_op_info(n->op)->flags & CNN_OPF_ACTIVATION);
    int x = T->root[n->inputs[0]];
    if (elementwise && exclusive && T->assign[i][0] && T->grad_alias[x] < 0 &&
        !(T->relu_into[x] >= 0 && cnn_merges_relu_backward(&net->nodes[x]))) { /* x has a gradient */
      T->in_place[i] = true;
      T->grad_alias[x] = d;
      T->alias_by[x] = i;
    }
  }
}

/* the buffers, as layout() has them */
static void plan_buffers(CnnTrainPlan *T, int64_t es) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  for (int i = 0; i < nn; i++) {
    const CnnNode *n = &net->nodes[i];
    T->act_buf[i] = T->grad_buf[i] = T->arg_buf[i] = T->recompute[i] = T->recompute_at[i] = -1;
    if (!(T->live_train[i] || T->live_pred[i])) continue;
    backward_reads(T, i);
    if (T->root[i] != i) continue;
    /* a layer that writes its relu's output keeps no output of its own; a
     * batchnorm or add that does its relu's backward pass no gradient either */
    bool merged = T->relu_into[i] >= 0 && cnn_merges_relu_backward(n);
    int64_t size = cnn_shape_size(n->shape);
    if (T->relu_into[i] < 0) T->act_buf[i] = new_buf(T, fmt(T, "act.%s", n->name), size * es);
    if (T->live_train[i] && !merged && T->back_into[i] < 0 && T->grad_alias[i] < 0)
      T->grad_buf[i] = new_buf(T, fmt(T, "grad.%s", n->name), size * es);
    if (n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D)
      T->arg_buf[i] = new_buf(T, fmt(T, "argmax.%s", n->name), size * (int64_t)sizeof(int32_t));
  }
  for (int i = nn - 1; i >= 0; i--) /* the later node's buffer first */
    if (T->grad_alias[i] >= 0) T->grad_buf[i] = T->grad_buf[T->grad_alias[i]];
}

/* the steps at which each buffer is in use */
static void plan_lives(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  int z = T->root[net->loss_input], end = cnn_train_step_end(T);
  /* the forward pass (of training, and of predict: its layers after the loss input) */
  use(T, T->act_buf[0], 0);
  for (int i = 1; i < nn; i++) {
    if (!T->has_fwd[i]) continue;
    const CnnNode *n = &net->nodes[i];
    use(T, T->act_buf[T->relu_into[i] >= 0 ? T->relu_into[i] : i], i);
    use(T, T->arg_buf[i], i);
    for (int k = 0; k < n->ninputs; k++) use(T, T->act_buf[T->root[n->inputs[k]]], i);
  }
  use(T, T->act_buf[z], nn);
  use(T, T->act_buf[T->root[net->output]], nn);
  /* the backward pass */
  use(T, T->act_buf[z], nn + 1);
  use(T, T->grad_buf[z], nn + 1);
  for (int i = nn - 1; i > 0; i--) {
    if (!T->has_bwd[i]) continue;
    const CnnNode *n = &net->nodes[i];
    int t = cnn_train_step_backward(T, i);
    bool merged = T->relu_into[i] >= 0 && cnn_merges_relu_backward(n);
    use(T, T->grad_buf[merged ? T->relu_into[i] : i], t);
    for (int k = 0; k < n->ninputs; k++) use(T, T->grad_buf[cnn_train_dx_node(T, i, k)], t);
    for (int k = 0; k < T->nbread[i]; k++) use(T, T->act_buf[T->bread[i][k]], t);
    use(T, T->arg_buf[i], t);
  }
  /* after it: d loss / d input, <net>_output(), a replay's input */
  use(T, T->grad_buf[0], end);
  use(T, T->act_buf[0], end);
  use(T, T->act_buf[z], end);
}

/* The outputs of batchnorms and products that backward passes read:
 * recomputed before the first of those from the layer's inputs, which its
 * own backward pass reads, so they are kept anyway (unless recomputed). Data
 * of the forward pass that the backward pass reads then has one life. */
static void plan_recompute(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  int z = T->root[net->loss_input];
  for (int p = 0; p < nn; p++) {
    const CnnNode *n = &net->nodes[p];
    if ((n->op != OP_BATCHNORM && n->op != OP_MUL) || !T->live_train[p]) continue;
    int r = T->relu_into[p] >= 0 ? T->relu_into[p] : p, b = T->act_buf[r];
    bool inputs_kept = true;
    for (int k = 0; k < n->ninputs; k++) inputs_kept &= T->recompute[T->root[n->inputs[k]]] < 0;
    if (b < 0 || T->buf[b].lo[1] > T->buf[b].hi[1] || r == z || r == T->root[net->output] || !inputs_kept)
      continue;
    for (int j = nn - 1; j > 0 && T->recompute_at[r] < 0; j--)
      if (T->has_bwd[j] && cnn_train_reads_in_backward(T, j, r)) T->recompute_at[r] = j;
    T->recompute[r] = p;
    int t = cnn_train_step_backward(T, T->recompute_at[r]);
    for (int k = 0; k < n->ninputs; k++) use(T, T->act_buf[T->root[n->inputs[k]]], t);
  }
  /* data of the forward pass that the backward pass reads: one life */
  for (int b = 0; b < T->nbuf; b++) {
    CnnBlock *u = &T->buf[b];
    bool recomputed = false;
    for (int r = 0; r < nn; r++) recomputed |= T->act_buf[r] == b && T->recompute[r] >= 0;
    if (recomputed || u->lo[0] > u->hi[0] || u->lo[1] > u->hi[1]) continue;
    u->hi[0] = u->hi[1];
    u->lo[1] = INT32_MAX, u->hi[1] = -1;
  }
}

/* Does the backward pass overwrite data of the forward pass that it reads? */
static void plan_replay(CnnTrainPlan *T) {
  const CnnNet *net = T->net;
  int nn = net->nnodes;
  int end = cnn_train_step_end(T);
  T->replay = false;
  for (int a = 0; a < T->nbuf; a++) {
    const CnnBlock *x = &T->buf[a];
    /* not kept data, or kept to the end */
    if (x->lo[1] <= x->hi[1] || x->hi[0] <= nn || x->hi[0] >= end) continue;
    for (int b = 0; b < T->nbuf; b++) {
      const CnnBlock *y = &T->buf[b];
      bool shared = y->offset < x->offset + x->size && x->offset < y->offset + y->size;
      if (b != a && shared && (y->hi[0] > x->hi[0] || y->hi[1] > x->hi[0])) T->replay = true;
    }
  }
}

static void plan_memory(CnnTrainPlan *T, int64_t es) {
  int nn = T->net->nnodes;
  T->bread = cnn_alloc(T->A, sizeof *T->bread * (size_t)nn);
  T->nbread = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->recompute = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->recompute_at = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->act_buf = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->grad_buf = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->arg_buf = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  T->buf = cnn_alloc(T->A, sizeof(CnnBlock) * 3 * (size_t)nn);
  T->in_place = cnn_alloc(T->A, (size_t)nn);
  T->grad_alias = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  for (int i = 0; i < nn; i++) T->grad_alias[i] = -1;
  T->add_alias = cnn_alloc(T->A, sizeof *T->add_alias * (size_t)nn);
  T->alias_by = cnn_alloc(T->A, sizeof(int) * (size_t)nn);
  plan_grad_aliases(T);
  plan_buffers(T, es);
  plan_lives(T);
  plan_recompute(T);
  T->pool_bytes = cnn_place_blocks(T->A, T->buf, T->nbuf);
  plan_replay(T);
}

CnnTrainPlan *cnn_plan_training(CnnArena *A, const CnnNet *net, int64_t es) {
  CnnTrainPlan *T = cnn_alloc(A, sizeof *T);
  *T = (CnnTrainPlan){.net = net, .A = A};
  analyse(T);
  analyse_fusion(T);
  plan_memory(T, es);
  cnn_plan_kernels(T);
  int a, b;
  if (!cnn_check_placement(T->buf, T->nbuf, T->pool_bytes, &a, &b)) {
    if (b >= 0)
      fprintf(stderr, "cnncc: internal error: the memory plan puts %s and %s, in use at once, in the same memory\n",
              T->buf[a].name, T->buf[b].name);
    else
      fprintf(stderr, "cnncc: internal error: the memory plan puts %s outside the pool\n", T->buf[a].name);
    return NULL;
  }
  return T;
}
