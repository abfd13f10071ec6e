# tests/: front-end tests (TAP). Other parts append their own below.
EXTRA_DIST += tests/tap.sh tests/tap.h tests/diag docs/make-diagnostics.sh docs/diagnostics.md docs/language.md README.md
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
