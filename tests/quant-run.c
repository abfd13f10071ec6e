/* quant-run.c - the driver of tests/quant.sh: runs the inference code INFER
 * (float or --quantize=int8) on the first N test samples of DIR, read with
 * libcnnrt (DIR may be one CSV file), writes the outputs to OUT (raw
 * floats, for cmp) and the inputs to OUT.in (raw floats, for the aarch64
 * runs of tests/infer-run.c, which has no libcnnrt) and prints the
 * accuracy; with REF (another run's OUT) also how many samples have the same
 * argmax and the largest |out - ref| relative to the largest |ref|.
 *
 *     cc -DINFER='"lenet_q.c"' tests/quant-run.c libcnnrt.a -lz -lm
 *     quant-run DIR N OUT [REF] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cnnrt.h"
#define CNNCC_GENERIC_NAMES
#include INFER

static int argmax(const float *v) {
  int best = 0;
  for (int c = 1; c < CNN_OUTPUT_CHANNELS; c++)
    if (v[c] > v[best]) best = c;
  return best;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: quant-run DIR N OUT [REF]\n");
    return 2;
  }
  RtDataset ds;
  char err[1024];
  RtCsvOptions csv = {NULL, -1};
  struct stat st;
  if (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode) ? rt_csv_load(argv[1], &csv, &ds, err, sizeof err)
                                                     : rt_dataset_load(argv[1], "test", &ds, err, sizeof err)) {
    fprintf(stderr, "quant-run: %s\n", err);
    return 1;
  }
  long n = atol(argv[2]) < ds.n ? atol(argv[2]) : ds.n;
  float *x = malloc(sizeof(float) * (size_t)n * CNN_INPUT_SIZE);
  float *out = malloc(sizeof(float) * (size_t)n * CNN_OUTPUT_SIZE);
  float *ref = malloc(sizeof(float) * (size_t)n * CNN_OUTPUT_SIZE);
  int32_t label = 0;
  void *scratch = malloc(CNN_SCRATCH_BYTES);
  long correct = 0, agree = 0;
  double maxdiff = 0, maxref = 0;
  if (!x || !out || !ref || !scratch) return 1;
  for (long s = 0; s < n; s++) {
    rt_dataset_batch(&ds, NULL, s, 1, x + s * CNN_INPUT_SIZE, &label);
    if (cnn_predict(x + s * CNN_INPUT_SIZE, out + s * CNN_OUTPUT_SIZE, scratch)) return 1;
    correct += argmax(out + s * CNN_OUTPUT_SIZE) == label;
  }
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out, sizeof(float) * CNN_OUTPUT_SIZE, (size_t)n, f) != (size_t)n || fclose(f)) return 1;
  char in[4096];
  snprintf(in, sizeof in, "%s.in", argv[3]);
  if (!(f = fopen(in, "wb")) || fwrite(x, sizeof(float) * CNN_INPUT_SIZE, (size_t)n, f) != (size_t)n || fclose(f))
    return 1;
  printf("accuracy %.4f of %ld", (double)correct / (double)n, n);
  if (argc == 5) {
    if (!(f = fopen(argv[4], "rb")) || fread(ref, sizeof(float) * CNN_OUTPUT_SIZE, (size_t)n, f) != (size_t)n)
      return 1;
    fclose(f);
    for (long s = 0; s < n; s++) {
      agree += argmax(out + s * CNN_OUTPUT_SIZE) == argmax(ref + s * CNN_OUTPUT_SIZE);
      for (long i = s * CNN_OUTPUT_SIZE; i < (s + 1) * CNN_OUTPUT_SIZE; i++) {
        maxdiff = fmax(maxdiff, fabs(out[i] - ref[i]));
        maxref = fmax(maxref, fabs(ref[i]));
      }
    }
    printf(" agree %.4f maxdiff %.4f", (double)agree / (double)n, maxdiff / maxref);
  }
  printf("\n");
  rt_dataset_free(&ds);
  free(scratch);
  free(ref);
  free(out);
  free(x);
  return 0;
}
