/* emit/torch.c - `cnncc --emit=pytorch`: a readable Python module with a
 * torch.nn.Module equivalent to the network, for checking the generated C
 * against PyTorch (tests/parity*) and for using a cnncc-trained network
 * from Python.
 *
 * The module holds one submodule per layer with parameters (or dropout),
 * named after the node, and a forward() that follows the DAG node by node.
 * load_flat()/flat_params()/flat_grads() translate between the module and
 * cnncc's flat parameter and buffer blocks: nodes in net->nodes order, each
 * node's tensors in cnn_node_tensors() order, learnable tensors in the
 * parameter block and running statistics in the buffer block, every tensor
 * in PyTorch's own layout. load_cnncc_checkpoint()/save_cnncc_checkpoint()
 * (emit/torch_ckpt.py) read and write the trainer's checkpoints through
 * them. docs/pytorch.md describes the module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cnncc.h"
#include "internal.h" /* runtime/: the optimizer specs */

/* Python keywords and the module-level names the generated code uses: a
 * network or node called like one of these gets a trailing underscore. */
static const char *const reserved[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
    "try", "while", "with", "yield", "torch", "nn", "F", "x", "self", "math",
    "NAME", "LOSS", "PARAMS", "BUFFERS", "TRAIN", /* module constants a class could hit */
    "CheckpointError", /* the class of emit/torch_ckpt.py */
    /* nn.Module attributes a submodule must not shadow */
    "forward", "predict", "loss", "correct", "training", "optimizer", "load_flat",
    "flat_params", "flat_buffers", "flat_grads", "train", "eval", "parameters", "buffers",
    "modules", "children", "state_dict", "to", "cuda", "cpu", "float", "double", "half",
    "apply", "zero_grad", "type", "register_buffer", "register_parameter", "add_module",
    "named_parameters", "named_buffers", "named_modules", "named_children", "requires_grad_",
    "load_state_dict", "extra_repr", "dump_patches", "share_memory", "get_parameter",
    "get_buffer", "get_submodule",
};

static bool is_reserved(const char *s) {
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
    if (!strcmp(s, reserved[i])) return true;
  return false;
}

/* The Python identifier of a node: its name, or "x" for the input. */
static const char *ident(const CnnNet *net, int id, char *buf, size_t size) {
  const CnnNode *n = &net->nodes[id];
  if (n->op == OP_INPUT) snprintf(buf, size, "x");
  else snprintf(buf, size, "%s%s", n->name, is_reserved(n->name) ? "_" : "");
  return buf;
}

/* "vgg_cifar" -> "VggCifar" */
static void class_name(const char *name, char *buf, size_t size) {
  size_t o = 0;
  bool up = true;
  for (const char *p = name; *p && o + 2 < size; p++) {
    if (*p == '_') {
      up = true;
      continue;
    }
    buf[o++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
    up = false;
  }
  if (o == 0 || (buf[0] >= '0' && buf[0] <= '9')) { /* "_", "__2" */
    snprintf(buf, size, "Net%s", name);
    return;
  }
  buf[o] = '\0';
  if (is_reserved(buf) && o + 2 < size) strcat(buf, "_");
}

/* Shortest text that reads back as the same double, as Python's repr. */
static const char *pyfloat(double v, char *buf, size_t size) {
  if (isinf(v)) return v > 0 ? "math.inf" : "-math.inf";
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".eninf")) strncat(buf, ".0", size - strlen(buf) - 1);
  return buf;
}

/* "(6, 28, 28)" for a tuple, "(10,)" for one element. */
static const char *pytuple(int rank, const int *dim, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < rank && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%s%d", i ? ", " : "", dim[i]);
  if (o < size) snprintf(buf + o, size - o, rank == 1 ? ",)" : ")");
  return buf;
}

/* A size argument: "3" when both axes agree or for 1-d, "(3, 5)" otherwise. */
static const char *pysize(const int v[2], bool one_d, char *buf, size_t size) {
  if (one_d || v[0] == v[1]) snprintf(buf, size, "%d", v[1]);
  else snprintf(buf, size, "(%d, %d)", v[0], v[1]);
  return buf;
}

static bool is_1d(CnnOp op) { return cnn_op_info(op)->rank == 1; }

static bool symmetric(const CnnNode *n) {
  return n->pad_lo[0] == n->pad_hi[0] && n->pad_lo[1] == n->pad_hi[1];
}

static const CnnShape *in_shape(const CnnNet *net, const CnnNode *n, int i) {
  return &net->nodes[n->inputs[i]].shape;
}

static bool has_submodule(CnnOp op) { return cnn_op_info(op)->torch_module != NULL; }

/* Whether the operator has a `bias` argument (as PyTorch's module). */
static bool takes_bias(CnnOp op) {
  const CnnOpInfo *info = cnn_op_info(op);
  for (int i = 0; i < cnn_op_nparams(info); i++)
    if (!strcmp(info->params[i].name, "bias")) return true;
  return false;
}

/* The constructor call of a node's submodule: the class from front/ops.c's
 * table (BatchNorm1d or 2d by the axes past the channels), its arguments
 * from the node. */
static void submodule(FILE *out, const CnnNet *net, const CnnNode *n) {
  char a[32], b[32], c[32], d[32], cls[32];
  bool one_d = is_1d(n->op);
  cnn_formula_render(cls, sizeof cls, cnn_op_info(n->op)->torch_module,
                     &(CnnFormulaArgs){.d = n->shape.rank == 3 ? "2" : "1"}, false);
  fprintf(out, "%s(", cls);
  switch (n->op) {
  case OP_CONV1D: case OP_CONV2D:
    fprintf(out, "%d, %d, kernel_size=%s", in_shape(net, n, 0)->dim[0], n->out_channels,
            pysize(n->kernel, one_d, a, sizeof a));
    if (n->stride[0] != 1 || n->stride[1] != 1)
      fprintf(out, ", stride=%s", pysize(n->stride, one_d, a, sizeof a));
    if (symmetric(n) && (n->pad_lo[0] || n->pad_lo[1]))
      fprintf(out, ", padding=%s", pysize(n->pad_lo, one_d, a, sizeof a));
    if (n->dilation[0] != 1 || n->dilation[1] != 1)
      fprintf(out, ", dilation=%s", pysize(n->dilation, one_d, a, sizeof a));
    if (n->groups != 1) fprintf(out, ", groups=%d", n->groups);
    break;
  case OP_CONV_TRANSPOSE2D:
    fprintf(out, "%d, %d, kernel_size=%s", in_shape(net, n, 0)->dim[0], n->out_channels,
            pysize(n->kernel, false, a, sizeof a));
    if (n->stride[0] != 1 || n->stride[1] != 1)
      fprintf(out, ", stride=%s", pysize(n->stride, false, b, sizeof b));
    if (n->pad_lo[0] || n->pad_lo[1]) fprintf(out, ", padding=%s", pysize(n->pad_lo, false, c, sizeof c));
    if (n->output_padding[0] || n->output_padding[1])
      fprintf(out, ", output_padding=%s", pysize(n->output_padding, false, d, sizeof d));
    if (n->dilation[0] != 1 || n->dilation[1] != 1)
      fprintf(out, ", dilation=%s", pysize(n->dilation, false, a, sizeof a));
    break;
  case OP_DENSE:
    fprintf(out, "%lld, %d", (long long)cnn_shape_size(*in_shape(net, n, 0)), n->out_channels);
    break;
  case OP_BATCHNORM:
    fprintf(out, "%d, eps=%s, momentum=%s", n->shape.dim[0], pyfloat(n->eps, a, sizeof a),
            pyfloat(n->momentum, b, sizeof b));
    break;
  case OP_GROUPNORM:
    fprintf(out, "%d, %d, eps=%s", n->groups, n->shape.dim[0], pyfloat(n->eps, a, sizeof a));
    if (!n->affine) fprintf(out, ", affine=False");
    break;
  case OP_LAYERNORM: /* over the whole sample */
    fprintf(out, "[%d", n->shape.dim[0]);
    for (int i = 1; i < n->shape.rank; i++) fprintf(out, ", %d", n->shape.dim[i]);
    fprintf(out, "], eps=%s", pyfloat(n->eps, a, sizeof a));
    if (!n->affine) fprintf(out, ", elementwise_affine=False");
    break;
  default: /* dropout */
    fprintf(out, "p=%s", pyfloat(n->p, a, sizeof a));
  }
  fprintf(out, "%s)", takes_bias(n->op) && !n->bias ? ", bias=False" : "");
}

/* Writes "nn.Conv2d(a, b, c)  # line N", wrapped after commas to stay
 * within 99 columns, continuation lines under the first argument. */
static void constructor(FILE *out, const char *text, int col, int line) {
  char comment[32];
  int clen = snprintf(comment, sizeof comment, "  # line %d", line);
  const char *open = strchr(text, '('), *end = text + strlen(text) - 1;
  if (col + (int)strlen(text) + clen <= 99 || !open || *end != ')') {
    fprintf(out, "%s%s\n", text, comment);
    return;
  }
  int indent = col + (int)(open - text) + 1, at = indent;
  fwrite(text, 1, (size_t)(open - text) + 1, out);
  for (const char *p = open + 1; p < end;) {
    const char *q = p; /* the argument: up to a ", " outside brackets */
    for (int depth = 0; q < end && (depth || q[0] != ','); q++)
      depth += *q == '(' ? 1 : *q == ')' ? -1 : 0;
    bool last = q >= end;
    int len = (int)(q - p) + 1 + (last ? clen : 0); /* with ',' or ')' */
    if (p > open + 1) {
      if (at + 1 + len > 99) {
        fprintf(out, "\n%*s", indent, "");
        at = indent;
      } else {
        fputc(' ', out);
        at++;
      }
    }
    fwrite(p, 1, (size_t)(q - p), out);
    fputc(last ? ')' : ',', out);
    at += len;
    p = last ? end : q + 2;
  }
  fprintf(out, "%s\n", comment);
}

/* F.pad's argument for the node's zero padding: last axis first. */
static void pad_arg(FILE *out, const CnnNode *n) {
  if (is_1d(n->op)) fprintf(out, "(%d, %d)", n->pad_lo[1], n->pad_hi[1]);
  else fprintf(out, "(%d, %d, %d, %d)", n->pad_lo[1], n->pad_hi[1], n->pad_lo[0], n->pad_hi[0]);
}

/* The right-hand side computing one node from its inputs' identifiers. */
static int expression(FILE *out, const CnnNet *net, const CnnNode *n) {
  char in[CNN_MAX_INPUTS][48], self[48], a[32], b[32], c[32];
  for (int i = 0; i < n->ninputs; i++) ident(net, n->inputs[i], in[i], sizeof in[i]);
  ident(net, n->id, self, sizeof self);
  bool one_d = is_1d(n->op);
  const CnnOpInfo *info = cnn_op_info(n->op);
  if (info->torch_call) { /* front/ops.c's table has its formula */
    char text[160];
    const char *arg = info->act.arg ? pyfloat(n->negative_slope, a, sizeof a) : NULL;
    cnn_formula_render(text, sizeof text, info->torch_call, &(CnnFormulaArgs){.x = in[0], .a = arg},
                       false);
    fputs(text, out);
    return 0;
  }
  if (has_submodule(n->op)) { /* padding that nn.Conv cannot express comes first */
    if (symmetric(n)) {
      fprintf(out, "self.%s(%s)", self, in[0]);
    } else {
      fprintf(out, "self.%s(F.pad(%s, ", self, in[0]);
      pad_arg(out, n);
      fprintf(out, "))");
    }
    return 0;
  }
  switch (n->op) {
  case OP_MAXPOOL1D: case OP_MAXPOOL2D: case OP_AVGPOOL1D: case OP_AVGPOOL2D: {
    bool max = n->op == OP_MAXPOOL1D || n->op == OP_MAXPOOL2D;
    if (!max && (n->dilation[0] != 1 || n->dilation[1] != 1)) return -1;
    fprintf(out, "F.%s_pool%dd(", max ? "max" : "avg", one_d ? 1 : 2);
    if (symmetric(n)) {
      fprintf(out, "%s", in[0]);
    } else { /* never produced by the front end today, but exact anyway */
      fprintf(out, "F.pad(%s, ", in[0]);
      pad_arg(out, n);
      fprintf(out, "%s)", max ? ", value=-math.inf" : "");
    }
    fprintf(out, ", %s", pysize(n->kernel, one_d, a, sizeof a));
    fprintf(out, ", stride=%s", pysize(n->stride, one_d, b, sizeof b));
    if (symmetric(n) && (n->pad_lo[0] || n->pad_lo[1]))
      fprintf(out, ", padding=%s", pysize(n->pad_lo, one_d, c, sizeof c));
    if (n->dilation[0] != 1 || n->dilation[1] != 1)
      fprintf(out, ", dilation=%s", pysize(n->dilation, one_d, c, sizeof c));
    if (!max) fprintf(out, ", count_include_pad=True");
    fprintf(out, ")");
    return 0;
  }
  case OP_GLOBAL_AVGPOOL:
    fprintf(out, "%s.mean(dim=%s)", in[0], in_shape(net, n, 0)->rank == 3 ? "(2, 3)" : "2");
    return 0;
  case OP_ADAPTIVE_AVGPOOL1D: case OP_ADAPTIVE_AVGPOOL2D:
    fprintf(out, "F.adaptive_avg_pool%dd(%s, %s)", one_d ? 1 : 2, in[0], pysize(n->output_size, one_d, a, sizeof a));
    return 0;
  case OP_UPSAMPLE:
    fprintf(out, "F.interpolate(%s, scale_factor=%s, mode=%s)", in[0], pysize(n->scale, false, a, sizeof a),
            n->mode == CNN_UPSAMPLE_BILINEAR ? "'bilinear', align_corners=False" : "'nearest'");
    return 0;
  case OP_GLOBAL_MAXPOOL: /* not amax: its gradient goes to the first maximum, as cnncc's */
    fprintf(out, "F.adaptive_max_pool%dd(%s, 1).flatten(1)", in_shape(net, n, 0)->rank - 1, in[0]);
    return 0;
  case OP_ADD: case OP_MUL: case OP_CONCAT: {
    /* one term after another, wrapped inside brackets past 88 columns */
    bool cat = n->op == OP_CONCAT, wrap = false;
    int col = 8 + (int)strlen(self) + 3 + (cat ? 11 : 0), indent = col;
    for (int i = 0; i < n->ninputs; i++) col += (int)strlen(in[i]) + 3;
    if (col > 80 && !cat) {
      wrap = true;
      indent++;
      fputc('(', out);
    }
    if (cat) fprintf(out, "torch.cat([");
    col = indent;
    for (int i = 0; i < n->ninputs; i++) {
      const char *sep = !i ? "" : cat ? ", " : n->op == OP_ADD ? " + " : " * ";
      int len = (int)(strlen(sep) + strlen(in[i]));
      if (i && col + len > 84 && (wrap || cat)) {
        fprintf(out, "%s\n%*s", cat ? "," : "", indent, "");
        sep = cat ? "" : n->op == OP_ADD ? "+ " : "* ";
        col = indent;
        len = (int)(strlen(sep) + strlen(in[i]));
      }
      fprintf(out, "%s%s", sep, in[i]);
      col += len;
    }
    fprintf(out, "%s", cat ? "], dim=1)" : wrap ? ")" : "");
    return 0;
  }
  default: return -1;
  }
}

/* Marks target and its ancestors in need[]. */
static void ancestors(const CnnNet *net, int target, bool *need) {
  for (int i = 0; i < net->nnodes; i++) need[i] = false;
  need[target] = true;
  for (int i = net->nnodes - 1; i >= 0; i--)
    if (need[i])
      for (int j = 0; j < net->nodes[i].ninputs; j++) need[net->nodes[i].inputs[j]] = true;
}

/* The statements of a method body computing node `target` from x. */
static int body(FILE *out, const CnnNet *net, int target, bool *need) {
  char id[48], shape[64];
  ancestors(net, target, need);
  for (int i = 1; i < net->nnodes; i++) {
    if (!need[i]) continue;
    const CnnNode *n = &net->nodes[i];
    fprintf(out, "        %s = ", ident(net, i, id, sizeof id));
    if (expression(out, net, n)) return -1;
    fprintf(out, "  # %s\n", cnn_shape_str(n->shape, shape, sizeof shape));
  }
  fprintf(out, "        return %s\n", ident(net, target, id, sizeof id));
  return 0;
}

/* predict(): when the output depends on x only through the logits (say a
 * softmax of them), self.forward(x) and the rest; otherwise all of it. */
static int predict_body(FILE *out, const CnnNet *net, int logits, bool *need) {
  char id[48], shape[64];
  bool *before = malloc((size_t)net->nnodes);
  if (!before) return -1;
  ancestors(net, logits, before);
  ancestors(net, net->output, need);
  bool through = need[logits];
  for (int i = 0; i < net->nnodes && through; i++) {
    if (!need[i] || before[i]) continue;
    for (int j = 0; j < net->nodes[i].ninputs; j++) {
      int k = net->nodes[i].inputs[j];
      if (k != logits && before[k]) through = false;
    }
  }
  int err = 0;
  if (!through) {
    err = body(out, net, net->output, need);
  } else {
    fprintf(out, "        %s = self.forward(x)\n", ident(net, logits, id, sizeof id));
    for (int i = 0; i < net->nnodes && !err; i++) {
      if (!need[i] || before[i]) continue;
      fprintf(out, "        %s = ", ident(net, i, id, sizeof id));
      err = expression(out, net, &net->nodes[i]);
      fprintf(out, "  # %s\n", cnn_shape_str(net->nodes[i].shape, shape, sizeof shape));
    }
    fprintf(out, "        return %s\n", ident(net, net->output, id, sizeof id));
  }
  free(before);
  return err;
}

/* PARAMS or BUFFERS: ("conv1.weight", (6, 1, 5, 5)), ... */
static int64_t tensor_list(FILE *out, const CnnNet *net, bool learnable) {
  int64_t total = 0;
  char id[48], dims[64];
  for (int i = 0; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    CnnTensorSpec t[4];
    int nt = cnn_node_tensors(net, n, t);
    for (int k = 0; k < nt; k++) {
      if (t[k].learnable != learnable) continue;
      fprintf(out, "    (\"%s.%s\", %s),\n", ident(net, i, id, sizeof id), t[k].name,
              pytuple(t[k].rank, t[k].dim, dims, sizeof dims));
      total += t[k].count;
    }
  }
  return total;
}

static int64_t tensor_total(const CnnNet *net, bool learnable) {
  int64_t total = 0;
  for (int i = 0; i < net->nnodes; i++) {
    CnnTensorSpec t[4];
    int nt = cnn_node_tensors(net, &net->nodes[i], t);
    for (int k = 0; k < nt; k++)
      if (t[k].learnable == learnable) total += t[k].count;
  }
  return total;
}

static const char *const method_text =
    "    def loss(self, logits, labels):\n"
    "        \"\"\"Mean loss of a batch, as cnncc's generated forward returns it.%s\"\"\"\n"
    "%s"
    "\n"
    "    def correct(self, logits, labels):\n"
    "        \"\"\"Number of correctly classified positions (argmax over dim 1).\"\"\"\n"
    "        return int((logits.argmax(1) == labels.long()).sum())\n"
    "\n"
    "    def optimizer(self, **overrides):\n"
    "        \"\"\"The train block's optimizer with its settings: torch.optim.Adam, or\n"
    "        AdamW or SGD when it names adamw or sgd (TRAIN[\"optimizer\"]).\"\"\"\n"
    "        settings = TRAIN.get(\"settings\") or dict(\n"
    "            lr=TRAIN[\"lr\"], betas=TRAIN[\"betas\"], eps=TRAIN[\"eps\"],\n"
    "            weight_decay=TRAIN[\"weight_decay\"])\n"
    "        settings = dict(settings, **overrides)\n"
    "        kind = getattr(torch.optim, TRAIN.get(\"optimizer\", \"Adam\"))\n"
    "        return kind(self.parameters(), **settings)\n"
    "\n"
    "    # ---- cnncc's flat blocks: PARAMS and BUFFERS give the order ----\n"
    "\n"
    "    def load_flat(self, params, buffers=None):\n"
    "        \"\"\"Copy cnncc's flat parameter block (NUM_PARAMS floats) and buffer\n"
    "        block (NUM_BUFFERS floats; None leaves the running statistics as they\n"
    "        are) into the module. Returns the number of floats consumed from each.\"\"\"\n"
    "        params = torch.as_tensor(params).reshape(-1)\n"
    "        if params.numel() != NUM_PARAMS:\n"
    "            raise ValueError(\"%%s: expected %%d parameters, got %%d\"\n"
    "                             %% (NAME, NUM_PARAMS, params.numel()))\n"
    "        blocks = [(params, PARAMS, dict(self.named_parameters()))]\n"
    "        if buffers is not None:\n"
    "            buffers = torch.as_tensor(buffers).reshape(-1)\n"
    "            if buffers.numel() != NUM_BUFFERS:\n"
    "                raise ValueError(\"%%s: expected %%d buffer values, got %%d\"\n"
    "                                 %% (NAME, NUM_BUFFERS, buffers.numel()))\n"
    "            blocks.append((buffers, BUFFERS, dict(self.named_buffers())))\n"
    "        used = [0, 0]\n"
    "        for k, (flat, order, tensors) in enumerate(blocks):\n"
    "            offset = 0\n"
    "            with torch.no_grad():\n"
    "                for name, shape in order:\n"
    "                    t = tensors[name]\n"
    "                    t.copy_(flat[offset:offset + t.numel()].view(shape))\n"
    "                    offset += t.numel()\n"
    "            used[k] = offset\n"
    "        return tuple(used)\n"
    "\n"
    "    def flat_params(self):\n"
    "        \"\"\"The parameters as one 1-d tensor in cnncc's order.\"\"\"\n"
    "        tensors = dict(self.named_parameters())\n"
    "        flat = [tensors[name].detach().reshape(-1) for name, _ in PARAMS]\n"
    "        return torch.cat(flat) if flat else torch.zeros(0)\n"
    "\n"
    "    def flat_buffers(self):\n"
    "        \"\"\"The running statistics as one 1-d tensor in cnncc's order.\"\"\"\n"
    "        tensors = dict(self.named_buffers())\n"
    "        flat = [tensors[name].detach().reshape(-1) for name, _ in BUFFERS]\n"
    "        return torch.cat(flat) if flat else torch.zeros(0)\n"
    "\n"
    "    def flat_grads(self):\n"
    "        \"\"\"The gradients as one 1-d tensor in the order of the parameters\n"
    "        (zeros where a parameter has no gradient yet).\"\"\"\n"
    "        tensors = dict(self.named_parameters())\n"
    "        flat = [torch.zeros(tensors[name].numel()) if tensors[name].grad is None\n"
    "                else tensors[name].grad.detach().reshape(-1) for name, _ in PARAMS]\n"
    "        return torch.cat(flat) if flat else torch.zeros(0)\n";

/* The train block's optimizer when not Adam (torch.optim's class and
 * arguments), schedule and clip (the trainer's specs): TRAIN's other keys. */
static void emit_optimizer(FILE *out, const CnnTrainConfig *t) {
  RtOptim o;
  char a[32], b[32], c[32], d[32], e[32];
  if (t->optimizer[0] && rt_optim_parse(t->optimizer, &o, NULL, 0) == 0 && o.kind == RT_OPT_SGD)
    fprintf(out, "TRAIN.update(optimizer=\"SGD\", settings=dict(lr=%s, momentum=%s, dampening=%s, "
            "weight_decay=%s, nesterov=%s))\n", pyfloat(o.lr, a, sizeof a), pyfloat(o.momentum, b, sizeof b),
            pyfloat(o.dampening, c, sizeof c), pyfloat(o.weight_decay, d, sizeof d), o.nesterov ? "True" : "False");
  else if (t->optimizer[0] && rt_optim_parse(t->optimizer, &o, NULL, 0) == 0)
    fprintf(out, "TRAIN.update(optimizer=\"AdamW\", settings=dict(lr=%s, betas=(%s, %s), eps=%s, "
            "weight_decay=%s))\n", pyfloat(o.lr, a, sizeof a), pyfloat(o.beta1, b, sizeof b),
            pyfloat(o.beta2, c, sizeof c), pyfloat(o.eps, d, sizeof d), pyfloat(o.weight_decay, e, sizeof e));
  if (t->schedule[0])
    fprintf(out, "TRAIN[\"schedule\"] = \"%s\"  # the trainer's --schedule (docs/training.md)\n", t->schedule);
  if (t->clip)
    fprintf(out, "TRAIN[\"clip\"] = %s  # torch.nn.utils.clip_grad_norm_'s max_norm\n", pyfloat(t->clip, a, sizeof a));
  if (t->optimizer[0] || t->schedule[0] || t->clip)
    fprintf(out, "\n");
}

/* The file's comment, imports and module-level constants: shapes, the loss,
 * the train block and the flat blocks' tensor lists. */
static void emit_constants(FILE *out, const CnnNet *net, const char *source, const char *cls, int logits) {
  char buf[64];
  const CnnNode *in = &net->nodes[0];
  const CnnNode *lg = &net->nodes[logits], *op = &net->nodes[net->output];
  fprintf(out, "# %s.py - generated by cnncc %s from %s; do not edit.\n", net->name, PACKAGE_VERSION,
          source ? source : "a network description");
  fprintf(out,
          "#\n"
          "# The PyTorch mirror of network \"%s\": the same layers, parameter shapes\n"
          "# and flat parameter order as the C that cnncc generates (docs/pytorch.md).\n"
          "#\n"
          "#     model = %s()\n"
          "#     load_cnncc_checkpoint(path, model)  # a trainer's checkpoint, or\n"
          "#     model.load_flat(params, buffers)    # cnncc's flat blocks, 1-d\n"
          "#     logits = model(x)                   # x: [N, %s\n"
          "#     loss = model.loss(logits, labels)\n"
          "\n",
          net->name, cls, cnn_shape_str(in->shape, buf, sizeof buf) + 1); /* "1, 28, 28]" */
  fprintf(out, "import array\nimport math\nimport operator\nimport os\nimport struct\nimport sys\n"
               "import zlib\n\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n");
  fprintf(out, "NAME = \"%s\"\n", net->name);
  fprintf(out, "INPUT_SHAPE = %s  # per sample\n", pytuple(in->shape.rank, in->shape.dim, buf, sizeof buf));
  fprintf(out, "LOGITS_SHAPE = %s\n", pytuple(lg->shape.rank, lg->shape.dim, buf, sizeof buf));
  fprintf(out, "OUTPUT_SHAPE = %s\n", pytuple(op->shape.rank, op->shape.dim, buf, sizeof buf));
  fprintf(out, "LOGITS_NODE = \"%s\"  # what forward() returns, the loss's input\n",
          net->nodes[logits].name);
  fprintf(out, "OUTPUT_NODE = \"%s\"  # what predict() returns\n", net->nodes[net->output].name);
  fprintf(out, "LOSS = %s\n", net->loss == LOSS_SOFTMAX_CROSS_ENTROPY ? "\"softmax_cross_entropy\""
                              : net->loss == LOSS_MSE                ? "\"mse\""
                                                                     : "None");
  fprintf(out, "NUM_PARAMS = %lld\n", (long long)tensor_total(net, true));
  fprintf(out, "NUM_BUFFERS = %lld\n", (long long)tensor_total(net, false));
  fprintf(out, "ARCH_HASH = 0x%016llx  # what checkpoints of this architecture carry\n",
          (unsigned long long)cnn_arch_hash(net));
  const CnnTrainConfig *t = &net->train;
  char lr[32], b1[32], b2[32], eps[32], wd[32];
  fprintf(out,
          "TRAIN = {\"lr\": %s, \"betas\": (%s, %s), \"eps\": %s, \"weight_decay\": %s,\n"
          "         \"batch\": %d, \"epochs\": %d, \"seed\": %llu}\n\n",
          pyfloat(t->lr, lr, sizeof lr), pyfloat(t->beta1, b1, sizeof b1), pyfloat(t->beta2, b2, sizeof b2),
          pyfloat(t->eps, eps, sizeof eps), pyfloat(t->weight_decay, wd, sizeof wd), t->batch, t->epochs,
          (unsigned long long)t->seed);
  emit_optimizer(out, t);

  fprintf(out, "# cnncc's flat blocks: nodes in order, each node's tensors in order;\n"
               "# learnable tensors in the parameter block, running statistics in the\n"
               "# buffer block, each in PyTorch's layout.\n");
  fprintf(out, "PARAMS = [\n");
  tensor_list(out, net, true);
  fprintf(out, "]\nBUFFERS = [\n");
  tensor_list(out, net, false);
  fprintf(out, "]\n\n\n");
}

/* The class line and __init__, one submodule per layer that has one. */
static int emit_init(FILE *out, const CnnNet *net, const char *source, const char *cls) {
  char id[48];
  fprintf(out, "class %s(nn.Module):\n", cls);
  fprintf(out, "    \"\"\"Network \"%s\" from %s.\"\"\"\n\n", net->name, source ? source : "cnncc");
  fprintf(out, "    def __init__(self):\n        super().__init__()\n");
  for (int i = 1; i < net->nnodes; i++) {
    const CnnNode *n = &net->nodes[i];
    if (!has_submodule(n->op)) continue;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return -1;
    submodule(mem, net, n);
    if (fclose(mem)) {
      free(text);
      return -1;
    }
    int col = fprintf(out, "        self.%s = ", ident(net, i, id, sizeof id));
    constructor(out, text, col, n->loc.first_line);
    free(text);
  }
  return 0;
}

/* forward() up to the logits and predict() up to the output. */
static int emit_forward(FILE *out, const CnnNet *net, int logits, bool *need) {
  char buf[64], id[48];
  const CnnNode *lg = &net->nodes[logits], *op = &net->nodes[net->output];
  fprintf(out, "\n    def forward(self, x):\n");
  fprintf(out, "        \"\"\"%s: [N, %s\"\"\"\n",
          net->loss_input >= 0 ? "Logits (the loss's input)" : "The network's output",
          cnn_shape_str(lg->shape, buf, sizeof buf) + 1);
  int err = body(out, net, logits, need);
  fprintf(out, "\n    def predict(self, x):\n");
  fprintf(out, "        \"\"\"The network's output %s: [N, %s\"\"\"\n", ident(net, net->output, id, sizeof id),
          cnn_shape_str(op->shape, buf, sizeof buf) + 1);
  if (net->output == logits) fprintf(out, "        return self.forward(x)\n");
  else err |= predict_body(out, net, logits, need);
  fprintf(out, "\n");
  return err;
}

/* loss() for the network's loss, and the methods every mirror has. */
static void emit_methods(FILE *out, const CnnNet *net) {
  const char *doc, *code;
  if (net->loss == LOSS_MSE) {
    doc = "\n        labels: targets shaped like the logits, or integer class labels\n"
          "        along dim 1 (turned into one-hot targets, as cnncc's runtime does).";
    code = "        if not labels.is_floating_point():\n"
           "            labels = F.one_hot(labels.long(), logits.shape[1]).movedim(-1, 1).to(logits.dtype)\n"
           "        return F.mse_loss(logits, labels)\n";
  } else if (net->loss == LOSS_NONE) {
    doc = "";
    code = "        raise ValueError(NAME + \": the network has no loss\")\n";
  } else {
    doc = "\n        labels: class indices, [N] or one per position ([N, L], [N, H, W]).";
    code = "        return F.cross_entropy(logits, labels.long())\n";
  }
  fprintf(out, method_text, doc, code);
}

int cnn_emit_pytorch_source(FILE *out, const CnnNet *net, const char *source) {
  char cls[128];
  class_name(net->name, cls, sizeof cls);
  int logits = net->loss_input >= 0 ? net->loss_input : net->output;
  bool *need = malloc((size_t)net->nnodes);
  if (!need) return -1;
  emit_constants(out, net, source, cls, logits);
  int err = emit_init(out, net, source, cls);
  if (!err) err = emit_forward(out, net, logits, need);
  free(need);
  if (err) return -1;
  emit_methods(out, net);
  fprintf(out, "\n\n");
  if (fputs(cnn_text_torch_ckpt, out) < 0) return -1;
  fprintf(out, "\n\nif __name__ == \"__main__\":\n");
  fprintf(out, "    model = %s()\n", cls);
  fprintf(out, "    count = sum(p.numel() for p in model.parameters())\n");
  fprintf(out, "    print(\"%%s: %%s parameters\" %% (NAME, format(count, \",\")))\n");
  return ferror(out) ? -1 : 0;
}

int cnn_emit_pytorch(FILE *out, const CnnNet *net) { return cnn_emit_pytorch_source(out, net, NULL); }
