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
