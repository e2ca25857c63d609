#!/bin/sh
# Build the webphone's JsSIP bundle: gateway/www/vendor/jssip.min.js (the
# `JsSIP` global), from node_modules with esbuild. The npm package ships no
# browser build (E2E.md, "JsSIP 3.13.8"), and no copy of JsSIP is committed:
# gateway/www/vendor/ is generated and gitignored.
#   scripts/bundle-www.sh [--force] [--no-install]
# Idempotent and quiet: installs node_modules from package-lock.json (npm ci)
# only when they are missing, rebuilds only when the bundle is older than
# package-lock.json or this script. Prints nothing on success.
# --force rebuilds anyway; --no-install never runs npm (for make: exits 1
# with a note when node_modules are missing).
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/gateway/www/vendor/jssip.min.js
install=1
for a in "$@"; do
	case $a in
	--force) rm -f "$OUT" ;;
	--no-install) install=0 ;;
	*) echo "bundle-www.sh: unknown option $a" >&2; exit 2 ;;
	esac
done
cd "$ROOT"
if [ ! -x node_modules/.bin/esbuild ] || [ ! -f node_modules/jssip/lib/JsSIP.js ]; then
	if [ $install = 0 ]; then
		echo "note: webphone bundle not built: no node_modules (run 'npm ci' in $ROOT)" >&2
		exit 1
	fi
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
if [ -s "$OUT" ] && [ "$OUT" -nt package-lock.json ] && [ "$OUT" -nt "$ROOT/scripts/bundle-www.sh" ]; then
	exit 0
fi
mkdir -p "$(dirname "$OUT")"
# --legal-comments=eof keeps JsSIP's MIT notice in the shipped file.
node_modules/.bin/esbuild node_modules/jssip/lib/JsSIP.js --bundle --format=iife \
	--global-name=JsSIP --minify --target=es2018 --legal-comments=eof \
	--log-level=warning --outfile="$OUT.tmp"
mv "$OUT.tmp" "$OUT"
