/* summary.c - `cnncc --summary`: a table in the manner of Keras's
 * model.summary(): each layer, its output shape, parameters, forward FLOPs
 * and activation memory per sample, then totals. */
#include <string.h>

#include "cnncc.h"

/* 61706 -> "61,706" (also emit/dot.c's labels) */
const char *cnn_grouped(int64_t v, char *buf, size_t size) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
  size_t o = 0;
  if (v < 0 && o + 1 < size) buf[o++] = '-';
  for (int i = 0; i < n && o + 2 < size; i++) {
    if (i && (n - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
  return buf;
}

static const char *bytes(int64_t b, char *buf, size_t size) {
  if (b < 1024) snprintf(buf, size, "%lld B", (long long)b);
  else if (b < 1024 * 1024) snprintf(buf, size, "%.1f KiB", b / 1024.0);
  else snprintf(buf, size, "%.1f MiB", b / (1024.0 * 1024.0));
  return buf;
}

static const char *loss_name(CnnLossKind k) {
  return k == LOSS_SOFTMAX_CROSS_ENTROPY ? "softmax_cross_entropy" : k == LOSS_MSE ? "mse" : "none";
}

/* "conv1, add2" when a layer's inputs are not just the layer above it. */
static const char *inputs_text(const CnnNet *net, const CnnNode *n, char *buf, size_t size) {
  buf[0] = '\0';
  if (n->ninputs == 0 || (n->ninputs == 1 && n->inputs[0] == n->id - 1)) return buf;
  size_t o = 0;
  for (int i = 0; i < n->ninputs && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", net->nodes[n->inputs[i]].name);
  return buf;
}

void cnn_print_summary(FILE *out, const CnnNet *net) {
  char rule[100];
  memset(rule, '=', 96);
  rule[96] = '\0';
  fprintf(out, "Network \"%s\"\n%s\n", net->name, rule);
  fprintf(out, "%-28s %-16s %11s %15s %11s %5s  %s\n", "Layer (type)", "Output shape", "Params",
          "FLOPs", "Memory", "Line", "Inputs");
  fprintf(out, "%s\n", rule);
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    char layer[64], shape[64], params[32], flops[32], mem[32], ins[128];
    snprintf(layer, sizeof layer, "%s (%s)", n->name, cnn_op_name(n->op));
    fprintf(out, "%-28s %-16s %11s %15s %11s %5d  %s\n", layer,
            cnn_shape_str(n->shape, shape, sizeof shape), cnn_grouped(n->nparams, params, sizeof params),
            cnn_grouped(n->flops, flops, sizeof flops),
            bytes(cnn_shape_size(n->shape) * 4, mem, sizeof mem), n->loc.first_line,
            inputs_text(net, n, ins, sizeof ins));
  }
  char buf[32], shape[64];
  fprintf(out, "%s\n", rule);
  fprintf(out, "Total params: %s\n", cnn_grouped(net->nparams, buf, sizeof buf));
  fprintf(out, "Forward FLOPs per sample: %s\n", cnn_grouped(net->flops, buf, sizeof buf));
  fprintf(out, "Activation memory per sample: %s (fp32)\n", bytes(net->activation_bytes, buf, sizeof buf));
  fprintf(out, "Parameter memory: %s (fp32)\n", bytes(net->nparams * 4, buf, sizeof buf));
  fprintf(out, "Output: %s %s; loss: %s\n", net->nodes[net->output].name,
          cnn_shape_str(net->nodes[net->output].shape, shape, sizeof shape), loss_name(net->loss));
}
