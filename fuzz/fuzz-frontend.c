/* fuzz-frontend.c - the front end on arbitrary source text.
 *
 * Input: the bytes of a .cnn program (not NUL-terminated, as the library
 * allows). It is compiled; a network is printed with cnn_print_summary and
 * diagnostics with cnn_diags_print (in colour for odd sizes), both to
 * /dev/null. Besides the sanitizers, the harness checks the contract of
 * cnncc.h: a unit yields a network or at least one error, never both or
 * neither, and a network is a DAG in topological order whose shapes and
 * tensor counts are sane. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

static void check_net(const CnnNet *net)
{
  CHECK(net->nnodes >= 1 && net->nodes);
  CHECK(net->nodes[0].op == OP_INPUT);
  CHECK(net->output >= 0 && net->output < net->nnodes);
  CHECK(net->loss == LOSS_NONE ? net->loss_input == -1
                               : net->loss_input >= 0 && net->loss_input < net->nnodes);
  CHECK(net->name && net->name[0]);
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    char buf[64];
    CnnTensorSpec t[4];
    CHECK(n->id == i);
    CHECK(n->op >= OP_INPUT && n->op < OP_COUNT);
    CHECK(n->name && n->name[0]);
    CHECK(n->ninputs >= 0 && n->ninputs <= CNN_MAX_INPUTS);
    CHECK(n->shape.rank >= 1 && n->shape.rank <= 3);
    for (int k = 0; k < n->shape.rank; k++)
      CHECK(n->shape.dim[k] >= 1);
    CHECK(cnn_shape_size(n->shape) >= 1);
    for (int k = 0; k < n->ninputs; k++)
      CHECK(n->inputs[k] >= 0 && n->inputs[k] < i); /* inputs precede users */
    int nt = cnn_node_tensors(net, n, t);
    CHECK(nt >= 0 && nt <= 4);
    int64_t learnable = 0;
    for (int k = 0; k < nt; k++) {
      CHECK(t[k].count >= 0);
      if (t[k].learnable)
        learnable += t[k].count;
    }
    CHECK(learnable == n->nparams);
    cnn_shape_str(n->shape, buf, sizeof buf);
    CHECK(strlen(buf) < sizeof buf);
    CHECK(cnn_op_name(n->op) != NULL);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static FILE *null;
  if (!null && !(null = fopen("/dev/null", "w")))
    abort();
  CnnUnit *u = cnn_unit_new("fuzz.cnn", (const char *)data, size);
  if (!u)
    return 0;
  const CnnNet *net = cnn_unit_compile(u);
  const CnnDiags *d = cnn_unit_diags(u);
  CHECK((net != NULL) != (d->nerrors > 0));
  /* compiling again returns the same answer */
  CHECK(cnn_unit_compile(u) == net);
  if (net) {
    check_net(net);
    cnn_print_summary(null, net);
  } else {
    CHECK(d->first != NULL);
    cnn_diags_print(null, d, size & 1);
  }
  cnn_unit_free(u);
  return 0;
}
