#!/bin/bash
# sipbridge against rtpengine, side by side, same load (issue #9).
# The systems take turns at each step of a ramp (sipbridge N, rtpengine
# N, sipbridge N', ...), so that a drift in the shared VM's speed hits
# both alike. For each system and each step, a fresh daemon runs pinned to
# SB_GW_CPU (default 0) and sbload pinned to SB_GEN_CPU (default 1):
#  * sipbridge: media.workers = 1; sbload sets the calls up over SIP/WS
#    (INVITE with the WebRTC leg's offer) and echoes the RTP on its UAS;
#  * rtpengine (userspace, table = -1, one worker thread; config from
#    tests/bench/rtpengine-setup.sh): sbload --ng sends the same offer
#    over the NG protocol (offer/answer/delete), answers the RTP/AVP side
#    with the same echo socket, so each packet makes the same trip
#    WebRTC leg (ICE + DTLS-SRTP) -> daemon -> plain RTP echo -> daemon
#    -> WebRTC leg.
# Two runs per system: relay (PCMU both sides, SRTP <-> RTP) and
# transcoding (browser leg Opus only, SIP side PCMU). The daemon's CPU is
# read from /proc/PID/stat over the measurement window (all its threads).
#
#   tests/bench/run_compare.sh
#
# Environment: SB_BUILD (build dir without --enable-asan, default
# ./build), SB_RELAY_STEPS (default "50 100 150 200 250 300"),
# SB_TRANS_STEPS (default "25 50 75 100 150"), SB_STEP_S (measurement
# window per step, default 8), SB_WINDOW (set-ups in flight, default 50),
# SB_CALLS_PER_WS (calls sharing one of sbload's WebSockets, default 10,
# as in run_relay.sh; rtpengine's runs have none, being driven over NG),
# SB_GW_CPU / SB_GEN_CPU, SB_NICE (default -20 as root), SB_INSTALL=1
# (apt-get rtpengine-daemon / gnuplot-nox when missing), SB_BENCH_DOC
# (where the run is appended, default doc/BENCHMARKS.md, "-" = nowhere),
# SB_RTPENGINE (rtpengine binary, default from PATH), SB_PLOT (PNG written, default doc/bench-cpu.png when SB_BENCH_DOC is the
# default, else WORK/bench-cpu.png), SB_MEM_S (default 45; 0 = no
# memory phase), SB_MEM_RELAY / SB_MEM_TRANS (default "300 600" /
# "100 150").
# Memory phase, after the ramps: resident memory per call once the calls
# have run SB_MEM_S seconds, past the 32 s a call's set-up transactions
# live (RFC 3261/6026 timers), at two call counts per mode for each
# system: the average per call at each, and the slope between them (what
# one more call costs, without the daemon's one-off growth).
# A system stops at its first failing step (>= 98 % CPU, > 1 %
# loss or > 1 % late: 60 ms round trip relayed, 150 ms transcoded, as in
# run_relay.sh); each step is bounded (timeout), every process started
# here is stopped here by PID. Without rtpengine the script says
# "rtpengine: skipped (not installed)" and measures sipbridge alone.
# Latency columns: one-way = sbload's send -> daemon -> arrival at the
# echo (kernel receive stamp minus the payload's send stamp; relay only,
# the transcoder rewrites the payload), both systems; gateway residence
# = sipbridge's own sipbridge_media_residence_seconds histogram from its
# admin /metrics, diffed over the window ("-" when the daemon lacks it;
# rtpengine has none). Under each table: both at the passing step
# nearest 80 % of each system's largest passing step.
set -u
if [ -z "${SB_IN_SESSION:-}" ] && command -v setsid >/dev/null; then
	SB_IN_SESSION=1 exec setsid -w "$0" "$@"
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.sh"
BUILD=$(cd "${SB_BUILD:-./build}" && pwd) || exit 2
GW_BIN=$BUILD/gateway/sipbridge
LOAD=$BUILD/tests/bench/sbload
RELAY_STEPS=${SB_RELAY_STEPS:-50 100 150 200 250 300}
TRANS_STEPS=${SB_TRANS_STEPS:-25 50 75 100 150}
MEM_S=${SB_MEM_S:-45}
MEM_RELAY=${SB_MEM_RELAY:-300 600}
MEM_TRANS=${SB_MEM_TRANS:-100 150}
DUR=${SB_STEP_S:-8}
WIN=${SB_WINDOW:-50}
PER_WS=${SB_CALLS_PER_WS:-10}
GW_CPU=${SB_GW_CPU:-0}
GEN_CPU=${SB_GEN_CPU:-1}
pin_self "$GEN_CPU"
if [ "$(id -u)" = 0 ]; then NICE=${SB_NICE:--20}; else NICE=${SB_NICE:-0}; fi
[ -w /proc/self/autogroup ] && echo "$NICE" >/proc/self/autogroup 2>/dev/null
DOC=${SB_BENCH_DOC:-$ROOT/doc/BENCHMARKS.md}
for b in "$GW_BIN" "$LOAD"; do
	[ -x "$b" ] || { echo "missing $b (build first: make -C BUILD gateway/sipbridge tests/bench/sbload)"; exit 2; }
done
WORK=$(mktemp -d /tmp/sb-compare.XXXXXX)
if [ -z "${SB_PLOT:-}" ]; then
	if [ -z "${SB_BENCH_DOC:-}" ]; then PLOT=$ROOT/doc/bench-cpu.png; else PLOT=$WORK/bench-cpu.png; fi
else
	PLOT=$SB_PLOT
fi
CMDLINE="SB_BUILD=${SB_BUILD:-./build} SB_STEP_S=$DUR SB_WINDOW=$WIN SB_CALLS_PER_WS=$PER_WS SB_NICE=$NICE SB_RELAY_STEPS=\"$RELAY_STEPS\" SB_TRANS_STEPS=\"$TRANS_STEPS\" SB_MEM_S=$MEM_S SB_MEM_RELAY=\"$MEM_RELAY\" SB_MEM_TRANS=\"$MEM_TRANS\" tests/bench/run_compare.sh"
DPID=""

cleanup() { stop_pid "$DPID"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ---- rtpengine present? (optionally installed)
RTP_OK=1
INST=""
[ "${SB_INSTALL:-0}" = 1 ] && INST=--install
NG=$(free_port)
if ! RTP_BIN=$("$ROOT/tests/bench/rtpengine-setup.sh" $INST "$WORK/rtpengine" "$NG" 2>>"$WORK/setup.log"); then
	RTP_OK=0
	echo "rtpengine: skipped (not installed)"
fi
RTP_VER=$([ "$RTP_OK" = 1 ] && "$RTP_BIN" --version 2>&1 | sed -n 's/^Version: //p')

bench_gw_conf "$WORK/gw.conf"

# ---- raw per-operation costs on the daemon's core, and the ceiling they
# set: a relayed packet is one UDP receive + one send (the sendto+recv
# pair) and one SRTP protect or unprotect; a relayed call moves 100
# packets a second (50 each way). A transcoded call adds the codec work
# bench_codec measures per 20 ms (both directions). bench_wake gives the
# latency floor under both systems: how long this machine takes to wake a
# receiver asleep on the daemon's core.
ops_costs() {
	local ops=$BUILD/tests/bench/bench_ops codec=$BUILD/tests/bench/bench_codec
	local wake=$BUILD/tests/bench/bench_wake
	if [ ! -x "$ops" ] || [ ! -x "$codec" ]; then
		echo "per-operation costs: skipped (build tests/bench/bench_ops and tests/bench/bench_codec)"
		return
	fi
	taskset -c "$GW_CPU" nice -n "$NICE" "$ops" >"$WORK/ops.txt" 2>&1
	SB_SRTP_NSS=1 taskset -c "$GW_CPU" nice -n "$NICE" "$ops" 2>&1 | grep '^srtp' >>"$WORK/ops.txt"
	taskset -c "$GW_CPU" nice -n "$NICE" "$codec" 2>&1 | grep -E '^(opus 8|PCMU|call opus48/c5|SILK call)' >>"$WORK/ops.txt"
	# its threads pin themselves: receiver on the daemon's CPU
	[ -x "$wake" ] && nice -n "$NICE" "$wake" "$GW_CPU" "$GEN_CPU" >>"$WORK/ops.txt" 2>&1
	awk '
		/^srtp AES_CM/ && /OpenSSL/ { ossl = ($5 + $8) / 2 }
		/^srtp AES_CM/ && /libsrtp2/ { nss = ($5 + $8) / 2 }
		/^udp/ { udp = $(NF - 3) }
		/^call opus48\/c5/ { xc = $7 }
		END {
			if (!udp || !ossl) { print "per-operation costs: incomplete, see ops.txt"; exit }
			r = 100 * (udp + ossl)
			printf "Ceiling from these costs (one core, nothing else): relay %.2f us per packet (UDP pair %.2f + SRTP %.2f) = %d calls; ", udp + ossl, udp, ossl, 1e6 / r
			printf "with libsrtp2'"'"'s built-in SRTP (%.2f us) %d calls", nss, 1e6 / (100 * (udp + nss))
			if (xc) printf "; transcoded (adds %.1f us codec work per 20 ms) %d calls", xc, 1e6 / (r + 50 * xc)
			print ""
		}' "$WORK/ops.txt" >"$WORK/ceiling.txt"
	echo "Per-operation costs on CPU $GW_CPU:"
	sed 's/^/    /' "$WORK/ops.txt"
	cat "$WORK/ceiling.txt"
}
ops_costs | tee "$WORK/ops.md"

start_sipbridge() {
	nice -n "$NICE" taskset -c "$GW_CPU" "$GW_BIN" -c "$WORK/gw.conf" >>"$WORK/gw.log" 2>&1 &
	DPID=$!
	local i
	for i in $(seq 50); do
		curl -fs "http://127.0.0.1:$HTTP/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "sipbridge did not start; see $WORK/gw.log"; return 1
}

start_rtpengine() {
	# foreground = true: nice and taskset exec it, so $! is its PID
	nice -n "$NICE" taskset -c "$GW_CPU" "$RTP_BIN" --config-file="$WORK/rtpengine/rtpengine.conf" \
		--config-section=bench >>"$WORK/rtpengine.log" 2>&1 &
	DPID=$!
	local i
	for i in $(seq 50); do
		[ -n "$(ss -Huln "sport = :$NG" 2>/dev/null)" ] && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "rtpengine did not start; see $WORK/rtpengine.log"; tail -3 "$WORK/rtpengine.log"; return 1
}

# run_step SYSTEM CODEC N -> STEP="cpu gen loss latepct p50 p99 verdict
# down_p50 down_p99 res_p50 res_p99" (µs, "-" when not measured) or
# "fail REASON"; appends the RESULT line to WORK/results.txt. Not in
# a subshell, so that DPID stays known to the EXIT trap.
run_step() {
	local sys=$1 codec=$2 n=$3 late_ms=60 out r target
	[ "$codec" = opus ] && late_ms=150
	if [ "$sys" = sipbridge ]; then
		start_sipbridge || { STEP="fail daemon"; return; }
		target=(--ws "ws://127.0.0.1:$HTTP/" --uas-port "$UAS"
			--metrics "http://127.0.0.1:$ADMIN/metrics" --calls-per-ws "$PER_WS")
	else
		start_rtpengine || { STEP="fail daemon"; return; }
		target=(--ng "127.0.0.1:$NG")
	fi
	ulimit -n "$(ulimit -Hn)"
	out=$(timeout $((DUR + 60)) nice -n "$NICE" taskset -c "$GEN_CPU" "$LOAD" "${target[@]}" \
		-n "$n" -d "$DUR" --window "$WIN" --codec "$codec" --late-ms "$late_ms" \
		--gw-pid "$DPID" 2>>"$WORK/sbload.log")
	stop_pid "$DPID"; DPID=""
	r=$(grep '^RESULT' <<<"$out")
	echo "$sys $codec $n $r" >>"$WORK/results.txt"
	if [ "$(val ok "$r")" != 1 ] || [ "$(val up "$r")" != "$n" ]; then
		STEP="fail $(val up "$r")/$n up $(val reason "$r")"; return
	fi
	local cpu loss gen late recv latepct verdict
	cpu=$(val gw_cpu_pct "$r"); loss=$(val loss_pct "$r"); gen=$(val gen_cpu_pct "$r")
	late=$(val late "$r"); recv=$(val recv "$r")
	latepct=$(awk -v l="$late" -v r="$recv" 'BEGIN { printf "%.1f", (r > 0 ? 100 * l / r : 100) }')
	verdict=pass
	awk -v c="$cpu" -v l="$loss" -v lp="$latepct" 'BEGIN { exit !(c < 98 && l <= 1 && lp <= 1) }' || verdict=FAIL
	awk -v g="$gen" 'BEGIN { exit !(g >= 95) }' && verdict="$verdict(gen)"
	STEP="$cpu $gen $loss $latepct $(val rtt_p50_ms "$r") $(val rtt_p99_ms "$r") $verdict"
	STEP="$STEP $(val down_p50_us "$r") $(val down_p99_us "$r") $(val gw_res_p50_us "$r") $(val gw_res_p99_us "$r")"
}

# ramp CODEC STEPS...: one line per step and system into
# WORK/SYSTEM_CODEC.dat ("calls cpu gen loss late p50 p99 verdict d50 d99
# r50 r99": the columns plot_cpu.sh and per_core read come first). The
# systems take turns at each step, so that both meet the machine in the
# same state (its speed drifts by up to 30 % within minutes); a system
# stops after its first failing step, the ramp when both have.
ramp() {
	local codec=$1 n s line
	shift
	local -A stopped=()
	for s in $SYSTEMS; do : >"$WORK/${s}_$codec.dat"; done
	for n in "$@"; do
		for s in $SYSTEMS; do
			[ -n "${stopped[$s]:-}" ] && continue
			echo "== $s $codec $n calls"
			run_step "$s" "$codec" "$n"
			line=$STEP
			echo "   $line"
			case $line in
			fail*) echo "# $n $line" >>"$WORK/${s}_$codec.dat"; stopped[$s]=1; continue ;;
			esac
			echo "$n $line" >>"$WORK/${s}_$codec.dat"
			case $line in *pass*) ;; *) stopped[$s]=1 ;; esac
		done
		[ "${#stopped[@]}" = "$(wc -w <<<"$SYSTEMS")" ] && break
	done
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
SYSTEMS=sipbridge
[ "$RTP_OK" = 1 ] && SYSTEMS="sipbridge rtpengine"
# shellcheck disable=SC2086
ramp pcmu $RELAY_STEPS
# shellcheck disable=SC2086
ramp opus $TRANS_STEPS

# memory CODEC N1 N2: each system at N1 and N2 calls for MEM_S seconds;
# one line per system: "SYSTEM kib1 kib2 slope" (KiB per call; "-" when
# a step did not bring all its calls up)
memory() {
	local codec=$1 n1=$2 n2=$3 s n r k1 k2 dur=$DUR
	DUR=$MEM_S
	for s in $SYSTEMS; do
		for n in "$n1" "$n2"; do
			echo "== memory: $s $codec $n calls for $MEM_S s"
			run_step "$s" "$codec" "$n"
		done
		k1=$(grep "^$s $codec $n1 " "$WORK/results.txt" | tail -1)
		k2=$(grep "^$s $codec $n2 " "$WORK/results.txt" | tail -1)
		awk -v n1="$n1" -v n2="$n2" -v s="$s" \
			-v b1="$(val gw_rss_before_kb "$k1")" -v a1="$(val gw_rss_kb "$k1")" -v u1="$(val up "$k1")" \
			-v b2="$(val gw_rss_before_kb "$k2")" -v a2="$(val gw_rss_kb "$k2")" -v u2="$(val up "$k2")" '
			BEGIN {
				ok1 = u1 == n1 && a1 > 0; ok2 = u2 == n2 && a2 > 0
				printf "%s %s %s %s\n", s,
					ok1 ? sprintf("%.0f", (a1 - b1) / n1) : "-",
					ok2 ? sprintf("%.0f", (a2 - b2) / n2) : "-",
					ok1 && ok2 ? sprintf("%.0f", ((a2 - b2) - (a1 - b1)) / (n2 - n1)) : "-"
			}' >>"$WORK/memory_$codec.txt"
	done
	DUR=$dur
}
if [ "$MEM_S" -gt 0 ]; then
	# shellcheck disable=SC2086
	memory pcmu $MEM_RELAY
	# shellcheck disable=SC2086
	memory opus $MEM_TRANS
fi
T1=$(date +%s)

# table MODE-TITLE CODEC: one row per step with both systems
table() {
	local codec=$2
	echo "| calls | sipbridge CPU % | rtpengine CPU % | CPU ratio rtpengine / sipbridge | loss % sb / rt | late % sb / rt | RTT p50 / p99 ms sipbridge | RTT p50 / p99 ms rtpengine | one-way p50 / p99 µs sipbridge | one-way p50 / p99 µs rtpengine | gateway residence p50 / p99 µs sipbridge | step sb / rt |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	awk -v rt="$RTP_OK" '
		# a pair of fields of a step, "-" when absent (no step, or a
		# line written before these columns existed)
		function pair(have, x, y) { return (have && x != "" ? x : "-") " / " (have && y != "" ? y : "-") }
		FNR == 1 { f++ }
		/^#/ { next }
		f == 1 { sb[$1] = $0; order[++n] = $1 }
		f == 2 { r[$1] = $0; if (!($1 in sb)) order[++n] = $1 }
		END {
			for (i = 1; i <= n; i++) {
				k = order[i]; delete a; delete b
				if (k in sb) split(sb[k], a, " ")
				if (k in r) split(r[k], b, " ")
				ratio = (k in sb && k in r && a[2] > 0) ? sprintf("%.2f", b[2] / a[2]) : "-"
				printf "| %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s | %s | %s / %s |\n", k,
					(k in sb) ? a[2] : "-", (k in r) ? b[2] : (rt ? "-" : "skipped"), ratio,
					(k in sb) ? a[4] : "-", (k in r) ? b[4] : "-",
					(k in sb) ? a[5] : "-", (k in r) ? b[5] : "-",
					(k in sb) ? a[6] : "-", (k in sb) ? a[7] : "-",
					(k in r) ? b[6] : "-", (k in r) ? b[7] : "-",
					pair((k in sb), a[9], a[10]), pair((k in r), b[9], b[10]),
					pair((k in sb), a[11], a[12]),
					(k in sb) ? a[8] : "-", (k in r) ? b[8] : "-"
			}
		}' "$WORK/sipbridge_$codec.dat" "$([ "$RTP_OK" = 1 ] && echo "$WORK/rtpengine_$codec.dat" || echo /dev/null)"
}

# calls per core: largest passing step N at CPU c -> N * 100 / c
per_core() {   # per_core FILE -> "N est" or "- -"
	awk '!/^#/ && $8 == "pass" { n = $1; c = $2 } END { if (n) printf "%d %d", n, n * 100 / c; else print "- -" }' "$1" 2>/dev/null || echo "- -"
}
# lat80 CODEC: the latency line of each system under its table
lat80() {
	local s
	for s in $SYSTEMS; do
		awk '!/^#/ { print $1, ($8 == "pass"), $9, $10, $11, $12 }' "$WORK/${s}_$1.dat" | lat_at_80 "$s"
	done
}
summary() {
	local codec=$1 what=$2 sbn sbe rtn rte ratio
	read -r sbn sbe <<<"$(per_core "$WORK/sipbridge_$codec.dat")"
	if [ "$RTP_OK" = 1 ]; then
		read -r rtn rte <<<"$(per_core "$WORK/rtpengine_$codec.dat")"
		ratio=$(awk -v a="$sbe" -v b="$rte" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
		echo "$what: sipbridge $sbn calls passed (≈ $sbe per core at that CPU cost), rtpengine $rtn passed (≈ $rte per core); sipbridge / rtpengine = $ratio"
	else
		echo "$what: sipbridge $sbn calls passed (≈ $sbe per core at that CPU cost); rtpengine: skipped (not installed)"
	fi
}

{
	cat "$WORK/ops.md"
	echo
	echo "Relay (PCMU, SRTP ↔ RTP):"
	echo
	table Relay pcmu
	echo
	lat80 pcmu
	echo
	echo "Transcoding (browser Opus ↔ PCMU):"
	echo
	table Transcoding opus
	echo
	lat80 opus
	echo
	summary pcmu "Relayed calls"
	echo
	summary opus "Transcoded calls"
	if [ "$MEM_S" -gt 0 ]; then
		echo
		echo "Resident memory per call (RssAnon growth over the daemon's own at start, divided by the calls) after $MEM_S s of calls, and the slope between the two counts:"
		echo
		echo "| system | mode | calls | KiB per call | calls | KiB per call | KiB per added call |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		# shellcheck disable=SC2086
		set -- $MEM_RELAY $MEM_TRANS
		awk -v m=relayed -v n1="$1" -v n2="$2" '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, m, n1, $2, n2, $3, $4 }' "$WORK/memory_pcmu.txt"
		awk -v m=transcoded -v n1="$3" -v n2="$4" '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, m, n1, $2, n2, $3, $4 }' "$WORK/memory_opus.txt"
	fi
} >"$WORK/table.md"
echo
cat "$WORK/table.md"

# ---- plot
if ! command -v gnuplot >/dev/null && [ "${SB_INSTALL:-0}" = 1 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gnuplot-nox >>"$WORK/setup.log" 2>&1
fi
if command -v gnuplot >/dev/null; then
	if "$ROOT/tests/bench/plot_cpu.sh" "$WORK" "$PLOT" \
		"$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc --all)-vCPU shared VM, daemon on CPU $GW_CPU, load average before: $LOAD0" \
		>>"$WORK/gnuplot.log" 2>&1; then
		echo "plot: $PLOT"
	else
		echo "plot failed: $WORK/gnuplot.log"
	fi
else
	echo "plot: skipped (gnuplot not installed; SB_INSTALL=1 installs gnuplot-nox)"
fi
echo "work dir: $WORK ($((T1 - T0)) s of measurements)"

if [ "$DOC" != "-" ]; then
	{
		echo
		echo "### Comparison run $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
		echo
		echo "Command: \`$CMDLINE\`"
		echo
		echo "Machine: $(nproc --all) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r);" \
			"daemon on CPU $GW_CPU (sipbridge media.workers = 1; rtpengine ${RTP_VER:-absent}, userspace, num-threads = 1)," \
			"sbload on CPU $GEN_CPU, nice $NICE; ${DUR} s window per step; $((T1 - T0)) s in all;" \
			"load average before the run: $LOAD0 (other jobs share the machine)."
		echo
		cat "$WORK/table.md"
	} >>"$DOC"
	echo "appended to $DOC"
fi
