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
# BUILT_SOURCES is made first only by `make all`, `check` and `install`; the
# objects that include the Bison header say so, so that `make cnncc`, `make
# demo` and `make bench` from a clean tree (at any -j) make it before them.
compiler/libcnnfront_a-sema.$(OBJEXT) compiler/libcnnfront_a-lexer.$(OBJEXT): compiler/parser.h

bin_PROGRAMS += cnncc
cnncc_SOURCES = compiler/main.c
cnncc_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/compiler -I$(top_builddir)/compiler
cnncc_LDADD = compiler/libcnnfront.a
# code generation (emit_c.c, printer.c) and driving the C compiler (build.c)
cnncc_SOURCES += compiler/printer.c compiler/emit_c.c compiler/build.c \
	compiler/kernels.h compiler/kernels_gemm.c
# The kernels the generated code gets (kernels.h) are ordinary C headers,
# which cnncc holds as strings: embed-kernels.sh writes kernel_texts.c from
# them, again whenever one changes.
CNNCC_KERNELS = compiler/kernels/threads.h compiler/kernels/config_float.h \
	compiler/kernels/config_double.h compiler/kernels/pool.h compiler/kernels/simd.h \
	compiler/kernels/portable.h compiler/kernels/gemm.h compiler/kernels/implicit.h \
	compiler/kernels/window.h compiler/kernels/infer_prelude.h compiler/kernels/infer_vsum.h \
	compiler/kernels/infer_vexp.h compiler/kernels/infer_vsigmoid.h compiler/kernels/infer_vtanh.h
EXTRA_DIST += $(CNNCC_KERNELS) compiler/embed-kernels.sh
nodist_cnncc_SOURCES = compiler/kernel_texts.c
CLEANFILES += compiler/kernel_texts.c
compiler/kernel_texts.c: $(CNNCC_KERNELS) compiler/embed-kernels.sh
	$(AM_V_GEN)$(MKDIR_P) compiler && \
	$(SHELL) $(srcdir)/compiler/embed-kernels.sh $(srcdir) $(CNNCC_KERNELS) >$@-t && mv -f $@-t $@
cnncc_CPPFLAGS = $(AM_CPPFLAGS) -DCNNCC_INCLUDEDIR='"$(includedir)"' -DCNNCC_LIBDIR='"$(libdir)"' \
	-DCNNCC_ABS_SRCDIR='"$(abs_top_srcdir)"' -DCNNCC_DOCDIR='"$(docdir)"'
dist_doc_DATA += docs/generated-code.md
# standalone inference code (emit_infer.c, docs/inference.md); it reads
# checkpoints with libcnnrt's rt_checkpoint_load.
cnncc_SOURCES += compiler/emit_infer.c
cnncc_CFLAGS += -I$(top_srcdir)/runtime
cnncc_LDADD += runtime/libcnnrt.a
dist_doc_DATA += docs/inference.md
