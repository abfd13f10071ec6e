/* frontend.c - the front end as a library: one CnnUnit per source buffer
 * owns every byte the compilation allocates; no globals, no exit(). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"

struct CnnUnit {
  CnnArena arena;
  CnnDiags diags;
  jmp_buf oom;
  CnnDiag oom_diag; /* preallocated: reporting out-of-memory must not allocate */
  const CnnNet *net;
};

CnnUnit *cnn_unit_new(const char *filename, const char *src, size_t len) {
  CnnUnit *u = calloc(1, sizeof *u);
  if (!u) return NULL;
  u->diags = (CnnDiags){.arena = &u->arena, .filename = filename, .src = src, .len = len};
  return u;
}

/* The network's default name: the file's base name as a C identifier. */
static const char *name_from_file(CnnArena *a, const char *filename) {
  const char *base = strrchr(filename, '/');
  base = base ? base + 1 : filename;
  size_t n = strcspn(base, ".");
  if (n == 0 || n > 64) return "net";
  char *name = cnn_format(a, "%s%.*s", isdigit((unsigned char)base[0]) ? "net_" : "", (int)n, base);
  for (char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p)) *p = '_';
  return name;
}

const CnnNet *cnn_unit_compile(CnnUnit *u) {
  if (u->net || u->diags.nerrors) return u->net;
  u->arena.oom = &u->oom;
  if (setjmp(u->oom)) {
    u->arena.oom = NULL;
    u->oom_diag = (CnnDiag){.message = "out of memory"};
    u->diags.first = u->diags.last = &u->oom_diag;
    u->diags.nerrors = 1;
    return NULL;
  }
  CnnStmt *program = cnn_parse(&u->arena, &u->diags, u->diags.src, u->diags.len);
  if (!u->diags.nerrors)
    u->net = cnn_sema(&u->arena, &u->diags, program, name_from_file(&u->arena, u->diags.filename));
  u->arena.oom = NULL;
  return u->net;
}

const CnnDiags *cnn_unit_diags(const CnnUnit *u) { return &u->diags; }
CnnArena *cnn_unit_arena(CnnUnit *u) { return &u->arena; }

void cnn_unit_free(CnnUnit *u) {
  if (!u) return;
  cnn_arena_free(&u->arena);
  free(u);
}
