/* image-fit.c - print the bytes rt_image_fit makes of an image file, for
 * tests/outputs.sh to compare with PyTorch's antialiased bilinear resize
 * (which torchvision's Resize uses on tensors):
 *
 *     image-fit FILE C H W
 *
 * prints C * H * W numbers 0..255, channel by channel, row by row, one a
 * line; a file that cannot be read gives the runtime's message and exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include "cnnrt.h"

int main(int argc, char **argv)
{
  char err[1024];
  RtImage im;
  if (argc != 5) {
    fprintf(stderr, "usage: image-fit FILE C H W\n");
    return 2;
  }
  int c = atoi(argv[2]), h = atoi(argv[3]), w = atoi(argv[4]);
  size_t n = (size_t)c * (size_t)h * (size_t)w;
  uint8_t *out = malloc(n ? n : 1);
  if (!out || (c != 1 && c != 3) || h < 1 || w < 1) {
    fprintf(stderr, "image-fit: bad shape %s %s %s\n", argv[2], argv[3], argv[4]);
    return 2;
  }
  if (rt_image_read(argv[1], &im, err, sizeof err) ||
      rt_image_fit(&im, c, h, w, out, err, sizeof err)) {
    fprintf(stderr, "image-fit: %s\n", err);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    printf("%d\n", out[i]);
  rt_image_free(&im);
  free(out);
  return 0;
}
