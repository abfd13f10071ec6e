/* The register block of the matrix products: tiles of MR x NR values. */
#define KERNEL_ISA "portable" /* double: portable C, which compilers vectorize */
#define MR 4
#define NR 8
#define WV NR
#define NV_MAX 1
