#!/bin/sh
# Sets up a fresh Debian machine and runs every test: the C unit tests and the
# replay of the fuzz corpora (make check), the integration tests against a real
# httpd and a real Auth.js upstream (make check-integration), then each fuzz
# target for FUZZ_SECONDS (default 30).
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/build.sh
make -C _build check
make -C _build check-integration
make -C _build fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
