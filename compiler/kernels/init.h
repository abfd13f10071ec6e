/* count values uniform in +-1/sqrt(fan_in) from rng: PyTorch's default
 * initialization of convolution and dense weights and biases. */
static void init_uniform(real *p, long count, long fan_in, RtRng *rng) {
  const double bound = 1 / sqrt((double)fan_in);
  for (long i = 0; i < count; i++) p[i] = (real)rt_rng_uniform_range(rng, -bound, bound);
}
