#!/bin/bash
# Relay benchmark: how many SRTP<->RTP PCMU calls (50 packets/s each way)
# one gateway core carries. For each step a fresh daemon runs pinned to
# CPU 0 with media.workers = 1, and sbload (tests/bench/sbload.c) pinned
# to CPU 1 sets up N calls over WebSocket (ICE + DTLS-SRTP client legs),
# echoes their RTP on the SIP side and measures for SB_STEP_S seconds.
#
#   tests/bench/run_relay.sh [N ...]        (default: 100 200 400 600 800 1000)
#
# Environment: SB_BUILD (build dir, default ./build; use a build without
# --enable-asan), SB_STEP_S (window, default 10), SB_WINDOW (set-ups in
# flight, default 50), SB_CALLS_PER_WS (calls sharing one of sbload's
# WebSockets, default 10: its GLib loop polls every connection on each
# pass, and 600 idle ones cost it a quarter of its core, so that it
# saturated before the daemon; the media worker never sees them),
# SB_TICK_US (sbload's send timer, default 1000 µs: each tick sends the
# packets then due, about 1/20 of the calls' at 1 ms; 250 makes bursts
# four times smaller, at a cost to the generator that saturates it from
# 600 calls),
# SB_GW_CPU / SB_GEN_CPU (default 0 / 1),
# SB_BENCH_DOC (file the results are appended to, default
# doc/BENCHMARKS.md; "-" = none), SB_PROFILE=strace or perf (profile the
# daemon for 4 s in the middle of the last step's window: syscall counts in
# WORK/strace.txt, or perf record -g into WORK/perf.data; perf sampling is
# unreliable in some VMs, strace counts are not), SB_NICE (nice level of
# both processes, default -20 when root: the machine is shared with other
# jobs and a descheduled gateway shows up as latency and loss),
# SB_CODEC=opus (transcoding run: sbload offers Opus only, the UAS answers
# PCMU, the daemon transcodes both ways; "late" is then > 150 ms because
# each direction goes through a jitter buffer).
# Latency columns: one-way = sbload's send -> daemon -> arrival at the
# echo (kernel receive stamp minus the payload's send stamp; PCMU only,
# Opus payloads are rewritten), gateway residence = the daemon's own
# sipbridge_media_residence_seconds histogram scraped from its admin
# /metrics at both ends of the window ("-" when the daemon lacks it).
# Under the table: both at the passing step nearest 80 % of the largest.
# Everything runs on 127.0.0.1; every process started here is stopped
# here (by PID). A step passes when the gateway stays below 98 % CPU,
# loses at most 1 % and delivers at least 99 % of packets within 60 ms
# round trip (no standing queue); the ramp stops at the first step that
# fails. A step where sbload itself reaches 95 % CPU is marked: beyond it
# the generator, not the gateway, may be the limit.
set -u
# Nice levels only order processes within one autogroup (one session);
# against the other sessions on a shared machine, run in a session of our
# own and raise that autogroup's weight (root only).
if [ -z "${SB_IN_SESSION:-}" ] && command -v setsid >/dev/null; then
	SB_IN_SESSION=1 exec setsid -w "$0" "$@"
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.sh"
BUILD=$(cd "${SB_BUILD:-./build}" && pwd) || exit 2
GW_BIN=$BUILD/gateway/sipbridge
LOAD=$BUILD/tests/bench/sbload
STEPS=${*:-100 200 400 600 800 1000}
DUR=${SB_STEP_S:-10}
WIN=${SB_WINDOW:-50}
PER_WS=${SB_CALLS_PER_WS:-10}
TICK_US=${SB_TICK_US:-1000}
CODEC=${SB_CODEC:-pcmu}
LATE_MS=60
[ "$CODEC" = opus ] && LATE_MS=150
GW_CPU=${SB_GW_CPU:-0}
GEN_CPU=${SB_GEN_CPU:-1}
pin_self "$GEN_CPU"
if [ "$(id -u)" = 0 ]; then NICE=${SB_NICE:--20}; else NICE=${SB_NICE:-0}; fi
[ -w /proc/self/autogroup ] && echo "$NICE" >/proc/self/autogroup 2>/dev/null
DOC=${SB_BENCH_DOC:-$ROOT/doc/BENCHMARKS.md}
CMDLINE="SB_BUILD=${SB_BUILD:-./build} SB_STEP_S=$DUR SB_WINDOW=$WIN SB_CALLS_PER_WS=$PER_WS SB_TICK_US=$TICK_US SB_NICE=$NICE SB_CODEC=$CODEC tests/bench/run_relay.sh $STEPS"
for b in "$GW_BIN" "$LOAD"; do
	[ -x "$b" ] || { echo "missing $b (build first: make -C BUILD gateway/sipbridge tests/bench/sbload)"; exit 2; }
done
WORK=$(mktemp -d /tmp/sb-relay.XXXXXX)
GW_PID=""
PERF_PID=""

cleanup() { stop_pid "$PERF_PID"; stop_pid "$GW_PID"; }
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
	echo "daemon did not start; see $WORK/gw.log"; tail -5 "$WORK/gw.log"; exit 1
}

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

HDR="| calls | up | set-ups/s | set-up p50 / p99 ms | gateway CPU % (media worker) | sbload CPU % | relayed pkt/s | loss % | late % (RTT > $LATE_MS ms) | RTT p50 / p99 ms | one-way p50 / p99 µs | gateway residence p50 / p99 µs | UDP backlog KiB gateway / sbload | gateway RSS/call KiB | calls/core at this CPU cost | step |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
NCOLS=$(head -1 <<<"$HDR" | tr -cd '|' | wc -c); NCOLS=$((NCOLS - 1))
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$WORK/lat.dat"
ROWS=()
BEST=0
BEST_EST=""
LAST_STEP=${STEPS##* }
for n in $STEPS; do
	start_gw
	if [ -n "${SB_PROFILE:-}" ] && [ "$n" = "$LAST_STEP" ]; then
		at=$(( n / 150 + 2 + DUR / 2 - 2 ))
		case $SB_PROFILE in
		strace) ( sleep "$at"; exec timeout -s INT 4 strace -c -f -p "$GW_PID" -o "$WORK/strace.txt" ) ;;
		*) ( sleep "$at"; exec perf record -e cpu-clock -g -o "$WORK/perf.data" -p "$GW_PID" -- sleep 4 ) ;;
		esac >"$WORK/profile.log" 2>&1 &
		PERF_PID=$!
	fi
	echo "== $n calls"
	# UDP receive backlog of each side around the middle of the window:
	# tells which process is behind when latency grows
	( sleep $(( n / 150 + 2 + DUR / 2 )); ss -Huanp >"$WORK/ss_$n.txt" 2>/dev/null ) &
	SS_PID=$!
	ulimit -n "$(ulimit -Hn)"
	out=$(timeout $((DUR + 120)) nice -n "$NICE" taskset -c "$GEN_CPU" "$LOAD" --ws "ws://127.0.0.1:$HTTP/" \
		--uas-port "$UAS" -n "$n" -d "$DUR" --window "$WIN" --codec "$CODEC" --late-ms "$LATE_MS" --gw-pid "$GW_PID" \
		--metrics "http://127.0.0.1:$ADMIN/metrics" --calls-per-ws "$PER_WS" --tick-us "$TICK_US" 2>>"$WORK/sbload.log")
	echo "$out" >>"$WORK/results.txt"
	health=$(curl -fs "http://127.0.0.1:$HTTP/health")
	[ -n "$PERF_PID" ] && { wait "$PERF_PID"; PERF_PID=""; }
	stop_pid "$GW_PID"; GW_PID=""
	r=$(grep '^RESULT' <<<"$out")
	wait "$SS_PID" 2>/dev/null
	bl_gw=$(awk '/"sipbridge"/ { q += $2 } END { printf "%d", q / 1024 }' "$WORK/ss_$n.txt")
	bl_sb=$(awk '/"sbload"/ { q += $2 } END { printf "%d", q / 1024 }' "$WORK/ss_$n.txt")
	if [ "$(val ok "$r")" != 1 ]; then
		# as many cells as the header: calls, reason, empty ones, FAIL
		echo "  step failed: $r"; ROWS+=("| $n | failed: $(val reason "$r") |$(printf ' |%.0s' $(seq $((NCOLS - 3)))) FAIL |"); break
	fi
	cpu=$(val gw_cpu_pct "$r"); loss=$(val loss_pct "$r"); gen=$(val gen_cpu_pct "$r")
	late=$(val late "$r"); recv=$(val recv "$r")
	latepct=$(awk -v l="$late" -v r="$recv" 'BEGIN { printf "%.1f", (r > 0 ? 100 * l / r : 100) }')
	verdict=pass
	awk -v c="$cpu" -v l="$loss" -v lp="$latepct" 'BEGIN { exit !(c < 98 && l <= 1 && lp <= 1) }' || verdict=FAIL
	awk -v g="$gen" 'BEGIN { exit !(g >= 95) }' && verdict="$verdict (sbload ≥ 95 % CPU)"
	est=$(awk -v n="$n" -v c="$cpu" 'BEGIN { if (c > 0) printf "%d", n * 100 / c; else print "-" }')
	row="| $n | $(val up "$r") | $(val setups_per_s "$r") | $(val setup_p50_ms "$r") / $(val setup_p99_ms "$r") | $cpu ($(val gw_media_cpu_pct "$r")) | $gen | $(val relayed_pps "$r") | $loss | $latepct | $(val rtt_p50_ms "$r") / $(val rtt_p99_ms "$r") | $(val down_p50_us "$r") / $(val down_p99_us "$r") | $(val gw_res_p50_us "$r") / $(val gw_res_p99_us "$r") | $bl_gw / $bl_sb | $(val rss_per_call_kb "$r") | $est | $verdict |"
	ROWS+=("$row")
	clean=0; [ "${verdict%% *}" = pass ] && clean=1
	echo "$n $clean $(val down_p50_us "$r") $(val down_p99_us "$r") $(val gw_res_p50_us "$r") $(val gw_res_p99_us "$r")" >>"$WORK/lat.dat"
	echo "  $r"
	echo "  health after BYE: $health"
	if [ "${verdict%% *}" = pass ]; then
		BEST=$n
		BEST_EST=$(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%d", n * 100 / c }')
	else
		break
	fi
done

{
	echo "$HDR"
	printf '%s\n' "${ROWS[@]}"
	echo
	lat_at_80 "" <"$WORK/lat.dat"
} >"$WORK/table.md"
echo
cat "$WORK/table.md"
SUMMARY="Relayed calls per gateway core: $BEST calls (largest passing step: < 98 % CPU, ≤ 1 % loss, ≤ 1 % late)"
[ -n "$BEST_EST" ] && SUMMARY="$SUMMARY; CPU cost at that step extrapolated to a full core: ≈ $BEST_EST calls"
echo "$SUMMARY"
echo "work dir: $WORK"

if [ "$DOC" != "-" ]; then
	{
		echo
		echo "### Relay run ($CODEC) $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
		echo
		echo "Command: \`$CMDLINE\`"
		echo
		echo "Machine: $(nproc --all) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r);" \
			"daemon on CPU $GW_CPU (media.workers = 1), sbload on CPU $GEN_CPU, both at nice $NICE; ${DUR} s window per step;" \
			"load average before the run: $LOAD0 (other jobs share the machine)."
		echo
		cat "$WORK/table.md"
		echo
		echo "$SUMMARY."
	} >>"$DOC"
	echo "appended to $DOC"
fi
