/* checkpoint.c - save and load training state; the byte layout is in
 * docs/checkpoint-format.md. Everything is little-endian whatever the host,
 * and a CRC-32 covers the whole file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cnnrt.h"
#include "internal.h"

#define MAGIC "CNNCCKPT"
#define VERSION 2     /* written only when there are sections; 1 otherwise */
#define SECTION_HEAD 8 /* tag, length */
#define MAX_CLASSES 256
#define HEADER_SIZE 104 /* magic, version, name length, 11 u64 fields */
#define MAX_NAME 255
#define MAX_COUNT ((uint64_t)1 << 40)
#define CHUNK 1024 /* floats encoded per write */

static void put_le(uint8_t *b, uint64_t x, int bytes)
{
  for (int i = 0; i < bytes; i++)
    b[i] = (uint8_t)(x >> 8 * i);
}

static uint64_t get_le(const uint8_t *b, int bytes)
{
  uint64_t x = 0;
  for (int i = 0; i < bytes; i++)
    x |= (uint64_t)b[i] << 8 * i;
  return x;
}

static uint64_t double_bits(double d)
{
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

/* The fixed header; the fields after the name length are u64. */
typedef struct {
  uint32_t version, name_len;
  uint64_t arch_hash, seed, epoch, epoch_step, t, batch, loss_sum, correct,
      seen, nparams, nbuffers;
} Header;

static void header_encode(uint8_t *b, const Header *h)
{
  const uint64_t f[] = {h->arch_hash, h->seed, h->epoch, h->epoch_step, h->t,
                        h->batch, h->loss_sum, h->correct, h->seen,
                        h->nparams, h->nbuffers};
  memcpy(b, MAGIC, 8);
  put_le(b + 8, h->version, 4);
  put_le(b + 12, h->name_len, 4);
  for (size_t i = 0; i < sizeof f / sizeof *f; i++)
    put_le(b + 16 + 8 * i, f[i], 8);
}

static void header_decode(const uint8_t *b, Header *h)
{
  uint64_t *f[] = {&h->arch_hash, &h->seed, &h->epoch, &h->epoch_step, &h->t,
                   &h->batch, &h->loss_sum, &h->correct, &h->seen,
                   &h->nparams, &h->nbuffers};
  h->version = (uint32_t)get_le(b + 8, 4);
  h->name_len = (uint32_t)get_le(b + 12, 4);
  for (size_t i = 0; i < sizeof f / sizeof *f; i++)
    *f[i] = get_le(b + 16 + 8 * i, 8);
}

/* Buffered output that keeps the running CRC and the first error. */
typedef struct {
  FILE *f;
  uLong crc;
  int error; /* errno of the first failure */
} Writer;

static void put(Writer *w, const void *p, size_t n)
{
  if (w->error)
    return;
  w->crc = crc32(w->crc, p, (uInt)n);
  errno = 0;
  if (fwrite(p, 1, n, w->f) != n)
    w->error = errno ? errno : EIO;
}

static void put_floats(Writer *w, const float *x, size_t n)
{
  uint8_t b[4 * CHUNK];
  for (size_t i = 0; i < n; i += CHUNK) {
    size_t k = n - i < CHUNK ? n - i : CHUNK;
    for (size_t j = 0; j < k; j++) {
      uint32_t u;
      memcpy(&u, &x[i + j], 4);
      put_le(b + 4 * j, u, 4);
    }
    put(w, b, 4 * k);
  }
}

/* Version 2 adds sections after the moments, for what a run has beyond
 * version 1: a file without any stays version 1, byte for byte. */
static int has_sections(const RtTrainState *st)
{
  return st->val != 0 || st->classes || st->best_epoch || st->optim;
}

static void put_section_head(Writer *w, const char *tag, uint32_t len)
{
  uint8_t b[SECTION_HEAD];
  memcpy(b, tag, 4);
  put_le(b + 4, len, 4);
  put(w, b, sizeof b);
}

static void put_sections(Writer *w, const RtTrainState *st)
{
  uint8_t b[8];
  if (st->val != 0) {
    put_section_head(w, "VALF", 8);
    put_le(b, double_bits(st->val), 8);
    put(w, b, 8);
  }
  if (st->classes) {
    size_t len = 0;
    for (int k = 0; k < st->nclasses; k++)
      len += strlen(st->classes + len) + 1;
    put_section_head(w, "CLSS", (uint32_t)(4 + len));
    put_le(b, (uint64_t)st->nclasses, 4);
    put(w, b, 4);
    put(w, st->classes, len);
  }
  if (st->best_epoch) {
    put_section_head(w, "BEST", 16);
    put_le(b, (uint64_t)st->best_epoch, 8);
    put(w, b, 8);
    put_le(b, double_bits(st->best_acc), 8);
    put(w, b, 8);
  }
  if (st->optim) {
    put_section_head(w, "OPTM", (uint32_t)st->optim_len);
    put(w, st->optim, st->optim_len);
  }
}

/* Make the rename durable; a failure here loses nothing already written. */
static void sync_parent(const char *path)
{
  const char *slash = strrchr(path, '/');
  char dir[4096] = ".";
  if (slash && (size_t)(slash - path) < sizeof dir)
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int rt_checkpoint_save(const char *path, const RtNet *net,
                       const RtTrainState *st, const float *m, const float *v,
                       char *err, size_t errlen)
{
  char tmp[4096];
  size_t name_len = strlen(net->name);
  if (name_len > MAX_NAME)
    return rt_fail(err, errlen, "cannot write checkpoint '%s': network name longer than %d bytes",
                   path, MAX_NAME);
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return rt_fail(err, errlen, "cannot write checkpoint '%s': path too long", path);
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return rt_fail(err, errlen, "cannot write checkpoint '%s': %s", path, strerror(errno));

  Header h = {has_sections(st) ? VERSION : 1, (uint32_t)name_len, net->arch_hash, st->seed,
              (uint64_t)st->epoch, (uint64_t)st->epoch_step, (uint64_t)st->t,
              (uint64_t)st->batch, double_bits(st->loss_sum),
              (uint64_t)st->correct, (uint64_t)st->seen, net->nparams,
              net->nbuffers};
  uint8_t head[HEADER_SIZE], crc[4];
  header_encode(head, &h);
  Writer w = {f, crc32(0, NULL, 0), 0};
  put(&w, head, sizeof head);
  put(&w, net->name, name_len);
  put_floats(&w, net->params, net->nparams);
  put_floats(&w, net->buffers, net->nbuffers);
  put_floats(&w, m, net->nparams);
  put_floats(&w, v, net->nparams);
  put_sections(&w, st);
  put_le(crc, w.crc, 4);
  put(&w, crc, 4);
  /* Check every step: a full disk may only show at flush or close. */
  if (!w.error && fflush(f))
    w.error = errno;
  if (!w.error && fsync(fileno(f)))
    w.error = errno;
  if (fclose(f) && !w.error)
    w.error = errno;
  if (!w.error && rename(tmp, path))
    w.error = errno;
  if (w.error) {
    remove(tmp);
    return rt_fail(err, errlen, "cannot write checkpoint '%s': %s", path, strerror(w.error));
  }
  sync_parent(path);
  return 0;
}

static void get_floats(float *x, const uint8_t *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)get_le(b + 4 * i, 4);
    memcpy(&x[i], &u, 4);
  }
}

/* Check that the file, of `size` bytes, is a complete checkpoint and read
 * it into *data (its sections are checked after the CRC). */
static int read_whole(FILE *f, const char *path, uint64_t size, uint8_t **data,
                      Header *h, char *err, size_t errlen)
{
  uint8_t head[HEADER_SIZE];
  size_t got = fread(head, 1, sizeof head, f);
  if (got < 8 || memcmp(head, MAGIC, 8) != 0)
    return rt_fail(err, errlen, "'%s' is not a cnncc checkpoint", path);
  if (got < sizeof head)
    return rt_fail(err, errlen, "checkpoint '%s' is truncated (%zu bytes)", path, got);
  header_decode(head, h);
  if (h->version != 1 && h->version != 2)
    return rt_fail(err, errlen, "checkpoint '%s' has format version %u; this runtime reads versions 1 and 2",
                   path, (unsigned)h->version);
  if (h->name_len > MAX_NAME || h->nparams > MAX_COUNT || h->nbuffers > MAX_COUNT)
    return rt_fail(err, errlen, "checkpoint '%s' is corrupted (impossible sizes in the header)", path);
  /* resume divides by the batch and indexes the data order with these */
  if (h->batch < 1 || h->batch > INT_MAX || h->epoch > INT_MAX || h->epoch_step > MAX_COUNT ||
      h->t > MAX_COUNT || h->correct > MAX_COUNT || h->seen > MAX_COUNT)
    return rt_fail(err, errlen, "checkpoint '%s' is corrupted (impossible training state in the header)", path);
  uint64_t want = HEADER_SIZE + h->name_len + 4 * (3 * h->nparams + h->nbuffers) + 4;
  if (h->version == 2 ? size < want : size != want)
    return rt_fail(err, errlen, "checkpoint '%s' is %s (%llu bytes, expected %llu)", path,
                   size < want ? "truncated" : "corrupted",
                   (unsigned long long)size, (unsigned long long)want);
  uint8_t *b = malloc(size);
  if (!b)
    return rt_fail(err, errlen, "checkpoint '%s': out of memory", path);
  memcpy(b, head, sizeof head);
  if (fread(b + sizeof head, 1, size - sizeof head, f) != size - sizeof head) {
    free(b);
    return rt_fail(err, errlen, "checkpoint '%s' is truncated (it shrank while being read)", path);
  }
  uLong crc = crc32(0, NULL, 0);
  for (uint64_t off = 0; off < size - 4; off += 1u << 30) {
    uint64_t k = size - 4 - off < (1u << 30) ? size - 4 - off : (1u << 30);
    crc = crc32(crc, b + off, (uInt)k);
  }
  if (crc != get_le(b + size - 4, 4)) {
    free(b);
    return rt_fail(err, errlen, "checkpoint '%s' is corrupted (CRC mismatch)", path);
  }
  *data = b;
  return 0;
}

static int check_network(const char *path, const Header *h, const char *name,
                         const RtNet *net, char *err, size_t errlen)
{
  int len = (int)h->name_len;
  if (strlen(net->name) != h->name_len || memcmp(name, net->name, h->name_len))
    return rt_fail(err, errlen, "checkpoint '%s' was saved by network '%.*s', not '%s'",
                   path, len, name, net->name);
  if (h->arch_hash != net->arch_hash)
    return rt_fail(err, errlen,
                   "checkpoint '%s' was saved by a different architecture of network '%s' (hash %016llx, expected %016llx)",
                   path, net->name, (unsigned long long)h->arch_hash,
                   (unsigned long long)net->arch_hash);
  if (h->nparams != net->nparams || h->nbuffers != net->nbuffers)
    return rt_fail(err, errlen,
                   "checkpoint '%s' has %llu parameters and %llu buffers, but network '%s' has %zu and %zu",
                   path, (unsigned long long)h->nparams, (unsigned long long)h->nbuffers,
                   net->name, net->nparams, net->nbuffers);
  return 0;
}

/* Class names: a u32 count, then each name NUL-terminated, 1 to 255
 * bytes; into st (allocated) when st. */
static int read_classes(const uint8_t *p, uint32_t len, RtTrainState *st)
{
  uint32_t k = len >= 4 ? (uint32_t)get_le(p, 4) : 0, found = 0, start = 4;
  if (k < 1 || k > MAX_CLASSES)
    return -1;
  for (uint32_t i = 4; i < len; i++) {
    if (p[i])
      continue;
    if (i == start || i - start > MAX_NAME)
      return -1;
    found++;
    start = i + 1;
  }
  if (found != k || start != len)
    return -1;
  if (!st)
    return 0;
  if (!(st->classes = malloc(len - 4)))
    return -2;
  memcpy(st->classes, p + 4, len - 4);
  st->nclasses = (int)k;
  return 0;
}

/* The optimizer, schedule and clipping: three NUL-terminated texts of at
 * most 1023 bytes in all (parsed when resuming); into st when st. */
static int read_optim(const uint8_t *p, uint64_t len, RtTrainState *st)
{
  int nuls = 0;
  for (uint64_t i = 0; i < len; i++)
    nuls += p[i] == 0;
  if (len > 1024 || nuls != 3 || p[len - 1] != 0)
    return -1;
  if (!st)
    return 0;
  if (!(st->optim = malloc(len)))
    return -2;
  memcpy(st->optim, p, len);
  st->optim_len = len;
  return 0;
}

/* The known sections, in the order they must come (the order the writer
 * uses, so that every file that loads saves to the same bytes). */
static const char *const section_tags[] = {"VALF", "CLSS", "BEST", "OPTM"};

static int section_index(const uint8_t *tag)
{
  for (int k = 0; k < (int)(sizeof section_tags / sizeof *section_tags); k++)
    if (memcmp(tag, section_tags[k], 4) == 0)
      return k;
  return -1;
}

static double get_double(const uint8_t *b)
{
  uint64_t bits = get_le(b, 8);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

/* One section's data into st (which may be NULL: checked only). */
static int read_section(int k, const uint8_t *body, uint64_t n, RtTrainState *st)
{
  RtTrainState ignored;
  st = st ? st : &ignored;
  if (k == 1)
    return read_classes(body, (uint32_t)n, st == &ignored ? NULL : st);
  if (k == 3)
    return read_optim(body, n, st == &ignored ? NULL : st);
  if (k == 0) { /* VALF */
    st->val = n == 8 ? get_double(body) : 0;
    return st->val > 0 && st->val < 1 ? 0 : -1;
  }
  if (n != 16) /* BEST */
    return -1;
  uint64_t epoch = get_le(body, 8);
  st->best_acc = get_double(body + 8);
  st->best_epoch = (long)(epoch <= INT_MAX ? epoch : 0);
  return st->best_epoch >= 1 && st->best_acc >= 0 && st->best_acc <= 1 ? 0 : -1;
}

/* The sections of a version-2 file, p[0..len), into st: known tags, each
 * once, in order, and at least one (a file without any is version 1). */
static int read_sections(const char *path, const uint8_t *p, uint64_t len, RtTrainState *st,
                         char *err, size_t errlen)
{
  int rc = len ? 0 : -1, last = -1;
  for (uint64_t off = 0; off < len && rc == 0;) {
    uint64_t n = len - off < SECTION_HEAD ? UINT64_MAX : get_le(p + off + 4, 4);
    int k = n == UINT64_MAX ? -1 : section_index(p + off);
    if (n > len - off - SECTION_HEAD)
      rc = -1;
    else if (k < 0)
      rc = -3;
    else if (k <= last)
      rc = -1;
    else
      rc = read_section(k, p + off + SECTION_HEAD, n, st);
    if (rc == -3)
      rt_fail(err, errlen, "checkpoint '%s' has a section '%.4s' that this runtime does not know (written by a newer cnncc?)",
              path, (const char *)p + off);
    last = k;
    off += SECTION_HEAD + n;
  }
  if (rc && st)
    rt_train_state_free(st);
  if (rc == -2)
    return rt_fail(err, errlen, "checkpoint '%s': out of memory", path);
  if (rc == -1)
    return rt_fail(err, errlen, "checkpoint '%s' is corrupted (a bad section after the moments)", path);
  return rc ? -1 : 0; /* -3: the message is written */
}

void rt_train_state_free(RtTrainState *st)
{
  free(st->classes);
  free(st->optim);
  st->classes = st->optim = NULL;
  st->optim_len = 0;
}

int rt_checkpoint_load(const char *path, const RtNet *net, RtTrainState *st,
                       float *m, float *v, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  struct stat sb;
  if (!f || fstat(fileno(f), &sb) != 0) {
    int e = errno;
    if (f)
      fclose(f);
    return rt_fail(err, errlen, "cannot read checkpoint '%s': %s", path, strerror(e));
  }
  uint8_t *b = NULL;
  Header h;
  int rc = read_whole(f, path, (uint64_t)sb.st_size, &b, &h, err, errlen);
  fclose(f);
  if (rc == 0)
    rc = check_network(path, &h, (const char *)b + HEADER_SIZE, net, err, errlen);
  const uint8_t *p = rc ? NULL : b + HEADER_SIZE + h.name_len;
  size_t np = net->nparams, nb = net->nbuffers, end = 4 * (3 * np + nb);
  RtTrainState sections = {0};
  if (rc == 0 && h.version == 2)
    rc = read_sections(path, p + end, (uint64_t)sb.st_size - 4 - HEADER_SIZE - h.name_len - end,
                       st ? &sections : NULL, err, errlen);
  if (rc) {
    free(b);
    return -1;
  }
  get_floats(net->params, p, np);
  get_floats(net->buffers, p + 4 * np, nb);
  if (m)
    get_floats(m, p + 4 * (np + nb), np);
  if (v)
    get_floats(v, p + 4 * (2 * np + nb), np);
  if (st) {
    double loss_sum;
    memcpy(&loss_sum, &h.loss_sum, sizeof loss_sum);
    *st = (RtTrainState){h.seed, (long)h.epoch, (long)h.epoch_step, (long)h.t,
                         (int)h.batch, loss_sum, (long)h.correct, (long)h.seen,
                         sections.val, sections.nclasses, sections.classes,
                         sections.best_epoch, sections.best_acc, sections.optim,
                         sections.optim_len};
  }
  free(b);
  return 0;
}
