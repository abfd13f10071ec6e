/* shapes.c - shape inference against PyTorch's output-size formulas,
 * through the front end as a library (no process per case). */
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"
#include "tap.h"

/* Compiles src and returns the output shape as text, or the first error. */
static const char *output_of(const char *src, char *buf, size_t size) {
  CnnUnit *u = cnn_unit_new("t.cnn", src, strlen(src));
  const CnnNet *net = cnn_unit_compile(u);
  if (net) cnn_shape_str(net->nodes[net->output].shape, buf, size);
  else snprintf(buf, size, "error: %s", cnn_unit_diags(u)->first->message);
  cnn_unit_free(u);
  return buf;
}

/* floor((n + 2p - d(k-1) - 1)/s) + 1 */
static int conv_out(int n, int k, int s, int p, int d) { return (n + 2 * p - d * (k - 1) - 1) / s + 1; }
/* (n-1)s - 2p + (k-1) + op + 1 */
static int deconv_out(int n, int k, int s, int p, int op) { return (n - 1) * s - 2 * p + (k - 1) + op + 1; }

static void expect(const char *src, const char *want) {
  char buf[256];
  const char *got = output_of(src, buf, sizeof buf);
  if (!tap_ok(!strcmp(got, want), "%s -> %s", src, want)) printf("# got %s\n", got);
}

int main(void) {
  static const int sizes[] = {7, 28, 33};
  static const int kernels[] = {1, 3, 5};
  static const int strides[] = {1, 2, 3};
  static const int pads[] = {0, 1, 2};
  static const int dilations[] = {1, 2, 3};
  int ncases = 0;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) tap_plan(ncases + 14);
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++)
        for (int c = 0; c < 3; c++)
          for (int e = 0; e < 3; e++)
            for (int f = 0; f < 3; f++) {
              int n = sizes[a], k = kernels[b], s = strides[c], p = pads[e], d = dilations[f];
              if (p > k / 2 && pass == 0) continue;
              if (n + 2 * p < d * (k - 1) + 1 || p > k / 2) continue;
              if (pass == 0) { ncases += 2; continue; }
              char src[256], want[64];
              snprintf(src, sizeof src, "input x[2, %d, %d]\noutput x -> conv2d(4, %d, stride=%d, padding=%d, dilation=%d)",
                       n, n + 1, k, s, p, d);
              snprintf(want, sizeof want, "[4, %d, %d]", conv_out(n, k, s, p, d), conv_out(n + 1, k, s, p, d));
              expect(src, want);
              snprintf(src, sizeof src, "input x[2, %d, %d]\noutput x -> conv_transpose2d(3, %d, stride=%d, padding=%d)",
                       n, n, k, s, p);
              int o = deconv_out(n, k, s, p, 0);
              snprintf(want, sizeof want, "[3, %d, %d]", o, o);
              expect(src, want);
            }
  }
  expect("input x[1, 28, 28]\noutput x -> conv2d(6, (3, 5), stride=(1, 2), padding=(1, 0))", "[6, 28, 12]");
  expect("input x[1, 28, 28]\noutput x -> conv2d(6, 4, padding=same)", "[6, 28, 28]");
  expect("input x[1, 28, 28]\noutput x -> conv2d(6, 3, padding=valid)", "[6, 26, 26]");
  expect("input x[1, 100]\noutput x -> conv1d(8, 2, dilation=16, padding=causal)", "[8, 100]");
  expect("input x[3, 50]\noutput x -> conv1d(8, 5, stride=2, padding=same)", "error: padding=same needs stride 1 (as in PyTorch)");
  expect("input x[3, 9, 9]\noutput x -> conv_transpose2d(4, 3, stride=2, padding=1, output_padding=1)", "[4, 18, 18]");
  expect("input x[3, 9, 9]\noutput x -> maxpool(3, stride=2, padding=1)", "[3, 5, 5]");
  expect("input x[3, 9, 9]\noutput x -> avgpool(2)", "[3, 4, 4]");
  expect("input x[5, 17]\noutput x -> maxpool(2)", "[5, 8]");
  expect("input x[5, 17]\noutput x -> global_avgpool", "[5]");
  expect("input x[2, 4, 4]\na = x -> conv2d(3, 1)\noutput concat(x, a, x)", "[7, 4, 4]");
  expect("input x[2, 4, 4]\noutput x -> flatten -> dense(7)", "[7]");
  expect("input x[2, 4, 4]\noutput add([x, x, x]) * x", "[2, 4, 4]");
  expect("input x[1, 5, 5]\noutput x -> conv2d(1, 3, dilation=3)", "error: conv2d: dilated kernel 3 (dilation 3 spans 7) is larger than the 5x5 input");
  return tap_done();
}
