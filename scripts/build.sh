#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Configures (once) and builds mod_authproxy out of tree, in _build/ (the
# source tree stays clean, so make fuzz can add its own clang build beside it).
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh
{ [ -x configure ] && [ configure -nt configure.ac ]; } || autoreconf -fi
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure --enable-werror "$@"
make -j"$(nproc)"
