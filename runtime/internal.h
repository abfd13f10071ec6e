/* internal.h - helpers shared by the runtime's sources; not installed. */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "cnnrt.h"

/* Format a message into err[errlen] and return -1, so that failures read
 * `return rt_fail(err, errlen, "...", ...);`. */
int rt_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A shape as "60000x28x28" (sep "x") or "1, 28, 28" (sep ", "); "1" for
 * rank 0. */
void rt_shape_str(char *buf, size_t len, int rank, const int *dim,
                  const char *sep);

/* Monotonic time in seconds. */
double rt_now(void);

/* Progress of a training run: a live line redrawn with \r on a terminal,
 * plain lines now and then otherwise. */
typedef struct {
  FILE *out;
  int tty;
  long epochs, steps;   /* total epochs, steps per epoch */
  long first;           /* global step index this process started at */
  double start, last;   /* when it started, when a line was last drawn */
  int live;             /* a live line is on screen */
} RtProgress;

void rt_progress_init(RtProgress *p, FILE *out, long epochs, long steps,
                      long first);
/* Report that `step` steps of epoch `epoch` (0-based) are done. */
void rt_progress_update(RtProgress *p, long epoch, long step, double loss,
                        double acc, double images_per_s);
/* Erase the live line before normal output. */
void rt_progress_clear(RtProgress *p);

/* ---- the trainer's command line (rt_main) ---- */

/* Where Fashion-MNIST is looked for first; named in --data's help too. */
#define RT_SYSTEM_DATA_DIR "/usr/share/datasets/fashion-mnist"

#define RT_EXIT_USAGE 2

/* The values of the options (cli.c: the table that fills them). */
typedef struct {
  const char *data, *weights, *save, *resume, *metrics, *plot, *save_best, *label_column,
      *augment, *optimizer, *schedule;
  int epochs, batch, every, steps, threads, profile, patience, header, no_header;
  int confusion, probs, top; /* eval --confusion; predict --probs, --top K */
  double lr, val, clip; /* val: --val, 0 when not given; clip: --clip, 0: none */
  uint64_t seed;
  unsigned given; /* bit o: option o was on the command line */
} RtArgs;

enum { RT_O_DATA, RT_O_LABEL_COLUMN, RT_O_HEADER, RT_O_NO_HEADER, RT_O_VAL, RT_O_AUGMENT, RT_O_WEIGHTS, RT_O_EPOCHS, RT_O_BATCH, RT_O_LR, RT_O_SEED,
       RT_O_SAVE, RT_O_SAVE_BEST, RT_O_PATIENCE, RT_O_RESUME, RT_O_METRICS, RT_O_EVERY, RT_O_STEPS, RT_O_THREADS,
       RT_O_PROFILE, RT_O_PLOT, RT_O_CONFUSION, RT_O_PROBS, RT_O_TOP, RT_O_OPTIMIZER, RT_O_SCHEDULE,
       RT_O_CLIP, RT_NOPT };
#define RT_BIT(o) (1u << (o))

typedef struct {
  const char *prog; /* for messages */
  const RtNet *net;
} RtCtx;

struct RtRun;
typedef struct {
  const char *name, *operands, *summary, *details;
  unsigned accepts, requires; /* RT_BIT()s of the options */
  int (*run)(struct RtRun *r, const RtArgs *a, int nfiles, char **files);
} RtCommand;

/* Is this process the one that prints and writes files? Under MPI rank 0
 * (mpi.c), else always. */
#ifdef CNNCC_MPI
int rt_is_root(void);
void rt_mpi_init(int *argc, char ***argv);
/* Ends MPI and returns status. A failure that only this rank may have had
 * (its data, its disk) stops the whole job (MPI_Abort), since the other
 * ranks would wait for it in their next exchange; a failure every rank
 * had at the same point (rt_mpi_all_fail) ends normally. */
int rt_mpi_finish(int status);
/* The status about to be returned is every rank's (decided from values
 * all ranks share): rt_mpi_finish need not abort the job. */
void rt_mpi_all_fail(void);
/* status: -1 or the exit status of this rank's argument checks; the same
 * on every rank afterwards: -1 when all ranks agree on the network, the
 * command, --batch and --seed. */
int rt_mpi_agree(const RtCtx *c, int status, const RtArgs *a, int command);
int *rt_mpi_scratch_counts(size_t count);
int rt_mpi_ranks(void);
/* the bytes this rank has received in exchanges so far */
double rt_mpi_bytes_received(void);
/* the largest x of all ranks (a maximum: the same whatever the order) */
double rt_mpi_max(double x);
#else
static inline int rt_is_root(void) { return 1; }
static inline void rt_mpi_all_fail(void) {}
#endif
/* Where informational lines go: stderr, or nowhere on ranks other than 0. */
FILE *rt_info(void);

/* cli.c: options, commands, help and messages. */

/* "PROG: message" on stderr; returns status. */
int rt_error(const RtCtx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The command named name, or NULL. */
const RtCommand *rt_find_command(const char *name);
RtArgs rt_default_args(const RtDefaults *d);
/* Parse argv (after the command name) into a and the operands. Returns -1
 * to go on, or an exit status (0 after --help). */
int rt_parse_args(const RtCtx *c, const RtCommand *cmd, int argc, char **argv,
                  RtArgs *a, int *nfiles, char **files);
/* Required options and operands; -1 when all are there. */
int rt_check_required(const RtCtx *c, const RtCommand *cmd, const RtArgs *a,
                      int nfiles);
void rt_print_program_help(const RtCtx *c, FILE *out);
void rt_print_full_help(const RtCtx *c);
void rt_print_version(const RtCtx *c);

/* plot.c: pictures of training, the loss and accuracy per epoch. */
typedef struct {
  long epoch; /* 1-based, as --metrics writes it */
  double train_loss, train_acc, test_loss, test_acc;
  int val; /* test_* are the --val split's (val_loss, val_acc) */
} RtEpochRow;
typedef struct {
  RtEpochRow *rows; /* by epoch, increasing */
  int n, cap;
} RtCurves;
/* Appends row, dropping rows of its epoch and later (a resumed run's
 * repeats); -1 when out of memory. */
int rt_curves_add(RtCurves *c, const RtEpochRow *row);
void rt_curves_free(RtCurves *c);
/* One line of --metrics (a JSON object) into row; -1 when it is not one. */
int rt_metrics_parse(const char *line, RtEpochRow *row);
/* Adds every line of a --metrics file; -1 with a message in err. */
int rt_curves_read(RtCurves *c, const char *path, char *err, size_t errlen);
/* The SVG: a panel of the loss and one of the accuracy, train and test. */
void rt_plot_svg(FILE *out, const RtCurves *c, const char *title);
/* Writes the SVG to path atomically, through path.tmp; -1 with a message
 * in err. */
int rt_plot_write(const char *path, const RtCurves *c, const char *title, char *err, size_t errlen);

/* The optimizer kernels (adam.c, sgd.c) as clones for the widest vectors
 * the CPU has (chosen once, at load time). Every path computes the same
 * IEEE operations (-ffp-contract=off in runtime/local.mk: no fused
 * multiply-adds), so the results do not depend on the CPU. Not under
 * AddressSanitizer: the resolver would run before it starts. Not with
 * clang before 18: it names the dispatcher rt_adam_step.ifunc, so that
 * calls from other files (rt_main, the tests) do not link (LLVM pull
 * request 71706). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_SANITIZED 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(RT_SANITIZED) && \
    !defined(__SANITIZE_ADDRESS__) && !(defined(__clang__) && __clang_major__ < 18)
#define RT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RT_VECTOR_CLONES
#endif

/* optim.c, schedule.c, sgd.c: the optimizers and learning-rate schedules
 * of torch.optim (PyTorch 1.13); docs/training.md. */
typedef enum { RT_OPT_ADAM, RT_OPT_ADAMW, RT_OPT_SGD } RtOptKind;
typedef struct {
  RtOptKind kind;
  double lr, beta1, beta2, eps, weight_decay, momentum, dampening;
  int nesterov;
} RtOptim;
typedef enum { RT_SCHED_NONE, RT_SCHED_STEP, RT_SCHED_MULTISTEP, RT_SCHED_COSINE,
               RT_SCHED_ONECYCLE } RtSchedKind;
#define RT_MAX_MILESTONES 16
typedef struct {
  RtSchedKind kind;
  double gamma, max_lr, pct_start, div_factor, final_div_factor, base_momentum,
      max_momentum;
  int cycle_momentum, three_phase, nmilestones;
  double step_size, warmup, milestones[RT_MAX_MILESTONES]; /* whole numbers */
  double epochs; /* cosine, onecycle: laid out over so many; 0: the run's --epochs */
} RtSchedule;
/* What a training run optimizes with: the train block's settings, the
 * command line's, or a resumed checkpoint's. */
typedef struct {
  RtOptim opt;
  RtSchedule sched;
  double clip; /* clip_grad_norm_'s max_norm; 0: none */
} RtOptConfig;

/* "sgd(lr=0.1,momentum=0.9)" (arguments by name or position) over *o,
 * whose other fields stay; -1 with a message in err when malformed. */
int rt_optim_parse(const char *spec, RtOptim *o, char *err, size_t errlen);
/* "cosine(warmup=2)", "none"; -1 with a message in err when malformed. */
int rt_schedule_parse(const char *spec, RtSchedule *s, char *err, size_t errlen);
/* The spec of o or s, every argument written out, parsed back exactly. */
void rt_optim_format(char *buf, size_t len, const RtOptim *o);
void rt_schedule_format(char *buf, size_t len, const RtSchedule *s);
/* Adam without schedule and clipping: what version-1 files trained with. */
int rt_optconfig_is_plain(const RtOptConfig *c);
/* Fixes s->epochs (0: epochs, the run's) and checks that the schedule
 * fits a run of `epochs` epochs of `steps` steps; -1 with a message in err
 * when not (e.g. warmup >= epochs). */
int rt_schedule_check(RtSchedule *s, long epochs, long steps, char *err, size_t errlen);
/* The hyperparameters of optimizer step t (1-based), in epoch `epoch`
 * (0-based) of epochs of `steps` steps: the lr and, for onecycle, the
 * momentum (beta1 for Adam) that the schedule sets. */
RtOptim rt_schedule_at(const RtOptConfig *c, long t, long epoch, long steps);
/* One step of c's optimizer at hyperparameters o with the gradient clipped
 * to c->clip: m holds Adam's first moment or SGD's momentum buffer. */
void rt_optim_step(const RtOptConfig *c, const RtOptim *o, float *p, float *g, float *m,
                   float *v, size_t n, long t);
/* torch.optim.SGD's step; first: the momentum buffer starts as the gradient. */
void rt_sgd_step(float *p, const float *g, float *buf, size_t n, const RtOptim *o, int first);

/* run.c: a run: the network, its batch buffers and the optimizer state. */
typedef struct RtRun {
  const RtCtx *c;
  const RtNet *net;
  int batch;
  size_t in_size, out_size, positions; /* positions: labels per sample */
  float *x, *targets, *m, *v;          /* targets: one-hot, for MSE */
  int32_t *y;
  long *order;
  RtAugment augment; /* of training batches; all 0: none */
  float *augment_tmp;
  RtDataset train, test, val; /* val: held out of train by --val */
  FILE *metrics;
  RtCurves curves; /* the epochs so far, for --plot */
  RtOptConfig optim; /* train: the optimizer, schedule and clipping */
  char optim_text[1024]; /* ... as the checkpoint's OPTM section holds it */
} RtRun;

void rt_run_free(RtRun *r);
/* Allocate the Adam moments (adam != 0) and the order of norder samples. */
int rt_run_alloc_state(RtRun *r, int adam, long norder);
/* Allocate the batch buffers and the network's activations, once. */
int rt_run_setup(RtRun *r, int batch);
/* --augment SPEC, else the train block's augment { }, into r->augment,
 * for a network of images; -1 to go on (with or without augmentation),
 * else an exit status. */
int rt_run_set_augment(RtRun *r, const RtArgs *a);
/* One-hot targets for MSE: classes along dim 0, positions after it. */
void rt_run_one_hot(const RtRun *r, int n);
/* Forward samples order[first..first+n) of ds (labelled) through the net. */
float rt_run_forward(RtRun *r, const RtDataset *ds, const long *order,
                     long first, int n, int training, uint64_t dropout_seed,
                     long *correct);
/* The size of the batch that starts at sample first of n. */
int rt_run_batch_at(const RtRun *r, long n, long first);
/* Fraction of correctly classified positions of `samples` samples. */
double rt_run_accuracy(const RtRun *r, long correct, long samples);
/* The class with the largest output of the classes at out, stride apart:
 * the first of equal ones, as the generated loss counts correct ones. */
size_t rt_run_argmax(const float *out, size_t classes, size_t stride);
/* Mean loss and accuracy on ds; with confusion (classes x classes, zeroed
 * by the caller) also the count of positions of each true class (row)
 * predicted as each class (column). */
void rt_run_evaluate(RtRun *r, const RtDataset *ds, double *loss, double *acc,
                     long *confusion);
/* Is --data one CSV file (one split, the training data)? */
int rt_run_single_file(const RtArgs *a);
/* Load split ("train" or "test") of --data or the default data into ds. */
int rt_run_load_split(RtRun *r, const RtArgs *a, const char *split, RtDataset *ds);
/* "a, b, c": the names of nclasses packed classes, cut at len. */
void rt_run_class_list(char *buf, size_t len, const char *classes, int nclasses);
/* 0 when the two packed class lists are the same, else 1 with a message
 * naming what and other. */
int rt_run_same_classes(const RtRun *r, const char *what, const char *classes, int nclasses,
                        const char *other, const char *theirs, int ntheirs);
/* Load a checkpoint's weights, and into st the training state when st. */
int rt_run_load_weights(RtRun *r, const char *path, RtTrainState *st);

/* The commands (train.c; commands.c), with the signature of RtCommand.run. */
int rt_train(RtRun *r, const RtArgs *a, int nfiles, char **files);
int rt_eval(RtRun *r, const RtArgs *a, int nfiles, char **files);
int rt_predict(RtRun *r, const RtArgs *a, int nfiles, char **files);
int rt_bench(RtRun *r, const RtArgs *a, int nfiles, char **files);

#endif
