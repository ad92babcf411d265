#!/bin/sh
# Sets up a fresh Debian machine and runs every test: the C unit tests, the
# integration tests against a real httpd and a real Auth.js upstream, then each
# fuzz target for FUZZ_SECONDS (default 30).
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
. scripts/env.sh   # the Node.js that setup may have fetched
scripts/build.sh
make -C _build check
make -C _build fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
