/* emit/train_mpi.c - the data exchanges of a trainer built with --mpi.
 *
 * The determinism method (docs/distributed.md): the batch is split into
 * the PARTS fixed parts the single-process code already uses, and rank r
 * of N computes the parts r * PARTS / N up to (r + 1) * PARTS / N of every
 * convolution (PART_MINE). Everything that combines samples is then done
 * on every rank with exactly the operations of one process, from values
 * that were copied, never added, between the ranks:
 *  - a convolution's weight gradient: each part's sum goes from its owner
 *    to all ranks (share_part_gradients), then the parts add in order;
 *  - its bias gradient: the per-sample sums are shared, then added in
 *    sample order (bias_grad);
 *  - the layers whose result mixes samples (dense: its weight gradient is
 *    a product over the batch; batchnorm: the batch statistics; groupnorm,
 *    layernorm: their parameters' gradients, sums over the batch; the loss)
 *    run whole on every rank, on inputs whose rows of every sample were
 *    first copied from the rank that computed them (rt_mpi_share_samples).
 * Layers that work sample by sample (activations, pooling, ...) run on
 * every sample and are correct on the samples whose inputs are; this file
 * follows which activations and gradients are known for every sample
 * ("whole") and which only for the rank's parts, and writes the exchanges
 * where a layer needs the whole batch. */
#include <inttypes.h>
#include <string.h>

#include "train.h"

/* Does the op's result for one sample depend on the others'? */
static bool mixes_samples(CnnOp op) { return op == OP_DENSE || op == OP_BATCHNORM || op == OP_GROUPNORM || op == OP_LAYERNORM;
}

/* Does the op run its batch in PARTS parts (each rank its own)? */
static bool runs_in_parts(CnnOp op) {
  return op == OP_CONV1D || op == OP_CONV2D || op == OP_CONV_TRANSPOSE2D;
}

/* The ops the exchanges above have been written and tested for. */
static bool mpi_supports(CnnOp op) {
  switch (op) {
  case OP_INPUT: case OP_CONV1D: case OP_CONV2D: case OP_MAXPOOL1D: case OP_MAXPOOL2D:
  case OP_AVGPOOL1D: case OP_AVGPOOL2D: case OP_GLOBAL_AVGPOOL: case OP_GLOBAL_MAXPOOL:
  case OP_UPSAMPLE: case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D: case OP_DENSE:
  case OP_FLATTEN: case OP_BATCHNORM: case OP_DROPOUT: case OP_ADD: case OP_CONV_TRANSPOSE2D:
  case OP_MUL: case OP_CONCAT: case OP_SOFTMAX: case OP_GROUPNORM: case OP_LAYERNORM:
    return true;
  default: return cnn_op_info(op)->flags & CNN_OPF_ACTIVATION; /* element-wise: sample by sample */
  }
}

bool cnn_mpi_check(const CnnNet *net) {
  for (int i = 0; i < net->nnodes; i++)
    if (!mpi_supports(net->nodes[i].op)) {
      fprintf(stderr, "cnncc: --mpi: layer '%s' (%s, line %d) is not supported by the MPI trainer yet\n",
              net->nodes[i].name, cnn_op_name(net->nodes[i].op), net->nodes[i].loc.first_line);
      return false;
    }
  return true;
}

void cnn_mpi_begin(Emit *E) {
  if (!E->opt->mpi) return;
  size_t nn = (size_t)E->net->nnodes;
  if (!E->whole) {
    E->whole = cnn_alloc(E->A, nn);
    E->whole_at_forward = cnn_alloc(E->A, nn);
    E->grad_whole = cnn_alloc(E->A, nn);
  }
  memset(E->whole, 0, nn);
  E->whole[E->T->root[0]] = 1; /* every rank has the whole input */
}

/* The rows of every sample of the activation (or gradient) buf of node id,
 * from the rank that computed them. */
static void share(Emit *E, const char *buf, int id) {
  pr(E->P, "rt_mpi_share_samples(%s, %" PRId64 ", n, PARTS); /* every sample's rows */", buf,
     size_of(&E->net->nodes[id]));
}

void cnn_mpi_make_whole(Emit *E, int id) {
  if (!E->opt->mpi || E->whole[E->T->root[id]]) return;
  share(E, act(E, id), id);
  E->whole[E->T->root[id]] = 1;
}

void cnn_mpi_forward(Emit *E, int i) {
  if (!E->opt->mpi) return;
  const CnnNode *n = &E->net->nodes[i];
  if (mixes_samples(n->op))
    for (int k = 0; k < n->ninputs; k++) cnn_mpi_make_whole(E, n->inputs[k]);
  char w = !runs_in_parts(n->op);
  for (int k = 0; k < n->ninputs && w; k++) w = E->whole[E->T->root[n->inputs[k]]];
  E->whole[E->T->root[i]] = w;
  E->whole_at_forward[i] = w;
}

void cnn_mpi_backward_begin(Emit *E) {
  if (!E->opt->mpi) return;
  memset(E->grad_whole, 2, (size_t)E->net->nnodes); /* 2: not written yet */
  E->grad_whole[E->T->root[E->z->id]] = 1; /* the loss runs on the whole batch */
}

/* Before node i's backward pass (called for every live node, in reverse
 * order, also for those without one: a relu fused into the layer before,
 * an alias such as flatten, whose gradient is their input's). */
void cnn_mpi_backward(Emit *E, int i) {
  if (!E->opt->mpi) return;
  const CnnNode *n = &E->net->nodes[i];
  /* the gradient the pass reads: a fused relu's, else its own */
  const int out = E->T->relu_into[i] >= 0 ? E->T->relu_into[i] : i;
  char *g = &E->grad_whole[E->T->root[out]];
  if (E->bwd[i] && mixes_samples(n->op) && *g != 1) {
    share(E, grad(E, out), out);
    *g = 1;
  }
  char w = *g == 1;
  if (E->bwd[i]) w = w && !runs_in_parts(n->op) && (mixes_samples(n->op) || E->whole_at_forward[i]);
  for (int k = 0; k < n->ninputs; k++) {
    char *gi = &E->grad_whole[E->T->root[n->inputs[k]]];
    if (gi != g) *gi = *gi == 2 ? w : *gi && w;
  }
}
