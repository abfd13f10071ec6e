/* data-load.c - what reading a data set costs a trainer (and every rank of
 * an MPI trainer, which reads the whole set: docs/distributed.md): the
 * bytes it keeps and the best of 5 loads through libcnnrt's
 * rt_dataset_load, the trainer's own reader.
 *
 *     bench/data-load DIR [SPLIT]...     (default: train test)
 *
 * `make bench-data` runs it on Fashion-MNIST. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "cnnrt.h"

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Loads DIR's SPLIT 5 times and prints one line; 1 on failure. */
static int time_split(const char *dir, const char *split)
{
  double best = -1;
  RtDataset ds = {0};
  char err[1024];
  for (int i = 0; i < 5; i++) {
    rt_dataset_free(&ds);
    double start = now();
    if (rt_dataset_load(dir, split, &ds, err, sizeof err)) {
      fprintf(stderr, "data-load: %s\n", err);
      return 1;
    }
    double t = now() - start;
    if (best < 0 || t < best)
      best = t;
  }
  printf("%s %s: %ld samples, %.1f MB in memory, load %.1f ms (best of 5) from %s\n", dir, split,
         ds.n, (double)ds.n * (double)ds.sample_size / 1e6, best * 1e3, ds.image_path);
  rt_dataset_free(&ds);
  return 0;
}

int main(int argc, char **argv)
{
  static char *both[] = {"train", "test"};
  if (argc < 2) {
    fprintf(stderr, "usage: data-load DIR [SPLIT]...\n");
    return 2;
  }
  char **splits = argc > 2 ? argv + 2 : both;
  int n = argc > 2 ? argc - 2 : 2, rc = 0;
  for (int i = 0; i < n; i++)
    rc |= time_split(argv[1], splits[i]);
  return rc;
}
