/* fuzz-idx.c - the runtime's IDX loaders (rt_images_load, rt_dataset_load)
 * on arbitrary files, plain and gzip-compressed.
 *
 * Input: one flag byte, then the file contents.
 *   bit 0  gzip-compress the images file
 *   bit 1  data set mode: images and labels through rt_dataset_load(dir);
 *          the contents are then a u16 little-endian length, that many
 *          bytes of images file, and the rest is the labels file.
 *          Otherwise one images file through rt_images_load(path).
 *   bit 2  gzip-compress the labels file
 *   bit 3  name the images file *.gz
 *   bit 4  the "test" split (t10k-*), else "train"
 *   bit 5  check against a network whose input has the data's own shape
 *          (to get past the shape check), else a [1,28,28] input
 *   bit 6  name the labels file *.gz
 *   bit 7  also leave a CIFAR file in the directory (IDX must win)
 * A loaded data set is checked for consistency, a few samples are gathered
 * with rt_dataset_batch and rt_dataset_check runs against a small network. */
#include "fuzz-util.h"

#include "cnnrt.h"

static void exercise(const RtDataset *ds, int own_shape)
{
  FZ_CHECK(ds->n >= 1);
  FZ_CHECK(ds->rank >= 1 && ds->rank <= RT_MAX_RANK);
  FZ_CHECK(ds->sample_size == rt_shape_size(ds->rank, ds->dim));
  FZ_CHECK(ds->pixels != NULL && ds->image_path != NULL);
  if (ds->labels) {
    FZ_CHECK(ds->label_rank >= 0 && ds->label_rank <= RT_MAX_RANK);
    FZ_CHECK(ds->label_size == rt_shape_size(ds->label_rank, ds->label_dim));
    FZ_CHECK(ds->label_path != NULL);
  }

  /* The first and the last two samples. */
  int n = ds->n < 2 ? (int)ds->n : 2;
  float *x = malloc((size_t)n * ds->sample_size * sizeof *x);
  int32_t *y = malloc((size_t)n * (ds->label_size ? ds->label_size : 1) * sizeof *y);
  FZ_CHECK(x && y);
  rt_dataset_batch(ds, NULL, 0, n, x, ds->labels ? y : NULL);
  rt_dataset_batch(ds, NULL, ds->n - n, n, x, ds->labels ? y : NULL);
  long order[2] = {ds->n - 1, 0};
  rt_dataset_batch(ds, order, 0, n, x, ds->labels ? y : NULL);
  for (size_t i = 0; i < (size_t)n * ds->sample_size; i++)
    FZ_CHECK(x[i] >= 0.0f && x[i] <= 1.0f);
  free(x);
  free(y);

  RtNet net = {.name = "fuzznet", .in_rank = 3, .in_dim = {1, 28, 28},
               .out_rank = 1, .out_dim = {10}, .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY};
  if (own_shape) {
    net.in_rank = ds->rank;
    memcpy(net.in_dim, ds->dim, sizeof net.in_dim);
    if (ds->labels && ds->label_rank < RT_MAX_RANK) {
      net.out_rank = 1 + ds->label_rank;
      memcpy(net.out_dim + 1, ds->label_dim, (size_t)ds->label_rank * sizeof *ds->label_dim);
    }
  }
  char err[512];
  if (rt_dataset_check(ds, &net, err, sizeof err) != 0)
    FZ_CHECK(err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  unsigned flags = data[0];
  const uint8_t *p = data + 1;
  size_t left = size - 1;
  const char *dir = fz_tmpdir();
  const char *split = flags & 16 ? "test" : "train", *prefix = flags & 16 ? "t10k" : "train";
  char name[64], images[8192], labels[8192], other[8192], err[1024] = "";
  RtDataset ds;
  int rc;

  if (flags & 2) {
    size_t ilen = fz_take_len(&p, &left);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, flags & 8 ? ".gz" : "");
    fz_write(fz_path(images, sizeof images, dir, name), p, ilen, flags & 1);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", prefix, flags & 64 ? ".gz" : "");
    fz_write(fz_path(labels, sizeof labels, dir, name), p + ilen, left - ilen, flags & 4);
    if (flags & 128)
      fz_write(fz_path(other, sizeof other, dir, flags & 16 ? "test_batch.bin" : "data_batch_1.bin"),
               p, left, 0);
    rc = rt_dataset_load(dir, split, &ds, err, sizeof err);
  } else {
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", prefix, flags & 8 ? ".gz" : "");
    fz_write(fz_path(images, sizeof images, dir, name), p, left, flags & 1);
    rc = rt_images_load(images, &ds, err, sizeof err);
  }
  if (rc == 0) {
    exercise(&ds, flags & 32);
    if (flags & 2)
      FZ_CHECK(ds.labels != NULL);
  } else {
    FZ_CHECK(rc == -1);
    FZ_CHECK(err[0] != '\0');
    /* a failed load leaves an empty data set that may be freed again */
    FZ_CHECK(ds.pixels == NULL && ds.labels == NULL && ds.n == 0);
  }
  rt_dataset_free(&ds);
  fz_empty(dir, 0);
  return 0;
}
