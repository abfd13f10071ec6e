/* checkpoint.c - round trip, damage detection and atomic writes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cnnrt.h"
#include "fixtures.h"
#include "tap.h"

#define NP 5
#define NB 2

static float params[NP], buffers[NB], grads[NP];
static const RtNet net = {.name = "lenet", .nparams = NP, .params = params,
                          .grads = grads, .nbuffers = NB, .buffers = buffers,
                          .arch_hash = 0x1234};
static char err[1024];

static long file_size(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static int same_file(const char *a, const char *b)
{
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb, ca = 0, cb = 0;
  while (same && (ca = getc(fa)) == (cb = getc(fb)) && ca != EOF) {}
  same = same && ca == cb;
  if (fa)
    fclose(fa);
  if (fb)
    fclose(fb);
  return same;
}

static void copy_file(const char *from, const char *to, long keep, long flip)
{
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  for (long i = 0, c; (c = getc(in)) != EOF && i < keep; i++)
    putc(i == flip ? c ^ 0x10 : (int)c, out);
  fclose(in);
  fclose(out);
}

static const char *load_error(const char *path, const RtNet *n)
{
  if (rt_checkpoint_load(path, n, NULL, NULL, NULL, err, sizeof err) == 0)
    return "(loaded)";
  return err;
}

/* from with the byte at offset set to c and the CRC made right again:
 * damage that only the checks after the CRC can see. */
static void rewrite_byte(const char *from, const char *to, long offset, int c)
{
  long n = file_size(from);
  unsigned char *b = malloc((size_t)n);
  FILE *f = fopen(from, "rb");
  if (!b || !f || fread(b, 1, (size_t)n, f) != (size_t)n)
    abort();
  fclose(f);
  b[offset] = (unsigned char)c;
  uLong crc = crc32(0, b, (uInt)(n - 4));
  for (int i = 0; i < 4; i++)
    b[n - 4 + i] = (unsigned char)(crc >> 8 * i);
  f = fopen(to, "wb");
  fwrite(b, 1, (size_t)n, f);
  fclose(f);
  free(b);
}

/* Version 2: the --val fraction and class names round-trip; damaged or
 * unknown sections are refused. */
static void version2(float *m, float *v)
{
  char classes[] = "cat\0dog", path[512], bad[512], want[1024];
  RtTrainState st = {.seed = 7, .batch = 8, .val = 0.25, .nclasses = 2, .classes = classes},
               got;
  snprintf(path, sizeof path, "%s", tmp_path("v2.ckpt"));
  snprintf(bad, sizeof bad, "%s", tmp_path("v2-bad.ckpt"));
  tap_ok(rt_checkpoint_save(path, &net, &st, m, v, err, sizeof err) == 0, "version 2 saves: %s",
         err);
  long base = 104 + 5 + 4 * (3 * NP + NB), size = file_size(path);
  tap_ok(size == base + 8 + 8 + 8 + 4 + 8 + 4, "version 2: the sections VALF and CLSS after the moments");
  tap_ok(rt_checkpoint_load(path, &net, &got, NULL, NULL, err, sizeof err) == 0 &&
             got.val == 0.25 && got.nclasses == 2 && got.classes &&
             memcmp(got.classes, classes, sizeof classes) == 0,
         "--val and the class names round-trip: %s", err);
  free(got.classes);
  rewrite_byte(path, bad, base + 16 + 8, 3); /* three classes, two names */
  snprintf(want, sizeof want, "checkpoint '%s' is corrupted (a bad section after the moments)", bad);
  tap_is_str(load_error(bad, &net), want, "a class count that does not match the names");
  rewrite_byte(path, bad, base, 'X');
  snprintf(want, sizeof want,
           "checkpoint '%s' has a section 'XALF' that this runtime does not know (written by a newer cnncc?)",
           bad);
  tap_is_str(load_error(bad, &net), want, "an unknown section");
}

int main(void)
{
  float m[NP], v[NP], m2[NP], v2[NP];
  for (int i = 0; i < NP; i++) {
    params[i] = (float)i / 3 - 1;
    m[i] = 1e-3f * (float)i;
    v[i] = 1e-6f * (float)(i * i);
  }
  buffers[0] = 0.25f;
  buffers[1] = -4;
  const RtTrainState st = {99, 2, 17, 1234, 64, 12.5, 300, 1088, 0, 0, NULL};
  char path[512], bad[512], before[512], want[2048];
  snprintf(path, sizeof path, "%s", tmp_path("a.ckpt"));
  snprintf(bad, sizeof bad, "%s", tmp_path("bad.ckpt"));
  snprintf(before, sizeof before, "%s", tmp_path("before.ckpt"));
  tap_ok(rt_checkpoint_save(path, &net, &st, m, v, err, sizeof err) == 0, "save: %s", err);
  long size = file_size(path);
  tap_ok(size == 104 + 5 + 4 * (3 * NP + NB) + 4, "file size is header + name + floats + CRC");
  copy_file(path, before, size, -1);

  float saved[NP];
  memcpy(saved, params, sizeof params);
  memset(params, 0, sizeof params);
  memset(buffers, 0, sizeof buffers);
  RtTrainState got;
  tap_ok(rt_checkpoint_load(path, &net, &got, m2, v2, err, sizeof err) == 0, "load: %s", err);
  tap_ok(memcmp(params, saved, sizeof saved) == 0 && buffers[0] == 0.25f && buffers[1] == -4 &&
     memcmp(m, m2, sizeof m) == 0 && memcmp(v, v2, sizeof v) == 0,
     "params, buffers and Adam moments round-trip bit for bit");
  tap_ok(got.seed == st.seed && got.epoch == st.epoch && got.epoch_step == st.epoch_step &&
     got.t == st.t && got.batch == st.batch && got.loss_sum == st.loss_sum &&
     got.correct == st.correct && got.seen == st.seen, "training state round-trips");
  tap_ok(access(tmp_path("a.ckpt.tmp"), F_OK) != 0, "no temporary file is left behind");
  tap_ok(got.val == 0 && !got.classes, "version 1 has no --val and no class names");
  version2(m, v);

  copy_file(path, bad, size, 150);
  snprintf(want, sizeof want, "checkpoint '%s' is corrupted (CRC mismatch)", bad);
  tap_is_str(load_error(bad, &net), want, "a flipped bit is detected by the CRC");
  copy_file(path, bad, size - 10, -1);
  snprintf(want, sizeof want, "checkpoint '%s' is truncated (%ld bytes, expected %ld)", bad,
           size - 10, size);
  tap_is_str(load_error(bad, &net), want, "truncation is detected");
  copy_file(path, bad, 50, -1);
  snprintf(want, sizeof want, "checkpoint '%s' is truncated (50 bytes)", bad);
  tap_is_str(load_error(bad, &net), want, "truncation inside the header is detected");
  copy_file(path, bad, size, 3);
  snprintf(want, sizeof want, "'%s' is not a cnncc checkpoint", bad);
  tap_is_str(load_error(bad, &net), want, "wrong magic");
  copy_file(path, bad, size, 8);
  snprintf(want, sizeof want, "checkpoint '%s' has format version 17; this runtime reads versions 1 and 2", bad);
  tap_is_str(load_error(bad, &net), want, "unknown format version");

  RtNet vgg = net;
  vgg.name = "vgg";
  snprintf(want, sizeof want, "checkpoint '%s' was saved by network 'lenet', not 'vgg'", path);
  tap_is_str(load_error(path, &vgg), want, "another network's checkpoint");
  RtNet other = net;
  other.arch_hash = 0xabc;
  snprintf(want, sizeof want,
           "checkpoint '%s' was saved by a different architecture of network 'lenet' "
           "(hash 0000000000001234, expected 0000000000000abc)", path);
  tap_is_str(load_error(path, &other), want, "architecture hash mismatch");
  other.arch_hash = net.arch_hash;
  other.nbuffers = 1;
  snprintf(want, sizeof want,
           "checkpoint '%s' has 5 parameters and 2 buffers, but network 'lenet' has 5 and 1", path);
  tap_is_str(load_error(path, &other), want, "size mismatch");
  snprintf(want, sizeof want, "cannot read checkpoint '%s': No such file or directory",
           tmp_path("none.ckpt"));
  tap_is_str(load_error(tmp_path("none.ckpt"), &net), want, "missing checkpoint");

  /* Failed writes keep the old file. Root ignores permission bits, so use
   * a parent that is a regular file, and /dev/full for a full disk. */
  const char *under_file = tmp_path("a.ckpt/x");
  snprintf(want, sizeof want, "cannot write checkpoint '%s': Not a directory", under_file);
  rt_checkpoint_save(under_file, &net, &st, m, v, err, sizeof err);
  tap_is_str(err, want, "a path under a regular file fails clearly");

  params[0] = 42;
  if (symlink("/dev/full", tmp_path("a.ckpt.tmp")) == 0) {
    snprintf(want, sizeof want, "cannot write checkpoint '%s': No space left on device", path);
    tap_ok(rt_checkpoint_save(path, &net, &st, m, v, err, sizeof err) == -1, "save to a full disk fails");
    tap_is_str(err, want, "disk full is reported");
  } else {
    tap_ok(1, "# SKIP cannot symlink to /dev/full");
    tap_ok(1, "# SKIP cannot symlink to /dev/full");
  }
  tap_ok(same_file(path, before), "after failed saves the old checkpoint is intact");
  tap_ok(access(tmp_path("a.ckpt.tmp"), F_OK) != 0, "the temporary file is removed after a failure");
  fixtures_cleanup();
  return tap_done();
}
