/* printer.c - an indenting printer for generated C.
 *
 * cnn_pr(P, fmt, ...) prints one or more lines (a '\n' in the formatted
 * text starts a new line; a line break is added at the end). Indentation
 * follows the braces: a line that starts with '}' is printed one level
 * less, and every unbalanced '{' or '}' on a line changes the level of the
 * lines after it. Braces inside string and character literals and inside
 * comments do not count. So the code generator writes C as it reads:
 *
 *     cnn_pr(P, "for (int i = 0; i < %d; i++) {", n);
 *     cnn_pr(P, "y[i] = x[i];");
 *     cnn_pr(P, "}");
 *
 * Leading spaces of a line are kept on top of the indentation (for
 * continuation lines). Preprocessor lines, and lines continued by a
 * backslash, are printed as they are and do not count.
 *
 * cnn_pr_verbatim(P, text) prints C that is indented already (the kernel
 * headers) as it is, and leaves the level as it was. */
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"

void cnn_printer_init(CnnPrinter *P, FILE *out) {
  memset(P, 0, sizeof *P);
  P->out = out;
}

/* Net brace count of a line, and how many '}' it starts with. */
static void braces(const char *s, size_t len, int *net, int *leading) {
  bool in_str = false, in_chr = false, in_comment = false, at_start = true;
  *net = *leading = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (in_comment) {
      if (c == '*' && i + 1 < len && s[i + 1] == '/') in_comment = false, i++;
      continue;
    }
    if (in_str || in_chr) {
      if (c == '\\') i++;
      else if (c == (in_str ? '"' : '\'')) in_str = in_chr = false;
      continue;
    }
    if (c == '/' && i + 1 < len && s[i + 1] == '*') {
      in_comment = true;
      i++;
      continue;
    }
    if (c == '/' && i + 1 < len && s[i + 1] == '/') break;
    if (c == '"') in_str = true;
    else if (c == '\'') in_chr = true;
    else if (c == '{') (*net)++;
    else if (c == '}') {
      (*net)--;
      if (at_start) (*leading)++;
    }
    if (c != '}' && c != ' ' && c != '\t') at_start = false;
  }
}

static void line(CnnPrinter *P, const char *s, size_t len) {
  /* preprocessor lines and their continuations go to column 0 as they are */
  size_t skip = 0;
  while (skip < len && (s[skip] == ' ' || s[skip] == '\t')) skip++;
  bool directive = P->continued || (skip < len && s[skip] == '#');
  P->continued = len && s[len - 1] == '\\';
  if (directive) {
    fwrite(s, 1, len, P->out);
    fputc('\n', P->out);
    return;
  }
  int net, leading;
  braces(s + skip, len - skip, &net, &leading);
  int level = P->indent - leading;
  if (level < 0) level = 0;
  if (skip < len) { /* extra leading spaces (continuation lines) are kept */
    for (int i = 0; i < level * 2; i++) fputc(' ', P->out);
    fwrite(s, 1, len, P->out);
  }
  fputc('\n', P->out);
  P->indent += net;
  if (P->indent < 0) P->indent = 0;
}

void cnn_vpr(CnnPrinter *P, const char *fmt, va_list ap) {
  char small[512];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap2);
  va_end(ap2);
  char *text = small;
  if (n < 0) return;
  if ((size_t)n >= sizeof small) {
    text = malloc((size_t)n + 1);
    if (!text) {
      P->failed = true;
      return;
    }
    vsnprintf(text, (size_t)n + 1, fmt, ap);
  }
  const char *s = text;
  for (;;) {
    const char *nl = strchr(s, '\n');
    line(P, s, nl ? (size_t)(nl - s) : strlen(s));
    if (!nl) break;
    s = nl + 1;
  }
  if (text != small) free(text);
}

void cnn_pr_verbatim(CnnPrinter *P, const char *text) {
  fputs(text, P->out);
}

void cnn_pr(CnnPrinter *P, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cnn_vpr(P, fmt, ap);
  va_end(ap);
}
