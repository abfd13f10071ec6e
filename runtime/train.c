/* train.c - the train command: the training loop, SIGINT/SIGTERM,
 * resuming, and the checkpoints and metrics written while training. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnnrt.h"
#include "internal.h"

static int save(RtRun *r, const char *path, const RtTrainState *st)
{
  char err[1024];
  if (!rt_is_root()) /* the checkpoint of all: every rank has the same state */
    return 0;
  if (rt_checkpoint_save(path, r->net, st, r->m, r->v, err, sizeof err))
    return rt_error(r->c, 1, "%s", err);
  return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
  stop_signal = sig;
}

/* Has SIGINT or SIGTERM come? Under MPI every rank must stop after the
 * same step (a rank that stopped alone would leave the others waiting in
 * the next exchange), so the ranks agree on the largest signal any of them
 * got: one small allreduce a step, and mpirun's forwarded SIGTERM or a
 * signal sent to a single rank stop the whole job with a checkpoint. */
static int stop_requested(void)
{
#ifdef CNNCC_MPI
  stop_signal = (sig_atomic_t)rt_mpi_max(stop_signal);
  if (stop_signal)
    rt_mpi_all_fail();
#endif
  return stop_signal != 0;
}

static int interrupted(RtRun *r, const RtArgs *a, const RtTrainState *st)
{
  int status = 128 + stop_signal;
  const char *name = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
  char where[64];
  if (st->epoch_step)
    snprintf(where, sizeof where, "at epoch %ld, step %ld", st->epoch + 1, st->epoch_step);
  else
    snprintf(where, sizeof where, "after epoch %ld", st->epoch);
  if (!rt_is_root()) /* under MPI rank 0 saves and says so */
    return status;
  if (!a->save)
    return rt_error(r->c, status, "interrupted by %s %s; no checkpoint saved (use --save)",
                    name, where);
  if (save(r, a->save, st))
    return 1;
  return rt_error(r->c, status, "interrupted by %s %s; saved checkpoint '%s'", name,
                  where, a->save);
}

/* test_*: of the test split, or of the validation split with --val. */
typedef struct {
  double train_loss, train_acc, test_loss, test_acc, images_per_s, seconds;
  double lr; /* of the epoch's last step */
} EpochStats;

/* Draws --plot from the curves so far (rank 0 only). */
static int plot(RtRun *r, const RtArgs *a)
{
  char err[1024], title[256];
  if (!a->plot || !rt_is_root())
    return 0;
  snprintf(title, sizeof title, "%s: loss and accuracy per epoch", r->net->name);
  if (rt_plot_write(a->plot, &r->curves, title, err, sizeof err))
    return rt_error(r->c, 1, "%s", err);
  return 0;
}

/* Adds the epoch to the curves and redraws --plot. */
static int plot_epoch(RtRun *r, const RtArgs *a, long epoch, const EpochStats *e)
{
  RtEpochRow row = {epoch + 1, e->train_loss, e->train_acc, e->test_loss, e->test_acc,
                    r->val.n > 0};
  if (!a->plot || !rt_is_root())
    return 0;
  if (rt_curves_add(&r->curves, &row))
    return rt_error(r->c, 1, "out of memory");
  return plot(r, a);
}

/* Prints the epoch's line, appends it to --metrics and redraws --plot; 1
 * when a file cannot be written (e.g. a full disk), which must not pass
 * silently. */
static int report_epoch(RtRun *r, const RtArgs *a, long epoch, long epochs, const EpochStats *e)
{
  const char *split = r->val.n ? "val" : "test";
  char lr[64] = "", lr_json[64] = ""; /* a schedule's lr, which changes */
  if (r->optim.sched.kind != RT_SCHED_NONE) {
    snprintf(lr, sizeof lr, " lr %.6g", e->lr);
    snprintf(lr_json, sizeof lr_json, "\"lr\":%.6g,", e->lr);
  }
  fprintf(rt_info(), "epoch %ld/%ld: train_loss %.4f train_acc %.4f %s_loss %.4f %s_acc %.4f%s (%.1f s, %.0f img/s)\n",
          epoch + 1, epochs, e->train_loss, e->train_acc, split, e->test_loss,
          split, e->test_acc, lr, e->seconds, e->images_per_s);
  if (!r->metrics)
    return plot_epoch(r, a, epoch, e);
  fprintf(r->metrics, "{\"epoch\":%ld,\"train_loss\":%.6g,\"train_acc\":%.6g,\"%s_loss\":%.6g,\"%s_acc\":%.6g,%s\"images_per_s\":%.6g,\"seconds\":%.6g}\n",
          epoch + 1, e->train_loss, e->train_acc, split, e->test_loss, split, e->test_acc,
          lr_json, e->images_per_s, e->seconds);
  if (fflush(r->metrics) || ferror(r->metrics))
    return rt_error(r->c, 1, "cannot write metrics '%s': %s", a->metrics, strerror(errno));
  return plot_epoch(r, a, epoch, e);
}

/* One epoch's training steps, from st->epoch_step on. */
static int train_epoch(RtRun *r, const RtArgs *a, RtTrainState *st,
                       RtProgress *progress, EpochStats *e)
{
  const RtNet *net = r->net;
  long n = r->train.n, steps = progress->steps, images = 0;
  double start = rt_now();
  rt_epoch_order(r->order, n, st->seed, st->epoch);
  while (st->epoch_step < steps) {
    long first = st->epoch_step * r->batch, correct;
    int nb = rt_run_batch_at(r, n, first);
    float loss = rt_run_forward(r, &r->train, r->order, first, nb, 1,
                                rt_dropout_seed(st->seed, st->t + 1), &correct);
    if (!isfinite(loss)) {
      rt_mpi_all_fail(); /* every rank computes the loss of the whole batch */
      rt_progress_clear(progress);
      return rt_error(r->c, 1, "loss is %s at epoch %ld, step %ld (optimizer step %ld); stopping%s",
                      isnan(loss) ? "nan" : loss > 0 ? "inf" : "-inf", st->epoch + 1, st->epoch_step + 1, st->t + 1,
                      a->save ? "; the last checkpoint is kept" : "");
    }
    net->backward(nb);
    RtOptim o = rt_schedule_at(&r->optim, st->t + 1, st->epoch, steps);
    e->lr = o.lr;
    rt_optim_step(&r->optim, &o, net->params, net->grads, r->m, r->v, net->nparams, ++st->t);
    st->epoch_step++;
    st->loss_sum += (double)loss * nb;
    st->correct += correct;
    st->seen += nb;
    images += nb;
    e->images_per_s = (double)images / (rt_now() - start);
    rt_progress_update(progress, st->epoch, st->epoch_step, st->loss_sum / (double)st->seen,
                       rt_run_accuracy(r, st->correct, st->seen), e->images_per_s);
    if (stop_requested()) {
      rt_progress_clear(progress);
      return interrupted(r, a, st);
    }
    if (a->every && st->t % a->every == 0 && st->epoch_step < steps &&
        save(r, a->save, st))
      return 1;
  }
  return 0;
}

/* --save-best and --patience follow the best accuracy of the epochs so
 * far (strictly better counts; the first epoch is the best at first), in
 * the state so that a resumed run goes on as an uninterrupted one; so
 * does a run resumed from a checkpoint that has one. Returns whether the
 * epoch just done (st->epoch, not yet counted) is the new best. */
static int keep_best(const RtArgs *a, RtTrainState *st, double acc)
{
  if (!a->save_best && !a->patience && !st->best_epoch)
    return 0;
  if (st->best_epoch && acc <= st->best_acc)
    return 0;
  st->best_epoch = st->epoch + 1;
  st->best_acc = acc;
  return 1;
}

/* --patience N: N epochs since the best (also when resuming a run that
 * stopped early: it stays stopped). */
static int patience_over(const RtRun *r, const RtArgs *a, const RtTrainState *st)
{
  if (!a->patience || !st->best_epoch || st->epoch - st->best_epoch < a->patience)
    return 0;
  fprintf(rt_info(), "%s: stopping early after epoch %ld: no better %s_acc for %d epoch%s (the best, %.4f, was epoch %ld)\n",
          r->c->prog, st->epoch, r->val.n ? "val" : "test", a->patience,
          a->patience == 1 ? "" : "s", st->best_acc, st->best_epoch);
  return 1;
}

/* Train from st up to a->epochs epochs. Returns the exit status. */
static int train_loop(RtRun *r, const RtArgs *a, RtTrainState *st, double *test_acc)
{
  long steps = (r->train.n + r->batch - 1) / r->batch;
  RtProgress progress;
  if (st->epoch_step > steps)
    return rt_error(r->c, 1, "checkpoint '%s' stopped at step %ld of an epoch, but this data has only %ld steps per epoch",
                    a->resume, st->epoch_step, steps);
  rt_progress_init(&progress, rt_info(), a->epochs, steps, st->epoch * steps + st->epoch_step);
  while (st->epoch < a->epochs && !patience_over(r, a, st)) {
    double start = rt_now();
    EpochStats e = {0};
    int rc = train_epoch(r, a, st, &progress, &e);
    if (rc)
      return rc;
    e.train_loss = st->loss_sum / (double)st->seen;
    e.train_acc = rt_run_accuracy(r, st->correct, st->seen);
    rt_run_evaluate(r, r->val.n ? &r->val : &r->test, &e.test_loss, &e.test_acc, NULL);
    e.seconds = rt_now() - start;
    if (!r->val.n)
      *test_acc = e.test_acc;
    rt_progress_clear(&progress);
    if (report_epoch(r, a, st->epoch, a->epochs, &e))
      return 1;
    int better = keep_best(a, st, e.test_acc);
    st->epoch++;
    st->epoch_step = 0;
    st->loss_sum = 0;
    st->correct = st->seen = 0;
    if (a->save && save(r, a->save, st))
      return 1;
    if (better && a->save_best && save(r, a->save_best, st))
      return 1;
    if (stop_requested())
      return interrupted(r, a, st);
  }
  return 0;
}

/* Check that --seed, --batch and --val agree with the checkpoint being
 * resumed. */
static int resume_conflicts(const RtCtx *c, const RtArgs *a, const RtTrainState *st)
{
  if ((a->given & RT_BIT(RT_O_SEED)) && a->seed != st->seed)
    return rt_error(c, RT_EXIT_USAGE, "--seed %llu conflicts with the seed %llu of checkpoint '%s'; leave --seed out when resuming",
                    (unsigned long long)a->seed, (unsigned long long)st->seed, a->resume);
  if ((a->given & RT_BIT(RT_O_BATCH)) && a->batch != st->batch)
    return rt_error(c, RT_EXIT_USAGE, "--batch %d conflicts with the batch %d of checkpoint '%s' (the data order depends on it); leave --batch out when resuming",
                    a->batch, st->batch, a->resume);
  if ((a->given & RT_BIT(RT_O_VAL)) && a->val != st->val)
    return rt_error(c, RT_EXIT_USAGE, "--val %g conflicts with %s of checkpoint '%s' (the training data depends on it); leave --val out when resuming",
                    a->val, st->val ? "the validation split" : "no validation split", a->resume);
  return 0;
}

/* --resume: the state, checked against the options and the data; the
 * classes of the checkpoint must be those of the training data. */
static int resume(RtRun *r, const RtArgs *a, RtTrainState *st)
{
  int rc = rt_run_load_weights(r, a->resume, st);
  if (rc == 0)
    rc = resume_conflicts(r->c, a, st);
  if (rc == 0 && st->classes && r->train.classes)
    rc = rt_run_same_classes(r, r->train.image_path, r->train.classes, r->train.nclasses,
                             a->resume, st->classes, st->nclasses);
  free(st->classes);
  st->classes = NULL;
  return rc;
}

/* The state to start or resume from, and the --val split it implies
 * (drawn from the run's seed: the same on resume, with any threads and on
 * every MPI rank). */
static int start_state(RtRun *r, const RtArgs *a, RtTrainState *st)
{
  char err[1024];
  *st = (RtTrainState){.seed = a->seed, .batch = a->batch, .val = a->val};
  int rc = a->resume ? resume(r, a, st) : 0;
  if (rc)
    return rc;
  st->classes = r->train.classes; /* saved with every checkpoint */
  st->nclasses = r->train.nclasses;
  if (!st->val)
    return 0;
  if (rt_dataset_split(&r->train, &r->val, st->val, st->seed, err, sizeof err))
    return rt_error(r->c, 1, "--val: %s", err);
  fprintf(rt_info(), "%s: validation data: %ld samples held out of the %ld training samples (--val %g)\n",
          r->c->prog, r->val.n, r->val.n + r->train.n, st->val);
  return 0;
}

static const char *const kind_names[] = {[RT_OPT_ADAM] = "adam", [RT_OPT_ADAMW] = "adamw",
                                          [RT_OPT_SGD] = "sgd"};

/* The three NUL-terminated texts of a checkpoint's OPTM section. */
static void split_optim(const RtTrainState *st, const char *text[3])
{
  const char *p = st->optim;
  for (int i = 0; i < 3; i++) {
    text[i] = p;
    if (p) /* NULL: no section */
      p += strlen(p) + 1;
  }
}

/* The optimizer, schedule and clipping of the run into r->optim: an
 * option given, else the resumed checkpoint's, else the train block's
 * (Adam with --lr when it names none); and into st, as saved. */
static int set_optim(RtRun *r, const RtArgs *a, RtTrainState *st)
{
  const RtDefaults *d = &r->net->defaults;
  const char *saved[3], *err_what = "--optimizer";
  char err[1024];
  RtOptConfig c = {{RT_OPT_ADAM, a->lr, d->beta1, d->beta2, d->eps, d->weight_decay, 0, 0, 0},
                   {RT_SCHED_NONE}, d->clip};
  RtOptKind resumed_kind = RT_OPT_ADAM;
  split_optim(st, saved);
  int rc = 0, status = RT_EXIT_USAGE;
  const char *opt = a->optimizer ? a->optimizer : saved[0] ? saved[0] : d->optimizer;
  const char *sched = a->schedule ? a->schedule : saved[1] ? saved[1] : d->schedule;
  if (saved[0]) {
    RtOptim k;
    if (rt_optim_parse(saved[0], &k, err, sizeof err) == 0)
      resumed_kind = k.kind;
  }
  if (saved[2])
    c.clip = strtod(saved[2], NULL);
  if (a->given & RT_BIT(RT_O_CLIP))
    c.clip = a->clip;
  if (opt && (rc = rt_optim_parse(opt, &c.opt, err, sizeof err)) == 0 && (a->given & RT_BIT(RT_O_LR)))
    c.opt.lr = a->lr;
  if (rc == 0 && sched && (err_what = "--schedule", rc = rt_schedule_parse(sched, &c.sched, err, sizeof err)) == 0)
    rc = rt_schedule_check(&c.sched, a->epochs, (r->train.n + st->batch - 1) / st->batch, err,
                           sizeof err);
  if (rc && !a->optimizer && !a->schedule)
    err_what = saved[0] ? a->resume : "the train block", status = 1;
  free(st->optim);
  st->optim = NULL;
  if (rc)
    return rt_error(r->c, status, "%s: %s", err_what, err);
  if (a->resume && c.opt.kind != resumed_kind)
    return rt_error(r->c, RT_EXIT_USAGE, "the optimizer %s conflicts with checkpoint '%s', whose moments are %s's; resume with %s",
                    opt, a->resume, kind_names[resumed_kind], kind_names[resumed_kind]);
  r->optim = c;
  if (rt_optconfig_is_plain(&c))
    return 0;
  size_t n = 0, len = sizeof r->optim_text;
  rt_optim_format(r->optim_text, len, &c.opt);
  n = strlen(r->optim_text) + 1;
  rt_schedule_format(r->optim_text + n, len - n, &c.sched);
  n += strlen(r->optim_text + n) + 1;
  snprintf(r->optim_text + n, len - n, "%.17g", c.clip);
  st->optim = r->optim_text;
  st->optim_len = n + strlen(r->optim_text + n) + 1;
  return 0;
}

/* --plot is drawn before the first epoch, so that a path that cannot be
 * written fails at once and a viewer can open it; a resumed run's starts
 * with the epochs before, from the --metrics file it appends to (when
 * there is one: else from the resumed epoch). */
static int first_plot(RtRun *r, const RtArgs *a)
{
  char err[1024];
  if (!a->plot || !rt_is_root())
    return 0;
  if (a->resume && a->metrics && access(a->metrics, F_OK) == 0 &&
      rt_curves_read(&r->curves, a->metrics, err, sizeof err))
    return rt_error(r->c, 1, "--plot: %s", err);
  return plot(r, a);
}

int rt_train(RtRun *r, const RtArgs *a, int nfiles, char **files)
{
  (void)nfiles, (void)files; /* the signature of every command */
  RtTrainState st;
  if (a->every && !a->save)
    return rt_error(r->c, RT_EXIT_USAGE, "--checkpoint-every needs --save");
  int rc = rt_run_set_augment(r, a);
  if (rc >= 0)
    return rc;
  if (first_plot(r, a))
    return 1;
  int single = rt_run_single_file(a); /* one CSV file: no test split */
  if (rt_run_load_split(r, a, "train", &r->train) ||
      (!single && rt_run_load_split(r, a, "test", &r->test)) ||
      rt_run_alloc_state(r, 1, r->train.n))
    return 1;
  if ((rc = start_state(r, a, &st))) {
    free(st.optim); /* a resumed checkpoint's */
    return rc;
  }
  if ((rc = set_optim(r, a, &st)))
    return rc;
  if (single && !r->val.n)
    return rt_error(r->c, RT_EXIT_USAGE, "--data %s is one file, with no test split: hold out a validation split with --val FRACTION, or give a folder with train.csv and test.csv",
                    a->data);
  if (rt_run_setup(r, st.batch))
    return 1;
  if (!a->resume)
    r->net->init(st.seed);
  if (a->metrics && rt_is_root() && !(r->metrics = fopen(a->metrics, a->resume ? "a" : "w")))
    return rt_error(r->c, 1, "cannot write metrics '%s': %s", a->metrics, strerror(errno));

  double test_acc = -1, test_loss;
  struct sigaction act = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND}, old_int, old_term;
  sigemptyset(&act.sa_mask);
  stop_signal = 0;
  sigaction(SIGINT, &act, &old_int);
  sigaction(SIGTERM, &act, &old_term);
  rc = train_loop(r, a, &st, &test_acc);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (rc)
    return rc;
  if (single) { /* the validation figure stands in for the test's */
    rt_run_evaluate(r, &r->val, &test_loss, &test_acc, NULL);
    printf("val_acc=%.4f\n", test_acc);
    return 0;
  }
  if (test_acc < 0) /* with --val, or resumed a finished run */
    rt_run_evaluate(r, &r->test, &test_loss, &test_acc, NULL);
  printf("test_acc=%.4f\n", test_acc);
  return 0;
}
