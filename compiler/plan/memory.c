/* memory.c - the memory planner of both printers: blocks whose lives do
 * not overlap share memory in one pool, placed first fit, largest first. */
#include "plan.h"

void cnn_block_init(CnnBlock *b, const char *name, int64_t size, int64_t align) {
  b->name = name;
  b->size = (size + align - 1) / align * align;
  for (int k = 0; k < CNN_BLOCK_LIVES; k++) b->lo[k] = INT32_MAX, b->hi[k] = -1;
  b->offset = 0;
}

void cnn_block_use(CnnBlock *b, int life, int step) {
  if (step < b->lo[life]) b->lo[life] = step;
  if (step > b->hi[life]) b->hi[life] = step;
}

bool cnn_block_unused(const CnnBlock *b, int life) { return b->lo[life] > b->hi[life]; }

bool cnn_blocks_in_use_together(const CnnBlock *a, const CnnBlock *b) {
  for (int i = 0; i < CNN_BLOCK_LIVES; i++)
    for (int j = 0; j < CNN_BLOCK_LIVES; j++)
      if (!cnn_block_unused(a, i) && !cnn_block_unused(b, j) && a->lo[i] <= b->hi[j] && b->lo[j] <= a->hi[i])
        return true;
  return false;
}

static int64_t first_step(const CnnBlock *b) {
  for (int k = 0; k < CNN_BLOCK_LIVES; k++)
    if (!cnn_block_unused(b, k)) return b->lo[k];
  return INT32_MAX;
}

static bool placed_before(const CnnBlock *blocks, int a, int b) {
  if (blocks[a].size != blocks[b].size) return blocks[a].size > blocks[b].size;
  if (first_step(&blocks[a]) != first_step(&blocks[b])) return first_step(&blocks[a]) < first_step(&blocks[b]);
  return a < b;
}

/* The lowest offset for block u in the gaps between `placed`, those placed
 * before it that are in use with it, sorted by offset. */
static int64_t first_fit(const CnnBlock *blocks, const int *placed, int n, const CnnBlock *u) {
  int64_t off = 0;
  for (int k = 0; k < n && off + u->size > blocks[placed[k]].offset; k++) {
    const CnnBlock *o = &blocks[placed[k]];
    if (o->offset + o->size > off) off = o->offset + o->size;
  }
  return off;
}

int64_t cnn_place_blocks(CnnArena *A, CnnBlock *blocks, int n) {
  int *order = cnn_alloc(A, sizeof(int) * (size_t)n + 1);
  int *together = cnn_alloc(A, sizeof(int) * (size_t)n + 1);
  for (int b = 0; b < n; b++) { /* insertion sort */
    int k = b;
    for (; k > 0 && placed_before(blocks, b, order[k - 1]); k--) order[k] = order[k - 1];
    order[k] = b;
  }
  int64_t size = 0;
  for (int o = 0; o < n; o++) {
    CnnBlock *u = &blocks[order[o]];
    int nt = 0;
    for (int k = 0; k < o; k++) {
      if (!cnn_blocks_in_use_together(u, &blocks[order[k]])) continue;
      int m = nt++;
      for (; m > 0 && blocks[together[m - 1]].offset > blocks[order[k]].offset; m--) together[m] = together[m - 1];
      together[m] = order[k];
    }
    u->offset = first_fit(blocks, together, nt, u);
    if (u->offset + u->size > size) size = u->offset + u->size;
  }
  return size;
}

bool cnn_check_placement(const CnnBlock *blocks, int n, int64_t size, int *a, int *b) {
  for (int i = 0; i < n; i++) {
    *a = i, *b = -1;
    if (blocks[i].offset < 0 || blocks[i].offset + blocks[i].size > size) return false;
    for (int j = i + 1; j < n; j++) {
      const CnnBlock *x = &blocks[i], *y = &blocks[j];
      *b = j;
      if (x->size && y->size && cnn_blocks_in_use_together(x, y) && x->offset < y->offset + y->size &&
          y->offset < x->offset + x->size)
        return false;
    }
  }
  *a = *b = -1;
  return true;
}
