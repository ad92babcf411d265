#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A fuzz campaign: each libFuzzer target for RUNS executions (default ten
# million), one at a time at nice 10, then its new inputs merged into the
# committed corpus (tests/fuzz/corpus/NAME: the seeds stay, inputs that add
# coverage join them). Prints one line per target: executions, wall time,
# corpus files and bytes. Stops at the first finding, leaving the crashing
# input as /tmp/authproxy-campaign/NAME-crash-*. Needs a configured _build
# (scripts/build.sh) and clang.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
TARGETS=${FUZZ_TARGETS:-"token cookie session location set_cookie traceparent"}
WORK=/tmp/authproxy-campaign
make -C _build -s fuzz FUZZ_SECONDS=1 >/dev/null
cd _build/fuzz-build
mkdir -p "$WORK"
echo "campaign: $(date -u), $(nproc) cores, $(uname -r), $(clang --version | head -1)"
for name in $TARGETS; do
    corpus=../../tests/fuzz/corpus/$name
    rm -rf "$WORK/$name"
    mkdir -p "$WORK/$name"
    start=$(date +%s)
    nice -n 10 ./tests/fuzz/fuzz_$name -runs="$RUNS" -max_len=20000 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$WORK/$name-" \
        "$WORK/$name" "$corpus" >"$WORK/$name.log" 2>&1 \
        || { tail -40 "$WORK/$name.log"; echo "campaign: $name FOUND something" >&2; exit 1; }
    took=$(( $(date +%s) - start ))
    ./tests/fuzz/fuzz_$name -merge=1 -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
        "$corpus" "$WORK/$name" >"$WORK/$name-merge.log" 2>&1
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$name.log")
    echo "campaign: $name: $execs executions in $took s, no finding; corpus" \
         "$(ls "$corpus" | wc -l) files, $(cat "$corpus"/* | wc -c) bytes"
done
