/* infer-time.c - batch-1 latency of the code of cnncc --emit=inference, for
 * bench/infer-latency.sh:
 *
 *     cc -O2 -march=native -DINFER='"lenet_infer.c"' bench/infer-time.c -lm
 *     infer-time [SECONDS]
 *
 * Calls cnn_predict on one random sample (inputs uniform in [0, 1)) over and
 * over: first for a tenth of the time to warm up, then in five rounds of
 * SECONDS / 5 (default 2 s in all). Prints "NAME MICROSECONDS" with the mean
 * time per call of the fastest round. */
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

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  static float x[CNN_INPUT_SIZE], y[CNN_OUTPUT_SIZE];
  void *scratch = malloc(CNN_SCRATCH_BYTES + 1);
  if (!scratch) return 1;
  unsigned s = 12345;
  for (int i = 0; i < CNN_INPUT_SIZE; i++) {
    s = s * 1103515245u + 12345u;
    x[i] = (float)(s >> 8) / 16777216.0f;
  }
  double t0 = now();
  while (now() - t0 < seconds / 10) cnn_predict(x, y, scratch);
  double best = 1e30;
  for (int round = 0; round < 5; round++) {
    long calls = 0;
    double start = now(), t;
    do {
      cnn_predict(x, y, scratch);
      calls++;
      t = now() - start;
    } while (t < seconds / 5);
    if (t / calls < best) best = t / calls;
  }
  printf("%s %.2f\n", CNN_NET_NAME, best * 1e6);
  free(scratch);
  return 0;
}
