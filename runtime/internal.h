/* internal.h - helpers shared by the runtime's sources; not installed. */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

/* Format a message into err[errlen] and return -1, so that failures read
 * `return rt_fail(err, errlen, "...", ...);`. */
int rt_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A shape as "60000x28x28" (sep "x") or "1, 28, 28" (sep ", "); "1" for
 * rank 0. */
void rt_shape_str(char *buf, size_t len, int rank, const int *dim,
                  const char *sep);

/* Monotonic time in seconds. */
double rt_now(void);

/* Progress of a training run: a live line redrawn with \r on a terminal,
 * plain lines now and then otherwise. */
typedef struct {
  FILE *out;
  int tty;
  long epochs, steps;   /* total epochs, steps per epoch */
  long first;           /* global step index this process started at */
  double start, last;   /* when it started, when a line was last drawn */
  int live;             /* a live line is on screen */
} RtProgress;

void rt_progress_init(RtProgress *p, FILE *out, long epochs, long steps,
                      long first);
/* Report that `step` steps of epoch `epoch` (0-based) are done. */
void rt_progress_update(RtProgress *p, long epoch, long step, double loss,
                        double acc, double images_per_s);
/* Erase the live line before normal output. */
void rt_progress_clear(RtProgress *p);

#endif
