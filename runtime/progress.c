/* progress.c - the progress line of a training run. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "internal.h"

#define TTY_INTERVAL 0.1    /* redraw a terminal line at most 10 times/s */
#define PLAIN_INTERVAL 30.0 /* seconds between lines in a log file */

void rt_progress_init(RtProgress *p, FILE *out, long epochs, long steps,
                      long first)
{
  *p = (RtProgress){out, isatty(fileno(out)), epochs, steps, first,
                    rt_now(), rt_now(), 0};
}

/* "1:02:03" or "2:03". */
static void duration_str(char *buf, size_t len, double seconds)
{
  long s = (long)(seconds + 0.5);
  if (s >= 3600)
    snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

void rt_progress_update(RtProgress *p, long epoch, long step, double loss,
                        double acc, double images_per_s)
{
  double now = rt_now();
  if (now - p->last < (p->tty ? TTY_INTERVAL : PLAIN_INTERVAL))
    return;
  p->last = now;
  long at = epoch * p->steps + step, done = at - p->first;
  double left = (double)(p->epochs * p->steps - at);
  char eta[32];
  duration_str(eta, sizeof eta, done > 0 ? left * (now - p->start) / (double)done : 0);
  fprintf(p->out, "%sepoch %ld/%ld  step %ld/%ld  loss %.4f  acc %.4f  %.0f img/s  ETA %s%s",
          p->tty ? "\r" : "", epoch + 1, p->epochs, step, p->steps, loss, acc,
          images_per_s, eta, p->tty ? "\033[K" : "\n");
  fflush(p->out);
  p->live = p->tty;
}

void rt_progress_clear(RtProgress *p)
{
  if (p->live)
    fputs("\r\033[K", p->out);
  p->live = 0;
}
