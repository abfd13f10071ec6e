/* fixtures.h - temporary files for the runtime's test programs (which
 * print TAP through tests/tap.h). */
#ifndef RT_FIXTURES_H
#define RT_FIXTURES_H

#include <stddef.h>

/* A fresh directory under $TMPDIR or /tmp, removed by fixtures_cleanup(). */
const char *tmp_dir(void);
/* tmp_dir()/name in a static buffer (one of a few rotating ones). */
const char *tmp_path(const char *name);
/* Write n bytes to path, gzip-compressed when gz is set; 0 on success. */
int write_file(const char *path, const void *data, size_t n, int gz);
/* Remove tmp_dir() and what it holds, if it was made. */
void fixtures_cleanup(void);

#endif
