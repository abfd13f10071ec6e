/* peak.c - the FMA peak of this machine, in single precision.
 *
 * A register-only loop of independent fused multiply-add chains: enough
 * accumulators that the FMA units never wait for a result (latency x
 * throughput: 4 cycles x 2 units = 8 chains at least; we use 16), no loads,
 * no stores. It prints the GFLOP/s of one core and of T threads (one FMA
 * counts 2 floating-point operations, as cnncc --summary counts them):
 *
 *     peak_gflops_1t=...
 *     peak_gflops_2t=...
 *
 * The vector width follows the compiler's target: AVX-512 (zmm), AVX2+FMA
 * (ymm), else scalar a * b + c (an FMA instruction only if the target has
 * one; that case is only a fallback). Build it for the machine:
 *
 *     clang -O3 -march=native -pthread -o peak bench/peak.c
 *
 * Usage: peak [THREADS...] (default: 1 and 2). Each figure is the best of a
 * few runs of about 0.3 s. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define ISA "avx512"
#define LANES 16
typedef __m512 vec;
#define VSET(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VSUM(v) _mm512_reduce_add_ps(v)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ISA "avx2"
#define LANES 8
typedef __m256 vec;
#define VSET(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
static float vsum(__m256 v)
{
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#define VSUM(v) vsum(v)
#else
#define ISA "scalar"
#define LANES 1
typedef float vec;
#define VSET(x) (x)
/* a * b + c: contracted into an FMA when the target has one (-march). */
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VSUM(v) (v)
#endif

#define CHAINS 16

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* iters x CHAINS FMAs of LANES lanes each. acc = acc * a + b converges to
 * b / (1 - a) = 1, so the values stay normal (no denormal slow path). The
 * empty asm makes a and b opaque, so the chains cannot be folded. */
static float kernel(long iters, float seed)
{
  vec a = VSET(0.999999f), b = VSET(1e-6f);
  vec acc[CHAINS];
  for (int i = 0; i < CHAINS; i++)
    acc[i] = VSET(seed + 0.01f * (float)i);
  __asm__ volatile("" : "+x"(a), "+x"(b));
  for (long n = 0; n < iters; n++) {
#define STEP(i) acc[i] = VFMA(acc[i], a, b)
    STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);
    STEP(8); STEP(9); STEP(10); STEP(11); STEP(12); STEP(13); STEP(14); STEP(15);
#undef STEP
  }
  vec s = acc[0];
  for (int i = 1; i < CHAINS; i++)
    s = s + acc[i];
  return VSUM(s);
}

typedef struct {
  long iters;
  float result;
  pthread_barrier_t *start;
} Job;

static void *worker(void *p)
{
  Job *j = p;
  pthread_barrier_wait(j->start);
  j->result = kernel(j->iters, 1.0f);
  return NULL;
}

/* Seconds for `threads` threads to run `iters` iterations each. */
static double run(int threads, long iters, float *sink)
{
  pthread_t tid[256];
  Job job[256];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; t++) {
    job[t] = (Job){iters, 0, &start};
    if (pthread_create(&tid[t], NULL, worker, &job[t]) != 0) {
      perror("peak: pthread_create");
      exit(1);
    }
  }
  pthread_barrier_wait(&start);
  double t0 = now();
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    *sink += job[t].result;
  }
  double seconds = now() - t0;
  pthread_barrier_destroy(&start);
  return seconds;
}

int main(int argc, char **argv)
{
  int counts[64], ncounts = 0;
  for (int i = 1; i < argc && ncounts < 64; i++) {
    int t = atoi(argv[i]);
    if (t < 1 || t > 256) {
      fprintf(stderr, "usage: peak [THREADS...]  (1..256 each)\n");
      return 2;
    }
    counts[ncounts++] = t;
  }
  if (ncounts == 0) {
    counts[0] = 1;
    counts[1] = 2;
    ncounts = 2;
  }
  float sink = 0;
  /* Calibrate: iterations for about 0.3 s on one thread. */
  long iters = 1L << 20;
  for (;;) {
    double s = run(1, iters, &sink);
    if (s > 0.05) {
      iters = (long)((double)iters * 0.3 / s);
      break;
    }
    iters *= 4;
  }
  printf("isa=%s lanes=%d chains=%d\n", ISA, LANES, CHAINS);
  for (int c = 0; c < ncounts; c++) {
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
      double s = run(counts[c], iters, &sink);
      if (s < best)
        best = s;
    }
    double flops = 2.0 * LANES * CHAINS * (double)iters * counts[c];
    printf("peak_gflops_%dt=%.1f\n", counts[c], flops / best * 1e-9);
  }
  /* Keep the results alive (prints nothing in practice). */
  if (sink == 12345.678f)
    printf("%g\n", sink);
  return 0;
}
