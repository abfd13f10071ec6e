/* build.c - `cnncc -o FILE`: write the generated C, and for a program also
 * compile it with the generated-code compiler (CNNCC_CC, clang by default;
 * the environment variable CNNCC_CC overrides it) and link it with libcnnrt.
 *
 * The target chooses the instruction set the program is compiled for
 * (-march=native, -mavx2 -mfma, -mavx512f ...; the generated file picks its
 * micro-kernel from what the compiler targets). The program uses OpenMP
 * threads when the compiler links an -fopenmp program (probed once per
 * build; CNNCC_OPENMP=0 in the environment turns it off).
 *
 * libcnnrt is looked for first in the build tree, next to the cnncc
 * executable itself (<dir>/runtime/libcnnrt.a, with cnnrt.h there or in the
 * source tree), then where `make install` put it: <dir>/../lib and
 * <dir>/../include, which is right whatever prefix `make install prefix=...`
 * was given, then the configured CNNCC_INCLUDEDIR and CNNCC_LIBDIR.
 *
 * A cnncc configured with --enable-sanitizers (config.h's
 * CNNCC_SANITIZE_FLAGS is then not empty) compiles and links programs with
 * the same sanitizer flags: its libcnnrt is built with them, so the
 * programs must link the sanitizer runtimes too (docs/robustness.md). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "cnncc.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Writes path.c's generated code and its header; removes both on failure. */
static int write_pair(const CnnNet *net, const char *c_path, const char *h_path,
                      const CnnEmitOptions *opt) {
  FILE *c = fopen(c_path, "w");
  if (!c) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", c_path, strerror(errno));
    return 1;
  }
  FILE *h = fopen(h_path, "w");
  if (!h) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", h_path, strerror(errno));
    fclose(c);
    remove(c_path);
    return 1;
  }
  CnnEmitOptions o = *opt;
  o.header_name = base_name(h_path);
  int rc = cnn_emit_c(c, h, net, &o);
  int e1 = fclose(c), e2 = fclose(h);
  if (rc == 0 && (e1 || e2)) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", e1 ? c_path : h_path, strerror(errno));
    rc = -1;
  }
  if (rc) {
    remove(c_path);
    remove(h_path);
    return 1;
  }
  return 0;
}

/* Are cnnrt.h in incdir and libcnnrt.a in libdir? Then inc and lib name them. */
static bool installed_in(const char *incdir, const char *libdir, char *inc, char *lib,
                         size_t size) {
  char hdr[PATH_MAX + 64], path[PATH_MAX + 64];
  snprintf(hdr, sizeof hdr, "%s/cnnrt.h", incdir);
  snprintf(path, sizeof path, "%s/libcnnrt.a", libdir);
  if (!exists(path) || !exists(hdr)) return false;
  return snprintf(inc, size, "%s", incdir) < (int)size &&
         snprintf(lib, size, "%s", libdir) < (int)size;
}

/* Where cnnrt.h and libcnnrt.a are; false with a message if nowhere. */
static bool find_runtime(char *inc, char *lib, size_t size) {
  char exe[PATH_MAX], path[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(path, sizeof path, "%s/runtime/libcnnrt.a", exe);
    if (exists(path)) { /* running from the build tree */
      if (snprintf(lib, size, "%s/runtime", exe) >= (int)size) return false;
      snprintf(path, sizeof path, "%s/runtime/cnnrt.h", exe);
      if (exists(path)) return snprintf(inc, size, "%s/runtime", exe) < (int)size;
      return snprintf(inc, size, "%s/runtime", CNNCC_ABS_SRCDIR) < (int)size;
    }
    /* installed with `make install prefix=DIR`: the prefix cnncc was
     * configured with (CNNCC_LIBDIR) is not DIR, but bin/ is next to lib/ */
    char incdir[PATH_MAX + 64], libdir[PATH_MAX + 64];
    snprintf(incdir, sizeof incdir, "%s/../include", exe);
    snprintf(libdir, sizeof libdir, "%s/../lib", exe);
    if (installed_in(incdir, libdir, inc, lib, size)) return true;
  }
  if (installed_in(CNNCC_INCLUDEDIR, CNNCC_LIBDIR, inc, lib, size)) return true;
  fprintf(stderr, "cnncc: cannot find the runtime library libcnnrt.a (looked next to cnncc in\n"
                  "runtime/ and ../lib, and in %s); build it with 'make' or install cnncc\n",
          CNNCC_LIBDIR);
  return false;
}

/* Runs argv; returns its exit status, or -1 with a message (unless quiet:
 * then its output and messages go to /dev/null). */
static int run_quiet(char **argv, bool quiet) {
  /* else the child inherits what stdout holds (e.g. --summary's table when
   * it is a pipe) and prints it again when it exits or reopens stdout */
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "cnncc: cannot start %s: %s\n", argv[0], strerror(errno));
    return -1;
  }
  if (pid == 0) {
    if (quiet) {
      if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "cnncc: cannot run the C compiler '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      fprintf(stderr, "cnncc: waiting for %s: %s\n", argv[0], strerror(errno));
      return -1;
    }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (!quiet)
    fprintf(stderr, "cnncc: the C compiler '%s' was killed by signal %d\n", argv[0],
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return -1;
}

static int run(char **argv) { return run_quiet(argv, false); }

/* The sanitizer flags (CNNCC_SANITIZE_FLAGS) as words, appended to argv:
 * at most max of them; returns how many. buf holds the words. */
#define SANITIZE_MAX 16
static int sanitize_flags(char **argv, int max, char *buf, size_t size) {
  if (snprintf(buf, size, "%s", CNNCC_SANITIZE_FLAGS) >= (int)size) return 0;
  int n = 0;
  for (char *p = strtok(buf, " \t"); p && n < max; p = strtok(NULL, " \t")) argv[n++] = p;
  return n;
}

/* Does cc compile and link an OpenMP program (-fopenmp)? The probe is a
 * file in dir. CNNCC_OPENMP=0 (or "no") says no without asking. */
static bool have_openmp(const char *cc, const char *dir) {
  const char *env = getenv("CNNCC_OPENMP");
  if (env && (!strcmp(env, "0") || !strcmp(env, "no"))) return false;
  char src[PATH_MAX + 64], exe[PATH_MAX + 64];
  snprintf(src, sizeof src, "%s/openmp-probe.c", dir);
  snprintf(exe, sizeof exe, "%s/openmp-probe", dir);
  FILE *f = fopen(src, "w");
  if (!f) return false;
  fputs("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n", f);
  if (fclose(f)) {
    remove(src);
    return false;
  }
  /* with the sanitizer flags the program is built with, if any */
  char *argv[8 + SANITIZE_MAX] = {(char *)cc, "-fopenmp"};
  char words[256];
  int argc = 2 + sanitize_flags(argv + 2, SANITIZE_MAX, words, sizeof words);
  argv[argc++] = "-o";
  argv[argc++] = exe;
  argv[argc++] = src;
  argv[argc] = NULL;
  bool ok = run_quiet(argv, true) == 0;
  remove(src);
  remove(exe);
  return ok;
}

/* The compiler flags of a target. */
static int target_flags(CnnTarget t, char **argv) {
  int n = 0;
  switch (t) {
  case CNN_TARGET_GENERIC: break;
  case CNN_TARGET_NATIVE: argv[n++] = "-march=native"; break;
  case CNN_TARGET_AVX2:
    argv[n++] = "-mavx2";
    argv[n++] = "-mfma";
    break;
  case CNN_TARGET_AVX512:
    argv[n++] = "-mavx512f";
    argv[n++] = "-mavx512vl";
    argv[n++] = "-mavx512dq";
    argv[n++] = "-mavx512bw";
    argv[n++] = "-mavx2";
    argv[n++] = "-mfma";
    break;
  }
  return n;
}

/* The C compiler for programs: $CNNCC_CC, else configure's CNNCC_CC. */
static const char *program_compiler(void) {
  const char *cc = getenv("CNNCC_CC");
  return cc && *cc ? cc : CNNCC_CC;
}

/* A new temporary directory in $TMPDIR (or /tmp) into dir; false with a
 * message if it cannot be made. */
static bool make_temp_dir(char *dir, size_t size) {
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  snprintf(dir, size, "%s/cnncc-XXXXXX", tmp);
  if (mkdtemp(dir)) return true;
  fprintf(stderr, "cnncc: cannot create a temporary directory in %s: %s\n", tmp, strerror(errno));
  return false;
}

/* The compiler and options a program is compiled with, into argv (the
 * files and paths come after them); returns how many. words holds the
 * sanitizer flags; probe_dir is where the OpenMP probe is built. */
static int compile_options(char **argv, const char *cc, CnnTarget target, const char *probe_dir,
                           char *words, size_t size) {
  int argc = 0;
  argv[argc++] = (char *)cc;
  argv[argc++] = "-std=c99";
  argv[argc++] = "-O3";
  argc += target_flags(target, argv + argc);
  argc += sanitize_flags(argv + argc, SANITIZE_MAX, words, size);
  if (have_openmp(cc, probe_dir)) argv[argc++] = "-fopenmp";
  return argc;
}

/* The most compile_options() gives, with room for the files and paths. */
#define COMPILE_ARGV_MAX (32 + SANITIZE_MAX + 3 * MPI_WORDS_MAX)

/* The words of text (flags configure found: MPI's, the image libraries) appended to argv, at most
 * MPI_WORDS_MAX; buf holds them. Returns how many. */
#define MPI_WORDS_MAX 24
static int config_words(char **argv, const char *text, char *buf, size_t size) {
  if (snprintf(buf, size, "%s", text) >= (int)size) return 0;
  int n = 0;
  for (char *p = strtok(buf, " \t"); p && n < MPI_WORDS_MAX; p = strtok(NULL, " \t")) argv[n++] = p;
  return n;
}

/* --mpi needs MPI found by configure and libcnnrt_mpi.a next to libcnnrt.a. */
static bool mpi_available(const char *lib) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/libcnnrt_mpi.a", lib);
  if (CNNCC_HAVE_MPI && exists(path)) return true;
  fprintf(stderr, "cnncc: --mpi needs MPI, and %s; install it (e.g. apt-get install openmpi-bin "
                  "libopenmpi-dev), then configure and build cnncc again\n",
          CNNCC_HAVE_MPI ? "the runtime library libcnnrt_mpi.a is missing" : "cnncc was configured without it");
  return false;
}

static int build_program(const CnnNet *net, const char *out_path, const CnnEmitOptions *opt) {
  char inc[PATH_MAX], lib[PATH_MAX];
  if (!find_runtime(inc, lib, sizeof inc)) return 1;
  if (opt->mpi && !mpi_available(lib)) return 1;
  char dir[PATH_MAX];
  if (!make_temp_dir(dir, sizeof dir)) return 1;
  char c_path[PATH_MAX + 64], h_path[PATH_MAX + 64];
  snprintf(c_path, sizeof c_path, "%s/%s.c", dir, net->name);
  snprintf(h_path, sizeof h_path, "%s/%s.h", dir, net->name);
  int status = write_pair(net, c_path, h_path, opt);
  if (status == 0) {
    const char *cc = program_compiler();
    char inc_flag[PATH_MAX + 8], lib_flag[PATH_MAX + 8];
    snprintf(inc_flag, sizeof inc_flag, "-I%s", inc);
    snprintf(lib_flag, sizeof lib_flag, "-L%s", lib);
    char *argv[COMPILE_ARGV_MAX], words[256], mpi_cflags[1024], mpi_libs[1024], image_libs[256];
    int argc = compile_options(argv, cc, opt->target, dir, words, sizeof words);
    if (opt->mpi) argc += config_words(argv + argc, CNNCC_MPI_CFLAGS, mpi_cflags, sizeof mpi_cflags);
    argv[argc++] = inc_flag;
    argv[argc++] = "-o";
    argv[argc++] = (char *)out_path;
    argv[argc++] = c_path;
    argv[argc++] = lib_flag;
    argv[argc++] = opt->mpi ? "-lcnnrt_mpi" : "-lcnnrt";
    if (opt->mpi) argc += config_words(argv + argc, CNNCC_MPI_LIBS, mpi_libs, sizeof mpi_libs);
    /* libcnnrt's PNG/JPEG decoders and their libraries (configure.ac) */
    argc += config_words(argv + argc, CNNCC_IMAGE_LIBS, image_libs, sizeof image_libs);
    argv[argc++] = "-lz";
    argv[argc++] = "-lm";
    argv[argc] = NULL;
    if (getenv("CNNCC_VERBOSE")) {
      for (int i = 0; i < argc; i++) fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
      fputc('\n', stderr);
    }
    int rc = run(argv);
    if (rc != 0) {
      if (rc > 0 && rc != 127)
        fprintf(stderr, "cnncc: the C compiler '%s' failed (exit status %d) on the code generated "
                        "for '%s'\n", cc, rc, net->name);
      status = 1;
    }
  }
  remove(c_path);
  remove(h_path);
  rmdir(dir);
  return status;
}

void cnn_print_program_compiler(FILE *out) {
  char dir[PATH_MAX], *argv[COMPILE_ARGV_MAX], words[256];
  bool probed = make_temp_dir(dir, sizeof dir); /* else no -fopenmp: the probe needs a file */
  int argc = compile_options(argv, program_compiler(), CNN_TARGET_NATIVE,
                             probed ? dir : "/nonexistent", words, sizeof words);
  if (probed) rmdir(dir);
  fputs("Trainers (cnncc -o PROGRAM) are compiled with:", out);
  for (int i = 0; i < argc; i++) fprintf(out, " %s", argv[i]);
  fputc('\n', out);
}

int cnn_write_output(const CnnNet *net, const char *out_path, const CnnEmitOptions *opt) {
  if (!ends_with(out_path, ".c") && opt->dtype == CNN_DTYPE_DOUBLE) {
    /* said before the linker could complain about a missing main() */
    fprintf(stderr, "cnncc: --dtype=double writes C for gradient checks, not a trainer: give -o FILE.c\n");
    return 2;
  }
  if (!ends_with(out_path, ".c")) return build_program(net, out_path, opt);
  size_t n = strlen(out_path);
  char *h_path = malloc(n + 1);
  if (!h_path) {
    fprintf(stderr, "cnncc: out of memory\n");
    return 1;
  }
  memcpy(h_path, out_path, n + 1);
  h_path[n - 1] = 'h';
  int status = write_pair(net, out_path, h_path, opt);
  free(h_path);
  return status;
}
