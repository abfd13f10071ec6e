/* optim.c - the optimizer and schedule specs ("sgd(lr=0.1,momentum=0.9)",
 * "cosine(warmup=2)") of the train block and the trainer's --optimizer and
 * --schedule. One table of arguments per form drives parsing, checking
 * and printing alike. cnncc's front end checks the train block with it
 * too (compiler/local.mk). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "internal.h"

/* What an argument may be: r a positive number, n a number >= 0, b a
 * number in [0, 1), p in (0, 1), c a whole number >= 1, w one >= 0, t
 * true or false (an int), l a list of whole numbers >= 1, increasing, P a
 * pair "(x, y)" (or "[x, y]") of b's into two doubles (Adam's betas). */
typedef struct {
  const char *name;
  size_t offset;
  char type;
} Arg;

/* args[0, nmain): by name or in that order (torch.optim's), and printed;
 * args[nmain, nargs): other names, by name only (beta1, beta2). */
typedef struct {
  const char *name, *example;
  int kind;
  const Arg *args;
  int nargs, nmain;
} Form;

#define O(f) offsetof(RtOptim, f)
static const Arg sgd_args[] = {{"lr", O(lr), 'r'},           {"momentum", O(momentum), 'n'},
                               {"dampening", O(dampening), 'n'},
                               {"weight_decay", O(weight_decay), 'n'},
                               {"nesterov", O(nesterov), 't'}};
static const Arg adam_args[] = {{"lr", O(lr), 'r'},
                                {"betas", O(beta1), 'P'}, /* beta2 follows beta1 */
                                {"eps", O(eps), 'r'},
                                {"weight_decay", O(weight_decay), 'n'},
                                {"beta1", O(beta1), 'b'},
                                {"beta2", O(beta2), 'b'}};
#undef O
#define S(f) offsetof(RtSchedule, f)
static const Arg step_args[] = {{"step_size", S(step_size), 'c'}, {"gamma", S(gamma), 'r'}};
static const Arg multistep_args[] = {{"milestones", S(milestones), 'l'}, {"gamma", S(gamma), 'r'}};
static const Arg cosine_args[] = {{"warmup", S(warmup), 'w'}, {"epochs", S(epochs), 'w'}};
static const Arg onecycle_args[] = {
    {"max_lr", S(max_lr), 'r'},           {"pct_start", S(pct_start), 'p'},
    {"div_factor", S(div_factor), 'r'},   {"final_div_factor", S(final_div_factor), 'r'},
    {"base_momentum", S(base_momentum), 'b'}, {"max_momentum", S(max_momentum), 'b'},
    {"cycle_momentum", S(cycle_momentum), 't'}, {"epochs", S(epochs), 'w'},
    {"three_phase", S(three_phase), 't'}};
#undef S

#define NARGS(args) (int)(sizeof args / sizeof *args)
#define FORM(name, example, kind, args) {name, example, kind, args, NARGS(args), NARGS(args)}
#define ADAM_FORM(name, example, kind) {name, example, kind, adam_args, NARGS(adam_args), 4}
static const Form optimizers[] = {
    FORM("sgd", "sgd(lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=false)",
         RT_OPT_SGD, sgd_args),
    ADAM_FORM("adam", "adam(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)",
              RT_OPT_ADAM),
    ADAM_FORM("adamw", "adamw(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)",
              RT_OPT_ADAMW)};
static const Form schedules[] = {
    {"none", "none", RT_SCHED_NONE, NULL, 0, 0},
    FORM("step", "step(step_size=2, gamma=0.1)", RT_SCHED_STEP, step_args),
    FORM("multistep", "multistep(milestones=[2, 4], gamma=0.1)", RT_SCHED_MULTISTEP,
         multistep_args),
    FORM("cosine", "cosine(warmup=2)", RT_SCHED_COSINE, cosine_args),
    FORM("onecycle", "onecycle(max_lr=0.1, pct_start=0.3)", RT_SCHED_ONECYCLE, onecycle_args)};
#undef ADAM_FORM
#undef FORM
#undef NARGS

/* torch.optim's defaults for each form (SGD has none for lr: required). */
static const RtOptim optim_defaults[] = {
    [RT_OPT_SGD] = {RT_OPT_SGD, 0, 0.9, 0.999, 1e-8, 0, 0, 0, 0},
    [RT_OPT_ADAM] = {RT_OPT_ADAM, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0},
    [RT_OPT_ADAMW] = {RT_OPT_ADAMW, 1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0, 0}};
static const RtSchedule sched_defaults = {.gamma = 0.1, .pct_start = 0.3, .div_factor = 25,
                                          .final_div_factor = 1e4, .base_momentum = 0.85,
                                          .max_momentum = 0.95, .cycle_momentum = 1};

static const char *skip_space(const char *s)
{
  while (isspace((unsigned char)*s))
    s++;
  return s;
}

/* A list "[2, 4]" into the milestones of sch (the only list). */
static const char *parse_list(const char *s, RtSchedule *sch)
{
  double *x = sch->milestones;
  int n = 0;
  s = skip_space(s + 1);
  while (*s != ']') {
    char *end;
    if (n == RT_MAX_MILESTONES)
      return NULL;
    x[n++] = strtod(s, &end);
    if (end == s)
      return NULL;
    s = skip_space(end);
    if (*s == ',')
      s = skip_space(s + 1);
    else if (*s != ']')
      return NULL;
  }
  sch->nmilestones = n;
  return s + 1;
}

static int valid(char type, double x)
{
  switch (type) {
  case 'r': return x > 0;
  case 'n': return x >= 0;
  case 'b': return x >= 0 && x < 1;
  case 'p': return x > 0 && x < 1;
  case 'c': return x >= 1 && x == floor(x) && x < 1e9;
  case 'w': return x >= 0 && x == floor(x) && x < 1e9;
  }
  return 1;
}

static int list_valid(const RtSchedule *s)
{
  for (int i = 0; i < s->nmilestones; i++)
    if (!valid('c', s->milestones[i]) || (i && s->milestones[i] <= s->milestones[i - 1]))
      return 0;
  return s->nmilestones > 0;
}

/* A number of type `type` at s into *x; the text after it, or NULL. */
static const char *parse_number(const char *s, char type, double *x)
{
  char *end;
  errno = 0;
  *x = strtod(s, &end);
  return end == s || errno || !isfinite(*x) || !valid(type, *x) ? NULL : end;
}

/* A pair "(x, y)" or "[x, y]" of numbers in [0, 1) into x[0], x[1]. */
static const char *parse_pair(const char *s, double *x)
{
  char close = *s == '(' ? ')' : *s == '[' ? ']' : 0;
  if (!close || !(s = parse_number(skip_space(s + 1), 'b', &x[0])))
    return NULL;
  s = skip_space(s);
  if (*s != ',' || !(s = parse_number(skip_space(s + 1), 'b', &x[1])))
    return NULL;
  s = skip_space(s);
  return *s == close ? s + 1 : NULL;
}

/* One value of argument a at s into base; the text after it, or NULL. */
static const char *parse_value(const char *s, const Arg *a, void *base)
{
  void *dst = (char *)base + a->offset;
  if (a->type == 'P')
    return parse_pair(s, dst);
  if (a->type == 'l')
    return *s == '[' && (s = parse_list(s, base)) && list_valid(base) ? s : NULL;
  if (a->type == 't') {
    size_t len = strncmp(s, "true", 4) == 0 ? 4 : strncmp(s, "false", 5) == 0 ? 5 : 0;
    *(int *)dst = len == 4;
    return len && !isalnum((unsigned char)s[len]) ? s + len : NULL;
  }
  return parse_number(s, a->type, dst);
}

static const Arg *find_arg(const Form *f, const char *name, size_t len)
{
  for (int i = 0; i < f->nargs; i++)
    if (strlen(f->args[i].name) == len && strncmp(f->args[i].name, name, len) == 0)
      return &f->args[i];
  return NULL;
}

/* The arguments of form f after its name: "(k=v, v, ...)" or nothing. */
static int parse_args(const char *s, const Form *f, void *base, const char *spec, char *err,
                      size_t errlen)
{
  int positional = 0;
  s = skip_space(s);
  if (!*s)
    return 0;
  if (*s++ != '(')
    return rt_fail(err, errlen, "'%s': expected '(' after %s", spec, f->name);
  for (s = skip_space(s); *s != ')';) {
    const char *name = s;
    while (isalnum((unsigned char)*s) || *s == '_')
      s++;
    const char *eq = skip_space(s);
    const Arg *a = *eq == '=' ? find_arg(f, name, (size_t)(s - name))
                              : positional < f->nmain ? &f->args[positional++] : NULL;
    if (!a)
      return rt_fail(err, errlen, "'%s': %s has no argument '%.*s' (%s)", spec, f->name,
                     (int)(*eq == '=' ? s - name : (long)strcspn(name, ",)")), name, f->example);
    const char *value = *eq == '=' ? skip_space(eq + 1) : name;
    if (!(s = parse_value(value, a, base)))
      return rt_fail(err, errlen, "'%s': bad value for %s's %s (%s)", spec, f->name, a->name,
                     f->example);
    s = skip_space(s);
    if (*s == ',')
      s = skip_space(s + 1);
    else if (*s != ')')
      return rt_fail(err, errlen, "'%s': expected ',' or ')' after %s", spec, a->name);
  }
  if (*skip_space(s + 1))
    return rt_fail(err, errlen, "'%s': unexpected text after ')'", spec);
  return 0;
}

/* The form that spec names, from forms[0..n). */
static const Form *find_form(const char *spec, const Form *forms, int n, const char *what,
                             char *err, size_t errlen)
{
  const char *s = skip_space(spec);
  size_t len = 0;
  while (isalnum((unsigned char)s[len]) || s[len] == '_')
    len++;
  for (int i = 0; i < n; i++)
    if (strlen(forms[i].name) == len && strncmp(forms[i].name, s, len) == 0)
      return &forms[i];
  char names[256] = "";
  for (int i = 0; i < n; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
             forms[i].name);
  rt_fail(err, errlen, "'%s' is not %s (%s)", spec, what, names);
  return NULL;
}

int rt_optim_parse(const char *spec, RtOptim *o, char *err, size_t errlen)
{
  const Form *f = find_form(spec, optimizers, 3, "an optimizer", err, errlen);
  if (!f)
    return -1;
  RtOptim x = optim_defaults[f->kind];
  if (parse_args(skip_space(spec) + strlen(f->name), f, &x, spec, err, errlen))
    return -1;
  if (x.kind == RT_OPT_SGD && x.lr == 0)
    return rt_fail(err, errlen, "'%s': sgd needs lr (%s)", spec, f->example);
  if (x.nesterov && (x.momentum == 0 || x.dampening != 0))
    return rt_fail(err, errlen, "'%s': Nesterov momentum requires a momentum and zero dampening",
                   spec);
  *o = x;
  return 0;
}

int rt_schedule_parse(const char *spec, RtSchedule *s, char *err, size_t errlen)
{
  const Form *f = find_form(spec, schedules, 5, "a schedule", err, errlen);
  if (!f)
    return -1;
  RtSchedule x = sched_defaults;
  x.kind = (RtSchedKind)f->kind;
  if (parse_args(skip_space(spec) + strlen(f->name), f, &x, spec, err, errlen))
    return -1;
  if ((x.kind == RT_SCHED_STEP && x.step_size == 0) ||
      (x.kind == RT_SCHED_MULTISTEP && x.nmilestones == 0) ||
      (x.kind == RT_SCHED_ONECYCLE && x.max_lr == 0))
    return rt_fail(err, errlen, "'%s': %s needs its first argument (%s)", spec, f->name,
                   f->example);
  if (x.kind == RT_SCHED_ONECYCLE && x.base_momentum > x.max_momentum)
    return rt_fail(err, errlen, "'%s': base_momentum is above max_momentum", spec);
  *s = x;
  return 0;
}

/* x in the shorter of %.15g and %.17g that reads back as x. */
static int format_number(char *buf, size_t len, double x)
{
  int n = snprintf(buf, len, "%.15g", x);
  return strtod(buf, NULL) == x ? n : snprintf(buf, len, "%.17g", x);
}

static size_t format_list(char *buf, size_t len, const RtSchedule *sch)
{
  size_t used = 0;
  for (int k = 0; k < sch->nmilestones && used + 1 < len; k++) {
    buf[used++] = k ? ',' : '[';
    used += (size_t)format_number(buf + used, len - used, sch->milestones[k]);
  }
  return used < len ? used + (size_t)snprintf(buf + used, len - used, "]") : used;
}

static size_t format_pair(char *buf, size_t len, const double *x)
{
  size_t used = (size_t)snprintf(buf, len, "(");
  if (used < len)
    used += (size_t)format_number(buf + used, len - used, x[0]);
  if (used < len)
    used += (size_t)snprintf(buf + used, len - used, ",");
  if (used < len)
    used += (size_t)format_number(buf + used, len - used, x[1]);
  return used < len ? used + (size_t)snprintf(buf + used, len - used, ")") : used;
}

static void format(char *buf, size_t len, const Form *f, const void *base)
{
  size_t used = (size_t)snprintf(buf, len, "%s(", f->name);
  for (int i = 0; i < f->nmain && used < len; i++) {
    const Arg *a = &f->args[i];
    const void *v = (const char *)base + a->offset;
    used += (size_t)snprintf(buf + used, len - used, "%s%s=", i ? "," : "", a->name);
    if (a->type == 't')
      used += (size_t)snprintf(buf + used, len - used, "%s", *(const int *)v ? "true" : "false");
    else if (a->type == 'P')
      used += format_pair(buf + used, len - used, v);
    else if (a->type != 'l')
      used += (size_t)format_number(buf + used, len - used, *(const double *)v);
    else
      used += format_list(buf + used, len - used, base);
  }
  if (used < len)
    snprintf(buf + used, len - used, ")");
}

void rt_optim_format(char *buf, size_t len, const RtOptim *o)
{
  const Form *f = &optimizers[o->kind == RT_OPT_SGD ? 0 : o->kind == RT_OPT_ADAM ? 1 : 2];
  format(buf, len, f, o);
}

void rt_schedule_format(char *buf, size_t len, const RtSchedule *s)
{
  if (s->kind == RT_SCHED_NONE)
    snprintf(buf, len, "none");
  else
    format(buf, len, &schedules[s->kind], s);
}

int rt_optconfig_is_plain(const RtOptConfig *c)
{
  return c->opt.kind == RT_OPT_ADAM && c->sched.kind == RT_SCHED_NONE && c->clip == 0;
}
