/* parity.c - the C side of tests/parity.sh: drives the code that cnncc
 * generated for one network and writes what it computes, for tests/parity.py
 * to compare with the PyTorch mirror (cnncc --emit=pytorch).
 *
 * Compiled together with the generated NET.c (built with -DCNNCC_NO_MAIN):
 *
 *     cc -DNET=lenet -DHEADER='"lenet.h"' -DNPARAMS=... (tests/parity.py
 *        --defines) -Iruntime tests/parity.c lenet.c libcnnrt.a -lm
 *
 * The -D flags come from the mirror (tests/parity.py --defines), so this file
 * depends only on the generated functions, not on how the header spells
 * its constants. Usage: parity DIR BATCH SEED. Writes to DIR, all
 * little-endian binary:
 *   tensors.txt   NET_tensors[]: name, learnable, offset, count, dims
 *   params0.f32 buffers0.f32   after NET_init(SEED)
 *   x.f32 labels.i32 targets.f32   the batch (inputs in [0, 1])
 *   logits.f32 correct.i32 buffers1.f32   after the first training forward
 *   losses.f32   the loss of each of the STEPS training forwards
 *   gradsT.f32   the gradients of step T (1..STEPS)
 *   paramsT.f32   the parameters after Adam step T
 *   buffers_end.f32   the running statistics at the end */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(x) CAT(NET, CAT(_, x))
/* float, or double for code generated with --dtype=double: the .f32 files
 * then hold doubles (tests/parity.py DIR BATCH double) */
typedef SYM(real) real;

#ifndef STEPS
#define STEPS 3
#endif

/* One Adam step with the train block's settings (lr from tests/parity.py). */
static const RtAdam adam = {LR, BETA1, BETA2, ADAM_EPS, WEIGHT_DECAY, 0};
#ifndef PARITY_ADAM_STEP
#define PARITY_ADAM_STEP(t) SYM(update)(&adam, (t))
#endif

static const char *dir;

static void write_file(const char *name, const void *data, size_t size, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, size, n, f) != n || fclose(f)) {
    fprintf(stderr, "parity: cannot write %s\n", path);
    exit(1);
  }
}

/* The test's own generator (splitmix64), independent of the runtime's. */
static uint64_t state;
static uint64_t next(void) {
  uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static float uniform(void) { return (float)(next() >> 40) * 0x1.0p-24f; }

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: parity DIR BATCH SEED\n");
    return 2;
  }
  dir = argv[1];
  int n = atoi(argv[2]);
  uint64_t seed = strtoull(argv[3], NULL, 10);
  if (SYM(setup)(n)) {
    fprintf(stderr, "parity: setup(%d) failed\n", n);
    return 1;
  }
  SYM(init)(seed);
  /* the generated table of tensors, to check the order contract */
  char path[4096];
  snprintf(path, sizeof path, "%s/tensors.txt", dir);
  FILE *f = fopen(path, "w");
  if (!f) return 1;
  for (int i = 0; i < NTENSORS; i++) {
    const CAT(NET, _tensor) *t = &SYM(tensors)[i];
    fprintf(f, "%s %d %ld %ld", t->name, t->learnable, t->offset, t->count);
    for (int k = 0; k < t->rank; k++) fprintf(f, " %d", t->dim[k]);
    fprintf(f, "\n");
  }
  if (fclose(f)) return 1;
  write_file("params0.f32", SYM(params), sizeof(real), NPARAMS);
  write_file("buffers0.f32", SYM(buffers), sizeof(real), NBUFFERS);

  real *x = malloc(sizeof(real) * (size_t)n * IN_SIZE);
  real *targets = malloc(sizeof(real) * (size_t)n * OUT_SIZE);
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)n * NLABELS);
  if (!x || !targets || !labels) return 1;
  state = seed ^ 0x706172697479u; /* "parity" */
  for (long i = 0; i < (long)n * IN_SIZE; i++) x[i] = uniform();
  for (long i = 0; i < (long)n * NLABELS; i++) labels[i] = (int32_t)(next() % NCLASSES);
  for (long i = 0; i < (long)n * OUT_SIZE; i++) targets[i] = uniform();
  write_file("x.f32", x, sizeof(real), (size_t)n * IN_SIZE);
  write_file("labels.i32", labels, sizeof(int32_t), (size_t)n * NLABELS);
  write_file("targets.f32", targets, sizeof(real), (size_t)n * OUT_SIZE);

  real losses[STEPS];
  char name[32];
  for (int t = 1; t <= STEPS; t++) {
    long correct = 0;
    losses[t - 1] = SYM(forward)(x, labels, targets, n, 1, 0, &correct);
    if (t == 1) {
      int32_t c = (int32_t)correct;
      write_file("logits.f32", SYM(output)(), sizeof(real), (size_t)n * OUT_SIZE);
      write_file("correct.i32", &c, sizeof c, 1);
      write_file("buffers1.f32", SYM(buffers), sizeof(real), NBUFFERS);
    }
    SYM(backward)(n);
    snprintf(name, sizeof name, "grads%d.f32", t);
    write_file(name, SYM(grads), sizeof(real), NPARAMS);
    PARITY_ADAM_STEP(t);
    snprintf(name, sizeof name, "params%d.f32", t);
    write_file(name, SYM(params), sizeof(real), NPARAMS);
  }
  write_file("losses.f32", losses, sizeof(real), STEPS);
  write_file("buffers_end.f32", SYM(buffers), sizeof(real), NBUFFERS);
  free(x);
  free(targets);
  free(labels);
  return 0;
}
