/* plot.c - pictures of training: the loss and the accuracy per epoch, of
 * the training and the test split, as an SVG with two panels. The trainer
 * rewrites it after every epoch (--plot), and cnncc-plot draws one from a
 * --metrics file, whose JSON lines this file also reads.
 *
 * The SVG is written by hand: axes with "nice" ticks (1, 2 or 5 times a
 * power of ten), grid lines, a marker per epoch, a legend. Coordinates are
 * printed with one decimal, so that the same numbers give the same bytes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int rt_curves_add(RtCurves *c, const RtEpochRow *row)
{
  /* A run resumed from an earlier checkpoint repeats epochs: the later
   * line is the one that counts, so the earlier ones from there on go. */
  while (c->n > 0 && c->rows[c->n - 1].epoch >= row->epoch)
    c->n--;
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 64;
    RtEpochRow *rows = realloc(c->rows, (size_t)cap * sizeof *rows);
    if (!rows)
      return -1;
    c->rows = rows;
    c->cap = cap;
  }
  c->rows[c->n++] = *row;
  return 0;
}

void rt_curves_free(RtCurves *c)
{
  free(c->rows);
  *c = (RtCurves){0};
}

/* The number after "key": in a JSON line; 0 when it is there. */
static int json_number(const char *line, const char *key, double *v)
{
  char quoted[32];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *p = strstr(line, quoted);
  if (!p)
    return -1;
  p += strlen(quoted);
  while (*p == ' ')
    p++;
  if (*p++ != ':')
    return -1;
  char *end;
  *v = strtod(p, &end);
  return end == p ? -1 : 0;
}

int rt_metrics_parse(const char *line, RtEpochRow *row)
{
  double epoch;
  if (json_number(line, "epoch", &epoch) || !(epoch >= 1 && epoch < 1e9) || epoch != floor(epoch) ||
      json_number(line, "train_loss", &row->train_loss) ||
      json_number(line, "train_acc", &row->train_acc) ||
      /* a run with --val reports the validation split instead */
      ((row->val = json_number(line, "test_loss", &row->test_loss) != 0) &&
       json_number(line, "val_loss", &row->test_loss)) ||
      (json_number(line, "test_acc", &row->test_acc) &&
       json_number(line, "val_acc", &row->test_acc)))
    return -1;
  row->epoch = (long)epoch;
  return 0;
}

int rt_curves_read(RtCurves *c, const char *path, char *err, size_t errlen)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return rt_fail(err, errlen, "cannot read '%s': %s", path, strerror(errno));
  char line[1024];
  int rc = 0;
  for (long no = 1; rc == 0 && fgets(line, sizeof line, f); no++) {
    RtEpochRow row;
    if (line[strspn(line, " \t\r\n")] == '\0')
      continue; /* a blank line, e.g. at the end */
    if (rt_metrics_parse(line, &row))
      rc = rt_fail(err, errlen, "%s:%ld: not a metrics line of a trainer's --metrics "
                   "(epoch, train_loss, train_acc, test_loss, test_acc)", path, no);
    else if (rt_curves_add(c, &row))
      rc = rt_fail(err, errlen, "out of memory reading '%s'", path);
  }
  if (rc == 0 && ferror(f))
    rc = rt_fail(err, errlen, "cannot read '%s': %s", path, strerror(errno));
  fclose(f);
  return rc;
}

/* ---- drawing ---- */

/* The layout, in SVG pixels: two panels side by side under a title, the
 * legend under them. */
enum { WIDTH = 760, HEIGHT = 330, PANEL_W = 280, PANEL_H = 210, TOP = 52, LEFT1 = 80,
       LEFT2 = 460, MAX_MARKERS = 60 };

typedef struct {
  double lo, hi, step; /* the axis runs from lo to hi, a tick every step */
} Axis;

/* 1, 2 or 5 times a power of ten, near x. */
static double nice_step(double x)
{
  double p = pow(10, floor(log10(x))), f = x / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

/* Ticks over [lo, hi] (at most about `ticks` of them), clamped to [min,
 * max] when these are finite (the accuracy's 0 to 1). */
static Axis axis_for(double lo, double hi, int ticks, double min, double max)
{
  if (!(hi > lo)) { /* one value, or none: a band around it */
    double d = isfinite(lo) && lo != 0 ? fabs(lo) * 0.1 : 0.5;
    lo = isfinite(lo) ? lo - d : 0;
    hi = isfinite(hi) ? hi + d : 1;
  }
  Axis a;
  a.step = nice_step((hi - lo) / ticks);
  a.lo = floor(lo / a.step) * a.step;
  a.hi = ceil(hi / a.step) * a.step;
  if (a.lo < min)
    a.lo = min;
  if (a.hi > max)
    a.hi = max;
  return a;
}

/* Digits a tick label needs after the point for this step. */
static int decimals(double step, double scale)
{
  double s = step * scale;
  int d = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
  return d > 6 ? 6 : d;
}

typedef struct {
  const char *title, *ylabel;
  int left;
  Axis x, y;
  double scale; /* of the tick labels: 100 for percent */
} Panel;

static double px(const Panel *p, double x)
{
  return p->left + (x - p->x.lo) / (p->x.hi - p->x.lo) * PANEL_W;
}

static double py(const Panel *p, double y)
{
  return TOP + PANEL_H - (y - p->y.lo) / (p->y.hi - p->y.lo) * PANEL_H;
}

/* The ticks' count past the first: counted, not stepped to, since a step
 * below half an ulp of lo would never get there (hand-made metrics). */
static int intervals(const Axis *a)
{
  double n = floor((a->hi - a->lo) / a->step + 1e-6);
  return n >= 0 && n <= 100 ? (int)n : 0;
}

/* The frame, the grid, ticks with their labels, and the axis titles. */
static void draw_axes(FILE *out, const Panel *p)
{
  int yd = decimals(p->y.step, p->scale);
  fprintf(out, "<g class=\"axes\">\n");
  for (int i = 0; i <= intervals(&p->y); i++) {
    double y = p->y.lo + i * p->y.step;
    double v = py(p, y);
    fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n", p->left, v,
            p->left + PANEL_W, v);
    fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n", p->left - 5, v,
            p->left, v);
    fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", p->left - 8, v + 4,
            yd, y * p->scale + 0.0);
  }
  for (int i = 0; i <= intervals(&p->x); i++) {
    double x = p->x.lo + i * p->x.step;
    double v = px(p, x);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e5e5e5\"/>\n", v, TOP, v,
            TOP + PANEL_H);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>\n", v,
            TOP + PANEL_H, v, TOP + PANEL_H + 5);
    fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", v,
            TOP + PANEL_H + 19, x);
  }
  fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n",
          p->left, TOP, PANEL_W, PANEL_H);
  fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n",
          p->left + PANEL_W / 2, TOP - 8, p->title);
  fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", p->left + PANEL_W / 2,
          TOP + PANEL_H + 38);
  fprintf(out, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
          p->left - 60, TOP + PANEL_H / 2, p->ylabel);
  fprintf(out, "</g>\n");
}

typedef struct {
  const char *name, *color, *dash;
  size_t loss, acc; /* offsets of its values in RtEpochRow */
} Series;

static const Series series[] = {
  {"train", "#1f77b4", "", offsetof(RtEpochRow, train_loss), offsetof(RtEpochRow, train_acc)},
  {"test", "#d62728", " stroke-dasharray=\"6,3\"", offsetof(RtEpochRow, test_loss),
   offsetof(RtEpochRow, test_acc)},
};

static double value(const RtEpochRow *row, size_t offset)
{
  return *(const double *)((const char *)row + offset);
}

/* One series in a panel: a line through the finite values, a dot on each
 * unless there are so many that the dots would hide the line. */
static void draw_series(FILE *out, const Panel *p, const RtCurves *c, const Series *s, size_t offset)
{
  fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", s->color,
          s->dash);
  int first = 1;
  for (int i = 0; i < c->n; i++) {
    double y = value(&c->rows[i], offset);
    if (!isfinite(y))
      continue;
    fprintf(out, "%s%.1f,%.1f", first ? "" : " ", px(p, (double)c->rows[i].epoch), py(p, y));
    first = 0;
  }
  fprintf(out, "\"/>\n");
  for (int i = 0; i < c->n && c->n <= MAX_MARKERS; i++) {
    double y = value(&c->rows[i], offset);
    if (isfinite(y))
      fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
              px(p, (double)c->rows[i].epoch), py(p, y), s->color);
  }
}

/* The y axis over the finite values of both series. */
static Axis value_axis(const RtCurves *c, int acc, double min, double max)
{
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < c->n; i++)
    for (size_t s = 0; s < sizeof series / sizeof *series; s++) {
      double v = value(&c->rows[i], acc ? series[s].acc : series[s].loss);
      if (isfinite(v)) {
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
    }
  return axis_for(lo, hi, 5, min, max);
}

/* "&", "<" and ">" as entities: a title is the user's text. */
static void put_escaped(FILE *out, const char *s)
{
  for (; *s; s++)
    switch (*s) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    default: fputc(*s, out);
    }
}

/* The second curve is the validation split's when the last epoch's is. */
static void draw_legend(FILE *out, const RtCurves *c)
{
  int x = WIDTH / 2 - 80, y = HEIGHT - 14, val = c->n && c->rows[c->n - 1].val;
  for (size_t s = 0; s < sizeof series / sizeof *series; s++, x += 100) {
    const char *name = s == 1 && val ? "validation" : series[s].name;
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            x, y - 4, x + 28, y - 4, series[s].color, series[s].dash);
    fprintf(out, "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"%s\"/>\n", x + 14, y - 4, series[s].color);
    fprintf(out, "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 34, y, name);
  }
}

/* Epochs along x: whole ones, the one epoch of a single row in the middle. */
static Axis epoch_axis(const RtCurves *c)
{
  double first = c->n ? (double)c->rows[0].epoch : 1, last = c->n ? (double)c->rows[c->n - 1].epoch : 1;
  double lo = first == last ? first - 1 : first, hi = first == last ? last + 1 : last;
  Axis x = {lo, hi, fmax(1, nice_step((hi - lo) / 8))};
  x.lo = floor(lo / x.step) * x.step;
  x.hi = ceil(hi / x.step) * x.step;
  return x;
}

void rt_plot_svg(FILE *out, const RtCurves *c, const char *title)
{
  Axis x = epoch_axis(c);
  Panel loss = {"Loss", "loss", LEFT1, x, value_axis(c, 0, 0, INFINITY), 1};
  Panel acc = {"Accuracy", "accuracy (%)", LEFT2, x, value_axis(c, 1, 0, 1), 100};
  fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n", WIDTH, HEIGHT, WIDTH, HEIGHT);
  fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(out, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">",
          WIDTH / 2);
  put_escaped(out, title);
  fprintf(out, "</text>\n");
  const Panel *panels[] = {&loss, &acc};
  for (int i = 0; i < 2; i++) {
    draw_axes(out, panels[i]);
    for (size_t s = 0; s < sizeof series / sizeof *series; s++)
      draw_series(out, panels[i], c, &series[s], i ? series[s].acc : series[s].loss);
  }
  draw_legend(out, c);
  fprintf(out, "</svg>\n");
}

int rt_plot_write(const char *path, const RtCurves *c, const char *title, char *err, size_t errlen)
{
  /* Written beside and renamed over: a viewer that reloads it never sees
   * half a picture. */
  size_t n = strlen(path) + 5;
  char *tmp = malloc(n);
  if (!tmp)
    return rt_fail(err, errlen, "out of memory writing '%s'", path);
  snprintf(tmp, n, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int rc = 0;
  if (!f) {
    rc = rt_fail(err, errlen, "cannot write plot '%s': %s", path, strerror(errno));
  } else {
    rt_plot_svg(f, c, title);
    if (ferror(f) | fclose(f) || rename(tmp, path)) /* `|`: closed either way */
      rc = rt_fail(err, errlen, "cannot write plot '%s': %s", path, strerror(errno));
    if (rc)
      remove(tmp);
  }
  free(tmp);
  return rc;
}
