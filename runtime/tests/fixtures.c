/* fixtures.c - temporary files for the runtime tests. */
#define _XOPEN_SOURCE 700
#include "fixtures.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char dir[256];

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

void fixtures_cleanup(void)
{
  if (*dir)
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tmp_dir(void)
{
  if (!*dir) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cnnrt-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
      perror(dir);
      exit(99); /* a hard error for the test driver */
    }
  }
  return dir;
}

const char *tmp_path(const char *name)
{
  static char paths[4][512];
  static int next;
  char *p = paths[next++ % 4];
  snprintf(p, sizeof paths[0], "%s/%s", tmp_dir(), name);
  return p;
}

int write_file(const char *path, const void *data, size_t n, int gz)
{
  gzFile f = gzopen(path, gz ? "wb9" : "wbT"); /* T: plain, no gzip */
  if (!f)
    return -1;
  int wrote = n ? gzwrite(f, data, (unsigned)n) : 0;
  return (gzclose(f) != Z_OK || wrote != (int)n) ? -1 : 0;
}
