# runtime/: libcnnrt, the library every program cnncc generates links with;
# its header, pkg-config file, the Fashion-MNIST sample (data/) and tests.
lib_LIBRARIES += runtime/libcnnrt.a
include_HEADERS += runtime/cnnrt.h
runtime_libcnnrt_a_SOURCES = runtime/cnnrt.h runtime/internal.h runtime/notice.h \
	runtime/util.c runtime/rng.c runtime/data.c runtime/adam.c \
	runtime/checkpoint.c runtime/progress.c runtime/run.c runtime/train.c \
	runtime/optim.c runtime/schedule.c runtime/sgd.c runtime/step.c \
	runtime/commands.c runtime/cli.c runtime/main.c runtime/plot.c runtime/image.c \
	runtime/folders.c runtime/csv.c runtime/augment.c
# The PNG/JPEG decoders, linked into trainers only on request (image-decode.c).
if HAVE_IMAGES
runtime_libcnnrt_a_SOURCES += runtime/image-decode.c
endif
EXTRA_DIST += runtime/image-decode.c
# sqrtf without errno, so that the Adam loop can vectorize; no contraction
# into fused multiply-adds, so that Adam gives the same bits on every CPU.
runtime_libcnnrt_a_CFLAGS = $(AM_CFLAGS) -fno-math-errno -ffp-contract=off
# The trainer's --version (the release) and default data (the sample in the
# source tree, else the installed one).
runtime_libcnnrt_a_CPPFLAGS = -DRT_VERSION='"$(PACKAGE_VERSION)"' \
	-DRT_DEFAULT_DATA_DIR='"$(abs_top_srcdir)/data/fashion-mnist"' \
	-DRT_INSTALLED_DATA_DIR='"$(fashionmnistdir)"'

# With MPI: the same runtime for `cnncc --mpi` trainers (docs/distributed.md),
# with MPI_Init, the rank-0-only output and the exchanges of runtime/mpi.c.
if HAVE_MPI
lib_LIBRARIES += runtime/libcnnrt_mpi.a
runtime_libcnnrt_mpi_a_SOURCES = $(runtime_libcnnrt_a_SOURCES) runtime/mpi.c
runtime_libcnnrt_mpi_a_CFLAGS = $(runtime_libcnnrt_a_CFLAGS) $(MPI_CFLAGS)
runtime_libcnnrt_mpi_a_CPPFLAGS = $(runtime_libcnnrt_a_CPPFLAGS) -DCNNCC_MPI=1
endif
EXTRA_DIST += runtime/mpi.c

# cnnrt.pc is written when it is installed, with the directories it is
# installed to: `make install prefix=DIR` (without configuring for DIR) then
# gives a pkg-config file that names DIR, not the configured prefix.
pkgconfigdir = $(libdir)/pkgconfig
EXTRA_DIST += runtime/cnnrt.pc.in
install-data-local: install-cnnrt-pc
uninstall-local: uninstall-cnnrt-pc
install-cnnrt-pc:
	$(MKDIR_P) '$(DESTDIR)$(pkgconfigdir)'
	sed -e 's|@prefix[@]|$(prefix)|g' -e 's|@exec_prefix[@]|$(exec_prefix)|g' \
	    -e 's|@libdir[@]|$(libdir)|g' -e 's|@includedir[@]|$(includedir)|g' \
	    -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	    $(srcdir)/runtime/cnnrt.pc.in > '$(DESTDIR)$(pkgconfigdir)/cnnrt.pc'
uninstall-cnnrt-pc:
	rm -f '$(DESTDIR)$(pkgconfigdir)/cnnrt.pc'
.PHONY: install-cnnrt-pc uninstall-cnnrt-pc

fashionmnistdir = $(pkgdatadir)/fashion-mnist
dist_fashionmnist_DATA = \
	data/fashion-mnist/train-images-idx3-ubyte.gz \
	data/fashion-mnist/train-labels-idx1-ubyte.gz \
	data/fashion-mnist/t10k-images-idx3-ubyte.gz \
	data/fashion-mnist/t10k-labels-idx1-ubyte.gz
EXTRA_DIST += data/README.md data/make-sample.py runtime/tests/adam-reference.sh
# two test images of the sample as files, for predict (docs/training.md)
EXTRA_DIST += data/images/ankle-boot.png data/images/pullover.jpg
dist_doc_DATA += docs/runtime.md docs/checkpoint-format.md

# Tests: C programs that print TAP (tests/tap.h, as every C test does).
runtime_tests = runtime/tests/data runtime/tests/rng runtime/tests/adam \
	runtime/tests/checkpoint runtime/tests/main
check_PROGRAMS += $(runtime_tests)
TESTS += $(runtime_tests)
runtime_test_cppflags = -I$(top_srcdir)/runtime -I$(top_srcdir)/tests \
	-DRT_TEST_DATA_DIR='"$(abs_top_srcdir)/data/fashion-mnist"'
runtime_test_sources = runtime/tests/fixtures.c runtime/tests/fixtures.h tests/tap.h
runtime_tests_data_SOURCES = runtime/tests/data.c $(runtime_test_sources)
runtime_tests_data_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_data_LDADD = runtime/libcnnrt.a
runtime_tests_rng_SOURCES = runtime/tests/rng.c $(runtime_test_sources)
runtime_tests_rng_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_rng_LDADD = runtime/libcnnrt.a
runtime_tests_adam_SOURCES = runtime/tests/adam.c $(runtime_test_sources)
runtime_tests_adam_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_adam_LDADD = runtime/libcnnrt.a
runtime_tests_checkpoint_SOURCES = runtime/tests/checkpoint.c $(runtime_test_sources)
runtime_tests_checkpoint_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_checkpoint_LDADD = runtime/libcnnrt.a
runtime_tests_main_SOURCES = runtime/tests/main.c $(runtime_test_sources)
runtime_tests_main_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_main_LDADD = runtime/libcnnrt.a

# cnncc-plot: the trainer's --plot picture from a --metrics file (plot.c).
bin_PROGRAMS += cnncc-plot
cnncc_plot_SOURCES = runtime/cnncc-plot.c
cnncc_plot_CPPFLAGS = -I$(top_srcdir)/runtime
cnncc_plot_LDADD = runtime/libcnnrt.a
