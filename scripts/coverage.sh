#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Line coverage of src/ by the unit tests and the integration tests (not part
# of CI: several minutes on 2 cores). Builds with --coverage in
# _build-coverage/ (gcc, -O0, no sanitizers), runs make check and make
# check-integration there, then prints gcovr's line coverage per file of src/
# (and mod_authproxy.c) and src/'s total; the HTML report is
# _build-coverage/coverage/index.html. Installs gcovr where it is missing.
# COVERAGE_PYTEST_ARGS adds pytest arguments (say, -k cache for a part). Exits
# non-zero when a test failed; the figures are printed all the same.
set -u
cd "$(dirname "$0")/.."
scripts/setup-debian.sh gcovr || { echo "coverage: setup failed" >&2; exit 1; }
. scripts/env.sh
dir=_build-coverage
root=$(pwd -P)
{ [ -x configure ] && [ configure -nt configure.ac ]; } || autoreconf -fi >/dev/null || exit 1
mkdir -p "$dir"
# atomic counters: httpd's worker threads run the same lines at once, and
# plain ones can lose counts or go negative (gcovr refuses a branch "taken -1")
(cd "$dir" && { grep -q profile-update=atomic Makefile 2>/dev/null \
                || { [ ! -f Makefile ] || make -s distclean; } \
                   && ../configure -q CFLAGS="-O0 -g --coverage -fprofile-update=atomic" \
                                   LDFLAGS=--coverage; } \
    && make -s -j"$(nproc)" >/dev/null) || { echo "coverage: the build failed" >&2; exit 1; }
# counts of this run only; none of configure's test programs
find "$dir" \( -name '*.gcda' -o -name '*conftest*.gcno' \) -delete
# httpd's children run as www-data and add their counts to the .gcda files
# that root's processes (make check, httpd's parent) made, or make new ones
# beside the objects: the folders are writable by all, and so is every file
# the tests make (umask 000; no bytecode or pytest cache in the source tree)
chmod -R a+rwX "$dir"
status=0
echo "== coverage: make check in $dir"
(umask 000 && make -C "$dir" -s check >"$dir/check.out" 2>&1) \
    || { cat "$dir/check.out"; status=1; }
echo "== coverage: make check-integration in $dir"
# each httpd is stopped at its test's end: its children exit (or the module is
# unloaded) and write their counts
(umask 000 && PYTHONDONTWRITEBYTECODE=1 make -C "$dir" -s check-integration \
    PYTEST_ARGS="-q -rfEs -p no:cacheprovider -n $(nproc) ${COVERAGE_PYTEST_ARGS:-}") || status=1
echo "== coverage: lines of src/ run by the tests"
mkdir -p "$dir/coverage"
gcovr -r "$root" -f "$root/src/" -f "$root/mod_authproxy.c" \
    --json-summary "$dir/coverage/summary.json" \
    --html-details "$dir/coverage/index.html" "$root/$dir" >/dev/null || exit 1
/usr/bin/python3 - "$dir/coverage/summary.json" <<'EOF'
import json
import sys

files = sorted(json.load(open(sys.argv[1]))["files"], key=lambda f: f["filename"])
print("%-28s %7s %7s %7s" % ("file", "lines", "run", "cover"))
total = [0, 0]
for f in files:
    lines, run = f["line_total"], f["line_covered"]
    print("%-28s %7d %7d %6.1f%%" % (f["filename"], lines, run, 100.0 * run / max(lines, 1)))
    if f["filename"].startswith("src/"):
        total[0] += lines
        total[1] += run
print("%-28s %7d %7d %6.1f%%" % ("src/ total", total[0], total[1],
                                  100.0 * total[1] / max(total[0], 1)))
EOF
exit $status
