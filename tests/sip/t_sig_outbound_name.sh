#!/bin/bash
# route.outbound_proxy by host name. sofia-sip's resolver speaks DNS only;
# names the machine knows from /etc/hosts (a PBX on "localhost", a lab's
# "pbx.local") are resolved by the system (sip/hop_resolve.c). The test's
# namespace has its own hosts file (ip netns exec mounts /etc/netns/NS/hosts)
# and a DNS server that does not answer (127.0.0.1, nothing on port 53).
#   1. "sip:pbx.sipbridge.test:PORT" (a name only the hosts file knows, a
#      port: an A/AAAA lookup): a browser's call reaches a sipp UAS there,
#      is answered, and its BYE too.
#   2. after a reload, "sip:pbx.sipbridge.test;transport=tcp" (no port: no
#      SRV record, so the name's address and the default port 5060):
#      the same over TCP.
#   3. after a reload, a name nobody knows: 503 to the browser at once,
#      and one warning that names it.
#   4. "sip:localhost:PORT", the PBX on the same host, at start.
#   5. after a reload, "sip:trunk.sipbridge.test", a name with an SRV
#      record (a DNS server now answers, tests/lib/dns_server.js): the
#      name stays sofia's, whose RFC 3263 lookup (NAPTR, SRV, A) finds
#      the UAS at the port the SRV record gives; the name itself has no
#      address.
#   6. after a reload, "sip:pbx-a.sipbridge.test:PORT", a name with a
#      port that DNS knows (and the hosts file does not): it stays
#      sofia's too, so that its failover between addresses is kept.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node sipp
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init
printf '127.0.0.1\tlocalhost\n%s\tpbx.sipbridge.test\n' "$SB_SIP_IP" >"/etc/netns/$SB_NS/hosts"
LOG=$SB_WORK/sipbridge.log

# reload URI: the same daemon with route.outbound_proxy = URI
reload() { SB_OUTBOUND_PROXY=$1 sb_daemon_reload; }
# call NAME: INVITE and BYE from a browser's WebSocket; prints the statuses
call() {
	sb_bg "$1" env NODE_PATH="$SB_ROOT/node_modules" node "$SB_ROOT/tests/sip/security_ws.js" \
		calls "$SB_WS_URL" --timeout 15000 inv:+442071234567 wait:300 bye:0
	sb_wait "$1" 30
	tail -n 1 "$SB_WORK/$1.log" | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
		console.log(r.steps.map(s => s.status).join(" "))'
}
# uas NAME PORT [sipp options]: a sipp UAS for one call, waiting on PORT
uas() {
	local name=$1 port=$2; shift 2
	sb_sipp "$name" -sf "$SB_SIPP_DIR/uas_answer.xml" -p "$port" -set pt 0 -set codec PCMU -m 1 "$@"
}
# hop_logged URI: the daemon said it sends to URI
hop_logged() { sb_wait_log sipbridge "next hop $(sed 's/[.[]/\\&/g' <<<"$1") \\(system resolver\\)" 5; }

echo "1. a name from the hosts file, with a port"
sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:pbx.sipbridge.test:$UAS_PORT"
sb_daemon_start
uas uas1 "$UAS_PORT"
sb_check "resolved by the system: sip:$SB_SIP_IPH:$UAS_PORT" hop_logged "sip:$SB_SIP_IPH:$UAS_PORT"
sb_expect_eq "INVITE answered 200, BYE 200" "200 200" "$(call c1)"
sb_wait uas1 10
sb_expect_eq "sipp UAS completed its call" 0 "$?"

echo "2. no port, TCP: no SRV record, so the address and port 5060"
uas uas2 5060 -t t1
sb_wait_port tcp 5060 5 || sb_die "sipp UAS (TCP 5060) did not start"
sb_check "reloaded" reload "sip:pbx.sipbridge.test;transport=tcp"
sb_check "resolved by the system: sip:$SB_SIP_IPH;transport=tcp" hop_logged "sip:$SB_SIP_IPH;transport=tcp"
sb_expect_eq "INVITE over TCP answered 200, BYE 200" "200 200" "$(call c2)"
sb_wait uas2 10
sb_expect_eq "sipp UAS on TCP 5060 completed its call" 0 "$?"

echo "3. a name nobody knows"
sb_check "reloaded" reload "sip:nosuch.sipbridge.test:$UAS_PORT"
sb_check "a warning names it" sb_wait_log sipbridge 'route.outbound_proxy sip:nosuch.sipbridge.test:[0-9]+: cannot resolve nosuch.sipbridge.test' 10
t0=$(date +%s%N)
r=$(call c3)
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  statuses: $r in $ms ms"
sb_check "the browser's INVITE got 503" grep -q '^503' <<<"$r"
sb_check "...within 5 s" test "$ms" -le 5000
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "exit status after SIGTERM" 0 "$?"
sb_check_sanitizers

echo "4. localhost, at start"
sb_free_port UAS_PORT
SB_OUTBOUND_PROXY="sip:localhost:$UAS_PORT"
mv "$LOG" "$SB_WORK/sipbridge-1.log"
sb_daemon_start
uas uas4 "$UAS_PORT"
sb_check "resolved by the system: sip:127.0.0.1:$UAS_PORT" hop_logged "sip:127.0.0.1:$UAS_PORT"
sb_expect_eq "INVITE answered 200, BYE 200" "200 200" "$(call c4)"
sb_wait uas4 10
sb_expect_eq "sipp UAS completed its call" 0 "$?"

echo "5. a name with an SRV record: sofia's RFC 3263 lookup"
sb_free_port UAS_PORT
cat >"$SB_WORK/zone.json" <<JSON
{ "trunk.sipbridge.test": {},
  "_sip._udp.trunk.sipbridge.test": { "SRV": [[10, 10, $UAS_PORT, "pbx-a.sipbridge.test"]] },
  "pbx-a.sipbridge.test": { "A": ["$SB_SIP_IP"] } }
JSON
sb_bg dns node "$SB_ROOT/tests/lib/dns_server.js" 127.0.0.1 53 "$SB_WORK/zone.json"
sb_wait_log dns 'dns on' 5 || sb_die "DNS server did not start"
uas uas5 "$UAS_PORT"
sb_check "reloaded" reload "sip:trunk.sipbridge.test"
sb_check "the name stays sofia's" sb_wait_log sipbridge \
	'next hop sip:trunk\.sipbridge\.test \(in DNS' 5
sb_expect_eq "INVITE answered 200, BYE 200" "200 200" "$(call c5)"
sb_wait uas5 10
sb_expect_eq "sipp UAS (the SRV target) completed its call" 0 "$?"
sb_check "sofia asked for the SRV record" grep -q 'query SRV _sip._udp.trunk.sipbridge.test -> NOERROR 1' "$SB_WORK/dns.log"
sb_check "...and the target's address" grep -q 'query A pbx-a.sipbridge.test -> NOERROR 1' "$SB_WORK/dns.log"

echo "6. a name with a port that DNS knows"
sb_free_port UAS_PORT
uas uas6 "$UAS_PORT"
sb_check "reloaded" reload "sip:pbx-a.sipbridge.test:$UAS_PORT"
sb_check "the name stays sofia's" sb_wait_log sipbridge \
	"next hop sip:pbx-a\\.sipbridge\\.test:$UAS_PORT \\(in DNS" 5
sb_expect_eq "INVITE answered 200, BYE 200" "200 200" "$(call c6)"
sb_wait uas6 10
sb_expect_eq "sipp UAS completed its call" 0 "$?"
sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "exit status after SIGTERM" 0 "$?"
sb_check_sanitizers
sb_finish
