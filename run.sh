#!/bin/sh
# Build sipbridge and run it on conf/sipbridge.conf (loopback only):
# open http://127.0.0.1:8080/ for the webphone.
set -e
cd "$(dirname "$0")"
scripts/setup.sh
exec build/gateway/sipbridge -c conf/sipbridge.conf "$@"
