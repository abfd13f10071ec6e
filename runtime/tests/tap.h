/* tap.h - helpers shared by the runtime's test programs, which print TAP
 * (Test Anything Protocol) for Automake's tap-driver.sh. */
#ifndef RT_TAP_H
#define RT_TAP_H

#include <stddef.h>

/* One test point; returns cond. */
int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Test that got equals want, showing both when not. */
int is_str(const char *got, const char *want, const char *name);
/* Print the plan; the exit status for main(). */
int done_testing(void);

/* A fresh directory under $TMPDIR or /tmp, removed by done_testing(). */
const char *tmp_dir(void);
/* tmp_dir()/name in a static buffer (one of a few rotating ones). */
const char *tmp_path(const char *name);
/* Write n bytes to path, gzip-compressed when gz is set; 0 on success. */
int write_file(const char *path, const void *data, size_t n, int gz);

#endif
