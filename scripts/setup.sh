#!/bin/bash
# Installs what a fresh Debian 12 machine lacks, then configures and builds
# sipbridge. Idempotent and quiet when everything is already there.
#   scripts/setup.sh [--asan] [--werror] [--builddir DIR] [--no-build] [--test-deps]
# --test-deps also installs the test tools (sipp, baresip, Kamailio, sox, Chromium,
# npm packages for the browser tests).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir="$top/build"
conf_args=()
build=1
test_deps=0
while [ $# -gt 0 ]; do
	case "$1" in
	--asan) conf_args+=(--enable-asan) ;;
	--werror) conf_args+=(--enable-werror) ;;
	--builddir) builddir=$(realpath -m "$2"); shift ;;
	--no-build) build=0 ;;
	--test-deps) test_deps=1 ;;
	*) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

build_pkgs=(build-essential autoconf automake libtool pkg-config
	libglib2.0-dev libsofia-sip-ua-dev libsofia-sip-ua-glib-dev
	libwebsockets-dev libwebsockets-evlib-glib libnice-dev libsrtp2-dev
	libssl-dev libopus-dev libspandsp-dev libconfig-dev libjansson-dev
	libsqlite3-dev libcmocka-dev liburing-dev nodejs npm)
test_pkgs=(sip-tester baresip-core kamailio sox chromium iproute2 iptables clang
	libclang-rt-14-dev curl procps psmisc)

missing=()
want=("${build_pkgs[@]}")
[ $test_deps = 1 ] && want+=("${test_pkgs[@]}")
for p in "${want[@]}"; do
	# node/npm may come from elsewhere (nvm, NodeSource): accept the commands.
	case $p in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm packages: JsSIP for the webphone page, and the browser-test tools.
if [ ! -d "$top/node_modules" ] || [ "$top/package-lock.json" -nt "$top/node_modules/.package-lock.json" ]; then
	echo "setup: npm ci"
	(cd "$top" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The webphone's JsSIP bundle (generated, not committed).
"$top/scripts/bundle-www.sh"

[ $build = 1 ] || exit 0
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
	(cd "$top" && ./autogen.sh >/dev/null 2>&1)
fi
mkdir -p "$builddir"
stamp="$builddir/.configure-args"
if [ ! -f "$builddir/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${conf_args[*]:-}" ]; then
	(cd "$builddir" && "$top/configure" -q "${conf_args[@]}")
	echo "${conf_args[*]:-}" > "$stamp"
fi
make -s -C "$builddir" -j"$(nproc)" >/dev/null
