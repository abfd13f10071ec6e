/* sgd.c - torch.optim.SGD (PyTorch 1.13, single-tensor, maximize=False).
 *
 * As in adam.c: scalars in double cast to float once, element-wise work in
 * float, in PyTorch's order. */
#include "cnnrt.h"
#include "internal.h"

/* One element: d = g + wd * p; the buffer b = d on the first step (torch
 * clones the gradient), else momentum * b + (1 - dampening) * d; the
 * direction is d + momentum * b (Nesterov) or b; p += -lr * direction.
 * Without momentum torch keeps no buffer: first is set and b is d. */
static inline void sgd_one(float *restrict p, const float *restrict g, float *restrict buf,
                           size_t i, float wd, float mom, float one_damp, float neg_lr,
                           int nesterov, int first)
{
  float d = g[i] + wd * p[i]; /* wd == 0: g itself for finite p */
  float b = first ? d : mom * buf[i] + one_damp * d;
  buf[i] = b;
  p[i] += neg_lr * (nesterov ? d + mom * b : b);
}

RT_VECTOR_CLONES
void rt_sgd_step(float *restrict p, const float *restrict g, float *restrict buf, size_t n,
                 const RtOptim *o, int first)
{
  const float wd = (float)o->weight_decay, mom = (float)o->momentum;
  const float one_damp = (float)(1 - o->dampening), neg_lr = (float)-o->lr;
  const int nesterov = o->nesterov != 0;
  first = first || o->momentum == 0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (size_t j = i; j < i + 16; j++)
      sgd_one(p, g, buf, j, wd, mom, one_damp, neg_lr, nesterov, first);
  for (; i < n; i++)
    sgd_one(p, g, buf, i, wd, mom, one_damp, neg_lr, nesterov, first);
}
