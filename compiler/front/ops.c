/* ops.c - the operators' facts, one table indexed by CnnOp: the name in the
 * language, the prefix of generated identifiers, arity, keyword parameters
 * with defaults, kind, the PyTorch it mirrors, and an activation's formulas
 * as text templates. sema.c, shape.c, emit/torch.c and the activations of
 * emit/train.c and emit/infer.c read it, so that these facts of an operator
 * are written once; what is logic (shape inference, kernels) stays in the
 * stages. docs/architecture.md, "Adding an operator". */
#include <string.h>

#include "cnncc.h"

#define REQ(n, t) {n, CNN_PARAM_##t, CNN_DEFAULT_REQUIRED, 0}
#define DEF(n, t, v) {n, CNN_PARAM_##t, CNN_DEFAULT_VALUE, v}
#define CONV_PARAMS(pad) \
  REQ("out_channels", INT), REQ("kernel", SIZE), DEF("stride", SIZE, 1), DEF("padding", pad, 0), \
  DEF("dilation", SIZE, 1), DEF("bias", BOOL, 1), DEF("groups", INT, 1)
#define POOL_PARAMS \
  REQ("kernel", SIZE), {"stride", CNN_PARAM_SIZE, CNN_DEFAULT_KERNEL, 0}, DEF("padding", PAD, 0)
#define SYM(n, list) {n, CNN_PARAM_SYMBOL, CNN_DEFAULT_VALUE, 0, list}
static const char *const upsample_modes[] = {"nearest", "bilinear", NULL}; /* CNN_UPSAMPLE_* */
/* An entry knows its own CnnOp, so that a pointer to it is enough. */
#define OP(id, ...) [id] = {.op = id, __VA_ARGS__}

static const CnnOpInfo ops[OP_COUNT] = {
    OP(OP_INPUT, .name = "input", .prefix = "input"),
    OP(OP_CONV1D, .name = "conv1d", .prefix = "conv", .min_inputs = 1, .max_inputs = 1, .rank = 1,
       .flags = CNN_OPF_CONV, .params = {CONV_PARAMS(PAD_SAME)}, .torch_module = "nn.Conv1d"),
    OP(OP_CONV2D, .name = "conv2d", .prefix = "conv", .min_inputs = 1, .max_inputs = 1, .rank = 2,
       .flags = CNN_OPF_CONV, .params = {CONV_PARAMS(PAD_SAME)}, .torch_module = "nn.Conv2d"),
    OP(OP_CONV_TRANSPOSE2D, .name = "conv_transpose2d", .prefix = "upconv", .min_inputs = 1,
       .max_inputs = 1, .rank = 2, .flags = CNN_OPF_CONV,
       .params = {REQ("out_channels", INT), REQ("kernel", SIZE), DEF("stride", SIZE, 1),
                  DEF("padding", SIZE, 0), DEF("output_padding", SIZE, 0), DEF("bias", BOOL, 1)},
       .torch_module = "nn.ConvTranspose2d"),
    OP(OP_MAXPOOL1D, .name = "maxpool1d", .generic = "maxpool", .prefix = "maxpool",
       .min_inputs = 1, .max_inputs = 1, .rank = 1, .flags = CNN_OPF_POOL, .params = {POOL_PARAMS}),
    OP(OP_MAXPOOL2D, .name = "maxpool2d", .generic = "maxpool", .prefix = "maxpool",
       .min_inputs = 1, .max_inputs = 1, .rank = 2, .flags = CNN_OPF_POOL, .params = {POOL_PARAMS}),
    OP(OP_AVGPOOL1D, .name = "avgpool1d", .generic = "avgpool", .prefix = "avgpool",
       .min_inputs = 1, .max_inputs = 1, .rank = 1, .flags = CNN_OPF_POOL, .params = {POOL_PARAMS}),
    OP(OP_AVGPOOL2D, .name = "avgpool2d", .generic = "avgpool", .prefix = "avgpool",
       .min_inputs = 1, .max_inputs = 1, .rank = 2, .flags = CNN_OPF_POOL, .params = {POOL_PARAMS}),
    OP(OP_GLOBAL_AVGPOOL, .name = "global_avgpool", .prefix = "gap", .min_inputs = 1, .max_inputs = 1),
    OP(OP_GLOBAL_MAXPOOL, .name = "global_maxpool", .prefix = "gmp", .min_inputs = 1, .max_inputs = 1),
    /* F.interpolate(scale_factor=scale, mode, align_corners=False): torch.c
     * writes it, for the integer scale as a number */
    OP(OP_UPSAMPLE, .name = "upsample", .prefix = "upsample", .min_inputs = 1, .max_inputs = 1,
       .rank = 2, .params = {DEF("scale", SIZE, 2), SYM("mode", upsample_modes)}),
    /* windows [floor(i In/Out), ceil((i+1) In/Out)) as F.adaptive_avg_pool */
    OP(OP_ADAPTIVE_AVGPOOL1D, .name = "adaptive_avgpool1d", .generic = "adaptive_avgpool",
       .prefix = "apool", .min_inputs = 1, .max_inputs = 1, .rank = 1,
       .params = {REQ("output_size", SIZE)}),
    OP(OP_ADAPTIVE_AVGPOOL2D, .name = "adaptive_avgpool2d", .generic = "adaptive_avgpool",
       .prefix = "apool", .min_inputs = 1, .max_inputs = 1, .rank = 2,
       .params = {REQ("output_size", SIZE)}),
    OP(OP_DENSE, .name = "dense", .prefix = "dense", .min_inputs = 1, .max_inputs = 1,
       .params = {REQ("out_features", INT), DEF("bias", BOOL, 1)}, .torch_module = "nn.Linear"),
    OP(OP_FLATTEN, .name = "flatten", .prefix = "flatten", .min_inputs = 1, .max_inputs = 1,
       .torch_call = "{x}.flatten(1)"),
    /* The activations: relu's derivative reads the output, which is > 0
     * exactly when the input is. */
    OP(OP_RELU, .name = "relu", .prefix = "relu", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .torch_call = "F.relu({x})",
       .act = {.scalar = "{x} > 0 ? {x} : 0", .vector = "cnn_vmax({x}, cnn_vzero())",
               .derivative = "{x} > 0 ? {g} : 0", .reads_output = true}),
    OP(OP_LEAKY_RELU, .name = "leaky_relu", .prefix = "lrelu", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .params = {DEF("negative_slope", FLOAT, 0.01)},
       .torch_call = "F.leaky_relu({x}, negative_slope={a})",
       .act = {.arg = "negative_slope", .scalar = "{x} > 0 ? {x} : {a} * {x}",
               .vector = "cnn_vfma(cnn_vset1({a}), cnn_vmin({x}, cnn_vzero()), cnn_vmax({x}, cnn_vzero()))",
               .derivative = "{x} > 0 ? {g} : {a} * {g}"}),
    OP(OP_SIGMOID, .name = "sigmoid", .prefix = "sigmoid", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .torch_call = "torch.sigmoid({x})",
       .act = {.scalar = "1 / (1 + exp{f}(-{x}))", .vector = "cnn_vsigmoid({x})",
               .derivative = "{g} * {x} * (1 - {x})", .reads_output = true, .libm = true,
               .vkernels = CNN_VK_SIGMOID}),
    OP(OP_TANH, .name = "tanh", .prefix = "tanh", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .torch_call = "torch.tanh({x})",
       .act = {.scalar = "tanh{f}({x})", .vector = "cnn_vtanh({x})",
               .derivative = "{g} * (1 - {x} * {x})", .reads_output = true, .libm = true,
               .vkernels = CNN_VK_TANH}),
    /* gelu, silu and hardswish as torch.nn's defaults compute them (gelu's
     * exact erf form; their backward passes as autograd's: hardswish's
     * derivative is x/3 + 1/2 on [-3, 3], kinks included). Their
     * derivatives read the input, which the output does not give back. */
    OP(OP_GELU, .name = "gelu", .prefix = "gelu", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .torch_call = "F.gelu({x})",
       .act = {.scalar = "{x} * 0.5{f} * (1 + erf{f}({x} * 0.70710678118654752{f}))",
               .vector = "cnn_vmul(cnn_vmul({x}, cnn_vset1(0.5f)), cnn_vadd(cnn_vset1(1.0f), "
                         "cnn_verf(cnn_vmul({x}, cnn_vset1(0.70710678118654752f)))))",
               .derivative = "{g} * (0.5{f} * (1 + erf{f}({x} * 0.70710678118654752{f})) + "
                             "{x} * 0.39894228040143268{f} * exp{f}(-0.5{f} * {x} * {x}))",
               .libm = true, .vkernels = CNN_VK_ERF}),
    OP(OP_SILU, .name = "silu", .prefix = "silu", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .torch_call = "F.silu({x})",
       .act = {.scalar = "{x} / (1 + exp{f}(-{x}))", .vector = "cnn_vmul({x}, cnn_vsigmoid({x}))",
               .derivative = "{g} / (1 + exp{f}(-{x})) * (1 + {x} * (1 - 1 / (1 + exp{f}(-{x}))))",
               .libm = true, .vkernels = CNN_VK_SIGMOID}),
    OP(OP_HARDSWISH, .name = "hardswish", .prefix = "hswish", .min_inputs = 1, .max_inputs = 1,
       .flags = CNN_OPF_ACTIVATION, .torch_call = "F.hardswish({x})",
       .act = {.scalar = "{x} * ({x} <= -3 ? 0 : {x} >= 3 ? 6 : {x} + 3) / 6",
               .vector = "cnn_vdiv(cnn_vmul({x}, cnn_vmin(cnn_vmax(cnn_vadd({x}, cnn_vset1(3.0f)), "
                         "cnn_vzero()), cnn_vset1(6.0f))), cnn_vset1(6.0f))",
               .derivative = "{x} < -3 ? 0 : {x} <= 3 ? {g} * ({x} / 3 + 0.5{f}) : {g}"}),
    OP(OP_BATCHNORM, .name = "batchnorm", .prefix = "bn", .min_inputs = 1, .max_inputs = 1,
       .params = {DEF("eps", FLOAT, 1e-5), DEF("momentum", FLOAT, 0.1)},
       .torch_module = "nn.BatchNorm{d}d"),
    /* per sample: the mean and biased variance of each group of channels
     * (layernorm: of the whole sample), weight and bias per channel
     * (layernorm: per value) */
    OP(OP_GROUPNORM, .name = "groupnorm", .prefix = "gn", .min_inputs = 1, .max_inputs = 1,
       .params = {REQ("groups", INT), DEF("eps", FLOAT, 1e-5), DEF("affine", BOOL, 1)},
       .torch_module = "nn.GroupNorm"),
    /* over all of a sample's values: nn.LayerNorm(the sample's shape) */
    OP(OP_LAYERNORM, .name = "layernorm", .prefix = "ln", .min_inputs = 1, .max_inputs = 1,
       .params = {DEF("eps", FLOAT, 1e-5), DEF("affine", BOOL, 1)}, .torch_module = "nn.LayerNorm"),
    OP(OP_DROPOUT, .name = "dropout", .prefix = "dropout", .min_inputs = 1, .max_inputs = 1,
       .params = {DEF("p", FLOAT, 0.5)}, .torch_module = "nn.Dropout"),
    OP(OP_ADD, .name = "add", .prefix = "add", .min_inputs = 2, .max_inputs = CNN_MAX_INPUTS),
    OP(OP_MUL, .name = "mul", .prefix = "mul", .min_inputs = 2, .max_inputs = 2),
    OP(OP_CONCAT, .name = "concat", .prefix = "concat", .min_inputs = 2, .max_inputs = CNN_MAX_INPUTS),
    OP(OP_SOFTMAX, .name = "softmax", .prefix = "softmax", .min_inputs = 1, .max_inputs = 1,
       .torch_call = "F.softmax({x}, dim=1)"),
};

const CnnOpInfo *cnn_op_info(CnnOp op) { return op >= 0 && op < OP_COUNT ? &ops[op] : NULL; }

const char *cnn_op_name(CnnOp op) { return op >= 0 && op < OP_COUNT ? ops[op].name : "?"; }

int cnn_op_nparams(const CnnOpInfo *info) {
  int n = 0;
  while (n < CNN_OP_MAX_PARAMS && info->params[n].name) n++;
  return n;
}

/* A call "name(...)": an identifier (placeholders allowed) and one pair of
 * brackets around the rest. */
static bool is_call(const char *t) {
  size_t i = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.{}");
  if (i == 0 || t[i] != '(') return false;
  int depth = 0;
  for (; t[i]; i++) {
    depth += t[i] == '(' ? 1 : t[i] == ')' ? -1 : 0;
    if (depth == 0) return t[i + 1] == '\0';
  }
  return false;
}

static const char *placeholder(char c, const CnnFormulaArgs *args) {
  const char *v = c == 'x' ? args->x : c == 'g' ? args->g : c == 'a' ? args->a
                : c == 'f' ? args->f : c == 'd' ? args->d : NULL;
  return v ? v : "";
}

/* Appends n bytes of s to buf as snprintf would (len counts them all). */
static void put(char *buf, size_t size, size_t *len, const char *s, size_t n) {
  if (*len < size) memcpy(buf + *len, s, *len + n < size ? n : size - *len);
  *len += n;
}

size_t cnn_formula_render(char *buf, size_t size, const char *tmpl, const CnnFormulaArgs *args,
                          bool operand) {
  bool paren = operand && !is_call(tmpl);
  size_t len = 0;
  if (paren) put(buf, size, &len, "(", 1);
  for (const char *p = tmpl; *p;) {
    if (p[0] == '{' && p[1] && p[2] == '}') {
      const char *v = placeholder(p[1], args);
      put(buf, size, &len, v, strlen(v));
      p += 3;
    } else {
      size_t n = strcspn(p + 1, "{") + 1;
      put(buf, size, &len, p, n);
      p += n;
    }
  }
  if (paren) put(buf, size, &len, ")", 1);
  if (size) buf[len < size ? len : size - 1] = '\0';
  return len;
}

char *cnn_formula(CnnArena *a, const char *tmpl, const CnnFormulaArgs *args, bool operand) {
  size_t len = cnn_formula_render(NULL, 0, tmpl, args, operand);
  char *s = cnn_alloc(a, len + 1);
  cnn_formula_render(s, len + 1, tmpl, args, operand);
  return s;
}
