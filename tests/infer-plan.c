/* infer-plan.c - prints the plan of the inference code (plan/infer.c,
 * cnn_print_inference_plan) for each .cnn file, for tests/infer-plan.sh to
 * check with an independent reader; the plan needs no checkpoint.
 *
 *     infer-plan FILE.cnn...
 *
 * Exits with 1 when a file does not compile or cannot be planned. */
#include <stdio.h>
#include <stdlib.h>

#include "cnncc.h"
#include "plan/infer.h"

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  if (!f) return NULL;
  for (size_t n = 1; n > 0; *len += n) {
    if (*len + 4096 > cap) {
      char *p = realloc(buf, cap = 2 * cap + 4096);
      if (!p) break;
      buf = p;
    }
    n = fread(buf + *len, 1, cap - *len, f);
  }
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  int status = 0;
  for (int i = 1; i < argc; i++) {
    size_t len;
    char *src = read_all(argv[i], &len);
    CnnUnit *u = src ? cnn_unit_new(argv[i], src, len) : NULL;
    const CnnNet *net = u ? cnn_unit_compile(u) : NULL;
    if (!net || cnn_print_inference_plan(stdout, net)) {
      fprintf(stderr, "infer-plan: cannot plan %s\n", argv[i]);
      status = 1;
    }
    if (u) cnn_unit_free(u);
    free(src);
  }
  return status;
}
