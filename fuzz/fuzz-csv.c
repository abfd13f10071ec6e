/* fuzz-csv.c - the runtime's CSV reader (rt_csv_load) on arbitrary files.
 *
 * Input: one flag byte, then the file contents.
 *   bit 0    gzip-compress the file
 *   bits 1-2 the header: guessed (0), --header (1), --no-header (2 and 3)
 *   bits 3-4 --label-column: none (the last), "0", "1", or the name "label"
 * A loaded table is checked for consistency, its first and last samples
 * are gathered with rt_dataset_batch, and rt_dataset_check runs against a
 * network of its own size and one of 784 values. */
#include "fuzz-util.h"

#include <math.h>

#include "cnnrt.h"

static void exercise(const RtDataset *ds)
{
  FZ_CHECK(ds->n >= 1 && ds->rank == 1 && ds->sample_size >= 1);
  FZ_CHECK(ds->sample_size == (size_t)ds->dim[0] && ds->label_size == 1);
  FZ_CHECK(ds->values != NULL && ds->labels != NULL && ds->pixels == NULL);
  int n = ds->n < 2 ? (int)ds->n : 2;
  float *x = malloc((size_t)n * ds->sample_size * sizeof *x);
  int32_t y[2];
  FZ_CHECK(x != NULL);
  rt_dataset_batch(ds, NULL, 0, n, x, y);
  rt_dataset_batch(ds, NULL, ds->n - n, n, x, y);
  for (size_t i = 0; i < (size_t)n * ds->sample_size; i++)
    FZ_CHECK(isfinite(x[i]));
  for (int i = 0; i < n; i++)
    FZ_CHECK(y[i] >= 0 && y[i] <= 255);
  free(x);

  char err[512];
  RtNet own = {.name = "fuzznet", .in_rank = 1, .in_dim = {ds->dim[0]},
               .out_rank = 1, .out_dim = {256}, .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY};
  FZ_CHECK(rt_dataset_check(ds, &own, err, sizeof err) == 0);
  RtNet image = {.name = "fuzznet", .in_rank = 3, .in_dim = {1, 28, 28},
                 .out_rank = 1, .out_dim = {10}, .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY};
  if (rt_dataset_check(ds, &image, err, sizeof err) != 0)
    FZ_CHECK(err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const columns[] = {NULL, "0", "1", "label"};
  if (size < 1)
    return 0;
  unsigned flags = data[0];
  const char *dir = fz_tmpdir();
  char path[8192], err[1024] = "";
  fz_write(fz_path(path, sizeof path, dir, "train.csv"), data + 1, size - 1, flags & 1);
  int header = (flags >> 1) & 3;
  RtCsvOptions o = {columns[(flags >> 3) & 3], header == 0 ? -1 : header == 1 ? 1 : 0};
  RtDataset ds;
  if (rt_csv_load(path, &o, &ds, err, sizeof err) == 0)
    exercise(&ds);
  else
    FZ_CHECK(err[0] != '\0' && ds.values == NULL && ds.labels == NULL);
  rt_dataset_free(&ds);
  fz_empty(dir, 0);
  return 0;
}
