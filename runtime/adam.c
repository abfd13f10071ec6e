/* adam.c - torch.optim.Adam (PyTorch 1.13, single-tensor, amsgrad=False).
 *
 * PyTorch computes the scalars in double and casts them to float once; the
 * element-wise work is float. The operations are kept in PyTorch's order
 * (addcdiv multiplies by the step size before dividing) so results agree to
 * rounding. */
#include <math.h>

#include "cnnrt.h"
#include "internal.h"

/* One element of the update, in PyTorch's order. */
static inline void adam_one(float *restrict p, const float *restrict g, float *restrict m,
                            float *restrict v, size_t i, float b1, float b2, float one_b1,
                            float one_b2, float decay, float wd, float eps, float bc2_sqrt,
                            float neg_step)
{
  /* AdamW's decoupled decay; Adam's decay is 1, which leaves p's bits. */
  p[i] *= decay;
  /* With wd == 0 this adds 0 * p, which is g itself for finite p. */
  float gi = g[i] + wd * p[i];
  m[i] = b1 * m[i] + one_b1 * gi;
  v[i] = b2 * v[i] + one_b2 * gi * gi;
  float denom = sqrtf(v[i]) / bc2_sqrt + eps;
  p[i] += neg_step * m[i] / denom;
}

/* Blocks of 16 with a constant inner count vectorize even under gcc -O2's
 * cheap cost model (internal.h: RT_VECTOR_CLONES). */
RT_VECTOR_CLONES
void rt_adam_step(float *restrict p, const float *restrict g,
                  float *restrict m, float *restrict v, size_t n,
                  const RtAdam *cfg, long t)
{
  const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
  const float one_b1 = (float)(1 - cfg->beta1), one_b2 = (float)(1 - cfg->beta2);
  const float wd = cfg->decoupled ? 0 : (float)cfg->weight_decay, eps = (float)cfg->eps;
  const float decay = cfg->decoupled ? (float)(1 - cfg->lr * cfg->weight_decay) : 1;
  const float bc2_sqrt = (float)sqrt(1 - pow(cfg->beta2, (double)t));
  const float neg_step = (float)-(cfg->lr / (1 - pow(cfg->beta1, (double)t)));
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (size_t j = i; j < i + 16; j++)
      adam_one(p, g, m, v, j, b1, b2, one_b1, one_b2, decay, wd, eps, bc2_sqrt, neg_step);
  for (; i < n; i++)
    adam_one(p, g, m, v, i, b1, b2, one_b1, one_b2, decay, wd, eps, bc2_sqrt, neg_step);
}
