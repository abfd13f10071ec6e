/* simd-check.c - the kernels of the generated code, for tests/codegen.sh:
 * compiled with the float code of a network (cnncc NET.cnn -o NET.c),
 * -DCNNCC_NO_MAIN -DNET=name -DNETU=NAME -include NET.h, libcnnrt, and the
 * flags of a target (and -fopenmp for the threads check).
 *
 *   simd-check dump FILE [BATCH]   forward and backward from a fixed start:
 *                                  writes the loss, the logits and the
 *                                  gradients to FILE (not parameters after
 *                                  Adam: its first step is about lr * sign(g),
 *                                  which flips for g near 0)
 *   simd-check compare A B TOL     the dumps of two builds (e.g. portable C
 *                                  and AVX-512) agree: each block within
 *                                  TOL of its largest value (max norm)
 *   simd-check threads [BATCH]     three training steps with 1 and with 2
 *                                  OpenMP threads give the same parameters,
 *                                  buffers and gradients, bit for bit
 *
 * Exit status 0 when the check holds; a line on stdout says what was
 * compared. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NET, x)
#define U(x) CAT(NETU, x)

typedef F(_real) real;

static uint64_t state = 7;
static double uniform(void) {
  uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

static real *x, *targets;
static int32_t *labels;
static real m_[U(_NPARAMS) + 1], v_[U(_NPARAMS) + 1];

/* a fixed batch, the network initialized, the Adam state zeroed (again,
 * for threads(): the previous batch is freed) */
static void start(int batch) {
  state = 7;
  free(x);
  free(labels);
  free(targets);
  x = malloc(sizeof *x * (size_t)batch * U(_IN_SIZE));
  labels = malloc(sizeof *labels * (size_t)batch * U(_LABELS));
  targets = malloc(sizeof *targets * (size_t)batch * U(_OUT_SIZE));
  if (!x || !labels || !targets || F(_setup)(batch)) {
    fprintf(stderr, "simd-check: out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < (size_t)batch * U(_IN_SIZE); i++) x[i] = (real)(2 * uniform() - 1);
  for (size_t i = 0; i < (size_t)batch * U(_LABELS); i++) labels[i] = (int32_t)(uniform() * U(_CLASSES));
  for (size_t i = 0; i < (size_t)batch * U(_OUT_SIZE); i++) targets[i] = (real)uniform();
  F(_init)(1);
  memset(m_, 0, sizeof m_);
  memset(v_, 0, sizeof v_);
}

static real step(int batch, long t) {
  const RtAdam adam = {1e-3, 0.9, 0.999, 1e-8, 0, 0};
  real loss = F(_forward)(x, labels, U(_LOSS_MSE) ? targets : NULL, batch, 1, 99 + (uint64_t)t, NULL);
  F(_backward)(batch);
  rt_adam_step(F(_params), F(_grads), m_, v_, U(_NPARAMS), &adam, t);
  return loss;
}

/* ---- dump, compare ---- */

enum { LOSS, LOGITS, GRADS, NBLOCKS };
static const char *block_name[NBLOCKS] = {"loss", "logits", "gradients"};

static int dump(const char *path, int batch) {
  start(batch);
  double loss = F(_forward)(x, labels, U(_LOSS_MSE) ? targets : NULL, batch, 1, 99, NULL);
  F(_backward)(batch);
  FILE *f = fopen(path, "wb");
  if (!f) return 2;
  long counts[NBLOCKS] = {1, (long)batch * U(_OUT_SIZE), U(_NPARAMS)};
  fwrite(counts, sizeof counts, 1, f);
  fwrite(&loss, sizeof loss, 1, f);
  for (long i = 0; i < counts[LOGITS]; i++) {
    double v = F(_output)()[i];
    fwrite(&v, sizeof v, 1, f);
  }
  for (long i = 0; i < U(_NPARAMS); i++) {
    double v = F(_grads)[i];
    fwrite(&v, sizeof v, 1, f);
  }
  return fclose(f) ? 2 : 0;
}

static double *load(const char *path, long counts[NBLOCKS]) {
  FILE *f = fopen(path, "rb");
  if (!f || fread(counts, sizeof(long), NBLOCKS, f) != NBLOCKS) exit(2);
  long total = 0;
  for (int b = 0; b < NBLOCKS; b++) total += counts[b];
  double *v = malloc(sizeof *v * (size_t)total);
  if (!v || fread(v, sizeof *v, (size_t)total, f) != (size_t)total) exit(2);
  fclose(f);
  return v;
}

static int compare(const char *a, const char *b, double tol) {
  long ca[NBLOCKS], cb[NBLOCKS];
  double *va = load(a, ca), *vb = load(b, cb);
  int bad = 0;
  long off = 0;
  for (int k = 0; k < NBLOCKS; k++) {
    if (ca[k] != cb[k]) {
      printf("%s: different sizes\n", block_name[k]);
      bad = 1;
      break;
    }
    double big = 0, diff = 0;
    for (long i = 0; i < ca[k]; i++) {
      big = fmax(big, fabs(va[off + i]));
      diff = fmax(diff, fabs(va[off + i] - vb[off + i]));
    }
    double rel = big > 0 ? diff / big : diff;
    printf("%s %.2e%s", block_name[k], rel, k + 1 < NBLOCKS ? ", " : "\n");
    bad |= !(rel <= tol);
    off += ca[k];
  }
  free(va);
  free(vb);
  return bad;
}

/* ---- threads ---- */

static int threads(int batch) {
#ifdef _OPENMP
  static real p[2][U(_NPARAMS) + 1], g[2][U(_NPARAMS) + 1], buf[2][U(_NBUFFERS) + 1];
  for (int run = 0; run < 2; run++) {
    omp_set_num_threads(run + 1);
    start(batch);
    for (long t = 1; t <= 3; t++) step(batch, t);
    memcpy(p[run], F(_params), sizeof(real) * U(_NPARAMS));
    memcpy(g[run], F(_grads), sizeof(real) * U(_NPARAMS));
    memcpy(buf[run], F(_buffers), sizeof(real) * U(_NBUFFERS));
  }
  int same = !memcmp(p[0], p[1], sizeof p[0]) && !memcmp(g[0], g[1], sizeof g[0]) &&
             !memcmp(buf[0], buf[1], sizeof buf[0]);
  printf("3 steps, batch %d: parameters, gradients and buffers with 1 and 2 threads %s\n", batch,
         same ? "identical" : "DIFFER");
  return !same;
#else
  (void)batch;
  printf("built without OpenMP\n");
  return 1;
#endif
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "dump")) return dump(argv[2], argc > 3 ? atoi(argv[3]) : 8);
  if (argc == 5 && !strcmp(argv[1], "compare")) return compare(argv[2], argv[3], atof(argv[4]));
  if (argc >= 2 && !strcmp(argv[1], "threads")) return threads(argc > 2 ? atoi(argv[2]) : 8);
  fprintf(stderr, "usage: simd-check dump FILE [BATCH] | compare A B TOL | threads [BATCH]\n");
  return 2;
}
