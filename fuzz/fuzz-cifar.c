/* fuzz-cifar.c - the runtime's CIFAR-10 loader (rt_dataset_load on a
 * directory of data_batch_K.bin / test_batch.bin) on arbitrary files.
 *
 * Input: one flag byte, then the contents of the files.
 *   bit 0    gzip-compress the files (read through zlib, like plain ones)
 *   bit 1    the "test" split (test_batch.bin), else "train"
 *   bits 2-4 train: number of data_batch files - 1 (0..4, 5..7 mean 4)
 *   bit 5    train: leave data_batch_1.bin out (the files start at 2)
 *   bit 6    also leave a lone IDX labels file in the directory (an error:
 *            IDX images are missing)
 *   bit 7    check against a network with 2 classes instead of 10
 * Every file but the last takes a u16 little-endian length prefix and that
 * many bytes; the last one takes the rest. A loaded data set is checked for
 * consistency, samples are gathered and rt_dataset_check runs. */
#include "fuzz-util.h"

#include "cnnrt.h"

#define CIFAR_PIXELS 3072

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  unsigned flags = data[0];
  const uint8_t *p = data + 1;
  size_t left = size - 1;
  const char *dir = fz_tmpdir();
  int test = flags & 2;
  int k = (flags >> 2) & 7;
  int nfiles = test ? 1 : 1 + (k > 4 ? 4 : k);
  int first = !test && (flags & 32) ? 2 : 1;
  char name[64], path[8192], err[1024] = "";

  for (int i = 0; i < nfiles; i++) {
    size_t n = i + 1 < nfiles ? fz_take_len(&p, &left) : left;
    if (test)
      snprintf(name, sizeof name, "test_batch.bin");
    else
      snprintf(name, sizeof name, "data_batch_%d.bin", first + i);
    fz_write(fz_path(path, sizeof path, dir, name), p, n, flags & 1);
    p += n;
    left -= n;
  }
  if (flags & 64)
    fz_write(fz_path(path, sizeof path, dir,
                     test ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte"),
             (const uint8_t *)"\0\0\x08\x01\0\0\0\1\0", 9, 0);

  RtDataset ds;
  int rc = rt_dataset_load(dir, test ? "test" : "train", &ds, err, sizeof err);
  if (rc == 0) {
    FZ_CHECK(!(flags & 64));
    FZ_CHECK(ds.n >= 1);
    FZ_CHECK(ds.rank == 3 && ds.dim[0] == 3 && ds.dim[1] == 32 && ds.dim[2] == 32);
    FZ_CHECK(ds.sample_size == CIFAR_PIXELS && ds.label_size == 1);
    FZ_CHECK(ds.pixels && ds.labels && ds.image_path && ds.label_path);
    float *x = malloc(2 * CIFAR_PIXELS * sizeof *x);
    int32_t y[2];
    FZ_CHECK(x != NULL);
    long order[2] = {ds.n - 1, 0};
    rt_dataset_batch(&ds, order, 0, ds.n < 2 ? 1 : 2, x, y);
    for (int k = 0; k < (ds.n < 2 ? 1 : 2); k++)
      FZ_CHECK(y[k] >= 0 && y[k] <= 255);
    free(x);
    RtNet net = {.name = "fuzznet", .in_rank = 3, .in_dim = {3, 32, 32},
                 .out_rank = 1, .out_dim = {flags & 128 ? 2 : 10},
                 .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY};
    if (rt_dataset_check(&ds, &net, err, sizeof err) != 0)
      FZ_CHECK(err[0] != '\0');
  } else {
    FZ_CHECK(rc == -1 && err[0] != '\0');
    FZ_CHECK(ds.pixels == NULL && ds.labels == NULL && ds.n == 0);
  }
  rt_dataset_free(&ds);
  fz_empty(dir, 0);
  return 0;
}
