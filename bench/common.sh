# common.sh - the start of the bench/ scripts (sourced after each has set
# top_srcdir): the C locale for the numbers they print and parse, the build
# tree and the compiler, each overridable from the environment.
LC_ALL=C
export LC_ALL
top_builddir=${top_builddir:-.}
CNNCC=${CNNCC:-$top_builddir/cnncc}
