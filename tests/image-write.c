/* image-write.c - write one image of an IDX images file as a PNG or JPEG
 * file, for tests/outputs.sh (which has no PIL to do it):
 *
 *     image-write IDX INDEX OUT.png|OUT.jpg [gray|rgb|rgba|gray16 [SCALE]]
 *
 * The IDX image must be gray ([n,H,W]). rgb and rgba repeat it into every
 * color channel (alpha: a gradient, which readers must drop); gray16 is a
 * 16-bit PNG (each byte repeated); SCALE > 1 repeats every pixel SCALE
 * times in both directions. JPEG files are written at quality 95. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "cnnrt.h"

typedef struct {
  int width, height, channels, depth; /* depth: bytes per sample, 1 or 2 */
  unsigned char *pixels;
} Picture;

static int write_png(const char *path, const Picture *p)
{
  static const int types[] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB,
                              PNG_COLOR_TYPE_RGB_ALPHA};
  FILE *out = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!out || !info || setjmp(png_jmpbuf(png)))
    return -1;
  png_init_io(png, out);
  png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, 8 * p->depth,
               types[p->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < p->height; y++)
    png_write_row(png, p->pixels + (size_t)y * p->width * p->channels * p->depth);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return fclose(out);
}

static int write_jpeg(const char *path, const Picture *p)
{
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  FILE *out = fopen(path, "wb");
  if (!out || p->depth != 1 || p->channels == 4)
    return -1;
  c.err = jpeg_std_error(&err); /* errors exit: fine for a test tool */
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, out);
  c.image_width = (JDIMENSION)p->width;
  c.image_height = (JDIMENSION)p->height;
  c.input_components = p->channels;
  c.in_color_space = p->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = p->pixels + (size_t)c.next_scanline * p->width * p->channels;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return fclose(out);
}

/* Sample `index` of ds, scaled up and in the channels and depth of mode. */
static int picture(const RtDataset *ds, long index, const char *mode, int scale, Picture *p)
{
  int h = ds->dim[ds->rank - 2], w = ds->dim[ds->rank - 1];
  p->channels = !strcmp(mode, "rgb") ? 3 : !strcmp(mode, "rgba") ? 4 : 1;
  p->depth = !strcmp(mode, "gray16") ? 2 : 1;
  p->width = w * scale;
  p->height = h * scale;
  p->pixels = malloc((size_t)p->width * p->height * p->channels * p->depth);
  if (ds->rank != 3 || ds->dim[0] != 1 || index < 0 || index >= ds->n || !p->pixels)
    return -1;
  const uint8_t *src = ds->pixels + (size_t)index * ds->sample_size;
  unsigned char *dst = p->pixels;
  for (int y = 0; y < p->height; y++)
    for (int x = 0; x < p->width; x++)
      for (int c = 0; c < p->channels * p->depth; c++)
        *dst++ = c == 3 ? (unsigned char)(x * 255 / p->width)
                        : src[(size_t)(y / scale) * w + (size_t)(x / scale)];
  return 0;
}

int main(int argc, char **argv)
{
  char err[1024];
  RtDataset ds;
  Picture p;
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: image-write IDX INDEX OUT.png|OUT.jpg [gray|rgb|rgba|gray16 [SCALE]]\n");
    return 2;
  }
  const char *mode = argc > 4 ? argv[4] : "gray", *ext = strrchr(argv[3], '.');
  int scale = argc > 5 ? atoi(argv[5]) : 1, jpeg = ext && !strcmp(ext, ".jpg");
  if (rt_images_load(argv[1], &ds, err, sizeof err)) {
    fprintf(stderr, "image-write: %s\n", err);
    return 1;
  }
  if (scale < 1 || picture(&ds, atol(argv[2]), mode, scale, &p) ||
      (jpeg ? write_jpeg(argv[3], &p) : write_png(argv[3], &p))) {
    fprintf(stderr, "image-write: cannot write image %s of %s as %s (%s)\n", argv[2], argv[1],
            argv[3], mode);
    return 1;
  }
  free(p.pixels);
  rt_dataset_free(&ds);
  return 0;
}
