/* commands.c - the eval, predict and bench commands. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "cnnrt.h"
#include "internal.h"

#define BENCH_WARMUP 3

/* Set by the generated program when it is built with OpenMP; weak so that
 * programs without OpenMP link too. */
extern int omp_get_max_threads(void) __attribute__((weak));

int rt_eval(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  double loss, acc;
  if (rt_run_load_split(r, a, "test", &r->test) || rt_run_alloc_state(r, 0, 0) ||
      rt_run_load_weights(r, a->weights, NULL) || rt_run_setup(r, a->batch))
    return 1;
  rt_run_evaluate(r, &r->test, &loss, &acc);
  printf("test_loss=%.4f test_acc=%.4f\n", loss, acc);
  return 0;
}

static size_t argmax(const float *logits, size_t classes, size_t stride)
{
  size_t best = 0;
  for (size_t k = 1; k < classes; k++)
    if (logits[k * stride] > logits[best * stride])
      best = k;
  return best;
}

static int predict_file(RtRun *r, const char *path)
{
  char err[1024];
  RtDataset ds;
  if (rt_images_load(path, &ds, err, sizeof err) ||
      rt_dataset_check(&ds, r->net, err, sizeof err)) {
    rt_dataset_free(&ds);
    return rt_error(r->c, 1, "%s", err);
  }
  size_t classes = (size_t)r->net->out_dim[0], P = r->positions;
  for (long first = 0; first < ds.n; first += r->batch) {
    int n = rt_run_batch_at(r, ds.n, first);
    long correct;
    rt_dataset_batch(&ds, NULL, first, n, r->x, NULL);
    r->net->forward(r->x, NULL, NULL, n, 0, 0, &correct);
    const float *out = r->net->output();
    for (size_t s = 0; s < (size_t)n; s++)
      for (size_t p = 0; p < P; p++)
        printf("%zu%c", argmax(out + s * r->out_size + p, classes, P), p + 1 < P ? ' ' : '\n');
  }
  rt_dataset_free(&ds);
  return 0;
}

int rt_predict(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  if (rt_run_alloc_state(r, 0, 0) || rt_run_load_weights(r, a->weights, NULL) ||
      rt_run_setup(r, a->batch))
    return 1;
  for (int i = 0; i < nfiles; i++)
    if (predict_file(r, files[i]))
      return 1;
  return 0;
}

int rt_bench(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  const RtNet *net = r->net;
  const RtAdam adam = {a->lr, net->defaults.beta1, net->defaults.beta2,
                       net->defaults.eps, net->defaults.weight_decay};
  RtRng rng;
  if (rt_run_alloc_state(r, 1, 0) || rt_run_setup(r, a->batch))
    return 1;
  net->init(a->seed);
  rt_rng_seed(&rng, a->seed);
  for (size_t i = 0; i < (size_t)a->batch * r->in_size; i++)
    r->x[i] = (float)rt_rng_uniform(&rng);
  for (size_t i = 0; i < (size_t)a->batch * r->positions; i++)
    r->y[i] = (int32_t)rt_rng_below(&rng, (uint64_t)net->out_dim[0]);
  if (r->targets)
    rt_run_one_hot(r, a->batch);
  double start = 0;
#ifdef CNNCC_MPI
  double bytes_before = 0;
#endif
  for (long t = 1; t <= BENCH_WARMUP + a->steps; t++) {
    long correct;
    if (t == BENCH_WARMUP + 1) {
      start = rt_now();
#ifdef CNNCC_MPI
      bytes_before = rt_mpi_bytes_received();
#endif
    }
    net->forward(r->x, r->y, r->targets, a->batch, 1, rt_dropout_seed(a->seed, t), &correct);
    net->backward(a->batch);
    rt_adam_step(net->params, net->grads, r->m, r->v, net->nparams, &adam, t);
  }
  double seconds = rt_now() - start;
  /* The numbers mean little without how the program was built: the
   * generated code records its kernels and OpenMP (net->build). */
  const RtBuildInfo *b = &net->build;
  fprintf(rt_info(), "bench: batch %d, %d steps, %.2f ms/step\n", a->batch, a->steps,
          1e3 * seconds / a->steps);
  printf("kernel_isa=%s threads=%d openmp=%s\n", b->kernels ? b->kernels : "unknown",
         b->openmp && omp_get_max_threads ? omp_get_max_threads() : 1, b->openmp ? "yes" : "no");
  printf("images_per_s=%.1f\n", (double)a->batch * a->steps / seconds);
#ifdef CNNCC_MPI
  /* the job's traffic: what the busiest rank received a step, timed steps only */
  printf("mpi_ranks=%d mpi_bytes_in_per_step=%.0f\n", rt_mpi_ranks(),
         rt_mpi_max(rt_mpi_bytes_received() - bytes_before) / a->steps);
#endif
  return 0;
}
