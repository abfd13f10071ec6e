/* infer-ref.c - the reference side of tests/infer.sh: drives the training
 * code that cnncc generates for one network (built with -DCNNCC_NO_MAIN) to
 * make a checkpoint with non-trivial weights and batchnorm statistics, and
 * writes the evaluation-mode outputs of that network for some inputs, for
 * the inference code (cnncc --emit=inference) to reproduce.
 *
 *     cc -DNET=lenet -DNETU=LENET -DHEADER='"lenet.h"' -DCNNCC_NO_MAIN \
 *        -Iruntime tests/infer-ref.c lenet.c libcnnrt.a -lz -lm
 *     infer-ref DIR STEPS N SEED [IMAGES]
 *
 * STEPS training steps (Adam, batch 4, random inputs and labels) from the
 * initialization of SEED; then DIR/ckpt is saved and DIR/x.f32 holds N
 * inputs (the first N images of the IDX file IMAGES, scaled to [0, 1], or
 * uniform in [-1, 1)), DIR/ref.f32 the N outputs of NET_predict. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(x) CAT(NET, CAT(_, x))
#define MAC(x) CAT(NETU, CAT(_, x))
#define STR_(x) #x
#define STR(x) STR_(x)

#define BATCH 4

static uint64_t state;
static uint64_t next(void) { /* splitmix64 */
  uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static float uniform(void) { return (float)(next() >> 40) * 0x1.0p-24f * 2 - 1; }

static void write_file(const char *dir, const char *name, const void *data, size_t size, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, size, n, f) != n || fclose(f)) {
    fprintf(stderr, "infer-ref: cannot write %s\n", path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: infer-ref DIR STEPS N SEED [IMAGES]\n");
    return 2;
  }
  const char *dir = argv[1];
  int steps = atoi(argv[2]), n = atoi(argv[3]);
  uint64_t seed = strtoull(argv[4], NULL, 10);
  int max = n > BATCH ? n : BATCH;
  if (SYM(setup)(max)) {
    fprintf(stderr, "infer-ref: setup failed\n");
    return 1;
  }
  SYM(init)(seed);
  state = seed ^ 0x696e666572u; /* "infer" */
  float *x = malloc(sizeof(float) * (size_t)max * MAC(IN_SIZE));
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)BATCH * MAC(LABELS));
  float *out = malloc(sizeof(float) * (size_t)n * MAC(PRED_SIZE));
  float *m = calloc(MAC(NPARAMS) + 1, sizeof(float)), *v = calloc(MAC(NPARAMS) + 1, sizeof(float));
  if (!x || !labels || !out || !m || !v) return 1;
  /* a few training steps: weights move, batchnorm statistics fill in */
  const RtAdam adam = {1e-2, 0.9, 0.999, 1e-8, 0, 0};
  for (int t = 1; t <= steps; t++) {
    for (long i = 0; i < (long)BATCH * MAC(IN_SIZE); i++) x[i] = uniform();
    for (long i = 0; i < (long)BATCH * MAC(LABELS); i++) labels[i] = (int32_t)(next() % MAC(CLASSES));
    long correct;
    SYM(forward)(x, labels, NULL, BATCH, 1, (uint64_t)t, &correct);
    SYM(backward)(BATCH);
    SYM(update)(&adam, t);
  }
  RtNet net = {.name = STR(NET), .nparams = MAC(NPARAMS), .params = SYM(params),
               .nbuffers = MAC(NBUFFERS), .buffers = SYM(buffers), .arch_hash = MAC(ARCH_HASH)};
  RtTrainState st = {.seed = seed, .epoch = 0, .t = steps, .batch = BATCH};
  char err[1024], path[4096];
  snprintf(path, sizeof path, "%s/ckpt", dir);
  if (rt_checkpoint_save(path, &net, &st, m, v, err, sizeof err)) {
    fprintf(stderr, "infer-ref: %s\n", err);
    return 1;
  }
  /* the inputs */
  if (argc == 6) {
    RtDataset ds;
    if (rt_images_load(argv[5], &ds, err, sizeof err)) {
      fprintf(stderr, "infer-ref: %s\n", err);
      return 1;
    }
    if (ds.n < n || ds.sample_size != (size_t)MAC(IN_SIZE)) {
      fprintf(stderr, "infer-ref: %s: %ld images of %zu pixels; need %d of %d\n", argv[5], ds.n,
              ds.sample_size, n, (int)MAC(IN_SIZE));
      return 1;
    }
    rt_dataset_batch(&ds, NULL, 0, n, x, NULL);
    rt_dataset_free(&ds);
  } else {
    for (long i = 0; i < (long)n * MAC(IN_SIZE); i++) x[i] = uniform();
  }
  SYM(predict)(x, n, out);
  write_file(dir, "x.f32", x, sizeof(float), (size_t)n * MAC(IN_SIZE));
  write_file(dir, "ref.f32", out, sizeof(float), (size_t)n * MAC(PRED_SIZE));
  free(x);
  free(labels);
  free(out);
  free(m);
  free(v);
  return 0;
}
