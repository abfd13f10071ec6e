/* schedule.c - the learning rate (and, for onecycle, the momentum) of
 * each optimizer step, as torch.optim.lr_scheduler (PyTorch 1.13) sets
 * them: step, multistep and cosine once per epoch (scheduler.step() after
 * each epoch), onecycle once per optimizer step. */
#include <math.h>
#include <stdio.h>

#include "cnnrt.h"
#include "internal.h"

#define PI 3.14159265358979323846 /* math.pi */

int rt_schedule_check(RtSchedule *s, long epochs, long steps, char *err, size_t errlen)
{
  if (s->kind != RT_SCHED_COSINE && s->kind != RT_SCHED_ONECYCLE)
    return 0;
  if (s->epochs == 0)
    s->epochs = (double)epochs;
  if ((double)epochs > s->epochs)
    return rt_fail(err, errlen, "the schedule is laid out over %g epochs, but the run has %ld (give the schedule epochs=%ld)",
                   s->epochs, epochs, epochs);
  if (s->kind == RT_SCHED_COSINE && s->warmup >= s->epochs)
    return rt_fail(err, errlen, "cosine(warmup=%g) needs more than %g epochs, but it has %g",
                   s->warmup, s->warmup, s->epochs);
  /* OneCycleLR divides by each phase's length; the last one starts at
   * step P - 1 (three phases: 2P - 2) of the total, P = pct_start x total */
  double total = s->epochs * (double)steps, first = s->pct_start * total;
  double last_start = s->three_phase ? 2 * first - 2 : first - 1;
  if (s->kind == RT_SCHED_ONECYCLE && (first < 2 || last_start >= total - 1))
    return rt_fail(err, errlen, "onecycle: pct_start=%g of %g steps leaves a phase without steps%s",
                   s->pct_start, total, s->three_phase ? " (three_phase: the first two take 2 x pct_start of them)" : "");
  return 0;
}

/* OneCycleLR's annealing from start to end, pct of the way. */
static double anneal_cos(double start, double end, double pct)
{
  return end + (start - end) / 2.0 * (cos(PI * pct) + 1);
}

/* OneCycleLR (two phases, anneal_strategy 'cos') at step k (0-based) of
 * total: the lr, and the momentum into *mom. */
/* OneCycleLR at step k of total: cosine annealing through its phases,
 * each from the end of the one before (torch's phase table): up from
 * max_lr / div_factor to max_lr, then down to that over final_div_factor;
 * three_phase goes back down to the start before the last one. The
 * momentum moves against the lr; in the third phase it stays at its max. */
typedef struct {
  double end, lr0, lr1, mom0, mom1; /* the last step; lr and momentum from, to */
} Phase;

static double one_cycle(const RtSchedule *s, long k, long total, double *mom)
{
  double initial = s->max_lr / s->div_factor, min_lr = initial / s->final_div_factor;
  double first = s->pct_start * (double)total;
  Phase phase[3] = {{first - 1, initial, s->max_lr, s->max_momentum, s->base_momentum},
                {(double)total - 1, s->max_lr, min_lr, s->base_momentum, s->max_momentum},
                {0, 0, 0, 0, 0}};
  int n = 2;
  if (s->three_phase) {
    phase[1].end = 2 * first - 2;
    phase[1].lr1 = initial;
    phase[2] = (Phase){(double)total - 1, initial, min_lr, s->max_momentum, s->max_momentum};
    n = 3;
  }
  double start = 0;
  int i = 0;
  while (i < n - 1 && (double)k > phase[i].end)
    start = phase[i++].end;
  double pct = ((double)k - start) / (phase[i].end - start);
  *mom = anneal_cos(phase[i].mom0, phase[i].mom1, pct);
  return anneal_cos(phase[i].lr0, phase[i].lr1, pct);
}

/* The factor of the base lr in epoch e: StepLR and MultiStepLR multiply
 * by gamma at each boundary (in that order, as torch's chained form);
 * cosine is LinearLR(start_factor=1/(warmup+1), total_iters=warmup) for
 * the warm-up epochs, then CosineAnnealingLR(T_max=epochs-warmup,
 * eta_min=0) (SequentialLR with milestones=[warmup]). */
static double epoch_lr(const RtSchedule *s, double base, long e)
{
  double lr = base;
  switch (s->kind) {
  case RT_SCHED_STEP:
    for (long k = 1; k <= e / (long)s->step_size; k++)
      lr *= s->gamma;
    return lr;
  case RT_SCHED_MULTISTEP:
    for (int k = 0; k < s->nmilestones && s->milestones[k] <= (double)e; k++)
      lr *= s->gamma;
    return lr;
  case RT_SCHED_COSINE:
    if ((double)e < s->warmup)
      return base * (double)(e + 1) / (s->warmup + 1);
    return base * (1 + cos(PI * ((double)e - s->warmup) / (s->epochs - s->warmup))) / 2;
  default:
    return lr;
  }
}

RtOptim rt_schedule_at(const RtOptConfig *c, long t, long epoch, long steps)
{
  RtOptim o = c->opt;
  if (c->sched.kind != RT_SCHED_ONECYCLE) {
    o.lr = epoch_lr(&c->sched, o.lr, epoch);
    return o;
  }
  double mom;
  o.lr = one_cycle(&c->sched, t - 1, (long)c->sched.epochs * steps, &mom);
  if (c->sched.cycle_momentum && o.kind == RT_OPT_SGD)
    o.momentum = mom;
  else if (c->sched.cycle_momentum)
    o.beta1 = mom;
  return o;
}
