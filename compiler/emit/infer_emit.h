/* emit/infer_emit.h - inside the inference code generator (emit/infer.c
 * prints, emit/infer_weights.c packs the checkpoint's values): the state
 * of one generation and the helpers both use. Not an interface. */
#ifndef CNNCC_EMIT_INFER_EMIT_H
#define CNNCC_EMIT_INFER_EMIT_H

#include "cnncc.h"
#include "plan/infer.h"

#define pr(...) cnn_pr(__VA_ARGS__) /* function-like: leaves CnnConvGeo.pr alone */

typedef CnnInferGroup Group;

/* The static const arrays of one group (packed weights, biases, scales),
 * computed from the checkpoint before anything is printed: a value that is
 * not finite needs <math.h> for its macro. */
typedef struct {
  const char *name, *what;
  const float *v;
  int64_t n;
} Table;

typedef struct {
  Table *t;
  int n;
} Tables;

typedef struct {
  const CnnNet *net;
  const CnnInferOptions *opt;
  const CnnInferPlan *p; /* what to print: plan/infer.c */
  CnnArena *A;
  CnnPrinter *P;
  const char *N; /* network name: the prefix of every symbol */
  char *NU;      /* upper case, for macros */
  const float *params, *buffers;
  uint32_t crc;
  uint64_t hash;
  int *nts;
  CnnTensorSpec (*ts)[4];
  int64_t (*toff)[4];
  Tables *tables;       /* per group */
  bool weights_need_math;
  CnnInferMemory mem; /* what the file states (cnn_infer_memory) */
  /* what the printing used; the plan must have foreseen it (check_needs) */
  bool need_math, need_zero, need_vsum;
  unsigned need_vk; /* CNN_VK_* */
} Emit;

#define BLOCK 8     /* output channels per register block */

/* printf into the emitter's arena (the text lives as long as the emitter) */
#define fmt(E, ...) ((const char *)cnn_format((E)->A, __VA_ARGS__))

static inline int64_t size_of(const CnnNode *n) { return cnn_shape_size(n->shape); }
static inline const CnnNode *node(Emit *E, int id) { return &E->net->nodes[id]; }
static inline const CnnNode *in_node(Emit *E, const CnnNode *n, int k) {
  return &E->net->nodes[n->inputs[k]];
}
/* The function of group g, a prefix of the names of its arrays. */
static inline const char *fn_name(Emit *E, const Group *g) {
  return fmt(E, "%s_%s", E->N, node(E, g->main)->name);
}

/* A float constant as C source, the shortest text that reads back exactly
 * (emit/infer.c; a non-finite one makes the file include <math.h>). */
const char *cnn_infer_flit(Emit *E, double v);

/* NAME_predict_batch, which calls NAME_predict per sample (emit/infer.c). */
void cnn_infer_emit_predict_batch(Emit *E);

/* E->tables: every group's arrays, from the checkpoint (emit/infer_weights.c). */
void cnn_infer_pack_tables(Emit *E);
/* Group g's weights (dense, conv, grouped conv) as O rows of I, batchnorm
 * folded in, and its bias (O), in E's arena. */
void cnn_infer_folded_rows(Emit *E, const Group *g, int *O, int *I, float **w, float **b);
/* The pieces of the file that float and int8 share (emit/infer.c): the
 * CNNCC_WEIGHT_ATTR definition, the declarations (sizes, the memory
 * contract E->mem, the functions), the .h of --header. */
void cnn_infer_emit_weight_attr(Emit *E);
void cnn_infer_emit_declarations(Emit *E, CnnPrinter *P);
void cnn_infer_emit_header(Emit *E, FILE *h, const char *c_name, const char *h_name);
/* --static-arena's array and the start of NAME_predict (its arguments, the
 * arena pointer VAR of TYPE), the same in float and int8 files. */
void cnn_infer_emit_static_arena(Emit *E, const char *type, const char *what, int64_t n);
void cnn_infer_emit_arena_start(Emit *E, const char *type, const char *var, bool arena);
/* --quantize=int8: the quantized file (and its .h if h) in place of the
 * float one, after calibration (emit/infer_quant.c). Returns 0, or -1
 * with a message. */
int cnn_emit_quantized(Emit *E, FILE *c, FILE *h, const char *c_name, const char *h_name);
/* The int8 file's memory figures, from the plan alone (no calibration).
 * Returns 0, or -1 with a message (a layer without an int8 version). */
int cnn_quant_memory(Emit *E, CnnInferMemory *m);

#endif
