# compiler/: cnncc, laid out by stage (docs/architecture.md):
#   front/    source -> IR: lexer, parser, sema, shapes, diagnostics, summary
#   plan/     IR -> plan: what the code will be, as data (memory, geometry)
#   emit/     plan -> text: training C, inference C, the PyTorch mirror
#   kernels/  the C the generated files carry, as ordinary headers
#   main.c, build.c: the driver.
# The front end (with the PyTorch and Graphviz printers) is a library, libcnnfront.a.
noinst_LIBRARIES += compiler/libcnnfront.a
compiler_libcnnfront_a_SOURCES = compiler/cnncc.h compiler/front/arena.c compiler/front/diag.c \
	compiler/front/lexer.l compiler/front/parser.y compiler/front/sema.c compiler/front/shape.c \
	compiler/front/summary.c compiler/front/frontend.c compiler/front/ops.c compiler/front/arch.c \
	compiler/emit/torch.c compiler/emit/dot.c \
	runtime/optim.c runtime/util.c
# runtime/optim.c: sema checks the train block's optimizer and schedule
# with the trainer's own parser of --optimizer and --schedule.
compiler_libcnnfront_a_CFLAGS = $(AM_CFLAGS) -I$(top_builddir)/compiler/front -I$(top_srcdir)/compiler \
	-I$(top_srcdir)/runtime
# The checkpoint functions of the PyTorch mirror (docs/interop.md) are the
# Python of emit/torch_ckpt.py, which embed.sh turns into a string as it
# does the kernels; tests/torch-ckpt.sh runs them.
EXTRA_DIST += compiler/emit/torch_ckpt.py
nodist_compiler_libcnnfront_a_SOURCES = compiler/emit/torch_ckpt_text.c
CLEANFILES += compiler/emit/torch_ckpt_text.c
compiler/emit/torch_ckpt_text.c: compiler/emit/torch_ckpt.py compiler/kernels/embed.sh
	$(AM_V_GEN)$(MKDIR_P) compiler/emit && \
	$(SHELL) $(srcdir)/compiler/kernels/embed.sh $(srcdir) cnncc.h cnn_text_ compiler/emit/torch_ckpt.py >$@-t && \
	mv -f $@-t $@
AM_YFLAGS = -d -Wall -Wno-yacc
AM_LFLAGS =
BUILT_SOURCES += compiler/front/parser.h
# BUILT_SOURCES is made first only by `make all`, `check` and `install`; the
# objects that include the Bison header say so, so that `make cnncc`, `make
# demo` and `make bench` from a clean tree (at any -j) make it before them.
compiler/front/libcnnfront_a-sema.$(OBJEXT) compiler/front/libcnnfront_a-lexer.$(OBJEXT): compiler/front/parser.h

bin_PROGRAMS += cnncc
cnncc_SOURCES = compiler/main.c compiler/build.c
cnncc_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/compiler -I$(top_srcdir)/compiler/emit -I$(top_srcdir)/compiler/plan
cnncc_LDADD = compiler/libcnnfront.a
# the planning stage and the printers of the training code
cnncc_SOURCES += compiler/plan/plan.h compiler/plan/memory.c compiler/plan/geometry.c \
	compiler/plan/train.h compiler/plan/train.c compiler/plan/train_kernels.c \
	compiler/plan/train_print.c compiler/plan/roofline.c compiler/plan/infer.h compiler/plan/infer.c \
	compiler/emit/printer.c compiler/emit/train.h compiler/emit/train.c compiler/emit/train_conv.c \
	compiler/emit/train_layers.c compiler/emit/train_shared.c compiler/emit/train_norm.c compiler/emit/train_loss.c compiler/emit/train_mpi.c \
	compiler/emit/kernels.h compiler/emit/kernels.c compiler/emit/resample.c
# The kernels the generated code gets (emit/kernels.h) are ordinary C
# headers, which cnncc holds as strings: kernels/embed.sh writes
# kernel_texts.c from them, again whenever one changes.
CNNCC_KERNELS = compiler/kernels/threads.h compiler/kernels/vector.h compiler/kernels/config_float.h \
	compiler/kernels/config_double.h compiler/kernels/pool.h compiler/kernels/simd.h \
	compiler/kernels/portable.h compiler/kernels/gemm.h compiler/kernels/implicit.h \
	compiler/kernels/window.h compiler/kernels/vsum.h compiler/kernels/vexp.h \
	compiler/kernels/vsigmoid.h compiler/kernels/vtanh.h compiler/kernels/verf.h compiler/kernels/sum.h \
	compiler/kernels/profile.h compiler/kernels/arena.h compiler/kernels/init.h compiler/kernels/grouped.h \
	compiler/kernels/quant.h compiler/kernels/quant_x86.h compiler/kernels/quant_neon.h
EXTRA_DIST += $(CNNCC_KERNELS) compiler/kernels/embed.sh
nodist_cnncc_SOURCES = compiler/kernels/kernel_texts.c
CLEANFILES += compiler/kernels/kernel_texts.c
compiler/kernels/kernel_texts.c: $(CNNCC_KERNELS) compiler/kernels/embed.sh
	$(AM_V_GEN)$(MKDIR_P) compiler/kernels && \
	$(SHELL) $(srcdir)/compiler/kernels/embed.sh $(srcdir) kernels.h cnn_kernel_ $(CNNCC_KERNELS) >$@-t && \
	mv -f $@-t $@
cnncc_CPPFLAGS = $(AM_CPPFLAGS) -DCNNCC_INCLUDEDIR='"$(includedir)"' -DCNNCC_LIBDIR='"$(libdir)"' \
	-DCNNCC_ABS_SRCDIR='"$(abs_top_srcdir)"' -DCNNCC_DOCDIR='"$(docdir)"'
dist_doc_DATA += docs/generated-code.md docs/architecture.md
# standalone inference code (emit/infer.c, docs/inference.md); it reads
# checkpoints with libcnnrt's rt_checkpoint_load.
cnncc_SOURCES += compiler/emit/infer.c compiler/emit/infer_emit.h compiler/emit/infer_weights.c \
	compiler/emit/infer_file.c compiler/emit/checkpoint.c compiler/emit/infer_quant.c
cnncc_CFLAGS += -I$(top_srcdir)/runtime
cnncc_LDADD += runtime/libcnnrt.a
dist_doc_DATA += docs/inference.md docs/distributed.md
# ONNX export (emit/onnx.c, docs/interop.md), written with protobuf-c:
# protoc-c compiles the ONNX schema at build time. The schema is a copy of
# the onnx.proto that Debian's python3-onnx 1.12 installs, with its license
# (compiler/emit/onnx/LICENSE): building then needs protobuf-c alone, not
# python3-onnx (Python, numpy, protobuf for Python), which only the tests use,
# and the schema cannot change under us with that package's version.
EXTRA_DIST += compiler/emit/onnx/onnx.proto compiler/emit/onnx/LICENSE
if HAVE_PROTOBUF_C
cnncc_SOURCES += compiler/emit/onnx.c
nodist_cnncc_SOURCES += compiler/emit/onnx/onnx.pb-c.c compiler/emit/onnx/onnx.pb-c.h
BUILT_SOURCES += compiler/emit/onnx/onnx.pb-c.h
CLEANFILES += compiler/emit/onnx/onnx.pb-c.c compiler/emit/onnx/onnx.pb-c.h
cnncc_CFLAGS += $(PROTOBUF_C_CFLAGS) -I$(top_builddir)/compiler/emit/onnx
cnncc_LDADD += $(PROTOBUF_C_LIBS)
# one rule writes both files: the header waits for it (safe at any -j)
compiler/emit/onnx/onnx.pb-c.c: compiler/emit/onnx/onnx.proto
	$(AM_V_GEN)$(MKDIR_P) compiler/emit/onnx && \
	$(PROTOC_C) --c_out=compiler/emit/onnx -I$(srcdir)/compiler/emit/onnx \
	  $(srcdir)/compiler/emit/onnx/onnx.proto
compiler/emit/onnx/onnx.pb-c.h: compiler/emit/onnx/onnx.pb-c.c
compiler/emit/cnncc-onnx.$(OBJEXT): compiler/emit/onnx/onnx.pb-c.h
endif
