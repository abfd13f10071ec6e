/* diag.c - diagnostics in the style of a C compiler:
 *   file:line:col: error: message
 *      7 |   x -> conv2d(6, 50)
 *        |               ^~~~~~
 *   note: hint */
#include <stdarg.h>
#include <string.h>

#include "cnncc.h"

static void add_diag(CnnDiags *d, CnnLoc loc, const char *msg) {
  CnnDiag *g = cnn_alloc(d->arena, sizeof *g);
  g->loc = loc;
  g->message = msg;
  if (d->last) d->last->next = g; else d->first = g;
  d->last = g;
}

void cnn_error(CnnDiags *d, CnnLoc loc, const char *fmt, ...) {
  d->nerrors++;
  if (d->nerrors > CNN_MAX_ERRORS) return;
  va_list ap;
  va_start(ap, fmt);
  add_diag(d, loc, cnn_vformat(d->arena, fmt, ap));
  va_end(ap);
}

void cnn_hint(CnnDiags *d, const char *fmt, ...) {
  if (!d->last || d->nerrors > CNN_MAX_ERRORS) return;
  va_list ap;
  va_start(ap, fmt);
  d->last->hint = cnn_vformat(d->arena, fmt, ap);
  va_end(ap);
}

/* The text of line `line` (1-based) and its length, or NULL. */
static const char *source_line(const CnnDiags *d, int line, int *len) {
  const char *p = d->src, *end = d->src + d->len;
  for (int l = 1; l < line && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return NULL;
    p = nl + 1;
  }
  if (p >= end && line > 1) return NULL;
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  *len = (int)((nl ? nl : end) - p);
  return p;
}

/* Echo a source line with non-printable bytes replaced, so binary junk
 * cannot garble the terminal; tabs are kept so the caret lines up. */
static void print_excerpt(FILE *out, const CnnDiags *d, CnnLoc loc, bool color) {
  int len;
  const char *text = source_line(d, loc.first_line, &len);
  if (!text || loc.first_column < 1) return;
  if (len > 512) len = 512;
  fprintf(out, "%5d | ", loc.first_line);
  for (int i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    fputc(c == '\t' || (c >= 32 && c < 127) ? c : '?', out);
  }
  fputs("\n      | ", out);
  int first = loc.first_column, last = loc.first_line == loc.last_line ? loc.last_column : len;
  if (last < first) last = first;
  if (first > len + 1) first = last = len + 1;
  if (last > len + 1) last = len + 1;
  for (int i = 1; i < first; i++) fputc(text[i - 1] == '\t' ? '\t' : ' ', out);
  if (color) fputs("\033[1;32m", out);
  fputc('^', out);
  for (int i = first + 1; i <= last; i++) fputc('~', out);
  if (color) fputs("\033[0m", out);
  fputc('\n', out);
}

void cnn_diags_print(FILE *out, const CnnDiags *d, bool color) {
  const char *bold = color ? "\033[1m" : "", *red = color ? "\033[1;31m" : "",
             *cyan = color ? "\033[1;36m" : "", *reset = color ? "\033[0m" : "";
  for (const CnnDiag *g = d->first; g; g = g->next) {
    if (g->loc.first_line > 0)
      fprintf(out, "%s%s:%d:%d:%s ", bold, d->filename, g->loc.first_line, g->loc.first_column, reset);
    else
      fprintf(out, "%s%s:%s ", bold, d->filename, reset);
    fprintf(out, "%serror:%s %s%s%s\n", red, reset, bold, g->message, reset);
    if (g->loc.first_line > 0) print_excerpt(out, d, g->loc, color);
    if (g->hint) fprintf(out, "%snote:%s %s\n", cyan, reset, g->hint);
  }
  if (d->nerrors > CNN_MAX_ERRORS)
    fprintf(out, "%s: %d more errors not shown\n", d->filename, d->nerrors - CNN_MAX_ERRORS);
  if (d->nerrors)
    fprintf(out, "%d error%s generated.\n", d->nerrors, d->nerrors == 1 ? "" : "s");
}
