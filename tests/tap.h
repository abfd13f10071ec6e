/* tap.h - TAP (Test Anything Protocol) output for every C test program,
 * read by Automake's tap-driver.sh. Header-only, so that the test drivers
 * that scripts compile together with generated code can use it too.
 *
 *   tap_plan(n)             the plan first, when the count is known;
 *   tap_ok(cond, fmt, ...)  one test point; returns cond;
 *   tap_is_str(got, want, name)  a point that shows both strings on failure;
 *   return tap_done();      prints the plan last if none was printed, and
 *                           gives main()'s exit status. */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define TAP_UNUSED __attribute__((unused))
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TAP_UNUSED
#define TAP_PRINTF(f, a)
#endif

static int tap_count, tap_failed, tap_planned;

TAP_UNUSED static void tap_plan(int n) {
  printf("1..%d\n", n);
  tap_planned = 1;
}

TAP_UNUSED TAP_PRINTF(2, 3) static int tap_ok(int cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  /* a crash later must not lose the points already made */
  fflush(stdout);
  if (!cond) tap_failed++;
  return cond;
}

TAP_UNUSED static int tap_is_str(const char *got, const char *want, const char *name) {
  if (tap_ok(got && strcmp(got, want) == 0, "%s", name)) return 1;
  printf("#      got: %s\n# expected: %s\n", got ? got : "(null)", want);
  return 0;
}

TAP_UNUSED static int tap_done(void) {
  if (!tap_planned) printf("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}
#endif
