# runtime/: libcnnrt, the library every program cnncc generates links with;
# its header, pkg-config file, the Fashion-MNIST sample (data/) and tests.
lib_LIBRARIES += runtime/libcnnrt.a
include_HEADERS += runtime/cnnrt.h
runtime_libcnnrt_a_SOURCES = runtime/cnnrt.h runtime/internal.h runtime/notice.h \
	runtime/util.c runtime/rng.c runtime/data.c runtime/adam.c \
	runtime/checkpoint.c runtime/progress.c runtime/main.c
# sqrtf without errno, so that the Adam loop can vectorize; no contraction
# into fused multiply-adds, so that Adam gives the same bits on every CPU.
runtime_libcnnrt_a_CFLAGS = $(AM_CFLAGS) -fno-math-errno -ffp-contract=off
# rt_main's --version (the release) and default data (the sample in the
# source tree, else the installed one).
runtime_libcnnrt_a_CPPFLAGS = -DRT_VERSION='"$(PACKAGE_VERSION)"' \
	-DRT_DEFAULT_DATA_DIR='"$(abs_top_srcdir)/data/fashion-mnist"' \
	-DRT_INSTALLED_DATA_DIR='"$(fashionmnistdir)"'

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = runtime/cnnrt.pc

fashionmnistdir = $(pkgdatadir)/fashion-mnist
dist_fashionmnist_DATA = \
	data/fashion-mnist/train-images-idx3-ubyte.gz \
	data/fashion-mnist/train-labels-idx1-ubyte.gz \
	data/fashion-mnist/t10k-images-idx3-ubyte.gz \
	data/fashion-mnist/t10k-labels-idx1-ubyte.gz
EXTRA_DIST += data/README.md data/make-sample.py runtime/tests/adam-reference.sh
dist_doc_DATA += docs/runtime.md docs/checkpoint-format.md

# Tests: C programs that print TAP.
runtime_tests = runtime/tests/test-data runtime/tests/test-rng \
	runtime/tests/test-adam runtime/tests/test-checkpoint runtime/tests/test-main
check_PROGRAMS += $(runtime_tests)
TESTS += $(runtime_tests)
runtime_test_cppflags = -I$(top_srcdir)/runtime \
	-DRT_TEST_DATA_DIR='"$(abs_top_srcdir)/data/fashion-mnist"'
runtime_test_sources = runtime/tests/tap.c runtime/tests/tap.h
runtime_tests_test_data_SOURCES = runtime/tests/test-data.c $(runtime_test_sources)
runtime_tests_test_data_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_test_data_LDADD = runtime/libcnnrt.a
runtime_tests_test_rng_SOURCES = runtime/tests/test-rng.c $(runtime_test_sources)
runtime_tests_test_rng_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_test_rng_LDADD = runtime/libcnnrt.a
runtime_tests_test_adam_SOURCES = runtime/tests/test-adam.c $(runtime_test_sources)
runtime_tests_test_adam_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_test_adam_LDADD = runtime/libcnnrt.a
runtime_tests_test_checkpoint_SOURCES = runtime/tests/test-checkpoint.c $(runtime_test_sources)
runtime_tests_test_checkpoint_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_test_checkpoint_LDADD = runtime/libcnnrt.a
runtime_tests_test_main_SOURCES = runtime/tests/test-main.c $(runtime_test_sources)
runtime_tests_test_main_CPPFLAGS = $(runtime_test_cppflags)
runtime_tests_test_main_LDADD = runtime/libcnnrt.a
