/* mpi.c - libcnnrt_mpi only: the trainer of `cnncc --mpi` under mpirun
 * (docs/distributed.md). MPI starts and ends here, the ranks agree on what
 * they run before any step, and the exchanges the generated code calls
 * (rt_mpi_share_*) copy values between ranks, never add them: the sums
 * stay those of one process, in its order. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cnnrt.h"
#include "internal.h"

static int rank, ranks = 1;
/* set when a failure status is every rank's (rt_mpi_all_fail) */
static int failed_together;
/* bytes this rank received in the exchanges (bench reports them a step) */
static double bytes_in;

/* A failed exchange cannot be recovered from: the ranks would wait on each
 * other for ever, so the whole job stops with a message. */
static void check(int rc, const char *what)
{
  if (rc == MPI_SUCCESS)
    return;
  fprintf(stderr, "cnnrt: rank %d: %s failed (MPI error %d); stopping the job\n", rank, what, rc);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

void rt_mpi_init(int *argc, char ***argv)
{
  check(MPI_Init(argc, argv), "MPI_Init");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  /* rank 0 alone prints results (stdout); messages stay on stderr */
  if (rank != 0 && !freopen("/dev/null", "w", stdout))
    fprintf(stderr, "cnnrt: rank %d: cannot silence standard output\n", rank);
}

int rt_mpi_finish(int status)
{
  if (status != 0 && !failed_together && ranks > 1) {
    fprintf(stderr, "cnnrt: rank %d of %d stopped alone (exit status %d); stopping the job\n",
            rank, ranks, status);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  MPI_Finalize();
  return status;
}

void rt_mpi_all_fail(void)
{
  failed_together = 1;
}

int rt_is_root(void)
{
  return rank == 0;
}

/* The options that decide each step's update: ranks that differ in one
 * would apply the same averaged gradients differently and drift apart
 * without a word. Compared as bits (or a hash of the text), named in the
 * message. */
enum { RECIPE_LR, RECIPE_CLIP, RECIPE_EPOCHS, RECIPE_OPTIMIZER, RECIPE_SCHEDULE, RECIPE_AUGMENT, NRECIPE };
static const char *const recipe_option[NRECIPE] = {"--lr", "--clip", "--epochs", "--optimizer",
                                                   "--schedule", "--augment"};

/* What every rank must have the same of; compared before the command. */
typedef struct {
  int64_t status; /* -1: the arguments are fine, else this rank's exit status */
  uint64_t arch_hash, seed;
  int64_t batch, command;
  double val; /* --val: the ranks must train on the same samples */
  uint64_t recipe[NRECIPE];
} Agreement;

/* FNV-1a of a text (NULL: not given). */
static uint64_t text_hash(const char *s)
{
  uint64_t h = 14695981039346656037u;
  for (; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return s ? h : 0;
}

static uint64_t double_bits(double d)
{
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static void fill_recipe(uint64_t *recipe, const RtArgs *a)
{
  recipe[RECIPE_LR] = double_bits(a->lr);
  recipe[RECIPE_CLIP] = double_bits(a->clip);
  recipe[RECIPE_EPOCHS] = (uint64_t)a->epochs;
  recipe[RECIPE_OPTIMIZER] = text_hash(a->optimizer);
  recipe[RECIPE_SCHEDULE] = text_hash(a->schedule);
  recipe[RECIPE_AUGMENT] = text_hash(a->augment);
}

/* The first option of the recipe in which o differs from mine, or NULL. */
static const char *recipe_difference(const Agreement *o, const Agreement *mine)
{
  for (int k = 0; k < NRECIPE; k++)
    if (o->recipe[k] != mine->recipe[k])
      return recipe_option[k];
  return NULL;
}

int rt_mpi_agree(const RtCtx *c, int status, const RtArgs *a, int command)
{
  Agreement mine = {status, c->net->arch_hash, a->seed, a->batch, command, a->val, {0}};
  fill_recipe(mine.recipe, a);
  Agreement *all = calloc((size_t)ranks, sizeof *all);
  if (!all)
    MPI_Abort(MPI_COMM_WORLD, 1);
  check(MPI_Allgather(&mine, sizeof mine, MPI_BYTE, all, sizeof mine, MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgather of the arguments");
  int rc = status;
  for (int r = 0; r < ranks && rc < 0; r++) {
    const Agreement *o = &all[r];
    if (o->status >= 0)
      rc = rank == 0 ? rt_error(c, (int)o->status, "rank %d stopped (exit status %d); so do all", r, (int)o->status)
                     : (int)o->status;
    else if (o->arch_hash != mine.arch_hash || o->command != mine.command)
      rc = rank == 0 ? rt_error(c, RT_EXIT_USAGE, "rank %d runs another network or command (architecture hash %016llx, here %016llx): all ranks must run the same program and command",
                                r, (unsigned long long)o->arch_hash, (unsigned long long)mine.arch_hash)
                     : RT_EXIT_USAGE;
    else if (o->batch != mine.batch || o->seed != mine.seed)
      rc = rank == 0 ? rt_error(c, RT_EXIT_USAGE, "rank %d has --batch %lld --seed %llu, rank 0 --batch %lld --seed %llu: all ranks must have the same",
                                r, (long long)o->batch, (unsigned long long)o->seed, (long long)mine.batch, (unsigned long long)mine.seed)
                     : RT_EXIT_USAGE;
    else if (o->val != mine.val)
      rc = rank == 0 ? rt_error(c, RT_EXIT_USAGE, "rank %d has --val %g, rank 0 --val %g: all ranks must have the same",
                                r, o->val, mine.val)
                     : RT_EXIT_USAGE;
    else if (recipe_difference(o, &mine))
      rc = rank == 0 ? rt_error(c, RT_EXIT_USAGE, "rank %d has another %s than rank 0: all ranks must train with the same",
                                r, recipe_difference(o, &mine))
                     : RT_EXIT_USAGE;
  }
  free(all);
  if (rc >= 0)
    rt_mpi_all_fail();
  return rc;
}

/* The first part of rank r. */
static int first_part(int r, int parts)
{
  return (int)((long)r * parts / ranks);
}

int rt_mpi_part_mine(int p, int parts)
{
  return p >= first_part(rank, parts) && p < first_part(rank + 1, parts);
}

/* The first sample of part p of n (PART_BEGIN of the generated code). */
static long part_begin(int n, int p, int parts)
{
  return (long)n * p / parts;
}

static int owner(int p, int parts)
{
  int r = 0;
  while (r + 1 < ranks && first_part(r + 1, parts) <= p)
    r++;
  return r;
}

void rt_mpi_share_samples(float *buf, long per_sample, int n, int parts)
{
  if (ranks == 1)
    return;
  int *counts = rt_mpi_scratch_counts(2 * (size_t)ranks);
  int *displs = counts + ranks;
  for (int r = 0; r < ranks; r++) {
    long b0 = part_begin(n, first_part(r, parts), parts), b1 = part_begin(n, first_part(r + 1, parts), parts);
    if ((double)b1 * per_sample > INT_MAX) {
      fprintf(stderr, "cnnrt: an activation of %ld values per sample is too large to share with MPI\n", per_sample);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    counts[r] = (int)((b1 - b0) * per_sample);
    displs[r] = (int)(b0 * per_sample);
  }
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_FLOAT, MPI_COMM_WORLD),
        "MPI_Allgatherv of samples");
  for (int r = 0; r < ranks; r++)
    if (r != rank)
      bytes_in += (double)counts[r] * sizeof *buf;
}

void rt_mpi_share_part(float *buf, long count, int p, int parts)
{
  if (ranks == 1)
    return;
  for (long done = 0; done < count; done += INT_MAX / 2) {
    long k = count - done < INT_MAX / 2 ? count - done : INT_MAX / 2;
    check(MPI_Bcast(buf + done, (int)k, MPI_FLOAT, owner(p, parts), MPI_COMM_WORLD), "MPI_Bcast of a part");
  }
  if (owner(p, parts) != rank)
    bytes_in += (double)count * sizeof *buf;
}

double rt_mpi_bytes_received(void)
{
  return bytes_in;
}

double rt_mpi_max(double x)
{
  double max = x;
  check(MPI_Allreduce(&x, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce of a maximum");
  return max;
}

int rt_mpi_ranks(void)
{
  return ranks;
}

/* Grows *mem to size bytes; exits the job when memory is out. */
static void *grow(void **mem, size_t *cap, size_t size)
{
  if (size <= *cap)
    return *mem;
  void *m = realloc(*mem, size);
  if (!m) {
    fprintf(stderr, "cnnrt: rank %d: out of memory (%zu bytes of MPI scratch)\n", rank, size);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  *cap = size;
  return *mem = m;
}

void *rt_mpi_scratch(size_t size)
{
  static void *mem;
  static size_t cap;
  return grow(&mem, &cap, size);
}

int *rt_mpi_scratch_counts(size_t count)
{
  static void *mem;
  static size_t cap;
  return grow(&mem, &cap, count * sizeof(int));
}
