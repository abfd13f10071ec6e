/* step.c - one optimizer step of a training run: the gradient clipped,
 * then SGD (sgd.c) or Adam and AdamW (adam.c). */
#include <math.h>

#include "cnnrt.h"
#include "internal.h"

/* torch.nn.utils.clip_grad_norm_: the 2-norm of all gradients; scaled by
 * max_norm / (norm + 1e-6) when that is below 1. Summed in double, in
 * order: the same on every thread count and MPI rank. */
static void clip_grads(float *g, size_t n, double max_norm)
{
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += (double)g[i] * g[i];
  float coef = (float)(max_norm / ((float)sqrt(sum) + 1e-6));
  if (coef < 1)
    for (size_t i = 0; i < n; i++)
      g[i] *= coef;
}

void rt_optim_step(const RtOptConfig *c, const RtOptim *o, float *p, float *g, float *m,
                   float *v, size_t n, long t)
{
  if (c->clip > 0)
    clip_grads(g, n, c->clip);
  if (o->kind == RT_OPT_SGD) {
    rt_sgd_step(p, g, m, n, o, t == 1);
    return;
  }
  const RtAdam adam = {o->lr, o->beta1, o->beta2, o->eps, o->weight_decay,
                       o->kind == RT_OPT_ADAMW};
  rt_adam_step(p, g, m, v, n, &adam, t);
}
