#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package from the files of this checkout that git knows or
# would take (nothing ignored), or of a tree unpacked from the release tarball
# (all but what builds and setup add), checks it
# with lintian, installs it, enables the module with a2enmod (which brings its
# dependencies), runs apache2ctl configtest, and purges it again, checking
# that nothing is left behind. As root, on Debian 12; changes the system's
# apache2 configuration only while it runs.
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup-debian.sh debhelper lintian fakeroot git
PKG=libapache2-mod-authproxy
work=$(mktemp -d /tmp/authproxy-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT

say() {
    echo "package-check: $*"
}

say "building $PKG from the checkout (dpkg-buildpackage -us -uc -b, about a minute)"
mkdir "$work/src"
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -C "$work/src" -xf -
else
    tar --exclude='./_build*' --exclude=./.tools --exclude=./tests/upstream/node_modules \
        --exclude=__pycache__ --exclude=.pytest_cache -cf - . | tar -C "$work/src" -xf -
fi
(cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) \
    || { tail -40 "$work/build.log"; exit 1; }
deb=$(ls "$work"/${PKG}_*.deb)
say "built $(basename "$deb")"
# dh_auto_test ran make check in the build: the unit tests and corpus replays.
grep -Eq '^# PASS: +[1-9]' "$work/build.log" && grep -Eq '^# FAIL: +0' "$work/build.log" \
    || { say "make check did not pass in the package build"; exit 1; }
say "make check passed in the package build ($(sed -n 's/^# PASS: *//p' "$work/build.log") tests)"

say "lintian"
lintian --fail-on error "$deb" "$work"/${PKG}_*.changes

dpkg -c "$deb" | awk '{print $6}' > "$work/files"
for want in ./usr/lib/apache2/modules/mod_authproxy.so ./etc/apache2/mods-available/authproxy.load \
            ./etc/apache2/mods-available/authproxy.conf; do
    grep -qx "$want" "$work/files" || { say "missing $want"; exit 1; }
done
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/apache2/mods-available/authproxy.load \
    | grep -qx "# Depends: proxy proxy_http socache_shmcb" || { say "no Depends line"; exit 1; }

DEPS="proxy_http socache_shmcb proxy"
before=""
for m in $DEPS; do
    [ -e /etc/apache2/mods-enabled/$m.load ] && before="$before $m"
done
restore() {
    a2dismod -q -f $DEPS >/dev/null 2>&1 || true
    [ -z "$before" ] || a2enmod -q $before >/dev/null
}

say "apt install, a2enmod authproxy, apache2ctl configtest"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log"; exit 1; }
# the package enables the module as it installs: start again from nothing, so
# that a2enmod shows it brings its dependencies
a2dismod -q -f authproxy $DEPS >/dev/null 2>&1 || true
a2enmod authproxy
for m in authproxy proxy proxy_http socache_shmcb; do
    [ -e /etc/apache2/mods-enabled/$m.load ] || { say "a2enmod did not enable $m"; exit 1; }
done
apache2ctl configtest

say "apt purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "$PKG" >>"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log"; exit 1; }
left=$(ls /etc/apache2/mods-available/authproxy.* /etc/apache2/mods-enabled/authproxy.* \
          /usr/lib/apache2/modules/mod_authproxy.so 2>/dev/null || true)
[ -z "$left" ] || { say "left behind: $left"; exit 1; }
restore
dpkg-query -W "$PKG" >/dev/null 2>&1 && { say "$PKG still known to dpkg"; exit 1; }
say "PASS: built, lintian-clean, installed, enabled, configtest passed, purged without a trace"
