/* tap.h - minimal TAP output for the C tests. */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H
#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

static void tap_plan(int n) { printf("1..%d\n", n); }

static int tap_ok(int cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!cond) tap_failed++;
  return cond;
}

static int tap_done(void) { return tap_failed ? 1 : 0; }
#endif
