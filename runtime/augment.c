/* augment.c - data augmentation of training images (train --augment):
 * torchvision's RandomCrop(size, padding=crop) (zero fill) followed by
 * RandomHorizontalFlip(), drawn per sample from the step's seed and the
 * sample's place in the batch, so that a run draws the same whatever its
 * threads, ranks or interruptions. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "internal.h"

void rt_augment_sample(const float *in, float *out, int channels, int height, int width,
                       int pad, int dx, int dy, int flip)
{
  for (int c = 0; c < channels; c++) {
    const float *src = in + (size_t)c * (size_t)height * (size_t)width;
    float *dst = out + (size_t)c * (size_t)height * (size_t)width;
    for (int y = 0; y < height; y++) {
      int sy = y + dy - pad;
      for (int x = 0; x < width; x++) {
        int sx = (flip ? width - 1 - x : x) + dx - pad;
        dst[(size_t)y * (size_t)width + (size_t)x] =
            sy >= 0 && sy < height && sx >= 0 && sx < width
                ? src[(size_t)sy * (size_t)width + (size_t)sx]
                : 0.0f;
      }
    }
  }
}

void rt_augment_batch(float *x, float *tmp, int n, const int *dim, const RtAugment *aug,
                      uint64_t step_seed)
{
  size_t size = (size_t)dim[0] * (size_t)dim[1] * (size_t)dim[2];
  for (int i = 0; i < n; i++) {
    RtRng rng;
    rt_rng_seed(&rng, rt_hash64(step_seed, (uint64_t)i, RT_SALT_AUGMENT));
    /* the crop's offsets first, as RandomCrop runs before the flip */
    int dy = (int)rt_rng_below(&rng, 2 * (uint64_t)aug->crop + 1);
    int dx = (int)rt_rng_below(&rng, 2 * (uint64_t)aug->crop + 1);
    int flip = aug->flip && rt_rng_below(&rng, 2);
    float *sample = x + (size_t)i * size;
    memcpy(tmp, sample, size * sizeof *tmp);
    rt_augment_sample(tmp, sample, dim[0], dim[1], dim[2], aug->crop, dx, dy, flip);
  }
}

/* "crop=N" or "flip", "flip=true" or "flip=false": one item of SPEC. */
static int parse_item(const char *item, size_t len, RtAugment *aug)
{
  char buf[64], *end;
  if (len >= sizeof buf)
    return -1;
  memcpy(buf, item, len);
  buf[len] = '\0';
  if (!strcmp(buf, "flip") || !strcmp(buf, "flip=true") || !strcmp(buf, "flip=false")) {
    aug->flip = strcmp(buf, "flip=false") != 0;
    return 0;
  }
  if (strncmp(buf, "crop=", 5) != 0)
    return -1;
  errno = 0;
  long crop = strtol(buf + 5, &end, 10);
  if (end == buf + 5 || *end || errno || crop < 0 || crop > INT_MAX / 4)
    return -1;
  aug->crop = (int)crop;
  return 0;
}

int rt_augment_parse(const char *spec, RtAugment *aug)
{
  *aug = (RtAugment){0, 0};
  if (!strcmp(spec, "none"))
    return 0;
  for (const char *p = spec;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (parse_item(p, len, aug))
      return -1;
    if (!comma)
      return 0;
    p = comma + 1;
  }
}
