/* The layer profile's functions (emit/train.c writes the table profile[],
 * profiling and profile_clock before them): seconds(), lap(), which adds
 * the time since the last lap to a row, profile_start(), which decides
 * whether to profile (CNNCC_PROFILE) and measures the machine's peaks, and
 * the table at exit: per layer and pass the time, the rates, and where the
 * pass stands against the roofline min(peak, FLOP/byte x bandwidth)
 * (docs/performance.md, "Where the time goes"). */
static double seconds(void) {
#ifdef _OPENMP
  return omp_get_wtime();
#else
  return (double)clock() / CLOCKS_PER_SEC; /* one thread: its time */
#endif
}

/* the time since the last lap goes to row k (-1: nowhere), pass 0 forward, 1 backward */
static void lap(int k, int pass, int n) {
  if (profiling <= 0) return;
  const double t = seconds();
  if (k >= 0) {
    profile[k].seconds[pass] += t - profile_clock;
    profile[k].calls[pass]++;
    profile[k].samples[pass] += n;
  }
  profile_clock = t;
}

/* ---- the peaks: measured with this file's compiler flags, so with the
 * instructions the layers use ---- */
static struct {
  double gflops, gflops1, gbs; /* FMA peak on the threads in use and on 1; bandwidth */
  int threads;
  const char *gflops_from, *gbs_from; /* "measured" or the variable that set it */
} peak;

#if defined(__AVX512F__)
#define PROFILE_VEC_BYTES 64
#elif defined(__AVX__)
#define PROFILE_VEC_BYTES 32
#else
#define PROFILE_VEC_BYTES 16
#endif
typedef real profile_vec __attribute__((vector_size(PROFILE_VEC_BYTES)));
#define PROFILE_LANES ((int)(PROFILE_VEC_BYTES / sizeof(real)))
#define PROFILE_CHAINS 16 /* independent FMA chains: more than latency x units */

/* iters x 16 multiply-adds per lane, no memory: acc = acc * a + b tends to 1,
 * so the values stay normal; a and b come from volatiles, so nothing folds */
static real profile_fma_chains(long iters) {
  static volatile real va = (real)0.999999, vb = (real)1e-6;
  profile_vec acc[PROFILE_CHAINS];
  const profile_vec a = (profile_vec){0} + va, b = (profile_vec){0} + vb;
  for (int c = 0; c < PROFILE_CHAINS; c++) acc[c] = (profile_vec){0} + (real)c * (real)0.01;
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < PROFILE_CHAINS; c++) acc[c] = acc[c] * a + b;
  real s = 0;
  for (int c = 0; c < PROFILE_CHAINS; c++)
    for (int l = 0; l < PROFILE_LANES; l++) s += acc[c][l];
  return s;
}

/* GFLOP/s of the chains on `threads` threads: the best of 3 runs of ~0.04 s */
static double profile_peak_gflops(int threads) {
  long iters = 1 << 12;
  double best = 0, t = 0;
  volatile real sink = 0;
  while ((t = seconds(), sink += profile_fma_chains(iters), seconds() - t) < 0.01) iters *= 2;
  iters *= 4;
  for (int run = 0; run < 3; run++) {
    real sum = 0;
    t = seconds();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sum)
#endif
    sum += profile_fma_chains(iters);
    sink += sum;
    const double g = 2.0 * PROFILE_CHAINS * PROFILE_LANES * iters * threads / (seconds() - t) * 1e-9;
    best = g > best ? g : best;
  }
  (void)sink;
  return best;
}

/* GB/s of y = x * k over 64 MiB in, 64 MiB out (far beyond the caches), read
 * and write counted once each as the layers' bytes are: the best of 4 */
static double profile_peak_gbs(void) {
  const long n = (64L << 20) / (long)sizeof(real);
  real *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
  double best = 0;
  if (x && y) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (long i = 0; i < n; i++) x[i] = (real)(i & 1023), y[i] = 0; /* the pages, on the threads that use them */
    for (int run = 0; run < 4; run++) {
      const double t = seconds();
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
      for (long i = 0; i < n; i++) y[i] = x[i] * (real)0.5;
      const double g = 2.0 * (double)n * sizeof(real) / (seconds() - t) * 1e-9;
      best = g > best ? g : best;
      real *swap = x;
      x = y, y = swap;
    }
  }
  free(x);
  free(y);
  return best;
}

/* a peak from the environment variable var (a positive number), else 0 */
static double profile_peak_env(const char *var) {
  const char *env = getenv(var);
  if (!env) return 0;
  char *end;
  const double v = strtod(env, &end);
  if (end != env && !*end && v > 0) return v;
  fprintf(stderr, "warning: %s=%s is not a positive number: measuring instead\n", var, env);
  return 0;
}

static void profile_measure_peaks(void) {
#ifdef _OPENMP
  peak.threads = omp_get_max_threads();
#else
  peak.threads = 1;
#endif
  peak.gflops_from = peak.gbs_from = "measured";
  if ((peak.gflops = profile_peak_env("CNNCC_PEAK_GFLOPS")) > 0) peak.gflops_from = "CNNCC_PEAK_GFLOPS";
  else {
    peak.gflops1 = profile_peak_gflops(1);
    peak.gflops = peak.threads > 1 ? profile_peak_gflops(peak.threads) : peak.gflops1;
  }
  if ((peak.gbs = profile_peak_env("CNNCC_PEAK_GBS")) > 0) peak.gbs_from = "CNNCC_PEAK_GBS";
  else peak.gbs = profile_peak_gbs();
}

/* ---- the table ---- */

/* v in a column of width w with p decimals, "-" if not meaningful */
static void profile_num(int w, int p, double v, int ok) {
  if (ok) fprintf(stderr, " %*.*f", w, p, v);
  else fprintf(stderr, " %*s", w, "-");
}

/* The seconds the roofline allows f FLOPs and b bytes: max(f / peak, b /
 * bandwidth); *compute: whether the FLOPs bound it. */
static double profile_roof_time(double f, double b, int *compute) {
  const double tf = f / (peak.gflops * 1e9), tb = peak.gbs > 0 ? b / (peak.gbs * 1e9) : 0;
  *compute = tf > tb;
  return tf > tb ? tf : tb;
}

/* One pass of a row (or the totals): s seconds over `calls` calls, f FLOPs,
 * b bytes, of which the roofline allows troof seconds; the bound, "-" if
 * none. */
static void profile_pass(const char *name, const char *op, const char *pass, double s, long calls,
                         double f, double b, double troof, const char *bound) {
  const double roof = b > 0 && peak.gbs > 0 && f / b * peak.gbs < peak.gflops ? f / b * peak.gbs : peak.gflops;
  fprintf(stderr, "%-22s %-15s %-8s", name, op, pass);
  profile_num(9, 3, 1e3 * s / (calls ? calls : 1), calls > 0);
  profile_num(8, 1, s > 0 ? f / s * 1e-9 : 0, calls && f > 0);
  profile_num(7, 1, s > 0 ? b / s * 1e-9 : 0, calls && b > 0);
  profile_num(8, 2, b > 0 ? f / b : 0, calls && f > 0 && b > 0);
  profile_num(9, 1, roof, calls && f > 0);
  profile_num(6, 1, s > 0 ? 100 * troof / s : 0, calls && s > 0 && troof > 0);
  fprintf(stderr, " %s\n", calls && troof > 0 ? bound : "-");
}

static void profile_print(void) {
  const int rows = (int)(sizeof profile / sizeof *profile);
  double total_s[2] = {0, 0}, total_f[2] = {0, 0}, total_b[2] = {0, 0}, total_roof[2] = {0, 0};
  long calls[2] = {0, 0};
  fprintf(stderr, "roofline: FMA peak %.1f GFLOP/s on %d thread%s (%s", peak.gflops, peak.threads,
          peak.threads == 1 ? "" : "s", peak.gflops_from);
  if (peak.threads > 1 && peak.gflops1 > 0) fprintf(stderr, "; 1 thread %.1f", peak.gflops1);
  fprintf(stderr, "), memory %.1f GB/s (%s)\n", peak.gbs, peak.gbs_from);
  fprintf(stderr, "%-22s %-15s %-8s %9s %8s %7s %8s %9s %6s %s\n", "layer (CNNCC_PROFILE)", "op", "pass", "ms/call",
          "GFLOP/s", "GB/s", "FLOP/B", "roof GF/s", "%roof", "bound");
  for (int k = 0; k < rows; k++)
    for (int pass = 0; pass < 2; pass++) {
      const double s = profile[k].seconds[pass], n = (double)profile[k].samples[pass];
      const double f = profile[k].flops[pass] * n;
      const double b = profile[k].bytes[pass] * n + profile[k].wbytes[pass] * profile[k].calls[pass];
      if (!profile[k].calls[pass]) continue; /* not run (a relu fused into a convolution: forward) */
      int compute;
      const double troof = profile_roof_time(f, b, &compute);
      profile_pass(profile[k].name, profile[k].op, pass ? "backward" : "forward", s, profile[k].calls[pass], f, b,
                   troof, compute ? "compute" : "memory");
      total_s[pass] += s, total_f[pass] += f, total_b[pass] += b, total_roof[pass] += troof;
      if (profile[k].calls[pass] > calls[pass]) calls[pass] = profile[k].calls[pass];
    }
  for (int pass = 0; pass < 2; pass++)
    profile_pass("total per call", "", pass ? "backward" : "forward", total_s[pass], calls[pass], total_f[pass],
                 total_b[pass], total_roof[pass], "-");
}

/* Decides once whether to profile (CNNCC_PROFILE); if so measures the peaks
 * and prints the table at exit. */
static void profile_start(void) {
  if (profiling >= 0) return;
  const char *env = getenv("CNNCC_PROFILE");
  profiling = env && *env && strcmp(env, "0") != 0;
  if (!profiling) return;
  profile_measure_peaks();
  atexit(profile_print);
}
