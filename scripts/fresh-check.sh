#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the README's two commands as a newcomer would: on a freshly installed
# Debian 12 (bookworm) with nothing but a clone of this repository, as root.
#
#   scripts/fresh-check.sh            as root, on a Debian (or Ubuntu) host
#
# It builds a Debian 12 root with debootstrap once (kept as a tarball in
# FRESH_CACHE, default /var/cache/mod_authproxy-fresh), unpacks a new copy of
# it for every run (FRESH_ROOT, default /var/tmp/mod_authproxy-fresh), clones
# the committed HEAD of this checkout into it and, inside a chroot, runs
#   1. scripts/test.sh (every test), then
#   2. scripts/demo.sh, and signs in against it (alice@example.com) and
#      checks that the page shows the session.
# The host's way out to the package registries is copied in, and nothing
# else: its apt sources and settings, its extra CA certificates and its npm
# configuration. Services are not started inside the chroot (policy-rc.d):
# the tests start their own. It takes 10 to 20 minutes; not part of CI.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FRESH_CACHE:-/var/cache/mod_authproxy-fresh}
ROOTDIR=${FRESH_ROOT:-/var/tmp/mod_authproxy-fresh}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
DEMO_PORT=${FRESH_DEMO_PORT:-18080}
ARCH=$(dpkg --print-architecture)
BASE="$CACHE/bookworm-$ARCH.tar.gz"

say() {
    echo "fresh-check: $*"
}

[ "$(id -u)" = 0 ] || { echo "fresh-check: run as root (debootstrap, chroot)" >&2; exit 1; }
if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi

if [ ! -f "$BASE" ]; then
    say "building a Debian 12 root with debootstrap (once, about 5 minutes)"
    rm -rf "$CACHE/build"
    mkdir -p "$CACHE/build"
    debootstrap --arch="$ARCH" --include=ca-certificates bookworm "$CACHE/build" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || { tail -30 "$CACHE/debootstrap.log"; exit 1; }
    tar -C "$CACHE/build" -czf "$BASE.part" .
    mv "$BASE.part" "$BASE"
    rm -rf "$CACHE/build"
fi

cleanup() {
    for m in dev/shm dev/pts dev sys proc; do
        umount -l "$ROOTDIR/$m" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

cleanup
rm -rf "$ROOTDIR"
mkdir -p "$ROOTDIR"
say "unpacking a fresh root in $ROOTDIR"
tar -C "$ROOTDIR" -xzf "$BASE"

# the host's way to the registries, nothing more
rm -f "$ROOTDIR"/etc/apt/sources.list
cp -a /etc/apt/sources.list.d/. "$ROOTDIR/etc/apt/sources.list.d/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$ROOTDIR/etc/apt/"
find "$ROOTDIR/etc/apt/sources.list.d" -name '*.disabled*' -delete
cp -a /etc/apt/apt.conf.d/. "$ROOTDIR/etc/apt/apt.conf.d/"
cp -a /usr/local/share/ca-certificates/. "$ROOTDIR/usr/local/share/ca-certificates/" 2>/dev/null || true
for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do
    [ -f "$f" ] && mkdir -p "$ROOTDIR$(dirname "$f")" && cp "$f" "$ROOTDIR$f"
done
cp /etc/resolv.conf "$ROOTDIR/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$ROOTDIR/usr/sbin/policy-rc.d"
chmod 755 "$ROOTDIR/usr/sbin/policy-rc.d"

mount -t proc proc "$ROOTDIR/proc"
mount -t sysfs sys "$ROOTDIR/sys"
mount --bind /dev "$ROOTDIR/dev"
mount -t devpts devpts "$ROOTDIR/dev/pts"
mount -t tmpfs tmpfs "$ROOTDIR/dev/shm"

in_root() {
    chroot "$ROOTDIR" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c "$1"
}

in_root "update-ca-certificates >/dev/null 2>&1"
say "cloning $(git -C "$SRC" rev-parse --short HEAD) into /root/mod_authproxy"
git clone -q --no-hardlinks "$SRC" "$ROOTDIR/root/mod_authproxy"

say "1/2: scripts/test.sh"
start=$(date +%s)
status=0
in_root "cd /root/mod_authproxy && scripts/test.sh" || status=$?
say "scripts/test.sh exited $status after $(( $(date +%s) - start )) s"

say "2/2: scripts/demo.sh on port $DEMO_PORT, then a sign-in"
in_root "cd /root/mod_authproxy && DEMO_PORT=$DEMO_PORT scripts/demo.sh" \
    >"$ROOTDIR/demo.out" 2>&1 &
demo=$!
signed_in=1
for _ in $(seq 1 600); do
    if grep -q "Ctrl-C stops it" "$ROOTDIR/demo.out"; then
        in_root "python3 /root/mod_authproxy/scripts/demo_sign_in.py $DEMO_PORT" && signed_in=0
        break
    fi
    kill -0 "$demo" 2>/dev/null || break
    sleep 1
done
cat "$ROOTDIR/demo.out"
pkill -TERM -f "scripts/demo.py" 2>/dev/null || true
wait "$demo" 2>/dev/null || true

if [ "$status" = 0 ] && [ "$signed_in" = 0 ]; then
    say "PASS: both README commands work on a fresh Debian 12"
    exit 0
fi
say "FAIL: test.sh exited $status; demo sign-in $( [ "$signed_in" = 0 ] && echo passed || echo failed)"
exit 1
