/* emit/checkpoint.c - a checkpoint's weights for the generators that
 * compile them in (--emit=inference, --emit=onnx): read and checked against
 * the network by the runtime (libcnnrt's rt_checkpoint_load). */
#include <stdio.h>
#include <stdlib.h>

#include "cnncc.h"
#include "cnnrt.h"

/* The checkpoint's blocks, read and checked by the runtime, and its CRC
 * (its last four bytes, little-endian). Returns 0 or the exit status. */
int cnn_load_checkpoint(const CnnNet *net, const char *path, float **params, float **buffers, uint32_t *crc) {
  int64_t np = 0, nb = 0;
  for (int i = 0; i < net->nnodes; i++) {
    CnnTensorSpec ts[4];
    int k = cnn_node_tensors(net, &net->nodes[i], ts);
    for (int t = 0; t < k; t++) *(ts[t].learnable ? &np : &nb) += ts[t].count;
  }
  *params = malloc(sizeof(float) * (size_t)(np + 1));
  *buffers = malloc(sizeof(float) * (size_t)(nb + 1));
  if (!*params || !*buffers) {
    fprintf(stderr, "cnncc: out of memory\n");
    return 1;
  }
  RtNet rt = {.name = net->name, .nparams = (size_t)np, .params = *params, .nbuffers = (size_t)nb,
              .buffers = *buffers, .arch_hash = cnn_arch_hash(net)};
  char err[1024];
  if (rt_checkpoint_load(path, &rt, NULL, NULL, NULL, err, sizeof err)) {
    fprintf(stderr, "cnncc: %s\n", err);
    return 1;
  }
  *crc = 0;
  FILE *f = fopen(path, "rb");
  unsigned char b4[4];
  if (f && fseek(f, -4, SEEK_END) == 0 && fread(b4, 1, 4, f) == 4)
    *crc = (uint32_t)b4[0] | (uint32_t)b4[1] << 8 | (uint32_t)b4[2] << 16 | (uint32_t)b4[3] << 24;
  if (f) fclose(f);
  return 0;
}
