/* emit/infer_file.c - cnncc --emit=inference: the checkpoint read and
 * checked by the runtime (emit/checkpoint.c), the output files
 * named, and the generator (emit/infer.c) run on them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnncc.h"

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}


/* Where to write: -o FILE, '-' for stdout, or NAME_infer.c next to
 * FILE.cnn (in *made); with --header FILE.h next to FILE.c (in *h_path).
 * Returns 0 or the exit status. */
static int output_paths(const char *src_path, const char *out_path, bool header, const char **c_path,
                        char **made, char **h_path) {
  *c_path = out_path;
  if (!*c_path) {
    size_t n = strlen(src_path);
    if (!(*made = malloc(n + 16))) {
      fprintf(stderr, "cnncc: out of memory\n");
      return 1;
    }
    memcpy(*made, src_path, n + 1);
    if (n > 4 && !strcmp(*made + n - 4, ".cnn")) (*made)[n - 4] = '\0';
    strcat(*made, "_infer.c");
    *c_path = strcmp(src_path, "-") ? *made : "-";
  }
  if (!header) return 0;
  if (!strcmp(*c_path, "-")) {
    fprintf(stderr, "cnncc: --header needs an output file (-o FILE.c)\n");
    return 2;
  }
  size_t n = strlen(*c_path);
  if (!(*h_path = malloc(n + 3))) return 1;
  memcpy(*h_path, *c_path, n + 1);
  if (n > 2 && !strcmp(*h_path + n - 2, ".c")) (*h_path)[n - 2] = '\0';
  strcat(*h_path, ".h");
  return 0;
}

/* Writes c_path (and h_path) and removes them on failure. Returns 0 or 1. */
static int write_files(const CnnNet *net, const char *src_path, const char *c_path, const char *h_path,
                       const float *params, const float *buffers, uint32_t crc, const CnnInferOptions *opt) {
  bool to_stdout = !strcmp(c_path, "-");
  FILE *c = to_stdout ? stdout : fopen(c_path, "w"), *h = NULL;
  if (!c) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", c_path, strerror(errno));
    return 1;
  }
  if (h_path && !(h = fopen(h_path, "w"))) {
    fprintf(stderr, "cnncc: cannot write '%s': %s\n", h_path, strerror(errno));
    if (!to_stdout) fclose(c);
    return 1;
  }
  CnnInferOptions o = *opt;
  if (!o.source_file) o.source_file = src_path;
  char stdout_name[300];
  snprintf(stdout_name, sizeof stdout_name, "%s_infer.c", net->name);
  int status = 0;
  if (cnn_emit_inference(c, h, to_stdout ? stdout_name : base_name(c_path), h_path ? base_name(h_path) : NULL,
                         net, params, buffers, crc, &o))
    status = 1;
  if ((c != stdout && fclose(c)) || (c == stdout && fflush(c)) || (h && fclose(h))) {
    if (!status) fprintf(stderr, "cnncc: cannot write '%s': %s\n", c_path, strerror(errno));
    status = 1;
  }
  if (status && !to_stdout) {
    remove(c_path);
    if (h_path) remove(h_path);
  }
  return status;
}

int cnn_emit_inference_file(const CnnNet *net, const char *src_path, const char *out_path,
                            const CnnInferOptions *opt) {
  if (!opt->weights) {
    fprintf(stderr, "cnncc: --emit=inference needs the weights: --weights CHECKPOINT\n"
                    "(a checkpoint written by the trainer: train --save CHECKPOINT)\n");
    return 2;
  }
  float *params = NULL, *buffers = NULL;
  char *made = NULL, *h_path = NULL;
  const char *c_path = NULL;
  uint32_t crc = 0;
  int status = cnn_load_checkpoint(net, opt->weights, &params, &buffers, &crc);
  if (!status) status = output_paths(src_path, out_path, opt->header, &c_path, &made, &h_path);
  if (!status) status = write_files(net, src_path, c_path, h_path, params, buffers, crc, opt);
  free(made);
  free(h_path);
  free(params);
  free(buffers);
  return status;
}
