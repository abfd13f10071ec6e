/* main.c - rt_main(): the command line of a generated trainer.
 * Commands: train, eval, predict, bench (docs/runtime.md). Exit status:
 * 0 success, 1 failure, 2 usage error, 128+signal when interrupted.
 * The options and texts are in cli.c, the commands in train.c and
 * commands.c, the state they share in run.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "internal.h"

/* Set by the generated program when it is built with OpenMP; weak so that
 * programs without OpenMP link too. */
extern void omp_set_num_threads(int) __attribute__((weak));

/* Options that set up the process, before the command runs. */
static void apply_run_options(const RtCtx *c, const RtArgs *a)
{
  if ((a->given & RT_BIT(RT_O_THREADS)) && omp_set_num_threads)
    omp_set_num_threads(a->threads);
  else if (a->given & RT_BIT(RT_O_THREADS))
    rt_error(c, 0, "warning: --threads ignored: this program was built without OpenMP");
  /* The generated code reads it when the network is set up. */
  if (a->profile)
    setenv("CNNCC_PROFILE", "1", 1);
}

/* Parse cmd's arguments (argv after the command name), check them, set up
 * the process and run cmd. Returns the exit status. */
static int run_command(const RtCtx *c, const RtCommand *cmd, int argc, char **argv)
{
  RtArgs a = rt_default_args(&c->net->defaults);
  /* At most argc operands; + 1 since calloc(0) may return NULL. */
  char **files = calloc((size_t)argc + 1, sizeof *files);
  int nfiles = 0, rc = files ? rt_parse_args(c, cmd, argc, argv, &a, &nfiles, files)
                         : rt_error(c, 1, "out of memory");
  if (rc < 0)
    rc = rt_check_required(c, cmd, &a, nfiles);
#ifdef CNNCC_MPI
  /* every rank gets here, whatever its arguments: a rank that stopped
   * alone would leave the others waiting in the first exchange */
  unsigned command = 0;
  for (const char *s = cmd->name; *s; s++)
    command = command * 31 + (unsigned char)*s;
  rc = rt_mpi_agree(c, rc, &a, (int)command);
#endif
  if (rc < 0)
    apply_run_options(c, &a);
  if (rc < 0) {
    RtRun r = {.c = c, .net = c->net};
    rc = cmd->run(&r, &a, nfiles, files);
    rt_run_free(&r);
  }
  free(files);
  return rc;
}

static int main_command(int argc, char **argv, const RtNet *net)
{
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  RtCtx c = {argc > 0 ? (slash ? slash + 1 : argv[0]) : net->name, net};
  if (argc < 2) {
    rt_print_program_help(&c, stderr);
    return RT_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    rt_print_full_help(&c);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
    rt_print_version(&c);
    return 0;
  }
  const RtCommand *cmd = rt_find_command(argv[1]);
  if (!cmd)
    return rt_error(&c, RT_EXIT_USAGE, "unknown command '%s'; run '%s --help'", argv[1],
                    c.prog);
  return run_command(&c, cmd, argc - 2, argv + 2);
}

int rt_main(int argc, char **argv, const RtNet *net)
{
#ifdef CNNCC_MPI
  rt_mpi_init(&argc, &argv);
  return rt_mpi_finish(main_command(argc, argv, net));
#else
  return main_command(argc, argv, net);
#endif
}
