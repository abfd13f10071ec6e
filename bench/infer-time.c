/* infer-time.c - batch-1 latency of the code of cnncc --emit=inference, for
 * bench/infer-latency.sh:
 *
 *     cc -O3 -march=native -DINFER='"lenet_infer.c"' bench/infer-time.c -lm
 *     infer-time [SECONDS]
 *
 * Calls cnn_predict on one random sample (inputs uniform in [0, 1)) over and
 * over: for a tenth of the time to warm up, then for SECONDS (default 2),
 * timing every call. Prints "NAME MIN MEDIAN": the fastest and the median
 * call in microseconds. (The minimum is what the code costs when nothing
 * else takes the CPU; bench/infer-torch.py measures PyTorch the same way.) */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CNNCC_GENERIC_NAMES
#include INFER

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  static float x[CNN_INPUT_SIZE], y[CNN_OUTPUT_SIZE];
  enum { MAX_CALLS = 1 << 20 };
  double *t = malloc(sizeof(double) * MAX_CALLS);
  void *scratch = malloc(CNN_SCRATCH_BYTES + 1);
  if (!scratch || !t) return 1;
  unsigned s = 12345;
  for (int i = 0; i < CNN_INPUT_SIZE; i++) {
    s = s * 1103515245u + 12345u;
    x[i] = (float)(s >> 8) / 16777216.0f;
  }
  double start = now();
  while (now() - start < seconds / 10) cnn_predict(x, y, scratch);
  long n = 0;
  start = now();
  while (n < MAX_CALLS) {
    double t0 = now();
    cnn_predict(x, y, scratch);
    double t1 = now();
    t[n++] = t1 - t0;
    if (t1 - start >= seconds) break;
  }
  qsort(t, (size_t)n, sizeof *t, cmp);
  printf("%s %.2f %.2f\n", CNN_NET_NAME, t[0] * 1e6, t[n / 2] * 1e6);
  free(scratch);
  free(t);
  return 0;
}
