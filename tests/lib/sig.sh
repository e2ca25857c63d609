# shellcheck shell=bash
# Helpers for the signalling tests (tests/{sip,e2e}/t_sig_*.sh), on top of
# tests/lib/common.sh (source that first).

# sb_sig NAME TIMEOUT SCRIPT [ARGJSON]: run tests/lib/sig_ws.js (a scripted
# SIP-over-WebSocket peer) in the namespace; its JSON result goes to
# $SB_WORK/NAME.json, its message log to $SB_WORK/NAME.log. ARGJSON gets
# "ws" and "http" (the gateway's URLs) merged in.
sb_sig_args() {
	local extra=${1:-"{}"}
	node -e 'const a = JSON.parse(process.argv[1]); a.ws = process.argv[2]; a.http = process.argv[3]; a.sip = +process.argv[4]; process.stdout.write(JSON.stringify(a))' \
		"$extra" "$SB_WS_URL" "$SB_HTTP_URL" "$SB_SIP_PORT"
}
sb_sig() {
	local name=$1 t=$2 script=$3 args
	args=$(sb_sig_args "${4:-"{}"}")
	NODE_PATH=$SB_ROOT/node_modules timeout -k 3 "$t" ip netns exec "$SB_NS" \
		node "$SB_ROOT/tests/lib/sig_ws.js" --out "$SB_WORK/$name.json" --arg "$args" "$script" \
		</dev/null >"$SB_WORK/$name.log" 2>&1
}
# sb_sig_bg NAME SCRIPT [ARGJSON]: the same in the background (sb_wait NAME).
sb_sig_bg() {
	local name=$1 script=$2 args
	args=$(sb_sig_args "${3:-"{}"}")
	SB_PIDS[$name]=""
	(cd "$SB_WORK" && NODE_PATH=$SB_ROOT/node_modules exec ip netns exec "$SB_NS" \
		node "$SB_ROOT/tests/lib/sig_ws.js" --out "$SB_WORK/$name.json" --arg "$args" "$script") \
		</dev/null >"$SB_WORK/$name.log" 2>&1 &
	SB_PIDS[$name]=$!
}

# sb_expect_idle [SECONDS]: GET /health until calls and transactions are 0
# (default 10 s); one check.
sb_expect_idle() {
	local t=${1:-10} i h
	for ((i = 0; i < t * 5; i++)); do
		h=$(sb_health 2>/dev/null)
		if echo "$h" | grep -q '"calls": *0[,}]' && echo "$h" | grep -q '"transactions": *0[,}]'; then
			sb_pass "no orphan calls or transactions (/health: calls 0, transactions 0)"
			return 0
		fi
		sleep 0.2
	done
	sb_fail "orphans left: /health = $h"
}

# sb_msg_count FILE REGEX: number of lines of a sipp trace matching REGEX.
sb_msg_count() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }

# sb_sig_binding FILE: from a registrar's sipp trace, set SIG_CONTACT (the
# Contact URI of the last REGISTER: the gateway's alias) and SIG_PATH (its
# Path header value). sipp traces keep the CRs of the wire: strip them, a
# stray CR inside a -set value ends the header block early.
sb_sig_binding() {
	local m=$1
	SIG_CONTACT=$(tr -d '\r' <"$m" | awk '/^REGISTER /{c=""} /^Contact:/{c=$0} END{print c}' | sed -E 's/^Contact:[^<]*<([^>]*)>.*/\1/')
	SIG_PATH=$(tr -d '\r' <"$m" | awk '/^REGISTER /{p=""} /^Path:/{p=$0} END{print p}' | sed -E 's/^Path: *//')
}
