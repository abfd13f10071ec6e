/* cnnrt.h - libcnnrt, the runtime of the programs that cnncc generates.
 *
 * A generated program describes its network with an RtNet (shapes, the
 * parameter block and the per-network functions) and calls
 *
 *     int main(int argc, char **argv) { return rt_main(argc, argv, &net); }
 *
 * rt_main() is the trainer command line (train, eval, predict, bench; see
 * docs/runtime.md) and does everything that is not network-specific: data
 * loading, shuffling and batching, Adam, checkpoints, progress and metrics.
 * The parts are public too, for tests and for other drivers.
 *
 * Conventions: tensors are float32, channels first, batch outermost.
 * Functions that can fail return 0 on success and -1 on failure with a
 * message in err[errlen] naming the file and saying what was expected and
 * what was found. Nothing here exits, and only rt_main() prints. */
#ifndef CNNRT_H
#define CNNRT_H

#include <stddef.h>
#include <stdint.h>

#define RT_MAX_RANK 3 /* per-sample tensors are [C], [C,L] or [C,H,W] */

/* ---- the network description that generated code fills in ---- */

typedef enum { RT_LOSS_SOFTMAX_CROSS_ENTROPY = 1, RT_LOSS_MSE = 2 } RtLoss;

/* Adam hyperparameters, as in torch.optim.Adam; decoupled: the weight
 * decay of torch.optim.AdamW (p *= 1 - lr * weight_decay first). */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int decoupled;
} RtAdam;

/* Training defaults of a network; command-line flags override them. */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int batch, epochs;
  uint64_t seed;
  int augment_crop, augment_flip; /* the train block's augment { crop, flip } */
  /* The train block's optimizer (when not adam) and schedule, as the
   * trainer's --optimizer and --schedule take them, and clip; NULL, 0: none. */
  const char *optimizer, *schedule;
  double clip;
} RtDefaults;

/* How the generated code was compiled, recorded by its own compiler (so
 * that it is right for C compiled by hand too), for the trainer's
 * --version: a compiler once miscompiled a trainer. */
typedef struct {
  const char *compiler; /* the compiler's __VERSION__ ("gcc " before gcc's) */
  long openmp;          /* _OPENMP (yyyymm), 0 when built without OpenMP */
  const char *kernels;  /* KERNEL_ISA: the GEMM kernels, avx512, avx2, neon or portable */
} RtBuildInfo;

typedef struct {
  const char *name;                  /* network name, e.g. "lenet" */
  int in_rank, in_dim[RT_MAX_RANK];  /* per-sample input shape */
  int out_rank, out_dim[RT_MAX_RANK];/* per-sample output shape (logits) */
  /* Both losses use class labels: the classes run along output dim 0 and
   * there is one label per remaining position (one per sample for [C]).
   * For RT_LOSS_MSE the runtime also passes one-hot targets (out_size floats
   * per sample) built from those labels. */
  RtLoss loss;
  size_t nparams;
  float *params;   /* learnable parameters, one contiguous block */
  float *grads;    /* nparams gradients, written by backward() */
  size_t nbuffers;
  float *buffers;  /* non-learnable state kept in checkpoints (BN stats) */
  uint64_t arch_hash; /* hash of the architecture; checkpoints must match */
  RtDefaults defaults;

  /* Allocate activations once for up to max_batch samples; 0 on success. */
  int (*setup)(int max_batch);
  /* PyTorch-default initialization of params and buffers. */
  void (*init)(uint64_t seed);
  /* Forward pass on n <= max_batch samples x. labels (and for MSE targets)
   * are NULL when predicting; otherwise returns the mean loss and stores the
   * number of correctly classified positions in *correct. training=1 uses
   * batch statistics and dropout masks derived from dropout_seed. */
  float (*forward)(const float *x, const int32_t *labels,
                   const float *targets, int n, int training,
                   uint64_t dropout_seed, long *correct);
  /* Overwrite grads with the gradient of the last forward's mean loss. */
  void (*backward)(int n);
  /* Logits of the last forward: n * out_size floats. */
  const float *(*output)(void);
  RtBuildInfo build; /* all zero: unknown */
} RtNet;

/* The trainer command line; returns the process exit status: 0 success,
 * 1 failure (bad data, checkpoint, NaN loss), 2 usage error,
 * 130/143 interrupted by SIGINT/SIGTERM. */
int rt_main(int argc, char **argv, const RtNet *net);

/* Number of elements of a shape. */
size_t rt_shape_size(int rank, const int *dim);

/* ---- random numbers: xoshiro256** seeded through splitmix64 ----
 * Inline so that generated code can draw per element cheaply. */

typedef struct {
  uint64_t s[4];
} RtRng;

static inline uint64_t rt_splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static inline uint64_t rt_rotl64(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline void rt_rng_seed(RtRng *r, uint64_t seed)
{
  for (int i = 0; i < 4; i++)
    r->s[i] = rt_splitmix64(&seed);
}

static inline uint64_t rt_rng_next_u64(RtRng *r)
{
  uint64_t *s = r->s;
  uint64_t result = rt_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rt_rotl64(s[3], 45);
  return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double rt_rng_uniform(RtRng *r)
{
  return (double)(rt_rng_next_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform double in [a, b). */
static inline double rt_rng_uniform_range(RtRng *r, double a, double b)
{
  return a + (b - a) * rt_rng_uniform(r);
}

/* Unbiased integer in [0, n), n > 0. */
uint64_t rt_rng_below(RtRng *r, uint64_t n);

/* Stateless hash of (seed, a, b): derives independent seeds, e.g. one per
 * epoch or per step, so that a resumed run draws the same numbers. */
static inline uint64_t rt_hash64(uint64_t seed, uint64_t a, uint64_t b)
{
  uint64_t h = rt_splitmix64(&seed) ^ a;
  h = rt_splitmix64(&h) ^ b;
  return rt_splitmix64(&h);
}

/* The seeds rt_main uses: the sample order of an epoch and the dropout
 * seed of optimizer step t (1-based) depend only on the run's seed. */
#define RT_SALT_SHUFFLE UINT64_C(0x53485546464c4521)
#define RT_SALT_DROPOUT UINT64_C(0x44524f504f555421)
#define RT_SALT_VALIDATION UINT64_C(0x56414c4944415445) /* the --val split */
#define RT_SALT_AUGMENT UINT64_C(0x4155474d454e5421)    /* --augment */

/* Fill order[0..n) with the sample permutation of epoch `epoch`. */
void rt_epoch_order(long *order, long n, uint64_t seed, long epoch);

static inline uint64_t rt_dropout_seed(uint64_t seed, long t)
{
  return rt_hash64(seed, (uint64_t)t, RT_SALT_DROPOUT);
}

/* ---- data sets ----
 * rt_dataset_load(dir, "train" or "test") reads, from dir, either IDX files
 * (train-images.idx and train-labels.idx, test-images.idx and
 * test-labels.idx, or MNIST's names train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte;
 * each plain or .gz) or CIFAR-10 binaries (data_batch_1.bin..
 * data_batch_5.bin, test_batch.bin). rt_folders_load reads image folders.
 * IDX images [n,H,W] give samples [1,H,W]; [n,L] gives [1,L]; [n,C,H,W]
 * gives [C,H,W]. Labels are [n] (one class per sample) or [n,...] (one per
 * position, e.g. per pixel). Only unsigned-byte IDX data is accepted. */

typedef struct {
  long n;                           /* number of samples */
  int rank, dim[RT_MAX_RANK];       /* per-sample image shape */
  size_t sample_size;               /* pixels per sample */
  int label_rank, label_dim[RT_MAX_RANK]; /* rank 0: one label per sample */
  size_t label_size;                /* labels per sample */
  uint8_t *pixels;                  /* n * sample_size, 0..255; NULL for CSV */
  float *values;                    /* CSV: n * sample_size values, used as they are */
  uint8_t *labels;                  /* n * label_size; NULL: images only */
  char *image_path, *label_path;    /* where they came from, for messages */
  int nclasses;                     /* image folders: the number of classes, */
  char *classes;                    /* their names, each NUL-terminated; else NULL */
} RtDataset;

int rt_dataset_load(const char *dir, const char *split, RtDataset *ds,
                    char *err, size_t errlen);
/* Image folders dir/split/<class>/<image> (folders.c; docs/training.md,
 * "Image folders"): PNG and JPEG files fitted to net's input as
 * rt_image_fit does. The classes are the folders sorted bytewise; samples
 * are sorted by file name, then class. Returns 1 (nothing loaded, no
 * message) when dir/split is not a folder. */
int rt_folders_load(const char *dir, const char *split, const RtNet *net, RtDataset *ds,
                    char *err, size_t errlen);
/* CSV files (csv.c; docs/training.md, "CSV files"): a row a sample, the
 * values as floats (not scaled) and a class number in the label column. */
typedef struct {
  const char *label_column; /* a header name or a 0-based number; NULL: the last */
  int header;               /* 1 the first line is a header, 0 not, -1 guess */
} RtCsvOptions;
/* Samples [F] of F values (rt_dataset_check lets them fill any input of
 * F values). */
int rt_csv_load(const char *path, const RtCsvOptions *o, RtDataset *ds, char *err,
                size_t errlen);
/* Name k of nclasses packed names (as RtDataset.classes); NULL if none. */
const char *rt_class_name(const char *classes, int nclasses, int k);
/* An IDX images file alone (labels stay NULL), e.g. for predict. */
int rt_images_load(const char *path, RtDataset *ds, char *err, size_t errlen);
/* Check sample shape, label shape and label range against the network.
 * Leading 1s are ignored, so [28,28] images fit a [1,28,28] input, and a
 * [C] input takes any sample of C values (flattened). */
int rt_dataset_check(const RtDataset *ds, const RtNet *net, char *err,
                     size_t errlen);
/* Gather samples order[first..first+n) (first..first+n if order is NULL)
 * as floats into x (pixels / 255, CSV values as they are), and their
 * labels into labels (may be NULL). */
void rt_dataset_batch(const RtDataset *ds, const long *order, long first,
                      int n, float *x, int32_t *labels);
void rt_dataset_free(RtDataset *ds);
/* --val: move round(fraction * n) samples (at least 1, at most n - 1) of
 * train, chosen by seed alone, into val; both keep the original order. */
int rt_dataset_split(RtDataset *train, RtDataset *val, double fraction, uint64_t seed,
                     char *err, size_t errlen);

/* ---- image files: PNG and JPEG (image.c; docs/training.md, "Image files") ----
 * Decoding needs libpng and libjpeg-turbo: a program has it when cnncc
 * found them at configure time (by hand: link with -Wl,-u,rt_image_decode
 * -lpng -ljpeg); otherwise rt_image_read fails with a message saying so. */

typedef enum { RT_IMAGE_NONE, RT_IMAGE_PNG, RT_IMAGE_JPEG } RtImageFormat;

typedef struct {
  int width, height, channels; /* channels: 1 (gray) or 3 (RGB) */
  uint8_t *pixels;             /* height rows of width pixels, channels interleaved */
} RtImage;

/* What the file's first bytes say it is (NONE also when it cannot be read). */
RtImageFormat rt_image_format(const char *path);
/* Decode to 8-bit gray or RGB, whatever the file holds: palettes expanded,
 * 16-bit samples cut to 8, alpha dropped (as PIL's convert("RGB")).
 * Corrupt, truncated and oversized (more than 2^25 pixels) files fail. */
int rt_image_read(const char *path, RtImage *im, char *err, size_t errlen);
/* Fit im to a [channels, height, width] sample (channels 1 or 3), planar
 * bytes in out: converted to the channels (gray repeated into RGB, RGB to
 * gray with ITU-R 601 luma), scaled with a bilinear filter (antialiased
 * when shrinking) so that it just covers height x width keeping its
 * aspect, then center-cropped: torchvision's Resize + CenterCrop. An image
 * of the exact size is kept as is. */
int rt_image_fit(const RtImage *im, int channels, int height, int width,
                 uint8_t *out, char *err, size_t errlen);
void rt_image_free(RtImage *im);
/* One image file as a data set of one unlabelled sample of net's input
 * shape, which must be [1, H, W] or [3, H, W]. */
int rt_image_load(const char *path, const RtNet *net, RtDataset *ds, char *err,
                  size_t errlen);
/* The decoder behind rt_image_read (image-decode.c). */
int rt_image_decode(const char *path, RtImageFormat format, RtImage *im,
                    char *err, size_t errlen);

/* ---- augmentation of training images (augment.c; docs/training.md) ---- */

typedef struct {
  int crop; /* RandomCrop(size, padding=crop): zero padding, then a random crop; 0: none */
  int flip; /* RandomHorizontalFlip(): mirror with probability 1/2 */
} RtAugment;

/* out = in [C, H, W] padded by pad zeros on every side, cropped at
 * (dy, dx) of the padded image (0 to 2 pad), then mirrored if flip. */
void rt_augment_sample(const float *in, float *out, int channels, int height, int width,
                       int pad, int dx, int dy, int flip);
/* Augment the n samples [dim[0], dim[1], dim[2]] of x in place, drawing
 * each one's offsets and flip from step_seed and its index in the batch;
 * tmp holds one sample. */
void rt_augment_batch(float *x, float *tmp, int n, const int *dim, const RtAugment *aug,
                      uint64_t step_seed);
/* "crop=N,flip" (items in any order; "flip=false", "none"); -1 if malformed. */
int rt_augment_parse(const char *spec, RtAugment *aug);

/* ---- Adam, exactly torch.optim.Adam (PyTorch 1.13, amsgrad=False) ----
 * One step with t the 1-based step count; m and v start at zero. The four
 * arrays must not overlap. */
void rt_adam_step(float *p, const float *g, float *m, float *v, size_t n,
                  const RtAdam *cfg, long t);

/* ---- checkpoints (format: docs/checkpoint-format.md) ---- */

typedef struct {
  uint64_t seed;     /* the run's seed: data order and dropout follow it */
  long epoch;        /* epoch in progress, 0-based */
  long epoch_step;   /* steps done in that epoch (0 at an epoch boundary) */
  long t;            /* Adam steps done in total */
  int batch;         /* batch size; the data order depends on it */
  double loss_sum;   /* this epoch so far: sum of mean loss * batch size */
  long correct;      /* this epoch so far: correctly classified positions */
  long seen;         /* this epoch so far: samples */
  /* Saved in format version 2 only when set (docs/checkpoint-format.md): */
  double val;        /* --val: the fraction held out for validation, or 0 */
  int nclasses;      /* class names of the training data, packed as */
  char *classes;     /* RtDataset.classes; NULL: none. Loading allocates it */
  long best_epoch;   /* --save-best, --patience: the 1-based epoch of the best */
  double best_acc;   /* validation (or test) accuracy so far, and that accuracy; 0: none */
  char *optim;       /* not Adam alone: "OPTIMIZER\0SCHEDULE\0CLIP\0" (allocated) */
  size_t optim_len;  /* its bytes */
} RtTrainState;

/* Save net->params, net->buffers, the Adam moments m and v (nparams each)
 * and st atomically: path.tmp is written, synced and renamed over path, so
 * a failure leaves an existing checkpoint intact. */
int rt_checkpoint_save(const char *path, const RtNet *net,
                       const RtTrainState *st, const float *m, const float *v,
                       char *err, size_t errlen);
/* Load into net->params and net->buffers, and into st, m, v unless NULL.
 * Nothing is written unless the whole file checks out. st->classes and
 * st->optim are allocated when the file has them: rt_train_state_free. */
int rt_checkpoint_load(const char *path, const RtNet *net, RtTrainState *st,
                       float *m, float *v, char *err, size_t errlen);
/* Free what loading allocated in st (its class names and optimizer texts). */
void rt_train_state_free(RtTrainState *st);

#ifdef CNNCC_MPI
/* The data exchanges of a trainer built with `cnncc --mpi`, in
 * libcnnrt_mpi (runtime/mpi.c; the method: docs/distributed.md). The batch
 * is in `parts` parts, sample p * n / parts up to (p + 1) * n / parts, and
 * rank r of N computes the parts r * parts / N up to (r + 1) * parts / N. */
/* Is part p this rank's? */
int rt_mpi_part_mine(int p, int parts);
/* buf holds per_sample values for each of n samples, right for this rank's
 * parts: afterwards on every rank, for all samples (copies). */
void rt_mpi_share_samples(float *buf, long per_sample, int n, int parts);
/* count values of part p, from the rank that computed it to all. */
void rt_mpi_share_part(float *buf, long count, int p, int parts);
/* At least size bytes of scratch, kept for the next call. */
void *rt_mpi_scratch(size_t size);
#endif

#endif
