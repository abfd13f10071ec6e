/* emit/train_shared.c - one copy of each layer's code: layers whose
 * functions would be the same text but for the layer's name share the
 * first one's functions.
 *
 * Networks repeat their blocks: WaveNet's 82 convolutions are 16 distinct
 * kernels (two stacks of the same dilations, the filter and the gate of a
 * layer alike), and each copy is a specialized, unrolled kernel that costs
 * the C compiler seconds. So each layer is printed into memory first. Its
 * text, less comments and with the layer's name in the names it defines
 * replaced by a placeholder, is the key; a layer whose key was seen prints
 * only its comment, and its calls (Emit.fwd, Emit.bwd) name the first
 * layer's functions. A text that names the layer in anything it does not
 * define (a global tensor, say) is printed as it is: sharing it would be
 * wrong. Equal keys are the same code up to the names, so the results are
 * the same bits. */
#include <stdlib.h>
#include <string.h>

#include "train.h"

struct CnnLayerCode {
  const char *key;  /* the text, normalized */
  const char *name; /* the layer that printed it */
  CnnLayerCode *next;
};

static bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

/* The name's length if the identifier s (len chars) is the layer's name or
 * starts with it and '_', else 0. */
static size_t owned(const char *s, size_t len, const char *name) {
  size_t n = strlen(name);
  return len >= n && !strncmp(s, name, n) && (len == n || s[n] == '_') ? n : 0;
}

/* The identifiers the text defines that carry the name: the first such one
 * on each line that starts with "static", as "name_..." text, '\n' apart. */
static char *defined_names(const char *text, const char *name) {
  size_t cap = 1, used = 0;
  char *out = calloc(1, cap);
  for (const char *line = text; out && line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    if (strncmp(line, "static ", 7)) continue;
    for (const char *s = line; *s && *s != '\n'; s++) {
      if (!ident_start(*s) || (s > line && ident_char(s[-1]))) continue;
      size_t len = 0;
      while (ident_char(s[len])) len++;
      if (owned(s, len, name)) {
        char *grown = realloc(out, cap + len + 1);
        if (!grown) {
          free(out);
          return NULL;
        }
        out = grown, cap += len + 1;
        memcpy(out + used, s, len);
        used += len;
        out[used++] = '\n';
        out[used] = '\0';
        break;
      }
      s += len - 1;
    }
  }
  return out;
}

static bool listed(const char *list, const char *s, size_t len) {
  for (const char *p = list; *p; p = strchr(p, '\n') + 1)
    if (!strncmp(p, s, len) && p[len] == '\n') return true;
  return false;
}

/* The key of a layer's text: comments dropped, and the layer's name in the
 * identifiers it defines replaced by '@'; NULL when the text names the
 * layer otherwise (then it is not shared) or has no code. */
static char *layer_key(const char *text, const char *name, const char *defined) {
  size_t n = strlen(text);
  char *key = malloc(n + 1), *k = key;
  bool code = false;
  if (!key) return NULL;
  for (const char *s = text; *s;) {
    if (s[0] == '/' && s[1] == '*') {
      const char *end = strstr(s + 2, "*/");
      s = end ? end + 2 : s + strlen(s);
      continue;
    }
    if (*s == '"' || *s == '\'') { /* a literal, as it is */
      char q = *s;
      *k++ = *s++;
      while (*s && *s != q) {
        if (*s == '\\' && s[1]) *k++ = *s++;
        *k++ = *s++;
      }
      if (*s) *k++ = *s++;
      continue;
    }
    if (!ident_start(*s) || (s > text && ident_char(s[-1]))) {
      *k++ = *s++;
      continue;
    }
    size_t len = 0, own;
    while (ident_char(s[len])) len++;
    if ((own = owned(s, len, name)) && !listed(defined, s, len)) {
      free(key);
      return NULL;
    }
    code = true;
    if (own) *k++ = '@', s += own, len -= own;
    memcpy(k, s, len);
    k += len, s += len;
  }
  *k = '\0';
  if (!code) {
    free(key);
    return NULL;
  }
  return key;
}

/* call with the identifiers of `defined` that carry from's name renamed to
 * carry to's */
static const char *renamed_call(Emit *E, const char *call, const char *from, const char *to, const char *defined) {
  char *out = cnn_alloc(E->A, strlen(call) * (strlen(to) + 1) + 1), *o = out;
  for (const char *s = call; *s;) {
    size_t len = 0, own;
    if (!ident_start(*s) || (s > call && ident_char(s[-1]))) {
      *o++ = *s++;
      continue;
    }
    while (ident_char(s[len])) len++;
    if ((own = owned(s, len, from)) && listed(defined, s, len)) {
      memcpy(o, to, strlen(to));
      o += strlen(to), s += own, len -= own;
    }
    memcpy(o, s, len);
    o += len, s += len;
  }
  *o = '\0';
  return out;
}

/* The layer comment at the start of a layer's text: its length. */
static size_t comment_length(const char *text) {
  const char *s = text;
  while (*s == '\n') s++;
  if (strncmp(s, "/*", 2)) return 0;
  const char *end = strstr(s, "*/");
  return end ? (size_t)(end + 2 - text) : 0;
}

/* Print layer n, or only its comment and calls into the functions of the
 * first layer with the same code. */
void cnn_emit_layer_once(Emit *E, const CnnNode *n) {
  char *text = NULL, *defined = NULL, *key = NULL;
  size_t len = 0;
  FILE *out = E->P->out, *mem = open_memstream(&text, &len);
  if (!mem) {
    cnn_emit_layer(E, n);
    return;
  }
  E->P->out = mem;
  cnn_emit_layer(E, n);
  fclose(mem);
  E->P->out = out;
  if (text && (defined = defined_names(text, n->name))) key = layer_key(text, n->name, defined);
  const CnnLayerCode *seen = NULL;
  for (const CnnLayerCode *c = E->codes; key && c && !seen; c = c->next)
    if (!strcmp(c->key, key)) seen = c;
  if (!seen) {
    fputs(text ? text : "", out);
    if (key) {
      CnnLayerCode *c = cnn_alloc(E->A, sizeof *c);
      *c = (CnnLayerCode){fmt(E, "%s", key), n->name, E->codes};
      E->codes = c;
    }
  } else {
    size_t cl = comment_length(text);
    fprintf(out, "%.*s\n/* %s runs the functions of %s: the same code */\n", (int)cl, text, n->name, seen->name);
    if (E->fwd[n->id]) E->fwd[n->id] = renamed_call(E, E->fwd[n->id], n->name, seen->name, defined);
    if (E->bwd[n->id]) E->bwd[n->id] = renamed_call(E, E->bwd[n->id], n->name, seen->name, defined);
  }
  free(key);
  free(defined);
  free(text);
}
