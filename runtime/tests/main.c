/* main.c - rt_main end to end, with a hand-written network: softmax
 * regression 784 -> 10 (or MSE on the logits) with dropout on the input
 * and one running statistic as a buffer, so that resuming must restore
 * params, buffers, Adam moments, data order and dropout masks. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cnnrt.h"
#include "fixtures.h"
#include "tap.h"

#ifndef RT_TEST_DATA_DIR
#error "RT_TEST_DATA_DIR must name the shipped Fashion-MNIST sample"
#endif

#define IN 784
#define MAXC 10
#define DROPOUT 0.1

static float params[MAXC * IN + MAXC], grads[MAXC * IN + MAXC], buffers[1];
static float *xd, *logits, *dz; /* dropped-out input, logits, d loss/d logits */
static int setups;
/* Test hooks, counted in training forward calls: */
static long calls, nan_at, signal_at;
static int signal_sig = SIGINT;

static int net_setup(int max_batch);
static void net_init(uint64_t seed);
static float net_forward(const float *x, const int32_t *labels, const float *targets,
                         int n, int training, uint64_t dropout_seed, long *correct);
static void net_backward(int n);
static const float *net_output(void);

static RtNet net = {
  .name = "softmax", .in_rank = 3, .in_dim = {1, 28, 28}, .out_rank = 1,
  .out_dim = {MAXC}, .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY,
  .nparams = MAXC * IN + MAXC, .params = params, .grads = grads,
  .nbuffers = 1, .buffers = buffers, .arch_hash = 0x50f7,
  .defaults = {.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
               .batch = 64, .epochs = 1, .seed = 1},
  .setup = net_setup, .init = net_init, .forward = net_forward,
  .backward = net_backward, .output = net_output,
};

static int net_setup(int max_batch)
{
  if (setups++) /* the runtime must allocate once */
    return -1;
  xd = malloc(sizeof *xd * (size_t)max_batch * IN);
  logits = malloc(sizeof *logits * (size_t)max_batch * MAXC);
  dz = malloc(sizeof *dz * (size_t)max_batch * MAXC);
  return xd && logits && dz ? 0 : -1;
}

static void net_init(uint64_t seed)
{
  RtRng rng;
  double bound = 1 / sqrt(IN); /* nn.Linear's default */
  rt_rng_seed(&rng, seed);
  for (size_t i = 0; i < net.nparams; i++)
    params[i] = (float)rt_rng_uniform_range(&rng, -bound, bound);
  buffers[0] = 0;
}

static float net_forward(const float *x, const int32_t *labels, const float *targets,
                         int n, int training, uint64_t dropout_seed, long *correct)
{
  int C = net.out_dim[0];
  const float *W = params, *b = params + MAXC * IN;
  RtRng rng;
  rt_rng_seed(&rng, dropout_seed);
  double mean = 0;
  for (size_t i = 0; i < (size_t)n * IN; i++) {
    int keep = !training || rt_rng_uniform(&rng) >= DROPOUT;
    xd[i] = keep ? x[i] / (training ? (float)(1 - DROPOUT) : 1) : 0;
    mean += x[i];
  }
  if (training) {
    buffers[0] = 0.9f * buffers[0] + 0.1f * (float)(mean / ((double)n * IN));
    if (++calls == nan_at)
      return NAN;
    if (calls == signal_at)
      raise(signal_sig);
  }
  double loss = 0;
  for (int s = 0; s < n; s++) {
    float *z = logits + s * C, *d = dz + s * C, zmax = -INFINITY, sum = 0;
    int best = 0;
    for (int c = 0; c < C; c++) {
      z[c] = b[c];
      for (int k = 0; k < IN; k++)
        z[c] += W[c * IN + k] * xd[s * IN + k];
      zmax = fmaxf(zmax, z[c]);
      best = z[c] > z[best] ? c : best;
    }
    if (!labels)
      continue;
    *correct += best == labels[s];
    for (int c = 0; c < C; c++) {
      if (targets) { /* MSE, mean over all elements */
        float diff = z[c] - targets[s * C + c];
        loss += diff * diff;
        d[c] = 2 * diff / (float)(n * C);
        continue;
      }
      d[c] = expf(z[c] - zmax);
      sum += d[c];
    }
    if (targets)
      continue;
    for (int c = 0; c < C; c++)
      d[c] = (d[c] / sum - (c == labels[s])) / (float)n;
    loss -= (z[labels[s]] - zmax) - log(sum);
  }
  return (float)(targets ? loss / (n * C) : loss / n);
}

static void net_backward(int n)
{
  int C = net.out_dim[0];
  memset(grads, 0, sizeof grads);
  for (int s = 0; s < n; s++)
    for (int c = 0; c < C; c++) {
      for (int k = 0; k < IN; k++)
        grads[c * IN + k] += dz[s * C + c] * xd[s * IN + k];
      grads[MAXC * IN + c] += dz[s * C + c];
    }
}

static const float *net_output(void)
{
  return logits;
}

/* ---- running rt_main in a child, capturing its output ---- */

static char out[1 << 16], err[1 << 16];

static void slurp(const char *path, char *buf, size_t len)
{
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, len - 1, f) : 0;
  buf[n] = '\0';
  if (f)
    fclose(f);
}

/* Run rt_main(argv) in a child process; returns its exit status and
 * leaves its stdout and stderr in out and err. */
static int run(const char *arg, ...)
{
  char *argv[32] = {"trainer", (char *)arg};
  int argc = arg ? 2 : 1;
  va_list ap;
  va_start(ap, arg);
  while (arg && argc < 31 && (argv[argc] = va_arg(ap, char *)))
    argc++;
  va_end(ap);
  char out_path[512], err_path[512];
  snprintf(out_path, sizeof out_path, "%s", tmp_path("stdout"));
  snprintf(err_path, sizeof err_path, "%s", tmp_path("stderr"));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
      _exit(99);
    int rc = rt_main(argc, argv, &net);
    fflush(NULL);
    _exit(rc);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  slurp(out_path, out, sizeof out);
  slurp(err_path, err, sizeof err);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int same_file(const char *a, const char *b)
{
  static char x[1 << 16], y[1 << 16];
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  size_t na, nb;
  while (same && (na = fread(x, 1, sizeof x, fa)) > 0) {
    nb = fread(y, 1, sizeof y, fb);
    same = na == nb && memcmp(x, y, na) == 0;
  }
  same = same && fread(y, 1, 1, fb) == 0;
  if (fa)
    fclose(fa);
  if (fb)
    fclose(fb);
  return same;
}

/* The value after the last "key=" in s, or -1. */
static double value_of(const char *s, const char *key)
{
  const char *p = NULL;
  for (const char *q = strstr(s, key); q; q = strstr(q + 1, key))
    p = q;
  return p ? atof(p + strlen(key)) : -1;
}

static void test_usage(void)
{
  tap_ok(run("--help", NULL) == 0 && strstr(out, "Usage: trainer COMMAND") &&
     strstr(out, "network 'softmax' (input [1, 28, 28], output [10])"), "--help");
  tap_ok(run("--help", NULL) == 0 && strstr(out, "trainer bench [OPTIONS]:\n") &&
     strstr(out, "  --steps N") && strstr(out, "trainer predict [OPTIONS] FILE...:\n") &&
     strstr(out, "-V, --version") && strstr(out, "Exit status:"),
     "--help lists every command's options, --version and the exit status");
  tap_ok(run(NULL) == 2 && !strstr(err, "--steps"), "no command: the short usage, not every option");
  tap_ok(run("train", "--help", NULL) == 0 && strstr(out, "--epochs N") &&
     strstr(out, "(default: 64)") && strstr(out, "test_acc="), "train --help lists the options and defaults");
  tap_ok(run("predict", "--help", NULL) == 0 && strstr(out, "one line per image"),
     "predict --help says what it prints");
  tap_ok(run("eval", "--help", NULL) == 0 && run("bench", "--help", NULL) == 0, "eval and bench have --help");
  tap_ok(run(NULL) == 2 && strstr(err, "Usage:"), "no command: usage, status 2");
  tap_ok(run("bogus", NULL) == 2 && strstr(err, "unknown command 'bogus'"), "unknown command: status 2");
  tap_ok(run("train", "--epochs", "abc", NULL) == 2, "--epochs abc: status 2");
  tap_is_str(err, "trainer train: --epochs expects a positive integer, got 'abc'\n"
         "Try 'trainer train --help'.\n", "--epochs abc: message");
  tap_ok(run("train", "--batch", "0", NULL) == 2 && strstr(err, "--batch expects a positive integer, got '0'"),
     "--batch 0: status 2");
  tap_ok(run("train", "--batch=12x", NULL) == 2, "--batch=12x: status 2");
  tap_ok(run("train", "--lr", "-1", NULL) == 2 && run("train", "--lr", "nan", NULL) == 2,
     "a negative or NaN --lr: status 2");
  tap_ok(run("train", "--seed", "-3", NULL) == 2, "a negative --seed: status 2");
  tap_ok(run("train", "--frobnicate", NULL) == 2 && strstr(err, "unknown option '--frobnicate'"),
     "unknown option: status 2");
  tap_ok(run("train", "--weights", "x", NULL) == 2, "an option of another command: status 2");
  tap_ok(run("train", "--epochs", NULL) == 2 && strstr(err, "--epochs needs a positive integer"),
     "missing value: status 2");
  tap_ok(run("train", "extra", NULL) == 2 && strstr(err, "unexpected argument 'extra'"),
     "stray argument: status 2");
  tap_ok(run("eval", NULL) == 2 && strstr(err, "--weights CKPT is required"), "eval without --weights: status 2");
  tap_ok(run("predict", "--weights", "x", NULL) == 2 && strstr(err, "FILE... expected"),
     "predict without files: status 2");
  tap_ok(run("train", "--checkpoint-every", "5", NULL) == 2 && strstr(err, "--checkpoint-every needs --save"),
     "--checkpoint-every without --save: status 2");
}

static void test_bad_inputs(void)
{
  tap_ok(run("train", "--data", tmp_path("nonexistent"), NULL) == 1 &&
     strstr(err, "nonexistent': No such file or directory"), "missing data: status 1");
  tap_ok(run("eval", "--data", RT_TEST_DATA_DIR, "--weights", tmp_path("none.ckpt"), NULL) == 1 &&
     strstr(err, "cannot read checkpoint"), "missing checkpoint: status 1");
  net.in_dim[1] = net.in_dim[2] = 32;
  tap_ok(run("train", "--data", RT_TEST_DATA_DIR, NULL) == 1 &&
     strstr(err, "/train-images-idx3-ubyte.gz: images are 1x28x28 but the network expects [1, 32, 32]"),
     "input shape mismatch: status 1 and a clear message");
  net.in_dim[1] = net.in_dim[2] = 28;
  net.out_dim[0] = 5;
  tap_ok(run("train", "--data", RT_TEST_DATA_DIR, NULL) == 1 &&
     strstr(err, "the network has 5 classes (0 to 4)"), "label out of range: status 1");
  net.out_dim[0] = MAXC;
}

static void test_training(void)
{
  char a1[512], full[512], resumed[512], intr[512], every[512], metrics[512];
  snprintf(a1, sizeof a1, "%s", tmp_path("one.ckpt"));
  snprintf(full, sizeof full, "%s", tmp_path("full.ckpt"));
  snprintf(resumed, sizeof resumed, "%s", tmp_path("resumed.ckpt"));
  snprintf(intr, sizeof intr, "%s", tmp_path("intr.ckpt"));
  snprintf(every, sizeof every, "%s", tmp_path("every.ckpt"));
  snprintf(metrics, sizeof metrics, "%s", tmp_path("metrics.jsonl"));
  const char *data = RT_TEST_DATA_DIR;

  int rc = run("train", "--data", data, "--save", a1, "--metrics", metrics, NULL);
  double acc = value_of(out, "test_acc=");
  tap_ok(rc == 0 && acc > 0.70, "1 epoch on the sample: test_acc=%.4f > 0.70", acc);
  tap_ok(strncmp(out, "test_acc=", 9) == 0 && strchr(out, '\n') == out + strlen(out) - 1,
     "the last (only) line on stdout is test_acc=...");
  tap_ok(strstr(err, "epoch 1/1: train_loss ") != NULL, "an epoch summary goes to stderr");
  char line[1024];
  slurp(metrics, line, sizeof line);
  tap_ok(strncmp(line, "{\"epoch\":1,\"train_loss\":", 24) == 0 && strstr(line, "\"train_acc\":") &&
     strstr(line, "\"test_loss\":") && strstr(line, "\"test_acc\":") &&
     strstr(line, "\"images_per_s\":") && strstr(line, "\"seconds\":") &&
     strchr(line, '\n') == line + strlen(line) - 1, "--metrics writes one JSON line per epoch");

  tap_ok(run("train", "--data", data, "--epochs", "2", "--save", full, NULL) == 0,
     "2 epochs uninterrupted");
  double full_acc = value_of(out, "test_acc=");
  tap_ok(run("train", "--data", data, "--epochs", "2", "--resume", a1, "--save", resumed, NULL) == 0,
     "resume for the second epoch");
  tap_ok(same_file(full, resumed), "resume after --save gives a bit-identical checkpoint");
  tap_ok(value_of(out, "test_acc=") == full_acc, "and the same test accuracy");

  signal_at = 50;
  tap_ok(run("train", "--data", data, "--epochs", "2", "--save", intr, NULL) == 130 &&
     strstr(err, "interrupted by SIGINT at epoch 1, step 50; saved checkpoint"),
     "SIGINT mid-epoch: checkpoint saved, status 130");
  signal_at = 0;
  tap_ok(run("train", "--data", data, "--epochs", "2", "--resume", intr, "--save", intr, NULL) == 0 &&
     same_file(full, intr), "resuming mid-epoch gives a bit-identical checkpoint");
  signal_at = 94; /* the last, partial step of epoch 1 */
  rc = run("train", "--data", data, "--epochs", "2", "--save", intr, NULL);
  signal_at = 0;
  tap_ok(rc == 130 && strstr(err, "at epoch 1, step 94;") &&
     run("train", "--data", data, "--epochs", "2", "--resume", intr, "--save", intr, NULL) == 0 &&
     same_file(full, intr), "interrupted on an epoch's last step, resuming is bit-identical too");
  signal_at = 10;
  signal_sig = SIGTERM;
  tap_ok(run("train", "--data", data, NULL) == 143 && strstr(err, "no checkpoint saved"),
     "SIGTERM without --save: status 143");
  signal_at = 0;

  nan_at = 25;
  tap_ok(run("train", "--data", data, "--epochs", "2", "--save", every, "--checkpoint-every", "10", NULL) == 1 &&
     strstr(err, "loss is nan at epoch 1, step 25 (optimizer step 25); stopping; the last checkpoint is kept"),
     "NaN loss: stop with status 1 and say where");
  nan_at = 0;
  tap_ok(run("train", "--data", data, "--epochs", "2", "--resume", every, "--save", every, NULL) == 0 &&
     same_file(full, every), "the step-20 checkpoint survived the NaN and resumes bit-identically");

  tap_ok(run("train", "--data", data, "--resume", a1, "--seed", "5", NULL) == 2 &&
     strstr(err, "--seed 5 conflicts with the seed 1"), "resume with another seed: status 2");

  tap_ok(run("eval", "--data", data, "--weights", full, NULL) == 0 &&
     value_of(out, "test_acc=") == full_acc && value_of(out, "test_loss=") > 0,
     "eval reproduces the final test accuracy (%.4f)", full_acc);
}

static void test_predict_bench(void)
{
  char path[512], msg[1024];
  RtDataset ds;
  rt_dataset_load(RT_TEST_DATA_DIR, "test", &ds, msg, sizeof msg);
  /* The first 5 test images as a plain IDX file. */
  uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28}, img[16 + 5 * IN];
  memcpy(img, head, 16);
  memcpy(img + 16, ds.pixels, 5 * IN);
  snprintf(path, sizeof path, "%s", tmp_path("five-idx3-ubyte"));
  write_file(path, img, sizeof img, 0);
  int right = 0, lines = 0;
  tap_ok(run("predict", "--weights", tmp_path("full.ckpt"), path, path, NULL) == 0, "predict runs");
  for (char *p = out; *p; p = strchr(p, '\n') + 1, lines++)
    right += atoi(p) == ds.labels[lines % 5];
  tap_ok(lines == 10 && right >= 6, "one class per image and line (%d lines, %d right)", lines, right);
  rt_dataset_free(&ds);
  write_file(path, (uint8_t[]){0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8}, 24, 0);
  tap_ok(run("predict", "--weights", tmp_path("full.ckpt"), path, NULL) == 1 &&
     strstr(err, "images are 1x2x4 but the network expects [1, 28, 28]"), "predict checks the shape");

  tap_ok(run("bench", "--batch", "16", "--steps", "3", NULL) == 0 && value_of(out, "images_per_s=") > 0,
     "bench prints images_per_s=%.0f", value_of(out, "images_per_s="));

  net.loss = RT_LOSS_MSE;
  net.arch_hash++;
  int rc = run("train", "--data", RT_TEST_DATA_DIR, "--lr", "1e-3", NULL);
  double acc = value_of(out, "test_acc=");
  tap_ok(rc == 0 && acc > 0.6, "MSE on one-hot targets trains: test_acc=%.4f", acc);
  net.loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY;
  net.arch_hash--;
}

int main(void)
{
  test_usage();
  test_bad_inputs();
  test_training();
  test_predict_bench();
  fixtures_cleanup();
  return tap_done();
}
