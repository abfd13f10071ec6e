#!/bin/sh
# Runs the mutation test over the examples.
exec "$top_builddir/tests/robustness" "$top_srcdir"/examples/*.cnn
