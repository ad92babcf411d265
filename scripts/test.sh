#!/bin/sh
# Sets up a fresh Debian machine and runs every test: the C unit tests and the
# integration tests against a real httpd and a real Auth.js upstream.
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/build.sh
make check
