/* robustness.c - the front end must answer every input with an IR or
 * diagnostics: never crash, hang or assert. Mutates the examples many
 * times and tries inputs known to hurt parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"
#include "tap.h"

static uint64_t rng_state = 42;
static uint64_t next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Compiles and prints diagnostics to /dev/null; true if it returned. */
static int survives(const char *src, size_t len) {
  CnnUnit *u = cnn_unit_new("fuzz.cnn", src, len);
  const CnnNet *net = cnn_unit_compile(u);
  static FILE *null;
  if (!null) null = fopen("/dev/null", "w");
  if (net) cnn_print_summary(null, net);
  else cnn_diags_print(null, cnn_unit_diags(u), false);
  int ok = net != NULL || cnn_unit_diags(u)->nerrors > 0;
  cnn_unit_free(u);
  return ok;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  *len = fread(buf, 1, (1 << 20) - 1, f);
  fclose(f);
  return buf;
}

static const char *const tokens[] = {"->", "(", ")", "[", "]", "{", "}", ",", "=", "\n", "block ",
                                     "for ", "if ", "return ", "0", "-1", "99999", "1e308", "same",
                                     "x", "relu", "conv2d(", "concat(", " + ", " * ", ".channels"};

static size_t mutate(const char *src, size_t len, char *out, size_t cap) {
  size_t n = 0, pos = next() % (len + 1);
  memcpy(out, src, pos);
  n = pos;
  switch (next() % 4) {
  case 0: pos += 1 + next() % 8; break;                           /* delete */
  case 1: out[n++] = (char)(next() & 0xff); break;                /* random byte */
  case 2: {                                                       /* insert a token */
    const char *t = tokens[next() % (sizeof tokens / sizeof *tokens)];
    memcpy(out + n, t, strlen(t));
    n += strlen(t);
    break;
  }
  default: { /* duplicate a chunk */
    size_t from = next() % (len + 1), l = next() % 64;
    if (from + l > len) l = len - from;
    memcpy(out + n, src + from, l);
    n += l;
  }
  }
  if (pos > len) pos = len;
  if (n + len - pos < cap) {
    memcpy(out + n, src + pos, len - pos);
    n += len - pos;
  }
  return n;
}

int main(int argc, char **argv) {
  tap_plan(argc - 1 + 7);
  char *buf = malloc(1 << 22);
  for (int i = 1; i < argc; i++) {
    size_t len;
    char *src = read_all(argv[i], &len);
    int all = src != NULL;
    for (int round = 0; src && round < 3000 && all; round++) {
      size_t n = mutate(src, len, buf, 1 << 20);
      for (int again = next() % 3; again > 0; again--) { /* stack mutations */
        n = mutate(buf, n, buf + (1 << 21), 1 << 20);
        memcpy(buf, buf + (1 << 21), n);
      }
      all = survives(buf, n);
      if (!all) printf("# no result for a mutation of %s\n", argv[i]);
    }
    tap_ok(all, "3000 mutations of %s", argv[i]);
    free(src);
  }
  tap_ok(survives("", 0), "empty file");
  tap_ok(survives("\0\0\0", 3), "NUL bytes");
  size_t n = 0;
  n += (size_t)sprintf(buf, "input x[1]\noutput ");
  for (int i = 0; i < 200000; i++) buf[n++] = '(';
  tap_ok(survives(buf, n), "200000 open parentheses");
  n = (size_t)sprintf(buf, "input x[4]\ny = x");
  for (int i = 0; i < 150000; i++) n += (size_t)sprintf(buf + n, " -> relu");
  n += (size_t)sprintf(buf + n, "\noutput y\n");
  tap_ok(survives(buf, n), "a chain of 150000 layers is refused, not crashed on");
  n = (size_t)sprintf(buf, "block b(x) { return b(b(x)) }\ninput x[4]\noutput b(x)");
  tap_ok(survives(buf, n), "exponential block recursion stops");
  n = (size_t)sprintf(buf, "input x[4]\nfor i in range(100000) { for j in range(100000) { x = x } }\noutput x");
  tap_ok(survives(buf, n), "10^10 loop iterations are cut off");
  n = (size_t)sprintf(buf, "input x[1, 28, 28]\nl = [1] * 99999\nl = l + l\noutput x");
  tap_ok(survives(buf, n), "oversized list");
  free(buf);
  return tap_done();
}
