/* data.c - data sets: IDX files (plain names or MNIST's) and CIFAR-10
 * binaries; image folders are in folders.c.
 * Everything is read through zlib's gzread, which reads plain files as
 * well as gzip ones. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cnnrt.h"
#include "internal.h"

#define IDX_MAX_DIMS (1 + RT_MAX_RANK) /* samples first */
#define MAX_BYTES ((size_t)1 << 40)     /* no real data set is larger */
#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_TRAIN_FILES 5

typedef struct {
  int ndim, dim[IDX_MAX_DIMS];
  size_t count; /* product of dim */
  uint8_t *data;
} Idx;

/* Report a zlib read error; 0 if there was none. zlib reports a cut
 * gzip stream by returning short reads and setting Z_BUF_ERROR. */
static int gz_fail(gzFile f, const char *path, char *err, size_t errlen)
{
  int errnum;
  const char *msg = gzerror(f, &errnum);
  size_t len = strlen(path);
  if (errnum == Z_OK)
    return 0;
  if (strncmp(msg, path, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
    msg += len + 2; /* zlib puts the path in front */
  if (errnum == Z_ERRNO)
    return rt_fail(err, errlen, "%s: %s", path, strerror(errno));
  if (errnum == Z_BUF_ERROR)
    return rt_fail(err, errlen, "%s: truncated: the gzip data ends early (%s)", path, msg);
  return rt_fail(err, errlen, "%s: bad gzip data: %s", path, msg);
}

/* Read up to want bytes into a new buffer. It grows only as data arrives,
 * so a header that claims more than the file holds allocates nothing
 * extra. */
static int read_upto(gzFile f, const char *path, size_t want, uint8_t **buf,
                     size_t *got, char *err, size_t errlen)
{
  uint8_t *b = NULL;
  size_t n = 0, cap = 0;
  while (n < want) {
    if (n == cap) {
      size_t grow = cap ? cap : (size_t)1 << 16;
      cap = want - cap < grow ? want : cap + grow;
      uint8_t *nb = realloc(b, cap);
      if (!nb) {
        free(b);
        return rt_fail(err, errlen, "%s: out of memory (%zu bytes)", path, cap);
      }
      b = nb;
    }
    size_t chunk = cap - n < (size_t)1 << 30 ? cap - n : (size_t)1 << 30;
    int r = gzread(f, b + n, (unsigned)chunk);
    if (r <= 0) { /* the end, or an error */
      if (gz_fail(f, path, err, errlen)) {
        free(b);
        return -1;
      }
      break;
    }
    n += (size_t)r;
  }
  *buf = b;
  *got = n;
  return 0;
}

static const char *idx_type_name(int type)
{
  switch (type) {
  case 0x09: return "signed byte";
  case 0x0B: return "short";
  case 0x0C: return "int";
  case 0x0D: return "float";
  case 0x0E: return "double";
  default: return "unknown";
  }
}

static int idx_header(gzFile f, const char *path, Idx *idx, char *err,
                      size_t errlen)
{
  uint8_t h[4 * (1 + IDX_MAX_DIMS)];
  int r = gzread(f, h, 4);
  if (r < 4 && gz_fail(f, path, err, errlen))
    return -1;
  if (r < 4)
    return rt_fail(err, errlen, "%s: truncated: %d bytes, expected an IDX header",
                   path, r);
  uint32_t magic = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | h[2] << 8 | h[3];
  if (h[0] || h[1])
    return rt_fail(err, errlen,
                   "%s: not an IDX file (magic number 0x%08x, expected 0x00000801 to 0x00000804)",
                   path, (unsigned)magic);
  if (h[2] != 0x08)
    return rt_fail(err, errlen,
                   "%s: IDX element type is %s (0x%02x), expected unsigned byte (0x08)",
                   path, idx_type_name(h[2]), h[2]);
  idx->ndim = h[3];
  if (idx->ndim < 1 || idx->ndim > IDX_MAX_DIMS)
    return rt_fail(err, errlen, "%s: IDX file has %d dimensions, expected 1 to %d",
                   path, idx->ndim, IDX_MAX_DIMS);
  int want = 4 * idx->ndim;
  r = gzread(f, h + 4, (unsigned)want);
  if (r < want && gz_fail(f, path, err, errlen))
    return -1;
  if (r < want)
    return rt_fail(err, errlen, "%s: truncated: the IDX header ends after %d bytes, expected %d",
                   path, 4 + r, 4 + want);
  idx->count = 1;
  for (int i = 0; i < idx->ndim; i++) {
    const uint8_t *b = h + 4 + 4 * i;
    uint32_t d = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (d == 0)
      return rt_fail(err, errlen, "%s: IDX dimension %d is 0: no data", path, i);
    if (d > INT_MAX)
      return rt_fail(err, errlen, "%s: absurd IDX header: dimension %d is %lu (more than 2^31-1)",
                     path, i, (unsigned long)d);
    if (idx->count > MAX_BYTES / d)
      return rt_fail(err, errlen, "%s: absurd IDX header: the data would exceed 2^40 bytes", path);
    idx->dim[i] = (int)d;
    idx->count *= d;
  }
  return 0;
}

static int idx_read(const char *path, Idx *idx, char *err, size_t errlen)
{
  memset(idx, 0, sizeof *idx);
  gzFile f = gzopen(path, "rb");
  if (!f)
    return rt_fail(err, errlen, "cannot open %s: %s", path,
                   errno ? strerror(errno) : "out of memory");
  size_t got = 0;
  int rc = idx_header(f, path, idx, err, errlen);
  if (rc == 0)
    rc = read_upto(f, path, idx->count, &idx->data, &got, err, errlen);
  gzclose(f);
  if (rc == 0 && got < idx->count) {
    char dims[96];
    rt_shape_str(dims, sizeof dims, idx->ndim, idx->dim, "x");
    free(idx->data);
    idx->data = NULL;
    return rt_fail(err, errlen, "%s: truncated: %s needs %zu bytes of data, found %zu",
                   path, dims, idx->count, got);
  }
  return rc;
}

/* IDX [n,L] -> samples [1,L]; [n,H,W] -> [1,H,W]; [n,C,H,W] -> [C,H,W]. */
static int images_from_idx(RtDataset *ds, const char *path, Idx *idx,
                           char *err, size_t errlen)
{
  int r = idx->ndim - 1;
  if (r < 1) {
    free(idx->data);
    return rt_fail(err, errlen,
                   "%s: images need 2 to %d IDX dimensions (samples first), found 1",
                   path, IDX_MAX_DIMS);
  }
  ds->n = idx->dim[0];
  ds->rank = r < RT_MAX_RANK ? r + 1 : r;
  ds->dim[0] = 1;
  memcpy(ds->dim + ds->rank - r, idx->dim + 1, (size_t)r * sizeof *idx->dim);
  ds->sample_size = idx->count / (size_t)ds->n;
  ds->pixels = idx->data;
  ds->image_path = strdup(path);
  return 0;
}

static void labels_from_idx(RtDataset *ds, const char *path, Idx *idx)
{
  ds->label_rank = idx->ndim - 1;
  memcpy(ds->label_dim, idx->dim + 1, (size_t)ds->label_rank * sizeof *idx->dim);
  ds->label_size = idx->count / (size_t)idx->dim[0];
  ds->labels = idx->data;
  ds->label_path = strdup(path);
}

static int join(char *buf, size_t len, const char *dir, const char *name,
                const char *suffix)
{
  size_t d = strlen(dir);
  const char *slash = d && dir[d - 1] == '/' ? "" : "/";
  return snprintf(buf, len, "%s%s%s%s", dir, slash, name, suffix) < (int)len;
}

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

/* Find dir/name or dir/name.gz; path receives the one that exists. */
static int find_file(char *path, size_t len, const char *dir, const char *name)
{
  return (join(path, len, dir, name, "") && exists(path)) ||
         (join(path, len, dir, name, ".gz") && exists(path));
}

static int load_idx_pair(const char *images, const char *labels,
                         RtDataset *ds, char *err, size_t errlen)
{
  Idx im, lb;
  if (idx_read(images, &im, err, errlen) ||
      images_from_idx(ds, images, &im, err, errlen))
    return -1;
  if (idx_read(labels, &lb, err, errlen))
    return -1;
  labels_from_idx(ds, labels, &lb);
  if (lb.dim[0] != ds->n)
    return rt_fail(err, errlen, "%s has %ld images but %s has %d labels",
                   images, ds->n, labels, lb.dim[0]);
  return 0;
}

/* Append the records of one CIFAR-10 file to ds. */
static int cifar_append(RtDataset *ds, const char *path, char *err,
                        size_t errlen)
{
  gzFile f = gzopen(path, "rb");
  if (!f)
    return rt_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
  uint8_t *raw;
  size_t size;
  int rc = read_upto(f, path, MAX_BYTES, &raw, &size, err, errlen);
  gzclose(f);
  if (rc)
    return -1;
  if (size == 0 || size % CIFAR_RECORD) {
    free(raw);
    return rt_fail(err, errlen,
                   "%s: size %zu bytes is not a positive multiple of %d (a CIFAR-10 record is 1 label byte and %d pixel bytes)",
                   path, size, CIFAR_RECORD, CIFAR_PIXELS);
  }
  size_t k = size / CIFAR_RECORD, n = (size_t)ds->n;
  uint8_t *px = realloc(ds->pixels, (n + k) * CIFAR_PIXELS);
  if (px)
    ds->pixels = px;
  uint8_t *lb = px ? realloc(ds->labels, n + k) : NULL;
  if (lb)
    ds->labels = lb;
  if (!px || !lb) {
    free(raw);
    return rt_fail(err, errlen, "%s: out of memory", path);
  }
  for (size_t i = 0; i < k; i++) {
    lb[n + i] = raw[i * CIFAR_RECORD];
    memcpy(px + (n + i) * CIFAR_PIXELS, raw + i * CIFAR_RECORD + 1, CIFAR_PIXELS);
  }
  ds->n += (long)k;
  free(raw);
  return 0;
}

/* CIFAR-10: the train split is every data_batch_K.bin present. Returns 1
 * when there is none. */
static int load_cifar(const char *dir, int train, RtDataset *ds, char *err,
                      size_t errlen)
{
  char path[4096], name[32];
  int nfiles = train ? CIFAR_TRAIN_FILES : 1, found = 0;
  for (int i = 1; i <= nfiles; i++) {
    if (train)
      snprintf(name, sizeof name, "data_batch_%d.bin", i);
    else
      strcpy(name, "test_batch.bin");
    if (!join(path, sizeof path, dir, name, "") || !exists(path))
      continue;
    if (cifar_append(ds, path, err, errlen))
      return -1;
    found = 1;
  }
  if (!found)
    return 1;
  ds->rank = 3;
  ds->dim[0] = 3;
  ds->dim[1] = ds->dim[2] = 32;
  ds->sample_size = CIFAR_PIXELS;
  ds->label_size = 1;
  join(path, sizeof path, dir, train ? "data_batch_*.bin" : "test_batch.bin", "");
  ds->image_path = strdup(path);
  ds->label_path = strdup(path);
  return 0;
}

/* The IDX names of a split, the plain ones first: MNIST's t10k- names
 * are kept for the files as they are distributed. */
static const char *const idx_names[2][2][2] = {
  {{"test-images.idx", "test-labels.idx"}, {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}},
  {{"train-images.idx", "train-labels.idx"}, {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}},
};

/* The IDX pair of a split: 0 loaded, 1 none there, -1 an error. */
static int load_idx_split(const char *dir, int train, RtDataset *ds, char *err, size_t errlen)
{
  char images[4096], labels[4096];
  for (int k = 0; k < 2; k++) {
    const char *iname = idx_names[train][k][0], *lname = idx_names[train][k][1];
    int hi = find_file(images, sizeof images, dir, iname);
    int hl = find_file(labels, sizeof labels, dir, lname);
    if (hi && hl)
      return load_idx_pair(images, labels, ds, err, errlen);
    if (hi || hl)
      return rt_fail(err, errlen, "found %s but not %s[.gz] in '%s'",
                     hi ? images : labels, hi ? lname : iname, dir);
  }
  return 1;
}

static int load_split(const char *dir, const char *split, RtDataset *ds,
                      char *err, size_t errlen)
{
  int train = strcmp(split, "train") == 0;
  if (!train && strcmp(split, "test") != 0)
    return rt_fail(err, errlen, "unknown data split '%s', expected 'train' or 'test'", split);
  struct stat st;
  if (stat(dir, &st) != 0)
    return rt_fail(err, errlen, "data directory '%s': %s", dir, strerror(errno));
  int rc = load_idx_split(dir, train, ds, err, errlen);
  if (rc <= 0)
    return rc;
  rc = load_cifar(dir, train, ds, err, errlen);
  if (rc <= 0)
    return rc;
  return rt_fail(err, errlen,
                 "no %s data in '%s': looked for %s/<class>/ image folders, %s.csv[.gz], %s[.gz] and %s[.gz] or %s[.gz] and %s[.gz] (IDX), and %s (CIFAR-10)",
                 split, dir, split, split, idx_names[train][0][0], idx_names[train][0][1],
                 idx_names[train][1][0], idx_names[train][1][1],
                 train ? "data_batch_1.bin to data_batch_5.bin" : "test_batch.bin");
}

int rt_dataset_load(const char *dir, const char *split, RtDataset *ds,
                    char *err, size_t errlen)
{
  memset(ds, 0, sizeof *ds);
  if (load_split(dir, split, ds, err, errlen) == 0)
    return 0;
  rt_dataset_free(ds);
  return -1;
}

int rt_images_load(const char *path, RtDataset *ds, char *err, size_t errlen)
{
  Idx im;
  memset(ds, 0, sizeof *ds);
  if (idx_read(path, &im, err, errlen) == 0 &&
      images_from_idx(ds, path, &im, err, errlen) == 0)
    return 0;
  rt_dataset_free(ds);
  return -1;
}

/* Equal after dropping leading 1s: [1,28,28] is [28,28]. */
static int same_shape(int ra, const int *a, int rb, const int *b)
{
  for (; ra > 0 && a[0] == 1; a++, ra--) {}
  for (; rb > 0 && b[0] == 1; b++, rb--) {}
  return ra == rb && memcmp(a, b, (size_t)ra * sizeof *a) == 0;
}

int rt_dataset_check(const RtDataset *ds, const RtNet *net, char *err,
                     size_t errlen)
{
  char got[96], want[96], out[96];
  /* A [C] input takes any sample of C values, flattened; a CSV row fills
   * any input of its size. */
  size_t in_size = rt_shape_size(net->in_rank, net->in_dim);
  if (ds->values && ds->sample_size != in_size) {
    rt_shape_str(want, sizeof want, net->in_rank, net->in_dim, ", ");
    return rt_fail(err, errlen, "%s: rows have %zu values and a label, but the network's input [%s] takes %zu values",
                   ds->image_path, ds->sample_size, want, in_size);
  }
  int fits = net->in_rank == 1 || ds->values ? ds->sample_size == in_size
                                             : same_shape(ds->rank, ds->dim, net->in_rank, net->in_dim);
  if (!fits) {
    rt_shape_str(got, sizeof got, ds->rank, ds->dim, "x");
    rt_shape_str(want, sizeof want, net->in_rank, net->in_dim, ", ");
    return rt_fail(err, errlen, "%s: images are %s but the network expects [%s]",
                   ds->image_path, got, want);
  }
  if (!ds->labels)
    return 0;
  if (!same_shape(ds->label_rank, ds->label_dim, net->out_rank - 1, net->out_dim + 1)) {
    rt_shape_str(got, sizeof got, ds->label_rank, ds->label_dim, "x");
    rt_shape_str(want, sizeof want, net->out_rank - 1, net->out_dim + 1, "x");
    rt_shape_str(out, sizeof out, net->out_rank, net->out_dim, ", ");
    return rt_fail(err, errlen,
                   "%s: labels are %s per sample but the network expects %s per sample (its output is [%s])",
                   ds->label_path, got, want, out);
  }
  int classes = net->out_dim[0];
  if (ds->classes && ds->nclasses != classes)
    return rt_fail(err, errlen, "%s has %d class folders but the network has %d classes",
                   ds->label_path, ds->nclasses, classes);
  size_t total = (size_t)ds->n * ds->label_size;
  for (size_t i = 0; i < total; i++)
    if (ds->labels[i] >= classes)
      return rt_fail(err, errlen,
                     "%s: label %d of sample %zu is out of range: the network has %d classes (0 to %d)",
                     ds->label_path, ds->labels[i], i / ds->label_size, classes, classes - 1);
  return 0;
}

void rt_dataset_batch(const RtDataset *ds, const long *order, long first,
                      int n, float *x, int32_t *labels)
{
  for (int i = 0; i < n; i++) {
    size_t s = (size_t)(order ? order[first + i] : first + i);
    float *dst = x + (size_t)i * ds->sample_size;
    if (ds->values) {
      memcpy(dst, ds->values + s * ds->sample_size, ds->sample_size * sizeof *dst);
    } else { /* As torchvision's ToTensor: byte / 255 in float. */
      const uint8_t *px = ds->pixels + s * ds->sample_size;
      for (size_t k = 0; k < ds->sample_size; k++)
        dst[k] = (float)px[k] / 255.0f;
    }
    if (!labels)
      continue;
    const uint8_t *lb = ds->labels + s * ds->label_size;
    for (size_t k = 0; k < ds->label_size; k++)
      labels[(size_t)i * ds->label_size + k] = lb[k];
  }
}

/* Copy the samples i of from with keep[i] == want, in order, into to. */
static int take_samples(RtDataset *to, const RtDataset *from, const uint8_t *keep, int want,
                        long n)
{
  size_t size = from->sample_size * (from->values ? sizeof *from->values : 1);
  const uint8_t *src = from->values ? (const uint8_t *)from->values : from->pixels;
  uint8_t *dst = malloc((size_t)n * size);
  *to = *from;
  to->n = n;
  to->pixels = from->values ? NULL : dst;
  to->values = from->values ? (float *)dst : NULL;
  to->labels = malloc((size_t)n * from->label_size);
  to->image_path = to->label_path = to->classes = NULL;
  if (!dst || !to->labels)
    return -1;
  for (long i = 0, j = 0; i < from->n; i++) {
    if (keep[i] != want)
      continue;
    memcpy(dst + (size_t)j * size, src + (size_t)i * size, size);
    memcpy(to->labels + (size_t)j * from->label_size,
           from->labels + (size_t)i * from->label_size, from->label_size);
    j++;
  }
  return 0;
}

int rt_dataset_split(RtDataset *train, RtDataset *val, double fraction, uint64_t seed,
                     char *err, size_t errlen)
{
  long n = train->n, nval = (long)floor(fraction * (double)n + 0.5);
  memset(val, 0, sizeof *val);
  nval = nval < 1 ? 1 : nval > n - 1 ? n - 1 : nval;
  if (n < 2)
    return rt_fail(err, errlen, "%s: %ld training sample%s: too few to hold out a validation split",
                   train->image_path, n, n == 1 ? "" : "s");
  long *perm = malloc((size_t)n * sizeof *perm);
  uint8_t *in_val = calloc((size_t)n, 1);
  RtDataset rest;
  int rc = -1;
  if (perm && in_val) {
    /* A permutation of its own salt, as an epoch order is drawn */
    rt_epoch_order(perm, n, rt_hash64(seed, 0, RT_SALT_VALIDATION), 0);
    for (long i = 0; i < nval; i++)
      in_val[perm[i]] = 1;
    rc = take_samples(val, train, in_val, 1, nval) | take_samples(&rest, train, in_val, 0, n - nval);
  }
  if (rc == 0) {
    char path[4200];
    snprintf(path, sizeof path, "%s (validation split)", train->image_path);
    val->image_path = strdup(path);
    val->label_path = strdup(path);
    rest.image_path = train->image_path;
    rest.label_path = train->label_path;
    rest.classes = train->classes;
    free(train->pixels);
    free(train->values);
    free(train->labels);
    *train = rest;
  } else {
    rt_dataset_free(val);
    if (perm && in_val) { /* take_samples of the rest may have allocated */
      free(rest.pixels);
      free(rest.values);
      free(rest.labels);
    }
    rt_fail(err, errlen, "out of memory splitting %ld samples", n);
  }
  free(perm);
  free(in_val);
  return rc;
}

void rt_dataset_free(RtDataset *ds)
{
  free(ds->pixels);
  free(ds->values);
  free(ds->labels);
  free(ds->image_path);
  free(ds->label_path);
  free(ds->classes);
  memset(ds, 0, sizeof *ds);
}
