/* train.h - the plan of the training code (plan/train.c): which nodes run
 * in which pass, the fusions, the parameter layout and the memory plan, as
 * data that the training printer (emit/train.c) renders and that
 * `cnncc --plan` prints (cnn_print_train_plan). */
#ifndef CNNCC_PLAN_TRAIN_H
#define CNNCC_PLAN_TRAIN_H

#include "plan.h"

/* ---- the kernels (plan/train_kernels.c) ----
 * Convolutions and dense layers run as matrix products in the file's gemm()
 * (emit/kernels.c); these say how, and how much scratch they need. */

/* The image side of a window copy: channels c, h x w pixels; the position
 * side: oh x ow positions; col has c * kh * kw rows of oh * ow values. For a
 * convolution the image is the input, for a transposed one the output. 1-d
 * layers are 2-d ones of height 1. */
typedef struct {
  int c, h, w, oh, ow;
  int kh, kw, sh, sw, dh, dw, pt, pl;
} CnnWindow;

/* An image that an implicit product reads in place: c channels of h x w,
 * padded (pt, pl; hp x wp per stride phase) for oh x ow positions. */
typedef struct {
  int c, h, w, oh, ow, kh, kw, dh, dw, sh, sw, pt, pl, hp, wp;
} CnnImplicit;

/* Scratch sizes (values) the layers need: per part of the batch, shared, and
 * shared with a part that grows with the batch (per sample + fixed). */
typedef struct {
  int64_t col, b, a, dcol, dw, w;
  int64_t a_per, a_fix, b_per;
} CnnTrainScratch;
/* its fields by name, for loops over them (cnn_plan_kernels, --plan) */
#define CNN_SCRATCH_FIELDS 9
typedef struct {
  const char *name;
  size_t offset;
} CnnScratchField;
extern const CnnScratchField cnn_scratch_fields[CNN_SCRATCH_FIELDS];
#define CNN_SCRATCH(s, f) (*(int64_t *)((char *)(s) + cnn_scratch_fields[f].offset))

typedef enum {
  CNN_KERNEL_NONE,
  CNN_KERNEL_IMPLICIT, /* conv1d/conv2d: implicit products on the padded image */
  CNN_KERNEL_GEMM,     /* dense, or conv_transpose2d with a trivial (1x1) window */
  CNN_KERNEL_WINDOWS,  /* conv_transpose2d: products and window copies (col2im) */
  CNN_KERNEL_POOL2,    /* maxpool 2x2, stride 2, no padding: maxpool_2x2() */
  CNN_KERNEL_LOOPS,    /* the layer's own loops */
  CNN_KERNEL_GROUPED,  /* conv1d/conv2d with groups > 1: grouped_forward() ... */
} CnnKernelKind;

typedef struct {
  CnnKernelKind kind;
  /* conv1d/conv2d: the input gradient as weight^T * dy and col2im (else an
   * implicit product of the padded dy with the flipped kernel); the weight
   * gradient along the positions (few output channels) */
  bool dx_gemm, wgrad_dot;
  CnnTrainScratch scratch; /* what this node needs of each */
} CnnTrainKernel;

/* The helpers the file carries, for the layers that use them. */
typedef struct {
  bool sum, gemm, implicit, windows, lanes, pool2, grouped;
} CnnTrainNeeds;

typedef struct {
  const CnnNet *net;
  CnnArena *A;
  int *root;        /* the node whose buffer a node uses (flatten aliases) */
  bool *live_train; /* computed by forward: ancestors of the loss input */
  bool *live_pred;  /* computed by predict: ancestors of the output */
  bool *ng;         /* its gradient is needed for parameter gradients */
  int *nts;
  CnnTensorSpec (*ts)[4];
  int64_t (*off)[4]; /* offset of each tensor in params or buffers */
  int64_t nparams, nbuffers;
  int ntensors;
  /* fusions: relu_into[i] is the relu whose forward pass node i's layer does
   * too, writing the relu's output (a batchnorm also does its backward pass),
   * -1 if none; fused[r] marks such a relu. */
  int *relu_into;
  bool *fused;
  /* relu_back[p]: the relu (the input of max pooling p) whose backward pass
   * p's does, writing the gradient of the relu's input (-1 if none);
   * back_into[r] is that pooling (-1), as r has no backward call. */
  int *relu_back, *back_into;
  /* has_fwd[i], has_bwd[i]: node i has a forward (backward) call of its own */
  bool *has_fwd, *has_bwd;
  /* assign[i][k]: node i's backward pass writes (=) the gradient of its
   * input k instead of adding to it (+=): it is the first in backward order
   * to write that buffer, so no buffer needs zeroing. */
  bool (*assign)[CNN_MAX_INPUTS];
  /* the memory plan: bread[i] lists the activations (root nodes) that node
   * i's backward pass reads; recompute[r] is the batchnorm or mul whose
   * output r the backward pass recomputes instead of keeping it (-1: none),
   * before the backward pass of node recompute_at[r]; buf[] the blocks of
   * the pool (bytes per sample), act_buf[r], grad_buf[r], arg_buf[r] their
   * index (-1) */
  int (*bread)[2], *nbread;
  int *recompute, *recompute_at;
  /* in_place[i]: node i's backward pass writes its input's gradient over
   * its output's, whose buffer grad_alias[input] then is (-1: its own) */
  bool *in_place;
  int *grad_alias;
  bool (*add_alias)[CNN_MAX_INPUTS]; /* add_alias[i][k]: input k of add i has its gradient buffer */
  int *alias_by; /* the node whose backward pass makes grad_alias[] */
  CnnBlock *buf;
  int nbuf, *act_buf, *grad_buf, *arg_buf;
  int64_t pool_bytes; /* per sample */
  bool replay;        /* a second backward pass must run the forward pass again */
  /* the kernels (cnn_plan_kernels): of each node, the scratch, the helpers */
  CnnTrainKernel *kernel;
  CnnTrainScratch scratch;
  CnnTrainNeeds needs;
} CnnTrainPlan;

/* The plan of the training code of net in elements of es bytes (float or
 * double); NULL (with a message) if the memory plan fails its check. */
CnnTrainPlan *cnn_plan_training(CnnArena *A, const CnnNet *net, int64_t es);
/* Layers whose backward pass does their fused relu's too. */
bool cnn_merges_relu_backward(const CnnNode *n);
/* The node (a root) whose gradient node i's backward pass writes as that
 * of its input k: the input's, or a fused relu's input's (relu_back). */
int cnn_train_dx_node(const CnnTrainPlan *T, int i, int k);
/* Does node i's backward pass read activation (root node) r? */
bool cnn_train_reads_in_backward(const CnnTrainPlan *T, int i, int r);
/* Does activation r's recomputation always run, that is, does a backward
 * pass that always runs (ng: not only with want_dx) read it? */
bool cnn_train_recompute_always(const CnnTrainPlan *T, int r);
/* The step of node i's backward pass, and the step after the backward pass. */
int cnn_train_step_backward(const CnnTrainPlan *T, int i);
int cnn_train_step_end(const CnnTrainPlan *T);
/* "conv1 forward", "bn1 backward .. end": the steps of a block, in words */
const char *cnn_train_life_text(const CnnTrainPlan *T, const CnnBlock *u);
/* The plan as text (cnncc --plan, docs/generated-code.md). */
void cnn_print_train_plan(FILE *f, const CnnTrainPlan *T);
/* cnncc --plan: plans net's training code and prints the plan; 0 or 1. */
int cnn_print_training_plan(FILE *f, const CnnNet *net, const CnnEmitOptions *opt);
/* ---- the kernels (plan/train_kernels.c) ---- */

CnnWindow cnn_conv_window(const CnnConvGeo *g);
CnnWindow cnn_convt_window(const CnnConvGeo *g);
/* col's rows and columns */
int64_t cnn_window_rows(const CnnWindow *w);
int64_t cnn_window_cols(const CnnWindow *w);
/* A 1x1 window with stride 1 and no padding: col is the image itself. */
bool cnn_window_trivial(const CnnWindow *w, const CnnConvGeo *g);
/* the forward pass's image: the input padded, in stride x stride planes */
CnnImplicit cnn_implicit_image(const CnnConvGeo *g);
/* the input gradient's image: dy padded by the kernel extent less the padding */
CnnImplicit cnn_implicit_dy(const CnnConvGeo *g);
/* off[k] for the c * kh * kw rows of the window matrix (k = (ch * kh + ky)
 * * kw + kx): tap (ky, kx) of channel ch reads the plane of phases (ky * dh
 * % sh, kx * dw % sw) of ch from row ky * dh / sh, column kx * dw / sw, as
 * the kernel pad_image lays the planes out */
void cnn_implicit_offsets(const CnnImplicit *m, int *off);
/* Does a pooling window (kernel k, stride s, padding p) reach out of the input? */
bool cnn_pool_needs_check(int k, int s, int p, int in, int out);
/* The kernel of each node, the scratch and the helpers (after the rest of
 * the plan: only the nodes with code count). */
void cnn_plan_kernels(CnnTrainPlan *T);

/* ---- the roofline (plan/roofline.c) ----
 * What a layer's passes compute and move in a training step, for the layer
 * profile: FLOPs and the bytes of the tensors the pass's code reads and
 * writes (each once; a gradient added to, twice) per sample, and the bytes
 * of the parameters and their gradients per call (independent of the batch).
 * Index 0 is the forward pass, 1 the backward pass (with the recomputations
 * timed with it); es is the size of a value. */
typedef struct {
  int64_t flops[2], bytes[2]; /* per sample */
  int64_t wbytes[2];          /* per call */
} CnnRoofline;

CnnRoofline cnn_roofline(const CnnTrainPlan *T, int i, int64_t es);
/* the loss's backward pass; the zeroing of the parameters' gradients */
CnnRoofline cnn_roofline_loss(const CnnTrainPlan *T, int64_t es);
CnnRoofline cnn_roofline_zeroing(const CnnTrainPlan *T, int64_t es);

#endif
