#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what building, testing and the demo need on Debian 12 (run as
# root), and any Debian packages named as arguments (bench/run.sh adds its
# tools); then a Node.js new enough for the test upstream, and the upstream's
# Node packages from its lock file.
#
# The test upstream needs Node.js >= 20 (Auth.js uses globalThis.crypto and
# Headers.getSetCookie). Debian 12's nodejs is 18: where the system's node is
# older, Node.js 20 comes from the npm registry (the node-linux-<arch>
# package) into .tools/node/, which scripts/env.sh puts first on PATH.
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh

NODE_VERSION=20.20.2
PACKAGES="build-essential autoconf automake libtool pkg-config apache2 apache2-dev
  libjansson-dev libssl-dev libcurl4-openssl-dev check python3 python3-pytest
  python3-pytest-xdist python3-cryptography curl php-fpm
  clang libclang-rt-dev cppcheck memcached redis-server $*"

step() {
    echo "setup: $*"
}

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# npm (and a node to run it) may come from elsewhere than Debian: look for the commands
command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    count=$(echo $missing | wc -w)
    step "installing $count Debian package(s):$missing"
    step "(apt-get: a few minutes on a fresh machine, its log in /tmp/authproxy-apt.log)"
    apt-get update -qq >/tmp/authproxy-apt.log 2>&1 \
        || { cat /tmp/authproxy-apt.log; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
        >>/tmp/authproxy-apt.log 2>&1 || { tail -40 /tmp/authproxy-apt.log; exit 1; }
fi

node_major() {
    "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0
}

if [ "$(node_major node)" -lt 20 ]; then
    case "$(dpkg --print-architecture)" in
        amd64) arch=x64 ;;
        arm64) arch=arm64 ;;
        *) echo "setup: no Node.js >= 20 for $(dpkg --print-architecture) in the npm registry" \
                "(node-linux-*); install one on PATH" >&2; exit 1 ;;
    esac
    step "node on PATH is $(node --version 2>/dev/null || echo missing); the test upstream needs" \
         ">= 20: fetching node-linux-$arch@$NODE_VERSION from the npm registry into .tools/" \
         "(about 30 MB, under a minute)"
    rm -rf .tools/node-pkg
    npm install --prefix .tools/node-pkg --no-save --no-audit --no-fund --loglevel=error \
        "node-linux-$arch@$NODE_VERSION" >/dev/null
    mkdir -p .tools/node/bin
    ln -sf ../../node-pkg/node_modules/node-linux-$arch/bin/node .tools/node/bin/node
    . scripts/env.sh
    step "using $(command -v node) $(node --version)"
fi

if [ ! -d tests/upstream/node_modules ] \
   || [ tests/upstream/package-lock.json -nt tests/upstream/node_modules ]; then
    step "npm ci in tests/upstream (Auth.js and Express, under a minute)"
    (cd tests/upstream && npm ci --no-audit --no-fund --loglevel=error)
fi
