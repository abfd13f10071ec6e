/* gradcheck.c - checks the backward pass that cnncc generates against
 * central finite differences, in double precision.
 *
 * Built by tests/gradcheck.sh together with the code of
 * `cnncc --dtype=double NET.cnn -o NET.c`:
 *
 *     cc -DCNNCC_NO_MAIN -DNET=lenet -DNETU=LENET -include lenet.h \
 *        gradcheck.c lenet.c -lm
 *
 * For a random batch in training mode (batch statistics; dropout with a
 * fixed seed, so its mask is fixed) it compares d loss / d p for a random
 * sample of the entries of every parameter tensor, and d loss / d x for a
 * sample of the input, with (L(p + h) - L(p - h)) / 2h, h = 1e-6. A pass
 * needs |analytic - numeric| <= tol * max(|analytic|, |numeric|, floor),
 * where floor is 1e-2 times the root mean square of the tensor's gradient,
 * and at least 1e-4 * max(1, |loss|): entries whose gradient is tiny next to
 * their neighbours' (or zero, like a bias before batchnorm) only need to be
 * as accurate as the rounding noise of the loss allows. An entry that fails
 * is retried with other steps (a ReLU or a pooling maximum can flip within
 * h, and rounding favours larger steps).
 *
 * Large networks need a forward pass per evaluation, so --directions K
 * checks K random directions instead: each moves --per-tensor entries of
 * every tensor and of the input at once (scaled by 1/rms of the tensor's
 * gradient, at most 1/floor, so that every tensor counts alike), and the directional
 * derivative g.v is compared with the central difference along v.
 *
 * --dump FILE writes the loss and the analytic gradients instead of
 * checking them, for tests/build-diff.sh to compare builds of the same
 * network: lines "NAME VALUE", NAME a parameter tensor's or "input" (d loss
 * / d x) or "loss". The batch and the parameters depend only on --seed and
 * --batch, so any build (float or double, any compiler) gets the same ones
 * up to rounding. Compiled with the float code it needs libcnnrt.
 *
 * Output: "#" lines; exit status 0 when everything passed.
 * Options: --batch N, --per-tensor K, --input-checks K, --directions K,
 * --seed S, --tol T, --eval, --dump FILE. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NET, x)
#define U(x) CAT(NETU, x)

typedef F(_real) real;

static uint64_t rng_state;
static uint64_t next_u64(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static double uniform(double a, double b) { return a + (b - a) * (double)(next_u64() >> 11) * 0x1.0p-53; }

static real *x, *targets, *dx;
static int32_t *labels;
static int batch = 2, training = 1;
static const uint64_t dropout_seed = 12345;

static double loss(void) {
  return F(_forward)(x, labels, targets, batch, training, dropout_seed, NULL);
}

/* Central difference of the loss in the value *p. */
static double numeric(real *p, double h) {
  const real saved = *p;
  *p = saved + h;
  double plus = loss();
  *p = saved - h;
  double minus = loss();
  *p = saved;
  return (plus - minus) / (2 * h);
}

static double tol = 1e-5, min_floor;

static double rel_error(double a, double n, double floor) {
  return fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), fmax(floor, min_floor));
}

/* Checks one entry; returns its relative error and counts retries. */
static double check(real *p, double analytic, double floor, int *ok, int *retried) {
  static const double steps[] = {1e-6, 1e-5, 1e-7, 3e-6};
  double best = INFINITY;
  for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
    double n = numeric(p, steps[k]);
    double err = rel_error(analytic, n, floor);
    if (err < best) best = err;
    if (err <= tol) {
      *ok = 1;
      if (k) (*retried)++;
      return best;
    }
  }
  *ok = 0;
  fprintf(stdout, "#   entry: analytic %.12g, numeric %.12g (h=1e-6)\n", analytic, numeric(p, 1e-6));
  return best;
}

static double rms(const real *g, long n) {
  double s = 0;
  for (long i = 0; i < n; i++) s += (double)g[i] * g[i];
  return n ? sqrt(s / n) : 0;
}

/* A move of entries of the parameters and the input: p[i] += h * dir. */
typedef struct {
  real *p;
  double dir;
} Move;

static double directional_loss(const Move *m, int nm, double h) {
  for (int i = 0; i < nm; i++) *m[i].p += h * m[i].dir;
  double l = loss();
  for (int i = 0; i < nm; i++) *m[i].p -= h * m[i].dir;
  return l;
}

static int directional(int directions, int per_tensor, const real *grads) {
  int nm_max = (U(_NTENSORS) + 1) * per_tensor, failures = 0;
  Move *m = malloc((size_t)nm_max * sizeof *m);
  double dx_rms = rms(dx, (long)batch * U(_IN_SIZE));
  for (int d = 0; d < directions; d++) {
    int nm = 0;
    double predicted = 0;
    for (int t = 0; t <= U(_NTENSORS); t++) {
      const F(_tensor) *s = t < U(_NTENSORS) ? &F(_tensors)[t] : NULL;
      if (s && !s->learnable) continue;
      long count = s ? s->count : (long)batch * U(_IN_SIZE);
      const real *g = s ? grads + s->offset : dx;
      real *p = s ? F(_params) + s->offset : x;
      /* gradients below the rounding noise of the loss are not scaled up */
      double scale = 1 / fmax(s ? rms(g, count) : dx_rms, min_floor);
      for (int j = 0; j < per_tensor; j++) {
        long i = (long)(next_u64() % (uint64_t)count);
        m[nm].p = p + i;
        m[nm].dir = (next_u64() & 1 ? 1 : -1) * scale * uniform(0.5, 1);
        predicted += g[i] * m[nm].dir;
        nm++;
      }
    }
    double biggest = 0;
    for (int i = 0; i < nm; i++) biggest = fmax(biggest, fabs(m[i].dir));
    static const double steps[] = {1e-6, 1e-5, 1e-7};
    double best = INFINITY, numeric_d = 0;
    for (size_t k = 0; k < sizeof steps / sizeof steps[0] && best > tol; k++) {
      double h = steps[k] / biggest;
      double n = (directional_loss(m, nm, h) - directional_loss(m, nm, -h)) / (2 * h);
      double err = rel_error(predicted, n, 0);
      if (err < best) best = err, numeric_d = n;
    }
    printf("# %-4s direction %d over %d entries: analytic %.12g, numeric %.12g, rel err %.2e\n",
           best <= tol ? "ok" : "FAIL", d + 1, nm, predicted, numeric_d, best);
    failures += best > tol;
  }
  free(m);
  return failures;
}

/* --dump: the gradients of this build, to compare with another's. */
static int dump(const char *path, double l, const real *grads) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "gradcheck: cannot write %s\n", path);
    return 1;
  }
  fprintf(f, "loss %.10g\n", l);
  for (int t = 0; t < U(_NTENSORS); t++) {
    const F(_tensor) *s = &F(_tensors)[t];
    if (!s->learnable) continue;
    for (long i = 0; i < s->count; i++) fprintf(f, "%s %.10g\n", s->name, (double)grads[s->offset + i]);
  }
  for (long i = 0; i < (long)batch * U(_IN_SIZE); i++) fprintf(f, "input %.10g\n", (double)dx[i]);
  return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv) {
  int per_tensor = 10, input_checks = 10, directions = 0;
  uint64_t seed = 1;
  const char *dump_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--batch") && v) batch = atoi(v), i++;
    else if (!strcmp(a, "--per-tensor") && v) per_tensor = atoi(v), i++;
    else if (!strcmp(a, "--input-checks") && v) input_checks = atoi(v), i++;
    else if (!strcmp(a, "--seed") && v) seed = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--tol") && v) tol = atof(v), i++;
    else if (!strcmp(a, "--directions") && v) directions = atoi(v), i++;
    else if (!strcmp(a, "--eval")) training = 0;
    else if (!strcmp(a, "--dump") && v) dump_path = v, i++;
    else {
      fprintf(stderr, "gradcheck: unknown option '%s'\n", a);
      return 2;
    }
  }
  rng_state = seed;
  if (F(_setup)(batch)) {
    fprintf(stderr, "gradcheck: setup failed\n");
    return 1;
  }
  F(_init)(seed);
  /* Move batchnorm weights off 1, biases off 0 (and the running stats, for
   * --eval), so that their gradients are not special. */
  for (int t = 0; t < U(_NTENSORS); t++) {
    const F(_tensor) *s = &F(_tensors)[t];
    if (s->rank != 1) continue;
    real *base = s->learnable ? F(_params) : F(_buffers);
    int var = strstr(s->name, "running_var") != NULL;
    for (long i = 0; i < s->count; i++)
      base[s->offset + i] = var ? uniform(0.5, 1.5) : base[s->offset + i] + uniform(-0.5, 0.5);
  }
  size_t nx = (size_t)batch * U(_IN_SIZE), nout = (size_t)batch * U(_OUT_SIZE);
  x = malloc(nx * sizeof *x);
  dx = malloc(nx * sizeof *dx);
  targets = malloc(nout * sizeof *targets);
  labels = malloc((size_t)batch * U(_LABELS) * sizeof *labels);
  real *grads = malloc((U(_NPARAMS) + 1) * sizeof *grads);
  if (!x || !dx || !targets || !labels || !grads) return 1;
  for (size_t i = 0; i < nx; i++) x[i] = uniform(-1, 1);
  for (size_t i = 0; i < nout; i++) targets[i] = uniform(-1, 1);
  for (long i = 0; i < (long)batch * U(_LABELS); i++) labels[i] = (int32_t)(next_u64() % U(_CLASSES));

  double l0 = loss();
  F(_backward_input)(batch, dx);
  memcpy(grads, F(_grads), U(_NPARAMS) * sizeof *grads);
  printf("# loss %.10g, batch %d, %s mode\n", l0, batch, training ? "training" : "evaluation");
  if (!isfinite(l0)) return 1;
  min_floor = 1e-4 * fmax(1, fabs(l0));

  int failures = 0, checked = 0, retries = 0;
  if (dump_path) {
    failures = dump(dump_path, l0, grads);
    goto done;
  }
  if (directions > 0) {
    failures = directional(directions, per_tensor, grads);
    goto done;
  }
  for (int t = 0; t < U(_NTENSORS); t++) {
    const F(_tensor) *s = &F(_tensors)[t];
    if (!s->learnable) continue;
    int k = per_tensor < s->count ? per_tensor : (int)s->count, bad = 0;
    double worst = 0, floor = 1e-2 * rms(grads + s->offset, s->count);
    for (int j = 0; j < k; j++) {
      long i = k == s->count ? j : (long)(next_u64() % (uint64_t)s->count);
      int ok;
      double err = check(&F(_params)[s->offset + i], grads[s->offset + i], floor, &ok, &retries);
      worst = fmax(worst, err);
      if (!ok) {
        bad++;
        printf("#   %s[%ld] failed\n", s->name, i);
      }
      checked++;
    }
    printf("# %-4s %-28s %3d entries, max rel err %.2e\n", bad ? "FAIL" : "ok", s->name, k, worst);
    failures += bad;
  }
  {
    int k = input_checks < (int)nx ? input_checks : (int)nx, bad = 0;
    double worst = 0, floor = 1e-2 * rms(dx, (long)nx);
    for (int j = 0; j < k; j++) {
      size_t i = k == (int)nx ? (size_t)j : (size_t)(next_u64() % nx);
      int ok;
      double err = check(&x[i], dx[i], floor, &ok, &retries);
      worst = fmax(worst, err);
      if (!ok) {
        bad++;
        printf("#   input[%zu] failed\n", i);
      }
      checked++;
    }
    printf("# %-4s %-28s %3d entries, max rel err %.2e\n", bad ? "FAIL" : "ok", "d loss / d input", k, worst);
    failures += bad;
  }
  printf("# %d entries checked, %d failed, %d needed another step\n", checked, failures, retries);
done:
  F(_free)();
  free(x), free(dx), free(targets), free(labels), free(grads);
  return failures ? 1 : 0;
}
