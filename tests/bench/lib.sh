# Shared by the benchmark scripts (run_relay.sh, run_sig.sh,
# run_compare.sh); sourced, not run.

# stop_pid PID: TERM, wait up to 5 s, then KILL; reaps our own children.
stop_pid() {
	local p=$1 i
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# pin_self CPU: this script, and everything it starts without a taskset
# of its own (curl, ss, sleep, subshells), on CPU: off the daemon's core.
# A scheduler trace of CPU 0 during a relay step caught the script's own
# subshells there for up to 9.5 ms at a time, each a stall the media
# worker's queue shows as latency.
pin_self() {
	taskset -cp "$1" $$ >/dev/null 2>&1 || true
}

# free_port: a port with no UDP/TCP listener on it.
free_port() {
	local p
	while :; do
		p=$((50000 + RANDOM % 10000))
		[ -z "$(ss -Htuan "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return; }
	done
}

# bench_gw_conf FILE: pick HTTP SIPP UAS ADMIN (globals) and write the
# gateway's configuration for a benchmark: loopback, one media worker,
# requests to the UAS on 127.0.0.1:$UAS.
bench_gw_conf() {
	HTTP=$(free_port); SIPP=$(free_port); UAS=$(free_port); ADMIN=$(free_port)
	cat >"$1" <<CONF
listen: {
  http  = "127.0.0.1:$HTTP";
  https = "";
  sip   = [ "udp:127.0.0.1:$SIPP" ];
  admin = "127.0.0.1:$ADMIN";
};
route: { outbound_proxy = "sip:127.0.0.1:$UAS"; };
media: {
  address     = "127.0.0.1";
  rtp_ports   = [ 20000, 29999 ];
  rtp_timeout = 60;
  workers     = 1;
  # the transcoding ramp measures the capacity: admission must not cap it
  max_transcoded = 10000;
};
# the load comes from one address and, per call, one user: lift the
# per-IP, per-user and total bounds (sip/limits.h) for the benchmark
limits: { ws_per_ip = 0; msg_rate = 0; calls_per_user = 0; calls_per_ip = 0; calls_total = 0; };
log: { level = "warning"; };
CONF
}

# lat_at_80 [SYSTEM] < lines "calls clean d50 d99 r50 r99" (clean = 1 for
# a passing step; d = one-way, r = gateway residence, µs or "-"): the
# line printed under a benchmark table. The maximum load is the largest
# passing step; of the passing steps, the one whose calls are nearest
# 0.8 × that is reported (latency near, not at, saturation). A figure
# not measured at all (Opus: no marker; rtpengine: no residence
# histogram) is left out.
lat_at_80() {
	awk -v sys="${1:+ of $1}" '
		function dist(i) { d = n[i] - 0.8 * max; return d < 0 ? -d : d }
		function part(what, a, b) {
			if ((a == "" || a == "-") && (b == "" || b == "-")) return ""
			return sprintf("%s p50 / p99 %s / %s µs", what, a, b)
		}
		{ n[NR] = $1; ok[NR] = $2; ow[NR] = part("one-way", $3, $4)
		  rs[NR] = part("gateway residence", $5, $6)
		  if ($2 == 1 && $1 + 0 > max) max = $1 + 0 }
		END {
			if (!max) { printf "Latency%s: no passing step\n", sys; exit }
			for (i = 1; i <= NR; i++)
				if (ok[i] == 1 && (!best || dist(i) < dist(best))) best = i
			what = ow[best] (ow[best] != "" && rs[best] != "" ? ", " : "") rs[best]
			printf "Latency%s at the step nearest 80 %% of the maximum load (%d calls; maximum %d): %s\n",
				sys, n[best], max, what == "" ? "not measured" : what
		}'
}
