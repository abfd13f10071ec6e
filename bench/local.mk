# bench/: the training benchmark, `make bench` (docs/performance.md). Not part
# of `make check`: it takes minutes and its figures depend on the machine.
EXTRA_DIST += bench/train.sh bench/torch_train.py bench/synth_data.py \
	bench/peak.c bench/baseline.sh docs/performance.md \
	bench/ort-setup.sh bench/ort-export.py bench/ort-time.js \
	bench/package.json bench/package-lock.json bench/compilers.sh \
	bench/mpi-scaling.sh bench/data-load.c bench/recipes.sh bench/common.sh \
	bench/quant.sh
CLEANFILES += bench/peak bench/data-load

# The FMA peak probe, built for this machine with the generated-code compiler.
bench/peak: bench/peak.c
	@$(MKDIR_P) bench
	$(CNNCC_CC) -O3 -march=native -pthread -o $@ $(srcdir)/bench/peak.c

# `make bench`: the training table, then the inference one (one after the
# other: a benchmark wants the machine to itself).
.PHONY: bench bench-train
bench: cnncc$(EXEEXT) runtime/libcnnrt.a bench/peak
	$(MAKE) $(AM_MAKEFLAGS) bench-train
	$(MAKE) $(AM_MAKEFLAGS) bench-infer

bench-train: cnncc$(EXEEXT) runtime/libcnnrt.a bench/peak
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	CNNCC='$(top_builddir)/cnncc$(EXEEXT)' CNNCC_PYTHON='$(CNNCC_PYTHON)' \
	CNNCC_CC='$(CNNCC_CC)' PEAK=bench/peak \
	$(SHELL) $(top_srcdir)/bench/train.sh

# The generated trainers' speed against the baseline commit's, old and new
# runs alternating (bench/baseline.sh; issue #12: no slower).
.PHONY: bench-baseline
bench-baseline: cnncc$(EXEEXT) runtime/libcnnrt.a
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	CNNCC='$(top_builddir)/cnncc$(EXEEXT)' MAKE='$(MAKE)' \
	$(SHELL) $(top_srcdir)/bench/baseline.sh

# Batch-1 latency and batch throughput of the inference code against PyTorch
# and ONNX Runtime (bench/infer-latency.sh, docs/inference.md). The first run
# installs ONNX Runtime (npm onnxruntime-node, about 300 MB) into
# bench/node_modules of the build tree (bench/ort-setup.sh); without node
# and npm the table has no ONNX Runtime columns.
.PHONY: bench-infer
bench-infer: cnncc$(EXEEXT) runtime/libcnnrt.a bench/peak
	-top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	$(SHELL) $(top_srcdir)/bench/ort-setup.sh
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	CNNCC='$(top_builddir)/cnncc$(EXEEXT)' CNNCC_PYTHON='$(CNNCC_PYTHON)' PEAK=bench/peak \
	$(SHELL) $(top_srcdir)/bench/infer-latency.sh $${BENCH_EXAMPLES:-lenet vgg resnet vgg-cifar}

# 1 process x 2 threads against 2 ranks x 1 thread under MPI, and the bytes
# a rank receives per step (bench/mpi-scaling.sh, docs/distributed.md)
.PHONY: bench-mpi
bench-mpi: cnncc$(EXEEXT) runtime/libcnnrt.a
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	CNNCC='$(top_builddir)/cnncc$(EXEEXT)' \
	$(SHELL) $(top_srcdir)/bench/mpi-scaling.sh

# What reading a data set costs each rank (bench/data-load.c,
# docs/distributed.md): bytes in memory and the load time, on BENCH_DATA
# (default: Debian's Fashion-MNIST, else the sample in data/).
.PHONY: bench-data
bench/data-load: bench/data-load.c runtime/libcnnrt.a
	@$(MKDIR_P) bench
	$(CC) $(CFLAGS) -I$(srcdir)/runtime -o $@ $(srcdir)/bench/data-load.c runtime/libcnnrt.a $(IMAGE_LIBS) -lz -lm
bench-data: bench/data-load
	d=$${BENCH_DATA:-/usr/share/datasets/fashion-mnist}; \
	[ -d "$$d" ] || d=$(srcdir)/data/fashion-mnist; \
	bench/data-load "$$d"

# Training recipes against each other: the examples' Adam against SGD with
# momentum and a cosine schedule, test accuracy after each epoch
# (bench/recipes.sh, docs/training.md "Measured results").
.PHONY: bench-recipes
bench-recipes: cnncc$(EXEEXT) runtime/libcnnrt.a
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	CNNCC='$(top_builddir)/cnncc$(EXEEXT)' \
	$(SHELL) $(top_srcdir)/bench/recipes.sh

# int8 against float for the standalone inference code: accuracy, bytes of
# weights and batch-1 latency, with PyTorch's float latency (bench/quant.sh,
# docs/inference.md "int8: measured"); trains the checkpoints it lacks.
.PHONY: bench-quant
bench-quant: cnncc$(EXEEXT) runtime/libcnnrt.a
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	CNNCC='$(top_builddir)/cnncc$(EXEEXT)' CNNCC_PYTHON='$(CNNCC_PYTHON)' \
	$(SHELL) $(top_srcdir)/bench/quant.sh
