/* cnncc.h - the data types that flow between the stages of cnncc:
 * source text -> tokens (lexer.l) -> AST (parser.y) -> network IR with
 * static shapes (sema.c, shape.c) -> summary / code generators.
 *
 * The front end is a library: cnn_unit_compile() takes a source buffer and
 * returns the IR or diagnostics; it has no global state and never exits. */
#ifndef CNNCC_H
#define CNNCC_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- memory: one arena per compilation, freed at once ---- */

typedef struct CnnArenaChunk CnnArenaChunk;
typedef struct {
  CnnArenaChunk *head;
  jmp_buf *oom; /* where to go when malloc fails */
} CnnArena;

void *cnn_alloc(CnnArena *a, size_t size); /* zeroed */
char *cnn_strdup(CnnArena *a, const char *s);
char *cnn_strndup(CnnArena *a, const char *s, size_t n);
char *cnn_vformat(CnnArena *a, const char *fmt, va_list ap);
char *cnn_format(CnnArena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cnn_arena_free(CnnArena *a);
/* Runs task(arena, ctx) with a fresh arena that unwinds back here when
 * memory runs out, and frees the arena after: returns task's status, or -1
 * after printing "cnncc: OOM_MESSAGE" on stderr. */
typedef int CnnArenaTask(CnnArena *a, void *ctx);
int cnn_with_arena(CnnArenaTask *task, void *ctx, const char *oom_message);
/* s in upper case (the generated code's macro prefix) */
char *cnn_strupper(CnnArena *a, const char *s);

/* ---- source locations and diagnostics ---- */

typedef struct {
  int first_line, first_column, last_line, last_column; /* 1-based */
} CnnLoc;

typedef struct CnnDiag {
  CnnLoc loc;
  const char *message;
  const char *hint; /* optional, printed as "note: ..." under the caret */
  struct CnnDiag *next;
} CnnDiag;

typedef struct {
  CnnArena *arena;
  const char *filename;
  const char *src;
  size_t len;
  CnnDiag *first, *last;
  int nerrors;
} CnnDiags;

#define CNN_MAX_ERRORS 20 /* further errors are counted, not stored */

void cnn_error(CnnDiags *d, CnnLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Attach a hint to the most recent error. */
void cnn_hint(CnnDiags *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cnn_diags_print(FILE *out, const CnnDiags *d, bool color);

/* ---- AST (parser.y builds it, sema.c evaluates it) ---- */

typedef enum {
  AST_INT, AST_FLOAT, AST_BOOL, AST_SYMBOL, /* same, valid, causal */
  AST_NAME, AST_CALL, AST_ATTR, AST_BINARY, AST_UNARY, AST_TUPLE, AST_LIST,
} CnnExprKind;

typedef struct CnnExpr CnnExpr;
typedef struct CnnArg {
  const char *keyword; /* NULL for positional */
  CnnExpr *value;
  CnnLoc loc;
  struct CnnArg *next;
} CnnArg;

struct CnnExpr {
  CnnExprKind kind;
  CnnLoc loc;
  int64_t ival;       /* AST_INT, AST_BOOL */
  double fval;        /* AST_FLOAT */
  const char *name;   /* AST_NAME, AST_CALL (callee), AST_ATTR, AST_SYMBOL */
  int op;             /* AST_BINARY, AST_UNARY: token code */
  CnnExpr *lhs, *rhs; /* AST_BINARY; AST_UNARY and AST_ATTR use lhs */
  CnnArg *args;       /* AST_CALL, AST_TUPLE, AST_LIST */
};

typedef enum {
  STMT_NETWORK, STMT_INPUT, STMT_ASSIGN, STMT_OUTPUT, STMT_LOSS, STMT_RETURN,
  STMT_BLOCK, STMT_FOR, STMT_IF, STMT_TRAIN,
} CnnStmtKind;

typedef struct CnnParam {
  const char *name;
  CnnExpr *default_value; /* NULL: required */
  CnnLoc loc;
  struct CnnParam *next;
} CnnParam;

typedef struct CnnStmt CnnStmt;
struct CnnStmt {
  CnnStmtKind kind;
  CnnLoc loc;
  const char *name;   /* NETWORK, INPUT, ASSIGN, BLOCK */
  CnnExpr *value;     /* INPUT (shape list), ASSIGN, OUTPUT, LOSS, RETURN,
                         FOR (iterable), IF (condition) */
  CnnParam *params;   /* BLOCK; FOR and ASSIGN: names to unpack, last first */
  CnnStmt *body;      /* BLOCK, FOR, IF (then) */
  CnnStmt *orelse;    /* IF */
  CnnArg *settings;   /* TRAIN: key = value */
  CnnStmt *next;
};

/* ---- network IR: a DAG of layers in topological order, shapes fixed ---- */

typedef enum {
  OP_INPUT,
  OP_CONV1D, OP_CONV2D, OP_CONV_TRANSPOSE2D,
  OP_MAXPOOL1D, OP_MAXPOOL2D, OP_AVGPOOL1D, OP_AVGPOOL2D, OP_GLOBAL_AVGPOOL, OP_GLOBAL_MAXPOOL,
  OP_UPSAMPLE, OP_ADAPTIVE_AVGPOOL1D, OP_ADAPTIVE_AVGPOOL2D,
  OP_DENSE, OP_FLATTEN,
  OP_RELU, OP_LEAKY_RELU, OP_SIGMOID, OP_TANH, OP_GELU, OP_SILU, OP_HARDSWISH,
  OP_BATCHNORM, OP_GROUPNORM, OP_LAYERNORM, OP_DROPOUT,
  OP_ADD, OP_MUL, OP_CONCAT,
  OP_SOFTMAX,
  OP_COUNT
} CnnOp;

/* ---- the operators' facts (front/ops.c): one entry per CnnOp ---- */

/* A keyword parameter of an operator (names and defaults follow torch.nn). */
typedef enum {
  CNN_PARAM_INT,
  CNN_PARAM_SIZE,     /* an integer, or (height, width) for a 2-d operator */
  CNN_PARAM_PAD,      /* a size or valid */
  CNN_PARAM_PAD_SAME, /* also same, and causal for a 1-d operator */
  CNN_PARAM_BOOL,
  CNN_PARAM_FLOAT,
  CNN_PARAM_SYMBOL,   /* one of CnnOpParam.symbols (an index; the default's in value) */
} CnnParamType;
typedef enum { CNN_DEFAULT_REQUIRED, CNN_DEFAULT_VALUE, CNN_DEFAULT_KERNEL } CnnDefaultKind;
typedef struct {
  const char *name;
  CnnParamType type;
  CnnDefaultKind def; /* CNN_DEFAULT_KERNEL: the kernel size (a pool's stride) */
  double value;       /* CNN_DEFAULT_VALUE */
  const char *const *symbols; /* CNN_PARAM_SYMBOL: the names, NULL-terminated */
} CnnOpParam;
#define CNN_OP_MAX_PARAMS 7

/* Formulas are C (or Python) text with placeholders, rendered by
 * cnn_formula_render: {x} the operand, {g} the gradient of the output, {a}
 * the argument (as a literal), {f} the math functions' suffix ("f" for
 * float, "" for double), {d} PyTorch's dimensionality of a module (the 2 of
 * BatchNorm2d). */
typedef struct {
  const char *arg;        /* the keyword parameter that is {a} (in CnnNode), or NULL */
  const char *scalar;     /* y of x */
  const char *vector;     /* the same on a cnn_vec (kernels/vector.h) */
  const char *derivative; /* dL/dx from {g} and {x}, the value it reads: */
  bool reads_output;      /* the output y (else the input x) */
  bool libm;              /* the formulas call math.h */
  unsigned vkernels;      /* the vector helpers it calls: CNN_VK_* */
} CnnActFormulas;
enum { CNN_VK_SIGMOID = 1, CNN_VK_TANH = 2, CNN_VK_ERF = 4 }; /* kernels/vsigmoid.h, vtanh.h, verf.h */

enum { /* CnnOpInfo.flags */
  CNN_OPF_CONV = 1,       /* a convolution: out_channels from its arguments */
  CNN_OPF_POOL = 2,       /* window pooling: the input's channels */
  CNN_OPF_ACTIVATION = 4, /* element-wise activation: .act holds its formulas */
};

typedef struct CnnOpInfo {
  CnnOp op;
  const char *name;    /* in the language and messages: "leaky_relu" (cnn_op_name) */
  const char *generic; /* the name that picks this op by the input's rank: "maxpool" */
  const char *prefix;  /* of generated identifiers: "lrelu" -> lrelu1, lrelu2 */
  int min_inputs, max_inputs; /* input tensors (0: declared, not called); max > min:
                                 a list may give them */
  int rank;                   /* spatial axes of size arguments: 1, 2 (0: none) */
  unsigned flags;             /* CNN_OPF_* */
  CnnOpParam params[CNN_OP_MAX_PARAMS]; /* keyword parameters in positional order */
  CnnActFormulas act;                   /* CNN_OPF_ACTIVATION */
  const char *torch_module; /* the torch.nn class of its submodule ({d}), or NULL */
  const char *torch_call;   /* else its PyTorch expression of {x} and {a}, or NULL:
                               emit/torch.c writes it (windows, merges) */
} CnnOpInfo;

const CnnOpInfo *cnn_op_info(CnnOp op);
/* The parameters' count of an operator. */
int cnn_op_nparams(const CnnOpInfo *info);

/* What a formula's placeholders stand for; NULL for an unused one. */
typedef struct {
  const char *x, *g, *a, *f, *d;
} CnnFormulaArgs;
/* Renders template `tmpl` into buf (snprintf's contract: returns the full
 * length). With `operand`, the text is parenthesized unless it is one call
 * already, so that it can stand inside a larger expression. */
size_t cnn_formula_render(char *buf, size_t size, const char *tmpl, const CnnFormulaArgs *args,
                          bool operand);
/* The same, allocated in arena a. */
char *cnn_formula(CnnArena *a, const char *tmpl, const CnnFormulaArgs *args, bool operand);

/* Per-sample shape: [features], [channels, length] or [channels, h, w]. */
typedef struct {
  int rank;
  int dim[3];
} CnnShape;

#define CNN_MAX_INPUTS 64

/* Spatial attributes are stored as (height, width); a 1-d operator has
 * height 1, so one convolution kernel serves conv1d and conv2d. */
typedef struct {
  int id;
  CnnOp op;
  const char *name; /* unique C identifier, e.g. "conv1", "block2_relu" */
  const char *var;  /* the user's variable name, if the result was assigned */
  CnnLoc loc;
  int ninputs;
  int inputs[CNN_MAX_INPUTS];
  CnnShape shape; /* output shape */

  int out_channels; /* conv: output channels; dense: output features */
  int groups;       /* conv1d/conv2d: channel groups (nn.Conv2d's groups), 1 by default; groupnorm: its groups */
  int kernel[2], stride[2], dilation[2];
  int pad_lo[2], pad_hi[2]; /* zero padding before/after, per axis */
  int output_padding[2];    /* conv_transpose2d */
  bool bias;
  double eps, momentum;  /* batchnorm; eps also groupnorm, layernorm */
  bool affine;           /* groupnorm, layernorm: learnable weight and bias */
  double p;              /* dropout */
  double negative_slope; /* leaky_relu */
  int scale[2];          /* upsample: the factor per axis */
  int output_size[2];    /* adaptive_avgpool */
  int mode;              /* upsample: CNN_UPSAMPLE_* */

  int64_t nparams; /* learnable parameters (PyTorch's parameters()) */
  int64_t flops;   /* forward FLOPs per sample; a multiply-add is 2 */
} CnnNode;

/* upsample's modes, in the order of its symbols in front/ops.c */
enum { CNN_UPSAMPLE_NEAREST, CNN_UPSAMPLE_BILINEAR };

typedef enum { LOSS_NONE, LOSS_SOFTMAX_CROSS_ENTROPY, LOSS_MSE } CnnLossKind;

typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int batch, epochs;
  uint64_t seed;
  int augment_crop;  /* augment { crop = N, flip = true }: the trainer's */
  bool augment_flip; /* default --augment (RtDefaults) */
  /* optimizer = sgd(...) or adamw(...), schedule = ...: the trainer's
   * --optimizer and --schedule specs ("" when not given); clip = X (0: none) */
  char optimizer[512], schedule[512];
  double clip;
} CnnTrainConfig;

typedef struct {
  const char *name; /* C identifier */
  CnnNode *nodes;   /* nodes[0] is the input; inputs precede their users */
  int nnodes;
  int output;       /* node id of the inference output */
  int loss_input;   /* node id the loss reads (the logits); -1 without loss */
  CnnLossKind loss;
  CnnLoc loss_loc;
  CnnTrainConfig train;
  int64_t nparams, flops, activation_bytes; /* per sample, fp32 */
} CnnNet;

/* A learnable tensor or buffer of a node, in PyTorch's layout and order. */
typedef struct {
  const char *name; /* "weight", "bias", "running_mean", "running_var" */
  int rank;
  int dim[4];
  int64_t count;
  bool learnable;
} CnnTensorSpec;

/* Fills out[] (at most 4) and returns how many tensors the node owns. */
int cnn_node_tensors(const CnnNet *net, const CnnNode *node, CnnTensorSpec out[4]);
const char *cnn_op_name(CnnOp op);
int64_t cnn_shape_size(CnnShape s);
/* Channels, height, width of a shape; missing axes are 1. */
void cnn_shape_chw(CnnShape s, int *c, int *h, int *w);
/* "[6, 28, 28]" into buf */
const char *cnn_shape_str(CnnShape s, char *buf, size_t size);

/* ---- the front end as a library ---- */

typedef struct CnnUnit CnnUnit;
CnnUnit *cnn_unit_new(const char *filename, const char *src, size_t len);
/* Parse, expand blocks, infer and check shapes. NULL on any error. */
const CnnNet *cnn_unit_compile(CnnUnit *u);
const CnnDiags *cnn_unit_diags(const CnnUnit *u);
CnnArena *cnn_unit_arena(CnnUnit *u);
void cnn_unit_free(CnnUnit *u);

/* Stage entry points (internal to the front end). */
CnnStmt *cnn_parse(CnnArena *a, CnnDiags *d, const char *src, size_t len);
const CnnNet *cnn_sema(CnnArena *a, CnnDiags *d, CnnStmt *program,
                       const char *default_name);
/* Shape inference of one node from its inputs; reports errors at node->loc
 * and returns false when the node is invalid. */
bool cnn_infer_shape(CnnDiags *d, const CnnNet *net, CnnNode *node);
/* Window o of adaptive average pooling from `in` values to `out`:
 * [floor(o in / out), ceil((o + 1) in / out)), as PyTorch's. */
void cnn_adaptive_window(int in, int out, int o, int *start, int *end);

/* ---- outputs ---- */
void cnn_print_summary(FILE *out, const CnnNet *net);
/* 61706 -> "61,706" into buf (summary.c) */
const char *cnn_grouped(int64_t v, char *buf, size_t size);
/* A Graphviz graph of the network (emit/dot.c); source names the .cnn file
 * in the header comment (NULL: not named). Returns 0, or -1 on a write error. */
int cnn_emit_dot(FILE *out, const CnnNet *net, const char *source);
/* Canonical text of the architecture (docs/generated-code.md) and its
 * 64-bit FNV-1a hash, which checkpoints carry (front/arch.c). */
char *cnn_arch_text(CnnArena *a, const CnnNet *net);
uint64_t cnn_arch_hash(const CnnNet *net);

/* ---- PyTorch mirror (emit/torch.c) ---- */
/* A Python module with a torch.nn.Module equivalent to net (docs/pytorch.md);
 * source names the .cnn file in the header comment (NULL: not named).
 * Returns 0, or -1 on a write error. */
int cnn_emit_pytorch(FILE *out, const CnnNet *net);
int cnn_emit_pytorch_source(FILE *out, const CnnNet *net, const char *source);
/* The mirror's load_cnncc_checkpoint() and save_cnncc_checkpoint(): the
 * Python of emit/torch_ckpt.py, the same for every network (it reads the
 * module's constants), as a string (embed.sh, torch_ckpt_text.c). */
extern const char cnn_text_torch_ckpt[];
/* ---- end PyTorch mirror ---- */


/* ---- code generation (printer.c, plan/train*.c, emit/train*.c, build.c) ---- */

/* An indenting printer: cnn_pr() prints lines and indents by braces. */
typedef struct {
  FILE *out;
  int indent;
  bool failed;    /* out of memory while formatting */
  bool continued; /* the last line ended with a backslash */
} CnnPrinter;
void cnn_printer_init(CnnPrinter *P, FILE *out);
void cnn_pr(CnnPrinter *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cnn_vpr(CnnPrinter *P, const char *fmt, va_list ap);
/* Whole lines of C, indented already, printed as they are (the level stays). */
void cnn_pr_verbatim(CnnPrinter *P, const char *text);

typedef enum { CNN_DTYPE_FLOAT, CNN_DTYPE_DOUBLE } CnnDtype;
/* What a program is compiled for (build.c's flags): "generic" portable C
 * (-O3), "native" the build machine (-march=native), "avx2" (-mavx2 -mfma),
 * "avx512" (-mavx512f -mavx512vl ...). The C file is the same for all: it
 * picks its SIMD micro-kernel by the preprocessor. A target-specific kernel
 * would be a choice of the plan (plan/train_kernels.c). */
typedef enum { CNN_TARGET_GENERIC, CNN_TARGET_NATIVE, CNN_TARGET_AVX2, CNN_TARGET_AVX512 } CnnTarget;

typedef struct {
  CnnDtype dtype;
  CnnTarget target;
  const char *source_file; /* the .cnn file, for the header comment */
  const char *header_name; /* what the .c includes, e.g. "lenet.h" */
  bool mpi;                /* a data-parallel trainer under MPI (docs/distributed.md) */
} CnnEmitOptions;

/* Write the training code: one C file and its header. Returns 0, or -1 with
 * a message on stderr (e.g. a network without a loss). */
int cnn_emit_c(FILE *c, FILE *h, const CnnNet *net, const CnnEmitOptions *opt);
/* `cnncc -o FILE`: FILE.c writes FILE.c and FILE.h; any other FILE is
 * generated in a temporary directory and compiled with libcnnrt into the
 * program FILE. Returns the exit status (0, or 1 with a message). */
int cnn_write_output(const CnnNet *net, const char *out_path, const CnnEmitOptions *opt);
/* For --version: the C compiler and options that cnncc -o builds programs
 * with (the default --target; CNNCC_CC and CNNCC_OPENMP as for a build). */
void cnn_print_program_compiler(FILE *out);

/* ---- standalone inference code (emit/infer.c, docs/inference.md) ---- */
typedef struct {
  const char *weights;     /* the checkpoint (required) */
  const char *source_file; /* the .cnn file, for the header comment */
  bool header;             /* also write FILE.h next to FILE.c */
  bool static_arena;       /* scratch memory as a static array: not reentrant */
  bool no_softmax;         /* no <net>_softmax() for probabilities */
  const char *quantize;    /* "int8" (emit/infer_quant.c), or NULL: float */
  const char *calibrate;   /* --quantize: the data whose ranges set the scales */
  long calibrate_samples;  /* how many of its first samples; 0: 500 */
} CnnInferOptions;
/* `cnncc --emit=inference`: reads the checkpoint with rt_checkpoint_load and
 * writes out_path (NULL: NAME_infer.c next to src_path; "-": stdout).
 * Returns the exit status (0; 1 with a message; 2 for a usage error). */
int cnn_emit_inference_file(const CnnNet *net, const char *src_path, const char *out_path,
                            const CnnInferOptions *opt);
/* The generator: params and buffers are the checkpoint's blocks, crc its
 * CRC-32 for the header comment. Returns 0, or -1 with a message. */
int cnn_emit_inference(FILE *c, FILE *h, const char *c_name, const char *h_name, const CnnNet *net,
                       const float *params, const float *buffers, uint32_t crc,
                       const CnnInferOptions *opt);
/* The memory contract of the inference code (docs/inference.md, "Memory"):
 * exact bytes, from the plan and the lengths of the packed tables, which
 * the weights' values do not change. The generated file states them as
 * NAME_WEIGHT_BYTES and so on. */
typedef struct {
  int64_t weight_bytes;  /* static const float arrays: weights, biases, folded batchnorms */
  int64_t const_bytes;   /* other static data: tap offset tables (const int), the opaque zero
                          * (const volatile: compilers put it in .data) */
  int64_t scratch_bytes; /* NAME_SCRATCH_BYTES: the arena and 64 bytes to align it */
  int64_t arena_bytes;   /* the arena itself, from its 64-byte aligned start */
  int64_t static_bytes;  /* written static data (.bss): --static-arena's array */
  int64_t input_bytes, output_bytes; /* the caller's buffers */
} CnnInferMemory;
/* `cnncc --summary --emit=inference`: the memory contract as a table, one
 * column per number format (float, and int8 with --quantize=int8). Needs
 * no checkpoint nor calibration data. Returns 0, or 1 with a message. */
int cnn_print_inference_memory(FILE *out, const CnnNet *net, const CnnInferOptions *opt);
/* The blocks of checkpoint `path` (emit/checkpoint.c), read and checked
 * against net by libcnnrt's rt_checkpoint_load, in malloc'd memory that the
 * caller frees, and its CRC-32. Returns 0, or the exit status (1) after a
 * message on stderr. */
int cnn_load_checkpoint(const CnnNet *net, const char *path, float **params, float **buffers,
                        uint32_t *crc);
/* ---- end standalone inference code ---- */

/* ---- ONNX export (emit/onnx.c, docs/interop.md) ---- */
typedef struct {
  const char *weights;     /* the checkpoint, or NULL: the trainer's initialization */
  const char *source_file; /* the .cnn file, for the model's doc string */
  bool fold_batchnorm;     /* batchnorm after a conv or dense folded into its weights */
} CnnOnnxOptions;
/* `cnncc --emit=onnx`: writes out_path (NULL: FILE.onnx next to FILE.cnn;
 * "-": stdout). Returns the exit status (0; 1 with a message). Built only
 * with protobuf-c (CNNCC_HAVE_ONNX). */
int cnn_emit_onnx_file(const CnnNet *net, const char *src_path, const char *out_path,
                       const CnnOnnxOptions *opt);
/* ---- end ONNX export ---- */

#endif
