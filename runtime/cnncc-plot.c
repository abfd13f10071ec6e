/* cnncc-plot.c - `cnncc-plot METRICS -o curves.svg`: the picture a
 * trainer's --plot draws, from the JSON lines of its --metrics, for runs
 * made without --plot or on another machine. The drawing is libcnnrt's
 * (plot.c), so both give the same picture of the same numbers. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "notice.h"

static void usage(FILE *out)
{
  fprintf(out,
          "Usage: cnncc-plot [OPTION]... METRICS\n"
          "Draw the loss and the accuracy per epoch (train and test) of a training run\n"
          "as an SVG with two panels, from METRICS, the JSON lines a trainer's\n"
          "--metrics FILE writes (one per epoch).\n"
          "\n"
          "  -o, --output FILE  write the SVG to FILE (atomically), not standard output\n"
          "  -t, --title TEXT   the title (default: 'NAME: loss and accuracy per epoch',\n"
          "                     NAME from METRICS's file name)\n"
          "  -h, --help         display this help and exit\n"
          "  -V, --version      output version information and exit\n"
          "\n"
          "METRICS may be '-' for standard input.\n"
          "Exit status: 0 success, 1 unreadable or malformed METRICS or an unwritable\n"
          "FILE, 2 bad command line.\n");
}

/* "runs/lenet.jsonl: loss and accuracy per epoch" -> "lenet: ..." */
static void default_title(const char *path, char *buf, size_t size)
{
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  const char *dot = strchr(base, '.');
  int n = dot && dot > base ? (int)(dot - base) : (int)strlen(base);
  if (!strcmp(path, "-"))
    snprintf(buf, size, "loss and accuracy per epoch");
  else
    snprintf(buf, size, "%.*s: loss and accuracy per epoch", n, base);
}

static int plot(const char *metrics, const char *output, const char *title)
{
  char err[1024], made[512];
  RtCurves c = {0};
  int rc = rt_curves_read(&c, strcmp(metrics, "-") ? metrics : "/dev/stdin", err, sizeof err);
  if (rc == 0 && c.n == 0)
    rc = rt_fail(err, sizeof err, "'%s' has no epochs", metrics);
  if (rc == 0) {
    if (!title)
      default_title(metrics, made, sizeof made);
    if (output) {
      rc = rt_plot_write(output, &c, title ? title : made, err, sizeof err);
    } else {
      rt_plot_svg(stdout, &c, title ? title : made);
      if (fflush(stdout) || ferror(stdout))
        rc = rt_fail(err, sizeof err, "cannot write the SVG to standard output");
    }
  }
  rt_curves_free(&c);
  if (rc)
    fprintf(stderr, "cnncc-plot: %s\n", err);
  return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
  static const struct option options[] = {
    {"output", required_argument, NULL, 'o'}, {"title", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
  };
  const char *output = NULL, *title = NULL;
  int opt;
  while ((opt = getopt_long(argc, argv, "o:t:hV", options, NULL)) != -1) {
    switch (opt) {
    case 'o': output = optarg; break;
    case 't': title = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("cnncc-plot (cnncc) %s\n%s\n", PACKAGE_VERSION, CNNCC_VERSION_NOTICE); return 0;
    default: fprintf(stderr, "Try 'cnncc-plot --help' for more information.\n"); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "cnncc-plot: %s\nTry 'cnncc-plot --help' for more information.\n",
            optind == argc ? "no metrics file" : "more than one metrics file");
    return 2;
  }
  return plot(argv[optind], output, title);
}
