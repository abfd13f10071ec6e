/* data.c - IDX and CIFAR-10 loading, and every bad-file message. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnrt.h"
#include "fixtures.h"
#include "tap.h"

static uint8_t buf[1 << 16];
static char err[1024];

/* An IDX file: magic (type, ndim), big-endian dims, then ndata bytes of
 * data (fewer than the dims say, to make truncated files). */
static size_t idx(int type, int ndim, const uint32_t *dims, size_t ndata)
{
  size_t n = 0;
  buf[n++] = 0;
  buf[n++] = 0;
  buf[n++] = (uint8_t)type;
  buf[n++] = (uint8_t)ndim;
  for (int i = 0; i < ndim; i++)
    for (int k = 3; k >= 0; k--)
      buf[n++] = (uint8_t)(dims[i] >> 8 * k);
  for (size_t i = 0; i < ndata; i++)
    buf[n++] = (uint8_t)(i * 51 % 256); /* 0, 51, 102, ... */
  return n;
}

/* Make dir `name` under the temp dir holding the IDX pair of `prefix`. */
static const char *make_set(const char *name, const char *prefix, int gz,
                            const uint32_t *idims, int nidim,
                            const uint32_t *ldims, int nldim)
{
  static char d[512];
  char path[600];
  snprintf(d, sizeof d, "%s", tmp_path(name));
  mkdir(d, 0755);
  size_t pixels = 1, labels = 1;
  for (int i = 0; i < nidim; i++)
    pixels *= idims[i];
  for (int i = 0; i < nldim; i++)
    labels *= ldims[i];
  snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", d, prefix, gz ? ".gz" : "");
  write_file(path, buf, idx(0x08, nidim, idims, pixels), gz);
  snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", d, prefix, gz ? ".gz" : "");
  size_t n = idx(0x08, nldim, ldims, 0);
  for (size_t i = 0; i < labels; i++)
    buf[n++] = (uint8_t)(i % 3);
  write_file(path, buf, n, gz);
  return d;
}

static void test_good_sets(void)
{
  RtDataset ds;
  float x[64];
  int32_t y[16];

  const uint32_t im[] = {3, 2, 4}, lb[] = {3};
  const char *d = make_set("plain", "train", 0, im, 3, lb, 1);
  tap_ok(rt_dataset_load(d, "train", &ds, err, sizeof err) == 0, "plain IDX loads: %s", err);
  tap_ok(ds.n == 3 && ds.rank == 3 && ds.dim[0] == 1 && ds.dim[1] == 2 && ds.dim[2] == 4,
     "images [3,2,4] are samples [1,2,4]");
  tap_ok(ds.label_rank == 0 && ds.label_size == 1, "idx1 labels: one per sample");
  rt_dataset_batch(&ds, NULL, 1, 2, x, y);
  tap_ok(x[0] == 408 % 256 / 255.0f && x[1] == 459 % 256 / 255.0f && y[0] == 1 && y[1] == 2,
     "batch gathers samples 1-2 scaled by 1/255 with their labels");
  long order[] = {2, 0};
  rt_dataset_batch(&ds, order, 0, 2, x, y);
  tap_ok(x[8] == 0.0f && x[9] == 51 / 255.0f && y[0] == 2 && y[1] == 0,
     "batch follows the given order");
  rt_dataset_free(&ds);

  d = make_set("gz", "t10k", 1, im, 3, lb, 1);
  tap_ok(rt_dataset_load(d, "test", &ds, err, sizeof err) == 0 && ds.n == 3 &&
     ds.pixels[1] == 51, "gzipped IDX loads as the test split: %s", err);
  rt_dataset_free(&ds);

  const uint32_t seq[] = {2, 5}, seql[] = {2, 5};
  d = make_set("seq", "train", 1, seq, 2, seql, 2);
  tap_ok(rt_dataset_load(d, "train", &ds, err, sizeof err) == 0 && ds.rank == 2 &&
     ds.dim[0] == 1 && ds.dim[1] == 5 && ds.label_rank == 1 && ds.label_size == 5,
     "[n,L] is samples [1,L] with per-step labels [n,L]: %s", err);
  rt_dataset_free(&ds);

  const uint32_t chw[] = {2, 3, 2, 2}, mask[] = {2, 2, 2};
  d = make_set("chw", "train", 0, chw, 4, mask, 3);
  tap_ok(rt_dataset_load(d, "train", &ds, err, sizeof err) == 0 && ds.rank == 3 &&
     ds.dim[0] == 3 && ds.sample_size == 12 && ds.label_size == 4,
     "[n,C,H,W] is samples [C,H,W] with per-pixel labels: %s", err);
  rt_dataset_free(&ds);

  tap_ok(rt_images_load(tmp_path("chw/train-images-idx3-ubyte"), &ds, err, sizeof err) == 0 &&
     ds.n == 2 && !ds.labels, "an images file loads alone: %s", err);
  rt_dataset_free(&ds);
}

/* Write one images file and return rt_images_load's message for it. */
static const char *images_error(const char *name, size_t n, int gz)
{
  RtDataset ds;
  const char *path = tmp_path(name);
  write_file(path, buf, n, gz);
  if (rt_images_load(path, &ds, err, sizeof err) == 0)
    snprintf(err, sizeof err, "(loaded)");
  rt_dataset_free(&ds);
  /* Messages start with the path; compare the rest. */
  size_t len = strlen(path);
  return strncmp(err, path, len) == 0 ? err + len : err;
}

static void test_bad_idx(void)
{
  const uint32_t d3[] = {2, 4, 4};
  idx(0x08, 3, d3, 32);
  buf[0] = 0x1f;
  tap_is_str(images_error("magic", 48, 0),
         ": not an IDX file (magic number 0x1f000803, expected 0x00000801 to 0x00000804)",
         "wrong magic");
  tap_is_str(images_error("float", idx(0x0D, 3, d3, 32), 0),
         ": IDX element type is float (0x0d), expected unsigned byte (0x08)",
         "element type not ubyte");
  tap_is_str(images_error("trunc", idx(0x08, 3, d3, 20), 1),
         ": truncated: 2x4x4 needs 32 bytes of data, found 20", "truncated data (gzip)");
  tap_is_str(images_error("trunc-head", idx(0x08, 3, d3, 0) - 3, 0),
         ": truncated: the IDX header ends after 13 bytes, expected 16", "truncated header");
  tap_is_str(images_error("empty", 0, 0), ": truncated: 0 bytes, expected an IDX header",
         "empty file");
  const uint32_t d7[] = {1, 1, 1, 1, 1, 1, 1};
  tap_is_str(images_error("rank", idx(0x08, 7, d7, 0), 0),
         ": IDX file has 7 dimensions, expected 1 to 4", "too many dimensions");
  const uint32_t huge[] = {2000000000, 2000000000, 2000000000};
  tap_is_str(images_error("absurd", idx(0x08, 3, huge, 16), 0),
         ": absurd IDX header: the data would exceed 2^40 bytes",
         "absurd dimensions are refused before allocating");
  const uint32_t neg[] = {1, 0xffffffffu, 1};
  tap_is_str(images_error("absurd2", idx(0x08, 3, neg, 16), 0),
         ": absurd IDX header: dimension 1 is 4294967295 (more than 2^31-1)",
         "a dimension beyond int is refused");
  /* Big but possible: must fail as truncated, not by allocating 47 GB. */
  const uint32_t big[] = {60000000, 28, 28};
  tap_is_str(images_error("big", idx(0x08, 3, big, 100), 0),
         ": truncated: 60000000x28x28 needs 47040000000 bytes of data, found 100",
         "a header claiming 47 GB over a tiny file is truncated");
  const uint32_t zero[] = {0, 28, 28};
  tap_is_str(images_error("zero", idx(0x08, 3, zero, 0), 0), ": IDX dimension 0 is 0: no data",
         "no samples");
  const uint32_t d1[] = {5};
  tap_is_str(images_error("rank1", idx(0x08, 1, d1, 5), 0),
         ": images need 2 to 4 IDX dimensions (samples first), found 1",
         "labels given as images");
  idx(0x08, 3, d3, 32);
  write_file(tmp_path("cut.gz"), buf, 48, 1);
  FILE *f = fopen(tmp_path("cut.gz"), "r+b");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  RtDataset ds;
  tap_ok(truncate(tmp_path("cut.gz"), size - 12) == 0 &&
     rt_images_load(tmp_path("cut.gz"), &ds, err, sizeof err) != 0 &&
     strstr(err, "cut.gz: truncated: the gzip data ends early (unexpected end of file)"),
     "a cut gzip stream is reported: %s", err);
  tap_ok(rt_images_load(tmp_path("nonexistent"), &ds, err, sizeof err) != 0 &&
     strstr(err, "cannot open ") && strstr(err, "nonexistent: No such file or directory"),
     "missing file: %s", err);
}

static void test_bad_sets(void)
{
  RtDataset ds;
  char want[1024];
  const uint32_t im[] = {3, 2, 4}, lb[] = {2};
  const char *d = make_set("count", "train", 1, im, 3, lb, 1);
  snprintf(want, sizeof want,
           "%s/train-images-idx3-ubyte.gz has 3 images but %s/train-labels-idx1-ubyte.gz has 2 labels",
           d, d);
  rt_dataset_load(d, "train", &ds, err, sizeof err);
  tap_is_str(err, want, "image count != label count");

  d = tmp_path("emptydir");
  mkdir(d, 0755);
  snprintf(want, sizeof want,
           "no train data in '%s': looked for train/<class>/ image folders, train.csv[.gz], train-images.idx[.gz] and "
           "train-labels.idx[.gz] or train-images-idx3-ubyte[.gz] and "
           "train-labels-idx1-ubyte[.gz] (IDX), and data_batch_1.bin to data_batch_5.bin (CIFAR-10)", d);
  tap_ok(rt_dataset_load(d, "train", &ds, err, sizeof err) == -1, "empty directory fails");
  tap_is_str(err, want, "missing files: the message lists what was looked for");
  snprintf(want, sizeof want,
           "no test data in '%s': looked for test/<class>/ image folders, test.csv[.gz], test-images.idx[.gz] and "
           "test-labels.idx[.gz] or t10k-images-idx3-ubyte[.gz] and "
           "t10k-labels-idx1-ubyte[.gz] (IDX), and test_batch.bin (CIFAR-10)", d);
  rt_dataset_load(d, "test", &ds, err, sizeof err);
  tap_is_str(err, want, "missing test files");

  char path[600];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", d);
  write_file(path, buf, idx(0x08, 3, im, 24), 0);
  snprintf(want, sizeof want, "found %s but not train-labels-idx1-ubyte[.gz] in '%s'", path, d);
  rt_dataset_load(d, "train", &ds, err, sizeof err);
  tap_is_str(err, want, "images without labels");

  snprintf(want, sizeof want, "data directory '%s/nope': No such file or directory", d);
  snprintf(path, sizeof path, "%s/nope", d);
  rt_dataset_load(path, "train", &ds, err, sizeof err);
  tap_is_str(err, want, "missing directory");
}

static void test_cifar(void)
{
  RtDataset ds;
  char path[600], want[1024];
  const char *d = tmp_path("cifar");
  mkdir(d, 0755);
  uint8_t *rec = calloc(3, 3073);
  for (int i = 0; i < 3; i++) {
    rec[i * 3073] = (uint8_t)(7 + i);
    rec[i * 3073 + 1] = 255;
    rec[i * 3073 + 3072] = (uint8_t)i;
  }
  snprintf(path, sizeof path, "%s/data_batch_1.bin", d);
  write_file(path, rec, 2 * 3073, 0);
  snprintf(path, sizeof path, "%s/data_batch_2.bin", d);
  write_file(path, rec + 2 * 3073, 3073, 0);
  snprintf(path, sizeof path, "%s/test_batch.bin", d);
  write_file(path, rec, 3073 + 100, 0);

  tap_ok(rt_dataset_load(d, "train", &ds, err, sizeof err) == 0 && ds.n == 3 && ds.rank == 3 &&
     ds.dim[0] == 3 && ds.dim[1] == 32 && ds.labels[0] == 7 && ds.labels[2] == 9 &&
     ds.pixels[0] == 255 && ds.pixels[2 * 3072 + 3071] == 2,
     "CIFAR-10 train split joins data_batch_*.bin: %s", err);
  rt_dataset_free(&ds);
  snprintf(want, sizeof want,
           "%s: size 3173 bytes is not a positive multiple of 3073 (a CIFAR-10 record is 1 label byte and 3072 pixel bytes)",
           path);
  tap_ok(rt_dataset_load(d, "test", &ds, err, sizeof err) == -1, "CIFAR file of the wrong size fails");
  tap_is_str(err, want, "CIFAR wrong size message");
  free(rec);
}

static void test_check(void)
{
  RtDataset ds;
  char want[1024];
  RtNet net = {.name = "t", .in_rank = 3, .in_dim = {1, 2, 4}, .out_rank = 1, .out_dim = {3}};
  const uint32_t im[] = {3, 2, 4}, lb[] = {3}, mask[] = {3, 2, 4};
  const char *d = make_set("check", "train", 1, im, 3, lb, 1);
  rt_dataset_load(d, "train", &ds, err, sizeof err);
  tap_ok(rt_dataset_check(&ds, &net, err, sizeof err) == 0, "matching network passes: %s", err);
  net.out_dim[0] = 2;
  snprintf(want, sizeof want,
           "%s/train-labels-idx1-ubyte.gz: label 2 of sample 2 is out of range: the network has 2 classes (0 to 1)", d);
  rt_dataset_check(&ds, &net, err, sizeof err);
  tap_is_str(err, want, "label >= number of classes");
  net.in_dim[1] = 28;
  net.in_dim[2] = 28;
  snprintf(want, sizeof want,
           "%s/train-images-idx3-ubyte.gz: images are 1x2x4 but the network expects [1, 28, 28]", d);
  rt_dataset_check(&ds, &net, err, sizeof err);
  tap_is_str(err, want, "sample shape mismatch");
  RtNet vec = {.name = "t", .in_rank = 1, .in_dim = {8}, .out_rank = 1, .out_dim = {3}};
  tap_ok(rt_dataset_check(&ds, &vec, err, sizeof err) == 0, "a [8] input takes 2x4 images flattened");
  vec.in_dim[0] = 9;
  snprintf(want, sizeof want,
           "%s/train-images-idx3-ubyte.gz: images are 1x2x4 but the network expects [9]", d);
  rt_dataset_check(&ds, &vec, err, sizeof err);
  tap_is_str(err, want, "a [9] input does not");
  rt_dataset_free(&ds);

  d = make_set("check2", "train", 0, im, 3, mask, 3);
  rt_dataset_load(d, "train", &ds, err, sizeof err);
  RtNet flat = {.name = "t", .in_rank = 2, .in_dim = {2, 4}, .out_rank = 1, .out_dim = {10}};
  snprintf(want, sizeof want,
           "%s/train-labels-idx1-ubyte: labels are 2x4 per sample but the network expects 1 per sample (its output is [10])", d);
  rt_dataset_check(&ds, &flat, err, sizeof err);
  tap_is_str(err, want, "label shape mismatch; leading 1s of the input are ignored");
  RtNet seg = {.name = "t", .in_rank = 3, .in_dim = {1, 2, 4}, .out_rank = 3, .out_dim = {5, 2, 4}};
  tap_ok(rt_dataset_check(&ds, &seg, err, sizeof err) == 0, "per-pixel labels fit a [5,2,4] output: %s", err);
  rt_dataset_free(&ds);
}

/* --augment: the transform on a 1x2x3 image, and what the batch draws. */
static void test_augment(void)
{
  const float in[6] = {1, 2, 3, 4, 5, 6}; /* rows 1 2 3 / 4 5 6 */
  float out[6];
  rt_augment_sample(in, out, 1, 2, 3, 1, 1, 1, 0);
  tap_ok(memcmp(out, in, sizeof in) == 0, "crop at the center of the padding: the image");
  rt_augment_sample(in, out, 1, 2, 3, 1, 0, 0, 0);
  const float shifted[6] = {0, 0, 0, 0, 1, 2};
  tap_ok(memcmp(out, shifted, sizeof out) == 0, "crop at (0, 0): shifted down and right, zeros in");
  rt_augment_sample(in, out, 1, 2, 3, 1, 2, 1, 1);
  const float flipped[6] = {0, 3, 2, 0, 6, 5}; /* crop (1, 2): 2 3 0 / 5 6 0, mirrored */
  tap_ok(memcmp(out, flipped, sizeof out) == 0, "crop then mirror, as RandomCrop + RandomHorizontalFlip");

  enum { N = 64 };
  float x[N * 6], tmp[6];
  const int dim[3] = {1, 2, 3};
  for (int i = 0; i < N; i++)
    memcpy(x + 6 * i, in, sizeof in);
  RtAugment flip = {0, 1};
  rt_augment_batch(x, tmp, N, dim, &flip, 42);
  const float mirror[6] = {3, 2, 1, 6, 5, 4};
  int same = 0, mirrored = 0;
  for (int i = 0; i < N; i++) {
    same += memcmp(x + 6 * i, in, sizeof in) == 0;
    mirrored += memcmp(x + 6 * i, mirror, sizeof mirror) == 0;
  }
  tap_ok(same + mirrored == N && same > 16 && mirrored > 16,
         "flip alone: each sample as it is or mirrored, both often (%d, %d of %d)", same, mirrored, N);
  float again[N * 6];
  for (int i = 0; i < N; i++)
    memcpy(again + 6 * i, in, sizeof in);
  rt_augment_batch(again, tmp, N, dim, &flip, 42);
  tap_ok(memcmp(x, again, sizeof x) == 0, "the same seed draws the same");
  RtAugment a;
  tap_ok(rt_augment_parse("crop=4,flip", &a) == 0 && a.crop == 4 && a.flip &&
             rt_augment_parse("flip=false", &a) == 0 && !a.flip && !a.crop &&
             rt_augment_parse("crop=-1", &a) == -1 && rt_augment_parse("rotate=3", &a) == -1,
         "--augment specs parse, bad ones are refused");
}

int main(void)
{
  test_good_sets();
  test_bad_idx();
  test_bad_sets();
  test_cifar();
  test_check();
  fixtures_cleanup();
  test_augment();
  return tap_done();
}
