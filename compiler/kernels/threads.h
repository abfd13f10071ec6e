/* ---- threads and SIMD ----
 * Compiled with OpenMP (-fopenmp; cnncc -o PROGRAM does that when the
 * compiler has it), PARALLEL_FOR_IF shares a loop's iterations between threads;
 * without OpenMP the code is serial. Work over the batch is split into PARTS
 * fixed parts whatever the number of threads, and sums over the batch add
 * the parts' partial sums in part order: the results are the same, bit for
 * bit, with any number of threads. */
#ifdef _OPENMP
#include <omp.h>
#define OMP(x) _Pragma(#x)
#define PARALLEL_FOR_IF(c) OMP(omp parallel for schedule(static) if (c))
/* the parts of a batch go to whichever thread is free (the same results) */
#define PARALLEL_PARTS_IF(c) OMP(omp parallel for schedule(dynamic, 1) if (c))
#else
#define PARALLEL_FOR_IF(c)
#define PARALLEL_PARTS_IF(c)
#endif
/* Does this process compute part p of the batch? Under MPI, a rank computes
 * only its own parts (docs/distributed.md); else all. */
#ifdef CNNCC_MPI
#define PART_MINE(p) rt_mpi_part_mine(p, PARTS)
#else
#define PART_MINE(p) 1
#endif
/* the first sample of part p of a batch of n */
#define PART_BEGIN(n, p) ((n) * (p) / PARTS)

#if defined(__GNUC__)
/* helpers a network may not use: INLINE small ones, NOINLINE big ones */
#define ALWAYS_INLINE inline __attribute__((always_inline, unused))
#define INLINE inline __attribute__((unused))
#define NOINLINE __attribute__((noinline, unused))
#else
#define ALWAYS_INLINE inline
#define INLINE inline
#define NOINLINE
#endif
