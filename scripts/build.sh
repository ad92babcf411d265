#!/bin/sh
# Configures (once) and builds mod_authproxy in the source tree.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror "$@"
make -j"$(nproc)"
