# docs/: the pictures of the manual (docs/images/) and the interop guide.
dist_doc_DATA += docs/interop.md
docimagesdir = $(docdir)/images
dist_docimages_DATA = docs/images/lenet.svg docs/images/resnet.svg docs/images/lenet-curves.svg
EXTRA_DIST += docs/images/lenet.dot docs/images/resnet.dot docs/make-pictures.sh

# make pictures: redraw docs/images/ in the source tree (the networks from
# cnncc --emit=dot through Graphviz's dot, LeNet's training curves from a
# short run's --plot); tests/pictures.sh checks that the networks' are
# current. One script, so that any -j makes them in one go.
pictures: cnncc$(EXEEXT) runtime/libcnnrt.a
	CNNCC=./cnncc$(EXEEXT) $(SHELL) $(srcdir)/docs/make-pictures.sh $(srcdir) \
	  $(srcdir)/docs/images --curves
.PHONY: pictures

TESTS += tests/pictures.sh tests/plot.sh
dist_check_SCRIPTS += tests/pictures.sh tests/plot.sh
