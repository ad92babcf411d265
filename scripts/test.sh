#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sets up a fresh Debian machine and runs every test, each stage whatever the
# one before did, and ends with one line over all of them:
#   unit          the C unit tests and the fuzz corpora replayed (make check), plain build
#   analyze       cppcheck over src/ and mod_authproxy.c (make analyze), failing on any finding
#   distcheck     the release tarball built with clang and -Werror, checked, installed
#                 and uninstalled (make distcheck), and holding every file git has
#   unit-asan     the unit stage's tests with ASan and UBSan (_build-asan)
#   integration   pytest against a real httpd (with the sanitizers' runtimes
#                 preloaded) and a real Auth.js upstream (make check-integration),
#                 one pytest worker more than cores (pytest-xdist): each test makes
#                 its own servers on free ports, or shares its module's
#   fuzz          each libFuzzer target for FUZZ_SECONDS (default 30)
#   package       the Debian package built, linted, installed, enabled, purged
# and, when named in STAGES only (distcheck builds with clang already):
#   clang         the unit stage's tests built with clang and -Werror (_build-clang)
# distcheck and fuzz run beside the stage after them, their output printed
# once that one has ended. A failing test's own output is printed where it
# fails. Exits non-zero when anything failed. STAGES="unit integration" runs
# only those.
set -u
cd "$(dirname "$0")/.."
scripts/setup-debian.sh || { echo "test: setup failed: nothing was tested" >&2; exit 1; }
. scripts/env.sh   # the Node.js that setup may have fetched
STAGES=${STAGES:-"unit analyze distcheck unit-asan integration fuzz package"}
passed=0
failed=0
summary=""

count() {   # stage, passed, failed
    passed=$((passed + $2))
    failed=$((failed + $3))
    summary="$summary
  $1: $2 passed, $3 failed"
}

# automake's summary of a make check in $1
automake_counts() {
    pass=$(sed -n 's/^# PASS: *//p' "$1/test-suite.log" 2>/dev/null)
    fail=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$1/test-suite.log" 2>/dev/null \
           | awk '{ n += $1 } END { print n + 0 }')
    echo "${pass:-0} ${fail:-1}"
}

autotools() {   # configure made, if it is not yet
    { [ -x configure ] && [ configure -nt configure.ac ]; } || autoreconf -fi >/dev/null
}

build() {   # dir, configure arguments...
    dir=$1
    shift
    autotools
    mkdir -p "$dir"
    (cd "$dir" && { [ -f Makefile ] || ../configure -q --enable-werror "$@"; } \
        && make -s -j"$(nproc)" >/dev/null)
}

unit() {    # stage, build dir
    echo "== $1: make check in $2"
    # the test programs built side by side first (make check builds them one
    # at a time); what fails to build fails again below, with its output
    make -C "$2" -s -j"$(nproc)" check TESTS= >/dev/null 2>&1
    # VERBOSE: automake prints each failing test's log, not just where it is
    if make -C "$2" -s check VERBOSE=1 >"$2/check.out" 2>&1; then
        count "$1" $(automake_counts "$2")
    else
        cat "$2/check.out"
        # a make check that fails with every test passed (Check missing) fails too
        set -- "$1" $(automake_counts "$2")
        count "$1" "$2" $(($3 > 0 ? $3 : 1))
    fi
}

# The tarball in $1 holds every file git has but those only a checkout needs,
# and adds nothing but autotools' output (no objects, logs or caches).
dist_is_git() {
    # nothing to compare in a tree unpacked from a tarball
    [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ] || return 0
    tar tzf "$1" | sed -e 's|^[^/]*/||' -e '/\/$/d' -e '/^$/d' | sort >_build/dist.files
    git ls-files | grep -Ev '(^|/)\.gitignore$|^\.ci/|^m4/\.keep$' | sort >_build/git.files
    missing=$(comm -23 _build/git.files _build/dist.files)
    extra=$(comm -13 _build/git.files _build/dist.files \
            | grep -Ev '^(configure|Makefile\.in|aclocal\.m4|config\.h\.in|build-aux/.*|m4/.*)$')
    [ -z "$missing" ] || echo "distcheck: in git, not in the tarball (EXTRA_DIST):" $missing
    [ -z "$extra" ] || echo "distcheck: in the tarball, not in git:" $extra
    [ -z "$missing$extra" ]
}

pytest_in() {   # stage, build dir, pytest arguments...
    name=$1
    dir=$2
    shift 2
    rm -f "$dir/pytest.xml"
    make -C "$dir" -s check-integration PYTEST_ARGS="$* --junitxml=$(pwd)/$dir/pytest.xml"
    count "$name" $(/usr/bin/python3 - "$dir/pytest.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    suite = ET.parse(sys.argv[1]).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    bad = int(suite.get("failures")) + int(suite.get("errors"))
    print(int(suite.get("tests")) - int(suite.get("skipped")) - bad, bad)
except (OSError, ET.ParseError, AttributeError, TypeError):
    print(0, 1)
EOF
)
}

stage() {   # name
    case $1 in
    unit)
        if build _build; then unit unit _build; else count unit 0 1; fi ;;
    clang)
        if build _build-clang CC=clang; then unit clang _build-clang; else count clang 0 1; fi ;;
    analyze)
        echo "== analyze: cppcheck over src/ and mod_authproxy.c (make analyze)"
        if build _build && make -C _build -s analyze; then count analyze 1 0
        else count analyze 0 1; fi ;;
    distcheck)
        # the tarball's build is CI's clang build: a clang stage of its own
        # would cost a third configure and build (some 40 s on 2 cores)
        echo "== distcheck: make distcheck (clang, -Werror) in _build, the tarball against git"
        if ! build _build; then
            count distcheck 0 1
        elif ! make -C _build -s -j"$(nproc)" distcheck \
                DISTCHECK_CONFIGURE_FLAGS="--enable-werror CC=clang" >_build/distcheck.out 2>&1; then
            tail -40 _build/distcheck.out
            count distcheck 0 1
        elif dist_is_git "_build/$(sed -n '/archives ready/{n;p;}' _build/distcheck.out)"; then
            count distcheck 1 0
        else
            count distcheck 0 1
        fi ;;
    unit-asan)
        if build _build-asan --enable-sanitizers; then unit unit-asan _build-asan
        else count unit-asan 0 1; fi ;;
    integration)
        echo "== integration: pytest against httpd (ASan, UBSan) and Auth.js"
        if build _build-asan --enable-sanitizers; then
            # one worker more than cores: most of a test is waiting on its servers
            pytest_in integration _build-asan -q -rfEs -n "$(( $(nproc) + 1 ))"
        else count integration 0 1; fi
        # memory figures mean nothing under ASan: those tests run in the plain build
        echo "== integration-memory: the memory tests in the plain build"
        if build _build; then pytest_in integration-memory _build -q -rfEs test_12_memory.py
        else count integration-memory 0 1; fi ;;
    fuzz)
        echo "== fuzz: each target for ${FUZZ_SECONDS:-30} s"
        if build _build && make -C _build -s -j"$(nproc)" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}" \
                >_build/fuzz.out 2>&1; then
            count fuzz "$(sed -n 's/^fuzz: \([0-9]*\) passed.*/\1/p' _build/fuzz.out)" 0
        else
            cat _build/fuzz.out
            count fuzz 0 1
        fi ;;
    package)
        echo "== package: the Debian package"
        if scripts/package-check.sh; then count package 1 0; else count package 0 1; fi ;;
    *)
        echo "test: no stage '$1'" >&2
        count "$1" 0 1 ;;
    esac
}

# distcheck and fuzz run beside the stage after them (unit-asan, package),
# their output held until that one has ended: configure, lintian and apt, each
# on one core, leave the other idle. Neither writes what the other reads.
held=""
hold() {    # stage: started in the background
    held=$1
    autotools   # here, not in both stages at once
    rm -f "_build/$held.held" "_build/$held.counts"
    # their count() only notes what the one below will count
    (count() { echo "$1 $2 $3" >>"_build/$held.counts"; }; stage "$held") \
        >"_build/$held.held" 2>&1 &
    held_pid=$!
}
release() { # the held stage waited for, its output printed and counted
    [ -n "$held" ] || return 0
    wait "$held_pid"
    cat "_build/$held.held"
    if [ -s "_build/$held.counts" ]; then
        while read -r name p f; do count "$name" "$p" "$f"; done <"_build/$held.counts"
    else
        count "$held" 0 1
    fi
    held=""
}

mkdir -p _build
for s in $STAGES; do
    case $s in
    distcheck|fuzz) release; hold "$s" ;;
    *) stage "$s"; release ;;
    esac
done
release
echo "test: by stage:$summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
