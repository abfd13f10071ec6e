/* main.c - rt_main(): the command line of a generated trainer.
 * Commands: train, eval, predict, bench (docs/runtime.md). Exit status:
 * 0 success, 1 failure, 2 usage error, 128+signal when interrupted. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnnrt.h"
#include "internal.h"
#include "notice.h"

/* The cnncc release this libcnnrt belongs to (runtime/local.mk). */
#ifndef RT_VERSION
#define RT_VERSION "unknown"
#endif
/* The compiler of libcnnrt itself, named as the generated code names its own. */
#if defined(__GNUC__) && !defined(__clang__)
#define RT_BUILT_BY "gcc " __VERSION__
#elif defined(__VERSION__)
#define RT_BUILT_BY __VERSION__
#else
#define RT_BUILT_BY "a compiler without __VERSION__"
#endif

/* Where the sample data lives: the source tree, then the installed copy
 * (runtime/local.mk defines both). */
#ifndef RT_DEFAULT_DATA_DIR
#define RT_DEFAULT_DATA_DIR "data/fashion-mnist"
#endif
#ifndef RT_INSTALLED_DATA_DIR
#define RT_INSTALLED_DATA_DIR "/usr/local/share/cnncc/fashion-mnist"
#endif
#define SYSTEM_DATA_DIR "/usr/share/datasets/fashion-mnist"

#define EXIT_USAGE 2
#define BENCH_STEPS 20
#define BENCH_WARMUP 3

/* Set by the generated program when it is built with OpenMP; weak so that
 * programs without OpenMP link too. */
extern void omp_set_num_threads(int) __attribute__((weak));
extern int omp_get_max_threads(void) __attribute__((weak));

/* ---- command-line options ---- */

typedef struct {
  const char *data, *weights, *save, *resume, *metrics;
  int epochs, batch, every, steps, threads, profile;
  double lr;
  uint64_t seed;
  unsigned given; /* bit o: option o was on the command line */
} Args;

enum { O_DATA, O_WEIGHTS, O_EPOCHS, O_BATCH, O_LR, O_SEED, O_SAVE, O_RESUME,
       O_METRICS, O_EVERY, O_STEPS, O_THREADS, O_PROFILE, NOPT };
#define BIT(o) (1u << (o))

typedef enum { K_TEXT, K_COUNT, K_RATE, K_SEED, K_FLAG } Kind; /* K_FLAG: no value */

typedef struct {
  const char *name, *arg;
  Kind kind;
  size_t offset; /* of the value in Args */
  const char *help;
} Opt;

static const Opt options[NOPT] = {
  [O_DATA] = {"data", "DIR", K_TEXT, offsetof(Args, data),
              "data directory (default: " SYSTEM_DATA_DIR " if present, else the bundled sample)"},
  [O_WEIGHTS] = {"weights", "CKPT", K_TEXT, offsetof(Args, weights), "checkpoint to load"},
  [O_EPOCHS] = {"epochs", "N", K_COUNT, offsetof(Args, epochs),
                "train until N epochs are done in total"},
  [O_BATCH] = {"batch", "B", K_COUNT, offsetof(Args, batch), "batch size"},
  [O_LR] = {"lr", "X", K_RATE, offsetof(Args, lr), "Adam learning rate"},
  [O_SEED] = {"seed", "S", K_SEED, offsetof(Args, seed),
              "seed of initialization, data order and dropout"},
  [O_SAVE] = {"save", "CKPT", K_TEXT, offsetof(Args, save),
              "save a checkpoint after every epoch and when interrupted"},
  [O_RESUME] = {"resume", "CKPT", K_TEXT, offsetof(Args, resume),
                "continue training from a checkpoint (same data order and dropout)"},
  [O_METRICS] = {"metrics", "FILE", K_TEXT, offsetof(Args, metrics),
                 "write one JSON line per epoch to FILE (appended to when resuming)"},
  [O_EVERY] = {"checkpoint-every", "N", K_COUNT, offsetof(Args, every),
               "also save the checkpoint every N steps (needs --save)"},
  [O_STEPS] = {"steps", "N", K_COUNT, offsetof(Args, steps), "timed steps"},
  [O_THREADS] = {"threads", "T", K_COUNT, offsetof(Args, threads),
                 "number of OpenMP threads"},
  [O_PROFILE] = {"profile", "", K_FLAG, offsetof(Args, profile),
                 "print each layer's time per pass at exit (as CNNCC_PROFILE=1)"},
};

typedef struct {
  const char *prog; /* for messages */
  const RtNet *net;
} Ctx;

struct Run;
typedef struct {
  const char *name, *operands, *summary, *details;
  unsigned accepts, requires; /* BIT()s of the options */
  int (*run)(struct Run *r, const Args *a, int nfiles, char **files);
} Command;

static int error(const Ctx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int error(const Ctx *c, int status, const char *fmt, ...)
{
  va_list ap;
  fflush(stdout);
  fprintf(stderr, "%s: ", c->prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return status;
}

static int usage_error(const Ctx *c, const Command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage_error(const Ctx *c, const Command *cmd, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s %s: ", c->prog, cmd->name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s %s --help'.\n", c->prog, cmd->name);
  return EXIT_USAGE;
}

/* Convert the text of option o into Args; 0 if it is well formed. */
static int set_value(Args *a, int o, const char *text)
{
  void *dst = (char *)a + options[o].offset;
  char *end;
  errno = 0;
  switch (options[o].kind) {
  case K_TEXT:
    *(const char **)dst = text;
    return 0;
  case K_COUNT: {
    long n = strtol(text, &end, 10);
    if (end == text || *end || errno || n < 1 || n > INT_MAX)
      return -1;
    *(int *)dst = (int)n;
    return 0;
  }
  case K_RATE: {
    double x = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(x) || x <= 0)
      return -1;
    *(double *)dst = x;
    return 0;
  }
  case K_FLAG:
    return -1; /* takes no value */
  case K_SEED: {
    unsigned long long s = strtoull(text, &end, 0);
    if (end == text || *end || errno || strchr(text, '-'))
      return -1;
    *(uint64_t *)dst = s;
    return 0;
  }
  }
  return -1;
}

static const char *const kind_expects[] = {
  [K_TEXT] = "a value", [K_COUNT] = "a positive integer",
  [K_RATE] = "a positive number", [K_SEED] = "a non-negative integer",
  [K_FLAG] = "no value",
};

/* The options cmd accepts, one a line, with their defaults in a. */
static void print_options(const Command *cmd, const Args *a)
{
  for (int o = 0; o < NOPT; o++) {
    if (!(cmd->accepts & BIT(o)))
      continue;
    const Opt *opt = &options[o];
    const void *v = (const char *)a + opt->offset;
    char flag[64];
    snprintf(flag, sizeof flag, "--%s%s%s", opt->name, *opt->arg ? " " : "", opt->arg);
    printf("  %-24s %s", flag, opt->help);
    if (opt->kind == K_COUNT && *(const int *)v)
      printf(" (default: %d)", *(const int *)v);
    else if (opt->kind == K_RATE)
      printf(" (default: %g)", *(const double *)v);
    else if (opt->kind == K_SEED)
      printf(" (default: %llu)", (unsigned long long)*(const uint64_t *)v);
    printf("\n");
  }
}

static void print_help(const Ctx *c, const Command *cmd, const Args *a)
{
  printf("Usage: %s %s [OPTIONS]%s%s\n%s.\n", c->prog, cmd->name,
         *cmd->operands ? " " : "", cmd->operands, cmd->summary);
  if (*cmd->details)
    printf("%s\n", cmd->details);
  printf("\nOptions:\n");
  print_options(cmd, a);
  printf("  %-24s %s\n", "--help", "show this help");
}

/* Parse argv (after the command name) into a and the operands. Returns -1
 * to go on, or an exit status (0 after --help). */
static int parse_args(const Ctx *c, const Command *cmd, int argc, char **argv,
                      Args *a, int *nfiles, char **files)
{
  int only_operands = 0;
  *nfiles = 0;
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (only_operands || strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      if (!only_operands && strcmp(arg, "--") == 0) {
        only_operands = 1;
        continue;
      }
      if (!*cmd->operands)
        return usage_error(c, cmd, "unexpected argument '%s'", arg);
      files[(*nfiles)++] = arg;
      continue;
    }
    if (strcmp(arg, "--help") == 0) {
      print_help(c, cmd, a);
      return 0;
    }
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    int o = 0;
    while (o < NOPT && !(strlen(options[o].name) == len &&
                         strncmp(arg + 2, options[o].name, len) == 0 &&
                         (cmd->accepts & BIT(o))))
      o++;
    if (o == NOPT)
      return usage_error(c, cmd, "unknown option '%s'", arg);
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", options[o].name);
    if (options[o].kind == K_FLAG) {
      if (eq)
        return usage_error(c, cmd, "%s takes no value", flag);
      *(int *)((char *)a + options[o].offset) = 1;
      a->given |= BIT(o);
      continue;
    }
    const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (!value)
      return usage_error(c, cmd, "%s needs %s", flag, kind_expects[options[o].kind]);
    if (set_value(a, o, value))
      return usage_error(c, cmd, "%s expects %s, got '%s'", flag,
                         kind_expects[options[o].kind], value);
    a->given |= BIT(o);
  }
  return -1;
}

/* ---- a run: the network, its batch buffers and the optimizer state ---- */

typedef struct Run {
  const Ctx *c;
  const RtNet *net;
  int batch;
  size_t in_size, out_size, positions; /* positions: labels per sample */
  float *x, *targets, *m, *v;          /* targets: one-hot, for MSE */
  int32_t *y;
  long *order;
  RtDataset train, test;
  FILE *metrics;
} Run;

static void run_free(Run *r)
{
  free(r->x);
  free(r->targets);
  free(r->m);
  free(r->v);
  free(r->y);
  free(r->order);
  rt_dataset_free(&r->train);
  rt_dataset_free(&r->test);
  if (r->metrics)
    fclose(r->metrics);
}

static void *alloc_or_flag(size_t n, size_t size, int *failed)
{
  void *p = n ? calloc(n, size) : NULL;
  if (n && !p)
    *failed = 1;
  return p;
}

/* Allocate the Adam moments (adam != 0) and the order of norder samples. */
static int run_alloc_state(Run *r, int adam, long norder)
{
  int failed = 0;
  r->in_size = rt_shape_size(r->net->in_rank, r->net->in_dim);
  r->out_size = rt_shape_size(r->net->out_rank, r->net->out_dim);
  r->positions = r->out_size / (size_t)r->net->out_dim[0];
  r->m = alloc_or_flag(adam ? r->net->nparams : 0, sizeof *r->m, &failed);
  r->v = alloc_or_flag(adam ? r->net->nparams : 0, sizeof *r->v, &failed);
  r->order = alloc_or_flag((size_t)norder, sizeof *r->order, &failed);
  return failed ? error(r->c, 1, "out of memory") : 0;
}

/* Allocate the batch buffers and the network's activations, once. */
static int run_setup(Run *r, int batch)
{
  int failed = 0;
  size_t b = (size_t)batch;
  r->batch = batch;
  r->x = alloc_or_flag(b * r->in_size, sizeof *r->x, &failed);
  r->y = alloc_or_flag(b * r->positions, sizeof *r->y, &failed);
  if (r->net->loss == RT_LOSS_MSE)
    r->targets = alloc_or_flag(b * r->out_size, sizeof *r->targets, &failed);
  if (failed)
    return error(r->c, 1, "out of memory for batch %d", batch);
  if (r->net->setup(batch) != 0)
    return error(r->c, 1, "network '%s' cannot allocate its activations for batch %d",
                 r->net->name, batch);
  return 0;
}

/* One-hot targets for MSE: classes along dim 0, positions after it. */
static void one_hot(const Run *r, int n)
{
  size_t P = r->positions;
  memset(r->targets, 0, (size_t)n * r->out_size * sizeof *r->targets);
  for (size_t s = 0; s < (size_t)n; s++)
    for (size_t p = 0; p < P; p++)
      r->targets[s * r->out_size + (size_t)r->y[s * P + p] * P + p] = 1;
}

/* Forward samples order[first..first+n) of ds (labelled) through the net. */
static float forward(Run *r, const RtDataset *ds, const long *order,
                     long first, int n, int training, uint64_t dropout_seed,
                     long *correct)
{
  rt_dataset_batch(ds, order, first, n, r->x, r->y);
  if (r->targets)
    one_hot(r, n);
  *correct = 0;
  return r->net->forward(r->x, r->y, r->targets, n, training, dropout_seed, correct);
}

static int batch_at(const Run *r, long n, long first)
{
  return (int)(n - first < r->batch ? n - first : r->batch);
}

/* Fraction of correctly classified positions of `samples` samples. */
static double accuracy(const Run *r, long correct, long samples)
{
  return (double)correct / ((double)samples * (double)r->positions);
}

static void evaluate(Run *r, const RtDataset *ds, double *loss, double *acc)
{
  double sum = 0;
  long correct = 0;
  for (long first = 0; first < ds->n; first += r->batch) {
    int n = batch_at(r, ds->n, first);
    long c;
    sum += (double)forward(r, ds, NULL, first, n, 0, 0, &c) * n;
    correct += c;
  }
  *loss = sum / (double)ds->n;
  *acc = accuracy(r, correct, ds->n);
}

static int has_data(const char *dir, const char *name)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (access(path, R_OK) == 0)
    return 1;
  snprintf(path, sizeof path, "%s/%s.gz", dir, name);
  return access(path, R_OK) == 0;
}

/* --data, else the first of the usual places that has Fashion-MNIST. */
static const char *data_dir(const Args *a)
{
  static const char *const dirs[] = {SYSTEM_DATA_DIR, RT_DEFAULT_DATA_DIR,
                                     RT_INSTALLED_DATA_DIR};
  if (a->data)
    return a->data;
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (has_data(dirs[i], "train-images-idx3-ubyte") &&
        has_data(dirs[i], "t10k-images-idx3-ubyte"))
      return dirs[i];
  return NULL;
}

/* Says which data a run reads: a trainer picks its default silently
 * otherwise, and the sample and the full set differ tenfold. */
static void describe_split(const Run *r, const char *split, const RtDataset *ds)
{
  char shape[96];
  rt_shape_str(shape, sizeof shape, ds->rank, ds->dim, "x");
  fprintf(stderr, "%s: %s data: %ld samples of %s from %s\n", r->c->prog, split,
          ds->n, shape, ds->image_path);
}

static int load_split(Run *r, const Args *a, const char *split, RtDataset *ds)
{
  char err[1024];
  const char *dir = data_dir(a);
  if (!dir)
    return error(r->c, 1, "no Fashion-MNIST in %s, %s or %s; use --data DIR",
                 SYSTEM_DATA_DIR, RT_DEFAULT_DATA_DIR, RT_INSTALLED_DATA_DIR);
  if (rt_dataset_load(dir, split, ds, err, sizeof err))
    return error(r->c, 1, "%s", err);
  if (rt_dataset_check(ds, r->net, err, sizeof err)) {
    if (a->data)
      return error(r->c, 1, "%s", err);
    /* The default is Fashion-MNIST: blame the missing --data, not the file. */
    char want[96];
    rt_shape_str(want, sizeof want, r->net->in_rank, r->net->in_dim, ", ");
    return error(r->c, 1, "no data for this network (input [%s]) was found: the default data set, Fashion-MNIST in %s, does not fit it (%s); give yours with --data DIR (IDX or CIFAR-10 binary files, docs/training.md)",
                 want, dir, err);
  }
  describe_split(r, split, ds);
  return 0;
}

static int load_weights(Run *r, const char *path, RtTrainState *st)
{
  char err[1024];
  if (rt_checkpoint_load(path, r->net, st, r->m, r->v, err, sizeof err))
    return error(r->c, 1, "%s", err);
  return 0;
}

static int save(Run *r, const char *path, const RtTrainState *st)
{
  char err[1024];
  if (rt_checkpoint_save(path, r->net, st, r->m, r->v, err, sizeof err))
    return error(r->c, 1, "%s", err);
  return 0;
}

/* ---- train ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
  stop_signal = sig;
}

static int interrupted(Run *r, const Args *a, const RtTrainState *st)
{
  int status = 128 + stop_signal;
  const char *name = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
  char where[64];
  if (st->epoch_step)
    snprintf(where, sizeof where, "at epoch %ld, step %ld", st->epoch + 1, st->epoch_step);
  else
    snprintf(where, sizeof where, "after epoch %ld", st->epoch);
  if (!a->save)
    return error(r->c, status, "interrupted by %s %s; no checkpoint saved (use --save)",
                 name, where);
  if (save(r, a->save, st))
    return 1;
  return error(r->c, status, "interrupted by %s %s; saved checkpoint '%s'", name,
               where, a->save);
}

typedef struct {
  double train_loss, train_acc, test_loss, test_acc, images_per_s, seconds;
} EpochStats;

/* Prints the epoch's line and appends it to --metrics; 1 when the metrics
 * file cannot be written (e.g. a full disk), which must not pass silently. */
static int report_epoch(Run *r, const Args *a, long epoch, long epochs, const EpochStats *e)
{
  fprintf(stderr, "epoch %ld/%ld: train_loss %.4f train_acc %.4f test_loss %.4f test_acc %.4f (%.1f s, %.0f img/s)\n",
          epoch + 1, epochs, e->train_loss, e->train_acc, e->test_loss,
          e->test_acc, e->seconds, e->images_per_s);
  if (!r->metrics)
    return 0;
  fprintf(r->metrics, "{\"epoch\":%ld,\"train_loss\":%.6g,\"train_acc\":%.6g,\"test_loss\":%.6g,\"test_acc\":%.6g,\"images_per_s\":%.6g,\"seconds\":%.6g}\n",
          epoch + 1, e->train_loss, e->train_acc, e->test_loss, e->test_acc,
          e->images_per_s, e->seconds);
  if (fflush(r->metrics) || ferror(r->metrics))
    return error(r->c, 1, "cannot write metrics '%s': %s", a->metrics, strerror(errno));
  return 0;
}

/* One epoch's training steps, from st->epoch_step on. */
static int train_epoch(Run *r, const Args *a, RtTrainState *st,
                       RtProgress *progress, EpochStats *e)
{
  const RtNet *net = r->net;
  const RtAdam adam = {a->lr, net->defaults.beta1, net->defaults.beta2,
                       net->defaults.eps, net->defaults.weight_decay};
  long n = r->train.n, steps = progress->steps, images = 0;
  double start = rt_now();
  rt_epoch_order(r->order, n, st->seed, st->epoch);
  while (st->epoch_step < steps) {
    long first = st->epoch_step * r->batch, correct;
    int nb = batch_at(r, n, first);
    float loss = forward(r, &r->train, r->order, first, nb, 1,
                         rt_dropout_seed(st->seed, st->t + 1), &correct);
    if (!isfinite(loss)) {
      rt_progress_clear(progress);
      return error(r->c, 1, "loss is %s at epoch %ld, step %ld (optimizer step %ld); stopping%s",
                   isnan(loss) ? "nan" : loss > 0 ? "inf" : "-inf", st->epoch + 1, st->epoch_step + 1, st->t + 1,
                   a->save ? "; the last checkpoint is kept" : "");
    }
    net->backward(nb);
    rt_adam_step(net->params, net->grads, r->m, r->v, net->nparams, &adam, ++st->t);
    st->epoch_step++;
    st->loss_sum += (double)loss * nb;
    st->correct += correct;
    st->seen += nb;
    images += nb;
    e->images_per_s = (double)images / (rt_now() - start);
    rt_progress_update(progress, st->epoch, st->epoch_step, st->loss_sum / (double)st->seen,
                       accuracy(r, st->correct, st->seen), e->images_per_s);
    if (stop_signal) {
      rt_progress_clear(progress);
      return interrupted(r, a, st);
    }
    if (a->every && st->t % a->every == 0 && st->epoch_step < steps &&
        save(r, a->save, st))
      return 1;
  }
  return 0;
}

/* Train from st up to a->epochs epochs. Returns the exit status. */
static int train_loop(Run *r, const Args *a, RtTrainState *st, double *test_acc)
{
  long steps = (r->train.n + r->batch - 1) / r->batch;
  RtProgress progress;
  if (st->epoch_step > steps)
    return error(r->c, 1, "checkpoint '%s' stopped at step %ld of an epoch, but this data has only %ld steps per epoch",
                 a->resume, st->epoch_step, steps);
  rt_progress_init(&progress, stderr, a->epochs, steps, st->epoch * steps + st->epoch_step);
  while (st->epoch < a->epochs) {
    double start = rt_now();
    EpochStats e = {0};
    int rc = train_epoch(r, a, st, &progress, &e);
    if (rc)
      return rc;
    e.train_loss = st->loss_sum / (double)st->seen;
    e.train_acc = accuracy(r, st->correct, st->seen);
    evaluate(r, &r->test, &e.test_loss, &e.test_acc);
    e.seconds = rt_now() - start;
    *test_acc = e.test_acc;
    rt_progress_clear(&progress);
    if (report_epoch(r, a, st->epoch, a->epochs, &e))
      return 1;
    *st = (RtTrainState){st->seed, st->epoch + 1, 0, st->t, st->batch, 0, 0, 0};
    if (a->save && save(r, a->save, st))
      return 1;
    if (stop_signal)
      return interrupted(r, a, st);
  }
  return 0;
}

/* Check that --seed and --batch agree with the checkpoint being resumed. */
static int resume_conflicts(const Ctx *c, const Args *a, const RtTrainState *st)
{
  if ((a->given & BIT(O_SEED)) && a->seed != st->seed)
    return error(c, EXIT_USAGE, "--seed %llu conflicts with the seed %llu of checkpoint '%s'; leave --seed out when resuming",
                 (unsigned long long)a->seed, (unsigned long long)st->seed, a->resume);
  if ((a->given & BIT(O_BATCH)) && a->batch != st->batch)
    return error(c, EXIT_USAGE, "--batch %d conflicts with the batch %d of checkpoint '%s' (the data order depends on it); leave --batch out when resuming",
                 a->batch, st->batch, a->resume);
  return 0;
}

static int train(Run *r, const Args *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  RtTrainState st = {a->seed, 0, 0, 0, a->batch, 0, 0, 0};
  if (a->every && !a->save)
    return error(r->c, EXIT_USAGE, "--checkpoint-every needs --save");
  if (load_split(r, a, "train", &r->train) || load_split(r, a, "test", &r->test) ||
      run_alloc_state(r, 1, r->train.n))
    return 1;
  if (a->resume) {
    int rc = load_weights(r, a->resume, &st);
    if (rc == 0)
      rc = resume_conflicts(r->c, a, &st);
    if (rc)
      return rc;
  }
  if (run_setup(r, st.batch))
    return 1;
  if (!a->resume)
    r->net->init(st.seed);
  if (a->metrics && !(r->metrics = fopen(a->metrics, a->resume ? "a" : "w")))
    return error(r->c, 1, "cannot write metrics '%s': %s", a->metrics, strerror(errno));

  double test_acc = -1, test_loss;
  struct sigaction act = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND}, old_int, old_term;
  sigemptyset(&act.sa_mask);
  stop_signal = 0;
  sigaction(SIGINT, &act, &old_int);
  sigaction(SIGTERM, &act, &old_term);
  int rc = train_loop(r, a, &st, &test_acc);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (rc)
    return rc;
  if (test_acc < 0) /* resumed a finished run: nothing was trained */
    evaluate(r, &r->test, &test_loss, &test_acc);
  printf("test_acc=%.4f\n", test_acc);
  return 0;
}

/* ---- eval, predict, bench ---- */

static int eval(Run *r, const Args *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  double loss, acc;
  if (load_split(r, a, "test", &r->test) || run_alloc_state(r, 0, 0) ||
      load_weights(r, a->weights, NULL) || run_setup(r, a->batch))
    return 1;
  evaluate(r, &r->test, &loss, &acc);
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

static int predict_file(Run *r, const char *path)
{
  char err[1024];
  RtDataset ds;
  if (rt_images_load(path, &ds, err, sizeof err) ||
      rt_dataset_check(&ds, r->net, err, sizeof err)) {
    rt_dataset_free(&ds);
    return error(r->c, 1, "%s", err);
  }
  size_t classes = (size_t)r->net->out_dim[0], P = r->positions;
  for (long first = 0; first < ds.n; first += r->batch) {
    int n = batch_at(r, ds.n, first);
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

static int predict(Run *r, const Args *a, int nfiles, char **files)
{
  if (run_alloc_state(r, 0, 0) || load_weights(r, a->weights, NULL) ||
      run_setup(r, a->batch))
    return 1;
  for (int i = 0; i < nfiles; i++)
    if (predict_file(r, files[i]))
      return 1;
  return 0;
}

static int bench(Run *r, const Args *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  const RtNet *net = r->net;
  const RtAdam adam = {a->lr, net->defaults.beta1, net->defaults.beta2,
                       net->defaults.eps, net->defaults.weight_decay};
  RtRng rng;
  if (run_alloc_state(r, 1, 0) || run_setup(r, a->batch))
    return 1;
  net->init(a->seed);
  rt_rng_seed(&rng, a->seed);
  for (size_t i = 0; i < (size_t)a->batch * r->in_size; i++)
    r->x[i] = (float)rt_rng_uniform(&rng);
  for (size_t i = 0; i < (size_t)a->batch * r->positions; i++)
    r->y[i] = (int32_t)rt_rng_below(&rng, (uint64_t)net->out_dim[0]);
  if (r->targets)
    one_hot(r, a->batch);
  double start = 0;
  for (long t = 1; t <= BENCH_WARMUP + a->steps; t++) {
    long correct;
    if (t == BENCH_WARMUP + 1)
      start = rt_now();
    net->forward(r->x, r->y, r->targets, a->batch, 1, rt_dropout_seed(a->seed, t), &correct);
    net->backward(a->batch);
    rt_adam_step(net->params, net->grads, r->m, r->v, net->nparams, &adam, t);
  }
  double seconds = rt_now() - start;
  /* The numbers mean little without how the program was built: the
   * generated code records its kernels and OpenMP (net->build). */
  const RtBuildInfo *b = &net->build;
  fprintf(stderr, "bench: batch %d, %d steps, %.2f ms/step\n", a->batch, a->steps,
          1e3 * seconds / a->steps);
  printf("kernel_isa=%s threads=%d openmp=%s\n", b->kernels ? b->kernels : "unknown",
         b->openmp && omp_get_max_threads ? omp_get_max_threads() : 1, b->openmp ? "yes" : "no");
  printf("images_per_s=%.1f\n", (double)a->batch * a->steps / seconds);
  return 0;
}

/* ---- dispatch ---- */

static const Command commands[] = {
  {"train", "", "Train with Adam, evaluating on the test split after each epoch",
   "The last line printed is test_acc=ACCURACY. SIGINT/SIGTERM stop after the\n"
   "current step and save the checkpoint if --save is given.",
   BIT(O_DATA) | BIT(O_EPOCHS) | BIT(O_BATCH) | BIT(O_LR) | BIT(O_SEED) |
       BIT(O_SAVE) | BIT(O_RESUME) | BIT(O_METRICS) | BIT(O_EVERY) | BIT(O_THREADS) |
       BIT(O_PROFILE),
   0, train},
  {"eval", "", "Evaluate a checkpoint on the test split",
   "Prints test_loss=LOSS test_acc=ACCURACY.",
   BIT(O_DATA) | BIT(O_WEIGHTS) | BIT(O_BATCH) | BIT(O_THREADS), BIT(O_WEIGHTS), eval},
  {"predict", "FILE...", "Print the predicted class of every image in IDX files",
   "Each FILE is an IDX images file (plain or .gz) holding any number of images.\n"
   "Prints one line per image with its predicted class; for outputs with one\n"
   "class per position, the classes of an image on one line, space-separated.",
   BIT(O_WEIGHTS) | BIT(O_BATCH) | BIT(O_THREADS), BIT(O_WEIGHTS), predict},
  {"bench", "", "Measure training speed on random data",
   "Times forward, backward and Adam after warm-up steps; prints images_per_s=N.",
   BIT(O_BATCH) | BIT(O_STEPS) | BIT(O_THREADS) | BIT(O_LR) | BIT(O_SEED) | BIT(O_PROFILE),
   0, bench},
};

/* Required options and operands; -1 when all are there. */
static int check_required(const Ctx *c, const Command *cmd, const Args *a,
                          int nfiles)
{
  for (int o = 0; o < NOPT; o++)
    if ((cmd->requires & BIT(o)) && !(a->given & BIT(o)))
      return usage_error(c, cmd, "--%s %s is required", options[o].name, options[o].arg);
  if (*cmd->operands && nfiles == 0)
    return usage_error(c, cmd, "%s expected", cmd->operands);
  return -1;
}

static void print_program_help(const Ctx *c, FILE *out)
{
  char in[64], outs[64];
  rt_shape_str(in, sizeof in, c->net->in_rank, c->net->in_dim, ", ");
  rt_shape_str(outs, sizeof outs, c->net->out_rank, c->net->out_dim, ", ");
  fprintf(out, "Usage: %s COMMAND [OPTIONS]\n"
          "Train and run the network '%s' (input [%s], output [%s]).\n\nCommands:\n",
          c->prog, c->net->name, in, outs);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun '%s COMMAND --help' for a command's details and options.\n", c->prog);
}

/* GNU style, then how the trainer was built: its network's code as that
 * code recorded it (RtNet.build), and libcnnrt. After a blank line, so that
 * help2man keeps the notice as the man page's COPYRIGHT. */
static void print_version(const Ctx *c)
{
  const RtBuildInfo *b = &c->net->build;
  printf("%s (cnncc) %s\n%s\n", c->prog, RT_VERSION, CNNCC_VERSION_NOTICE);
  printf("Network '%s': compiled by %s, ", c->net->name,
         b->compiler ? b->compiler : "an unknown compiler");
  if (b->openmp)
    printf("with OpenMP %ld", b->openmp);
  else
    printf("without OpenMP");
  printf(", %s kernels.\n", b->kernels ? b->kernels : "unknown");
  printf("libcnnrt: compiled by %s.\n", RT_BUILT_BY);
}

/* Options that set up the process, before the command runs. */
static void apply_run_options(const Ctx *c, const Args *a)
{
  if ((a->given & BIT(O_THREADS)) && omp_set_num_threads)
    omp_set_num_threads(a->threads);
  else if (a->given & BIT(O_THREADS))
    error(c, 0, "warning: --threads ignored: this program was built without OpenMP");
  /* The generated code reads it when the network is set up. */
  if (a->profile)
    setenv("CNNCC_PROFILE", "1", 1);
}

static Args default_args(const RtDefaults *d)
{
  /* Zero fields of the network's defaults fall back to the usual ones. */
  return (Args){.epochs = d->epochs > 0 ? d->epochs : 10,
                .batch = d->batch > 0 ? d->batch : 64,
                .lr = d->lr > 0 ? d->lr : 1e-3,
                .steps = BENCH_STEPS,
                .seed = d->seed};
}

/* --help: the commands and every command's options, so that it is the
 * whole reference (help2man makes the cnncc-trainer(1) page from it). */
static void print_full_help(const Ctx *c)
{
  print_program_help(c, stdout);
  Args a = default_args(&c->net->defaults);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    const Command *cmd = &commands[i];
    printf("\n%s %s [OPTIONS]%s%s:\n", c->prog, cmd->name, *cmd->operands ? " " : "",
           cmd->operands);
    print_options(cmd, &a);
  }
  printf("\nOther options:\n"
         "  %-24s %s\n  %-24s %s\n", "-h, --help", "show this help (COMMAND --help: a command's)",
         "-V, --version", "show the version and which compiler built this program");
  printf("\nExit status: 0 success, 1 failure (bad data or checkpoint, a NaN loss),\n"
         "2 usage error, 130/143 interrupted by SIGINT/SIGTERM.\n");
}

int rt_main(int argc, char **argv, const RtNet *net)
{
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  Ctx c = {argc > 0 ? (slash ? slash + 1 : argv[0]) : net->name, net};
  if (argc < 2) {
    print_program_help(&c, stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    print_full_help(&c);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
    print_version(&c);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    const Command *cmd = &commands[i];
    if (strcmp(argv[1], cmd->name) != 0)
      continue;
    Args a = default_args(&net->defaults);
    char **files = calloc((size_t)argc, sizeof *files);
    int nfiles = 0, rc = files ? parse_args(&c, cmd, argc - 2, argv + 2, &a, &nfiles, files)
                           : error(&c, 1, "out of memory");
    if (rc < 0)
      rc = check_required(&c, cmd, &a, nfiles);
    if (rc < 0)
      apply_run_options(&c, &a);
    if (rc < 0) {
      Run r = {.c = &c, .net = net};
      rc = cmd->run(&r, &a, nfiles, files);
      run_free(&r);
    }
    free(files);
    return rc;
  }
  return error(&c, EXIT_USAGE, "unknown command '%s'; run '%s --help'", argv[1], c.prog);
}
