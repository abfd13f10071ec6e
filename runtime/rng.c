/* rng.c - the out-of-line parts of the random number generator. */
#include "cnnrt.h"

uint64_t rt_rng_below(RtRng *r, uint64_t n)
{
  /* Reject the low values that would make `% n` favour small results. */
  uint64_t threshold = -n % n;
  for (;;) {
    uint64_t x = rt_rng_next_u64(r);
    if (x >= threshold)
      return x % n;
  }
}

void rt_epoch_order(long *order, long n, uint64_t seed, long epoch)
{
  RtRng rng;
  rt_rng_seed(&rng, rt_hash64(seed, (uint64_t)epoch, RT_SALT_SHUFFLE));
  for (long i = 0; i < n; i++)
    order[i] = i;
  /* Fisher-Yates from the identity, so the order depends on the epoch
   * alone and not on what earlier epochs drew. */
  for (long i = n - 1; i > 0; i--) {
    long j = (long)rt_rng_below(&rng, (uint64_t)i + 1);
    long tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
}
