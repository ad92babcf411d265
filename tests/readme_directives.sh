#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make check: README.md's directive tables describe the directives the code
# defines, no more and no fewer. The code's are the AP_INIT_* entries of the
# command table in src/authproxy_config.c, their AUTHPROXY_DIR_* names looked
# up in src/authproxy_config.h; the README's are the rows "| `AuthProxy..." of each
# table whose header starts with "| directive". Says each directive missing
# on either side; exit 0 when none is, 1 when one is, 99 when a source cannot
# be read as expected. Runs from any directory: $srcdir (set by make check)
# or this script's own place names the source tree.
top=${srcdir:-$(dirname "$0")/..}
header=$top/src/authproxy_config.h
table=$top/src/authproxy_config.c
readme=$top/README.md

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

for f in "$header" "$table" "$readme"; do
    if [ ! -r "$f" ]; then
        echo "$0: cannot read $f" >&2
        exit 99
    fi
done

# The macros, "AUTHPROXY_DIR_X Name" a line.
sed -n 's/^#define[ 	]*\(AUTHPROXY_DIR_[A-Z0-9_]*\)[ 	]*"\([^"]*\)".*/\1 \2/p' \
    "$header" > "$tmp/macros"

# The first argument of each AP_INIT_* in the table: a macro or a literal.
awk '
    /^const command_rec authproxy_cmds\[\] = \{/ { inside = 1; next }
    inside && /^\};/ { inside = 0 }
    inside {
        line = $0
        while (match(line, /AP_INIT_[A-Z0-9_]+[ \t]*\([ \t]*/)) {
            line = substr(line, RSTART + RLENGTH)
            name = line
            sub(/[ \t,].*/, "", name)
            print name
        }
    }
' "$table" > "$tmp/arguments"

# Each argument resolved to the directive's name.
if ! awk '
    NR == FNR { macro[$1] = $2; next }
    /^"[^"]*"$/ { print substr($0, 2, length($0) - 2); next }
    $0 in macro { print macro[$0]; next }
    { print "unresolved " $0; bad = 1 }
    END { exit bad }
' "$tmp/macros" "$tmp/arguments" > "$tmp/resolved"; then
    grep '^unresolved ' "$tmp/resolved" | while read -r _ name; do
        echo "src/authproxy_config.c: $name is neither a string nor an AUTHPROXY_DIR_*" \
             "of src/authproxy.h" >&2
    done
    exit 99
fi
sort -u "$tmp/resolved" > "$tmp/code"

# The README's directive rows: "| `AuthProxyName ARGS` | ...".
awk '
    /^\| directive/ { inside = 1; next }
    !/^\|/ { inside = 0 }
    inside && /^\| `AuthProxy/ {
        name = substr($0, 4)
        sub(/[ `].*/, "", name)
        print name
    }
' "$readme" | sort -u > "$tmp/readme"

if [ ! -s "$tmp/code" ] || [ ! -s "$tmp/readme" ]; then
    echo "$0: no directives found in $table or in $readme's tables" >&2
    exit 99
fi

status=0
for name in $(comm -23 "$tmp/code" "$tmp/readme"); do
    echo "README.md: no row for $name, which src/authproxy_config.c defines"
    status=1
done
for name in $(comm -13 "$tmp/code" "$tmp/readme"); do
    echo "README.md: a row for $name, which src/authproxy_config.c does not define"
    status=1
done
if [ $status -eq 0 ]; then
    echo "README.md describes the $(wc -l < "$tmp/code") directives of src/authproxy_config.c"
fi
exit $status
