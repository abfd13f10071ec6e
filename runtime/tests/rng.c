/* rng.c - the generator, the stateless hash and the epoch order. */
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "tap.h"

int main(void)
{
  /* Expected values: a Python transcription of the reference splitmix64.c
   * and xoshiro256starstar.c (prng.di.unimi.it); splitmix64's first output
   * from state 0 is the published 0xe220a8397b1dcdaf. */
  uint64_t state = 0;
  tap_ok(rt_splitmix64(&state) == 0xe220a8397b1dcdafu, "splitmix64 reference value");
  RtRng r;
  rt_rng_seed(&r, 42);
  uint64_t a = rt_rng_next_u64(&r), b = rt_rng_next_u64(&r), c = rt_rng_next_u64(&r);
  tap_ok(a == 0x15780b2e0c2ec716u && b == 0x6104d9866d113a7eu && c == 0xae17533239e499a1u,
     "xoshiro256** seeded through splitmix64 matches the reference");
  tap_ok(rt_hash64(1, 2, 3) == 0xd0734750fde362b3u, "rt_hash64 value is fixed");
  tap_ok(rt_hash64(1, 2, 3) != rt_hash64(1, 3, 2) && rt_hash64(1, 2, 3) != rt_hash64(2, 2, 3),
     "rt_hash64 depends on every argument and their order");

  int in_range = 1, below_ok = 1, hist[10] = {0};
  double sum = 0;
  for (int i = 0; i < 100000; i++) {
    double u = rt_rng_uniform(&r), v = rt_rng_uniform_range(&r, -2, 3);
    uint64_t k = rt_rng_below(&r, 10);
    in_range &= u >= 0 && u < 1 && v >= -2 && v < 3;
    below_ok &= k < 10;
    if (k < 10)
      hist[k]++;
    sum += u;
  }
  tap_ok(in_range, "uniform in [0,1) and uniform_range in [a,b)");
  tap_ok(sum / 100000 > 0.49 && sum / 100000 < 0.51, "uniform has mean 1/2 (%.4f)", sum / 100000);
  int flat = below_ok;
  for (int k = 0; k < 10; k++)
    flat &= hist[k] > 9500 && hist[k] < 10500;
  tap_ok(flat, "rt_rng_below(10) stays below 10 and is flat");

  enum { N = 1000 };
  static long o1[N], o2[N], o3[N];
  rt_epoch_order(o1, N, 7, 3);
  rt_epoch_order(o2, N, 7, 3);
  rt_epoch_order(o3, N, 7, 4);
  int seen[N] = {0}, perm = 1;
  for (int i = 0; i < N; i++)
    perm &= o1[i] >= 0 && o1[i] < N && !seen[o1[i]]++;
  tap_ok(perm, "an epoch order is a permutation");
  tap_ok(memcmp(o1, o2, sizeof o1) == 0, "the same seed and epoch give the same order");
  tap_ok(memcmp(o1, o3, sizeof o1) != 0, "another epoch gives another order");
  tap_ok(rt_dropout_seed(7, 5) == rt_hash64(7, 5, RT_SALT_DROPOUT) &&
     rt_dropout_seed(7, 5) != rt_dropout_seed(7, 6), "dropout seeds differ per step");
  return tap_done();
}
