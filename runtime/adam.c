/* adam.c - torch.optim.Adam (PyTorch 1.13, single-tensor, amsgrad=False).
 *
 * PyTorch computes the scalars in double and casts them to float once; the
 * element-wise work is float. The operations are kept in PyTorch's order
 * (addcdiv multiplies by the step size before dividing) so results agree to
 * rounding. The loop is branch-free so that it vectorizes. */
#include <math.h>

#include "cnnrt.h"

void rt_adam_step(float *restrict p, const float *restrict g,
                  float *restrict m, float *restrict v, size_t n,
                  const RtAdam *cfg, long t)
{
  const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
  const float one_b1 = (float)(1 - cfg->beta1), one_b2 = (float)(1 - cfg->beta2);
  const float wd = (float)cfg->weight_decay, eps = (float)cfg->eps;
  const float bc2_sqrt = (float)sqrt(1 - pow(cfg->beta2, (double)t));
  const float neg_step = (float)-(cfg->lr / (1 - pow(cfg->beta1, (double)t)));

  for (size_t i = 0; i < n; i++) {
    /* With wd == 0 this adds 0 * p, which is g itself for finite p. */
    float gi = g[i] + wd * p[i];
    m[i] = b1 * m[i] + one_b1 * gi;
    v[i] = b2 * v[i] + one_b2 * gi * gi;
    float denom = sqrtf(v[i]) / bc2_sqrt + eps;
    p[i] += neg_step * m[i] / denom;
  }
}
