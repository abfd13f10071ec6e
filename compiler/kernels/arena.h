/* The arena of the activations, gradients and other buffers for batches of
 * up to batch samples (layout() places them, and sizes it when base is
 * NULL): what <net>_setup() and <net>_free() do. */
static int arena_setup(int batch) {
  if (batch < 1) return -1;
  profile_start();
  char *base = malloc(layout(NULL, (size_t)batch));
  if (!base) return -1;
  free(arena);
  arena = base;
  max_batch = batch;
  layout(base, (size_t)batch);
  return 0;
}

static void arena_free(void) {
  free(arena);
  arena = NULL;
  max_batch = 0;
}
