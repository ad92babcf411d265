#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sets up a fresh Debian machine, builds the module and starts the demo.
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
. scripts/env.sh   # the Node.js that setup may have fetched
scripts/build.sh
exec /usr/bin/python3 scripts/demo.py
