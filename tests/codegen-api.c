/* codegen-api.c - the API of the generated code, for tests/codegen.sh:
 * compiled with the float code of a network (cnncc NET.cnn -o NET.c),
 * -DCNNCC_NO_MAIN -DNET=name -DNETU=NAME -include NET.h, and libcnnrt.
 * Prints TAP. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(x) CAT(NET, x)
#define U(x) CAT(NETU, x)

typedef F(_real) real;


static uint64_t state = 42;
static double uniform(void) {
  uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

#define B 4

int main(void) {
  static real x[2 * B * U(_IN_SIZE)], p1[U(_NPARAMS)], g1[U(_NPARAMS)], out1[2 * B * U(_PRED_SIZE)],
      out2[2 * B * U(_PRED_SIZE)], buf[U(_NBUFFERS) + 1];
  static int32_t labels[B * U(_LABELS)];
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (real)uniform();
  for (int i = 0; i < B * U(_LABELS); i++) labels[i] = (int32_t)(uniform() * U(_CLASSES));

  tap_ok(F(_setup)(0) == -1, "setup(0) fails");
  tap_ok(F(_setup)(B) == 0, "setup(4)");

  /* the tensor table covers both blocks in order, without gaps */
  long np = 0, nb = 0;
  int in_order = 1;
  for (int t = 0; t < U(_NTENSORS); t++) {
    const F(_tensor) *s = &F(_tensors)[t];
    long *next = s->learnable ? &np : &nb, count = 1;
    for (int d = 0; d < s->rank; d++) count *= s->dim[d];
    in_order &= s->offset == *next && count == s->count;
    *next += s->count;
  }
  tap_ok(in_order && np == U(_NPARAMS) && nb == U(_NBUFFERS), "tensor table: contiguous, in order");

  F(_init)(7);
  memcpy(p1, F(_params), sizeof p1);
  F(_init)(7);
  tap_ok(!memcmp(p1, F(_params), sizeof p1), "init: the same seed gives the same parameters");
  F(_init)(8);
  tap_ok(memcmp(p1, F(_params), sizeof p1) != 0, "init: another seed gives other parameters");
  F(_init)(7);

  long correct = -1;
  real loss = F(_forward)(x, labels, NULL, B, 1, 99, &correct);
  tap_ok(isfinite(loss) && loss > 0 && correct >= 0 && correct <= B * U(_LABELS),
         "forward (training): finite loss and a count of correct positions");
  tap_ok(F(_output)() != NULL, "output() points at the logits");
  tap_ok(isnan(F(_forward)(x, labels, NULL, B + 1, 1, 99, NULL)), "forward with n > max_batch: NaN");

  F(_forward)(x, labels, NULL, B, 1, 99, NULL);
  F(_backward)(B);
  memcpy(g1, F(_grads), sizeof g1);
  F(_backward)(B);
  tap_ok(!memcmp(g1, F(_grads), sizeof g1), "backward overwrites the gradients (no accumulation)");
  real l2 = F(_forward)(x, labels, NULL, B, 1, 99, NULL);
  tap_ok(l2 == F(_forward)(x, labels, NULL, B, 1, 99, NULL), "forward is deterministic (same dropout seed)");

  /* running statistics move in training only */
  /* (buf has one element more than the buffers, against a zero size) */
  memcpy(buf, F(_buffers), sizeof(real) * U(_NBUFFERS));
  F(_forward)(x, labels, NULL, B, 0, 0, NULL);
  tap_ok(!memcmp(buf, F(_buffers), sizeof(real) * U(_NBUFFERS)),
         "evaluation leaves the running statistics alone");

  /* predict splits a large count into batches of max_batch */
  F(_predict)(x, 2 * B, out1);
  F(_predict)(x, 1, out2);
  F(_predict)(x + U(_IN_SIZE), 2 * B - 1, out2 + U(_PRED_SIZE));
  tap_ok(!memcmp(out1, out2, sizeof out1), "predict: the same outputs however the samples are split");

  /* Adam on one batch lowers the loss */
  RtAdam adam = {1e-2, 0.9, 0.999, 1e-8, 0, 0};
  real first = F(_forward)(x, labels, NULL, B, 1, 5, NULL), last = first;
  for (long t = 1; t <= 20; t++) {
    F(_backward)(B);
    F(_update)(&adam, t);
    last = F(_forward)(x, labels, NULL, B, 1, 5, NULL);
  }
  tap_ok(last < first, "20 Adam steps on one batch lower the loss (%.4f -> %.4f)", (double)first, (double)last);
  F(_free)();
  return tap_done();
}
