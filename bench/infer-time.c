/* infer-time.c - batch-1 latency of the code of cnncc --emit=inference, for
 * bench/infer-latency.sh:
 *
 *     cc -O3 -march=native -DINFER='"lenet_infer.c"' bench/infer-time.c -lm
 *     infer-time [SECONDS [BATCH]]
 *
 * Calls cnn_predict on one random sample (inputs uniform in [0, 1)) over and
 * over: for a tenth of the time to warm up, then for SECONDS (default 2),
 * timing every call. Prints "NAME MIN MEDIAN": the fastest and the median
 * call in microseconds. (The minimum is what the code costs when nothing
 * else takes the CPU; bench/infer-torch.py measures PyTorch the same way.)
 * With BATCH (default 1) above 1, each call is cnn_predict_batch on BATCH
 * random samples, which runs them one after the other: the batch-1 code in
 * a loop, for the batch throughput that bench/infer-latency.sh reports. */
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

/* cnn_predict itself for one sample, so that the latency is that of the call
 * a program makes */
static void predict(const float *x, float *y, int batch, void *scratch) {
  if (batch == 1)
    cnn_predict(x, y, scratch);
  else
    cnn_predict_batch(x, y, batch, scratch);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  int batch = argc > 2 ? atoi(argv[2]) : 1;
  if (batch < 1) {
    fprintf(stderr, "usage: infer-time [SECONDS [BATCH]]\n");
    return 2;
  }
  enum { MAX_CALLS = 1 << 20 };
  float *x = malloc(sizeof(float) * (size_t)batch * CNN_INPUT_SIZE);
  float *y = malloc(sizeof(float) * (size_t)batch * CNN_OUTPUT_SIZE);
  double *t = malloc(sizeof(double) * MAX_CALLS);
  void *scratch = malloc(CNN_SCRATCH_BYTES + 1);
  if (!x || !y || !scratch || !t) return 1;
  unsigned s = 12345;
  for (long i = 0; i < (long)batch * CNN_INPUT_SIZE; i++) {
    s = s * 1103515245u + 12345u;
    x[i] = (float)(s >> 8) / 16777216.0f;
  }
  double start = now();
  while (now() - start < seconds / 10) predict(x, y, batch, scratch);
  long n = 0;
  start = now();
  while (n < MAX_CALLS) {
    double t0 = now();
    predict(x, y, batch, scratch);
    double t1 = now();
    t[n++] = t1 - t0;
    if (t1 - start >= seconds) break;
  }
  qsort(t, (size_t)n, sizeof *t, cmp);
  printf("%s %.2f %.2f\n", CNN_NET_NAME, t[0] * 1e6, t[n / 2] * 1e6);
  free(scratch);
  free(t);
  free(y);
  free(x);
  return 0;
}
