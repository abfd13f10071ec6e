/* make-checkpoint.c - write valid checkpoints of fuzz/fuzz-net.h with
 * rt_checkpoint_save, as seeds for fuzz-checkpoint (fuzz/make-corpus.sh
 * builds and runs it, then prefixes the harness's flag byte).
 *
 *     make-checkpoint DIR
 *
 * writes DIR/mid-epoch.ckpt (epoch 0, step 1 of 3, mid-epoch sums),
 * DIR/boundary.ckpt (after epoch 1, step 0) and DIR/sections.ckpt (format
 * version 2: a --val fraction and class names). */
#include <stdio.h>
#include <string.h>

#include "fuzz-net.h"

static int save(const char *dir, const char *name, const RtTrainState *st)
{
  char path[4096], err[1024];
  float m[FN_NPARAMS], v[FN_NPARAMS];
  for (int i = 0; i < FN_NPARAMS; i++) {
    m[i] = 0.001f * (float)(i + 1);
    v[i] = 1e-6f * (float)(i + 1);
  }
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (rt_checkpoint_save(path, &fuzznet, st, m, v, err, sizeof err)) {
    fprintf(stderr, "make-checkpoint: %s\n", err);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: make-checkpoint DIR\n");
    return 2;
  }
  fn_init(1);
  RtTrainState mid = {.seed = 1, .epoch = 0, .epoch_step = 1, .t = 1, .batch = 2,
                      .loss_sum = 1.375, .correct = 1, .seen = 2};
  RtTrainState boundary = {.seed = 7, .epoch = 1, .epoch_step = 0, .t = 3, .batch = 2};
  static char classes[] = "cat\0dog";
  RtTrainState sections = {.seed = 3, .epoch = 1, .t = 3, .batch = 2, .val = 0.25,
                           .nclasses = 2, .classes = classes};
  return save(argv[1], "mid-epoch.ckpt", &mid) || save(argv[1], "boundary.ckpt", &boundary) ||
         save(argv[1], "sections.ckpt", &sections);
}
