#!/usr/bin/env bash
# Command 1 of the README: installs what is missing, builds, and starts the
# server in the foreground on 127.0.0.1:50051 with its embedded defaults
# (audit store in ./tradecheck-data, the bundled agreements/). Extra
# arguments are passed to the server, e.g. --listen=127.0.0.1:6000.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh tradecheck_server tradecheck
exec "${BUILD_DIR:-build}/server/tradecheck_server" "$@"
