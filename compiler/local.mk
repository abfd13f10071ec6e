# compiler/: the cnncc front end (a library, libcnnfront.a) and the driver.
noinst_LIBRARIES += compiler/libcnnfront.a
compiler_libcnnfront_a_SOURCES = compiler/cnncc.h compiler/arena.c compiler/diag.c \
	compiler/lexer.l compiler/parser.y compiler/sema.c compiler/shape.c \
	compiler/summary.c compiler/frontend.c \
	compiler/emit_torch.c
compiler_libcnnfront_a_CFLAGS = $(AM_CFLAGS) -I$(top_builddir)/compiler -I$(top_srcdir)/compiler
AM_YFLAGS = -d -Wall -Wno-yacc
AM_LFLAGS =
BUILT_SOURCES += compiler/parser.h

bin_PROGRAMS += cnncc
cnncc_SOURCES = compiler/main.c
cnncc_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/compiler -I$(top_builddir)/compiler
cnncc_LDADD = compiler/libcnnfront.a
