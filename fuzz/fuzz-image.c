/* fuzz-image.c - the runtime's PNG and JPEG reading (rt_image_read, with
 * libpng and libjpeg-turbo) and fitting (rt_image_fit, rt_image_load) on
 * arbitrary files.
 *
 * Input: one flag byte, then the file contents.
 *   bits 0-1  the input shape to fit to: [1,28,28], [3,32,32], [3,7,5]
 *             or [1,1,1]
 * A decoded image is checked for consistency, fitted to the shape, and
 * loaded once more through rt_image_load as predict does. A failure must
 * leave a message and an empty image. Built without the libraries, every
 * image fails with a message, which is checked the same way. */
#include "fuzz-util.h"

#include "cnnrt.h"

static const int shapes[4][3] = {{1, 28, 28}, {3, 32, 32}, {3, 7, 5}, {1, 1, 1}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const int *shape = shapes[data[0] & 3];
  char path[8192], err[1024] = "";
  fz_write(fz_path(path, sizeof path, fz_tmpdir(), "image"), data + 1, size - 1, 0);
  RtImage im;
  if (rt_image_read(path, &im, err, sizeof err) == 0) {
    FZ_CHECK(im.width >= 1 && im.height >= 1 && (im.channels == 1 || im.channels == 3));
    FZ_CHECK(im.pixels != NULL);
    uint8_t *out = malloc((size_t)shape[0] * shape[1] * shape[2]);
    FZ_CHECK(out != NULL);
    FZ_CHECK(rt_image_fit(&im, shape[0], shape[1], shape[2], out, err, sizeof err) == 0);
    free(out);
    RtNet net = {.name = "fuzznet", .in_rank = 3, .in_dim = {shape[0], shape[1], shape[2]},
                 .out_rank = 1, .out_dim = {10}, .loss = RT_LOSS_SOFTMAX_CROSS_ENTROPY};
    RtDataset ds;
    FZ_CHECK(rt_image_load(path, &net, &ds, err, sizeof err) == 0);
    FZ_CHECK(ds.n == 1 && ds.sample_size == (size_t)shape[0] * shape[1] * shape[2]);
    rt_dataset_free(&ds);
  } else {
    FZ_CHECK(err[0] != '\0');
    FZ_CHECK(im.pixels == NULL);
  }
  rt_image_free(&im);
  fz_empty(fz_tmpdir(), 0);
  return 0;
}
