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
node_modules/.bin/esbuild node_modules/jssip/lib/JsSIP.js --bundle --format=iife \
	--global-name=JsSIP --minify --target=es2018 --legal-comments=eof \
	--log-level=warning --metafile="$OUT.meta" --outfile="$OUT.js.tmp"
# The MIT-style licences of JsSIP and of every package bundled with it ask
# for their notices in all copies: put them at the top of the file.
node -e '
	const fs = require("fs"), path = require("path");
	const meta = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
	const pkgs = new Set(Object.keys(meta.inputs).map(f => (/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(f) || [])[1]).filter(Boolean));
	let out = "/*! Built by scripts/bundle-www.sh from npm packages; their licences follow.\n";
	for (const dir of [...pkgs].sort()) {
		const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
		const lic = fs.readdirSync(dir).find(n => /^(licen[cs]e|copying)(\.|$)/i.test(n));
		out += `\n== ${pj.name} ${pj.version} (${pj.license || "see package"}) ==\n`;
		if (lic) out += fs.readFileSync(path.join(dir, lic), "utf8").replace(/\*\//g, "* /").trim() + "\n";
	}
	process.stdout.write(out + "*/\n");
' "$OUT.meta" >"$OUT.tmp"
cat "$OUT.js.tmp" >>"$OUT.tmp"
rm -f "$OUT.meta" "$OUT.js.tmp"
mv "$OUT.tmp" "$OUT"
