/* emit/onnx.c - `cnncc --emit=onnx`: the network in evaluation mode
 * (batchnorm with its running statistics, dropout gone) as an ONNX model,
 * opset 13, written with protobuf-c from the ONNX schema (onnx/onnx.proto,
 * compiled by protoc-c at build time). docs/interop.md describes it.
 *
 * One ONNX value per node, named after the node; the graph's input is the
 * network's input with a symbolic batch axis "N", its output what the
 * trainer's predict returns (net->output). Weights are initializers named
 * "NODE.weight", "NODE.bias", ... in PyTorch's layout (the checkpoint's), or
 * with --fold-batchnorm the convolution's or dense layer's weights with the
 * batchnorm after it folded in. Every message lives in the arena, which is
 * freed after the model is packed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"
#include "cnnrt.h"
#include "onnx.pb-c.h"

#define OPSET 13
#define IR_VERSION 7 /* the IR of opset 13 (ONNX 1.8) */
#define MAX_ATTRS 8
#define MAX_NODES 11 /* the most ONNX nodes of one cnncc node besides its inputs (emit_norm) */
#define MAX_INITS 5  /* the most initializers of one cnncc node (emit_norm) */

typedef struct {
  CnnArena *A;
  const CnnNet *net;
  const CnnOnnxOptions *opt;
  const float *params, *buffers;
  int64_t *param_at, *buffer_at; /* where each node's tensors start in the blocks */
  const char **value;            /* the ONNX value holding each node's output */
  int *folded;                   /* the batchnorm folded into node i, or -1 */
  Onnx__NodeProto **nodes;
  size_t nnodes;
  Onnx__TensorProto **inits;
  size_t ninits;
} Onnx;

/* ---- messages ---- */

static Onnx__AttributeProto *attr_new(Onnx *X, const char *name, Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *a = cnn_alloc(X->A, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = cnn_strdup(X->A, name);
  a->has_type = true;
  a->type = type;
  return a;
}

static void attr_int(Onnx *X, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr_new(X, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = true;
  a->i = v;
  n->attribute[n->n_attribute++] = a;
}

static void attr_float(Onnx *X, Onnx__NodeProto *n, const char *name, double v) {
  Onnx__AttributeProto *a = attr_new(X, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = true;
  a->f = (float)v;
  n->attribute[n->n_attribute++] = a;
}

static void attr_string(Onnx *X, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *a = attr_new(X, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = true;
  a->s.len = strlen(v);
  a->s.data = (uint8_t *)cnn_strdup(X->A, v);
  n->attribute[n->n_attribute++] = a;
}

static void attr_ints(Onnx *X, Onnx__NodeProto *n, const char *name, int count, const int64_t *v) {
  Onnx__AttributeProto *a = attr_new(X, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)count;
  a->ints = cnn_alloc(X->A, sizeof(int64_t) * (size_t)count);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
  n->attribute[n->n_attribute++] = a;
}

/* A node of operator `op` reading inputs[0..nin) (a NULL one ends them
 * early; inputs NULL: the caller adds nin inputs) and writing `output`,
 * appended to the graph. */
static Onnx__NodeProto *add_node(Onnx *X, const char *op, const char *name, int nin, const char *const *inputs,
                                 const char *output) {
  Onnx__NodeProto *n = cnn_alloc(X->A, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = (char *)op;
  n->name = cnn_strdup(X->A, name);
  n->input = cnn_alloc(X->A, sizeof(char *) * (size_t)(nin + 1));
  for (int i = 0; inputs && i < nin && inputs[i]; i++) n->input[n->n_input++] = (char *)inputs[i];
  n->n_output = 1;
  n->output = cnn_alloc(X->A, sizeof(char *));
  n->output[0] = (char *)output;
  n->attribute = cnn_alloc(X->A, sizeof(Onnx__AttributeProto *) * MAX_ATTRS);
  X->nodes[X->nnodes++] = n;
  return n;
}

/* A float initializer `name` of shape dim[0..rank) holding a copy of v. */
static const char *add_init(Onnx *X, const char *name, int rank, const int *dim, const float *v) {
  Onnx__TensorProto *t = cnn_alloc(X->A, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = cnn_strdup(X->A, name);
  t->has_data_type = true;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = (size_t)rank;
  t->dims = cnn_alloc(X->A, sizeof(int64_t) * (size_t)rank);
  size_t count = 1;
  for (int i = 0; i < rank; i++) count *= (size_t)(t->dims[i] = dim[i]);
  t->n_float_data = count;
  t->float_data = cnn_alloc(X->A, sizeof(float) * count);
  memcpy(t->float_data, v, sizeof(float) * count);
  X->inits[X->ninits++] = t;
  return t->name;
}

/* A 1-d int64 initializer `name` holding v[0..count): a Reshape's shape. */
static const char *add_ints(Onnx *X, const char *name, int count, const int64_t *v) {
  Onnx__TensorProto *t = cnn_alloc(X->A, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = cnn_strdup(X->A, name);
  t->has_data_type = true;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  t->n_dims = 1;
  t->dims = cnn_alloc(X->A, sizeof(int64_t));
  t->dims[0] = count;
  t->n_int64_data = (size_t)count;
  t->int64_data = cnn_alloc(X->A, sizeof(int64_t) * (size_t)count);
  memcpy(t->int64_data, v, sizeof(int64_t) * (size_t)count);
  X->inits[X->ninits++] = t;
  return t->name;
}

/* A graph input or output: float, [N, shape...]. */
static Onnx__ValueInfoProto *value_info(Onnx *X, const char *name, CnnShape s) {
  Onnx__TensorShapeProto *shape = cnn_alloc(X->A, sizeof *shape);
  onnx__tensor_shape_proto__init(shape);
  shape->n_dim = (size_t)s.rank + 1;
  shape->dim = cnn_alloc(X->A, sizeof(Onnx__TensorShapeProto__Dimension *) * shape->n_dim);
  for (int i = 0; i <= s.rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = cnn_alloc(X->A, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (i == 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = "N";
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = s.dim[i - 1];
    }
    shape->dim[i] = d;
  }
  Onnx__TypeProto__Tensor *tt = cnn_alloc(X->A, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = true;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = shape;
  Onnx__TypeProto *type = cnn_alloc(X->A, sizeof *type);
  onnx__type_proto__init(type);
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  Onnx__ValueInfoProto *v = cnn_alloc(X->A, sizeof *v);
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  v->type = type;
  return v;
}

/* ---- weights ---- */

/* The tensor `name` of node n, and its spec in *spec. */
static const float *tensor(Onnx *X, const CnnNode *n, const char *name, CnnTensorSpec *spec) {
  CnnTensorSpec ts[4];
  int nt = cnn_node_tensors(X->net, n, ts);
  int64_t p = X->param_at[n->id], b = X->buffer_at[n->id];
  for (int t = 0; t < nt; t++) {
    if (!strcmp(ts[t].name, name)) {
      if (spec) *spec = ts[t];
      return ts[t].learnable ? X->params + p : X->buffers + b;
    }
    *(ts[t].learnable ? &p : &b) += ts[t].count;
  }
  return NULL;
}

/* Where each node's tensors start in the parameter and buffer blocks
 * (nodes in order, as the checkpoint has them); the block sizes. */
static void locate_tensors(Onnx *X, int64_t *np, int64_t *nb) {
  const CnnNet *net = X->net;
  X->param_at = cnn_alloc(X->A, sizeof(int64_t) * (size_t)net->nnodes);
  X->buffer_at = cnn_alloc(X->A, sizeof(int64_t) * (size_t)net->nnodes);
  *np = *nb = 0;
  for (int i = 0; i < net->nnodes; i++) {
    CnnTensorSpec ts[4];
    int nt = cnn_node_tensors(net, &net->nodes[i], ts);
    X->param_at[i] = *np;
    X->buffer_at[i] = *nb;
    for (int t = 0; t < nt; t++) *(ts[t].learnable ? np : nb) += ts[t].count;
  }
}

/* The layers whose weights start as 1 and biases as 0. */
static bool ones_and_zeros(CnnOp op) { return op == OP_BATCHNORM || op == OP_GROUPNORM || op == OP_LAYERNORM; }

/* Without a checkpoint: the weights the trainer starts from with the train
 * block's seed, drawn as the generated NET_init() draws them (emit/train.c):
 * convolution and dense tensors uniform in +-1/sqrt(fan_in) in parameter
 * order, batchnorm weight 1, bias 0, running mean 0, running variance 1;
 * groupnorm's and layernorm's weight 1, bias 0. */
static void initial_weights(Onnx *X, float *params, float *buffers) {
  RtRng rng;
  rt_rng_seed(&rng, X->net->train.seed);
  for (int i = 0; i < X->net->nnodes; i++) {
    const CnnNode *n = &X->net->nodes[i];
    CnnTensorSpec ts[4];
    int nt = cnn_node_tensors(X->net, n, ts);
    float *p = params + X->param_at[i], *b = buffers + X->buffer_at[i];
    double bound = nt ? 1 / sqrt((double)(ts[0].count / ts[0].dim[0])) : 0; /* fan_in: all but dim 0 */
    for (int t = 0; t < nt; t++) {
      float *v = ts[t].learnable ? p : b;
      bool one = !strcmp(ts[t].name, "weight") || !strcmp(ts[t].name, "running_var");
      for (int64_t k = 0; k < ts[t].count; k++)
        v[k] = ones_and_zeros(n->op) ? one : (float)rt_rng_uniform_range(&rng, -bound, bound);
      *(ts[t].learnable ? &p : &b) += ts[t].count;
    }
  }
}

/* ---- folding batchnorm ---- */

/* With --fold-batchnorm, a batchnorm folds into the convolution or dense
 * layer that feeds it when nothing else reads that layer's output. */
static void find_folds(Onnx *X, const bool *live) {
  const CnnNet *net = X->net;
  X->folded = cnn_alloc(X->A, sizeof(int) * (size_t)net->nnodes);
  int *readers = cnn_alloc(X->A, sizeof(int) * (size_t)net->nnodes);
  for (int i = 0; i < net->nnodes; i++) {
    X->folded[i] = -1;
    if (live[i])
      for (int j = 0; j < net->nodes[i].ninputs; j++) readers[net->nodes[i].inputs[j]]++;
  }
  if (!X->opt->fold_batchnorm) return;
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *bn = &net->nodes[i];
    if (!live[i] || bn->op != OP_BATCHNORM) continue;
    int src = bn->inputs[0];
    CnnOp op = net->nodes[src].op;
    if ((op == OP_CONV1D || op == OP_CONV2D || op == OP_CONV_TRANSPOSE2D || op == OP_DENSE) &&
        readers[src] == 1 && src != net->output)
      X->folded[src] = i;
  }
}

/* The weight and bias of a convolution or dense node as initializers, with
 * the batchnorm bn (or -1) folded in under the layer's names: w * scale and
 * b * scale + shift per output channel (dimension 1 of a transposed
 * convolution's weight, else 0), scale = gamma / sqrt(var + eps), shift =
 * beta - mean * scale, in double. Returns the bias's name, or NULL for a
 * layer without bias. */
static const char *layer_weights(Onnx *X, const CnnNode *n, int bn, const char **wname) {
  CnnTensorSpec ws;
  const float *w = tensor(X, n, "weight", &ws), *b = n->bias ? tensor(X, n, "bias", NULL) : NULL;
  if (bn < 0) {
    *wname = add_init(X, cnn_format(X->A, "%s.weight", n->name), ws.rank, ws.dim, w);
    return b ? add_init(X, cnn_format(X->A, "%s.bias", n->name), 1, &n->out_channels, b) : NULL;
  }
  const CnnNode *norm = &X->net->nodes[bn];
  const float *gamma = tensor(X, norm, "weight", NULL), *beta = tensor(X, norm, "bias", NULL);
  const float *mean = tensor(X, norm, "running_mean", NULL), *var = tensor(X, norm, "running_var", NULL);
  int oc = n->out_channels;
  bool t = n->op == OP_CONV_TRANSPOSE2D;
  int64_t inner = ws.count / ws.dim[0] / (t ? oc : 1); /* the values of one channel in a row */
  double *scale = cnn_alloc(X->A, sizeof(double) * (size_t)oc);
  float *fw = cnn_alloc(X->A, sizeof(float) * (size_t)ws.count);
  float *fb = cnn_alloc(X->A, sizeof(float) * (size_t)oc);
  for (int c = 0; c < oc; c++) {
    scale[c] = gamma[c] / sqrt((double)var[c] + norm->eps);
    fb[c] = (float)(((b ? b[c] : 0) - (double)mean[c]) * scale[c] + beta[c]);
  }
  for (int64_t k = 0; k < ws.count; k++) fw[k] = (float)(w[k] * scale[t ? k / inner % oc : k / inner]);
  *wname = add_init(X, cnn_format(X->A, "%s.weight", n->name), ws.rank, ws.dim, fw);
  return add_init(X, cnn_format(X->A, "%s.bias", n->name), 1, &oc, fb);
}

/* ---- operators ---- */

/* The spatial attributes of a window, per ONNX axis: a 1-d operator's
 * values are its width's (axis 1 of cnncc's (height, width)); pads are all
 * the starts, then all the ends. */
static void window_attrs(Onnx *X, Onnx__NodeProto *o, const CnnNode *n, bool dilations) {
  int r = cnn_op_info(n->op)->rank, a0 = 2 - r;
  int64_t k[2], s[2], d[2], pads[4];
  for (int a = 0; a < r; a++) {
    k[a] = n->kernel[a0 + a];
    s[a] = n->stride[a0 + a];
    d[a] = n->dilation[a0 + a];
    pads[a] = n->pad_lo[a0 + a];
    pads[r + a] = n->pad_hi[a0 + a];
  }
  attr_ints(X, o, "kernel_shape", r, k);
  attr_ints(X, o, "strides", r, s);
  attr_ints(X, o, "pads", 2 * r, pads);
  if (dilations) attr_ints(X, o, "dilations", r, d);
}

static void emit_layer(Onnx *X, const CnnNode *n, const char *in) {
  const char *w, *b = layer_weights(X, n, X->folded[n->id], &w);
  const char *out = X->value[n->id];
  if (n->op == OP_DENSE) {
    attr_int(X, add_node(X, "Gemm", n->name, 3, (const char *[]){in, w, b}, out), "transB", 1);
    return;
  }
  bool t = n->op == OP_CONV_TRANSPOSE2D;
  Onnx__NodeProto *o = add_node(X, t ? "ConvTranspose" : "Conv", n->name, 3, (const char *[]){in, w, b}, out);
  window_attrs(X, o, n, true);
  if (t) attr_ints(X, o, "output_padding", 2, (int64_t[]){n->output_padding[0], n->output_padding[1]});
  if (n->groups > 1) attr_int(X, o, "group", n->groups);
}

static void emit_batchnorm(Onnx *X, const CnnNode *n, const char *in) {
  const char *names[] = {"weight", "bias", "running_mean", "running_var"};
  const char *inputs[5] = {in};
  int c = n->shape.dim[0];
  for (int k = 0; k < 4; k++)
    inputs[k + 1] =
        add_init(X, cnn_format(X->A, "%s.%s", n->name, names[k]), 1, &c, tensor(X, n, names[k], NULL));
  Onnx__NodeProto *o = add_node(X, "BatchNormalization", n->name, 5, inputs, X->value[n->id]);
  attr_float(X, o, "epsilon", n->eps);
  attr_float(X, o, "momentum", 1 - n->momentum); /* ONNX's weighs the running value */
}

/* A scalar initializer of node n's, "NAME/what". */
static const char *constant(Onnx *X, const CnnNode *n, const char *what, float v) {
  return add_init(X, cnn_format(X->A, "%s/%s", n->name, what), 0, NULL, &v);
}

/* A node of n's with two inputs writing the intermediate value "NAME/what"
 * (NULL: n's output). */
static const char *binary(Onnx *X, const CnnNode *n, const char *op, const char *a, const char *b,
                          const char *what) {
  const char *out = what ? cnn_format(X->A, "%s/%s", n->name, what) : X->value[n->id];
  add_node(X, op, what ? out : n->name, 2, (const char *[]){a, b}, out);
  return out;
}

/* The mean over the last axis of [N, G, S], kept: "NAME/what". */
static const char *group_mean(Onnx *X, const CnnNode *n, const char *in, const char *what) {
  const char *out = cnn_format(X->A, "%s/%s", n->name, what);
  Onnx__NodeProto *o = add_node(X, "ReduceMean", out, 1, &in, out);
  attr_ints(X, o, "axes", 1, (int64_t[]){2});
  attr_int(X, o, "keepdims", 1);
  return out;
}

/* groupnorm and layernorm (one group) in opset 13's primitives, as
 * (x - mean) / sqrt(var + eps) over [N, G, S], the sample's values in
 * groups: Reshape there and back, then Mul by the weight and Add the bias,
 * which broadcast as [C, 1, ...] (groupnorm) or the sample's shape. */
static void emit_norm(Onnx *X, const CnnNode *n, const char *in) {
  int groups = n->op == OP_GROUPNORM ? n->groups : 1, r = n->shape.rank;
  const char *shape = add_ints(X, cnn_format(X->A, "%s/groups", n->name), 3, (int64_t[]){0, groups, -1});
  const char *grouped = cnn_format(X->A, "%s/grouped", n->name);
  add_node(X, "Reshape", grouped, 2, (const char *[]){in, shape}, grouped);
  const char *mean = group_mean(X, n, grouped, "mean");
  const char *centered = binary(X, n, "Sub", grouped, mean, "centered");
  const char *var = group_mean(X, n, binary(X, n, "Mul", centered, centered, "square"), "var");
  const char *eps = binary(X, n, "Add", var, constant(X, n, "eps", (float)n->eps), "var_eps");
  const char *std = cnn_format(X->A, "%s/std", n->name);
  add_node(X, "Sqrt", std, 1, &eps, std);
  const char *normalized = binary(X, n, "Div", centered, std, "normalized");
  int64_t dims[4] = {0};
  for (int i = 0; i < r; i++) dims[i + 1] = n->shape.dim[i];
  const char *back = add_ints(X, cnn_format(X->A, "%s/shape", n->name), r + 1, dims);
  const char *out = n->affine ? cnn_format(X->A, "%s/shaped", n->name) : X->value[n->id];
  add_node(X, "Reshape", n->affine ? out : n->name, 2, (const char *[]){normalized, back}, out);
  if (!n->affine) return;
  int wdim[3] = {n->shape.dim[0], 1, 1}; /* groupnorm's [C, 1, ...] */
  if (n->op != OP_GROUPNORM) memcpy(wdim, n->shape.dim, sizeof wdim);
  const char *w = add_init(X, cnn_format(X->A, "%s.weight", n->name), r, wdim, tensor(X, n, "weight", NULL));
  const char *b = add_init(X, cnn_format(X->A, "%s.bias", n->name), r, wdim, tensor(X, n, "bias", NULL));
  binary(X, n, "Add", binary(X, n, "Mul", out, w, "scaled"), b, NULL);
}

/* gelu: x * 0.5 * (1 + erf(x / sqrt(2))), as torch exports its exact form
 * (opset 13 has no Gelu). */
static void emit_gelu(Onnx *X, const CnnNode *n, const char *in) {
  const char *scaled = binary(X, n, "Div", in, constant(X, n, "sqrt2", 1.41421356237309505f), "scaled");
  const char *erf = cnn_format(X->A, "%s/erf", n->name);
  add_node(X, "Erf", erf, 1, &scaled, erf);
  const char *cdf2 = binary(X, n, "Add", erf, constant(X, n, "one", 1), "cdf2");
  const char *half = binary(X, n, "Mul", in, constant(X, n, "half", 0.5f), "half_x");
  binary(X, n, "Mul", half, cdf2, NULL);
}

/* silu, x * sigmoid(x), and hardswish, x * hardsigmoid(x) with torch's
 * slope 1/6 and offset 1/2 (HardSwish itself is opset 14). */
static void emit_gated(Onnx *X, const CnnNode *n, const char *in) {
  bool hard = n->op == OP_HARDSWISH;
  const char *gate = cnn_format(X->A, "%s/gate", n->name);
  Onnx__NodeProto *o = add_node(X, hard ? "HardSigmoid" : "Sigmoid", gate, 1, &in, gate);
  if (hard) {
    attr_float(X, o, "alpha", 1.0 / 6);
    attr_float(X, o, "beta", 0.5);
  }
  binary(X, n, "Mul", in, gate, NULL);
}

/* upsample: Resize by its scales, with no region of interest; nearest as
 * PyTorch's floor(o / scale), bilinear with its half-pixel centres
 * (align_corners=False), which clamp at the edges as ONNX Runtime does. */
static void emit_upsample(Onnx *X, const CnnNode *n, const char *in) {
  const float s[4] = {1, 1, (float)n->scale[0], (float)n->scale[1]};
  const char *scales = add_init(X, cnn_format(X->A, "%s/scales", n->name), 1, (int[]){4}, s);
  Onnx__NodeProto *o = add_node(X, "Resize", n->name, 3, (const char *[]){in, "", scales}, X->value[n->id]);
  bool bil = n->mode == CNN_UPSAMPLE_BILINEAR;
  attr_string(X, o, "mode", bil ? "linear" : "nearest");
  attr_string(X, o, "coordinate_transformation_mode", bil ? "pytorch_half_pixel" : "asymmetric");
  if (!bil) attr_string(X, o, "nearest_mode", "floor");
}

/* The matrix that averages adaptive_avgpool n's windows along one axis of
 * `in` values to `out`: [out, in], or transposed [in, out]. */
static const char *window_matrix(Onnx *X, const CnnNode *n, const char *what, int in, int out, bool transposed) {
  float *m = cnn_alloc(X->A, sizeof(float) * (size_t)in * (size_t)out);
  for (int o = 0; o < out; o++) {
    int s, e;
    cnn_adaptive_window(in, out, o, &s, &e);
    for (int i = s; i < e; i++) m[transposed ? (size_t)i * out + o : (size_t)o * in + i] = 1.0f / (float)(e - s);
  }
  int dim[2] = {transposed ? in : out, transposed ? out : in};
  return add_init(X, cnn_format(X->A, "%s/%s", n->name, what), 2, dim, m);
}

/* adaptive_avgpool: AveragePool when every window has the same size (the
 * input a multiple of the output), else the windows' means as products
 * with averaging matrices, A_rows x X x A_columns^T (MatMul broadcasts
 * over the batch and the channels), which ONNX has no pooling for. */
static void emit_adaptive(Onnx *X, const CnnNode *n, const char *in) {
  int c, ih, iw, oh, ow;
  cnn_shape_chw(X->net->nodes[n->inputs[0]].shape, &c, &ih, &iw);
  cnn_shape_chw(n->shape, &c, &oh, &ow);
  bool one_d = n->shape.rank == 2;
  if (ih % oh == 0 && iw % ow == 0) {
    int64_t k[2] = {ih / oh, iw / ow}, pads[4] = {0, 0, 0, 0};
    Onnx__NodeProto *o = add_node(X, "AveragePool", n->name, 1, &in, X->value[n->id]);
    attr_ints(X, o, "kernel_shape", one_d ? 1 : 2, k + one_d);
    attr_ints(X, o, "strides", one_d ? 1 : 2, k + one_d);
    attr_ints(X, o, "pads", one_d ? 2 : 4, pads);
    return;
  }
  const char *rows = in;
  if (!one_d) rows = binary(X, n, "MatMul", window_matrix(X, n, "row_means", ih, oh, false), in, "rows");
  binary(X, n, "MatMul", rows, window_matrix(X, n, "column_means", iw, ow, true), NULL);
}

/* add and mul of several inputs: a chain of binary nodes, left to right as
 * the generated code sums them. */
static void emit_chain(Onnx *X, const CnnNode *n) {
  const char *op = n->op == OP_ADD ? "Add" : "Mul", *acc = X->value[n->inputs[0]];
  for (int i = 1; i < n->ninputs; i++) {
    const char *out = i == n->ninputs - 1 ? X->value[n->id] : cnn_format(X->A, "%s/%d", n->name, i);
    const char *name = i == n->ninputs - 1 ? n->name : out;
    add_node(X, op, name, 2, (const char *[]){acc, X->value[n->inputs[i]]}, out);
    acc = out;
  }
}

/* The ONNX nodes of one cnncc node (none for dropout: the identity in
 * evaluation mode, and for a batchnorm folded into its layer). */
static void emit_node(Onnx *X, const CnnNode *n) {
  const char *in = X->value[n->inputs[0]], *out = X->value[n->id];
  Onnx__NodeProto *o;
  switch (n->op) {
  case OP_CONV1D: case OP_CONV2D: case OP_CONV_TRANSPOSE2D: case OP_DENSE: emit_layer(X, n, in); break;
  case OP_MAXPOOL1D: case OP_MAXPOOL2D:
    window_attrs(X, add_node(X, "MaxPool", n->name, 1, &in, out), n, false);
    break;
  case OP_AVGPOOL1D: case OP_AVGPOOL2D: /* padding counts in the average, as in cnncc */
    o = add_node(X, "AveragePool", n->name, 1, &in, out);
    window_attrs(X, o, n, false);
    attr_int(X, o, "count_include_pad", 1);
    break;
  case OP_GLOBAL_AVGPOOL: case OP_GLOBAL_MAXPOOL: { /* [N, C, ...] -> [N, C, 1, ...] -> [N, C] */
    const char *pooled = cnn_format(X->A, "%s/pooled", n->name);
    add_node(X, n->op == OP_GLOBAL_MAXPOOL ? "GlobalMaxPool" : "GlobalAveragePool", pooled, 1, &in, pooled);
    attr_int(X, add_node(X, "Flatten", n->name, 1, &pooled, out), "axis", 1);
    break;
  }
  case OP_FLATTEN: attr_int(X, add_node(X, "Flatten", n->name, 1, &in, out), "axis", 1); break;
  case OP_UPSAMPLE: emit_upsample(X, n, in); break;
  case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D: emit_adaptive(X, n, in); break;
  case OP_RELU: add_node(X, "Relu", n->name, 1, &in, out); break;
  case OP_LEAKY_RELU:
    attr_float(X, add_node(X, "LeakyRelu", n->name, 1, &in, out), "alpha", n->negative_slope);
    break;
  case OP_SIGMOID: add_node(X, "Sigmoid", n->name, 1, &in, out); break;
  case OP_TANH: add_node(X, "Tanh", n->name, 1, &in, out); break;
  case OP_GELU: emit_gelu(X, n, in); break;
  case OP_SILU: case OP_HARDSWISH: emit_gated(X, n, in); break;
  case OP_SOFTMAX: attr_int(X, add_node(X, "Softmax", n->name, 1, &in, out), "axis", 1); break;
  case OP_BATCHNORM: emit_batchnorm(X, n, in); break;
  case OP_GROUPNORM: case OP_LAYERNORM: emit_norm(X, n, in); break;
  case OP_ADD: case OP_MUL: emit_chain(X, n); break;
  case OP_CONCAT:
    o = add_node(X, "Concat", n->name, n->ninputs, NULL, out);
    for (int i = 0; i < n->ninputs; i++) o->input[o->n_input++] = (char *)X->value[n->inputs[i]];
    attr_int(X, o, "axis", 1);
    break;
  case OP_INPUT: case OP_DROPOUT: case OP_COUNT: break; /* no case left out: -Wswitch names a new op */
  }
}

/* The value names: each node's own, but a dropout's is its input's and a
 * folded batchnorm's its layer's output (the layer then writes the
 * batchnorm's name, which is what later nodes read). */
static void name_values(Onnx *X) {
  const CnnNet *net = X->net;
  X->value = cnn_alloc(X->A, sizeof(char *) * (size_t)net->nnodes);
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    X->value[i] = n->op == OP_DROPOUT ? X->value[n->inputs[0]] : n->name;
    if (n->op == OP_BATCHNORM && X->folded[n->inputs[0]] == i) X->value[n->inputs[0]] = n->name;
  }
}

/* ---- the model ---- */

static Onnx__GraphProto *graph(Onnx *X) {
  const CnnNet *net = X->net;
  bool *live = cnn_alloc(X->A, (size_t)net->nnodes);
  live[net->output] = true;
  for (int i = net->nnodes - 1; i >= 0; i--)
    if (live[i])
      for (int j = 0; j < net->nodes[i].ninputs; j++) live[net->nodes[i].inputs[j]] = true;
  find_folds(X, live);
  name_values(X);
  size_t most = 0;
  for (int i = 0; i < net->nnodes; i++) most += (size_t)net->nodes[i].ninputs + MAX_NODES;
  X->nodes = cnn_alloc(X->A, sizeof *X->nodes * most);
  X->inits = cnn_alloc(X->A, sizeof *X->inits * (size_t)net->nnodes * MAX_INITS);
  const char *source = X->opt->source_file ? X->opt->source_file : net->name;
  for (int i = 1; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!live[i] || (n->op == OP_BATCHNORM && X->folded[n->inputs[0]] == i)) continue;
    size_t first = X->nnodes;
    emit_node(X, n);
    /* where the layer is written, for Netron's node properties */
    for (size_t k = first; k < X->nnodes; k++)
      X->nodes[k]->doc_string = cnn_format(X->A, "%s:%d: %s%s", source, n->loc.first_line, cnn_op_name(n->op),
                                           X->folded[i] >= 0 ? " with batchnorm folded in" : "");
  }
  Onnx__GraphProto *g = cnn_alloc(X->A, sizeof *g);
  onnx__graph_proto__init(g);
  g->name = (char *)net->name;
  g->n_node = X->nnodes;
  g->node = X->nodes;
  g->n_initializer = X->ninits;
  g->initializer = X->inits;
  g->n_input = g->n_output = 1;
  g->input = cnn_alloc(X->A, sizeof *g->input);
  g->input[0] = value_info(X, X->value[0], net->nodes[0].shape);
  g->output = cnn_alloc(X->A, sizeof *g->output);
  g->output[0] = value_info(X, X->value[net->output], net->nodes[net->output].shape);
  return g;
}

static Onnx__ModelProto *model(Onnx *X) {
  Onnx__OperatorSetIdProto *opset = cnn_alloc(X->A, sizeof *opset);
  onnx__operator_set_id_proto__init(opset);
  opset->domain = "";
  opset->has_version = true;
  opset->version = OPSET;
  Onnx__ModelProto *m = cnn_alloc(X->A, sizeof *m);
  onnx__model_proto__init(m);
  m->has_ir_version = true;
  m->ir_version = IR_VERSION;
  m->producer_name = "cnncc";
  m->producer_version = PACKAGE_VERSION;
  m->n_opset_import = 1;
  m->opset_import = cnn_alloc(X->A, sizeof *m->opset_import);
  m->opset_import[0] = opset;
  m->doc_string = cnn_format(X->A, "network %s from %s, evaluation mode; weights: %s%s", X->net->name,
                             X->opt->source_file ? X->opt->source_file : "a network description",
                             X->opt->weights ? X->opt->weights : "the trainer's initialization",
                             X->opt->fold_batchnorm ? "; batchnorm folded" : "");
  m->graph = graph(X);
  return m;
}

/* ---- the file ---- */

typedef struct {
  const CnnNet *net;
  const CnnOnnxOptions *opt;
  const char *path;
  float *params, *buffers; /* the checkpoint's, or NULL */
} Job;

static int write_model(CnnArena *A, void *ctx) {
  Job *job = ctx;
  Onnx X = {.A = A, .net = job->net, .opt = job->opt, .params = job->params, .buffers = job->buffers};
  int64_t np, nb;
  locate_tensors(&X, &np, &nb);
  if (!X.params) {
    float *p = cnn_alloc(A, sizeof(float) * (size_t)(np + 1));
    float *b = cnn_alloc(A, sizeof(float) * (size_t)(nb + 1));
    initial_weights(&X, p, b);
    X.params = p;
    X.buffers = b;
  }
  Onnx__ModelProto *m = model(&X);
  size_t size = protobuf_c_message_get_packed_size(&m->base);
  uint8_t *bytes = cnn_alloc(A, size + 1);
  protobuf_c_message_pack(&m->base, bytes);
  bool to_stdout = !strcmp(job->path, "-");
  FILE *f = to_stdout ? stdout : fopen(job->path, "wb");
  if (!f || fwrite(bytes, 1, size, f) != size || (to_stdout ? fflush(f) : fclose(f))) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", job->path, strerror(errno));
    if (f && !to_stdout) remove(job->path);
    return 1;
  }
  return 0;
}

int cnn_emit_onnx_file(const CnnNet *net, const char *src_path, const char *out_path,
                       const CnnOnnxOptions *opt) {
  Job job = {net, opt, out_path, NULL, NULL};
  char *made = NULL;
  if (!out_path) { /* FILE.onnx next to FILE.cnn */
    size_t n = strlen(src_path);
    if (!(made = malloc(n + 6))) {
      fprintf(stderr, "cnncc: out of memory\n");
      return 1;
    }
    memcpy(made, src_path, n + 1);
    if (n > 4 && !strcmp(made + n - 4, ".cnn")) made[n - 4] = '\0';
    strcat(made, ".onnx");
    job.path = strcmp(src_path, "-") ? made : "-";
  }
  uint32_t crc;
  int status = opt->weights ? cnn_load_checkpoint(net, opt->weights, &job.params, &job.buffers, &crc) : 0;
  if (!status) status = cnn_with_arena(write_model, &job, "out of memory writing the ONNX model") ? 1 : 0;
  free(job.params);
  free(job.buffers);
  free(made);
  return status;
}
