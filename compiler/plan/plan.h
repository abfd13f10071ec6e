/* plan.h - the planning stage, between the network IR (cnncc.h) and the
 * printers (emit/): what the generated code will be, decided as data before
 * any text is written. The training and the inference printers share what
 * is here: the memory planner (memory.c) and the geometry of convolutions
 * (geometry.c). docs/architecture.md shows where it sits. */
#ifndef CNNCC_PLAN_H
#define CNNCC_PLAN_H

#include "cnncc.h"

/* ---- memory: the blocks of one pool ----
 * A block is in use during up to two intervals of steps, [lo[k], hi[k]]
 * (lo > hi: no interval). The training code has two: the forward and the
 * backward pass, or one life that spans both for data kept between them;
 * the inference code has one. Blocks in use together never overlap. */
#define CNN_BLOCK_LIVES 2

typedef struct {
  const char *name;             /* "grad.conv1", "conv1 prepared input" */
  int64_t size;                 /* in the planner's unit (bytes, floats) */
  int lo[CNN_BLOCK_LIVES], hi[CNN_BLOCK_LIVES];
  int64_t offset;               /* where cnn_place_blocks put it */
} CnnBlock;

/* A block of size rounded up to a multiple of align, in use at no step. */
void cnn_block_init(CnnBlock *b, const char *name, int64_t size, int64_t align);
/* Block b is in use at step `step` of life `life` (its interval grows). */
void cnn_block_use(CnnBlock *b, int life, int step);
bool cnn_block_unused(const CnnBlock *b, int life);
bool cnn_blocks_in_use_together(const CnnBlock *a, const CnnBlock *b);
/* Places the blocks: the largest first (then the first used, then by
 * index), each at the lowest offset where it overlaps none of those placed
 * before it that are in use with it. Returns the size of the pool. */
int64_t cnn_place_blocks(CnnArena *A, CnnBlock *blocks, int n);
/* The invariant of a placement: every block lies in [0, size) and no two
 * blocks in use together overlap. Returns true, or false with the first
 * offending pair in *a, *b (*b = -1: block *a exceeds the pool). */
bool cnn_check_placement(const CnnBlock *blocks, int n, int64_t size, int *a, int *b);

/* ---- geometry of convolutions and pooling windows ----
 * Spatial attributes as (height, width); a 1-d layer is a 2-d one of
 * height 1 (one_d). For a transposed convolution "input" and "output" are
 * the node's, as for any other. */
typedef struct {
  int ic, ih, iw, oc, oh, ow;
  int kh, kw, sh, sw, dh, dw;
  int pt, pl, pb, pr; /* padding top, left, bottom, right */
  bool one_d;
} CnnConvGeo;

CnnConvGeo cnn_conv_geo(const CnnNet *net, const CnnNode *n);
/* The outputs [*lo, *hi) of an axis (on of them, stride s) whose kernel tap
 * at offset off (position * dilation - padding) reads inside the n inputs:
 * a grouped convolution's direct loops (kernels/grouped.h does the same). */
void cnn_grouped_span(int off, int n, int on, int s, int *lo, int *hi);

/* The kernel's taps as stride-phase planes see them: with the input split
 * into s x s planes by (row % sh, column % sw), tap (ky, kx) reads plane
 * (ky * dh % sh, kx * dw % sw) at row ky * dh / sh, column kx * dw / sw
 * from the output position, in every output position the same. */
typedef struct {
  int ky, kx;
  int phase;  /* index into the phases used, in order of first use */
  int qy, qx; /* row and column offset inside the plane */
} CnnTap;

typedef struct {
  int ntaps;     /* kh * kw, row by row */
  CnnTap *tap;
  int nphases;   /* the (row, column) phases that some tap reads */
  int *phase_y, *phase_x;
  int max_qy, max_qx;
} CnnTaps;

void cnn_conv_taps(CnnArena *A, const CnnConvGeo *g, CnnTaps *t);
/* How many of the s phases of one axis the k taps (dilation d) read, and
 * how many of them come before phase a (the planes' order). */
int cnn_phase_count(int k, int d, int s);
int cnn_phase_index(int a, int k, int d, int s);

/* Where output o of resampling node n reads along axis a (0 rows, 1
 * columns) of `in` values (out outputs): upsample, inputs i0 and i1 with
 * weights 1 - l1 and l1 in PyTorch's float arithmetic (bilinear:
 * align_corners=False; nearest: i1 = i0 and l1 = 0); adaptive_avgpool,
 * the window [i0, i1). */
void cnn_resample_source(const CnnNode *n, int a, int in, int out, int o, int *i0, int *i1, double *l1);

#endif
