/* fuzz-checkpoint.c - rt_checkpoint_load on arbitrary files, and what the
 * trainer does with a checkpoint that loads.
 *
 * Input: one flag byte, then the checkpoint file.
 *   bit 0    fix the CRC: overwrite the last 4 bytes with the CRC-32 of the
 *            bytes before them, so that mutations reach the checks behind
 *            the CRC check
 *   bit 1    load the training state and the Adam moments too (st, m, v);
 *            else pass NULL for them
 *   bit 2    if it loads: resume training from it with
 *            rt_main(train --resume FILE --data DIR --epochs 2) on a tiny
 *            data set (5 samples [4], 2 classes)
 *   bit 3    if it loads: save what was loaded with rt_checkpoint_save and
 *            check that the file is the same bytes (a lossless round trip)
 *   bits 4-5 the network to load into: fuzznet (0), one with another name
 *            (1), another architecture hash (2), other counts (3)
 * The network is fuzz/fuzz-net.h: 10 parameters and 2 buffers. A failed
 * load must leave the network's weights untouched. */
#include "fuzz-util.h"

#include "fuzz-net.h"

/* Resuming a batch this large would only measure malloc. */
#define MAX_RESUME_BATCH 65536

static const char *data_dir(void)
{
  static char dir[8192];
  if (dir[0])
    return dir;
  /* Outside fz_tmpdir(), which is emptied after every input. */
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/cnncc-fuzz-data-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(dir))
    abort();
  static const uint8_t train_x[] = {0, 0, 8, 2, 0, 0, 0, 5, 0, 0, 0, 4,
                                    0, 10, 20, 30, 255, 0, 7, 9, 1, 2, 3, 4,
                                    200, 100, 50, 25, 9, 8, 7, 6, 0, 0, 0, 255};
  static const uint8_t train_y[] = {0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 1, 0, 1};
  static const uint8_t test_x[] = {0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4,
                                   1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  static const uint8_t test_y[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 1};
  char path[8192];
  fz_write(fz_path(path, sizeof path, dir, "train-images-idx3-ubyte"), train_x, sizeof train_x, 0);
  fz_write(fz_path(path, sizeof path, dir, "train-labels-idx1-ubyte"), train_y, sizeof train_y, 0);
  fz_write(fz_path(path, sizeof path, dir, "t10k-images-idx3-ubyte"), test_x, sizeof test_x, 0);
  fz_write(fz_path(path, sizeof path, dir, "t10k-labels-idx1-ubyte"), test_y, sizeof test_y, 0);
  return dir;
}

static void remove_data_dir(void)
{
  if (data_dir()[0])
    fz_empty(data_dir(), 1);
}

static uint8_t *read_file(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  FZ_CHECK(f != NULL);
  uint8_t *b = NULL;
  size_t n = 0, cap = 0, r;
  do {
    if (n == cap) {
      cap = cap ? 2 * cap : 4096;
      b = realloc(b, cap);
      FZ_CHECK(b != NULL);
    }
    r = fread(b + n, 1, cap - n, f);
    n += r;
  } while (r > 0);
  fclose(f);
  *size = n;
  return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int registered;
  if (!registered) {
    registered = 1;
    data_dir();
    atexit(remove_data_dir);
  }
  if (size < 1)
    return 0;
  unsigned flags = data[0];
  const uint8_t *file = data + 1;
  size_t n = size - 1;
  uint8_t *copy = NULL;
  if ((flags & 1) && n >= 4) {
    copy = malloc(n);
    FZ_CHECK(copy != NULL);
    memcpy(copy, file, n);
    uLong crc = crc32(crc32(0, NULL, 0), copy, (uInt)(n - 4));
    for (int i = 0; i < 4; i++)
      copy[n - 4 + i] = (uint8_t)(crc >> 8 * i);
    file = copy;
  }
  const char *dir = fz_tmpdir();
  char path[8192], saved[8192], err[1024] = "";
  fz_write(fz_path(path, sizeof path, dir, "fuzz.ckpt"), file, n, 0);

  RtNet net = fuzznet;
  switch ((flags >> 4) & 3) {
  case 1: net.name = "othernet"; break;
  case 2: net.arch_hash ^= 1; break;
  case 3: net.nparams = 8; net.nbuffers = 0; break;
  }
  /* A failed load must not write to the network: fill with a pattern. */
  for (int i = 0; i < FN_NPARAMS; i++)
    fn_params[i] = (float)i;
  fn_buffers[0] = fn_buffers[1] = -1;
  float m[FN_NPARAMS], v[FN_NPARAMS];
  RtTrainState st;
  int full = flags & (2 | 4 | 8);
  int rc = rt_checkpoint_load(path, &net, full ? &st : NULL, full ? m : NULL,
                              full ? v : NULL, err, sizeof err);
  int loaded = rc == 0;
  if (rc != 0) {
    FZ_CHECK(rc == -1 && err[0] != '\0');
    for (int i = 0; i < FN_NPARAMS; i++)
      FZ_CHECK(fn_params[i] == (float)i);
    FZ_CHECK(fn_buffers[0] == -1 && fn_buffers[1] == -1);
  } else if (flags & 8) {
    /* What loaded saves to the same bytes. */
    size_t got;
    FZ_CHECK(rt_checkpoint_save(fz_path(saved, sizeof saved, dir, "saved.ckpt"), &net, &st,
                                m, v, err, sizeof err) == 0);
    uint8_t *b = read_file(saved, &got);
    if (got != n || memcmp(b, file, n) != 0) {
      fprintf(stderr, "fuzz: checkpoint changed in a load/save round trip "
                      "(%zu bytes in, %zu out; batch %d, epoch %ld, step %ld, t %ld)\n",
              n, got, st.batch, st.epoch, st.epoch_step, st.t);
      abort();
    }
    free(b);
  } else if ((flags & 4) && (net.nparams == FN_NPARAMS && net.nbuffers == FN_NBUFFERS) &&
             st.batch <= MAX_RESUME_BATCH) {
    char *argv[] = {"fuzznet", "train", "--resume", path, "--data", (char *)data_dir(),
                    "--epochs", "2", NULL};
    rc = rt_main(8, argv, &net);
    FZ_CHECK(rc == 0 || rc == 1);
  }
  if (full && loaded)
    rt_train_state_free(&st);
  free(copy);
  fz_empty(dir, 0);
  return 0;
}
