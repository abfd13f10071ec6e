/* sema.c - meaning of a .cnn program: evaluates the AST at compile time.
 * Names are resolved, blocks are expanded (called like functions), loops
 * unrolled and `if` decided, so that what remains is a DAG of layers whose
 * shapes are inferred and checked as each layer is created (shape.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"
#include "parser.h"
#include "internal.h" /* runtime/: the trainer's optimizer and schedule specs */

enum {
  MAX_NODES = 100000,   /* layers in one network */
  MAX_STEPS = 1000000,  /* statements executed: bounds exponential expansion */
  MAX_DEPTH = 64,       /* nested block calls */
  MAX_LIST = 100000,    /* elements of a list value */
  MAX_NESTING = 2000,   /* nested expressions and statements: bounds the C stack */
};

typedef enum { V_POISON, V_INT, V_FLOAT, V_BOOL, V_SYMBOL, V_TUPLE, V_LIST, V_TENSOR } ValueKind;

/* V_POISON is the value of an expression that already reported an error;
 * using it reports nothing more, so one mistake gives one message. */
typedef struct Value {
  ValueKind kind;
  int64_t i; /* V_INT, V_BOOL, V_TENSOR (node id) */
  double f;
  const char *sym;
  int n;
  struct Value *items; /* V_TUPLE, V_LIST */
} Value;

typedef struct Binding {
  const char *name;
  Value value;
  struct Binding *next;
} Binding;

typedef struct Scope {
  Binding *vars;
  struct Scope *parent;
} Scope;

typedef struct {
  CnnArena *arena;
  CnnDiags *diags;
  CnnNet *net;
  int cap;
  CnnStmt *blocks; /* top-level block definitions, chained through a copy */
  int depth;   /* block calls */
  int nesting; /* recursion of eval/exec */
  long steps;
  bool stopped; /* a limit was hit: stop evaluating */
  bool output_set, loss_set, name_set, train_set;
  int op_count[OP_COUNT];
} Sema;

static const Value poison = {.kind = V_POISON};

/* ---- operators: their names and signatures are front/ops.c's table ---- */

static const char *const loss_names[] = {"softmax_cross_entropy", "mse"};

/* An operator without input tensors (the input) is declared, not called. */
static const CnnOpInfo *called_op(int i) {
  const CnnOpInfo *op = cnn_op_info((CnnOp)i);
  return op->min_inputs ? op : NULL;
}

/* The operator a call of `name` makes; for a generic name ("maxpool") the
 * first of its variants, which call_op replaces by the input's rank. */
static const CnnOpInfo *find_op(const char *name) {
  for (int i = 0; i < OP_COUNT; i++) {
    const CnnOpInfo *op = called_op(i);
    if (op && (!strcmp(op->name, name) || (op->generic && !strcmp(op->generic, name)))) return op;
  }
  return NULL;
}

/* ---- small helpers ---- */

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 40 || lb > 40) return 99;
  int row[41];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Keeps the closest of `candidate` to `name` in *best. */
static void consider(const char *name, const char *candidate, const char **best, int *dist) {
  int d = edit_distance(name, candidate);
  if (d < *dist && d <= 2 && d < (int)strlen(name)) {
    *dist = d;
    *best = candidate;
  }
}

static const char *kind_name(ValueKind k) {
  static const char *const names[] = {"an invalid value", "an integer", "a float", "a boolean",
                                      "a padding mode", "a tuple", "a list", "a tensor"};
  return names[k];
}

static bool stop(Sema *S, CnnLoc loc, const char *why) {
  if (!S->stopped) cnn_error(S->diags, loc, "%s", why);
  S->stopped = true;
  return false;
}

static bool step(Sema *S, CnnLoc loc) {
  if (S->stopped) return false;
  if (++S->steps > MAX_STEPS)
    return stop(S, loc, "the program expands to more than a million statements");
  return true;
}

static const CnnShape *tensor_shape(Sema *S, Value v) { return &S->net->nodes[v.i].shape; }

/* ---- scopes ---- */

static Binding *lookup(Scope *sc, const char *name) {
  for (; sc; sc = sc->parent)
    for (Binding *b = sc->vars; b; b = b->next)
      if (!strcmp(b->name, name)) return b;
  return NULL;
}

static void bind(Sema *S, Scope *sc, const char *name, Value v) {
  for (Binding *b = sc->vars; b; b = b->next)
    if (!strcmp(b->name, name)) {
      b->value = v;
      return;
    }
  Binding *b = cnn_alloc(S->arena, sizeof *b);
  b->name = name;
  b->value = v;
  b->next = sc->vars;
  sc->vars = b;
}

static CnnStmt *find_block(Sema *S, const char *name) {
  for (CnnStmt *b = S->blocks; b; b = b->next)
    if (!strcmp(b->name, name)) return b;
  return NULL;
}

static void suggest_name(Sema *S, Scope *sc, const char *name, bool callable) {
  const char *best = NULL;
  int dist = 3;
  if (callable) {
    for (int i = 0; i < OP_COUNT; i++) {
      const CnnOpInfo *op = called_op(i);
      if (op) consider(name, op->name, &best, &dist);
      if (op && op->generic && op->rank == 2) /* "maxpool" after maxpool2d: ties go to the first */
        consider(name, op->generic, &best, &dist);
    }
    for (size_t i = 0; i < 2; i++) consider(name, loss_names[i], &best, &dist);
    for (CnnStmt *b = S->blocks; b; b = b->next) consider(name, b->name, &best, &dist);
  } else {
    for (Scope *s = sc; s; s = s->parent)
      for (Binding *b = s->vars; b; b = b->next) consider(name, b->name, &best, &dist);
  }
  if (best) cnn_hint(S->diags, "did you mean '%s'?", best);
}

/* ---- nodes ---- */

static CnnNode *new_node(Sema *S, CnnOp op, CnnLoc loc) {
  CnnNet *net = S->net;
  if (net->nnodes == S->cap) {
    S->cap = S->cap ? 2 * S->cap : 64;
    CnnNode *nodes = cnn_alloc(S->arena, sizeof *nodes * (size_t)S->cap);
    if (net->nnodes) memcpy(nodes, net->nodes, sizeof *nodes * (size_t)net->nnodes);
    net->nodes = nodes;
  }
  CnnNode *n = &net->nodes[net->nnodes];
  n->id = net->nnodes++;
  n->op = op;
  n->loc = loc;
  n->name = cnn_format(S->arena, "%s%d", cnn_op_info(op)->prefix, ++S->op_count[op]);
  for (int a = 0; a < 2; a++) n->kernel[a] = n->stride[a] = n->dilation[a] = 1;
  n->groups = 1;
  return n;
}

static Value tensor_value(int id) { return (Value){.kind = V_TENSOR, .i = id}; }

/* ---- argument binding for operators ---- */

typedef struct {
  Value value;
  CnnLoc loc;
  bool given;
} Bound;

static bool as_int(Sema *S, Value v, CnnLoc loc, const char *what, int64_t *out) {
  if (v.kind == V_INT) {
    *out = v.i;
    return true;
  }
  if (v.kind != V_POISON)
    cnn_error(S->diags, loc, "%s must be an integer, not %s", what, kind_name(v.kind));
  return false;
}

/* An integer argument in [lo, hi]. */
static bool int_in_range(Sema *S, Value v, CnnLoc loc, const char *what, int64_t lo, int64_t hi,
                         int *out) {
  int64_t i;
  if (!as_int(S, v, loc, what, &i)) return false;
  if (i < lo || i > hi) {
    if (i < lo && lo == 1) cnn_error(S->diags, loc, "%s must be positive, not %lld", what, (long long)i);
    else if (i < lo) cnn_error(S->diags, loc, "%s must not be negative, not %lld", what, (long long)i);
    else cnn_error(S->diags, loc, "%s %lld is too large (at most %lld)", what, (long long)i, (long long)hi);
    return false;
  }
  *out = (int)i;
  return true;
}

/* A size: one integer for every axis, or (height, width) for 2-d ops. */
static bool size_arg(Sema *S, const CnnOpInfo *op, Value v, CnnLoc loc, const char *what, int lo,
                     int out[2]) {
  char label[96];
  snprintf(label, sizeof label, "'%s' of %s", what, op->name);
  if (v.kind == V_TUPLE && op->rank == 2) {
    if (v.n != 2) {
      cnn_error(S->diags, loc, "%s must be a pair (height, width), not a %d-tuple", label, v.n);
      return false;
    }
    return int_in_range(S, v.items[0], loc, label, lo, 1 << 20, &out[0]) &&
           int_in_range(S, v.items[1], loc, label, lo, 1 << 20, &out[1]);
  }
  if (v.kind == V_TUPLE) {
    cnn_error(S->diags, loc, "%s of a 1-d operator must be one integer", label);
    return false;
  }
  int x;
  if (!int_in_range(S, v, loc, label, lo, 1 << 20, &x)) return false;
  out[0] = op->rank == 2 ? x : (lo == 0 ? 0 : 1);
  out[1] = x;
  return true;
}

/* padding: a size, valid (0), or same/causal which depend on kernel and
 * dilation and are resolved after all arguments are bound. */
static bool padding_arg(Sema *S, const CnnOpInfo *op, const CnnOpParam *param, CnnNode *n,
                        Value v, CnnLoc loc, const char **mode) {
  if (v.kind != V_SYMBOL) {
    int p[2];
    if (!size_arg(S, op, v, loc, "padding", 0, p)) return false;
    memcpy(n->pad_lo, p, sizeof p);
    memcpy(n->pad_hi, p, sizeof p);
    return true;
  }
  if (!strcmp(v.sym, "valid")) return true;
  if (param->type != CNN_PARAM_PAD_SAME) {
    cnn_error(S->diags, loc, "padding=%s is only for conv1d and conv2d", v.sym);
    return false;
  }
  if (!strcmp(v.sym, "causal") && op->rank != 1) {
    cnn_error(S->diags, loc, "padding=causal is only for conv1d");
    cnn_hint(S->diags, "causal padding pads the start of a sequence");
    return false;
  }
  *mode = v.sym;
  return true;
}

static bool resolve_padding(Sema *S, CnnNode *n, const char *mode, CnnLoc loc) {
  for (int a = 0; a < 2; a++) {
    int total = n->dilation[a] * (n->kernel[a] - 1);
    if (!strcmp(mode, "causal")) {
      n->pad_lo[a] = total;
      n->pad_hi[a] = 0;
    } else {
      if (n->stride[a] != 1) {
        cnn_error(S->diags, loc, "padding=same needs stride 1 (as in PyTorch)");
        return false;
      }
      n->pad_lo[a] = total / 2; /* PyTorch puts the odd extra at the end */
      n->pad_hi[a] = total - total / 2;
    }
  }
  return true;
}

static bool number_arg(Sema *S, Value v, CnnLoc loc, const char *label, double *out) {
  if (v.kind == V_INT) *out = (double)v.i;
  else if (v.kind == V_FLOAT) *out = v.f;
  else {
    if (v.kind != V_POISON)
      cnn_error(S->diags, loc, "%s must be a number, not %s", label, kind_name(v.kind));
    return false;
  }
  return true;
}

static bool float_arg(Sema *S, const CnnOpInfo *op, const char *name, Value v, CnnLoc loc,
                      double lo, double hi, bool hi_open, double *out) {
  char label[96];
  snprintf(label, sizeof label, "'%s' of %s", name, op->name);
  if (!number_arg(S, v, loc, label, out)) return false;
  if (!(*out >= lo && (hi_open ? *out < hi : *out <= hi))) {
    cnn_error(S->diags, loc, "%s must be in [%g, %g%s, not %g", label, lo, hi, hi_open ? ")" : "]", *out);
    return false;
  }
  return true;
}

/* A CNN_PARAM_SYMBOL: the index of one of p's names. */
static bool symbol_arg(Sema *S, const CnnOpParam *p, Value v, CnnLoc loc, const char *label, int *out) {
  for (int i = 0; v.kind == V_SYMBOL && p->symbols[i]; i++)
    if (!strcmp(v.sym, p->symbols[i])) {
      *out = i;
      return true;
    }
  if (v.kind == V_POISON) return false;
  char names[128];
  size_t len = 0;
  for (int i = 0; p->symbols[i] && len < sizeof names; i++)
    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? " or " : "", p->symbols[i]);
  cnn_error(S->diags, loc, "%s must be %s, not %s", label, names, v.kind == V_SYMBOL ? v.sym : kind_name(v.kind));
  return false;
}

/* Stores one bound argument in the node. */
static bool apply_param(Sema *S, const CnnOpInfo *op, CnnNode *n, const CnnOpParam *p, Value v,
                        CnnLoc loc, const char **pad_mode) {
  const char *name = p->name;
  char label[96];
  snprintf(label, sizeof label, "'%s' of %s", name, op->name);
  if (!strcmp(name, "out_channels") || !strcmp(name, "out_features"))
    return int_in_range(S, v, loc, label, 1, 1 << 20, &n->out_channels);
  if (!strcmp(name, "kernel")) return size_arg(S, op, v, loc, name, 1, n->kernel);
  if (!strcmp(name, "stride")) return size_arg(S, op, v, loc, name, 1, n->stride);
  if (!strcmp(name, "dilation")) return size_arg(S, op, v, loc, name, 1, n->dilation);
  if (!strcmp(name, "groups")) return int_in_range(S, v, loc, label, 1, 1 << 20, &n->groups);
  if (!strcmp(name, "output_padding")) return size_arg(S, op, v, loc, name, 0, n->output_padding);
  if (!strcmp(name, "padding")) {
    if (p->type == CNN_PARAM_SIZE) { /* conv_transpose2d's */
      if (!size_arg(S, op, v, loc, name, 0, n->pad_lo)) return false;
      memcpy(n->pad_hi, n->pad_lo, sizeof n->pad_lo);
      return true;
    }
    return padding_arg(S, op, p, n, v, loc, pad_mode);
  }
  if (!strcmp(name, "bias") || !strcmp(name, "affine")) {
    if (v.kind != V_BOOL) {
      if (v.kind != V_POISON)
        cnn_error(S->diags, loc, "%s must be true or false, not %s", label, kind_name(v.kind));
      return false;
    }
    *(name[0] == 'b' ? &n->bias : &n->affine) = v.i != 0;
    return true;
  }
  if (!strcmp(name, "eps")) return float_arg(S, op, name, v, loc, 0, 1, false, &n->eps);
  if (!strcmp(name, "momentum")) return float_arg(S, op, name, v, loc, 0, 1, false, &n->momentum);
  if (!strcmp(name, "p")) return float_arg(S, op, name, v, loc, 0, 1, true, &n->p);
  if (!strcmp(name, "negative_slope")) return number_arg(S, v, loc, label, &n->negative_slope);
  if (!strcmp(name, "scale")) return size_arg(S, op, v, loc, name, 1, n->scale);
  if (!strcmp(name, "output_size")) return size_arg(S, op, v, loc, name, 1, n->output_size);
  if (!strcmp(name, "mode")) return symbol_arg(S, p, v, loc, label, &n->mode);
  return false;
}

static void signature(char *buf, size_t size, const CnnOpInfo *op) {
  size_t len = (size_t)snprintf(buf, size, "%s(", op->name);
  for (int i = 0; i < cnn_op_nparams(op) && len < size; i++) {
    const CnnOpParam *p = &op->params[i];
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", p->name);
    if (p->def == CNN_DEFAULT_KERNEL) len += (size_t)snprintf(buf + len, size - len, "=kernel");
    else if (p->def == CNN_DEFAULT_VALUE && p->type == CNN_PARAM_BOOL)
      len += (size_t)snprintf(buf + len, size - len, "=%s", p->value ? "true" : "false");
    else if (p->type == CNN_PARAM_SYMBOL)
      len += (size_t)snprintf(buf + len, size - len, "=%s", p->symbols[(int)p->value]);
    else if (p->def == CNN_DEFAULT_VALUE && len < size)
      len += (size_t)snprintf(buf + len, size - len, "=%g", p->value);
  }
  if (len < size) snprintf(buf + len, size - len, ")");
}

/* Arguments of a call, evaluated. */
typedef struct {
  int n;
  Value *values;
  CnnArg **args;
} CallArgs;

static Value eval(Sema *S, Scope *sc, CnnExpr *e);

static CallArgs eval_args(Sema *S, Scope *sc, CnnExpr *call) {
  CallArgs ca = {0};
  for (CnnArg *a = call->args; a; a = a->next) ca.n++;
  ca.values = cnn_alloc(S->arena, sizeof *ca.values * (size_t)(ca.n + 1));
  ca.args = cnn_alloc(S->arena, sizeof *ca.args * (size_t)(ca.n + 1));
  int i = 0;
  for (CnnArg *a = call->args; a; a = a->next, i++) {
    ca.args[i] = a;
    ca.values[i] = eval(S, sc, a->value);
  }
  return ca;
}

static bool any_poison(const CallArgs *ca) {
  for (int i = 0; i < ca->n; i++)
    if (ca->values[i].kind == V_POISON) return true;
  return false;
}

static bool is_tensor_list(Value v) {
  if (v.kind != V_LIST || v.n == 0) return false;
  for (int i = 0; i < v.n; i++)
    if (v.items[i].kind != V_TENSOR) return false;
  return true;
}

/* The input tensors of an operator call: its leading positional arguments,
 * or one list of tensors (add(skips), concat([a, b, c])). Returns how many
 * arguments they took, or -1. */
static int bind_inputs(Sema *S, const CnnOpInfo *op, CnnExpr *call, const CallArgs *ca, CnnNode *n) {
  int k = 0, want = op->min_inputs;
  bool variadic = op->max_inputs > want;
  const Value *tensors = ca->values;
  if (variadic && ca->n && !ca->args[0]->keyword && is_tensor_list(ca->values[0])) {
    tensors = ca->values[0].items;
    n->ninputs = ca->values[0].n;
    k = 1;
  } else {
    while (k < ca->n && !ca->args[k]->keyword && ca->values[k].kind == V_TENSOR) k++;
    if (!variadic && k > want) k = want; /* extra tensors are reported as arguments */
    n->ninputs = k;
  }
  if (n->ninputs == 0) {
    cnn_error(S->diags, call->loc, "%s needs an input tensor", op->name);
    cnn_hint(S->diags, "write 'x -> %s(...)' or '%s(x, ...)'", op->name, op->name);
    return -1;
  }
  if (!variadic && n->ninputs < want) {
    cnn_error(S->diags, call->loc, "%s needs %d input tensors, got %d", op->name, want, n->ninputs);
    return -1;
  }
  if (variadic && n->ninputs < 2) {
    cnn_error(S->diags, call->loc, "%s needs at least two input tensors", op->name);
    return -1;
  }
  if (n->ninputs > op->max_inputs) {
    cnn_error(S->diags, call->loc, "%s takes at most %d tensors", op->name, op->max_inputs);
    return -1;
  }
  for (int i = 0; i < n->ninputs; i++) n->inputs[i] = (int)tensors[i].i;
  return k;
}

/* The variant of a generic operator for an input of `rank` (2: 1-d). */
static const CnnOpInfo *pick_rank(const CnnOpInfo *op, int rank) {
  int spatial = rank == 2 ? 1 : 2;
  for (int i = 0; i < OP_COUNT; i++) {
    const CnnOpInfo *v = called_op(i);
    if (v && v->generic && !strcmp(v->generic, op->generic) && v->rank == spatial) return v;
  }
  return op;
}

static Value call_op(Sema *S, Scope *sc, const CnnOpInfo *op, CnnExpr *call) {
  CallArgs ca = eval_args(S, sc, call);
  if (any_poison(&ca) || S->stopped) return poison;
  if (strcmp(op->name, call->name)) /* maxpool/avgpool: 1-d or 2-d by the input's rank */
    op = pick_rank(op, ca.n && ca.values[0].kind == V_TENSOR ? tensor_shape(S, ca.values[0])->rank : 3);
  if (S->net->nnodes >= MAX_NODES) {
    stop(S, call->loc, "the network has more than 100000 layers");
    return poison;
  }
  CnnNode *n = new_node(S, op->op, call->loc);
  int first = bind_inputs(S, op, call, &ca, n);
  if (first < 0) return poison;

  int np = cnn_op_nparams(op);
  Bound bound[CNN_OP_MAX_PARAMS];
  memset(bound, 0, sizeof bound);
  int positional = 0;
  bool ok = true, seen_keyword = false;
  char sig[160];
  for (int i = first; i < ca.n; i++) {
    CnnArg *a = ca.args[i];
    int slot = -1;
    if (a->keyword) {
      seen_keyword = true;
      for (int j = 0; j < np; j++)
        if (!strcmp(op->params[j].name, a->keyword)) slot = j;
      if (slot < 0 && !strcmp(a->keyword, "kernel_size")) /* PyTorch's spelling */
        for (int j = 0; j < np; j++)
          if (!strcmp(op->params[j].name, "kernel")) slot = j;
      if (slot < 0) {
        cnn_error(S->diags, a->loc, "%s has no argument '%s'", op->name, a->keyword);
        const char *best = NULL;
        int dist = 3;
        for (int j = 0; j < np; j++) consider(a->keyword, op->params[j].name, &best, &dist);
        signature(sig, sizeof sig, op);
        if (best) cnn_hint(S->diags, "did you mean '%s'? %s", best, sig);
        else cnn_hint(S->diags, "%s", sig);
        ok = false;
        continue;
      }
    } else {
      if (seen_keyword) {
        cnn_error(S->diags, a->loc, "positional argument after a keyword argument");
        ok = false;
        continue;
      }
      slot = positional++;
      if (slot >= np) {
        signature(sig, sizeof sig, op);
        cnn_error(S->diags, a->loc, "too many arguments to %s", op->name);
        cnn_hint(S->diags, "%s", sig);
        ok = false;
        continue;
      }
    }
    if (bound[slot].given) {
      cnn_error(S->diags, a->loc, "%s: argument '%s' given twice", op->name, op->params[slot].name);
      ok = false;
      continue;
    }
    bound[slot] = (Bound){ca.values[i], a->loc, true};
  }
  if (!ok) return poison;

  n->bias = false;
  const char *pad_mode = NULL;
  for (int j = 0; j < np; j++) {
    const CnnOpParam *p = &op->params[j];
    Value v;
    CnnLoc loc = call->loc;
    if (bound[j].given) {
      v = bound[j].value;
      loc = bound[j].loc;
    } else if (p->def == CNN_DEFAULT_REQUIRED) {
      signature(sig, sizeof sig, op);
      cnn_error(S->diags, call->loc, "%s needs '%s'", op->name, p->name);
      cnn_hint(S->diags, "%s", sig);
      ok = false;
      continue;
    } else if (p->def == CNN_DEFAULT_KERNEL) {
      memcpy(n->stride, n->kernel, sizeof n->kernel);
      continue;
    } else if (p->type == CNN_PARAM_BOOL) {
      v = (Value){.kind = V_BOOL, .i = p->value != 0};
    } else if (p->type == CNN_PARAM_FLOAT) {
      v = (Value){.kind = V_FLOAT, .f = p->value};
    } else if (p->type == CNN_PARAM_SYMBOL) {
      v = (Value){.kind = V_SYMBOL, .sym = p->symbols[(int)p->value]};
    } else {
      v = (Value){.kind = V_INT, .i = (int64_t)p->value};
    }
    if (!apply_param(S, op, n, p, v, loc, &pad_mode)) ok = false;
  }
  if (ok && pad_mode) ok = resolve_padding(S, n, pad_mode, call->loc);
  if (!ok || !cnn_infer_shape(S->diags, S->net, n)) return poison;
  return tensor_value(n->id);
}

/* ---- blocks: called like functions, expanded in place ---- */

static bool exec_stmts(Sema *S, Scope *sc, CnnStmt *s, Value *ret, bool top);

static Value call_block(Sema *S, Scope *sc, CnnStmt *block, CnnExpr *call) {
  CallArgs ca = eval_args(S, sc, call);
  if (any_poison(&ca) || S->stopped) return poison;
  if (S->depth >= MAX_DEPTH) {
    stop(S, call->loc, "blocks nest more than 64 deep (does a block call itself?)");
    return poison;
  }
  Scope *root = sc;
  while (root->parent) root = root->parent;
  Scope local = {.parent = root};
  int nparams = 0, positional = 0;
  for (CnnParam *p = block->params; p; p = p->next) nparams++;
  bool ok = true;
  for (int i = 0; i < ca.n; i++) {
    CnnArg *a = ca.args[i];
    CnnParam *p = block->params;
    if (a->keyword) {
      while (p && strcmp(p->name, a->keyword)) p = p->next;
      if (!p) {
        cnn_error(S->diags, a->loc, "block '%s' has no parameter '%s'", block->name, a->keyword);
        ok = false;
        continue;
      }
    } else {
      for (int j = 0; p && j < positional; j++) p = p->next;
      positional++;
      if (!p) {
        cnn_error(S->diags, a->loc, "too many arguments to block '%s' (it takes %d)", block->name,
                  nparams);
        ok = false;
        continue;
      }
    }
    for (Binding *b = local.vars; b; b = b->next)
      if (!strcmp(b->name, p->name)) {
        cnn_error(S->diags, a->loc, "block '%s': parameter '%s' given twice", block->name, p->name);
        ok = false;
      }
    bind(S, &local, p->name, ca.values[i]);
  }
  if (!ok) return poison;
  for (CnnParam *p = block->params; p; p = p->next) {
    if (lookup(&(Scope){local.vars, NULL}, p->name)) continue;
    if (!p->default_value) {
      cnn_error(S->diags, call->loc, "block '%s' needs '%s'", block->name, p->name);
      ok = false;
      continue;
    }
    bind(S, &local, p->name, eval(S, &local, p->default_value));
  }
  if (!ok) return poison;
  S->depth++;
  Value ret = {.kind = V_POISON, .i = -1};
  bool returned = exec_stmts(S, &local, block->body, &ret, false);
  S->depth--;
  if (!returned && !S->stopped) {
    cnn_error(S->diags, block->loc, "block '%s' ends without 'return'", block->name);
    return poison;
  }
  return ret;
}

/* ---- expressions ---- */

static Value make_list(Sema *S, ValueKind kind, int n) {
  Value v = {.kind = kind, .n = n};
  v.items = cnn_alloc(S->arena, sizeof *v.items * (size_t)(n ? n : 1));
  return v;
}

static Value call_range(Sema *S, Scope *sc, CnnExpr *call) {
  CallArgs ca = eval_args(S, sc, call);
  if (any_poison(&ca)) return poison;
  int64_t lo = 0, hi = 0;
  if (ca.n < 1 || ca.n > 2 || ca.args[0]->keyword || (ca.n == 2 && ca.args[1]->keyword)) {
    cnn_error(S->diags, call->loc, "range takes one or two integers: range(n) or range(start, stop)");
    return poison;
  }
  if (!as_int(S, ca.values[0], ca.args[0]->loc, "range's argument", &hi)) return poison;
  if (ca.n == 2) {
    lo = hi;
    if (!as_int(S, ca.values[1], ca.args[1]->loc, "range's argument", &hi)) return poison;
  }
  if (hi - lo > MAX_LIST) {
    cnn_error(S->diags, call->loc, "range of more than %d elements", MAX_LIST);
    return poison;
  }
  Value v = make_list(S, V_LIST, hi > lo ? (int)(hi - lo) : 0);
  for (int i = 0; i < v.n; i++) v.items[i] = (Value){.kind = V_INT, .i = lo + i};
  return v;
}

static Value eval_call(Sema *S, Scope *sc, CnnExpr *e) {
  const CnnOpInfo *op = find_op(e->name);
  if (op) return call_op(S, sc, op, e);
  CnnStmt *block = find_block(S, e->name);
  if (block) return call_block(S, sc, block, e);
  if (!strcmp(e->name, "range")) return call_range(S, sc, e);
  /* Not callable: still evaluate the arguments, so that errors in them (the
   * earlier layers of an x -> f -> g chain, which are f's first argument)
   * are each reported, in source order, before this one. */
  eval_args(S, sc, e);
  for (size_t i = 0; i < 2; i++)
    if (!strcmp(e->name, loss_names[i])) {
      cnn_error(S->diags, e->loc, "%s is a loss: use it in 'loss %s(NAME)'", e->name, e->name);
      return poison;
    }
  if (!strcmp(e->name, "adam")) {
    cnn_error(S->diags, e->loc, "adam belongs in the train section: optimizer = adam(lr=1e-3)");
    return poison;
  }
  cnn_error(S->diags, e->loc, "unknown operator or block '%s'", e->name);
  suggest_name(S, sc, e->name, true);
  return poison;
}

static Value eval_attr(Sema *S, Scope *sc, CnnExpr *e) {
  Value t = eval(S, sc, e->lhs);
  if (t.kind == V_POISON) return poison;
  if (t.kind == V_LIST && !strcmp(e->name, "length")) return (Value){.kind = V_INT, .i = t.n};
  if (t.kind != V_TENSOR) {
    cnn_error(S->diags, e->loc, "'.%s' needs a tensor, not %s", e->name, kind_name(t.kind));
    return poison;
  }
  const CnnShape *s = tensor_shape(S, t);
  int64_t v = -1;
  if (!strcmp(e->name, "channels") || !strcmp(e->name, "features")) v = s->dim[0];
  else if (!strcmp(e->name, "height") && s->rank == 3) v = s->dim[1];
  else if (!strcmp(e->name, "width") && s->rank == 3) v = s->dim[2];
  else if (!strcmp(e->name, "length") && s->rank == 2) v = s->dim[1];
  else if (!strcmp(e->name, "rank")) v = s->rank;
  else if (!strcmp(e->name, "size")) v = cnn_shape_size(*s);
  if (v < 0) {
    char buf[64];
    cnn_error(S->diags, e->loc, "a tensor of shape %s has no '.%s'", cnn_shape_str(*s, buf, sizeof buf), e->name);
    cnn_hint(S->diags, "tensors have .channels, .height, .width (images), .length (sequences), .size, .rank");
    return poison;
  }
  return (Value){.kind = V_INT, .i = v};
}

static const char *op_text(int op) {
  switch (op) {
  case EQ: return "==";
  case NE: return "!=";
  case LE: return "<=";
  case GE: return ">=";
  case AND: return "&&";
  case OR: return "||";
  default: {
    static const char ops[] = "+-*/%<>!";
    const char *p = strchr(ops, op);
    static const char *const texts[] = {"+", "-", "*", "/", "%", "<", ">", "!"};
    return p ? texts[p - ops] : "?";
  }
  }
}

static bool truthy(Sema *S, Value v, CnnLoc loc, bool *out) {
  if (v.kind == V_BOOL) {
    *out = v.i != 0;
    return true;
  }
  if (v.kind != V_POISON)
    cnn_error(S->diags, loc, "a condition must be true or false, not %s", kind_name(v.kind));
  return false;
}

/* a + b and a * b on tensors are add and mul layers. */
static Value tensor_binary(Sema *S, CnnExpr *e, Value l, Value r) {
  if (e->op != '+' && e->op != '*') {
    cnn_error(S->diags, e->loc, "tensors support only + (add) and * (mul), not '%s'", op_text(e->op));
    return poison;
  }
  if (l.kind != V_TENSOR || r.kind != V_TENSOR) {
    cnn_error(S->diags, e->loc, "cannot apply '%s' to %s and %s", op_text(e->op), kind_name(l.kind), kind_name(r.kind));
    return poison;
  }
  if (S->net->nnodes >= MAX_NODES) {
    stop(S, e->loc, "the network has more than 100000 layers");
    return poison;
  }
  CnnNode *n = new_node(S, e->op == '+' ? OP_ADD : OP_MUL, e->loc);
  n->ninputs = 2;
  n->inputs[0] = (int)l.i;
  n->inputs[1] = (int)r.i;
  if (!cnn_infer_shape(S->diags, S->net, n)) return poison;
  return tensor_value(n->id);
}

static Value list_binary(Sema *S, CnnExpr *e, Value l, Value r) {
  int64_t total;
  if (e->op == '+' && l.kind == r.kind) total = (int64_t)l.n + r.n;
  else if (e->op == '*' && r.kind == V_INT) total = r.i < 0 ? 0 : (int64_t)l.n * r.i;
  else {
    cnn_error(S->diags, e->loc, "cannot apply '%s' to %s and %s", op_text(e->op), kind_name(l.kind), kind_name(r.kind));
    return poison;
  }
  if (r.kind == V_INT && r.i > MAX_LIST) total = (int64_t)MAX_LIST + 1;
  if (total > MAX_LIST) {
    cnn_error(S->diags, e->loc, "list of more than %d elements", MAX_LIST);
    return poison;
  }
  Value v = make_list(S, l.kind, (int)total);
  for (int i = 0; i < v.n; i++)
    v.items[i] = i < l.n ? l.items[i] : e->op == '+' ? r.items[i - l.n] : l.items[i % l.n];
  return v;
}

static Value int_binary(Sema *S, CnnExpr *e, int64_t a, int64_t b) {
  int64_t r = 0;
  bool overflow = false;
  switch (e->op) {
  case '+': overflow = __builtin_add_overflow(a, b, &r); break;
  case '-': overflow = __builtin_sub_overflow(a, b, &r); break;
  case '*': overflow = __builtin_mul_overflow(a, b, &r); break;
  case '/': case '%':
    if (b == 0) {
      cnn_error(S->diags, e->loc, "division by zero");
      return poison;
    }
    if (a == INT64_MIN && b == -1) overflow = true;
    else {
      r = e->op == '/' ? a / b : a % b; /* floor division, as Python's // */
      if (e->op == '/' && (a % b != 0) && ((a < 0) != (b < 0))) r--;
      if (e->op == '%' && r != 0 && ((r < 0) != (b < 0))) r += b;
    }
    break;
  }
  if (overflow) {
    cnn_error(S->diags, e->loc, "integer overflow");
    return poison;
  }
  return (Value){.kind = V_INT, .i = r};
}

static Value compare(Sema *S, CnnExpr *e, Value l, Value r) {
  bool numeric = (l.kind == V_INT || l.kind == V_FLOAT) && (r.kind == V_INT || r.kind == V_FLOAT);
  int c;
  if (numeric) {
    double a = l.kind == V_INT ? (double)l.i : l.f, b = r.kind == V_INT ? (double)r.i : r.f;
    if (l.kind == V_INT && r.kind == V_INT) c = (l.i > r.i) - (l.i < r.i);
    else c = (a > b) - (a < b);
  } else if ((e->op == EQ || e->op == NE) && l.kind == r.kind && l.kind == V_BOOL) {
    c = l.i != r.i;
  } else if ((e->op == EQ || e->op == NE) && l.kind == r.kind && l.kind == V_SYMBOL) {
    c = strcmp(l.sym, r.sym) != 0;
  } else {
    cnn_error(S->diags, e->loc, "cannot compare %s with %s", kind_name(l.kind), kind_name(r.kind));
    return poison;
  }
  bool res;
  switch (e->op) {
  case EQ: res = c == 0; break;
  case NE: res = c != 0; break;
  case '<': res = c < 0; break;
  case '>': res = c > 0; break;
  case LE: res = c <= 0; break;
  default: res = c >= 0; break;
  }
  return (Value){.kind = V_BOOL, .i = res};
}

static Value eval_binary(Sema *S, Scope *sc, CnnExpr *e) {
  if (e->op == AND || e->op == OR) { /* short-circuit */
    bool a, b;
    if (!truthy(S, eval(S, sc, e->lhs), e->lhs->loc, &a)) return poison;
    if (a == (e->op == OR)) return (Value){.kind = V_BOOL, .i = a};
    if (!truthy(S, eval(S, sc, e->rhs), e->rhs->loc, &b)) return poison;
    return (Value){.kind = V_BOOL, .i = b};
  }
  Value l = eval(S, sc, e->lhs), r = eval(S, sc, e->rhs);
  if (l.kind == V_POISON || r.kind == V_POISON) return poison;
  if (e->op == EQ || e->op == NE || e->op == '<' || e->op == '>' || e->op == LE || e->op == GE)
    return compare(S, e, l, r);
  if (l.kind == V_TENSOR || r.kind == V_TENSOR) return tensor_binary(S, e, l, r);
  if (l.kind == V_LIST || l.kind == V_TUPLE) return list_binary(S, e, l, r);
  if (l.kind == V_INT && r.kind == V_INT) return int_binary(S, e, l.i, r.i);
  bool numeric = (l.kind == V_INT || l.kind == V_FLOAT) && (r.kind == V_INT || r.kind == V_FLOAT);
  if (!numeric || e->op == '%') {
    cnn_error(S->diags, e->loc, "cannot apply '%s' to %s and %s", op_text(e->op), kind_name(l.kind), kind_name(r.kind));
    return poison;
  }
  double a = l.kind == V_INT ? (double)l.i : l.f, b = r.kind == V_INT ? (double)r.i : r.f;
  double x = e->op == '+' ? a + b : e->op == '-' ? a - b : e->op == '*' ? a * b : a / b;
  if (!isfinite(x)) {
    cnn_error(S->diags, e->loc, "arithmetic gives %g", x);
    return poison;
  }
  return (Value){.kind = V_FLOAT, .f = x};
}

static Value eval_sequence(Sema *S, Scope *sc, CnnExpr *e) {
  int n = 0;
  for (CnnArg *a = e->args; a; a = a->next) {
    if (a->keyword) {
      cnn_error(S->diags, a->loc, "'%s=' is not allowed in a %s", a->keyword, e->kind == AST_LIST ? "list" : "tuple");
      return poison;
    }
    n++;
  }
  if (n > MAX_LIST) {
    cnn_error(S->diags, e->loc, "list of more than %d elements", MAX_LIST);
    return poison;
  }
  Value v = make_list(S, e->kind == AST_LIST ? V_LIST : V_TUPLE, n);
  int i = 0;
  for (CnnArg *a = e->args; a; a = a->next) {
    v.items[i] = eval(S, sc, a->value);
    if (v.items[i++].kind == V_POISON) return poison;
  }
  return v;
}

static Value eval_expr(Sema *S, Scope *sc, CnnExpr *e) {
  switch (e->kind) {
  case AST_INT: return (Value){.kind = V_INT, .i = e->ival};
  case AST_FLOAT: return (Value){.kind = V_FLOAT, .f = e->fval};
  case AST_BOOL: return (Value){.kind = V_BOOL, .i = e->ival};
  case AST_SYMBOL: return (Value){.kind = V_SYMBOL, .sym = e->name};
  case AST_NAME: {
    Binding *b = lookup(sc, e->name);
    if (b) return b->value;
    if (find_op(e->name) || find_block(S, e->name))
      cnn_error(S->diags, e->loc, "'%s' is an operator: apply it with 'x -> %s' or '%s(x)'", e->name, e->name, e->name);
    else {
      cnn_error(S->diags, e->loc, "undefined name '%s'", e->name);
      suggest_name(S, sc, e->name, false);
    }
    bind(S, sc, e->name, poison); /* report once */
    return poison;
  }
  case AST_CALL: return eval_call(S, sc, e);
  case AST_ATTR: return eval_attr(S, sc, e);
  case AST_BINARY: return eval_binary(S, sc, e);
  case AST_UNARY: {
    Value v = eval(S, sc, e->lhs);
    if (v.kind == V_POISON) return poison;
    if (e->op == '!') {
      bool b;
      return truthy(S, v, e->lhs->loc, &b) ? (Value){.kind = V_BOOL, .i = !b} : poison;
    }
    if (v.kind == V_INT && v.i != INT64_MIN) return (Value){.kind = V_INT, .i = -v.i};
    if (v.kind == V_FLOAT) return (Value){.kind = V_FLOAT, .f = -v.f};
    cnn_error(S->diags, e->loc, "cannot negate %s", kind_name(v.kind));
    return poison;
  }
  case AST_TUPLE: case AST_LIST: return eval_sequence(S, sc, e);
  }
  return poison;
}

static Value eval(Sema *S, Scope *sc, CnnExpr *e) {
  if (S->stopped) return poison;
  if (S->nesting >= MAX_NESTING) {
    stop(S, e->loc, "expressions nest more than 2000 deep");
    return poison;
  }
  S->nesting++;
  Value v = eval_expr(S, sc, e);
  S->nesting--;
  return v;
}

/* ---- statements ---- */

static Value eval_tensor(Sema *S, Scope *sc, CnnExpr *e, const char *what) {
  Value v = eval(S, sc, e);
  if (v.kind != V_TENSOR && v.kind != V_POISON) {
    cnn_error(S->diags, e->loc, "%s must be a tensor, not %s", what, kind_name(v.kind));
    return poison;
  }
  return v;
}

static void exec_input(Sema *S, Scope *sc, CnnStmt *s) {
  if (S->net->nnodes > 0) {
    cnn_error(S->diags, s->loc, "the network already has an input");
    cnn_hint(S->diags, "a network has one input, declared before its layers");
    return;
  }
  Value dims = eval(S, sc, s->value);
  if (dims.kind == V_POISON) return;
  if (dims.n < 1 || dims.n > 3) {
    cnn_error(S->diags, s->value->loc, "an input has 1 to 3 dimensions ([features], [channels, length] "
              "or [channels, height, width]), not %d", dims.n);
    return;
  }
  CnnNode *n = new_node(S, OP_INPUT, s->loc);
  n->name = "input";
  n->var = s->name;
  n->shape.rank = dims.n;
  for (int i = 0; i < dims.n; i++)
    if (!int_in_range(S, dims.items[i], s->value->loc, "an input dimension", 1, 1 << 24, &n->shape.dim[i]))
      return;
  if (!cnn_infer_shape(S->diags, S->net, n)) return;
  bind(S, sc, s->name, tensor_value(n->id));
}

static void exec_loss(Sema *S, Scope *sc, CnnStmt *s) {
  CnnExpr *e = s->value;
  if (S->loss_set) {
    cnn_error(S->diags, s->loc, "the network already has a loss");
    return;
  }
  int kind = 0;
  if (e->kind == AST_CALL)
    for (int i = 0; i < 2; i++)
      if (!strcmp(e->name, loss_names[i])) kind = i + 1;
  if (!kind) {
    cnn_error(S->diags, e->loc, "a loss is softmax_cross_entropy(logits) or mse(prediction)");
    return;
  }
  S->loss_set = true;
  if (!e->args || e->args->next || e->args->keyword) {
    cnn_error(S->diags, e->loc, "%s takes one tensor, the network's prediction", e->name);
    return;
  }
  Value v = eval_tensor(S, sc, e->args->value, "the loss's input");
  if (v.kind == V_POISON) return;
  S->net->loss = kind == 1 ? LOSS_SOFTMAX_CROSS_ENTROPY : LOSS_MSE;
  S->net->loss_input = (int)v.i;
  S->net->loss_loc = e->loc;
  if (kind == 1 && S->net->nodes[v.i].shape.dim[0] < 2) {
    cnn_error(S->diags, e->loc, "softmax_cross_entropy needs at least 2 classes along the channel axis");
  }
}

static bool setting_int(Sema *S, CnnArg *a, Value v, int64_t lo, int64_t hi, int64_t *out) {
  if (!as_int(S, v, a->loc, a->keyword, out)) return false;
  if (*out < lo || *out > hi) {
    cnn_error(S->diags, a->loc, "%s must be in [%lld, %lld]", a->keyword, (long long)lo, (long long)hi);
    return false;
  }
  return true;
}

/* x in its shortest exact form of %.15g and %.17g (0.1, not 0.10000000000000001). */
static int spec_number(char *buf, size_t len, double x) {
  int n = snprintf(buf, len, "%.15g", x);
  return strtod(buf, NULL) == x ? n : snprintf(buf, len, "%.17g", x);
}

/* One value of a spec: a number, true or false, or a list or tuple of
 * numbers ([2, 4], (0.9, 0.999)). */
static bool spec_value(Sema *S, Value v, CnnLoc loc, char *buf, size_t len) {
  if (v.kind == V_BOOL) return (size_t)snprintf(buf, len, "%s", v.i ? "true" : "false") < len;
  if (v.kind != V_LIST && v.kind != V_TUPLE) {
    double x;
    return number_arg(S, v, loc, "the value", &x) && (size_t)spec_number(buf, len, x) < len;
  }
  size_t used = (size_t)snprintf(buf, len, "%s", v.kind == V_LIST ? "[" : "(");
  for (int k = 0; k < v.n && used < len; k++) {
    double x;
    if (!number_arg(S, v.items[k], loc, "a list item", &x)) return false;
    used += (size_t)snprintf(buf + used, len - used, "%s", k ? "," : "");
    if (used < len) used += (size_t)spec_number(buf + used, len - used, x);
  }
  return used < len && (size_t)snprintf(buf + used, len - used, "%s", v.kind == V_LIST ? "]" : ")") < len - used;
}

/* optimizer = sgd(lr=0.1, ...), schedule = cosine(warmup=2): the call as
 * the trainer's spec in out[512], checked by the trainer's own parser; the
 * optimizer's values into *o when o. */
static bool exec_spec(Sema *S, Scope *sc, CnnExpr *e, char *out, RtOptim *o) {
  bool optimizer = o != NULL;
  char spec[512], err[512];
  size_t used = (size_t)snprintf(spec, sizeof spec, "%s(", e->name);
  for (CnnArg *a = e->args; a && used < sizeof spec; a = a->next) {
    char v[256];
    if (!spec_value(S, eval(S, sc, a->value), a->loc, v, sizeof v)) return false;
    used += (size_t)snprintf(spec + used, sizeof spec - used, "%s%s%s%s", a == e->args ? "" : ",",
                             a->keyword ? a->keyword : "", a->keyword ? "=" : "", v);
  }
  if (used + 1 >= sizeof spec) {
    cnn_error(S->diags, e->loc, "the %s's arguments are too long", optimizer ? "optimizer" : "schedule");
    return false;
  }
  strcat(spec, ")");
  RtSchedule sched;
  if (optimizer ? rt_optim_parse(spec, o, err, sizeof err) : rt_schedule_parse(spec, &sched, err, sizeof err)) {
    cnn_error(S->diags, e->loc, "%s", err);
    return false;
  }
  if (optimizer) S->net->train.lr = o->lr; /* the trainer's --lr default */
  snprintf(out, 512, "%s", spec);
  return true;
}

/* optimizer = adam(...): plain Adam, its values compiled in (no spec). */
static void exec_adam(Sema *S, Scope *sc, CnnExpr *e) {
  CnnTrainConfig *t = &S->net->train;
  char spec[512];
  RtOptim o;
  if (!exec_spec(S, sc, e, spec, &o)) return;
  t->lr = o.lr;
  t->beta1 = o.beta1;
  t->beta2 = o.beta2;
  t->eps = o.eps;
  t->weight_decay = o.weight_decay;
}

/* augment { crop = N, flip = true }, the trainer's --augment crop=N,flip. */
static void exec_augment(Sema *S, Scope *sc, CnnExpr *e) {
  CnnTrainConfig *t = &S->net->train;
  for (CnnArg *a = e->args; a; a = a->next) {
    Value v = eval(S, sc, a->value);
    int64_t x;
    if (a->keyword && !strcmp(a->keyword, "crop")) {
      if (setting_int(S, a, v, 0, 1 << 16, &x)) t->augment_crop = (int)x;
    } else if (a->keyword && !strcmp(a->keyword, "flip")) {
      if (v.kind == V_BOOL)
        t->augment_flip = v.i != 0;
      else if (v.kind != V_POISON)
        cnn_error(S->diags, a->loc, "flip must be true or false, not %s", kind_name(v.kind));
    } else {
      cnn_error(S->diags, a->loc, "augment has no setting '%s'", a->keyword ? a->keyword : "(positional)");
      cnn_hint(S->diags, "augment { crop = 4, flip = true }");
    }
  }
}

static void exec_train(Sema *S, Scope *sc, CnnStmt *s) {
  if (S->train_set) cnn_error(S->diags, s->loc, "the network already has a train section");
  S->train_set = true;
  CnnTrainConfig *t = &S->net->train;
  for (CnnStmt *st = s->body; st; st = st->next) {
    if (st->kind != STMT_ASSIGN || !st->name) {
      cnn_error(S->diags, st->loc, "the train section holds settings: optimizer, schedule, clip, batch, epochs, seed");
      continue;
    }
    CnnArg a = {.keyword = st->name, .loc = st->loc};
    int64_t x;
    if (!strcmp(st->name, "optimizer")) {
      if (st->value->kind != AST_CALL) {
        cnn_error(S->diags, st->value->loc, "the optimizer is adam(...), adamw(...) or sgd(...)");
        continue;
      }
      t->optimizer[0] = '\0'; /* the last one counts */
      if (!strcmp(st->value->name, "adam"))
        exec_adam(S, sc, st->value);
      else
        exec_spec(S, sc, st->value, t->optimizer, &(RtOptim){0});
    } else if (!strcmp(st->name, "schedule")) {
      if (st->value->kind != AST_CALL) {
        cnn_error(S->diags, st->value->loc, "the schedule is step(...), multistep(...), cosine(...) or onecycle(...)");
        continue;
      }
      exec_spec(S, sc, st->value, t->schedule, NULL);
    } else if (!strcmp(st->name, "clip")) {
      double x;
      if (!number_arg(S, eval(S, sc, st->value), st->loc, "clip", &x)) continue;
      if (x > 0 && isfinite(x))
        t->clip = x;
      else
        cnn_error(S->diags, st->loc, "clip = %g: the largest gradient norm must be positive", x);
    } else if (!strcmp(st->name, "batch")) {
      if (setting_int(S, &a, eval(S, sc, st->value), 1, 1 << 16, &x)) t->batch = (int)x;
    } else if (!strcmp(st->name, "epochs")) {
      if (setting_int(S, &a, eval(S, sc, st->value), 1, 1 << 20, &x)) t->epochs = (int)x;
    } else if (!strcmp(st->name, "seed")) {
      if (setting_int(S, &a, eval(S, sc, st->value), 0, INT64_MAX, &x)) t->seed = (uint64_t)x;
    } else if (!strcmp(st->name, "augment") && st->value->kind == AST_CALL &&
               !strcmp(st->value->name, "augment")) {
      exec_augment(S, sc, st->value);
    } else {
      cnn_error(S->diags, st->loc, "unknown train setting '%s'", st->name);
      cnn_hint(S->diags, "settings are optimizer, schedule, clip, batch, epochs, seed, augment");
    }
  }
}

static const char *top_only(CnnStmtKind k) {
  switch (k) {
  case STMT_NETWORK: return "network";
  case STMT_INPUT: return "input";
  case STMT_OUTPUT: return "output";
  case STMT_LOSS: return "loss";
  case STMT_TRAIN: return "train";
  case STMT_BLOCK: return "block";
  default: return NULL;
  }
}

static void name_tensor(Sema *S, const char *name, Value v) {
  if (v.kind == V_TENSOR && !S->net->nodes[v.i].var) S->net->nodes[v.i].var = name;
}

/* `a, b = ...` and `for a, b in ...` unpack a tuple; one name binds it whole. */
static bool unpack(Sema *S, Scope *sc, CnnStmt *s, Value item) {
  if (item.kind == V_POISON) return false;
  int n = 0;
  for (CnnParam *p = s->params; p; p = p->next) n++;
  if (n == 1) {
    bind(S, sc, s->params->name, item);
    return true;
  }
  if ((item.kind != V_TUPLE && item.kind != V_LIST) || item.n != n) {
    cnn_error(S->diags, s->value->loc, "cannot unpack %s%s into %d names", kind_name(item.kind),
              item.kind == V_TUPLE || item.kind == V_LIST ? cnn_format(S->arena, " of %d", item.n) : "", n);
    for (CnnParam *p = s->params; p; p = p->next) bind(S, sc, p->name, poison);
    return false;
  }
  int i = n;
  for (CnnParam *p = s->params; p; p = p->next) {
    name_tensor(S, p->name, item.items[--i]);
    bind(S, sc, p->name, item.items[i]);
  }
  return true;
}

/* Runs statements; returns true when a `return` was executed (*ret set). */
static bool exec_list(Sema *S, Scope *sc, CnnStmt *s, Value *ret, bool top);

static bool exec_stmts(Sema *S, Scope *sc, CnnStmt *s, Value *ret, bool top) {
  if (s && S->nesting >= MAX_NESTING) return stop(S, s->loc, "statements nest more than 2000 deep");
  S->nesting++;
  bool returned = exec_list(S, sc, s, ret, top);
  S->nesting--;
  return returned;
}

static bool exec_list(Sema *S, Scope *sc, CnnStmt *s, Value *ret, bool top) {
  for (; s; s = s->next) {
    if (!step(S, s->loc)) return false;
    if (!top && top_only(s->kind)) {
      cnn_error(S->diags, s->loc, "'%s' is only allowed at the top level of the file", top_only(s->kind));
      continue;
    }
    switch (s->kind) {
    case STMT_NETWORK:
      if (S->name_set) cnn_error(S->diags, s->loc, "the network is already named '%s'", S->net->name);
      S->net->name = s->name;
      S->name_set = true;
      break;
    case STMT_INPUT: exec_input(S, sc, s); break;
    case STMT_ASSIGN: {
      Value v = eval(S, sc, s->value);
      if (s->params) {
        unpack(S, sc, s, v);
        break;
      }
      if (find_op(s->name) || find_block(S, s->name)) {
        cnn_error(S->diags, s->loc, "'%s' is an operator; choose another name", s->name);
        break;
      }
      name_tensor(S, s->name, v);
      bind(S, sc, s->name, v);
      break;
    }
    case STMT_OUTPUT: {
      if (S->output_set) {
        cnn_error(S->diags, s->loc, "the network already has an output");
        break;
      }
      S->output_set = true;
      Value v = eval_tensor(S, sc, s->value, "the output");
      if (v.kind == V_TENSOR) S->net->output = (int)v.i;
      break;
    }
    case STMT_LOSS: exec_loss(S, sc, s); break;
    case STMT_RETURN:
      if (top) {
        cnn_error(S->diags, s->loc, "'return' outside a block");
        break;
      }
      *ret = eval(S, sc, s->value);
      return true;
    case STMT_BLOCK: break; /* collected before execution */
    case STMT_FOR: {
      Value list = eval(S, sc, s->value);
      if (list.kind == V_POISON) break;
      if (list.kind != V_LIST && list.kind != V_TUPLE) {
        cnn_error(S->diags, s->value->loc, "'for' needs a list such as [1, 2, 4] or range(3), not %s",
                  kind_name(list.kind));
        break;
      }
      for (int i = 0; i < list.n && !S->stopped; i++) {
        if (!unpack(S, sc, s, list.items[i])) break;
        if (exec_stmts(S, sc, s->body, ret, top)) return true;
      }
      break;
    }
    case STMT_IF: {
      bool cond;
      if (!truthy(S, eval(S, sc, s->value), s->value->loc, &cond)) break;
      if (exec_stmts(S, sc, cond ? s->body : s->orelse, ret, top)) return true;
      break;
    }
    case STMT_TRAIN: exec_train(S, sc, s); break;
    }
  }
  return false;
}

/* ---- the whole program ---- */

static void collect_blocks(Sema *S, CnnStmt *program) {
  for (CnnStmt *s = program; s; s = s->next) {
    if (s->kind != STMT_BLOCK) continue;
    if (find_op(s->name) || !strcmp(s->name, "range") || !strcmp(s->name, "adam")) {
      cnn_error(S->diags, s->loc, "'%s' is a built-in operator; choose another name for the block", s->name);
      continue;
    }
    if (find_block(S, s->name)) {
      cnn_error(S->diags, s->loc, "block '%s' is defined twice", s->name);
      continue;
    }
    for (CnnParam *p = s->params; p; p = p->next)
      for (CnnParam *q = p->next; q; q = q->next)
        if (!strcmp(p->name, q->name)) cnn_error(S->diags, q->loc, "parameter '%s' appears twice", q->name);
    CnnStmt *copy = cnn_alloc(S->arena, sizeof *copy);
    *copy = *s;
    copy->next = S->blocks;
    S->blocks = copy;
  }
}

/* Layers that reach neither the output nor the loss are dropped. */
static void prune(Sema *S) {
  CnnNet *net = S->net;
  bool *live = cnn_alloc(S->arena, (size_t)net->nnodes);
  int *map = cnn_alloc(S->arena, sizeof *map * (size_t)net->nnodes);
  live[net->output] = true;
  if (net->loss_input >= 0) live[net->loss_input] = true;
  live[0] = true;
  for (int i = net->nnodes - 1; i >= 0; i--)
    if (live[i])
      for (int j = 0; j < net->nodes[i].ninputs; j++) live[net->nodes[i].inputs[j]] = true;
  int k = 0;
  for (int i = 0; i < net->nnodes; i++) {
    if (!live[i]) continue;
    map[i] = k;
    CnnNode n = net->nodes[i];
    n.id = k;
    for (int j = 0; j < n.ninputs; j++) n.inputs[j] = map[n.inputs[j]];
    net->nodes[k++] = n;
  }
  net->nnodes = k;
  net->output = map[net->output];
  if (net->loss_input >= 0) net->loss_input = map[net->loss_input];
}

static void totals(CnnNet *net) {
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    net->nparams += n->nparams;
    net->flops += n->flops;
    net->activation_bytes += cnn_shape_size(n->shape) * 4;
  }
}

const CnnNet *cnn_sema(CnnArena *a, CnnDiags *d, CnnStmt *program, const char *default_name) {
  CnnNet *net = cnn_alloc(a, sizeof *net);
  net->name = default_name;
  net->output = -1;
  net->loss_input = -1;
  net->train = (CnnTrainConfig){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                .weight_decay = 0, .batch = 64, .epochs = 5, .seed = 1};
  Sema S = {.arena = a, .diags = d, .net = net};
  Scope global = {0};
  collect_blocks(&S, program);
  Value unused;
  exec_stmts(&S, &global, program, &unused, true);
  if (d->nerrors) return NULL;
  CnnLoc end = {0};
  if (net->nnodes == 0) {
    cnn_error(d, end, "the network has no input; declare one, e.g. 'input x[1, 28, 28]'");
    return NULL;
  }
  if (net->output < 0) {
    if (net->loss_input < 0) {
      cnn_error(d, end, "the network has no output; add 'output NAME' or 'loss softmax_cross_entropy(NAME)'");
      return NULL;
    }
    net->output = net->loss_input;
  }
  prune(&S);
  totals(net);
  return net;
}
