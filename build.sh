#!/bin/sh
# build.sh [TARGET...]: set up a fresh Debian machine for cnncc and run
# `make TARGET` (default: demo). Installs the Debian packages that are
# missing (as root, or through sudo), configures once, then builds.
set -e
cd "$(dirname "$0")"

packages="build-essential flex bison autoconf automake pkg-config clang zlib1g-dev
libomp-dev python3-torch libopenblas0-pthread dataset-fashion-mnist help2man man-db
openmpi-bin libopenmpi-dev graphviz librsvg2-bin libprotobuf-c-dev protobuf-c-compiler python3-onnx
libpng-dev libjpeg62-turbo-dev qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
gcc-arm-none-eabi"
missing=
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "build.sh: installing$missing"
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
exec make -j"$(nproc)" "${@:-demo}"
