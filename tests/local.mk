# tests/: front-end tests (TAP). Other parts append their own below.
EXTRA_DIST += tests/tap.sh tests/tap.h tests/diag docs/make-diagnostics.sh README.md
TESTS += tests/examples.sh tests/diagnostics.sh
dist_check_SCRIPTS = tests/examples.sh tests/diagnostics.sh

check_PROGRAMS += tests/shapes tests/robustness
TESTS += tests/shapes tests/robustness.sh
tests_shapes_SOURCES = tests/shapes.c tests/tap.h
tests_shapes_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/compiler -I$(top_builddir)/compiler
tests_shapes_LDADD = compiler/libcnnfront.a
tests_robustness_SOURCES = tests/robustness.c tests/tap.h
tests_robustness_CFLAGS = $(tests_shapes_CFLAGS)
tests_robustness_LDADD = compiler/libcnnfront.a
dist_check_SCRIPTS += tests/robustness.sh

# PyTorch mirror (cnncc --emit=pytorch) and parity of the generated C with it.
TESTS += tests/torch-mirror.sh
dist_check_SCRIPTS += tests/torch-mirror.sh
EXTRA_DIST += tests/torch-mirror.py tests/torch-ops1d.cnn tests/torch-ops2d.cnn
TESTS += tests/parity.sh
dist_check_SCRIPTS += tests/parity.sh
EXTRA_DIST += tests/parity.c tests/parity.py tests/mirror_module.py
# Checkpoints both ways between the trainer and the mirror
# (load_cnncc_checkpoint, save_cnncc_checkpoint; docs/interop.md).
TESTS += tests/torch-ckpt.sh
dist_check_SCRIPTS += tests/torch-ckpt.sh
EXTRA_DIST += tests/torch-ckpt.py
TESTS += tests/optim.sh
dist_check_SCRIPTS += tests/optim.sh

# Training code generation (cnncc -o): gradient checks against finite
# differences (double precision) and the generated code and API.
TESTS += tests/gradcheck-ops.sh tests/gradcheck-examples.sh tests/codegen.sh
dist_check_SCRIPTS += tests/gradcheck-ops.sh tests/gradcheck-examples.sh tests/codegen.sh
EXTRA_DIST += tests/gradcheck.c tests/gradcheck-common.sh tests/codegen-api.c tests/simd-check.c \
	tests/ops/activations.cnn tests/ops/batchnorm.cnn tests/ops/bn1d.cnn tests/ops/ce2d.cnn \
	tests/ops/conv1d.cnn tests/ops/conv2d.cnn tests/ops/convt.cnn tests/ops/grouped.cnn \
	tests/ops/grouped1d.cnn tests/ops/merge.cnn tests/ops/mse.cnn tests/ops/norm.cnn \
	tests/ops/pool.cnn tests/ops/resample.cnn
# The layer profile's roofline (bench --profile, docs/performance.md).
TESTS += tests/profile.sh
dist_check_SCRIPTS += tests/profile.sh

# Standalone inference code (cnncc --emit=inference, docs/inference.md):
# outputs against the training code's, strict C99, no C library symbols.
TESTS += tests/infer.sh
dist_check_SCRIPTS += tests/infer.sh
# int8 quantization (cnncc --quantize=int8, docs/inference.md)
TESTS += tests/quant.sh
dist_check_SCRIPTS += tests/quant.sh
EXTRA_DIST += tests/quant-run.c tests/quant-ops.cnn tests/quant-ops1d.cnn tests/quant-kernels.c tests/quant-vnni.h
EXTRA_DIST += tests/infer-ref.c tests/infer-run.c tests/infer-edge.cnn \
	bench/infer-latency.sh bench/infer-time.c bench/infer-torch.py
# The same on aarch64 NEON (CNNCC_SIMD 4), cross-compiled and run under
# qemu-aarch64; skipped without aarch64-linux-gnu-gcc or qemu-aarch64.
TESTS += tests/neon.sh
dist_check_SCRIPTS += tests/neon.sh

# End-to-end training (docs/training.md): LeNet on the Fashion-MNIST sample
# against PyTorch from the same initial weights; WaveNet and U-Net on small
# synthetic data sets from data/make-synthetic.py.
TESTS += tests/e2e-lenet.sh tests/e2e-wavenet.sh tests/e2e-unet.sh tests/e2e-mobilenet.sh
dist_check_SCRIPTS += tests/e2e-lenet.sh tests/e2e-wavenet.sh tests/e2e-unet.sh tests/e2e-mobilenet.sh
EXTRA_DIST += tests/e2e-init.c tests/e2e-torch.py tests/e2e-synthetic.sh data/make-synthetic.py
dist_doc_DATA += docs/training.md

# Robustness end to end (docs/robustness.md): every bad input's exit status
# and message at the command line, bit-identical resuming after SIGKILL,
# SIGTERM and SIGINT, and random valid networks through the front end, the
# C compilers and the gradient check (RANDOM_NETS=200 for a long run).
TESTS += tests/errors-cli.sh tests/kill-resume.sh tests/random-nets.sh
dist_check_SCRIPTS += tests/errors-cli.sh tests/kill-resume.sh tests/random-nets.sh
EXTRA_DIST += tests/kill-resume.cnn tests/random-nets.py

# Data-parallel trainers under MPI (cnncc --mpi, docs/distributed.md): the
# plain trainer's checkpoint bytes on 1, 2 and 4 ranks; skipped without MPI.
TESTS += tests/mpi.sh
dist_check_SCRIPTS += tests/mpi.sh

# The same gradients from every build of the generated code (float with and
# without OpenMP, each C compiler, double): tests/build-diff.sh, issue #11
# (BUILD_DIFF_NETS=300 for a long run).
TESTS += tests/build-diff.sh
dist_check_SCRIPTS += tests/build-diff.sh
EXTRA_DIST += tests/build-diff-dn.cnn

# Behaviour kept across the refactor of issue #12: every example's trainer
# checkpoint and inference outputs bit for bit against the baseline commit's
# cnncc, built from the git history (IDENTITY_BASELINE; skipped without it).
TESTS += tests/identity.sh
dist_check_SCRIPTS += tests/identity.sh
EXTRA_DIST += tests/baseline.sh

# The training plan (cnncc --plan): its memory plan and scratch checked from
# the text by an independent checker, for the examples and random networks.
TESTS += tests/plan.sh
dist_check_SCRIPTS += tests/plan.sh
EXTRA_DIST += tests/plan-check.py

# --enable-sanitizers: the scripts build the programs they make from
# generated C with configure's sanitizer flags too (they link with the
# sanitized libcnnrt), as cnncc -o does; tests/tap.sh reads them.
AM_TESTS_ENVIRONMENT = CNNCC_SANITIZE_FLAGS='$(CNNCC_SANITIZE_FLAGS)'; export CNNCC_SANITIZE_FLAGS; \
	PACKAGE_VERSION='$(PACKAGE_VERSION)'; export PACKAGE_VERSION; \
	INSTALL_MANDIR='$(mandir)' INSTALL_DOCDIR='$(docdir)' MAKE='$(MAKE)'; \
	export INSTALL_MANDIR INSTALL_DOCDIR MAKE;

# --version of cnncc and of the trainers: the licence (COPYING) and which
# compiler builds them, or built them.
TESTS += tests/version.sh
dist_check_SCRIPTS += tests/version.sh

# What a newcomer runs: README's build-it-yourself line as fast as cnncc -o,
# with an installed cnncc (make install prefix=DIR), and every command of
# README.md and docs/*.md as written.
TESTS += tests/byhand-build.sh tests/doc-commands.sh
dist_check_SCRIPTS += tests/byhand-build.sh tests/doc-commands.sh
# The kernels of the generated code (compiler/kernels/) against
# naive loops, once per configuration: tests/kernel-checks.c is compiled
# into a library for each (noinst: so that `make' shows the kernels'
# warnings), the instruction sets the compiler cannot target left out.
KERNEL_CHECKS_SOURCES = tests/kernel-checks.c tests/kernel-checks.h
KERNEL_CHECKS_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/compiler
noinst_LIBRARIES += tests/libkernels-portable.a tests/libkernels-double.a
tests_libkernels_portable_a_SOURCES = $(KERNEL_CHECKS_SOURCES)
tests_libkernels_portable_a_CFLAGS = $(KERNEL_CHECKS_CFLAGS) -DCNNCC_PORTABLE -DWANT_ISA='"portable"' \
	-DCHECKS=kernel_checks_portable
tests_libkernels_double_a_SOURCES = $(KERNEL_CHECKS_SOURCES)
tests_libkernels_double_a_CFLAGS = $(KERNEL_CHECKS_CFLAGS) -DKERNELS_DOUBLE -DWANT_ISA='"portable"' \
	-DCHECKS=kernel_checks_double
check_PROGRAMS += tests/kernels
TESTS += tests/kernels
tests_kernels_SOURCES = tests/kernels.c tests/kernel-checks.h tests/tap.h
tests_kernels_LDADD = tests/libkernels-portable.a tests/libkernels-double.a
if KERNELS_AVX2
noinst_LIBRARIES += tests/libkernels-avx2.a
tests_libkernels_avx2_a_SOURCES = $(KERNEL_CHECKS_SOURCES)
tests_libkernels_avx2_a_CFLAGS = $(KERNEL_CHECKS_CFLAGS) -mavx2 -mfma -DWANT_ISA='"avx2"' \
	-DCHECKS=kernel_checks_avx2
tests_kernels_LDADD += tests/libkernels-avx2.a
endif
if KERNELS_AVX512
noinst_LIBRARIES += tests/libkernels-avx512.a
tests_libkernels_avx512_a_SOURCES = $(KERNEL_CHECKS_SOURCES)
tests_libkernels_avx512_a_CFLAGS = $(KERNEL_CHECKS_CFLAGS) -mavx512f -DWANT_ISA='"avx512"' \
	-DCHECKS=kernel_checks_avx512
tests_kernels_LDADD += tests/libkernels-avx512.a
endif
tests_kernels_LDADD += -lm

# The plan of the inference code (plan/infer.c), as `cnncc --plan
# --emit=inference` prints it without a checkpoint, checked by
# tests/infer-plan.sh.
TESTS += tests/infer-plan.sh
dist_check_SCRIPTS += tests/infer-plan.sh

# The memory contract of the inference code (cnncc --summary
# --emit=inference; docs/inference.md, "Memory") against the compiled
# objects' sections, the scratch really touched and the stack frames.
TESTS += tests/memory.sh
dist_check_SCRIPTS += tests/memory.sh
EXTRA_DIST += tests/memory-run.c

# ONNX export (cnncc --emit=onnx, docs/interop.md): onnx.checker and ONNX
# Runtime (npm onnxruntime-node, bench/ort-setup.sh) against the training code.
TESTS += tests/onnx.sh
dist_check_SCRIPTS += tests/onnx.sh
EXTRA_DIST += tests/onnx-run.js
# What eval and predict print (issue #15): eval --confusion, predict --probs
# and --top, PNG and JPEG files (written from IDX images by
# tests/image-write) and the messages for bad ones.
TESTS += tests/outputs.sh
dist_check_SCRIPTS += tests/outputs.sh
EXTRA_DIST += tests/image-write.c tests/image-fit.c tests/image-fit.py
# The data users bring (issue #16): image folders (the sample exported by
# data/idx-to-folders.py trains to the IDX files' bits), plain IDX names,
# --val, and the messages for bad folders.
TESTS += tests/data-formats.sh
dist_check_SCRIPTS += tests/data-formats.sh
# CSV data (#16): the sample as CSV (data/idx-to-csv.py) trains to the IDX
# files' bits; --label-column, --header; the messages for bad tables.
TESTS += tests/data-csv.sh
dist_check_SCRIPTS += tests/data-csv.sh
EXTRA_DIST += data/idx-to-csv.py data/idx.py
# train --augment: the same bits with any threads and when resumed (#16).
TESTS += tests/augment.sh
dist_check_SCRIPTS += tests/augment.sh
# train --save-best and --patience, their state in the checkpoint (#16).
TESTS += tests/keep-best.sh
dist_check_SCRIPTS += tests/keep-best.sh
EXTRA_DIST += data/idx-to-folders.py
if HAVE_IMAGES
check_PROGRAMS += tests/image-write tests/image-fit
tests_image_write_SOURCES = tests/image-write.c
tests_image_write_CPPFLAGS = -I$(top_srcdir)/runtime
tests_image_write_LDADD = runtime/libcnnrt.a $(IMAGE_LIBS)
tests_image_fit_SOURCES = tests/image-fit.c
tests_image_fit_CPPFLAGS = -I$(top_srcdir)/runtime
tests_image_fit_LDADD = runtime/libcnnrt.a $(IMAGE_LIBS)
endif
