# SPDX-License-Identifier: Apache-2.0
# Sourced by the scripts: the Node.js that scripts/setup-debian.sh fetched,
# where the system's is too old, comes first on PATH.
if [ -x "$(pwd)/.tools/node/bin/node" ]; then
    PATH="$(pwd)/.tools/node/bin:$PATH"
    export PATH
fi
