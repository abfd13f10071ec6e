/* image-decode.c - PNG (libpng) and JPEG (libjpeg-turbo) files to 8-bit
 * gray or RGB pixels: rt_image_decode(), which image.c calls.
 *
 * Only built when configure finds both libraries, and only linked into a
 * program that asks for it (cnncc passes -Wl,-u,rt_image_decode and the
 * libraries), so that libcnnrt.a still links with just -lz -lm by hand;
 * image.c then says the program was built without them.
 *
 * Both libraries report errors by calling a function that must not
 * return: here it longjmps back, after the message has been kept, and
 * every resource is freed on that path too. libjpeg's warnings (corrupt or
 * truncated data, which it would fill in grey) are errors here, as PIL's
 * "image file is truncated". */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "cnnrt.h"
#include "internal.h"

/* Larger images are refused: 8K x 4K; a header is enough to ask for any
 * size, and a few bytes must not allocate gigabytes. */
#define MAX_PIXELS ((size_t)1 << 25)

typedef struct {
  const char *path;
  char msg[JMSG_LENGTH_MAX > 200 ? JMSG_LENGTH_MAX : 200];
  jmp_buf jump;
  void *rows; /* PNG row pointers: freed after a longjmp too */
} Failure;

static int too_large(const char *path, unsigned long w, unsigned long h, char *err,
                     size_t errlen)
{
  if (w == 0 || h == 0)
    return rt_fail(err, errlen, "%s: the image is %lux%lu pixels: empty", path, w, h);
  if (w > MAX_PIXELS || h > MAX_PIXELS / w)
    return rt_fail(err, errlen, "%s: the image is %lux%lu pixels, more than the %zu allowed",
                   path, w, h, MAX_PIXELS);
  return 0;
}

/* The decoded pixels, im->pixels allocated for w x h x c. */
static int alloc_image(RtImage *im, const char *path, unsigned long w, unsigned long h,
                       int c, char *err, size_t errlen)
{
  if (too_large(path, w, h, err, errlen))
    return -1;
  im->width = (int)w;
  im->height = (int)h;
  im->channels = c;
  im->pixels = malloc(w * h * (size_t)c);
  if (!im->pixels)
    return rt_fail(err, errlen, "%s: out of memory for a %lux%lu image", path, w, h);
  return 0;
}

/* ---- PNG ---- */

static void png_error_fn(png_structp png, png_const_charp msg)
{
  Failure *f = png_get_error_ptr(png);
  snprintf(f->msg, sizeof f->msg, "%s", msg);
  longjmp(f->jump, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
  (void)png, (void)msg; /* e.g. a bad ancillary chunk: the pixels are fine */
}

/* libpng's own reader says only "Read Error" when the file ends early. */
static void png_read_fn(png_structp png, png_bytep data, size_t n)
{
  FILE *in = png_get_io_ptr(png);
  if (fread(data, 1, n, in) != n)
    png_error(png, ferror(in) ? strerror(errno) : "the file ends early (truncated)");
}

/* Ask libpng for 8-bit gray or RGB whatever the file holds; returns the
 * number of channels libpng will deliver (checked by the caller rather
 * than assumed: a transparency chunk can add alpha back). */
static int png_normalize(png_structp png, png_infop info)
{
  int type = png_get_color_type(png, info);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_packing(png);
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA)
    png_set_expand_gray_1_2_4_to_8(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return png_get_channels(png, info);
}

/* Rows of pixels read at once (all of them: interlaced files need it);
 * the row pointers are in f, whose owner frees them whether libpng
 * returns or jumps. */
static int png_rows(png_structp png, Failure *f, RtImage *im)
{
  size_t stride = (size_t)im->width * (size_t)im->channels;
  png_bytep *rows = f->rows = malloc((size_t)im->height * sizeof *rows);
  if (!rows)
    return -1;
  for (int y = 0; y < im->height; y++)
    rows[y] = im->pixels + (size_t)y * stride;
  png_read_image(png, rows);
  return 0;
}

static int read_png(png_structp png, png_infop info, Failure *f, FILE *in,
                    RtImage *im, char *err, size_t errlen)
{
  png_set_read_fn(png, in, png_read_fn);
  png_set_user_limits(png, 1u << 20, 1u << 20);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int c = png_normalize(png, info);
  if ((c != 1 && c != 3) || png_get_rowbytes(png, info) != (size_t)w * (size_t)c)
    return rt_fail(err, errlen, "%s: unsupported PNG layout (%d channels after conversion)",
                   f->path, c);
  if (alloc_image(im, f->path, w, h, c, err, errlen))
    return -1;
  if (png_rows(png, f, im))
    return rt_fail(err, errlen, "%s: out of memory", f->path);
  return 0;
}

static int decode_png(FILE *in, const char *path, RtImage *im, char *err, size_t errlen)
{
  Failure f = {.path = path};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &f, png_error_fn,
                                           png_warning_fn);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int rc = -1; /* not changed between setjmp and a longjmp: need not be volatile */
  if (!info)
    rt_fail(err, errlen, "%s: out of memory", path);
  else if (setjmp(f.jump))
    rt_fail(err, errlen, "%s: bad PNG data: %s", path, f.msg);
  else
    rc = read_png(png, info, &f, in, im, err, errlen);
  png_destroy_read_struct(&png, info ? &info : NULL, NULL);
  free(f.rows);
  return rc;
}

/* ---- JPEG ---- */

typedef struct {
  struct jpeg_error_mgr mgr; /* first: libjpeg passes a pointer to it */
  Failure f;
} JpegErrors;

static void jpeg_error_exit_fn(j_common_ptr cinfo)
{
  JpegErrors *e = (JpegErrors *)cinfo->err;
  cinfo->err->format_message(cinfo, e->f.msg);
  longjmp(e->f.jump, 1);
}

/* Warnings (level -1) are corrupt or missing data: errors here. */
static void jpeg_message_fn(j_common_ptr cinfo, int level)
{
  if (level < 0)
    jpeg_error_exit_fn(cinfo);
}

static int read_jpeg(struct jpeg_decompress_struct *cinfo, FILE *in, const char *path,
                     RtImage *im, char *err, size_t errlen)
{
  jpeg_stdio_src(cinfo, in);
  jpeg_read_header(cinfo, TRUE);
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
    return rt_fail(err, errlen, "%s: a CMYK JPEG image; only gray and RGB are supported", path);
  int c = cinfo->num_components == 1 ? 1 : 3;
  cinfo->out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  if (alloc_image(im, path, cinfo->image_width, cinfo->image_height, c, err, errlen))
    return -1;
  jpeg_start_decompress(cinfo);
  size_t stride = (size_t)im->width * (size_t)c;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = im->pixels + (size_t)cinfo->output_scanline * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return 0;
}

static int decode_jpeg(FILE *in, const char *path, RtImage *im, char *err, size_t errlen)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrors e = {.f.path = path};
  volatile int rc = -1; /* set only when no longjmp came; volatile for gcc -Wclobbered */
  cinfo.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = jpeg_error_exit_fn;
  e.mgr.emit_message = jpeg_message_fn;
  if (setjmp(e.f.jump)) {
    rt_fail(err, errlen, "%s: bad JPEG data: %s", path, e.f.msg);
  } else {
    jpeg_create_decompress(&cinfo);
    rc = read_jpeg(&cinfo, in, path, im, err, errlen);
  }
  jpeg_destroy_decompress(&cinfo);
  return rc;
}

int rt_image_decode(const char *path, RtImageFormat format, RtImage *im, char *err,
                    size_t errlen)
{
  memset(im, 0, sizeof *im);
  FILE *in = fopen(path, "rb");
  if (!in)
    return rt_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
  int rc = format == RT_IMAGE_PNG ? decode_png(in, path, im, err, errlen)
                                  : decode_jpeg(in, path, im, err, errlen);
  fclose(in);
  if (rc)
    rt_image_free(im);
  return rc;
}
