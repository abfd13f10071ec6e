/* folders.c - image folders, the layout of Keras and torchvision's
 * ImageFolder: DIR/train/<class>/<image> and DIR/test/<class>/<image>.
 *
 * The classes are the subfolders sorted bytewise, labelled 0, 1, ... The
 * samples are ordered by file name, then by class (not class after class,
 * as ImageFolder does): so that folders exported from an IDX file with
 * numbered names (00000.png, ...) hold the samples in the IDX order, and
 * train to the same bits. Every image is decoded and fitted to the
 * network's input at load time (image.c: Resize + CenterCrop), into the
 * same bytes an IDX file gives. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cnnrt.h"
#include "internal.h"

#define MAX_CLASSES 256 /* labels are bytes */

typedef struct {
  char **name;
  size_t n, cap;
} Names;

typedef struct {
  const char *file; /* in a Names of its class */
  int label;
} Sample;

static void names_free(Names *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->name[i]);
  free(s->name);
  memset(s, 0, sizeof *s);
}

static int names_add(Names *s, const char *name)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    char **p = realloc(s->name, cap * sizeof *p);
    if (!p)
      return -1;
    s->name = p;
    s->cap = cap;
  }
  if (!(s->name[s->n] = strdup(name)))
    return -1;
  s->n++;
  return 0;
}

/* a/b into buf; 0, or -1 when it does not fit. */
static int join_path(char *buf, size_t len, const char *a, const char *b)
{
  int n = snprintf(buf, len, "%s/%s", a, b);
  return n >= 0 && (size_t)n < len ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PNG and JPEG files by their extension, as Keras lists them; the content
 * decides the decoder. */
static int is_image_name(const char *name)
{
  const char *dot = strrchr(name, '.');
  return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                 strcasecmp(dot, ".jpeg") == 0);
}

/* The entries of dir that are folders (dirs) or image files (!dirs),
 * sorted; hidden ones (a leading dot) are skipped. */
static int list_dir(const char *dir, int dirs, Names *out, char *err, size_t errlen)
{
  DIR *d = opendir(dir);
  if (!d)
    return rt_fail(err, errlen, "cannot read folder '%s': %s", dir, strerror(errno));
  struct dirent *e;
  int rc = 0;
  char path[4096];
  while (rc == 0 && (e = readdir(d))) {
    struct stat st;
    if (e->d_name[0] == '.' || (!dirs && !is_image_name(e->d_name)))
      continue;
    if (join_path(path, sizeof path, dir, e->d_name))
      rc = rt_fail(err, errlen, "%s/%s: path too long", dir, e->d_name);
    else if (stat(path, &st) != 0 || (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
      continue;
    else if (names_add(out, e->d_name))
      rc = rt_fail(err, errlen, "%s: out of memory", dir);
  }
  closedir(d);
  if (out->n)
    qsort(out->name, out->n, sizeof *out->name, by_name);
  return rc;
}

static int by_file_then_label(const void *a, const void *b)
{
  const Sample *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  return c ? c : x->label - y->label;
}

/* The classes of root (root/<class>/...) packed into ds->classes. */
static int set_classes(RtDataset *ds, const char *root, const Names *classes, char *err,
                       size_t errlen)
{
  size_t len = 0;
  if (classes->n == 0)
    return rt_fail(err, errlen, "'%s' has no class folders (expected %s/<class>/<image>)", root,
                   root);
  if (classes->n > MAX_CLASSES)
    return rt_fail(err, errlen, "'%s' has %zu class folders; at most %d are supported", root,
                   classes->n, MAX_CLASSES);
  for (size_t k = 0; k < classes->n; k++)
    len += strlen(classes->name[k]) + 1;
  if (!(ds->classes = malloc(len)))
    return rt_fail(err, errlen, "%s: out of memory", root);
  char *p = ds->classes;
  for (size_t k = 0; k < classes->n; k++)
    p = stpcpy(p, classes->name[k]) + 1;
  ds->nclasses = (int)classes->n;
  return 0;
}

/* Decode every sample, in order, fitted to [C, H, W]. */
static int decode_all(RtDataset *ds, const char *root, const Names *classes, const Sample *s,
                      char *err, size_t errlen)
{
  char dir[4096], path[4096];
  if (!(ds->pixels = malloc((size_t)ds->n * ds->sample_size)) ||
      !(ds->labels = malloc((size_t)ds->n)))
    return rt_fail(err, errlen, "%s: out of memory for %ld images", root, ds->n);
  for (long i = 0; i < ds->n; i++) {
    RtImage im;
    if (join_path(dir, sizeof dir, root, classes->name[s[i].label]) ||
        join_path(path, sizeof path, dir, s[i].file))
      return rt_fail(err, errlen, "%s: path too long", root);
    if (rt_image_read(path, &im, err, errlen))
      return -1;
    int rc = rt_image_fit(&im, ds->dim[0], ds->dim[1], ds->dim[2],
                          ds->pixels + (size_t)i * ds->sample_size, err, errlen);
    rt_image_free(&im);
    if (rc)
      return -1;
    ds->labels[i] = (uint8_t)s[i].label;
  }
  return 0;
}

/* The files of every class as samples sorted by file name, then class. */
static int collect(const char *root, const Names *classes, Names *files, Sample **samples,
                   long *n, char *err, size_t errlen)
{
  char dir[4096];
  size_t total = 0;
  for (size_t k = 0; k < classes->n; k++) {
    if (join_path(dir, sizeof dir, root, classes->name[k]))
      return rt_fail(err, errlen, "%s: path too long", root);
    if (list_dir(dir, 0, &files[k], err, errlen))
      return -1;
    if (files[k].n == 0)
      return rt_fail(err, errlen, "class folder '%s' has no images (*.png, *.jpg, *.jpeg)", dir);
    total += files[k].n;
  }
  Sample *s = malloc(total * sizeof *s);
  if (!s)
    return rt_fail(err, errlen, "%s: out of memory", root);
  size_t i = 0;
  for (size_t k = 0; k < classes->n; k++)
    for (size_t j = 0; j < files[k].n; j++)
      s[i++] = (Sample){files[k].name[j], (int)k};
  qsort(s, total, sizeof *s, by_file_then_label);
  *samples = s;
  *n = (long)total;
  return 0;
}

static int load_folders(const char *root, const RtNet *net, RtDataset *ds, char *err,
                        size_t errlen)
{
  Names classes = {0}, *files = NULL;
  Sample *samples = NULL;
  int rc = list_dir(root, 1, &classes, err, errlen);
  if (rc == 0)
    rc = set_classes(ds, root, &classes, err, errlen);
  if (rc == 0 && !(files = calloc(classes.n, sizeof *files)))
    rc = rt_fail(err, errlen, "%s: out of memory", root);
  if (rc == 0)
    rc = collect(root, &classes, files, &samples, &ds->n, err, errlen);
  if (rc == 0) {
    ds->rank = 3;
    memcpy(ds->dim, net->in_dim, sizeof ds->dim);
    ds->sample_size = rt_shape_size(3, ds->dim);
    ds->label_size = 1;
    rc = decode_all(ds, root, &classes, samples, err, errlen);
  }
  for (size_t k = 0; files && k < classes.n; k++)
    names_free(&files[k]);
  free(files);
  free(samples);
  names_free(&classes);
  return rc;
}

int rt_folders_load(const char *dir, const char *split, const RtNet *net, RtDataset *ds,
                    char *err, size_t errlen)
{
  char root[4096], want[96];
  struct stat st;
  memset(ds, 0, sizeof *ds);
  snprintf(root, sizeof root, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
           split);
  if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
    return 1;
  rt_shape_str(want, sizeof want, net->in_rank, net->in_dim, ", ");
  if (net->in_rank != 3 || (net->in_dim[0] != 1 && net->in_dim[0] != 3))
    return rt_fail(err, errlen,
                   "'%s' is a folder of images, but the network's input [%s] is not an image "
                   "(expected [1, H, W] gray or [3, H, W] RGB)", root, want);
  if (net->out_rank != 1)
    return rt_fail(err, errlen,
                   "'%s' is a folder of images with one class each, but the network has a "
                   "class per position", root);
  if (load_folders(root, net, ds, err, errlen)) {
    rt_dataset_free(ds);
    return -1;
  }
  ds->image_path = strdup(root);
  ds->label_path = strdup(root);
  return 0;
}

const char *rt_class_name(const char *classes, int nclasses, int k)
{
  if (!classes || k < 0 || k >= nclasses)
    return NULL;
  for (; k > 0; k--)
    classes += strlen(classes) + 1;
  return classes;
}
