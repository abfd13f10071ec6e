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
  /* OneCycleLR divides by both phases' lengths */
  if (s->kind == RT_SCHED_ONECYCLE &&
      (s->pct_start * s->epochs * (double)steps < 2 || s->pct_start * s->epochs * (double)steps >= s->epochs * (double)steps))
    return rt_fail(err, errlen, "onecycle: pct_start=%g of %g steps leaves a phase without steps",
                   s->pct_start, s->epochs * (double)steps);
  return 0;
}

/* OneCycleLR's annealing from start to end, pct of the way. */
static double anneal_cos(double start, double end, double pct)
{
  return end + (start - end) / 2.0 * (cos(PI * pct) + 1);
}

/* OneCycleLR (two phases, anneal_strategy 'cos') at step k (0-based) of
 * total: the lr, and the momentum into *mom. */
static double one_cycle(const RtSchedule *s, long k, long total, double *mom)
{
  double initial = s->max_lr / s->div_factor, min_lr = initial / s->final_div_factor;
  double end1 = s->pct_start * (double)total - 1, end2 = (double)total - 1;
  if ((double)k <= end1) {
    double pct = (double)k / end1;
    *mom = anneal_cos(s->max_momentum, s->base_momentum, pct);
    return anneal_cos(initial, s->max_lr, pct);
  }
  double pct = ((double)k - end1) / (end2 - end1);
  *mom = anneal_cos(s->base_momentum, s->max_momentum, pct);
  return anneal_cos(s->max_lr, min_lr, pct);
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
