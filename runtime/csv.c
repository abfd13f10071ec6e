/* csv.c - tables of numbers for MLPs: one sample a line, comma-separated
 * values and a label column (docs/training.md, "CSV files").
 *
 * The values are kept as floats and used as they are (no / 255 as for
 * pixels); the label is a class number. A first line with a field that is
 * not a number is a header (unless --header or --no-header says), and
 * then --label-column may name the column. Files are read through zlib,
 * so train.csv.gz works too. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cnnrt.h"
#include "internal.h"

#define MAX_LINE ((size_t)1 << 24) /* 16 MB: no table has longer lines */
#define MAX_BYTES ((size_t)1 << 34)

/* A CSV file being read: the current line, split into fields in place. */
typedef struct {
  gzFile f;
  const char *path;
  char *line;
  size_t cap;
  long no;        /* 1-based number of the current line */
  char **field;
  int nfield, capfield;
} Reader;

/* The next line into r->line without its end; 0 at the end of the file,
 * -1 on an error. */
static int next_line(Reader *r, char *err, size_t errlen)
{
  size_t n = 0;
  for (;;) {
    if (n + 2 > r->cap) {
      size_t cap = r->cap ? 2 * r->cap : 4096;
      char *p = cap <= MAX_LINE ? realloc(r->line, cap) : NULL;
      if (!p)
        return rt_fail(err, errlen, "%s:%ld: line too long (more than %zu bytes)", r->path,
                       r->no + 1, MAX_LINE);
      r->line = p;
      r->cap = cap;
    }
    if (!gzgets(r->f, r->line + n, (int)(r->cap - n))) {
      int errnum;
      const char *msg = gzerror(r->f, &errnum);
      if (errnum != Z_OK && errnum != Z_STREAM_END)
        return rt_fail(err, errlen, "%s: %s", r->path,
                       errnum == Z_ERRNO ? strerror(errno) : msg);
      if (n == 0)
        return 0;
      break;
    }
    n += strlen(r->line + n);
    if (n > 0 && r->line[n - 1] == '\n')
      break;
  }
  r->no++;
  while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
    r->line[--n] = '\0';
  return 1;
}

/* Split r->line at commas; a field's surrounding spaces and double quotes
 * are dropped. */
static int split(Reader *r, char *err, size_t errlen)
{
  r->nfield = 0;
  for (char *p = r->line;; p++) {
    char *end = strchr(p, ',');
    if (end)
      *end = '\0';
    while (*p == ' ' || *p == '\t')
      p++;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
      p[--len] = '\0';
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
      p[len - 1] = '\0';
      p++;
    }
    if (r->nfield == r->capfield) {
      int cap = r->capfield ? 2 * r->capfield : 64;
      char **f = realloc(r->field, (size_t)cap * sizeof *f);
      if (!f)
        return rt_fail(err, errlen, "%s: out of memory", r->path);
      r->field = f;
      r->capfield = cap;
    }
    r->field[r->nfield++] = p;
    if (!end)
      return 0;
    p = end;
  }
}

static int parse_number(const char *s, double *x)
{
  char *end;
  errno = 0;
  *x = strtod(s, &end);
  return end != s && *end == '\0' && isfinite(*x) ? 0 : -1;
}

static int all_numbers(const Reader *r)
{
  double x;
  for (int i = 0; i < r->nfield; i++)
    if (parse_number(r->field[i], &x))
      return 0;
  return 1;
}

/* The label column: --label-column as a header name, else as a 0-based
 * index; the last column by default. */
static int label_column(const Reader *r, const RtCsvOptions *o, int header, char *err,
                        size_t errlen)
{
  if (!o->label_column)
    return r->nfield - 1;
  for (int i = 0; header && i < r->nfield; i++)
    if (strcmp(r->field[i], o->label_column) == 0)
      return i;
  char *end;
  long k = strtol(o->label_column, &end, 10);
  if (end != o->label_column && !*end && k >= 0 && k < r->nfield)
    return (int)k;
  return rt_fail(err, errlen,
                 "%s: --label-column %s is %s (the file has %d columns, 0 to %d%s)", r->path,
                 o->label_column, header ? "neither a column name nor a column number"
                                         : "not a column number",
                 r->nfield, r->nfield - 1, header ? ", and a header line" : " and no header line");
}

/* Append one row's values and label to ds. */
static int add_row(Reader *r, RtDataset *ds, int label, size_t *cap, char *err, size_t errlen)
{
  size_t f = ds->sample_size;
  if ((size_t)r->nfield != f + 1)
    return rt_fail(err, errlen, "%s:%ld: %d columns, but the first line has %zu", r->path,
                   r->no, r->nfield, f + 1);
  if ((size_t)ds->n == *cap) {
    size_t c = *cap ? 2 * *cap : 1024;
    float *v = c * f * sizeof *v <= MAX_BYTES ? realloc(ds->values, c * f * sizeof *v) : NULL;
    uint8_t *l = v ? realloc(ds->labels, c) : NULL;
    if (v)
      ds->values = v;
    if (l)
      ds->labels = l;
    if (!v || !l)
      return rt_fail(err, errlen, "%s: out of memory at line %ld", r->path, r->no);
    *cap = c;
  }
  float *dst = ds->values + (size_t)ds->n * f;
  for (int i = 0, j = 0; i < r->nfield; i++) {
    double x;
    if (parse_number(r->field[i], &x))
      return rt_fail(err, errlen, "%s:%ld: column %d is '%s', not a number", r->path, r->no, i,
                     r->field[i]);
    if (i != label) {
      dst[j] = strtof(r->field[i], NULL); /* float, as the network computes */
      if (!isfinite(dst[j++]))
        return rt_fail(err, errlen, "%s:%ld: column %d is '%s', beyond the range of float",
                       r->path, r->no, i, r->field[i]);
      continue;
    }
    if (x != floor(x) || x < 0 || x > 255)
      return rt_fail(err, errlen,
                     "%s:%ld: the label (column %d) is '%s', not a class number from 0 to 255",
                     r->path, r->no, i, r->field[i]);
    ds->labels[ds->n] = (uint8_t)x;
  }
  ds->n++;
  return 0;
}

/* The first line: a header or not, and the shape of every row. */
static int first_line(Reader *r, const RtCsvOptions *o, RtDataset *ds, int *label,
                      int *header, char *err, size_t errlen)
{
  int got = next_line(r, err, errlen);
  if (got <= 0)
    return got < 0 ? -1 : rt_fail(err, errlen, "%s: empty file", r->path);
  if (split(r, err, errlen))
    return -1;
  *header = o->header >= 0 ? o->header : !all_numbers(r);
  if ((*label = label_column(r, o, *header, err, errlen)) < 0)
    return -1;
  if (r->nfield < 2)
    return rt_fail(err, errlen, "%s:%ld: one column: a sample needs values and a label",
                   r->path, r->no);
  ds->rank = 1;
  ds->dim[0] = r->nfield - 1;
  ds->sample_size = (size_t)r->nfield - 1;
  ds->label_size = 1;
  return 0;
}

static int read_rows(Reader *r, const RtCsvOptions *o, RtDataset *ds, char *err,
                     size_t errlen)
{
  int label = 0, header = 0, got;
  size_t cap = 0;
  if (first_line(r, o, ds, &label, &header, err, errlen))
    return -1;
  if (!header && add_row(r, ds, label, &cap, err, errlen))
    return -1;
  while ((got = next_line(r, err, errlen)) > 0) {
    if (r->line[strspn(r->line, " \t")] == '\0')
      continue; /* blank lines, e.g. at the end */
    if (split(r, err, errlen) || add_row(r, ds, label, &cap, err, errlen))
      return -1;
  }
  if (got < 0)
    return -1;
  if (ds->n == 0)
    return rt_fail(err, errlen, "%s: a header line and no samples", r->path);
  return 0;
}

int rt_csv_load(const char *path, const RtCsvOptions *o, RtDataset *ds, char *err,
                size_t errlen)
{
  memset(ds, 0, sizeof *ds);
  Reader r = {.path = path};
  if (!(r.f = gzopen(path, "rb")))
    return rt_fail(err, errlen, "cannot open %s: %s", path,
                   errno ? strerror(errno) : "out of memory");
  int rc = read_rows(&r, o, ds, err, errlen);
  gzclose(r.f);
  free(r.line);
  free(r.field);
  if (rc == 0) {
    ds->image_path = strdup(path);
    ds->label_path = strdup(path);
  }
  if (rc || !ds->image_path || !ds->label_path) {
    rt_dataset_free(ds);
    return rc ? -1 : rt_fail(err, errlen, "%s: out of memory", path);
  }
  return 0;
}
