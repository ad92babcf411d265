#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mod_authproxy soak (not part of make check): see TESTING.md ("Soak").
# Installs what it lacks (wrk), builds the module, then runs bench/soak.py,
# which starts httpd and the Auth.js upstream on loopback, loads them with wrk
# for SOAK_SECONDS (60) per configuration (local decoding, then the /session
# fetch with the cache), checks and stops everything; exit 1 on a failure.
set -eu
cd "$(dirname "$0")/.."

scripts/setup-debian.sh wrk
scripts/build.sh >/dev/null
exec /usr/bin/python3 bench/soak.py
