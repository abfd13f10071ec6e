/* arena.c - one arena per compilation: everything the front end builds is
 * freed at once, and running out of memory unwinds to cnn_unit_compile()
 * instead of exiting. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"

struct CnnArenaChunk {
  CnnArenaChunk *next;
  size_t used, size;
  max_align_t data[];
};

enum { CHUNK_BYTES = 64 * 1024 };

void *cnn_alloc(CnnArena *a, size_t size) {
  size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  CnnArenaChunk *c = a->head;
  if (!c || c->size - c->used < size) {
    size_t bytes = size > CHUNK_BYTES ? size : CHUNK_BYTES;
    c = malloc(sizeof *c + bytes);
    if (!c) {
      if (a->oom) longjmp(*a->oom, 1);
      abort(); /* no recovery point: a programming error */
    }
    c->used = 0;
    c->size = bytes;
    c->next = a->head;
    a->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *cnn_strndup(CnnArena *a, const char *s, size_t n) {
  char *p = cnn_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *cnn_strdup(CnnArena *a, const char *s) { return cnn_strndup(a, s, strlen(s)); }

char *cnn_vformat(CnnArena *a, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  char *p = cnn_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
  if (n > 0) vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *cnn_format(CnnArena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = cnn_vformat(a, fmt, ap);
  va_end(ap);
  return p;
}

void cnn_arena_free(CnnArena *a) {
  for (CnnArenaChunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  a->head = NULL;
}

int cnn_with_arena(CnnArenaTask *task, void *ctx, const char *oom_message) {
  CnnArena arena = {0};
  jmp_buf oom;
  arena.oom = &oom;
  int status = -1;
  if (!setjmp(oom)) status = task(&arena, ctx);
  else fprintf(stderr, "cnncc: %s\n", oom_message);
  cnn_arena_free(&arena);
  return status;
}

char *cnn_strupper(CnnArena *a, const char *s) {
  char *u = cnn_strdup(a, s);
  for (char *p = u; *p; p++) *p = (char)toupper((unsigned char)*p);
  return u;
}
