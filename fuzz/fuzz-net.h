/* fuzz-net.h - a tiny fixed network for the checkpoint harness and for
 * fuzz/make-checkpoint.c, which writes the seed checkpoints for it.
 *
 * "fuzznet": input [4], a dense layer to 2 logits (8 weights, 2 biases:
 * nparams 10), 2 buffers, softmax cross-entropy. Its functions are real
 * enough for rt_main to train it: forward reads every input and label of
 * the batch it is given and checks n against setup's max_batch, so that a
 * runtime passing a wrong batch size shows up under AddressSanitizer. */
#ifndef CNNCC_FUZZ_NET_H
#define CNNCC_FUZZ_NET_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cnnrt.h"

#define FN_IN 4
#define FN_OUT 2
#define FN_NPARAMS (FN_OUT * FN_IN + FN_OUT)
#define FN_NBUFFERS 2
#define FN_ARCH_HASH UINT64_C(0x66757a7a6e657431) /* "fuzznet1" */

static float fn_params[FN_NPARAMS], fn_grads[FN_NPARAMS], fn_buffers[FN_NBUFFERS];
static float *fn_act, *fn_x_last;
static int fn_max_batch;

static void fn_fail(const char *what)
{
  fprintf(stderr, "fuzznet: the runtime broke the RtNet contract: %s\n", what);
  abort();
}

static int fn_setup(int max_batch)
{
  /* As generated code would, take 0 (forward then checks n). */
  if (max_batch < 0)
    fn_fail("setup() with max_batch < 0");
  size_t b = max_batch ? (size_t)max_batch : 1;
  float *a = realloc(fn_act, b * FN_OUT * sizeof *a);
  float *x = realloc(fn_x_last, b * FN_IN * sizeof *x);
  if (a)
    fn_act = a;
  if (x)
    fn_x_last = x;
  if (!a || !x)
    return -1;
  fn_max_batch = max_batch;
  return 0;
}

static void fn_init(uint64_t seed)
{
  RtRng r;
  rt_rng_seed(&r, seed);
  for (int i = 0; i < FN_NPARAMS; i++)
    fn_params[i] = (float)rt_rng_uniform_range(&r, -0.5, 0.5);
  fn_buffers[0] = 0;
  fn_buffers[1] = 1;
}

static float fn_forward(const float *x, const int32_t *labels,
                        const float *targets, int n, int training,
                        uint64_t dropout_seed, long *correct)
{
  (void)targets, (void)training, (void)dropout_seed;
  if (n < 1 || n > fn_max_batch)
    fn_fail("forward() with n outside 1..max_batch");
  double loss = 0;
  for (int s = 0; s < n; s++) {
    float *z = fn_act + s * FN_OUT;
    for (int o = 0; o < FN_OUT; o++) {
      z[o] = fn_params[FN_OUT * FN_IN + o];
      for (int i = 0; i < FN_IN; i++)
        z[o] += fn_params[o * FN_IN + i] * x[s * FN_IN + i];
    }
    for (int i = 0; i < FN_IN; i++)
      fn_x_last[s * FN_IN + i] = x[s * FN_IN + i];
    if (!labels)
      continue;
    if (labels[s] < 0 || labels[s] >= FN_OUT)
      fn_fail("forward() with a label out of range");
    double m = z[0] > z[1] ? z[0] : z[1];
    double lse = m + log(exp(z[0] - m) + exp(z[1] - m));
    loss += lse - z[labels[s]];
    *correct += (z[1] > z[0]) == (labels[s] == 1);
  }
  return (float)(loss / n);
}

static void fn_backward(int n)
{
  if (n < 1 || n > fn_max_batch)
    fn_fail("backward() with n outside 1..max_batch");
  for (int i = 0; i < FN_NPARAMS; i++)
    fn_grads[i] = 0;
  for (int s = 0; s < n; s++)
    for (int o = 0; o < FN_OUT; o++) {
      float g = fn_act[s * FN_OUT + o] / (float)n * 0.01f;
      fn_grads[FN_OUT * FN_IN + o] += g;
      for (int i = 0; i < FN_IN; i++)
        fn_grads[o * FN_IN + i] += g * fn_x_last[s * FN_IN + i];
    }
}

static const float *fn_output(void)
{
  return fn_act;
}

static const RtNet fuzznet = {
    .name = "fuzznet",
    .in_rank = 1, .in_dim = {FN_IN},
    .out_rank = 1, .out_dim = {FN_OUT},
    .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY,
    .nparams = FN_NPARAMS, .params = fn_params, .grads = fn_grads,
    .nbuffers = FN_NBUFFERS, .buffers = fn_buffers,
    .arch_hash = FN_ARCH_HASH,
    .defaults = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                 .batch = 2, .epochs = 2, .seed = 1},
    .setup = fn_setup, .init = fn_init, .forward = fn_forward,
    .backward = fn_backward, .output = fn_output,
};

#endif
