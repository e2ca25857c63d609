# shellcheck shell=bash
# Shared helpers for sipbridge system tests (tests/sip/t_*.sh, tests/e2e/t_*.sh).
#
# A test sources this file, calls sb_init, then uses the helpers below. Every
# process the test starts runs inside a private network namespace that has only
# `lo` up (see /work/shared/E2E.md §2: Chromium must not run in the root
# namespace, and nothing may leave the machine). sb_init installs an EXIT trap
# that stops every process started through these helpers (by PID) and deletes
# the namespace, also on timeout or Ctrl-C.
#
# Exit codes of a test: 0 pass, 1 fail, 77 skip (reason printed).
#
# Environment:
#   SB_BUILD     build directory holding gateway/sipbridge (default: build/ in the source tree)
#   SB_RESULTS   directory for this test's scratch files and logs
#                (default: a fresh mktemp dir; the runner sets it per test)
#   SB_IP        loopback address of the test (default 127.0.0.1; ::1 for IPv6)
#   SB_SIP_IP    the SIP side's (default SB_IP)
#   SB_SIP_LISTEN  host the SIP listeners bind (default SB_SIP_IP; e.g. a
#                wildcard 0.0.0.0, which the peers still reach at SB_SIP_IP)
#   SB_SIP_FIRST another address whose UDP and TCP listeners come first in
#                listen.sip (dual stack: 127.0.0.1 before SB_SIP_IP=::1)
#   SB_TEST_TIMEOUT  seconds after which the test kills itself (default 110)
#   SB_KEEP      if set, the scratch dir is kept even when the test passes

SB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SB_BUILD=${SB_BUILD:-$SB_ROOT/build}
SB_BIN=${SB_BIN:-$SB_BUILD/gateway/sipbridge}
# The loopback addresses of the namespace: SB_IP for the daemon's HTTP,
# admin and media.address (what the browser reaches), SB_SIP_IP for its
# SIP listeners and the SIP peers (sipp, baresip). SB_IPH and SB_SIP_IPH
# are their forms in host:port and URIs (IPv6 in brackets).
SB_IP=${SB_IP:-127.0.0.1}
SB_SIP_IP=${SB_SIP_IP:-$SB_IP}
sb_iph() { case $1 in *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }
SB_IPH=$(sb_iph "$SB_IP")
SB_SIP_IPH=$(sb_iph "$SB_SIP_IP")
SB_FAILS=0
SB_CHECKS=0
declare -gA SB_PIDS=()      # name -> pid of every background process we started
declare -ga SB_PORTS=()     # ports handed out by sb_free_port in this run
SB_NS=""

# ---------------------------------------------------------------- reporting

sb_log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
sb_pass() { SB_CHECKS=$((SB_CHECKS + 1)); echo "  ok:   $*"; }
sb_fail() { SB_CHECKS=$((SB_CHECKS + 1)); SB_FAILS=$((SB_FAILS + 1)); echo "  FAIL: $*"; }

# sb_skip REASON: print the reason and exit 77 (the EXIT trap still cleans up).
sb_skip() { echo "SKIP: $*"; exit 77; }

# sb_die REASON: a setup step failed; the test cannot go on.
sb_die() { echo "FAIL (setup): $*"; SB_FAILS=$((SB_FAILS + 1)); exit 1; }

# sb_check DESCRIPTION CMD...: run CMD, record pass/fail under DESCRIPTION.
sb_check() {
	local desc=$1; shift
	if "$@"; then sb_pass "$desc"; else sb_fail "$desc"; fi
}

# sb_expect_eq DESCRIPTION EXPECTED ACTUAL
sb_expect_eq() {
	if [ "$2" = "$3" ]; then sb_pass "$1 ($3)"; else sb_fail "$1: expected '$2', got '$3'"; fi
}

# sb_expect_near DESCRIPTION EXPECTED ACTUAL TOLERANCE (numbers, may be floats)
sb_expect_near() {
	if awk -v e="$2" -v a="$3" -v t="$4" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; then
		sb_pass "$1 ($3, want $2±$4)"
	else
		sb_fail "$1: got '$3', want $2±$4"
	fi
}

# sb_expect_ge DESCRIPTION MIN ACTUAL
sb_expect_ge() {
	if awk -v m="$2" -v a="$3" 'BEGIN { exit !(a != "" && a + 0 >= m + 0) }'; then
		sb_pass "$1 ($3 >= $2)"
	else
		sb_fail "$1: got '$3', want >= $2"
	fi
}

# sb_finish: end the test, exit 0 when every check passed, else 1.
sb_finish() {
	if [ "$SB_CHECKS" -eq 0 ]; then
		echo "FAIL: no check was made"
		exit 1
	fi
	if [ "$SB_FAILS" -eq 0 ]; then
		echo "PASS: $SB_CHECKS checks"
		exit 0
	fi
	# What CI shows is the tail of this output: put the gateway's view of
	# the failed run (warnings, media summaries) right before the verdict.
	if [ -s "$SB_WORK/sipbridge.log" ]; then
		echo "  --- gateway log, warnings and media lines:"
		grep -E "WARN|ERROR|CRIT|media |call ended" "$SB_WORK/sipbridge.log" |
			tail -n 20 | cut -c1-300 | sed 's/^/  | /'
	fi
	echo "FAIL: $SB_FAILS of $SB_CHECKS checks failed"
	exit 1
}

# ---------------------------------------------------------------- setup / cleanup

# sb_require_cmd CMD...: skip the test when a tool is missing.
sb_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || sb_skip "missing tool: $c"
	done
}

# sb_require_daemon: skip unless the gateway binary exists and runs --version.
sb_require_daemon() {
	[ -x "$SB_BIN" ] || sb_skip "no daemon binary at $SB_BIN (set SB_BUILD to a build dir)"
	"$SB_BIN" --version >/dev/null 2>&1 || sb_skip "$SB_BIN --version fails (daemon not built yet?)"
}

# sb_require_node_modules: install the npm packages if missing (npm ci from
# package-lock.json, through bundle.sh); skip when that is not possible.
sb_require_node_modules() {
	[ -d "$SB_ROOT/node_modules/playwright-core" ] || "$SB_ROOT/tests/e2e/bundle.sh" >/dev/null 2>&1
	[ -d "$SB_ROOT/node_modules/playwright-core" ] || sb_skip "node_modules missing: run 'npm ci' in $SB_ROOT"
	[ -x /usr/bin/chromium ] || sb_skip "no /usr/bin/chromium"
}

# sb_init NAME: scratch dir, namespace, traps and the self-destruct timer.
sb_init() {
	SB_NAME=${1:-$(basename "$0" .sh)}
	[ "$(id -u)" -eq 0 ] || sb_skip "needs root (network namespaces)"
	sb_require_cmd ip ss timeout curl
	if [ -n "${SB_RESULTS:-}" ]; then
		mkdir -p "$SB_RESULTS"
		SB_WORK=$SB_RESULTS
	else
		SB_WORK=$(mktemp -d "/tmp/sbt-$SB_NAME.XXXXXX")
	fi
	SB_WORK=$(cd "$SB_WORK" && pwd)
	trap sb_cleanup EXIT
	trap 'echo "interrupted"; exit 1' INT TERM
	sb_ns_create
	sb_watchdog "${SB_TEST_TIMEOUT:-110}"
	sb_log "test $SB_NAME: namespace $SB_NS, work dir $SB_WORK"
}

# sb_watchdog SECONDS: TERM this test after SECONDS, so a hang never outlives
# the test. The watchdog is a background subshell we stop in sb_cleanup.
sb_watchdog() {
	local me=$$ secs=$1
	# the sleep is killed with the watchdog so no orphan outlives the test
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$secs" & sp=$!
		wait "$sp" && echo "TIMEOUT: test exceeded ${secs}s" && kill -TERM "$me"
	) &
	SB_WATCHDOG=$!
}

sb_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "${SB_WATCHDOG:-}" ] && { kill "$SB_WATCHDOG" 2>/dev/null; wait "$SB_WATCHDOG" 2>/dev/null; }
	sb_stop_all
	sb_ns_destroy
	sb_short_dirs_release
	if [ "$rc" -eq 0 ] && [ -z "${SB_RESULTS:-}" ] && [ -z "${SB_KEEP:-}" ]; then
		rm -rf "$SB_WORK"
	elif [ -z "${SB_RESULTS:-}" ]; then
		echo "scratch files kept in $SB_WORK"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- namespace

# sb_ns_create: private namespace with only lo up; name unique per run.
sb_ns_create() {
	SB_NS="sbt-$$-$RANDOM"
	ip netns add "$SB_NS" || sb_die "ip netns add $SB_NS"
	ip -n "$SB_NS" link set lo up || sb_die "lo up in $SB_NS"
	# Ports the kernel picks for outgoing sockets (per namespace) stay
	# above the ones sb_free_port/sb_free_range hand out (20000-59999):
	# a daemon once failed to listen on its chosen port because an
	# outgoing connection in the namespace had taken it.
	ip netns exec "$SB_NS" sysctl -qw net.ipv4.ip_local_port_range="60000 65535" ||
		sb_die "ip_local_port_range in $SB_NS"
	# DNS inside the namespace goes to lo and fails at once (ip netns exec
	# bind-mounts this file over /etc/resolv.conf). With the host's
	# resolver, unreachable from here, sofia's resolver retries in a
	# tight loop.
	mkdir -p "/etc/netns/$SB_NS" && echo "nameserver 127.0.0.1" >"/etc/netns/$SB_NS/resolv.conf"
}

sb_ns_destroy() {
	[ -n "$SB_NS" ] || return 0
	ip netns del "$SB_NS" 2>/dev/null
	rm -rf "/etc/netns/$SB_NS"
	SB_NS=""
}

# sb_nsx CMD...: run CMD inside the test's namespace (foreground).
sb_nsx() { ip netns exec "$SB_NS" "$@"; }

# ---------------------------------------------------------------- processes

# sb_bg NAME CMD...: start CMD in the namespace in the background, stdout and
# stderr to $SB_WORK/NAME.log, stdin from /dev/null, working directory
# $SB_WORK. The subshell and `ip netns exec` both exec, so the PID we keep is
# the command's own.
sb_bg() {
	local name=$1; shift
	(cd "$SB_WORK" && exec ip netns exec "$SB_NS" "$@") </dev/null >"$SB_WORK/$name.log" 2>&1 &
	SB_PIDS[$name]=$!
}

# sb_pid NAME: print the PID of a process started with sb_bg.
sb_pid() { echo "${SB_PIDS[$1]:-}"; }

# sb_alive NAME: true while the process runs.
sb_alive() {
	local pid=${SB_PIDS[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# sb_wait NAME [TIMEOUT]: wait for NAME to exit by itself; prints nothing,
# returns its exit status, or 124 after TIMEOUT seconds (process is then stopped).
sb_wait() {
	local name=$1 t=${2:-30} pid=${SB_PIDS[$1]:-} i rc
	[ -n "$pid" ] || return 127
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		sb_stop "$name" 2 >/dev/null
		return 124
	fi
	wait "$pid"; rc=$?
	unset "SB_PIDS[$name]"
	return "$rc"
}

# sb_stop NAME [TIMEOUT] [SIGNAL]: SIGNAL (default TERM), wait up to TIMEOUT
# seconds (default 3), then SIGKILL. Returns the process's exit status
# (128+N when killed by signal N). Prints the seconds it took to stdout on
# request via SB_STOP_TIME (set in the caller's shell).
sb_stop() {
	local name=$1 t=${2:-3} sig=${3:-TERM} pid=${SB_PIDS[$1]:-} i rc start
	[ -n "$pid" ] || return 127
	start=$(date +%s.%N)
	kill -"$sig" "$pid" 2>/dev/null
	for ((i = 0; i < t * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "  note: $name (pid $pid) ignored SIG$sig for ${t}s, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null; rc=$?
	SB_STOP_TIME=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	unset "SB_PIDS[$name]"
	return "$rc"
}

sb_stop_all() {
	local n
	for n in "${!SB_PIDS[@]}"; do
		sb_stop "$n" 2 >/dev/null 2>&1
	done
}

# sb_run TIMEOUT NAME CMD...: run CMD in the namespace in the foreground with a
# timeout; output to $SB_WORK/NAME.log; returns CMD's exit status (124 on timeout).
sb_run() {
	local t=$1 name=$2; shift 2
	(cd "$SB_WORK" && exec timeout -k 3 "$t" ip netns exec "$SB_NS" "$@") </dev/null >"$SB_WORK/$name.log" 2>&1
}

# ---------------------------------------------------------------- ports

# sb_free_port VAR: set VAR to a port that is free (TCP and UDP) in the
# namespace and was never handed out earlier in this test. It assigns instead
# of printing so that the record of handed-out ports survives (a $(...) call
# would run in a subshell and forget it).
sb_free_port() {
	local __var=$1 p used tries
	used=$(ip netns exec "$SB_NS" ss -Hlntu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }')
	for ((tries = 0; tries < 500; tries++)); do
		p=$((20000 + RANDOM % 40000))
		case " ${SB_PORTS[*]} " in *" $p "*) continue ;; esac
		grep -qx "$p" <<<"$used" && continue
		SB_PORTS+=("$p")
		printf -v "$__var" '%s' "$p"
		return 0
	done
	sb_die "no free port found"
}

# sb_free_range LOVAR HIVAR COUNT: set LOVAR/HIVAR to COUNT consecutive ports
# (even start, for RTP) none of which was handed out before.
sb_free_range() {
	local __lo=$1 __hi=$2 n=$3 lo hi p ok tries
	for ((tries = 0; tries < 100; tries++)); do
		lo=$((30000 + (RANDOM % 300) * 100))
		hi=$((lo + n - 1)); ok=1
		for p in "${SB_PORTS[@]}"; do
			if [ "$p" -ge "$lo" ] && [ "$p" -le "$hi" ]; then ok=0; break; fi
		done
		[ "$ok" = 1 ] || continue
		for ((p = lo; p <= hi; p++)); do SB_PORTS+=("$p"); done
		printf -v "$__lo" '%s' "$lo"
		printf -v "$__hi" '%s' "$hi"
		return 0
	done
	sb_die "no free port range found"
}

# sb_free_sipp_media VAR: a media port for sipp's -mp. sipp binds that
# port and the one 2 above it (its video socket) whatever the scenario, so
# both must be free: a port picked later once landed on the +2 and sipp
# exited with "Unable to bind video RTP socket". Reserves 4 ports.
sb_free_sipp_media() {
	local media_hi
	sb_free_range "$1" media_hi 4
}

# sb_wait_port PROTO PORT [TIMEOUT]: wait until something listens on PORT in the namespace.
sb_wait_port() {
	local proto=$1 port=$2 t=${3:-10} i flag
	[ "$proto" = udp ] && flag=-Hlnu || flag=-Hlnt
	for ((i = 0; i < t * 10; i++)); do
		ip netns exec "$SB_NS" ss "$flag" "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- the daemon

# sb_daemon_config FILE: write a config for the daemon from the variables
#   SB_HTTP_PORT SB_SIP_PORT SB_ADMIN_PORT SB_RTP_LO SB_RTP_HI (picked if unset)
#   SB_OUTBOUND_PROXY (default empty), SB_CONF_EXTRA (appended verbatim),
#   SB_MEDIA_EXTRA (settings inside the media group, e.g.
#   "prefer_opus = true;"), SB_TLS_EXTRA (inside the tls group),
#   SB_LOG_LEVEL (adds log.level, e.g. debug).
sb_daemon_config() {
	local f=$1
	[ -n "${SB_HTTP_PORT:-}" ] || sb_free_port SB_HTTP_PORT
	[ -n "${SB_SIP_PORT:-}" ] || sb_free_port SB_SIP_PORT
	[ -n "${SB_ADMIN_PORT:-}" ] || sb_free_port SB_ADMIN_PORT
	[ -n "${SB_RTP_LO:-}" ] || sb_free_range SB_RTP_LO SB_RTP_HI 200
	# SB_SIP_FIRST: listeners put before the test's own (same port), e.g.
	# another family's, which a peer of SB_SIP_IP's family must not be given
	sed -e "s|@SIP_FIRST@|${SB_SIP_FIRST:+$(printf '"udp:%s:@SIP_PORT@", "tcp:%s:@SIP_PORT@", ' "$(sb_iph "$SB_SIP_FIRST")" "$(sb_iph "$SB_SIP_FIRST")")}|g" \
	    -e "s|@HTTP_PORT@|$SB_HTTP_PORT|g" \
	    -e "s|@SIP_PORT@|$SB_SIP_PORT|g" \
	    -e "s|@ADMIN_PORT@|$SB_ADMIN_PORT|g" \
	    -e "s|@RTP_LO@|$SB_RTP_LO|g" \
	    -e "s|@RTP_HI@|$SB_RTP_HI|g" \
	    -e "s|@OUTBOUND_PROXY@|${SB_OUTBOUND_PROXY:-}|g" \
	    -e "s|@MEDIA_EXTRA@|${SB_MEDIA_EXTRA:-}|g" \
	    -e "s|@STUN_SERVER@|${SB_STUN_SERVER:-}|g" \
	    -e "s|@SIP_TLS@|${SB_SIP_TLS_PORT:+, \"tls:@SIPH@:$SB_SIP_TLS_PORT\"}|g" \
	    -e "s|@TLS_CERT@|${SB_TLS_CERT:-}|g" -e "s|@TLS_KEY@|${SB_TLS_KEY:-}|g" \
	    -e "s|@TLS_EXTRA@|${SB_TLS_EXTRA:-}|g" \
	    -e "s|@HTTPS@|${SB_HTTPS_PORT:+@IPH@:$SB_HTTPS_PORT}|g" \
	    -e "s|@IP@|$SB_IP|g" -e "s|@IPH@|$SB_IPH|g" -e "s|@SIPH@|$(sb_iph "${SB_SIP_LISTEN:-$SB_SIP_IP}")|g" \
	    "$SB_ROOT/tests/lib/sipbridge.conf.in" >"$f"
	[ -n "${SB_CONF_EXTRA:-}" ] && printf '%s\n' "$SB_CONF_EXTRA" >>"$f"
	# SB_LOG_LEVEL=debug (env) makes the daemon log verbosely in every test
	[ -n "${SB_LOG_LEVEL:-}" ] && printf 'log: { level = "%s"; };\n' "$SB_LOG_LEVEL" >>"$f"
	return 0
}

# sb_sip_tls [https]: a development certificate for localhost in $SB_WORK/tls
# (SB_TLS_CERT, SB_TLS_KEY, and SB_TLS_PEM: key and certificate in one
# file, as baresip wants it) and a free port for the daemon's SIP TLS
# listener (SB_SIP_TLS_PORT), which sb_daemon_config then adds; with
# "https", also listen.https (SB_HTTPS_PORT; sb_daemon_start then sets
# SB_WSS_URL). sofia's TLS
# transports leak their OpenSSL objects at exit (security_tls.lsan.supp
# says which): the suppressions, with full malloc stacks so that the
# rules match, go to the daemon through the environment.
sb_sip_tls() {
	"$SB_ROOT/conf/make-dev-cert.sh" "$SB_WORK/tls" >"$SB_WORK/cert.out" 2>&1 ||
		sb_die "make-dev-cert.sh failed"
	SB_TLS_CERT=$SB_WORK/tls/localhost.crt
	SB_TLS_KEY=$SB_WORK/tls/localhost.key
	SB_TLS_PEM=$SB_WORK/tls/agent.pem
	cat "$SB_TLS_KEY" "$SB_TLS_CERT" >"$SB_TLS_PEM" && chmod 600 "$SB_TLS_PEM"
	sb_free_port SB_SIP_TLS_PORT
	[ "${1:-}" = https ] && sb_free_port SB_HTTPS_PORT
	export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export LSAN_OPTIONS="suppressions=$SB_ROOT/tests/sip/security_tls.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
}

# sb_daemon_new_ports: forget the ports of the daemon started last, so that
# the next sb_daemon_start NAME (another NAME) gets its own.
sb_daemon_new_ports() { unset SB_HTTP_PORT SB_SIP_PORT SB_ADMIN_PORT SB_RTP_LO SB_RTP_HI; }

# sb_daemon_start [NAME]: write $SB_WORK/NAME.conf, start the daemon in the
# namespace and wait until GET /health answers (10 s). NAME defaults to
# "sipbridge"; the log is $SB_WORK/NAME.log. Dies when it does not come up.
sb_daemon_start() {
	local name=${1:-sipbridge} i
	SB_CONF=$SB_WORK/$name.conf
	sb_daemon_config "$SB_CONF"
	SB_HTTP_URL="http://$SB_IPH:$SB_HTTP_PORT"
	SB_WS_URL="ws://$SB_IPH:$SB_HTTP_PORT"
	SB_WSS_URL=${SB_HTTPS_PORT:+wss://$SB_IPH:$SB_HTTPS_PORT}
	sb_bg "$name" "$SB_BIN" -c "$SB_CONF"
	for ((i = 0; i < 100; i++)); do
		if ! sb_alive "$name"; then
			sb_wait "$name" 1; echo "daemon exited with status $?; log tail:"
			tail -n 20 "$SB_WORK/$name.log"
			sb_die "daemon did not start"
		fi
		sb_health >/dev/null 2>&1 && { sb_log "daemon up on $SB_HTTP_URL (sip port $SB_SIP_PORT)"; return 0; }
		sleep 0.1
	done
	tail -n 20 "$SB_WORK/$name.log"
	sb_die "GET /health did not answer within 10 s"
}

# sb_daemon_reload [NAME]: rewrite NAME's config from the environment
# (SB_OUTBOUND_PROXY, SB_CONF_EXTRA, ... as sb_daemon_config reads them),
# send SIGHUP and wait (5 s) for the daemon to log one more
# "configuration reloaded" line; fails at once when it logs that the
# reload failed.
sb_daemon_reload() {
	local name=${1:-sipbridge} log i n
	log=$SB_WORK/$name.log
	n=$(grep -c 'configuration reloaded from' "$log")
	sb_daemon_config "$SB_WORK/$name.conf"
	kill -HUP "$(sb_pid "$name")" || return 1
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'configuration reloaded from' "$log")" -gt "$n" ] && return 0
		grep -q 'reload failed, keeping the running configuration' "$log" && return 1
		sleep 0.1
	done
	return 1
}

# sb_health: print the /health body (fails on HTTP error).
sb_health() { sb_nsx curl -sf --max-time 2 "$SB_HTTP_URL/health"; }

# ---------------------------------------------------------------- audio

# sb_tone FILE FREQ RATE SECONDS [ENCODING]: a sine at -6 dBFS peak, mono.
# ENCODING: s16 (default, WAV), alaw or ulaw (raw .al/.ul for sipp rtp_stream).
sb_tone() {
	local f=$1 hz=$2 rate=$3 secs=$4 enc=${5:-s16}
	case $enc in
		s16)  sox -n -r "$rate" -c 1 -b 16 "$f" synth "$secs" sine "$hz" vol 0.5 ;;
		alaw) sox -n -r 8000 -c 1 -e a-law -t al "$f" synth "$secs" sine "$hz" vol 0.5 ;;
		ulaw) sox -n -r 8000 -c 1 -e u-law -t ul "$f" synth "$secs" sine "$hz" vol 0.5 ;;
		*) echo "sb_tone: unknown encoding $enc" >&2; return 1 ;;
	esac
}

# sb_domfreq FILE: print "<dominant Hz> <RMS dB>" of a WAV.
sb_domfreq() { "$SB_ROOT/tests/lib/domfreq.sh" "$1"; }

# sb_expect_tone DESCRIPTION FILE HZ [MIN_DB]: the file's dominant frequency is
# HZ (±2 % ) and its RMS level is above MIN_DB (default -30 dB).
sb_expect_tone() {
	local desc=$1 f=$2 hz=$3 min=${4:--30} r fr db
	if [ ! -s "$f" ]; then sb_fail "$desc: no recording ($f)"; return; fi
	r=$(sb_domfreq "$f"); fr=${r% *}; db=${r#* }
	if awk -v f="$fr" -v h="$hz" -v d="$db" -v m="$min" \
		'BEGIN { e = f - h; if (e < 0) e = -e; exit !(f != "" && e <= h * 0.02 && d + 0 >= m + 0) }'; then
		sb_pass "$desc: $fr Hz at $db dB"
	else
		sb_fail "$desc: got $fr Hz at $db dB, want $hz Hz above $min dB"
	fi
}

# ---------------------------------------------------------------- sipp / baresip

SB_SIPP_DIR=$SB_ROOT/tests/sip/scenarios

# sb_sipp NAME ARGS...: start sipp in the background in the namespace with
# -nostdin and a message trace in $SB_WORK/NAME.msg. ARGS are sipp's own
# (e.g. -sf "$SB_SIPP_DIR/uas_answer.xml" -p PORT -m 1).
sb_sipp() {
	local name=$1; shift
	sb_bg "$name" sipp -i "$SB_SIP_IP" -nostdin -trace_msg -message_file "$SB_WORK/$name.msg" \
		-trace_err -error_file "$SB_WORK/$name.err" "$@"
}

# sb_baresip_conf DIR SIP_PORT RTP_LO WAV CODECS [USER]: write a headless
# baresip config dir (auto-answer, aufile source, sndfile recorder into DIR/rec).
# CODECS: baresip audio_codecs list, e.g. PCMU, PCMA, opus, "opus,PCMU".
sb_baresip_conf() {
	local dir=$1 port=$2 rtp=$3 wav=$4 codecs=$5 user=${6:-user} rate=8000
	mkdir -p "$dir"
	sb_short_dir "$dir/rec"
	local rec
	rec=$(readlink "$dir/rec")
	case $codecs in opus*) rate=48000 ;; esac
	sed -e "s|@SIP_PORT@|$port|g" -e "s|@RTP_LO@|$rtp|g" -e "s|@RTP_HI@|$((rtp + 10))|g" \
	    -e "s|@IP@|$SB_SIP_IP|g" -e "s|@IPH@|$SB_SIP_IPH|g" \
	    -e "s|@WAV@|$wav|g" -e "s|@REC@|$rec|g" -e "s|@SRATE@|$rate|g" \
	    "$SB_ROOT/tests/sip/baresip/config.in" >"$dir/config"
	sed -e "s|@USER@|$user|g" -e "s|@SIP_PORT@|$port|g" -e "s|@CODECS@|$codecs|g" \
	    -e "s|@IPH@|$SB_SIP_IPH|g" \
	    "$SB_ROOT/tests/sip/baresip/accounts.in" >"$dir/accounts"
}

# sb_short_dir LINK: make LINK a symlink to a new directory with a short path.
# baresip 1.0's sndfile builds "<snd_path>/dump-<time>-dec.wav" in a
# 128-byte buffer and silently truncates it (no ".wav", so no recording
# found) when the scratch dir sits deep, as in CI's clone. sb_cleanup moves
# the directory back to LINK so kept scratch dirs hold the recordings.
SB_SHORT_DIRS=()
sb_short_dir() {
	local t
	[ -L "$1" ] && return 0
	t=$(mktemp -d /tmp/sbr.XXXXXX) || sb_die "mktemp /tmp/sbr.XXXXXX"
	rm -rf "$1" && ln -s "$t" "$1" || sb_die "symlink $1 -> $t"
	SB_SHORT_DIRS+=("$1")
}

sb_short_dirs_release() {
	local l t
	for l in "${SB_SHORT_DIRS[@]}"; do
		t=$(readlink "$l") || continue
		rm -f "$l" && mv "$t" "$l" 2>/dev/null || rm -rf "$t"
	done
	SB_SHORT_DIRS=()
}

# sb_baresip_callee CODEC SECONDS: ports, tones and config of a baresip
# callee in $SB_WORK/bs (auto-answers with CODEC, plays 400 Hz) that the
# daemon routes the browsers' calls to. Sets BS_PORT, BS_RTP, BS_RTP_HI and
# SB_OUTBOUND_PROXY; $SB_WORK/tone1k_48k.wav is for the browser's
# microphone. Both tones last SECONDS. Then sb_daemon_start, and
#   sb_bg baresip baresip -f "$SB_WORK/bs" -t LIMIT
sb_baresip_callee() {
	local codec=$1 secs=$2
	sb_free_port BS_PORT
	sb_free_range BS_RTP BS_RTP_HI 20
	sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 "$secs"
	sb_tone "$SB_WORK/tone1k_48k.wav" 1000 48000 "$secs"
	sb_baresip_conf "$SB_WORK/bs" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" "$codec" callee
	SB_OUTBOUND_PROXY="sip:$SB_SIP_IPH:$BS_PORT"
}

# sb_baresip_rec DIR [dec|enc]: print the path of the newest recording.
sb_baresip_rec() {
	local d=$1 kind=${2:-dec}
	ls -t "$d"/rec/*-"$kind".wav 2>/dev/null | head -n 1
}

# ---------------------------------------------------------------- browser

# sb_bundle: make sure the browser bundles exist (quiet, idempotent).
sb_bundle() { "$SB_ROOT/tests/e2e/bundle.sh" || sb_die "bundling JsSIP/SIP.js failed"; }

# sb_browser NAME TIMEOUT [browser.js options...] -- runs the headless browser
# driver in the namespace. Its JSON result goes to $SB_WORK/NAME.json, the
# console log to $SB_WORK/NAME.log. Returns the driver's exit status.
sb_browser() {
	local name=$1 t=$2; shift 2
	timeout -k 5 "$t" ip netns exec "$SB_NS" \
		node "$SB_ROOT/tests/e2e/lib/browser.js" --out "$SB_WORK/$name.json" "$@" \
		</dev/null >"$SB_WORK/$name.log" 2>&1
}

# sb_json FILE EXPR: print the value of the JS expression EXPR evaluated with
# `r` bound to the parsed JSON file (strings raw, others as JSON).
sb_json() {
	node -e '
		const fs = require("fs");
		let r; try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch (e) { process.exit(2); }
		let v; try { v = eval(process.argv[2]); } catch (e) { v = undefined; }
		if (v === undefined) process.exit(3);
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
	' "$1" "$2"
}

# sb_browser_bg NAME [browser.js options...]: like sb_browser, in the
# background (stop or wait for it with sb_wait NAME / sb_stop NAME). Use
# sb_wait_log NAME REGEX to follow its events ("SBEVENT {...}" lines).
sb_browser_bg() {
	local name=$1; shift
	sb_bg "$name" node "$SB_ROOT/tests/e2e/lib/browser.js" --out "$SB_WORK/$name.json" "$@"
}

# sb_wait_log NAME REGEX [TIMEOUT]: wait until $SB_WORK/NAME.log has a line
# matching the extended REGEX (default 20 s). Fails early if NAME exited.
sb_wait_log() {
	local name=$1 re=$2 t=${3:-20} i
	for ((i = 0; i < t * 10; i++)); do
		grep -Eq -- "$re" "$SB_WORK/$name.log" 2>/dev/null && return 0
		if [ -n "${SB_PIDS[$name]:-}" ] && ! sb_alive "$name"; then
			grep -Eq -- "$re" "$SB_WORK/$name.log" 2>/dev/null
			return
		fi
		sleep 0.1
	done
	return 1
}

# sb_expect_json DESCRIPTION FILE EXPR: pass when the JS expression EXPR (with
# `r` bound to the JSON in FILE) is truthy; on failure print EXPR's inputs.
sb_expect_json() {
	local desc=$1 f=$2 expr=$3 v
	v=$(sb_json "$f" "($expr) ? 'yes' : 'no'" 2>/dev/null)
	if [ "$v" = yes ]; then sb_pass "$desc"; else sb_fail "$desc [$expr] in $(basename "$f")"; fi
}

# sb_ws_probe URL [ws_probe.js options...]: open a WebSocket from inside the
# namespace (node + ws), print the JSON report; status 0 when it opened.
sb_ws_probe() {
	NODE_PATH=$SB_ROOT/node_modules timeout 10 ip netns exec "$SB_NS" node "$SB_ROOT/tests/lib/ws_probe.js" "$@"
}

# sb_check_sanitizers [LOG]: no AddressSanitizer/LeakSanitizer/UBSan report in
# the daemon log (default $SB_WORK/sipbridge.log).
sb_check_sanitizers() {
	local f=${1:-$SB_WORK/sipbridge.log}
	if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" 2>/dev/null; then
		sb_fail "sanitizer report in $(basename "$f"):"
		grep -E -m3 -A4 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | sed 's/^/        /'
	else
		sb_pass "no ASan/UBSan report in $(basename "$f")"
	fi
}
