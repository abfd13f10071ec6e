/* util.c - small helpers shared by the runtime. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdarg.h>
#include <time.h>

#include "cnnrt.h"

int rt_fail(char *err, size_t errlen, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

double rt_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t rt_shape_size(int rank, const int *dim)
{
  size_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= (size_t)dim[i];
  return n;
}

void rt_shape_str(char *buf, size_t len, int rank, const int *dim,
                  const char *sep)
{
  size_t used = (size_t)snprintf(buf, len, "%d", rank ? dim[0] : 1);
  for (int i = 1; i < rank && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%d", sep, dim[i]);
}

FILE *rt_info(void)
{
  static FILE *nowhere;
  if (rt_is_root())
    return stderr;
  if (!nowhere)
    nowhere = fopen("/dev/null", "w");
  return nowhere ? nowhere : stderr;
}
