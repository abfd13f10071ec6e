/* e2e-init.c - writes the initial weights of a network that cnncc generated,
 * for tests/e2e-lenet.sh to start PyTorch from the same point.
 *
 * Compiled together with the generated NET.c (built with -DCNNCC_NO_MAIN):
 *
 *     cc -DCNNCC_NO_MAIN -DNET=lenet -DHEADER='"lenet.h"' \
 *        -DNPARAMS=LENET_NPARAMS -DNBUFFERS=LENET_NBUFFERS \
 *        -Iruntime tests/e2e-init.c lenet.c libcnnrt.a -lm
 *
 * Usage: e2e-init SEED PARAMS.f32 BUFFERS.f32 [N EPOCHS ORDER.i32]
 *
 * Calls NET_init(SEED), which is what `NET train --seed SEED` starts from,
 * and writes NET_params and NET_buffers as raw float32 in host byte order
 * (the flat blocks that the PyTorch mirror's load_flat() takes,
 * docs/pytorch.md). With N and EPOCHS also writes the sample order of each
 * epoch of a data set of N samples that `train --seed SEED` uses
 * (rt_epoch_order, docs/runtime.md): EPOCHS x N int32 indices. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(x) CAT(NET, CAT(_, x))

static int write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 4, n, f) != n) || fclose(f)) {
    fprintf(stderr, "e2e-init: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 7) {
    fprintf(stderr, "usage: e2e-init SEED PARAMS.f32 BUFFERS.f32 [N EPOCHS ORDER.i32]\n");
    return 2;
  }
  uint64_t seed = strtoull(argv[1], NULL, 10);
  if (SYM(setup)(1)) { /* the runtime calls setup before init */
    fprintf(stderr, "e2e-init: setup failed\n");
    return 1;
  }
  SYM(init)(seed);
  if (sizeof SYM(params)[0] != sizeof(float)) {
    fprintf(stderr, "e2e-init: expects float code\n");
    return 1;
  }
  if (write_file(argv[2], SYM(params), NPARAMS) || write_file(argv[3], SYM(buffers), NBUFFERS))
    return 1;
  if (argc == 7) {
    long n = atol(argv[4]), epochs = atol(argv[5]);
    long *order = malloc((n > 0 ? n : 1) * sizeof *order);
    int32_t *out = malloc((n > 0 ? n : 1) * (epochs > 0 ? epochs : 1) * sizeof *out);
    if (n < 1 || epochs < 1 || !order || !out) {
      fprintf(stderr, "e2e-init: bad N or EPOCHS, or out of memory\n");
      return 1;
    }
    for (long e = 0; e < epochs; e++) {
      rt_epoch_order(order, n, seed, e);
      for (long i = 0; i < n; i++)
        out[e * n + i] = (int32_t)order[i];
    }
    if (write_file(argv[6], out, (size_t)(n * epochs)))
      return 1;
    free(order);
    free(out);
  }
  return 0;
}
