#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make check: every message the module logs carries a stable tag, and
# README.md's "Log messages" table lists each one.
#
# The calls are the ap_log_error, ap_log_rerror, ap_log_cerror and
# ap_log_perror of mod_authproxy.c and src/ (comments left out). A call at a
# level above trace starts its format with AUTHPROXY_LOGNO(nnn), three digits;
# a call at trace levels only (LogLevel authproxy:trace1 and up: each route and
# rewrite, developer chatter that an operator acts on never) carries none.
# Each tag is written once in the code. The README's rows are those of the
# table headed "| tag" ("| `AUTHPROXY012` | level | ..."): each tag of the
# code has one, whose level cell names the call's levels (emerg ... debug, as
# LogLevel spells them); a row of a tag the code no longer has says
# "retired", so that its number is never given to another message.
#
# Says what is wrong, each on a line; exit 0 when nothing is, 1 when something
# is, 99 when a source cannot be read as expected. On success it names the
# next free tag. Runs from any directory: $srcdir (set by make check) or this
# script's own place names the source tree.
top=${srcdir:-$(dirname "$0")/..}
readme=$top/README.md

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

set -- "$top/mod_authproxy.c" "$top"/src/*.c "$top"/src/*.h "$readme"
for f in "$@"; do
    if [ ! -r "$f" ]; then
        echo "$0: cannot read $f" >&2
        exit 99
    fi
done
# the sources alone, without the README (the last argument)
sources=
while [ $# -gt 1 ]; do
    sources="$sources $1"
    shift
done

# The log calls and the tags, a line each:
#   call FILE LINE LEVELS TAG   (LEVELS comma-separated, "?" for none; TAG "-" for none)
#   tag FILE LINE TAG           (every AUTHPROXY_LOGNO(...) of the code)
#   bad FILE LINE WHAT
# shellcheck disable=SC2086
awk -v top="$top/" '
    # One line of C without its comments (blanks instead, so columns stay);
    # `state` carries a block comment over to the next line.
    function strip(line,    n, i, c, d, out) {
        n = length(line)
        out = ""
        for (i = 1; i <= n; i++) {
            c = substr(line, i, 1)
            d = substr(line, i, 2)
            if (state == "block") {
                if (d == "*/") { state = "code"; out = out "  "; i++; continue }
                out = out " "
            }
            else if (state == "string" || state == "char") {
                if (c == "\\") { out = out d; i++; continue }
                if ((state == "string" && c == "\"") || (state == "char" && c == "\047")) {
                    state = "code"
                }
                out = out c
            }
            else if (d == "/*") { state = "block"; out = out "  "; i++ }
            else if (d == "//") { break }
            else {
                if (c == "\"") { state = "string" }
                else if (c == "\047") { state = "char" }
                out = out c
            }
        }
        # a string or a character literal ends with its line
        if (state != "block") {
            state = "code"
        }
        return out
    }

    function flush() {
        if (text != "") {
            scan(file, text)
        }
        text = ""
        state = "code"
    }

    function line_at(code, pos,    before) {
        before = substr(code, 1, pos - 1)
        return gsub(/\n/, "\n", before) + 1
    }

    function scan(file, code,    rest, offset, start, line, pos, n, c, depth, state, arg, args,
                  levels, lv, tag, fmt, m, name) {
        # every AUTHPROXY_LOGNO( of the code but its definition
        rest = code
        offset = 0
        while ((pos = index(rest, "AUTHPROXY_LOGNO(")) > 0) {
            line = line_at(code, offset + pos)
            m = substr(rest, pos, 20)
            if (m ~ /^AUTHPROXY_LOGNO\([0-9][0-9][0-9]\)/) {
                print "tag", file, line, "AUTHPROXY" substr(m, 17, 3)
            }
            else if (substr(rest, 1, pos - 1) !~ /#[ \t]*define[ \t]*$/) {
                print "bad", file, line, "a tag that is not AUTHPROXY_LOGNO(nnn), three digits"
            }
            offset += pos + 15
            rest = substr(rest, pos + 16)
        }
        # the calls, argument by argument
        rest = code
        offset = 0
        while (match(rest, /ap_log_[rcp]?error[ \t\n]*\(/)) {
            start = offset + RSTART
            offset += RSTART + RLENGTH - 1
            name = substr(rest, RSTART, RLENGTH)
            if (RSTART > 1 && substr(rest, RSTART - 1, 1) ~ /[A-Za-z0-9_]/) {
                rest = substr(rest, RSTART + RLENGTH)
                continue
            }
            rest = substr(rest, RSTART + RLENGTH)
            line = line_at(code, start)
            # the arguments up to the closing parenthesis
            n = 0
            depth = 0
            state = "code"
            arg = ""
            for (pos = 1; pos <= length(rest); pos++) {
                c = substr(rest, pos, 1)
                if (state == "string" || state == "char") {
                    if (c == "\\") { arg = arg substr(rest, pos, 2); pos++; continue }
                    if ((state == "string" && c == "\"") || (state == "char" && c == "\047")) {
                        state = "code"
                    }
                }
                else if (c == "\"") { state = "string" }
                else if (c == "\047") { state = "char" }
                else if (c == "(") { depth++ }
                else if (c == ")" && depth > 0) { depth-- }
                else if (c == ")" || (c == "," && depth == 0)) {
                    args[++n] = arg
                    arg = ""
                    if (c == ")") {
                        break
                    }
                    continue
                }
                arg = arg c
            }
            if (n < 5) {
                print "bad", file, line, name ") with fewer than five arguments"
                continue
            }
            # the levels the second argument can take
            levels = ""
            lv = args[2]
            while (match(lv, /APLOG_(EMERG|ALERT|CRIT|ERR|WARNING|NOTICE|INFO|DEBUG|TRACE[1-8])/)) {
                m = tolower(substr(lv, RSTART + 6, RLENGTH - 6))
                m = m == "err" ? "error" : m == "warning" ? "warn" : m
                levels = levels (levels == "" ? "" : ",") m
                lv = substr(lv, RSTART + RLENGTH)
            }
            tag = "-"
            fmt = args[5]
            sub(/^[ \t\n]*/, "", fmt)
            if (fmt ~ /^AUTHPROXY_LOGNO\([0-9][0-9][0-9]\)/) {
                tag = "AUTHPROXY" substr(fmt, 17, 3)
            }
            print "call", file, line, (levels == "" ? "?" : levels), tag
        }
    }

    FNR == 1 {
        flush()
        file = substr(FILENAME, 1, length(top)) == top ? substr(FILENAME, length(top) + 1) \
                                                       : FILENAME
    }
    { text = text strip($0) "\n" }
    END { flush() }
' $sources > "$tmp/code" || exit 99

if ! grep -q '^call ' "$tmp/code"; then
    echo "$0: no log calls found in mod_authproxy.c or src/" >&2
    exit 99
fi

# The README's rows: "TAG LEVELS" a line (LEVELS comma-separated, "retired", or
# "?" for a cell that names no level).
awk '
    /^\| tag[ |]/ { inside = 1; next }
    !/^\|/ { inside = 0 }
    inside && /^\| `AUTHPROXY/ {
        split($0, cell, "|")
        tag = cell[2]
        gsub(/[ `]/, "", tag)
        level = tolower(cell[3])
        if (level ~ /retired/) {
            print tag, "retired"
            next
        }
        levels = ""
        while (match(level, /(emerg|alert|crit|error|warn|notice|info|debug)/)) {
            levels = levels (levels == "" ? "" : ",") substr(level, RSTART, RLENGTH)
            level = substr(level, RSTART + RLENGTH)
        }
        print tag, (levels == "" ? "?" : levels)
    }
' "$readme" > "$tmp/readme"

if [ ! -s "$tmp/readme" ]; then
    echo "$0: no table headed '| tag' in $readme" >&2
    exit 99
fi

# Level lists compared as sets: sorted, without repeats.
awk '
    function set(list,    n, i, j, t, a, out) {
        n = split(list, a, ",")
        for (i = 2; i <= n; i++) {
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
        }
        out = ""
        for (i = 1; i <= n; i++) {
            if (i == 1 || a[i] != a[i - 1]) {
                out = out (out == "" ? "" : ",") a[i]
            }
        }
        return out
    }
    function max(a, b) { return a > b ? a : b }

    FILENAME == readme {
        if ($1 in row) {
            print "README.md: " $1 " has two rows"
            bad = 1
        }
        row[$1] = $2 == "retired" ? "retired" : set($2)
        highest = max(highest, substr($1, 10) + 0)
        next
    }
    $1 == "bad" {
        line = $4
        for (i = 5; i <= NF; i++) line = line " " $i
        print $2 ":" $3 ": " line
        bad = 1
        next
    }
    $1 == "tag" {
        if ($4 in used) {
            print $2 ":" $3 ": " $4 " is used twice (also " used[$4] ")"
            bad = 1
        }
        else {
            used[$4] = $2 ":" $3
        }
        highest = max(highest, substr($4, 10) + 0)
        next
    }
    $1 == "call" {
        where = $2 ":" $3
        if ($4 == "?") {
            print where ": a log call whose level is no APLOG_* constant: the check cannot tell it"
            bad = 1
            next
        }
        trace = $4 !~ /(emerg|alert|crit|error|warn|notice|info|debug)/
        if (trace) {
            if ($5 != "-") {
                print where ": " $5 " on a trace-level line, which carries no tag"
                bad = 1
            }
            next
        }
        if ($5 == "-") {
            print where ": a log call at " $4 " whose format does not start with " \
                  "AUTHPROXY_LOGNO(nnn)"
            bad = 1
            next
        }
        calls++
        tagged[$5] = 1
        if (!($5 in row)) {
            print "README.md: no row for " $5 " (" where ") in the Log messages table"
            bad = 1
        }
        else if (row[$5] == "retired") {
            print "README.md: " $5 " (" where ") is marked retired"
            bad = 1
        }
        else if (row[$5] != set($4)) {
            print "README.md: " $5 " (" where ") logs at " set($4) ", its row says " row[$5]
            bad = 1
        }
    }
    END {
        for (t in row) {
            if (!(t in tagged) && row[t] != "retired") {
                print "README.md: a row for " t ", which no log call has (a retired tag says retired)"
                bad = 1
            }
        }
        if (bad) {
            exit 1
        }
        printf "%d log calls carry their tags, each in README.md; the next free tag is " \
               "AUTHPROXY%03d\n", calls, highest + 1
    }
' readme="$tmp/readme" "$tmp/readme" "$tmp/code"
