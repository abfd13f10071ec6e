# fuzz/: libFuzzer harnesses, their seed corpora and regression inputs
# (docs/robustness.md).
#
#   make fuzz [FUZZ_SECONDS=60]  build and run every harness for that long;
#                                fails on any finding (needs clang's libFuzzer)
#   make fuzz-build              only build fuzz/fuzz-HARNESS
#   make check                   replays fuzz/regressions/ and fuzz/corpus/
#                                through plain builds (fuzz/replay-HARNESS)

fuzz_harnesses = frontend idx cifar checkpoint image csv
FUZZ_SECONDS = 60

EXTRA_DIST += fuzz/fuzz-util.h fuzz/fuzz-net.h fuzz/make-checkpoint.c \
	fuzz/make-corpus.sh fuzz/run.sh fuzz/ci.sh fuzz/sanitize.sh fuzz/cnn.dict \
	fuzz/corpus fuzz/regressions
dist_doc_DATA += docs/robustness.md

# ---- replay: each harness with replay.c's main(), with CC and CFLAGS ----
# (so in the --enable-sanitizers build too); `make check` runs the
# regression inputs and the seed corpora through them.
fuzz_replay = fuzz/replay-frontend fuzz/replay-idx fuzz/replay-cifar fuzz/replay-checkpoint \
	fuzz/replay-image fuzz/replay-csv
check_PROGRAMS += $(fuzz_replay)
fuzz_replay_frontend_SOURCES = fuzz/fuzz-frontend.c fuzz/replay.c
fuzz_replay_frontend_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/compiler -I$(top_builddir)/compiler
fuzz_replay_frontend_LDADD = compiler/libcnnfront.a
fuzz_replay_rt_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
fuzz_replay_idx_SOURCES = fuzz/fuzz-idx.c fuzz/fuzz-util.h fuzz/replay.c
fuzz_replay_idx_CPPFLAGS = $(fuzz_replay_rt_cppflags)
fuzz_replay_idx_LDADD = runtime/libcnnrt.a
fuzz_replay_cifar_SOURCES = fuzz/fuzz-cifar.c fuzz/fuzz-util.h fuzz/replay.c
fuzz_replay_cifar_CPPFLAGS = $(fuzz_replay_rt_cppflags)
fuzz_replay_cifar_LDADD = runtime/libcnnrt.a
fuzz_replay_checkpoint_SOURCES = fuzz/fuzz-checkpoint.c fuzz/fuzz-util.h fuzz/fuzz-net.h fuzz/replay.c
fuzz_replay_checkpoint_CPPFLAGS = $(fuzz_replay_rt_cppflags)
fuzz_replay_checkpoint_LDADD = runtime/libcnnrt.a
fuzz_replay_image_SOURCES = fuzz/fuzz-image.c fuzz/fuzz-util.h fuzz/replay.c
fuzz_replay_image_CPPFLAGS = $(fuzz_replay_rt_cppflags)
fuzz_replay_image_LDADD = runtime/libcnnrt.a $(IMAGE_LIBS)
fuzz_replay_csv_SOURCES = fuzz/fuzz-csv.c fuzz/fuzz-util.h fuzz/replay.c
fuzz_replay_csv_CPPFLAGS = $(fuzz_replay_rt_cppflags)
fuzz_replay_csv_LDADD = runtime/libcnnrt.a

TESTS += fuzz/regressions.sh
dist_check_SCRIPTS += fuzz/regressions.sh

# ---- the libFuzzer builds ----
# Compiled with FUZZ_CC (clang, found by configure) whatever CC is. The
# libraries are built without the fuzz flags, so each harness is compiled
# in one step with the sources of the library it tests: those of
# libcnnfront.a and libcnnrt.a, taken from their fragments' lists.
fuzz_programs = fuzz/fuzz-frontend fuzz/fuzz-idx fuzz/fuzz-cifar fuzz/fuzz-checkpoint \
	fuzz/fuzz-image fuzz/fuzz-csv
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_CFLAGS =
fuzz_front_sources = $(compiler_libcnnfront_a_SOURCES:.l=.c) $(nodist_compiler_libcnnfront_a_SOURCES)
fuzz_front_csources = $(fuzz_front_sources:.y=.c)
fuzz_rt_sources = $(runtime_libcnnrt_a_SOURCES)
fuzz_rt_cppflags = $(runtime_libcnnrt_a_CPPFLAGS) -I$(top_srcdir)/runtime
# The prerequisites' .c files (as VPATH found them) are what is compiled.
fuzz_link = $(AM_V_CCLD)srcs=; for f in $^; do case $$f in *.c) srcs="$$srcs $$f";; esac; done; \
	$(FUZZ_CC) $(FUZZ_FLAGS) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(AM_CFLAGS) $(FUZZ_CFLAGS)

if HAVE_FUZZER
fuzz/fuzz-frontend$(EXEEXT): fuzz/fuzz-frontend.c $(fuzz_front_csources) compiler/front/parser.h
	@$(MKDIR_P) fuzz
	$(fuzz_link) -I$(top_builddir)/compiler/front -I$(top_srcdir)/compiler -I$(top_srcdir)/runtime \
	  -o $@ $$srcs -lm
fuzz/fuzz-idx$(EXEEXT): fuzz/fuzz-idx.c fuzz/fuzz-util.h $(fuzz_rt_sources)
	@$(MKDIR_P) fuzz
	$(fuzz_link) $(fuzz_rt_cppflags) -o $@ $$srcs $(IMAGE_LIBS) -lz -lm
fuzz/fuzz-cifar$(EXEEXT): fuzz/fuzz-cifar.c fuzz/fuzz-util.h $(fuzz_rt_sources)
	@$(MKDIR_P) fuzz
	$(fuzz_link) $(fuzz_rt_cppflags) -o $@ $$srcs $(IMAGE_LIBS) -lz -lm
fuzz/fuzz-checkpoint$(EXEEXT): fuzz/fuzz-checkpoint.c fuzz/fuzz-util.h fuzz/fuzz-net.h $(fuzz_rt_sources)
	@$(MKDIR_P) fuzz
	$(fuzz_link) $(fuzz_rt_cppflags) -o $@ $$srcs $(IMAGE_LIBS) -lz -lm
fuzz/fuzz-image$(EXEEXT): fuzz/fuzz-image.c fuzz/fuzz-util.h $(fuzz_rt_sources)
	@$(MKDIR_P) fuzz
	$(fuzz_link) $(fuzz_rt_cppflags) -o $@ $$srcs $(IMAGE_LIBS) -lz -lm
fuzz/fuzz-csv$(EXEEXT): fuzz/fuzz-csv.c fuzz/fuzz-util.h $(fuzz_rt_sources)
	@$(MKDIR_P) fuzz
	$(fuzz_link) $(fuzz_rt_cppflags) -o $@ $$srcs $(IMAGE_LIBS) -lz -lm

fuzz-build: $(fuzz_programs)

# Each harness on a copy of its corpus (and regressions) in fuzz/work/;
# fuzz/run.sh names the crash file of a finding.
fuzz: fuzz-build
	@status=0; for h in $(fuzz_harnesses); do \
	  $(SHELL) $(top_srcdir)/fuzz/run.sh $$h fuzz/fuzz-$$h$(EXEEXT) '$(top_srcdir)' \
	    fuzz/work '$(FUZZ_SECONDS)' || status=1; \
	done; exit $$status
else
fuzz fuzz-build:
	@echo "make $@: configure found no clang that supports -fsanitize=fuzzer (FUZZ_CC='$(FUZZ_CC)')." >&2; \
	echo "Install clang and libclang-rt-14-dev (Debian), then run configure again (or pass FUZZ_CC=/path/to/clang)." >&2; \
	exit 1
endif
.PHONY: fuzz fuzz-build fuzz-clean

CLEANFILES += $(fuzz_programs)
clean-local: fuzz-clean
fuzz-clean:
	-rm -rf fuzz/work
