/* arch.c - the canonical text of a network's architecture and its hash,
 * which every checkpoint carries (docs/checkpoint-format.md): the trainers
 * (emit/train.c) and the PyTorch mirror (emit/torch.c) both need it, so it
 * lives with the IR. docs/generated-code.md describes the text. */
#include <inttypes.h>
#include <stdio.h>

#include "cnncc.h"

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
