/* image.c - single PNG and JPEG files as samples of a network's input:
 * what a file is, its pixels (image-decode.c, with libpng and
 * libjpeg-turbo), and fitting them to [C, H, W] the way torchvision's
 * Resize + CenterCrop + ToTensor would (docs/training.md, "Image files").
 * Everything but the decoding is here, so that this file needs neither
 * library. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnrt.h"
#include "internal.h"

/* In image-decode.c, which a program has only when it was linked with the
 * libraries (see there); weak, so that it is NULL otherwise. */
#pragma weak rt_image_decode

RtImageFormat rt_image_format(const char *path)
{
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  unsigned char head[8] = {0};
  FILE *in = fopen(path, "rb");
  if (!in)
    return RT_IMAGE_NONE; /* the IDX loader says why it cannot be read */
  size_t n = fread(head, 1, sizeof head, in);
  fclose(in);
  if (n == sizeof head && memcmp(head, png, sizeof png) == 0)
    return RT_IMAGE_PNG;
  if (n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
    return RT_IMAGE_JPEG;
  return RT_IMAGE_NONE;
}

int rt_image_read(const char *path, RtImage *im, char *err, size_t errlen)
{
  memset(im, 0, sizeof *im);
  RtImageFormat format = rt_image_format(path);
  if (format == RT_IMAGE_NONE)
    return rt_fail(err, errlen, "%s: not a PNG or JPEG file", path);
  if (!rt_image_decode)
    return rt_fail(err, errlen,
                   "%s: a %s image, but this program was built without libpng and libjpeg "
                   "(install libpng-dev and libjpeg62-turbo-dev, then configure and build cnncc "
                   "again; by hand, link with -Wl,-u,rt_image_decode -lpng -ljpeg)",
                   path, format == RT_IMAGE_PNG ? "PNG" : "JPEG");
  return rt_image_decode(path, format, im, err, errlen);
}

void rt_image_free(RtImage *im)
{
  free(im->pixels);
  memset(im, 0, sizeof *im);
}

/* Channel ch of pixel i, with im converted to `channels` channels: gray is
 * repeated into RGB, RGB made gray with PIL's convert("L") weights
 * (ITU-R 601-2 luma, in 16-bit fixed point as PIL does). */
static double channel_at(const RtImage *im, size_t i, int channels, int ch)
{
  const uint8_t *px = im->pixels + i * (size_t)im->channels;
  if (im->channels == channels)
    return px[ch];
  if (im->channels == 1)
    return px[0];
  return (double)((px[0] * 19595 + px[1] * 38470 + px[2] * 7471 + 0x8000) >> 16);
}

/* The triangle (bilinear) filter. */
static double triangle(double x)
{
  x = fabs(x);
  return x < 1 ? 1 - x : 0;
}

/* Resampling weights from `in` samples to `out`, as PIL's resize with
 * BILINEAR (which torchvision's Resize uses): when shrinking, the filter
 * widens by the factor, so every input sample counts (antialiasing). For
 * output k: first[k] and count[k] input samples with weights w[k * wmax..]. */
typedef struct {
  int *first, *count, wmax;
  double *w;
} Weights;

static int weights_make(Weights *ws, int in, int out)
{
  double scale = (double)in / out, fscale = scale > 1 ? scale : 1, support = fscale;
  ws->wmax = (int)ceil(support) * 2 + 1;
  ws->first = malloc((size_t)out * sizeof *ws->first);
  ws->count = malloc((size_t)out * sizeof *ws->count);
  ws->w = malloc((size_t)out * (size_t)ws->wmax * sizeof *ws->w);
  if (!ws->first || !ws->count || !ws->w)
    return -1;
  for (int k = 0; k < out; k++) {
    double center = (k + 0.5) * scale, sum = 0;
    int lo = (int)floor(center - support + 0.5), hi = (int)floor(center + support + 0.5);
    lo = lo < 0 ? 0 : lo;
    hi = hi > in ? in : hi;
    double *w = ws->w + (size_t)k * (size_t)ws->wmax;
    for (int j = lo; j < hi; j++)
      sum += w[j - lo] = triangle((j - center + 0.5) / fscale);
    for (int j = lo; j < hi; j++)
      w[j - lo] = sum > 0 ? w[j - lo] / sum : 0;
    ws->first[k] = lo;
    ws->count[k] = hi - lo;
  }
  return 0;
}

static void weights_free(Weights *ws)
{
  free(ws->first);
  free(ws->count);
  free(ws->w);
}

/* The size an image of h x w is scaled to so that it just covers
 * height x width, keeping its aspect: the side that needs the larger factor
 * gets exactly its size and the other is cut to an integer as torchvision's
 * Resize(int) does (for a square input: the shorter side gets the size). */
static void cover_size(int h, int w, int height, int width, int *rh, int *rw)
{
  if ((double)height / h >= (double)width / w) {
    *rh = height;
    *rw = (int)((double)w * height / h);
    *rw = *rw < width ? width : *rw;
  } else {
    *rw = width;
    *rh = (int)((double)h * width / w);
    *rh = *rh < height ? height : *rh;
  }
}

/* torchvision's CenterCrop offset: int(round(d / 2.0)), with Python's round
 * half to even. */
static int crop_offset(int d)
{
  return d / 2 + ((d & 1) && ((d / 2) & 1));
}

/* One channel: rows from im's h x w to rh rows (vertical pass into tmp,
 * w wide), then columns to rw, keeping only the crop. */
static void fit_channel(const RtImage *im, int channels, int ch, const Weights *wy,
                        const Weights *wx, int top, int left, int height, int width,
                        double *tmp, uint8_t *out)
{
  for (int y = 0; y < height; y++) {
    int k = top + y;
    const double *w = wy->w + (size_t)k * (size_t)wy->wmax;
    for (int x = 0; x < im->width; x++) {
      double s = 0;
      for (int j = 0; j < wy->count[k]; j++)
        s += w[j] * channel_at(im, (size_t)(wy->first[k] + j) * (size_t)im->width + (size_t)x,
                               channels, ch);
      tmp[x] = s;
    }
    for (int x = 0; x < width; x++) {
      int kx = left + x;
      const double *v = wx->w + (size_t)kx * (size_t)wx->wmax;
      double s = 0;
      for (int j = 0; j < wx->count[kx]; j++)
        s += v[j] * tmp[wx->first[kx] + j];
      s = floor(s + 0.5);
      out[(size_t)y * (size_t)width + (size_t)x] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
    }
  }
}

int rt_image_fit(const RtImage *im, int channels, int height, int width, uint8_t *out,
                 char *err, size_t errlen)
{
  int rh, rw;
  cover_size(im->height, im->width, height, width, &rh, &rw);
  Weights wy = {0}, wx = {0};
  double *tmp = malloc((size_t)im->width * sizeof *tmp);
  int rc = -1;
  if (tmp && weights_make(&wy, im->height, rh) == 0 && weights_make(&wx, im->width, rw) == 0) {
    for (int ch = 0; ch < channels; ch++)
      fit_channel(im, channels, ch, &wy, &wx, crop_offset(rh - height), crop_offset(rw - width),
                  height, width, tmp, out + (size_t)ch * (size_t)height * (size_t)width);
    rc = 0;
  } else {
    rt_fail(err, errlen, "out of memory scaling a %dx%d image", im->width, im->height);
  }
  free(tmp);
  weights_free(&wy);
  weights_free(&wx);
  return rc;
}

int rt_image_load(const char *path, const RtNet *net, RtDataset *ds, char *err,
                  size_t errlen)
{
  char want[96];
  memset(ds, 0, sizeof *ds);
  rt_shape_str(want, sizeof want, net->in_rank, net->in_dim, ", ");
  if (net->in_rank != 3 || (net->in_dim[0] != 1 && net->in_dim[0] != 3))
    return rt_fail(err, errlen,
                   "%s: an image file, but the network's input [%s] is not an image "
                   "(expected [1, H, W] gray or [3, H, W] RGB)", path, want);
  RtImage im;
  if (rt_image_read(path, &im, err, errlen))
    return -1;
  ds->n = 1;
  ds->rank = 3;
  memcpy(ds->dim, net->in_dim, sizeof ds->dim);
  ds->sample_size = rt_shape_size(3, net->in_dim);
  ds->pixels = malloc(ds->sample_size);
  ds->image_path = strdup(path);
  int rc = ds->pixels && ds->image_path
               ? rt_image_fit(&im, ds->dim[0], ds->dim[1], ds->dim[2], ds->pixels, err, errlen)
               : rt_fail(err, errlen, "%s: out of memory", path);
  rt_image_free(&im);
  if (rc)
    rt_dataset_free(ds);
  return rc;
}
