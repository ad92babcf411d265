#!/bin/sh
# Installs what building, testing and the demo need on Debian 12 (run as root),
# and any Debian packages named as arguments (bench/run.sh adds its tools),
# then the Node packages of the test upstream from its lock file.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential autoconf automake libtool pkg-config apache2 apache2-dev
  libjansson-dev libssl-dev libcurl4-openssl-dev check python3 python3-pytest curl php-fpm
  clang libclang-rt-dev memcached redis-server $*"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node may come from elsewhere than Debian (with its own npm): look for the commands.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -d tests/upstream/node_modules ] \
   || [ tests/upstream/package-lock.json -nt tests/upstream/node_modules ]; then
    (cd tests/upstream && npm ci --no-audit --no-fund --loglevel=error)
fi
