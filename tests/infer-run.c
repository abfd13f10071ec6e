/* infer-run.c - the inference side of tests/infer.sh: runs the code of
 * cnncc --emit=inference on the inputs that tests/infer-ref.c wrote and
 * compares with the training code's evaluation-mode outputs.
 *
 *     cc -DINFER='"lenet_infer.c"' tests/infer-run.c -lm
 *     infer-run DIR N TOL
 *
 * Each sample goes through cnn_predict() with a scratch buffer at an odd
 * address that is filled with NaNs before every call (the code must not
 * depend on what is in it), then all of them through cnn_predict_batch(),
 * which must agree exactly. The error of an output is |got - want| /
 * max(1, |want|); the largest must be at most TOL, and TOL 0 asks for the
 * same bits (tests/quant.sh's aarch64 runs of int8 files). Prints one line
 * and exits with 0 when everything holds; first, on stderr, the vector
 * level it was compiled with (CNNCC_SIMD N, vector.h), so tests can tell
 * which path ran. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNNCC_GENERIC_NAMES
#include INFER

static float *read_floats(const char *dir, const char *name, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  float *p = malloc(n * sizeof *p + 1);
  if (!f || !p || fread(p, sizeof *p, n, f) != n) {
    fprintf(stderr, "infer-run: cannot read %zu floats from %s\n", n, path);
    exit(1);
  }
  fclose(f);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: infer-run DIR N TOL\n");
    return 2;
  }
  fprintf(stderr, "CNNCC_SIMD %d\n", CNNCC_SIMD);
  const char *dir = argv[1];
  int n = atoi(argv[2]);
  double tol = atof(argv[3]);
  float *x = read_floats(dir, "x.f32", (size_t)n * CNN_INPUT_SIZE);
  float *want = read_floats(dir, "ref.f32", (size_t)n * CNN_OUTPUT_SIZE);
  float *got = malloc(sizeof(float) * (size_t)n * CNN_OUTPUT_SIZE);
  float *batch = malloc(sizeof(float) * (size_t)n * CNN_OUTPUT_SIZE);
  size_t scratch_bytes = CNN_SCRATCH_BYTES + 1;
  unsigned char *mem = malloc(scratch_bytes + 64);
  if (!got || !batch || !mem) return 1;
  unsigned char *scratch = mem + 1; /* deliberately misaligned */
  int failed = 0;
  if (cnn_predict(NULL, got, scratch) != -1 || cnn_predict(x, NULL, scratch) != -1) {
    printf("NULL pointers are not rejected\n");
    failed = 1;
  }
  double worst = 0;
  long worst_i = 0;
  for (int s = 0; s < n; s++) {
    memset(mem, 0xff, scratch_bytes + 64); /* NaNs */
    if (cnn_predict(x + (size_t)s * CNN_INPUT_SIZE, got + (size_t)s * CNN_OUTPUT_SIZE, scratch)) {
      printf("cnn_predict failed\n");
      return 1;
    }
  }
  for (long i = 0; i < (long)n * CNN_OUTPUT_SIZE; i++) {
    double w = want[i], e = fabs(got[i] - w) / (fabs(w) > 1 ? fabs(w) : 1);
    if (tol == 0 && memcmp(got + i, want + i, sizeof *got)) e = INFINITY; /* -0 against 0 too */
    if (!(e <= worst)) { /* NaN counts as the worst */
      worst = isnan(e) ? INFINITY : e;
      worst_i = i;
    }
  }
  memset(mem, 0xff, scratch_bytes + 64);
  if (cnn_predict_batch(x, batch, n, scratch) ||
      memcmp(batch, got, sizeof(float) * (size_t)n * CNN_OUTPUT_SIZE)) {
    printf("cnn_predict_batch differs from cnn_predict\n");
    failed = 1;
  }
  if (worst > tol) failed = 1;
  printf("%s: %d samples, max error %.3g (output %ld: %.9g, want %.9g), tolerance %g\n", CNN_NET_NAME,
         n, worst, worst_i, (double)got[worst_i], (double)want[worst_i], tol);
  free(x);
  free(want);
  free(got);
  free(batch);
  free(mem);
  return failed;
}
