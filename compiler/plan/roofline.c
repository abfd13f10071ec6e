/* plan/roofline.c - what each layer's passes compute and move in a training
 * step, from the shapes and the training plan: the numbers behind the layer
 * profile's roofline columns (emit/train.c writes them into profile[];
 * docs/performance.md, "Where the time goes", explains the model).
 *
 * Bytes are the least the pass must move for the tensors its code reads and
 * writes: each such tensor once, a gradient added to (+=) read and written.
 * Sweeps the code repeats over a tensor (batchnorm's forward pass reads x
 * three times: sum, squares, normalize) and its own scratch (padded images,
 * packed panels) do not count: they are what a layer far from its roofline
 * may be spending its time on. */
#include "train.h"

static int64_t elems(const CnnNet *net, int i) { return cnn_shape_size(net->nodes[i].shape); }

/* the inputs, each once */
static int64_t input_elems(const CnnNet *net, const CnnNode *n) {
  int64_t e = 0;
  for (int k = 0; k < n->ninputs; k++) e += elems(net, n->inputs[k]);
  return e;
}

/* The inputs' gradients the backward pass writes (=) or adds to (+=, read
 * and written): those the training step needs, but not an add's input
 * whose gradient is the add's own buffer (in place, nothing to write). */
static int64_t dx_elems(const CnnTrainPlan *T, const CnnNode *n) {
  int64_t e = 0;
  for (int k = 0; k < n->ninputs; k++) {
    int x = n->inputs[k];
    if (!T->ng[x] || (n->op == OP_ADD && T->add_alias[n->id][k])) continue;
    e += elems(T->net, x) * (T->assign[n->id][k] ? 1 : 2);
  }
  return e;
}

/* how many inputs' gradients are added to (+=): an add's backward FLOPs */
static int added_grads(const CnnTrainPlan *T, const CnnNode *n) {
  int c = 0;
  for (int k = 0; k < n->ninputs; k++)
    c += T->ng[n->inputs[k]] && !T->assign[n->id][k] && !(n->op == OP_ADD && T->add_alias[n->id][k]);
  return c;
}

/* the values of the node's tensors: weights, bias, a batchnorm's statistics */
static int64_t tensor_elems(const CnnTrainPlan *T, int i) {
  int64_t e = 0;
  for (int t = 0; t < T->nts[i]; t++) e += T->ts[i][t].count;
  return e;
}

static bool has_weights(const CnnNode *n) {
  return n->op == OP_CONV1D || n->op == OP_CONV2D || n->op == OP_CONV_TRANSPOSE2D || n->op == OP_DENSE;
}

/* The forward pass: the inputs read, the output (or the fused relu's)
 * written, a max pool's int32 argmax too; the parameters once per call. */
static void forward_cost(const CnnTrainPlan *T, int i, int64_t es, CnnRoofline *r) {
  const CnnNode *n = &T->net->nodes[i];
  int64_t out = elems(T->net, i);
  bool argmax = n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D;
  r->flops[0] += n->flops + (T->relu_into[i] >= 0 ? out : 0);
  r->bytes[0] += es * (input_elems(T->net, n) + out) + (argmax ? 4 * out : 0);
  r->wbytes[0] += es * tensor_elems(T, i);
}

/* The backward pass: dy, what the layer's gradient reads besides, the
 * inputs' gradients; its FLOPs (a weight layer's: the forward pass's for
 * each of dw = dy x^T and dx = w^T dy). */
static void backward_cost(const CnnTrainPlan *T, int i, int64_t es, CnnRoofline *r) {
  const CnnNode *n = &T->net->nodes[i];
  int64_t out = elems(T->net, i), in = input_elems(T->net, n), dx = dx_elems(T, n);
  bool relu = T->relu_into[i] >= 0 && cnn_merges_relu_backward(n);
  int64_t reads = 0, flops = 0; /* per sample, besides dy and dx */
  switch (n->op) {
  case OP_CONV1D: case OP_CONV2D: case OP_CONV_TRANSPOSE2D: case OP_DENSE:
    reads = in; /* x, for dw */
    flops = n->flops * (dx ? 2 : 1);
    break;
  case OP_BATCHNORM: /* x; with a relu, its output; sums of dy and dy (x - mean), then dx */
    reads = in + (relu ? out : 0);
    flops = (dx ? 7 : 3) * out;
    break;
  case OP_GROUPNORM: case OP_LAYERNORM: /* x; the parameters' sums (affine), dx's two sums and its formula */
    reads = in;
    flops = ((n->affine ? 4 : 0) + (dx ? 9 : 0)) * out;
    break;
  case OP_ADD: /* with a relu: its output read, its gradient rewritten in place */
    reads = relu ? 2 * out : 0;
    flops = (added_grads(T, n) + (relu ? 1 : 0)) * out;
    break;
  case OP_MUL: reads = in; flops = 2 * out + added_grads(T, n) * out; break;
  case OP_RELU: case OP_LEAKY_RELU: reads = out; flops = out; break;
  case OP_SIGMOID: case OP_TANH: reads = out; flops = 3 * out; break;
  case OP_GELU: case OP_SILU: reads = in; flops = 8 * out; break; /* x; erf or exp, and a few more */
  case OP_HARDSWISH: reads = in; flops = 3 * out; break;
  case OP_SOFTMAX: reads = out; flops = 4 * out; break;
  case OP_DROPOUT: flops = out; break;
  case OP_AVGPOOL1D: case OP_AVGPOOL2D: case OP_GLOBAL_AVGPOOL: flops = in; break;
  case OP_GLOBAL_MAXPOOL: reads = flops = in; break; /* the maximum found again */
  case OP_UPSAMPLE: case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D:
    flops = n->flops; /* as many as forward, into the sources */
    break;
  case OP_MAXPOOL1D: case OP_MAXPOOL2D: /* the argmax; with a relu's backward pass, y for its mask */
    r->bytes[1] += 4 * out;
    if (T->relu_back[i] >= 0) reads = flops = out;
    break;
  default: break;
  }
  /* dy; an add with no relu and its inputs' gradients in its buffer does nothing */
  int64_t dy = n->op == OP_ADD && !relu && !dx ? 0 : out;
  r->flops[1] += flops;
  r->bytes[1] += es * (dy + reads + dx);
  /* the parameters' gradients are added to; a weight layer reads its weights for dx */
  r->wbytes[1] += es * (2 * n->nparams + (has_weights(n) && dx ? n->nparams : 0));
}

CnnRoofline cnn_roofline(const CnnTrainPlan *T, int i, int64_t es) {
  CnnRoofline r = {{0, 0}, {0, 0}, {0, 0}};
  if (T->has_fwd[i]) forward_cost(T, i, es, &r);
  if (!T->has_bwd[i] || !T->ng[i]) return r;
  backward_cost(T, i, es, &r);
  /* recomputations run (and are timed) just before this backward pass; the
   * ones only for want_dx are not counted (cnn_train_recompute_always) */
  for (int a = 0; a < T->net->nnodes; a++) {
    if (T->recompute_at[a] != i || !cnn_train_recompute_always(T, a)) continue;
    CnnRoofline f = {{0, 0}, {0, 0}, {0, 0}};
    forward_cost(T, T->recompute[a], es, &f);
    r.flops[1] += f.flops[0];
    r.bytes[1] += f.bytes[0];
  }
  return r;
}

CnnRoofline cnn_roofline_loss(const CnnTrainPlan *T, int64_t es) {
  /* reads the loss input, writes its gradient */
  return (CnnRoofline){{0, 0}, {0, 2 * es * elems(T->net, T->net->loss_input)}, {0, 0}};
}

CnnRoofline cnn_roofline_zeroing(const CnnTrainPlan *T, int64_t es) {
  /* writes every parameter's gradient */
  return (CnnRoofline){{0, 0}, {0, 0}, {0, es * T->nparams}};
}
