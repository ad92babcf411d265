#!/bin/sh
# Sets up a fresh Debian machine and runs every test: the C unit tests and the
# replay of the fuzz corpora (make check) in the plain build, the same and the
# integration tests against a real httpd and a real Auth.js upstream (make
# check-integration) in a second build with ASan and UBSan, then each fuzz
# target for FUZZ_SECONDS (default 30).
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
. scripts/env.sh   # the Node.js that setup may have fetched
scripts/build.sh
make -C _build check
mkdir -p _build-asan
(cd _build-asan && { [ -f Makefile ] || ../configure --enable-werror --enable-sanitizers; } \
    && make -j"$(nproc)")
make -C _build-asan check
make -C _build-asan check-integration
make -C _build fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
