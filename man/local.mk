# man/: cnncc(1) and cnncc-trainer(1), made by help2man from the --help and
# --version of cnncc and of a trainer built from examples/lenet.cnn. They
# are made at build time and not distributed: --version names the C
# compiler and options of this build, which a shipped page could not know.
nodist_man_MANS = man/cnncc.1 man/cnncc-trainer.1 man/cnncc-plot.1
EXTRA_DIST += man/cnncc.h2m man/cnncc-trainer.h2m
CLEANFILES += $(nodist_man_MANS) man/cnncc-trainer$(EXEEXT)
HELP2MAN_FLAGS = --no-info --section=1

man/cnncc.1: cnncc$(EXEEXT) man/cnncc.h2m
	$(AM_V_GEN)$(MKDIR_P) man && $(HELP2MAN) $(HELP2MAN_FLAGS) \
	  --name='compile convolutional networks into C trainers' \
	  --include=$(srcdir)/man/cnncc.h2m --output=$@ ./cnncc$(EXEEXT)

man/cnncc-plot.1: cnncc-plot$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) man && $(HELP2MAN) $(HELP2MAN_FLAGS) \
	  --name='draw the loss and accuracy of a training run as an SVG' \
	  --output=$@ ./cnncc-plot$(EXEEXT)

# The trainer the page is made from: its name is the page's (argv[0]), and
# --target=generic keeps it quick to build; the command line is libcnnrt's,
# the same for every network.
man/cnncc-trainer$(EXEEXT): cnncc$(EXEEXT) runtime/libcnnrt.a examples/lenet.cnn
	$(AM_V_GEN)$(MKDIR_P) man && ./cnncc$(EXEEXT) --target=generic $(srcdir)/examples/lenet.cnn -o $@

man/cnncc-trainer.1: man/cnncc-trainer$(EXEEXT) man/cnncc-trainer.h2m
	$(AM_V_GEN)$(HELP2MAN) $(HELP2MAN_FLAGS) --include=$(srcdir)/man/cnncc-trainer.h2m \
	  --output=$@ ./man/cnncc-trainer$(EXEEXT)

# Rendered by man without warnings (tests/man.sh); make install puts them,
# the examples and the docs where they belong (tests/install.sh).
TESTS += tests/man.sh tests/install.sh
dist_check_SCRIPTS += tests/man.sh tests/install.sh
