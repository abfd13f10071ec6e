/* Sums in eight independent lanes, which compilers vectorize without
 * reordering floating-point additions themselves. */
static INLINE real sum(const real *restrict a, int n) {
  real lane[8] = {0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) lane[j] += a[i + j];
  for (; i < n; i++) lane[0] += a[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}
