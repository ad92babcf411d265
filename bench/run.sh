#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mod_authproxy benchmark (not part of make check): see bench/README.md.
# Installs what it lacks, builds the module and the decode driver, then runs
# bench/bench.py, which starts every server itself on loopback, measures with
# wrk and callgrind, and stops them all. Settings (environment):
#   BENCH_SECONDS (6)    length of each measured wrk run
#   BENCH_ROUNDS (5)     runs per configuration, taken in turn; medians reported
#   BENCH_WARMUP (2)     length of the warm-up run of each configuration
#   BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_TOKENS (200)
set -eu
cd "$(dirname "$0")/.."

scripts/setup-debian.sh wrk valgrind
. scripts/env.sh   # the Node.js that setup may have fetched
scripts/build.sh >/dev/null
make -C _build -s bench/decode_driver
exec /usr/bin/python3 bench/bench.py
