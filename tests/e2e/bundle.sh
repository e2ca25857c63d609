#!/bin/sh
# Build the browser bundles of JsSIP and SIP.js (the npm packages ship none,
# E2E.md 5.4) into tests/e2e/.work/www/{jssip,sipjs}.bundle.js, and copy
# sipML5's own browser build there (SIPml-api.js).
# Idempotent and quiet: installs node_modules from package-lock.json only when
# missing, rebuilds a bundle only when it is older than package-lock.json.
# Prints nothing on success; exits non-zero with esbuild's message otherwise.
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/tests/e2e/.work/www
cd "$ROOT"
if [ ! -x node_modules/.bin/esbuild ] || [ ! -d node_modules/jssip ] || [ ! -d node_modules/sip.js ] ||
	[ ! -d node_modules/sipml ]; then
	npm ci --no-audit --no-fund --silent >/dev/null 2>&1 || npm ci --no-audit --no-fund
fi
mkdir -p "$OUT"
build() { # ENTRY GLOBAL OUTFILE
	if [ ! -s "$3" ] || [ package-lock.json -nt "$3" ]; then
		node_modules/.bin/esbuild "$1" --bundle --format=iife --global-name="$2" --minify \
			--log-level=warning --outfile="$3.tmp"
		mv "$3.tmp" "$3"
	fi
}
build node_modules/jssip/lib/JsSIP.js JsSIP "$OUT/jssip.bundle.js"
build node_modules/sip.js/lib/index.js SIP "$OUT/sipjs.bundle.js"
# sipML5 ships a browser build (the SIPml-api.js release): served as it is
if [ ! -s "$OUT/SIPml-api.js" ] || [ package-lock.json -nt "$OUT/SIPml-api.js" ]; then
	cp node_modules/sipml/SIPml-api.js "$OUT/SIPml-api.js"
fi
