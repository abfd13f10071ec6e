/* memory-run.c - the scratch side of tests/memory.sh: how much of its
 * scratch memory the inference code (cnncc --emit=inference) really
 * touches, against what it declares.
 *
 *     cc -DINFER='"lenet_infer.c"' -DARENA=LENET_ARENA_BYTES tests/memory-run.c -lm
 *     memory-run OUTPUT-FILE
 *
 * A buffer of CNN_SCRATCH_BYTES + GUARD bytes is filled with a pattern, one
 * sample is predicted, and the bytes that changed are found: none may lie
 * at or past CNN_SCRATCH_BYTES. That is done with the scratch starting at
 * each offset from a 64-byte boundary that matters (0, 1, 63) and with two
 * patterns (a byte written with the pattern's own value looks untouched).
 * Prints one line, "touched T of D bytes (arena A)", T the highest byte
 * changed + 1 at offset 0, and writes the outputs (raw floats) to
 * OUTPUT-FILE, for the comparison with --static-arena. Exit status 1 if
 * anything was written past the declared size or a call failed. */
#define CNNCC_GENERIC_NAMES
#include INFER

#include <stdint.h>
#include <stdio.h>

#define GUARD 256

static unsigned char mem[CNN_SCRATCH_BYTES + GUARD + 128];
static float input[CNN_INPUT_SIZE], output[CNN_OUTPUT_SIZE];

/* The highest byte of s[0, n) that is not p, + 1 (0: none). */
static long touched(const unsigned char *s, long n, unsigned char p) {
  while (n > 0 && s[n - 1] == p) n--;
  return n;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: memory-run OUTPUT-FILE\n");
    return 2;
  }
  uint32_t x = 12345;
  for (long i = 0; i < CNN_INPUT_SIZE; i++) { /* uniform in [-1, 1) */
    x = x * 1664525u + 1013904223u;
    input[i] = (float)(x >> 8) * 0x1.0p-23f - 1;
  }
  const long declared = CNN_SCRATCH_BYTES, n = declared + GUARD;
  unsigned char *base = mem + (64 - (uintptr_t)mem % 64) % 64;
  static const int offsets[] = {0, 1, 63};
  static const unsigned char patterns[] = {0xa5, 0x5a};
  long at0 = 0;
  int status = 0;
  for (int o = 0; o < 3; o++)
    for (int q = 0; q < 2; q++) {
      unsigned char *s = base + offsets[o];
      for (long i = 0; i < n; i++) s[i] = patterns[q];
      if (cnn_predict(input, output, s)) {
        fprintf(stderr, "memory-run: cnn_predict failed\n");
        return 1;
      }
      long t = touched(s, n, patterns[q]);
      if (t > declared) {
        fprintf(stderr, "memory-run: scratch at offset %d written up to byte %ld, past the %ld declared\n",
                offsets[o], t, declared);
        status = 1;
      }
      if (o == 0 && t > at0) at0 = t;
    }
  printf("touched %ld of %ld bytes (arena %ld)\n", at0, declared, (long)ARENA);
  FILE *f = fopen(argv[1], "wb");
  if (!f || fwrite(output, sizeof output, 1, f) != 1 || fclose(f)) {
    fprintf(stderr, "memory-run: cannot write %s\n", argv[1]);
    return 1;
  }
  return status;
}
