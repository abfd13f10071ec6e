/* commands.c - the eval, predict and bench commands. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "internal.h"

#define BENCH_WARMUP 3

/* Set by the generated program when it is built with OpenMP; weak so that
 * programs without OpenMP link too. */
extern int omp_get_max_threads(void) __attribute__((weak));

/* Digits of the largest count: the width of the confusion matrix's columns. */
static int count_width(const long *counts, size_t n)
{
  long most = 0;
  for (size_t i = 0; i < n; i++)
    most = counts[i] > most ? counts[i] : most;
  int w = 1;
  for (; most >= 10; most /= 10)
    w++;
  return w < 4 ? 4 : w;
}

/* eval --confusion, after the usual line (docs/training.md, "What eval and
 * predict print"): the matrix, then each class's accuracy (its recall). */
static void print_confusion(const long *confusion, size_t classes)
{
  int w = count_width(confusion, classes * classes);
  printf("confusion matrix (rows: true class, columns: predicted class)\n%5s", "true");
  for (size_t k = 0; k < classes; k++)
    printf(" %*zu", w, k);
  printf("\n");
  for (size_t t = 0; t < classes; t++) {
    printf("%5zu", t);
    for (size_t k = 0; k < classes; k++)
      printf(" %*ld", w, confusion[t * classes + k]);
    printf("\n");
  }
  printf("class accuracy correct/total\n");
  for (size_t t = 0; t < classes; t++) {
    long total = 0, right = confusion[t * classes + t];
    for (size_t k = 0; k < classes; k++)
      total += confusion[t * classes + k];
    if (total)
      printf("%5zu %8.4f %ld/%ld\n", t, (double)right / (double)total, right, total);
    else
      printf("%5zu %8s 0/0\n", t, "-");
  }
}

/* Test folders of other classes than the checkpoint's training data: its
 * labels would not mean the same classes. */
static int same_classes(const RtRun *r, const RtArgs *a, const RtTrainState *st)
{
  if (!st->classes || !r->test.classes)
    return 0;
  return rt_run_same_classes(r, r->test.image_path, r->test.classes, r->test.nclasses,
                             a->weights, st->classes, st->nclasses);
}

int rt_eval(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  double loss, acc;
  size_t classes = (size_t)r->net->out_dim[0];
  long *confusion = a->confusion ? calloc(classes * classes, sizeof *confusion) : NULL;
  if (a->confusion && !confusion)
    return rt_error(r->c, 1, "out of memory");
  RtTrainState st = {0};
  int rc = rt_run_load_split(r, a, "test", &r->test) || rt_run_alloc_state(r, 0, 0) ||
           rt_run_load_weights(r, a->weights, &st) || same_classes(r, a, &st) ||
           rt_run_setup(r, a->batch);
  rt_train_state_free(&st);
  if (!rc) {
    rt_run_evaluate(r, &r->test, &loss, &acc, confusion);
    printf("test_loss=%.4f test_acc=%.4f\n", loss, acc);
    if (confusion)
      print_confusion(confusion, classes);
  }
  free(confusion);
  return rc;
}

/* What predict prints besides the class: --probs, --top K. */
typedef struct {
  int probs, top;
  double *prob;  /* the classes' probabilities of one sample */
  size_t *order; /* classes, most probable first */
  RtTrainState st; /* the checkpoint's: its class names, if any */
} Report;

/* Class k by its name when the checkpoint has names, else its number. */
static void print_class(const Report *rep, size_t k)
{
  const char *name = rt_class_name(rep->st.classes, rep->st.nclasses, (int)k);
  if (name)
    fputs(name, stdout);
  else
    printf("%zu", k);
}

/* Softmax in double of one sample's logits, as the loss computes it. */
static void softmax(const float *logits, size_t classes, double *prob)
{
  double m = logits[rt_run_argmax(logits, classes, 1)], sum = 0;
  for (size_t k = 0; k < classes; k++)
    sum += prob[k] = exp((double)logits[k] - m);
  for (size_t k = 0; k < classes; k++)
    prob[k] /= sum;
}

/* --top K: K lines "CLASS PROBABILITY", most probable first; of equal
 * ones the lower class first (a stable insertion sort). */
static void print_top(Report *rep, size_t classes)
{
  for (size_t k = 0; k < classes; k++) {
    size_t j = k;
    for (; j > 0 && rep->prob[rep->order[j - 1]] < rep->prob[k]; j--)
      rep->order[j] = rep->order[j - 1];
    rep->order[j] = k;
  }
  for (size_t i = 0; i < (size_t)rep->top; i++) {
    print_class(rep, rep->order[i]);
    printf(" %.6f\n", rep->prob[rep->order[i]]);
  }
}

/* One sample: its class (per position), or what --probs or --top ask for
 * (one class per sample: rt_predict checked). */
static void print_sample(Report *rep, const float *out, size_t classes, size_t P)
{
  if (!rep->probs && !rep->top) {
    for (size_t p = 0; p < P; p++) {
      print_class(rep, rt_run_argmax(out + p, classes, P));
      putchar(p + 1 < P ? ' ' : '\n');
    }
    return;
  }
  softmax(out, classes, rep->prob);
  if (rep->top) {
    print_top(rep, classes);
    return;
  }
  print_class(rep, rt_run_argmax(out, classes, 1));
  for (size_t k = 0; k < classes; k++)
    printf(" %.6f", rep->prob[k]);
  printf("\n");
}

/* An IDX images file, or a PNG or JPEG image fitted to the input. */
static int load_input(RtRun *r, const char *path, RtDataset *ds, char *err, size_t errlen)
{
  if (rt_image_format(path) != RT_IMAGE_NONE)
    return rt_image_load(path, r->net, ds, err, errlen);
  return rt_images_load(path, ds, err, errlen) || rt_dataset_check(ds, r->net, err, errlen);
}

static int predict_file(RtRun *r, Report *rep, const char *path)
{
  char err[1024];
  RtDataset ds;
  if (load_input(r, path, &ds, err, sizeof err)) {
    rt_dataset_free(&ds);
    return rt_error(r->c, 1, "%s", err);
  }
  size_t classes = (size_t)r->net->out_dim[0];
  for (long first = 0; first < ds.n; first += r->batch) {
    int n = rt_run_batch_at(r, ds.n, first);
    long correct;
    rt_dataset_batch(&ds, NULL, first, n, r->x, NULL);
    r->net->forward(r->x, NULL, NULL, n, 0, 0, &correct);
    const float *out = r->net->output();
    for (size_t s = 0; s < (size_t)n; s++)
      print_sample(rep, out + s * r->out_size, classes, r->positions);
  }
  rt_dataset_free(&ds);
  return 0;
}

/* --probs and --top need probabilities: a softmax loss, one class per
 * sample, and for --top at most as many as there are classes. */
static int check_report(const RtRun *r, const RtArgs *a)
{
  const RtNet *net = r->net;
  const char *opt = a->top ? "--top" : "--probs";
  char out[96];
  rt_shape_str(out, sizeof out, net->out_rank, net->out_dim, ", ");
  if (a->probs && a->top)
    return rt_error(r->c, RT_EXIT_USAGE, "--probs and --top cannot be combined");
  if (net->loss != RT_LOSS_SOFTMAX_CROSS_ENTROPY)
    return rt_error(r->c, RT_EXIT_USAGE,
                    "%s: the network's loss is mse, so its outputs are not class probabilities",
                    opt);
  if (net->out_rank != 1)
    return rt_error(r->c, RT_EXIT_USAGE,
                    "%s needs one class per sample, but the network's output [%s] has one per position",
                    opt, out);
  if (a->top > net->out_dim[0])
    return rt_error(r->c, RT_EXIT_USAGE, "--top %d: the network has only %d classes", a->top,
                    net->out_dim[0]);
  return 0;
}

int rt_predict(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  size_t classes = (size_t)r->net->out_dim[0];
  Report rep = {a->probs, a->top, NULL, NULL, {0}};
  int rc = 0;
  if ((a->probs || a->top) && (rc = check_report(r, a)))
    return rc;
  rep.prob = malloc(classes * sizeof *rep.prob);
  rep.order = malloc(classes * sizeof *rep.order);
  if (!rep.prob || !rep.order)
    rc = rt_error(r->c, 1, "out of memory");
  else if (rt_run_alloc_state(r, 0, 0) || rt_run_load_weights(r, a->weights, &rep.st) ||
           rt_run_setup(r, a->batch))
    rc = 1;
  for (int i = 0; i < nfiles && !rc; i++)
    rc = predict_file(r, &rep, files[i]);
  free(rep.prob);
  free(rep.order);
  rt_train_state_free(&rep.st);
  return rc;
}

int rt_bench(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  const RtNet *net = r->net;
  const RtAdam adam = {a->lr, net->defaults.beta1, net->defaults.beta2,
                       net->defaults.eps, net->defaults.weight_decay, 0};
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
