#!/bin/bash
# Signalling benchmark, media anchoring off: REGISTER transactions per
# second and call set-ups (INVITE/200/ACK/BYE/200, no SDP anywhere, so the
# gateway creates no media session) per second, over WebSocket through the
# daemon to sipp (tests/bench/sipp_registrar.xml, sipp_uas_nosdp.xml).
# The daemon runs pinned to CPU 0 with media.workers = 1; sbload (C
# WebSocket clients, each with one request or call outstanding) and sipp
# share CPU 1.
#
#   tests/bench/run_sig.sh [C ...]      (default: 10 50 200 clients)
#
# Environment as tests/bench/run_relay.sh: SB_BUILD, SB_STEP_S (default
# 10), SB_NICE, SB_GW_CPU / SB_GEN_CPU, SB_BENCH_DOC ("-" = none).
# 127.0.0.1 only; every process started here is stopped here by PID.
set -u
# Nice levels only order processes within one autogroup (one session);
# against the other sessions on a shared machine, run in a session of our
# own and raise that autogroup's weight (root only).
if [ -z "${SB_IN_SESSION:-}" ] && command -v setsid >/dev/null; then
	SB_IN_SESSION=1 exec setsid -w "$0" "$@"
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.sh"
HERE=$ROOT/tests/bench
BUILD=$(cd "${SB_BUILD:-./build}" && pwd) || exit 2
GW_BIN=$BUILD/gateway/sipbridge
LOAD=$BUILD/tests/bench/sbload
STEPS=${*:-10 50 200}
DUR=${SB_STEP_S:-10}
GW_CPU=${SB_GW_CPU:-0}
GEN_CPU=${SB_GEN_CPU:-1}
pin_self "$GEN_CPU"
if [ "$(id -u)" = 0 ]; then NICE=${SB_NICE:--20}; else NICE=${SB_NICE:-0}; fi
[ -w /proc/self/autogroup ] && echo "$NICE" >/proc/self/autogroup 2>/dev/null
DOC=${SB_BENCH_DOC:-$ROOT/doc/BENCHMARKS.md}
CMDLINE="SB_BUILD=${SB_BUILD:-./build} SB_STEP_S=$DUR SB_NICE=$NICE tests/bench/run_sig.sh $STEPS"
command -v sipp >/dev/null || { echo "sipp not installed"; exit 77; }
for b in "$GW_BIN" "$LOAD"; do
	[ -x "$b" ] || { echo "missing $b (build first)"; exit 2; }
done
WORK=$(mktemp -d /tmp/sb-sig.XXXXXX)
GW_PID=""
SIPP_PID=""

cleanup() { stop_pid "$SIPP_PID"; stop_pid "$GW_PID"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_gw_conf "$WORK/gw.conf"

start_gw() {
	ulimit -n "$(ulimit -Hn)"
	nice -n "$NICE" taskset -c "$GW_CPU" "$GW_BIN" -c "$WORK/gw.conf" >>"$WORK/gw.log" 2>&1 &
	GW_PID=$!
	local i
	for i in $(seq 50); do
		curl -fs "http://127.0.0.1:$HTTP/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "daemon did not start; see $WORK/gw.log"; exit 1
}

start_sipp() {   # start_sipp SCENARIO
	nice -n "$NICE" taskset -c "$GEN_CPU" sipp -sf "$1" -i 127.0.0.1 -p "$UAS" -nostdin \
		-max_recv_loops 100000 -trace_err -error_file "$WORK/sipp_err.log" \
		>"$WORK/sipp.log" 2>&1 &
	SIPP_PID=$!
	sleep 0.5
	kill -0 "$SIPP_PID" 2>/dev/null || { echo "sipp did not start"; cat "$WORK/sipp.log"; exit 1; }
}

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for mode in register call; do
	scen=$HERE/sipp_registrar.xml
	[ "$mode" = call ] && scen=$HERE/sipp_uas_nosdp.xml
	for c in $STEPS; do
		start_gw
		start_sipp "$scen"
		echo "== $mode, $c clients"
		out=$(timeout $((DUR + 60)) nice -n "$NICE" taskset -c "$GEN_CPU" "$LOAD" --mode "$mode" \
			--ws "ws://127.0.0.1:$HTTP/" --target "sip:bench@127.0.0.1:$UAS" \
			-n "$c" -d "$DUR" --gw-pid "$GW_PID" 2>>"$WORK/sbload.log")
		r=$(grep '^RESULT' <<<"$out")
		echo "  $r"
		echo "$r" >>"$WORK/results.txt"
		stop_pid "$SIPP_PID"; SIPP_PID=""
		stop_pid "$GW_PID"; GW_PID=""
		what="REGISTER transactions"
		[ "$mode" = call ] && what="calls (INVITE…BYE)"
		if [ "$(val ok "$r")" != 1 ]; then
			ROWS+=("| $what | $c | failed: $(val reason "$r") |||||")
			continue
		fi
		ROWS+=("| $what | $c | $(val per_s "$r") | $(val fail "$r") | $(val lat_p50_ms "$r") / $(val lat_p99_ms "$r") | $(val gw_cpu_pct "$r") | $(val gen_cpu_pct "$r") |")
	done
done

{
	echo "| what | WS clients | per second | failed | latency p50 / p99 ms (REGISTER→200, INVITE→200) | gateway CPU % | sbload CPU % |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS[@]}"
} >"$WORK/table.md"
echo
cat "$WORK/table.md"
echo "work dir: $WORK"
if [ "$DOC" != "-" ]; then
	{
		echo
		echo "### Signalling run $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
		echo
		echo "Command: \`$CMDLINE\`"
		echo
		echo "Machine: $(nproc --all) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r);" \
			"daemon on CPU $GW_CPU, sbload and sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1) on CPU $GEN_CPU, nice $NICE; ${DUR} s window;" \
			"load average before the run: $LOAD0 (other jobs share the machine)."
		echo
		cat "$WORK/table.md"
	} >>"$DOC"
	echo "appended to $DOC"
fi
