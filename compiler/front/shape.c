/* shape.c - static shapes: output shape, parameter count and FLOPs of each
 * operator, checked against its input. Output size of a window follows
 * PyTorch: floor((n + pad - d(k-1) - 1) / s) + 1; the transposed convolution
 * inverts it: (n-1)s - pad + d(k-1) + output_padding + 1. */
#include <string.h>

#include "cnncc.h"

/* Largest per-sample tensor and parameter count we accept: beyond these the
 * generated code could not index with int or allocate the storage. */
#define MAX_ELEMENTS ((int64_t)1 << 30)

int64_t cnn_shape_size(CnnShape s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; i++) n *= s.dim[i];
  return n;
}

void cnn_shape_chw(CnnShape s, int *c, int *h, int *w) {
  *c = s.rank > 0 ? s.dim[0] : 1;
  *h = s.rank == 3 ? s.dim[1] : 1;
  *w = s.rank == 3 ? s.dim[2] : s.rank == 2 ? s.dim[1] : 1;
}

const char *cnn_shape_str(CnnShape s, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < s.rank && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%d", i ? ", " : "", s.dim[i]);
  if (n < size) snprintf(buf + n, size - n, "]");
  return buf;
}

static const char *shape_words(int rank) {
  return rank == 1 ? "[features]" : rank == 2 ? "[channels, length]" : "[channels, height, width]";
}

/* Facts of front/ops.c's table. */
static bool is_spatial_1d(CnnOp op) { return cnn_op_info(op)->rank == 1; }
static bool is_pool(CnnOp op) { return cnn_op_info(op)->flags & CNN_OPF_POOL; }
static bool is_conv(CnnOp op) { return cnn_op_info(op)->flags & CNN_OPF_CONV; }

static const CnnShape *input_shape(const CnnNet *net, const CnnNode *n, int i) {
  return &net->nodes[n->inputs[i]].shape;
}

static bool need_rank(CnnDiags *d, CnnNode *n, const CnnShape *in, int rank) {
  if (in->rank == rank) return true;
  char buf[64];
  cnn_error(d, n->loc, "%s expects a %s input, but its input has shape %s", cnn_op_name(n->op),
            shape_words(rank), cnn_shape_str(*in, buf, sizeof buf));
  if (n->op == OP_DENSE) cnn_hint(d, "insert '-> flatten' before dense");
  else if (n->op == OP_UPSAMPLE) cnn_hint(d, "upsample has no 1-d form yet");
  else if (rank == 3 && in->rank == 2) cnn_hint(d, "for sequences use the 1-d operator");
  else if (rank == 2 && in->rank == 3) cnn_hint(d, "for images use the 2-d operator");
  return false;
}

/* Output length along one axis of a convolution or pooling window. */
static bool window_axis(CnnDiags *d, CnnNode *n, int axis, int in, const char *what, int *out) {
  int k = n->kernel[axis], s = n->stride[axis], dil = n->dilation[axis];
  int64_t span = (int64_t)dil * (k - 1) + 1;
  int64_t padded = (int64_t)in + n->pad_lo[axis] + n->pad_hi[axis];
  if (span > padded) {
    if (dil > 1)
      cnn_error(d, n->loc, "%s: dilated kernel %d (dilation %d spans %lld) is larger than the %s input",
                cnn_op_name(n->op), k, dil, (long long)span, what);
    else
      cnn_error(d, n->loc, "%s: kernel %d is larger than the %s input", cnn_op_name(n->op), k, what);
    if (n->pad_lo[axis] + n->pad_hi[axis])
      cnn_hint(d, "the input is %lld with padding", (long long)padded);
    return false;
  }
  *out = (int)((padded - span) / s + 1);
  return true;
}

static void spatial_text(char *buf, size_t size, const CnnShape *in) {
  if (in->rank == 3) snprintf(buf, size, "%dx%d", in->dim[1], in->dim[2]);
  else snprintf(buf, size, "%d-long", in->dim[1]);
}

/* groups split the channels as nn.Conv2d does: both counts divisible. */
static bool check_groups(CnnDiags *d, const CnnNode *n, int in_c) {
  const char *what = in_c % n->groups ? "input" : n->out_channels % n->groups ? "output" : NULL;
  if (!what) return true;
  cnn_error(d, n->loc, "%s: groups=%d does not divide the %d %s channels", cnn_op_name(n->op), n->groups,
            what[0] == 'i' ? in_c : n->out_channels, what);
  cnn_hint(d, "in_channels and out_channels must both be multiples of groups (as in PyTorch)");
  return false;
}

static bool infer_window(CnnDiags *d, CnnNode *n, const CnnShape *in) {
  int rank = is_spatial_1d(n->op) ? 2 : 3;
  if (!need_rank(d, n, in, rank)) return false;
  if (is_conv(n->op) && !check_groups(d, n, in->dim[0])) return false;
  for (int a = 0; a < 2; a++) {
    int k = n->kernel[a];
    if (is_pool(n->op) && (n->pad_lo[a] > k / 2 || n->pad_hi[a] > k / 2)) {
      cnn_error(d, n->loc, "%s: padding %d is more than half of kernel %d", cnn_op_name(n->op),
                n->pad_lo[a], k);
      return false;
    }
  }
  char what[64];
  spatial_text(what, sizeof what, in);
  int h = 1, w;
  if (rank == 3 && !window_axis(d, n, 0, in->dim[1], what, &h)) return false;
  if (!window_axis(d, n, 1, in->dim[rank - 1], what, &w)) return false;
  int c = is_conv(n->op) ? n->out_channels : in->dim[0];
  n->shape = rank == 3 ? (CnnShape){3, {c, h, w}} : (CnnShape){2, {c, w, 0}};
  return true;
}

static bool infer_transposed(CnnDiags *d, CnnNode *n, const CnnShape *in) {
  if (!need_rank(d, n, in, 3)) return false;
  int out[2];
  for (int a = 0; a < 2; a++) {
    int64_t o = (int64_t)(in->dim[1 + a] - 1) * n->stride[a] - n->pad_lo[a] - n->pad_hi[a] +
                (int64_t)n->dilation[a] * (n->kernel[a] - 1) + n->output_padding[a] + 1;
    if (n->output_padding[a] >= n->stride[a] && n->output_padding[a] >= n->dilation[a]) {
      cnn_error(d, n->loc, "conv_transpose2d: output_padding %d must be smaller than stride %d",
                n->output_padding[a], n->stride[a]);
      return false;
    }
    if (o < 1 || o > MAX_ELEMENTS) {
      cnn_error(d, n->loc, "conv_transpose2d: output size %lld is not valid", (long long)o);
      return false;
    }
    out[a] = (int)o;
  }
  n->shape = (CnnShape){3, {n->out_channels, out[0], out[1]}};
  return true;
}

static bool same_shapes(CnnDiags *d, const CnnNet *net, CnnNode *n) {
  const CnnShape *a = input_shape(net, n, 0);
  for (int i = 1; i < n->ninputs; i++) {
    const CnnShape *b = input_shape(net, n, i);
    if (a->rank == b->rank && !memcmp(a->dim, b->dim, sizeof(int) * (size_t)a->rank)) continue;
    char x[64], y[64];
    cnn_error(d, n->loc, "shapes do not match in %s: %s vs %s",
              n->op == OP_ADD ? "'+' (add)" : "'*' (mul)", cnn_shape_str(*a, x, sizeof x),
              cnn_shape_str(*b, y, sizeof y));
    if (a->rank == b->rank && a->dim[0] != b->dim[0] && a->rank > 1)
      cnn_hint(d, "a 1x1 convolution can change the number of channels");
    return false;
  }
  n->shape = *a;
  return true;
}

static bool infer_concat(CnnDiags *d, const CnnNet *net, CnnNode *n) {
  CnnShape s = *input_shape(net, n, 0);
  for (int i = 1; i < n->ninputs; i++) {
    const CnnShape *b = input_shape(net, n, i);
    if (b->rank != s.rank || memcmp(b->dim + 1, s.dim + 1, sizeof(int) * (size_t)(s.rank - 1))) {
      char x[64], y[64];
      cnn_error(d, n->loc, "concat needs inputs that differ only in channels: %s vs %s",
                cnn_shape_str(s, x, sizeof x), cnn_shape_str(*b, y, sizeof y));
      return false;
    }
    s.dim[0] += b->dim[0];
  }
  n->shape = s;
  return true;
}

void cnn_adaptive_window(int in, int out, int o, int *start, int *end) {
  *start = (int)((int64_t)o * in / out);
  *end = (int)(((int64_t)(o + 1) * in + out - 1) / out);
}

/* The values that adaptive pooling sums along one axis, over all outputs. */
static int64_t adaptive_span(int in, int out) {
  int64_t span = 0;
  for (int o = 0; o < out; o++) {
    int s, e;
    cnn_adaptive_window(in, out, o, &s, &e);
    span += e - s;
  }
  return span;
}

/* Parameters and FLOPs, once the shape is known. */
static void count_cost(const CnnNet *net, CnnNode *n) {
  CnnTensorSpec t[4];
  int nt = cnn_node_tensors(net, n, t);
  n->nparams = 0;
  for (int i = 0; i < nt; i++)
    if (t[i].learnable) n->nparams += t[i].count;
  int64_t out = cnn_shape_size(n->shape);
  int64_t in = n->ninputs ? cnn_shape_size(*input_shape(net, n, 0)) : 0;
  int64_t window = (int64_t)n->kernel[0] * n->kernel[1];
  int64_t in_c = n->ninputs ? input_shape(net, n, 0)->dim[0] : 0;
  switch (n->op) {
  case OP_CONV1D: case OP_CONV2D:
    n->flops = 2 * out * (in_c / n->groups) * window + (n->bias ? out : 0);
    break;
  case OP_CONV_TRANSPOSE2D:
    n->flops = 2 * in * n->out_channels * window + (n->bias ? out : 0);
    break;
  case OP_DENSE: n->flops = 2 * in * out + (n->bias ? out : 0); break;
  case OP_MAXPOOL1D: case OP_MAXPOOL2D: case OP_AVGPOOL1D: case OP_AVGPOOL2D:
    n->flops = out * window;
    break;
  case OP_GLOBAL_AVGPOOL: case OP_GLOBAL_MAXPOOL: n->flops = in; break;
  case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D: { /* the sums, two divisions */
    int c, h, w;
    cnn_shape_chw(*input_shape(net, n, 0), &c, &h, &w);
    n->flops = c * adaptive_span(h, n->shape.rank == 3 ? n->shape.dim[1] : 1) *
               adaptive_span(w, n->shape.dim[n->shape.rank - 1]) + 2 * out;
    break;
  }
  case OP_UPSAMPLE: n->flops = n->mode == CNN_UPSAMPLE_BILINEAR ? 9 * out : 0; break; /* 6 mul, 3 add */
  case OP_BATCHNORM: n->flops = 2 * out; break;
  case OP_GROUPNORM: case OP_LAYERNORM: n->flops = 5 * out + (n->affine ? 2 * out : 0); break; /* 2 sums, sub, mul; affine */
  case OP_SOFTMAX: n->flops = 3 * out; break;
  case OP_ADD: case OP_MUL: n->flops = out; break;
  default: n->flops = cnn_op_info(n->op)->flags & CNN_OPF_ACTIVATION ? out : 0;
  }
}

static bool check_size(CnnDiags *d, const CnnNet *net, CnnNode *n) {
  int64_t size = 1;
  for (int i = 0; i < n->shape.rank; i++) {
    if (n->shape.dim[i] < 1) {
      char buf[64];
      cnn_error(d, n->loc, "%s: output shape %s is empty", cnn_op_name(n->op),
                cnn_shape_str(n->shape, buf, sizeof buf));
      return false;
    }
    if (__builtin_mul_overflow(size, n->shape.dim[i], &size) || size > MAX_ELEMENTS) {
      cnn_error(d, n->loc, "%s: output has more than 2^30 elements per sample", cnn_op_name(n->op));
      return false;
    }
  }
  CnnTensorSpec t[4];
  int nt = cnn_node_tensors(net, n, t);
  for (int i = 0; i < nt; i++)
    if (t[i].count < 0 || t[i].count > MAX_ELEMENTS) {
      cnn_error(d, n->loc, "%s: %s has more than 2^30 elements", cnn_op_name(n->op), t[i].name);
      return false;
    }
  return true;
}

/* groupnorm: the groups split the channels evenly */
static bool infer_groups(CnnDiags *d, CnnNode *n, const CnnShape *in) {
  n->shape = *in;
  if (in->dim[0] % n->groups == 0) return true;
  char buf[64];
  cnn_error(d, n->loc, "groupnorm: %d groups do not divide the %d channels of its input %s", n->groups,
            in->dim[0], cnn_shape_str(*in, buf, sizeof buf));
  char divisors[128];
  size_t len = 0;
  for (int k = 1; k <= in->dim[0] && len < sizeof divisors; k++)
    if (in->dim[0] % k == 0) len += (size_t)snprintf(divisors + len, sizeof divisors - len, "%s%d", len ? ", " : "", k);
  cnn_hint(d, "the groups can be %s%s", divisors, len >= sizeof divisors ? "..." : "");
  return false;
}

bool cnn_infer_shape(CnnDiags *d, const CnnNet *net, CnnNode *n) {
  const CnnShape *in = n->ninputs ? input_shape(net, n, 0) : NULL;
  bool ok = true;
  switch (n->op) {
  case OP_INPUT: break;
  case OP_CONV1D: case OP_CONV2D: case OP_MAXPOOL1D: case OP_MAXPOOL2D:
  case OP_AVGPOOL1D: case OP_AVGPOOL2D:
    ok = infer_window(d, n, in);
    break;
  case OP_CONV_TRANSPOSE2D: ok = infer_transposed(d, n, in); break;
  case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D: {
    int r = is_spatial_1d(n->op) ? 2 : 3;
    ok = need_rank(d, n, in, r);
    n->shape = r == 2 ? (CnnShape){2, {in->dim[0], n->output_size[1]}}
                      : (CnnShape){3, {in->dim[0], n->output_size[0], n->output_size[1]}};
    break;
  }
  case OP_UPSAMPLE:
    ok = need_rank(d, n, in, 3);
    n->shape = (CnnShape){3, {in->dim[0], in->dim[1] * n->scale[0], in->dim[2] * n->scale[1]}};
    break;
  case OP_GLOBAL_AVGPOOL: case OP_GLOBAL_MAXPOOL:
    ok = in->rank >= 2;
    if (!ok) {
      char buf[64];
      cnn_error(d, n->loc, "%s expects a [channels, ...] input with spatial axes, "
                "but its input has shape %s", cnn_op_name(n->op), cnn_shape_str(*in, buf, sizeof buf));
    }
    n->shape = (CnnShape){1, {in->dim[0]}};
    break;
  case OP_DENSE:
    ok = need_rank(d, n, in, 1);
    n->shape = (CnnShape){1, {n->out_channels}};
    break;
  case OP_FLATTEN: n->shape = (CnnShape){1, {(int)cnn_shape_size(*in)}}; break;
  case OP_ADD: case OP_MUL: ok = same_shapes(d, net, n); break;
  case OP_CONCAT: ok = infer_concat(d, net, n); break;
  case OP_GROUPNORM: ok = infer_groups(d, n, in); break;
  default: n->shape = *in; /* element-wise and normalization */
  }
  if (!ok || !check_size(d, net, n)) return false;
  count_cost(net, n);
  return true;
}

static CnnTensorSpec tensor(const char *name, int rank, const int *dim, bool learnable) {
  CnnTensorSpec t = {.name = name, .rank = rank, .count = 1, .learnable = learnable};
  for (int i = 0; i < rank; i++) {
    t.dim[i] = dim[i];
    t.count *= dim[i];
  }
  return t;
}

int cnn_node_tensors(const CnnNet *net, const CnnNode *n, CnnTensorSpec out[4]) {
  int nt = 0;
  int in_c = n->ninputs ? input_shape(net, n, 0)->dim[0] : 0;
  int in_size = n->ninputs ? (int)cnn_shape_size(*input_shape(net, n, 0)) : 0;
  int oc = n->out_channels, kh = n->kernel[0], kw = n->kernel[1];
  switch (n->op) {
  case OP_CONV1D: out[nt++] = tensor("weight", 3, (int[]){oc, in_c / n->groups, kw}, true); break;
  case OP_CONV2D: out[nt++] = tensor("weight", 4, (int[]){oc, in_c / n->groups, kh, kw}, true); break;
  case OP_CONV_TRANSPOSE2D: out[nt++] = tensor("weight", 4, (int[]){in_c, oc, kh, kw}, true); break;
  case OP_DENSE: out[nt++] = tensor("weight", 2, (int[]){oc, in_size}, true); break;
  case OP_BATCHNORM:
    out[nt++] = tensor("weight", 1, &in_c, true);
    out[nt++] = tensor("bias", 1, &in_c, true);
    out[nt++] = tensor("running_mean", 1, &in_c, false);
    out[nt++] = tensor("running_var", 1, &in_c, false);
    return nt;
  case OP_GROUPNORM:
    if (!n->affine) return 0;
    out[nt++] = tensor("weight", 1, &in_c, true);
    out[nt++] = tensor("bias", 1, &in_c, true);
    return nt;
  case OP_LAYERNORM: /* elementwise: the sample's shape */
    if (!n->affine) return 0;
    out[nt++] = tensor("weight", n->shape.rank, n->shape.dim, true);
    out[nt++] = tensor("bias", n->shape.rank, n->shape.dim, true);
    return nt;
  default: return 0;
  }
  if (n->bias) out[nt++] = tensor("bias", 1, &oc, true);
  return nt;
}
