/* cli.c - the trainer's command line as text: the options and commands,
 * parsing them, and the help, --version and error messages. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

#define BENCH_STEPS 20

typedef enum { K_TEXT, K_COUNT, K_RATE, K_FRACTION, K_SEED, K_FLAG } Kind; /* K_FLAG: no value */

typedef struct {
  const char *name, *arg;
  Kind kind;
  size_t offset; /* of the value in RtArgs */
  const char *help;
} Opt;

static const Opt options[RT_NOPT] = {
  [RT_O_DATA] = {"data", "DIR", K_TEXT, offsetof(RtArgs, data),
                 "data directory (default: " RT_SYSTEM_DATA_DIR " if present, else the bundled sample)"},
  [RT_O_LABEL_COLUMN] = {"label-column", "NAME|N", K_TEXT, offsetof(RtArgs, label_column),
                         "CSV data: the label column, by its header name or its number from 0 (default: the last)"},
  [RT_O_HEADER] = {"header", "", K_FLAG, offsetof(RtArgs, header),
                   "CSV data: the first line is a header (default: when it has a field that is not a number)"},
  [RT_O_NO_HEADER] = {"no-header", "", K_FLAG, offsetof(RtArgs, no_header),
                      "CSV data: the first line is a sample"},
  [RT_O_VAL] = {"val", "FRACTION", K_FRACTION, offsetof(RtArgs, val),
                "hold out this fraction of the training data (seeded) to validate on after each epoch; the test split is then used only at the end"},
  [RT_O_AUGMENT] = {"augment", "SPEC", K_TEXT, offsetof(RtArgs, augment),
                    "augment training images: crop=N (pad N zeros, crop at random) and/or flip (mirror half of them), e.g. crop=4,flip; none: not even the train block's augment"},
  [RT_O_WEIGHTS] = {"weights", "CKPT", K_TEXT, offsetof(RtArgs, weights), "checkpoint to load"},
  [RT_O_EPOCHS] = {"epochs", "N", K_COUNT, offsetof(RtArgs, epochs),
                   "train until N epochs are done in total"},
  [RT_O_BATCH] = {"batch", "B", K_COUNT, offsetof(RtArgs, batch), "batch size"},
  [RT_O_LR] = {"lr", "X", K_RATE, offsetof(RtArgs, lr), "learning rate (of the optimizer, the train block's or --optimizer's)"},
  [RT_O_OPTIMIZER] = {"optimizer", "SPEC", K_TEXT, offsetof(RtArgs, optimizer),
                      "the optimizer, as in torch.optim: sgd(lr=0.1,momentum=0.9,nesterov=true,weight_decay=5e-4), adam(lr=1e-3) or adamw(lr=1e-3,weight_decay=0.01)"},
  [RT_O_SCHEDULE] = {"schedule", "SPEC", K_TEXT, offsetof(RtArgs, schedule),
                     "learning-rate schedule: step(step_size=N,gamma=0.1), multistep(milestones=[N,M],gamma=0.1), cosine(warmup=N) or onecycle(max_lr=X,pct_start=0.3); none"},
  [RT_O_CLIP] = {"clip", "X", K_RATE, offsetof(RtArgs, clip),
                 "clip the gradients' total 2-norm to X (torch.nn.utils.clip_grad_norm_)"},
  [RT_O_SEED] = {"seed", "S", K_SEED, offsetof(RtArgs, seed),
                 "seed of initialization, data order and dropout"},
  [RT_O_SAVE] = {"save", "CKPT", K_TEXT, offsetof(RtArgs, save),
                 "save a checkpoint after every epoch and when interrupted"},
  [RT_O_SAVE_BEST] = {"save-best", "CKPT", K_TEXT, offsetof(RtArgs, save_best),
                      "also save the checkpoint after each epoch that reaches the best validation (or, without --val, test) accuracy so far"},
  [RT_O_PATIENCE] = {"patience", "N", K_COUNT, offsetof(RtArgs, patience),
                     "stop early after N epochs without a better validation (or test) accuracy"},
  [RT_O_RESUME] = {"resume", "CKPT", K_TEXT, offsetof(RtArgs, resume),
                   "continue training from a checkpoint (same data order and dropout)"},
  [RT_O_METRICS] = {"metrics", "FILE", K_TEXT, offsetof(RtArgs, metrics),
                    "write one JSON line per epoch to FILE (appended to when resuming)"},
  [RT_O_PLOT] = {"plot", "FILE", K_TEXT, offsetof(RtArgs, plot),
                 "draw loss and accuracy per epoch into the SVG FILE, redrawn after each epoch"},
  [RT_O_EVERY] = {"checkpoint-every", "N", K_COUNT, offsetof(RtArgs, every),
                  "also save the checkpoint every N steps (needs --save)"},
  [RT_O_STEPS] = {"steps", "N", K_COUNT, offsetof(RtArgs, steps), "timed steps"},
  [RT_O_THREADS] = {"threads", "T", K_COUNT, offsetof(RtArgs, threads),
                    "number of OpenMP threads"},
  [RT_O_PROFILE] = {"profile", "", K_FLAG, offsetof(RtArgs, profile),
                    "print each layer's time, GFLOP/s and roofline per pass at exit (as CNNCC_PROFILE=1)"},
  [RT_O_CONFUSION] = {"confusion", "", K_FLAG, offsetof(RtArgs, confusion),
                      "also print the confusion matrix and each class's accuracy"},
  [RT_O_PROBS] = {"probs", "", K_FLAG, offsetof(RtArgs, probs),
                  "print each image's class and then the probabilities of all classes"},
  [RT_O_TOP] = {"top", "K", K_COUNT, offsetof(RtArgs, top),
                "print each image's K most probable classes, a line \"CLASS PROBABILITY\" each"},
};

int rt_error(const RtCtx *c, int status, const char *fmt, ...)
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

static int usage_error(const RtCtx *c, const RtCommand *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage_error(const RtCtx *c, const RtCommand *cmd, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s %s: ", c->prog, cmd->name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s %s --help'.\n", c->prog, cmd->name);
  return RT_EXIT_USAGE;
}

/* Convert the text of option o into RtArgs; 0 if it is well formed. */
static int set_value(RtArgs *a, int o, const char *text)
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
  case K_RATE:
  case K_FRACTION: {
    double x = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(x) || x <= 0 ||
        (options[o].kind == K_FRACTION && x >= 1))
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
  [K_RATE] = "a positive number", [K_FRACTION] = "a number between 0 and 1 (exclusive)",
  [K_SEED] = "a non-negative integer",
  [K_FLAG] = "no value",
};

/* The options cmd accepts, one a line, with their defaults in a. */
static void print_options(const RtCommand *cmd, const RtArgs *a)
{
  for (int o = 0; o < RT_NOPT; o++) {
    if (!(cmd->accepts & RT_BIT(o)))
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

static void print_help(const RtCtx *c, const RtCommand *cmd, const RtArgs *a)
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
int rt_parse_args(const RtCtx *c, const RtCommand *cmd, int argc, char **argv,
                  RtArgs *a, int *nfiles, char **files)
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
    while (o < RT_NOPT && !(strlen(options[o].name) == len &&
                            strncmp(arg + 2, options[o].name, len) == 0 &&
                            (cmd->accepts & RT_BIT(o))))
      o++;
    if (o == RT_NOPT)
      return usage_error(c, cmd, "unknown option '%s'", arg);
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", options[o].name);
    if (options[o].kind == K_FLAG) {
      if (eq)
        return usage_error(c, cmd, "%s takes no value", flag);
      *(int *)((char *)a + options[o].offset) = 1;
      a->given |= RT_BIT(o);
      continue;
    }
    const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (!value)
      return usage_error(c, cmd, "%s needs %s", flag, kind_expects[options[o].kind]);
    if (set_value(a, o, value))
      return usage_error(c, cmd, "%s expects %s, got '%s'", flag,
                         kind_expects[options[o].kind], value);
    a->given |= RT_BIT(o);
  }
  return -1;
}

static const RtCommand commands[] = {
  {"train", "", "Train (with Adam unless the train block or --optimizer says otherwise), evaluating on the test split (or --val's) after each epoch",
   "The last line printed is test_acc=ACCURACY. SIGINT/SIGTERM stop after the\n"
   "current step and save the checkpoint if --save is given.\n"
   "--data DIR holds IDX files (train-images.idx, train-labels.idx,\n"
   "test-images.idx, test-labels.idx, or MNIST's names), CIFAR-10 binaries,\n"
   "image folders DIR/train/CLASS/*.png|*.jpg and DIR/test/CLASS/* (classes\n"
   "sorted by name; images fitted to the input as predict does), or CSV files\n"
   "DIR/train.csv and DIR/test.csv (values as they are, a class number in the\n"
   "label column). --data FILE.csv is training data alone: it needs --val, and\n"
   "the last line is then val_acc=ACCURACY.",
   RT_BIT(RT_O_DATA) | RT_BIT(RT_O_LABEL_COLUMN) | RT_BIT(RT_O_HEADER) |
       RT_BIT(RT_O_NO_HEADER) | RT_BIT(RT_O_VAL) | RT_BIT(RT_O_AUGMENT) | RT_BIT(RT_O_EPOCHS) | RT_BIT(RT_O_BATCH) | RT_BIT(RT_O_LR) |
       RT_BIT(RT_O_OPTIMIZER) | RT_BIT(RT_O_SCHEDULE) | RT_BIT(RT_O_CLIP) |
       RT_BIT(RT_O_SEED) | RT_BIT(RT_O_SAVE) | RT_BIT(RT_O_SAVE_BEST) | RT_BIT(RT_O_PATIENCE) |
       RT_BIT(RT_O_RESUME) | RT_BIT(RT_O_METRICS) |
       RT_BIT(RT_O_PLOT) | RT_BIT(RT_O_EVERY) | RT_BIT(RT_O_THREADS) | RT_BIT(RT_O_PROFILE),
   0, rt_train},
  {"eval", "", "Evaluate a checkpoint on the test split",
   "Prints test_loss=LOSS test_acc=ACCURACY (--data FILE.csv: of every row). With --confusion, then the lines\n"
   "\"confusion matrix (rows: true class, columns: predicted class)\", a header\n"
   "\"true\" and the classes, a row per true class (the class, then the count\n"
   "predicted as each class: positions, for outputs with one class per position),\n"
   "\"class accuracy correct/total\" and a line per class: CLASS ACCURACY N/TOTAL.",
   RT_BIT(RT_O_DATA) | RT_BIT(RT_O_LABEL_COLUMN) | RT_BIT(RT_O_HEADER) |
       RT_BIT(RT_O_NO_HEADER) | RT_BIT(RT_O_WEIGHTS) | RT_BIT(RT_O_BATCH) |
       RT_BIT(RT_O_THREADS) | RT_BIT(RT_O_CONFUSION),
   RT_BIT(RT_O_WEIGHTS), rt_eval},
  {"predict", "FILE...", "Print the predicted class of every image in IDX, PNG or JPEG files",
   "Each FILE is an IDX images file (plain or .gz) holding any number of images,\n"
   "or one PNG or JPEG image: converted to the input's channels (gray or RGB,\n"
   "alpha dropped), scaled to cover the input's height and width keeping its\n"
   "aspect, then center-cropped (torchvision's Resize + CenterCrop).\n"
   "Prints one line per image with its predicted class; for outputs with one\n"
   "class per position, the classes of an image on one line, space-separated.\n"
   "--probs: the class, then the probabilities of classes 0, 1, ... (softmax).\n"
   "--top K: K lines per image, \"CLASS PROBABILITY\", the most probable first.",
   RT_BIT(RT_O_WEIGHTS) | RT_BIT(RT_O_BATCH) | RT_BIT(RT_O_THREADS) | RT_BIT(RT_O_PROBS) |
       RT_BIT(RT_O_TOP),
   RT_BIT(RT_O_WEIGHTS), rt_predict},
  {"bench", "", "Measure training speed on random data",
   "Times forward, backward and Adam after warm-up steps; prints images_per_s=N.",
   RT_BIT(RT_O_BATCH) | RT_BIT(RT_O_STEPS) | RT_BIT(RT_O_THREADS) | RT_BIT(RT_O_LR) |
       RT_BIT(RT_O_SEED) | RT_BIT(RT_O_PROFILE),
   0, rt_bench},
};

const RtCommand *rt_find_command(const char *name)
{
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(name, commands[i].name) == 0)
      return &commands[i];
  return NULL;
}

/* Required options and operands; -1 when all are there. */
int rt_check_required(const RtCtx *c, const RtCommand *cmd, const RtArgs *a,
                      int nfiles)
{
  for (int o = 0; o < RT_NOPT; o++)
    if ((cmd->requires & RT_BIT(o)) && !(a->given & RT_BIT(o)))
      return usage_error(c, cmd, "--%s %s is required", options[o].name, options[o].arg);
  if (*cmd->operands && nfiles == 0)
    return usage_error(c, cmd, "%s expected", cmd->operands);
  return -1;
}

void rt_print_program_help(const RtCtx *c, FILE *out)
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
void rt_print_version(const RtCtx *c)
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

RtArgs rt_default_args(const RtDefaults *d)
{
  /* Zero fields of the network's defaults fall back to the usual ones. */
  return (RtArgs){.epochs = d->epochs > 0 ? d->epochs : 10,
                  .batch = d->batch > 0 ? d->batch : 64,
                  .lr = d->lr > 0 ? d->lr : 1e-3,
                  .steps = BENCH_STEPS,
                  .seed = d->seed};
}

/* --help: the commands and every command's options, so that it is the
 * whole reference (help2man makes the cnncc-trainer(1) page from it). */
void rt_print_full_help(const RtCtx *c)
{
  rt_print_program_help(c, stdout);
  RtArgs a = rt_default_args(&c->net->defaults);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    const RtCommand *cmd = &commands[i];
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
