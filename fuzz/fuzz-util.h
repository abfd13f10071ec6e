/* fuzz-util.h - helpers shared by the fuzz harnesses (header only, so each
 * harness is one translation unit plus the code under test).
 *
 * Files: every harness that needs files writes them into one temporary
 * directory per process, $TMPDIR/cnncc-fuzz-XXXXXX, created on first use,
 * emptied after every input and removed at exit. A crash (abort) leaves it
 * behind; fuzz/run.sh points TMPDIR at its own work directory for that. */
#ifndef CNNCC_FUZZ_UTIL_H
#define CNNCC_FUZZ_UTIL_H

#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large allocations that fail are a normal outcome for the code under test
 * (it reports "out of memory"); let malloc return NULL instead of aborting.
 * Only read when the harness is built with AddressSanitizer. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
  return "allocator_may_return_null=1";
}

static char fz_dir[4096];

/* Remove everything in dir (one level of subdirectories is enough here). */
static inline void fz_empty(const char *dir, int rmself)
{
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char *path = malloc(strlen(dir) + strlen(e->d_name) + 2);
      if (!path)
        abort();
      sprintf(path, "%s/%s", dir, e->d_name);
      if (unlink(path) != 0)
        fz_empty(path, 1);
      free(path);
    }
    closedir(d);
  }
  if (rmself)
    rmdir(dir);
}

static inline void fz_cleanup(void)
{
  if (fz_dir[0])
    fz_empty(fz_dir, 1);
}

/* The per-process temporary directory. */
static inline const char *fz_tmpdir(void)
{
  if (!fz_dir[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(fz_dir, sizeof fz_dir, "%s/cnncc-fuzz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(fz_dir)) {
      perror("fuzz: mkdtemp");
      abort();
    }
    atexit(fz_cleanup);
  }
  return fz_dir;
}

/* dir/name into buf (a harness bug if it does not fit). */
static inline const char *fz_path(char *buf, size_t len, const char *dir, const char *name)
{
  if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
    abort();
  return buf;
}

/* Write data to path, gzip-compressed if gz; aborts on failure (the
 * harness's own fault, not a finding in the code under test). */
static inline void fz_write(const char *path, const uint8_t *data, size_t size, int gz)
{
  if (gz) {
    gzFile f = gzopen(path, "wb");
    if (!f || (size && gzwrite(f, data, (unsigned)size) != (int)size) || gzclose(f) != Z_OK) {
      fprintf(stderr, "fuzz: cannot write %s\n", path);
      abort();
    }
    return;
  }
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
    fprintf(stderr, "fuzz: cannot write %s\n", path);
    abort();
  }
}

/* A little-endian u16 length prefix: takes min(prefix, what is left). */
static inline size_t fz_take_len(const uint8_t **p, size_t *left)
{
  size_t n = 0;
  if (*left >= 2) {
    n = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
    *p += 2;
    *left -= 2;
  } else {
    *p += *left;
    *left = 0;
  }
  return n < *left ? n : *left;
}

/* Abort with a message: an invariant of the code under test was broken. */
#define FZ_CHECK(cond)                                                        \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

#endif
