/* The layer profile's functions (emit/train.c writes the table profile[],
 * profiling and profile_clock before them): seconds(), lap(), which adds
 * the time since the last lap to a row, the table at exit, and
 * profile_start(), which decides whether to profile (CNNCC_PROFILE). */
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

static void profile_print(void) {
  double total[2] = {0, 0}, flops[2] = {0, 0};
  fprintf(stderr, "%-24s %-16s %11s %8s %11s %8s\n", "layer (CNNCC_PROFILE)", "op", "forward ms",
          "GFLOP/s", "backward ms", "GFLOP/s");
  for (int k = 0; k < (int)(sizeof profile / sizeof *profile); k++) {
    fprintf(stderr, "%-24s %-16s", profile[k].name, profile[k].op);
    for (int pass = 0; pass < 2; pass++) {
      const double s = profile[k].seconds[pass];
      const double f = profile[k].flops * profile[k].samples[pass] * (pass && profile[k].weights ? 2 : 1);
      total[pass] += s;
      flops[pass] += f;
      if (!profile[k].calls[pass]) fprintf(stderr, " %11s %8s", "-", "-");
      else if (pass && !profile[k].weights && profile[k].flops) fprintf(stderr, " %11.3f %8s", 1e3 * s / profile[k].calls[pass], "");
      else fprintf(stderr, " %11.3f %8.1f", 1e3 * s / profile[k].calls[pass], s > 0 ? f / s * 1e-9 : 0.0);
    }
    fputc('\n', stderr);
  }
  const long calls = profile[0].calls[0] > 0 ? profile[0].calls[0] : 1;
  fprintf(stderr, "%-24s %-16s %11.3f %8.1f %11.3f %8.1f\n", "total per call", "",
          1e3 * total[0] / calls, total[0] > 0 ? flops[0] / total[0] * 1e-9 : 0.0,
          1e3 * total[1] / calls, total[1] > 0 ? flops[1] / total[1] * 1e-9 : 0.0);
}

/* Decides once whether to profile (CNNCC_PROFILE) and prints the table at exit. */
static void profile_start(void) {
  if (profiling >= 0) return;
  const char *env = getenv("CNNCC_PROFILE");
  profiling = env && *env && strcmp(env, "0") != 0;
  if (profiling) atexit(profile_print);
}
