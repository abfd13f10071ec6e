# tests/baseline.sh - sourced by tests/identity.sh and bench/baseline.sh,
# which compare this tree with the same older commit: which commit that is,
# and how its cnncc is built. Move CNNCC_BASELINE forward, with a reason in
# the commit message, when a change is meant to alter the generated code's
# numbers (docs/architecture.md).
CNNCC_BASELINE=0773dd1b214f0fb3e372281564491bc7607c6d8f # before issue #12's refactor

# build_baseline COMMIT DIR LOG: exports COMMIT of the repository at
# $top_srcdir into DIR and builds its cnncc and libcnnrt there with its own
# configure and Makefile (the old cnncc then finds its own runtime next to
# itself); the build's output goes to LOG.
build_baseline() {
  mkdir -p "$2" &&
    git -C "$top_srcdir" archive "$1" | tar -x -C "$2" &&
    (cd "$2" && autoreconf -fi && ./configure -q && ${MAKE:-make} -j2 cnncc runtime/libcnnrt.a) >"$3" 2>&1
}
