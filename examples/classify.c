/* classify.c - classify the images of an IDX file with the standalone
 * inference code of cnncc, and print the accuracy when labels are given.
 *
 * It works with the code of any network whose output is one score per
 * class, e.g. examples/lenet.cnn. Generate the code from a checkpoint and
 * build this program with it, either linking the .c:
 *
 *     ./lenet train --save lenet.ckpt          (the trainer: cnncc examples/lenet.cnn -o lenet)
 *     cnncc --emit=inference --header --weights lenet.ckpt examples/lenet.cnn -o lenet_infer.c
 *     cc -O3 -march=native -I. -DCNN_HEADER='"lenet_infer.h"' examples/classify.c lenet_infer.c -lm -o classify
 *
 * or including it (no --header needed):
 *
 *     cc -O3 -march=native -I. -DCNN_SOURCE='"lenet_infer.c"' examples/classify.c -lm -o classify
 *
 * (-I.: a quoted #include is looked up next to classify.c, in examples/,
 * and then in the -I folders, not in the current one.)
 *
 * Usage: classify IMAGES [LABELS [N]]
 *
 * IMAGES is an IDX file of unsigned bytes, [n, H, W] or [n, C, H, W] (as
 * Fashion-MNIST's t10k-images-idx3-ubyte), LABELS an IDX file of n bytes;
 * files ending in .gz are read through `gzip -dc`. Pixels are scaled to
 * [0, 1] as the trainer does. Prints the predicted class of each of the
 * first N images (default: all) with its probability, then, with labels,
 * "accuracy A (N images)". */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNNCC_GENERIC_NAMES /* cnn_predict etc., whatever the network */
#if defined(CNN_HEADER)
#include CNN_HEADER
#elif defined(CNN_SOURCE)
#include CNN_SOURCE
#else
#error "define CNN_HEADER (the generated .h) or CNN_SOURCE (the generated .c)"
#endif

/* An IDX file: big-endian header, then unsigned bytes. */
typedef struct {
  int ndim;
  unsigned long dim[4];
  unsigned long count; /* items: dim[0] */
  unsigned long size;  /* bytes per item */
  unsigned char *data;
} Idx;

static int fail(const char *path, const char *what) {
  fprintf(stderr, "classify: %s: %s\n", path, what);
  return -1;
}

static int read_idx(const char *path, Idx *idx) {
  size_t n = strlen(path);
  int gz = n > 3 && !strcmp(path + n - 3, ".gz");
  FILE *f;
  if (gz) {
    char cmd[4200];
    if (strchr(path, '\'') || n > 4096) return fail(path, "unsupported file name");
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
    f = popen(cmd, "r");
  } else {
    f = fopen(path, "rb");
  }
  if (!f) return fail(path, "cannot open");
  unsigned char h[4 + 16];
  int rc = -1;
  memset(idx, 0, sizeof *idx);
  if (fread(h, 1, 4, f) != 4 || h[0] || h[1] || h[2] != 0x08) {
    rc = fail(path, "not an IDX file of unsigned bytes");
  } else if ((idx->ndim = h[3]) < 1 || idx->ndim > 4 || fread(h + 4, 4, (size_t)idx->ndim, f) != (size_t)idx->ndim) {
    rc = fail(path, "bad IDX header");
  } else {
    idx->size = 1;
    for (int i = 0; i < idx->ndim; i++) {
      const unsigned char *p = h + 4 + 4 * i;
      idx->dim[i] = (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
      if (i) idx->size *= idx->dim[i];
    }
    idx->count = idx->dim[0];
    if (idx->count == 0 || idx->size == 0 || idx->size > (1ul << 30) / idx->count) {
      rc = fail(path, "empty or absurd IDX dimensions");
    } else if (!(idx->data = malloc(idx->count * idx->size))) {
      rc = fail(path, "out of memory");
    } else if (fread(idx->data, idx->size, idx->count, f) != idx->count) {
      rc = fail(path, "truncated");
    } else {
      rc = 0;
    }
  }
  if (gz ? pclose(f) != 0 && rc == 0 : fclose(f) != 0) rc = fail(path, "read error");
  if (rc) free(idx->data);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s IMAGES [LABELS [N]]\n"
                    "Classify images with the network \"%s\"; with labels, print the accuracy.\n",
            argv[0], CNN_NET_NAME);
    return 2;
  }
  Idx images, labels = {0};
  if (read_idx(argv[1], &images)) return 1;
  if (images.size != CNN_INPUT_SIZE) {
    fprintf(stderr, "classify: %s: images of %lu pixels; network \"%s\" takes %d values\n", argv[1],
            images.size, CNN_NET_NAME, CNN_INPUT_SIZE);
    return 1;
  }
  if (CNN_OUTPUT_SIZE != CNN_OUTPUT_CHANNELS)
    fprintf(stderr, "classify: note: \"%s\" has %d outputs per class; using the first\n",
            CNN_NET_NAME, CNN_OUTPUT_SIZE / CNN_OUTPUT_CHANNELS);
  if (argc > 2 && read_idx(argv[2], &labels)) return 1;
  if (argc > 2 && (labels.count < images.count || labels.size != 1)) {
    fprintf(stderr, "classify: %s: %lu labels of %lu bytes for %lu images\n", argv[2], labels.count,
            labels.size, images.count);
    return 1;
  }
  unsigned long n = images.count;
  if (argc > 3) {
    long k = atol(argv[3]);
    if (k < 1) {
      fprintf(stderr, "classify: N must be positive\n");
      return 2;
    }
    if ((unsigned long)k < n) n = (unsigned long)k;
  }
  static float x[CNN_INPUT_SIZE], y[CNN_OUTPUT_SIZE];
  void *scratch = malloc(CNN_SCRATCH_BYTES + 1);
  if (!scratch) return 1;
  unsigned long correct = 0;
  for (unsigned long i = 0; i < n; i++) {
    const unsigned char *px = images.data + i * images.size;
    for (int k = 0; k < CNN_INPUT_SIZE; k++) x[k] = (float)px[k] / 255.0f;
    if (cnn_predict(x, y, scratch)) {
      fprintf(stderr, "classify: prediction failed\n");
      return 1;
    }
    /* the class with the largest score (the first of ties) */
    int stride = CNN_OUTPUT_SIZE / CNN_OUTPUT_CHANNELS, best = 0;
    for (int c = 1; c < CNN_OUTPUT_CHANNELS; c++)
      if (y[c * stride] > y[best * stride]) best = c;
#ifdef cnn_softmax
    if (stride == 1) {
      static float p[CNN_OUTPUT_SIZE];
      cnn_softmax(y, p);
      printf("%lu %d %.4f", i, best, (double)p[best]);
    } else
#endif
      printf("%lu %d", i, best);
    if (labels.data) {
      correct += labels.data[i] == best;
      printf(" %d", labels.data[i]);
    }
    printf("\n");
  }
  if (labels.data) printf("accuracy %.4f (%lu images)\n", (double)correct / (double)n, n);
  free(scratch);
  free(images.data);
  free(labels.data);
  return 0;
}
