/* adam.c - rt_adam_step against torch.optim.Adam (PyTorch 1.13). */
#include <math.h>

#include "cnnrt.h"
#include "tap.h"

#define N 6

static const float p0[N] = {0.5f, -1.25f, 3.0f, 0.0f, 1e-3f, -7.5f};
static const float grads[3][N] = {
  {0.1f, -0.2f, 0.3f, 1e-4f, -5.0f, 0.0f},
  {-0.3f, 0.25f, 0.3f, 2.0f, 4.0f, 1e-6f},
  {0.05f, -0.5f, -0.1f, 0.0f, 3.0f, -2.0f},
};

/* Printed by runtime/tests/adam-reference.sh: three steps
 * of Adam(betas=(0.9, 0.999), eps=1e-8, foreach=False) on p0 with the
 * gradients above; [0] lr=1e-3, weight_decay=0; [1] lr=0.1,
 * weight_decay=0.01. Rows: p, exp_avg, exp_avg_sq. */
static const float want[2][3][N] = {
  {{0.499771684f, -1.24869239f, 2.99739456f, -0.00231931615f, 0.00182760088f, -7.50009489f},
   {-0.0139000015f, -0.0437000021f, 0.0412999988f, 0.180008098f, 0.255000025f, -0.199999914f},
   {0.000102390019f, 0.000352357572f, 0.000189730112f, 0.00399600016f, 0.0499340296f, 0.00400000019f}},
  {{0.473184139f, -1.11131692f, 2.73338366f, -0.231875837f, 0.0837330669f, -7.23231888f},
   {-0.0126872556f, -0.046908509f, 0.04914001f, 0.179743707f, 0.255198538f, -0.220034957f},
   {0.000101499143f, 0.000363636267f, 0.0002219991f, 0.00399200898f, 0.0499484092f, 0.00430841511f}},
};

/* Equal to a few float roundings: PyTorch's vector kernels may fuse a
 * multiply-add where C does not. */
static int close_all(const float *got, const float *exp, const char *what, int run)
{
  int all = 1;
  for (int i = 0; i < N; i++)
    all &= fabsf(got[i] - exp[i]) <= 4e-7f * fmaxf(fabsf(exp[i]), 1e-3f);
  tap_ok(all, "config %d: %s matches PyTorch", run, what);
  return all;
}

int main(void)
{
  const RtAdam cfg[2] = {{1e-3, 0.9, 0.999, 1e-8, 0}, {0.1, 0.9, 0.999, 1e-8, 0.01}};
  for (int run = 0; run < 2; run++) {
    float p[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
      p[i] = p0[i];
    for (long t = 1; t <= 3; t++)
      rt_adam_step(p, grads[t - 1], m, v, N, &cfg[run], t);
    close_all(p, want[run][0], "params", run);
    close_all(m, want[run][1], "exp_avg", run);
    close_all(v, want[run][2], "exp_avg_sq", run);
  }
  return tap_done();
}
