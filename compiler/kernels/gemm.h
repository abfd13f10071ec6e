/* ---- the matrix product (GEMM) ----
 * c = a * b (m x n, k terms) runs in tiles of MR x NR values of c that stay
 * in registers while the k terms are added up in order, one multiply-add
 * each (the micro-kernel, kernel()). The operands are first packed: a in
 * slivers of MR rows (pack_a), b in panels of NR columns (pack_b), each
 * with its k values next to each other, so that the kernels read both
 * sequentially. Every value of c is the same sequence of operations
 * wherever its tile is and whichever thread computes it. */
#define KC 256 /* terms of a product per pass over a tile */

/* One tile of c: mr <= MR rows, nr <= NR columns. A partial tile (nr < NR) is
 * computed whole into buf and its nr columns then go to c, with the same
 * operations on each value. */
static INLINE void tile(int mr, int nr, int kc, const real *restrict a, const real *restrict b,
    real *restrict c, int ldc, const real *restrict bias, int add) {
  real buf[MR * NR];
  const int whole = nr == NR;
  real *t = whole ? c : buf;
  const int ldt = whole ? ldc : NR, tadd = whole && add;
  const real *tbias = whole ? bias : NULL;
  switch (mr) { /* constant row counts: the kernel's loops unroll */
  case 1: kernel(1, kc, a, b, t, ldt, tbias, tadd); break;
  case 2: kernel(2, kc, a, b, t, ldt, tbias, tadd); break;
  case 3: kernel(3, kc, a, b, t, ldt, tbias, tadd); break;
#if MR > 4
  case 4: kernel(4, kc, a, b, t, ldt, tbias, tadd); break;
  case 5: kernel(5, kc, a, b, t, ldt, tbias, tadd); break;
#endif
#if MR > 6
  case 6: kernel(6, kc, a, b, t, ldt, tbias, tadd); break;
  case 7: kernel(7, kc, a, b, t, ldt, tbias, tadd); break;
#endif
  default: kernel(MR, kc, a, b, t, ldt, tbias, tadd); break;
  }
  if (whole) return;
  for (int r = 0; r < mr; r++) {
    real *cr = c + (size_t)r * ldc;
    const real *br = buf + r * NR;
    for (int v = 0; v < nr; v++) cr[v] = bias ? bias[r] + br[v] : add ? cr[v] + br[v] : br[v];
  }
}

/* d[o * dso + i * dsi] = s[o * sso + i * ssi] for o < no and i < ni, 0
 * where o >= vo or i >= vi: a sliver of pack_a (o along k, i along its MR
 * rows) and a panel of pack_b's general path (o along its NR columns, i
 * along k) with the loops in the order each had, inner along i. */
static ALWAYS_INLINE void pack_strided(real *restrict d, const real *restrict s, int no, int vo, size_t dso,
    size_t sso, int ni, int vi, size_t dsi, size_t ssi) {
  for (int o = 0; o < no; o++)
    for (int i = 0; i < ni; i++) d[o * dso + i * dsi] = o < vo && i < vi ? s[o * sso + i * ssi] : 0;
}

/* ap: the m x k matrix a(i, j) = a[i * rs + j * cs] in slivers of MR rows:
 * a(i, j) at ap[(i / MR) * MR * k + j * MR + i % MR], rows past m 0. */
static NOINLINE void pack_a(int m, int k, const real *restrict a, int rs, int cs,
    real *restrict ap) {
  PARALLEL_FOR_IF((long)m * k > 65536)
  for (int i0 = 0; i0 < m; i0 += MR) {
    const int mr = m - i0 < MR ? m - i0 : MR;
    pack_strided(ap + (size_t)i0 * k, a + (size_t)i0 * rs, k, k, MR, (size_t)cs, MR, mr, 1, (size_t)rs);
  }
}

/* bp: the k x n matrix b(i, j) = b[i * rs + j * cs] in panels of NR columns:
 * b(i, j) at bp[(j / NR) * NR * k + i * NR + j % NR], columns past n 0. */
static NOINLINE void pack_b(int k, int n, const real *restrict b, int rs, int cs,
    real *restrict bp) {
  PARALLEL_FOR_IF((long)n * k > 65536)
  for (int j0 = 0; j0 < n; j0 += NR) {
    const int nr = n - j0 < NR ? n - j0 : NR;
    real *d = bp + (size_t)j0 * k;
    if (cs == 1 && nr == NR) { /* rows of b: NR values next to each other */
      for (int i = 0; i < k; i++)
        for (int v = 0; v < NR; v++) d[(size_t)i * NR + v] = b[(size_t)i * rs + j0 + v];
    } else {
      pack_strided(d, b + (size_t)j0 * cs, NR, nr, 1, (size_t)cs, k, k, NR, (size_t)rs);
    }
  }
}

/* c = (bias ? bias[i] : accumulate ? c : 0) + a * b, for the m x n matrix c
 * with rows ldc apart, a packed by pack_a (m x k) and b by pack_b (k x n). The
 * terms go in blocks of KC: a block of a panel of b (KC x NR) stays in the
 * first-level cache while the slivers of a pass by. */
static NOINLINE void gemm(int m, int n, int k, const real *restrict ap, const real *restrict bp,
    real *restrict c, int ldc, const real *restrict bias, int accumulate) {
  for (int k0 = 0; k0 < k; k0 += KC) {
    const int kc = k - k0 < KC ? k - k0 : KC;
    for (int j = 0; j < n; j += NR)
      for (int i = 0; i < m; i += MR)
        tile(m - i < MR ? m - i : MR, n - j < NR ? n - j : NR, kc, ap + (size_t)i * k + (size_t)k0 * MR,
            bp + (size_t)j * k + (size_t)k0 * NR, c + (size_t)i * ldc + j, ldc,
            bias && k0 == 0 ? bias + i : NULL, accumulate || k0 > 0);
  }
}

/* gemm() with c shared between threads in PARTS blocks of whole panels (or
 * slivers, when there are few panels); every value is computed as by gemm(). */
static INLINE void gemm_parallel(int m, int n, int k, const real *ap, const real *bp, real *c, int ldc,
    const real *bias, int accumulate) {
  const int panels = (n + NR - 1) / NR, slivers = (m + MR - 1) / MR;
  const int by_rows = panels < PARTS && slivers > panels;
  PARALLEL_PARTS_IF((double)m * n * k > 1e5)
  for (int p = 0; p < PARTS; p++) {
    if (by_rows) {
      const int i0 = slivers * p / PARTS * MR, i1 = slivers * (p + 1) / PARTS * MR;
      if (i0 < i1) gemm((i1 < m ? i1 : m) - i0, n, k, ap + (size_t)i0 * k, bp, c + (size_t)i0 * ldc, ldc,
          bias ? bias + i0 : NULL, accumulate);
    } else {
      const int j0 = panels * p / PARTS * NR, j1 = panels * (p + 1) / PARTS * NR;
      if (j0 < j1) gemm(m, (j1 < n ? j1 : n) - j0, k, ap, bp + (size_t)j0 * k, c + j0, ldc, bias, accumulate);
    }
  }
}

/* The weight gradients of the parts that had samples of a batch of n, in part
 * order. */
static INLINE int part_gradients(int n, const real *d[PARTS]) {
  int np = 0;
  for (int p = 0; p < PARTS; p++)
    if (PART_BEGIN(n, p) < PART_BEGIN(n, p + 1)) d[np++] = part[p].dw;
  return np;
}

/* Under MPI (docs/distributed.md) each rank computes the parts it owns:
 * every part's gradient (count values) is sent from its owner to all, so
 * that every rank then adds the same parts in the same order as one process
 * does. A copy, no arithmetic: the sum keeps its bits. */
static INLINE void share_part_gradients(int n, long count) {
#ifdef CNNCC_MPI
  for (int p = 0; p < PARTS; p++)
    if (PART_BEGIN(n, p) < PART_BEGIN(n, p + 1)) rt_mpi_share_part(part[p].dw, count, p, PARTS);
#else
  (void)n, (void)count;
#endif
}

/* dw[i] += part[0].dw[i] + part[1].dw[i] + ..., the parts in order */
static INLINE void add_parts(real *restrict dw, int count, int n) {
  share_part_gradients(n, count);
  const real *d[PARTS];
  const int np = part_gradients(n, d);
  PARALLEL_FOR_IF(count > 16384)
  for (int i = 0; i < count; i++) {
    real s = d[0][i];
    for (int q = 1; q < np; q++) s += d[q][i];
    dw[i] += s;
  }
}

/* db[c] += the sum over the batch and the positions of dy[b][c][...] */
#ifdef CNNCC_MPI
/* Under MPI dy is only known for the samples of the rank's parts: each rank
 * sums its samples' positions, the sums of all samples are shared, and the
 * samples are added in order as below: the same operations, the same bits. */
static INLINE void bias_grad(real *restrict db, const real *restrict dy, int channels, int positions, int n) {
  real *s = rt_mpi_scratch((size_t)n * channels * sizeof *s);
  for (int p = 0; p < PARTS; p++)
    if (PART_MINE(p))
      for (int b = PART_BEGIN(n, p); b < PART_BEGIN(n, p + 1); b++)
        for (int c = 0; c < channels; c++)
          s[(size_t)b * channels + c] = sum(dy + ((size_t)b * channels + c) * positions, positions);
  rt_mpi_share_samples(s, channels, n, PARTS);
  for (int c = 0; c < channels; c++)
    for (int b = 0; b < n; b++) db[c] += s[(size_t)b * channels + c];
}
#else
static INLINE void bias_grad(real *restrict db, const real *restrict dy, int channels, int positions, int n) {
  PARALLEL_FOR_IF(channels > 1 && (long)n * channels * positions > 32768)
  for (int c = 0; c < channels; c++)
    for (int b = 0; b < n; b++) db[c] += sum(dy + ((size_t)b * channels + c) * positions, positions);
}
#endif
