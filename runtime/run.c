/* run.c - a run of a trainer's command: the network, its batch buffers,
 * the optimizer state, and the data and checkpoint it loads. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnrt.h"
#include "internal.h"

/* Where the sample data lives: the source tree, then the installed copy
 * (runtime/local.mk defines both). */
#ifndef RT_DEFAULT_DATA_DIR
#define RT_DEFAULT_DATA_DIR "data/fashion-mnist"
#endif
#ifndef RT_INSTALLED_DATA_DIR
#define RT_INSTALLED_DATA_DIR "/usr/local/share/cnncc/fashion-mnist"
#endif

void rt_run_free(RtRun *r)
{
  free(r->x);
  free(r->targets);
  free(r->m);
  free(r->v);
  free(r->y);
  free(r->order);
  free(r->augment_tmp);
  rt_dataset_free(&r->train);
  rt_dataset_free(&r->test);
  rt_dataset_free(&r->val);
  if (r->metrics)
    fclose(r->metrics);
  rt_curves_free(&r->curves);
}

static void *alloc_or_flag(size_t n, size_t size, int *failed)
{
  void *p = n ? calloc(n, size) : NULL;
  if (n && !p)
    *failed = 1;
  return p;
}

/* Allocate the Adam moments (adam != 0) and the order of norder samples. */
int rt_run_alloc_state(RtRun *r, int adam, long norder)
{
  int failed = 0;
  r->in_size = rt_shape_size(r->net->in_rank, r->net->in_dim);
  r->out_size = rt_shape_size(r->net->out_rank, r->net->out_dim);
  r->positions = r->out_size / (size_t)r->net->out_dim[0];
  r->m = alloc_or_flag(adam ? r->net->nparams : 0, sizeof *r->m, &failed);
  r->v = alloc_or_flag(adam ? r->net->nparams : 0, sizeof *r->v, &failed);
  r->order = alloc_or_flag((size_t)norder, sizeof *r->order, &failed);
  return failed ? rt_error(r->c, 1, "out of memory") : 0;
}

/* Allocate the batch buffers and the network's activations, once. */
int rt_run_setup(RtRun *r, int batch)
{
  int failed = 0;
  size_t b = (size_t)batch;
  r->batch = batch;
  r->x = alloc_or_flag(b * r->in_size, sizeof *r->x, &failed);
  r->y = alloc_or_flag(b * r->positions, sizeof *r->y, &failed);
  if (r->net->loss == RT_LOSS_MSE)
    r->targets = alloc_or_flag(b * r->out_size, sizeof *r->targets, &failed);
  if (failed)
    return rt_error(r->c, 1, "out of memory for batch %d", batch);
  if (r->net->setup(batch) != 0)
    return rt_error(r->c, 1, "network '%s' cannot allocate its activations for batch %d",
                    r->net->name, batch);
  return 0;
}

int rt_run_set_augment(RtRun *r, const RtArgs *a)
{
  const RtNet *net = r->net;
  RtAugment aug = {net->defaults.augment_crop, net->defaults.augment_flip};
  char in[96];
  rt_shape_str(in, sizeof in, net->in_rank, net->in_dim, ", ");
  if (a->augment && rt_augment_parse(a->augment, &aug))
    return rt_error(r->c, RT_EXIT_USAGE, "--augment expects crop=N and/or flip, comma-separated (e.g. crop=4,flip), got '%s'",
                    a->augment);
  if (!aug.crop && !aug.flip)
    return -1;
  if (net->in_rank != 3)
    return rt_error(r->c, RT_EXIT_USAGE, "augment crops and flips images [C, H, W], but the network's input is [%s]",
                    in);
  if (aug.crop > net->in_dim[1] || aug.crop > net->in_dim[2])
    return rt_error(r->c, RT_EXIT_USAGE, "augment crop=%d pads more than the input [%s] is high or wide",
                    aug.crop, in);
  if (!(r->augment_tmp = malloc(rt_shape_size(3, net->in_dim) * sizeof *r->augment_tmp)))
    return rt_error(r->c, 1, "out of memory");
  r->augment = aug;
  return -1;
}

/* One-hot targets for MSE: classes along dim 0, positions after it. */
void rt_run_one_hot(const RtRun *r, int n)
{
  size_t P = r->positions;
  memset(r->targets, 0, (size_t)n * r->out_size * sizeof *r->targets);
  for (size_t s = 0; s < (size_t)n; s++)
    for (size_t p = 0; p < P; p++)
      r->targets[s * r->out_size + (size_t)r->y[s * P + p] * P + p] = 1;
}

/* Forward samples order[first..first+n) of ds (labelled) through the net. */
float rt_run_forward(RtRun *r, const RtDataset *ds, const long *order,
                     long first, int n, int training, uint64_t dropout_seed,
                     long *correct)
{
  rt_dataset_batch(ds, order, first, n, r->x, r->y);
  if (training && r->augment_tmp) /* drawn from the step's seed */
    rt_augment_batch(r->x, r->augment_tmp, n, r->net->in_dim, &r->augment,
                     rt_hash64(dropout_seed, 0, RT_SALT_AUGMENT));
  if (r->targets)
    rt_run_one_hot(r, n);
  *correct = 0;
  return r->net->forward(r->x, r->y, r->targets, n, training, dropout_seed, correct);
}

int rt_run_batch_at(const RtRun *r, long n, long first)
{
  return (int)(n - first < r->batch ? n - first : r->batch);
}

/* Fraction of correctly classified positions of `samples` samples. */
double rt_run_accuracy(const RtRun *r, long correct, long samples)
{
  return (double)correct / ((double)samples * (double)r->positions);
}

size_t rt_run_argmax(const float *out, size_t classes, size_t stride)
{
  size_t best = 0;
  for (size_t k = 1; k < classes; k++)
    if (out[k * stride] > out[best * stride])
      best = k;
  return best;
}

/* Add the last forward's n samples to the confusion matrix. */
static void count_confusion(const RtRun *r, int n, long *confusion)
{
  size_t classes = (size_t)r->net->out_dim[0], P = r->positions;
  const float *out = r->net->output();
  for (size_t s = 0; s < (size_t)n; s++)
    for (size_t p = 0; p < P; p++) {
      size_t truth = (size_t)r->y[s * P + p];
      confusion[truth * classes + rt_run_argmax(out + s * r->out_size + p, classes, P)]++;
    }
}

void rt_run_evaluate(RtRun *r, const RtDataset *ds, double *loss, double *acc,
                     long *confusion)
{
  double sum = 0;
  long correct = 0;
  for (long first = 0; first < ds->n; first += r->batch) {
    int n = rt_run_batch_at(r, ds->n, first);
    long c;
    sum += (double)rt_run_forward(r, ds, NULL, first, n, 0, 0, &c) * n;
    correct += c;
    if (confusion)
      count_confusion(r, n, confusion);
  }
  *loss = sum / (double)ds->n;
  *acc = rt_run_accuracy(r, correct, ds->n);
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
static const char *data_dir(const RtArgs *a)
{
  static const char *const dirs[] = {RT_SYSTEM_DATA_DIR, RT_DEFAULT_DATA_DIR,
                                     RT_INSTALLED_DATA_DIR};
  if (a->data)
    return a->data;
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (has_data(dirs[i], "train-images-idx3-ubyte") &&
        has_data(dirs[i], "t10k-images-idx3-ubyte"))
      return dirs[i];
  return NULL;
}

void rt_run_class_list(char *buf, size_t len, const char *classes, int nclasses)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < nclasses && used < len; k++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? ", " : "",
                             rt_class_name(classes, nclasses, k));
}

/* Says which data a run reads: a trainer picks its default silently
 * otherwise, and the sample and the full set differ tenfold. */
static void describe_split(const RtRun *r, const char *split, const RtDataset *ds)
{
  char shape[96], classes[1024];
  rt_shape_str(shape, sizeof shape, ds->rank, ds->dim, "x");
  fprintf(rt_info(), "%s: %s data: %ld samples of %s from %s\n", r->c->prog, split,
          ds->n, shape, ds->image_path);
  if (!ds->classes || strcmp(split, "train") != 0)
    return;
  rt_run_class_list(classes, sizeof classes, ds->classes, ds->nclasses);
  fprintf(rt_info(), "%s: %d classes: %s\n", r->c->prog, ds->nclasses, classes);
}

static size_t packed_size(const char *classes, int nclasses)
{
  size_t n = 0;
  for (int k = 0; k < nclasses; k++)
    n += strlen(classes + n) + 1;
  return n;
}

int rt_run_same_classes(const RtRun *r, const char *what, const char *classes, int nclasses,
                        const char *other, const char *theirs, int ntheirs)
{
  char a[1024], b[1024];
  if (nclasses == ntheirs &&
      memcmp(classes, theirs, packed_size(classes, nclasses)) == 0)
    return 0;
  rt_run_class_list(a, sizeof a, classes, nclasses);
  rt_run_class_list(b, sizeof b, theirs, ntheirs);
  return rt_error(r->c, 1, "the classes of %s (%s) differ from those of %s (%s)", what, a,
                  other, b);
}

int rt_run_single_file(const RtArgs *a)
{
  struct stat st;
  return a->data && stat(a->data, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/split.csv or DIR/split.csv.gz into path; 0 if there is none. */
static int find_csv(char *path, size_t len, const char *dir, const char *split)
{
  struct stat st;
  for (int gz = 0; gz < 2; gz++)
    if (snprintf(path, len, "%s/%s.csv%s", dir, split, gz ? ".gz" : "") < (int)len &&
        stat(path, &st) == 0)
      return 1;
  return 0;
}

/* One CSV file (every split is the file), DIR/split as image folders,
 * DIR/split.csv, else IDX or CIFAR-10 files in DIR. */
static int load_data(const RtRun *r, const RtArgs *a, const char *dir, const char *split,
                     RtDataset *ds, char *err, size_t errlen)
{
  RtCsvOptions csv = {a->label_column, a->header ? 1 : a->no_header ? 0 : -1};
  char path[4096];
  if (rt_run_single_file(a))
    return rt_csv_load(dir, &csv, ds, err, errlen);
  int rc = rt_folders_load(dir, split, r->net, ds, err, errlen);
  if (rc <= 0)
    return rc;
  if (find_csv(path, sizeof path, dir, split))
    return rt_csv_load(path, &csv, ds, err, errlen);
  return rt_dataset_load(dir, split, ds, err, errlen);
}

int rt_run_load_split(RtRun *r, const RtArgs *a, const char *split, RtDataset *ds)
{
  char err[1024];
  const char *dir = data_dir(a);
  if (!dir)
    return rt_error(r->c, 1, "no Fashion-MNIST in %s, %s or %s; use --data DIR",
                    RT_SYSTEM_DATA_DIR, RT_DEFAULT_DATA_DIR, RT_INSTALLED_DATA_DIR);
  if (a->header && a->no_header)
    return rt_error(r->c, RT_EXIT_USAGE, "--header and --no-header cannot be combined");
  if (load_data(r, a, dir, split, ds, err, sizeof err))
    return rt_error(r->c, 1, "%s", err);
  if (rt_dataset_check(ds, r->net, err, sizeof err)) {
    if (a->data)
      return rt_error(r->c, 1, "%s", err);
    /* The default is Fashion-MNIST: blame the missing --data, not the file. */
    char want[96];
    rt_shape_str(want, sizeof want, r->net->in_rank, r->net->in_dim, ", ");
    return rt_error(r->c, 1, "no data for this network (input [%s]) was found: the default data set, Fashion-MNIST in %s, does not fit it (%s); give yours with --data DIR (IDX or CIFAR-10 binary files, image folders or CSV files: docs/training.md)",
                    want, dir, err);
  }
  describe_split(r, split, ds);
  if (ds == &r->test && r->train.classes)
    return rt_run_same_classes(r, r->test.image_path, r->test.classes, r->test.nclasses,
                               r->train.image_path, r->train.classes, r->train.nclasses);
  return 0;
}

int rt_run_load_weights(RtRun *r, const char *path, RtTrainState *st)
{
  char err[1024];
  if (rt_checkpoint_load(path, r->net, st, r->m, r->v, err, sizeof err))
    return rt_error(r->c, 1, "%s", err);
  return 0;
}
