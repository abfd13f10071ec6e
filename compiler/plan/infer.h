/* plan/infer.h - the plan of the standalone inference code (cnncc
 * --emit=inference): the kernels (groups of fused layers), the geometry of
 * their convolutions, where every value and temporary lives in the scratch
 * arena, and what the file must carry; all as data, without the weights'
 * values. emit/infer.c renders it (docs/inference.md). */
#ifndef CNNCC_PLAN_INFER_H
#define CNNCC_PLAN_INFER_H

#include "plan.h"

typedef enum {
  CNN_IG_CONV,    /* conv1d, conv2d (+ batchnorm folded, activation, pooling) */
  CNN_IG_CONVT,   /* conv_transpose2d (+ batchnorm folded, activation) */
  CNN_IG_DENSE,   /* dense (+ batchnorm folded, activation) */
  CNN_IG_POOL,    /* maxpool, avgpool */
  CNN_IG_GAP,     /* global_avgpool, global_maxpool */
  CNN_IG_RESIZE,  /* upsample, adaptive_avgpool */
  CNN_IG_EW,      /* add, mul, batchnorm, activations: a chain in one loop */
  CNN_IG_NORM,    /* groupnorm, layernorm */
  CNN_IG_CONCAT,
  CNN_IG_SOFTMAX,
  CNN_IG_COPY,    /* the output is the input (or a view of it) */
  CNN_IG_GROUPED, /* conv1d, conv2d with groups > 1 (+ batchnorm folded, activation) */
} CnnInferGroupKind;

#define CNN_INFER_MAX_CHAIN 32

typedef struct {
  CnnInferGroupKind kind;
  int main;              /* the node the group is named after */
  int result;            /* the node whose value the group produces */
  int bn;                /* batchnorm folded into the weights, or -1 */
  int act;               /* fused activation node, or -1 */
  int pool;              /* fused pooling node (CNN_IG_CONV), or -1 */
  int chain[CNN_INFER_MAX_CHAIN]; /* CNN_IG_EW: the nodes, first to last */
  int nchain;
  int ninputs;
  const int *inputs;     /* values read: node ids (their storage via val_st[store[]]) */
  int st_out, st_prep, st_tmp; /* storages; -1: none */
} CnnInferGroup;

typedef enum { CNN_IS_ARENA, CNN_IS_INPUT, CNN_IS_OUTPUT } CnnInferStorageKind;

typedef struct {
  CnnInferStorageKind kind;
  int64_t floats;      /* size, including the slack that kernels may read */
  int first, last;     /* groups that write it first and read it last */
  int64_t offset;      /* in floats from the aligned arena start */
  const char *name;    /* "conv1.out", "conv1.prep" */
} CnnInferStorage;

/* A convolution as the shifted GEMM sees it: the input copied (or read in
 * place) into planes of ph x pw, one per stride phase of the taps, tap t
 * at offset off[t] from the output position. */
typedef struct {
  CnnConvGeo g;
  CnnTaps taps;
  bool prep;        /* gather the input into a prepared buffer */
  int ry0, rx0;     /* source row/column of prepared (0, 0), phase (0, 0) */
  int ph, pw;       /* rows and columns of a plane */
  int64_t ps;       /* plane (channel) stride */
  int64_t *off;     /* offset of each tap */
  int J, JS;        /* output positions computed; per-channel stride of tmp */
  bool direct;      /* j is the output index: store straight into dst */
  int64_t prep_floats;
  /* the channel tile (emit/infer.c) when ty > 0: nv vectors of output
   * channels by ty rows x tx columns of output positions */
  int ty, tx, nv;
} CnnInferConv;

/* One output phase of a transposed convolution. */
typedef struct {
  int ry, rx;          /* output rows with (oy + pad) % stride == ry */
  int y0, ny, x0, nx;  /* Y in [y0, y0 + ny): oy = Y * sy + ry - pad */
  int nt;
  int64_t *off;
  int *tap;            /* the taps (indices into taps.tap) of this phase */
  int J;
} CnnInferTPhase;

typedef struct {
  CnnConvGeo g;
  CnnTaps taps;
  int qy0, qx0;        /* input row/column of prepared (0, 0) */
  int ph, pw;
  int64_t ps;
  int nphase;
  CnnInferTPhase *phase;
  int JS;
  int64_t prep_floats;
} CnnInferConvT;

typedef struct {
  const CnnNet *net;
  bool *live;      /* ancestors of the output */
  int *base;       /* the node whose value a node is (through dropout) */
  int *store;      /* ... and whose memory it is (through dropout and flatten) */
  int *uses;       /* live reads of a base value, through dropout */
  int *made_by;    /* node -> group producing it as result, -1 */
  int out_base;
  CnnInferGroup *g;
  int ng;
  CnnInferStorage *st;
  int nst;
  int *val_st;     /* store node -> storage */
  CnnInferConv *cg;   /* per group (CNN_IG_CONV) */
  CnnInferConvT *tg;  /* per group (CNN_IG_CONVT) */
  CnnBlock *blocks;   /* the arena storages as the memory planner saw them */
  int nblocks;
  int64_t arena_floats;
  /* what the file carries apart from the kernels: <math.h> (but non-finite
   * weights, which only the values tell), the vector helpers, the opaque
   * zero, NAME_softmax() */
  bool need_math, need_zero, need_vsum, softmax_fn;
  unsigned need_vk; /* the vector functions (CNN_VK_*) */
} CnnInferPlan;

#define CNN_INFER_TILE_MAX 16 /* the widest SIMD vector in floats (AVX-512) */
#define CNN_INFER_CT_BLOCK 16 /* output channels per block of the channel tile's weights */
#define CNN_INFER_CT_MAX 24   /* accumulators of a channel tile: positions x vectors */

/* The plan of net's inference code, in A; NULL (with a message on stderr)
 * on an internal error. */
CnnInferPlan *cnn_plan_inference(CnnArena *A, const CnnNet *net, const CnnInferOptions *opt);
/* The plan as text on stdout: the groups, then the arena's blocks, one a line
 * ("buffer NAME offset O size S lives A..B", in floats), then its size.
 * Returns 0, or 1 (with a message) on an internal error, when out of memory
 * or on a write error. */
int cnn_print_inference_plan(const CnnNet *net);

#endif
