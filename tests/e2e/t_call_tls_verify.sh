#!/bin/bash
# tls.verify_server: the gateway checks the certificate of a TLS trunk.
# A test CA signs a certificate for trunk.sipbridge.test (DNS name, known
# to tests/lib/dns_server.js in the namespace); baresip serves it on TLS
# and is the outbound proxy "sip:trunk.sipbridge.test:PORT;transport=tls";
# the gateway has tls.verify_server = true and tls.ca_file = the test CA.
#   1. the right certificate: a JsSIP call is answered, the page hears
#      baresip's 400 Hz;
#   2. a certificate of the same CA for another name: the call fails at
#      once with 503 (TPTAG_SDWN_ERROR: not 408 after Timer B), nothing
#      reaches baresip;
#   3. the self-signed development certificate (an unknown CA): 503 too.
# Then no call or transaction is left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/sig.sh"
sb_require_cmd node baresip openssl sox
sb_require_daemon
sb_require_node_modules
sb_init
sb_bundle

sb_sip_tls
sb_baresip_callee PCMU 30
BS_TLS=$((BS_PORT + 1))   # baresip 1.0 puts its TLS listener there
TRUNK=trunk.sipbridge.test

# the test CA and its leaves (key and certificate in one PEM, as baresip wants)
ca=$SB_WORK/ca
mkdir -p "$ca"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$ca/ca.key" -out "$ca/ca.crt" -days 2 -subj "/CN=sipbridge test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
	2>/dev/null || sb_die "openssl: test CA"
leaf() {
	local n=$1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$ca/$n.key" -out "$ca/$n.csr" -subj "/CN=$n" 2>/dev/null &&
	openssl x509 -req -in "$ca/$n.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
		-out "$ca/$n.crt" -days 2 \
		-extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$n") 2>/dev/null &&
	cat "$ca/$n.key" "$ca/$n.crt" >"$ca/$n.pem" || sb_die "openssl: leaf $n"
}
leaf "$TRUNK"
leaf other.sipbridge.test

cat >"$SB_WORK/zone.json" <<JSON
{ "$TRUNK": { "A": ["$SB_SIP_IP"] } }
JSON
sb_bg dns node "$SB_ROOT/tests/lib/dns_server.js" 127.0.0.1 53 "$SB_WORK/zone.json"
sb_wait_log dns 'dns on' 5 || sb_die "DNS server did not start"

SB_OUTBOUND_PROXY="sip:$TRUNK:$BS_TLS;transport=tls"
SB_TLS_EXTRA="verify_server = true; ca_file = \"$ca/ca.crt\";"
sb_daemon_start
sb_check "the daemon says it verifies against the test CA" \
	sb_wait_log sipbridge "certificates verified against $ca/ca.crt" 5

cat >"$SB_WORK/call.js" <<'JS'
async (a) => {
  const ua = await sb.ua({ lib: 'jssip', ws: a.ws, uri: 'sip:alice@sipbridge.test', register: false });
  if (!ua.connected) return { error: 'ws not connected' };
  const t0 = Date.now();
  const call = await ua.call('sip:callee@sipbridge.test', { timeoutMs: 40000 });
  const r = { state: call.state, status: call.status, reason: call.reason, ms: Date.now() - t0 };
  if (call.state !== 'confirmed') return r;
  await sb.sleep(1500);
  r.tone = await call.tone(2000);
  r.hangup = await call.hangup();
  return r;
}
JS
# call NAME CERT: baresip serves CERT on TLS, the browser calls through it
call() {
	local name=$1 cert=$2
	sed -i '/^sip_certificate/d' "$SB_WORK/bs/config"
	printf 'sip_certificate\t\t%s\n' "$cert" >>"$SB_WORK/bs/config"
	sb_bg "bs_$name" baresip -s -f "$SB_WORK/bs" -t 25
	sb_wait_port tcp "$BS_TLS" 5 || sb_die "baresip's TLS listener ($BS_TLS) did not start"
	sb_browser "$name" 60 --wav "$SB_WORK/tone1k_48k.wav" --arg "{\"ws\":\"$SB_WS_URL\"}" @"$SB_WORK/call.js"
	echo "  browser result: $(head -c 200 "$SB_WORK/$name.json" 2>/dev/null | tr -d '\n ')"
	sb_stop "bs_$name" 5 TERM
}

echo "1. the trunk's own certificate"
call good "$ca/$TRUNK.pem"
sb_expect_eq "call confirmed" confirmed "$(sb_json "$SB_WORK/good.json" r.state)"
sb_expect_near "the page hears baresip's 400 Hz" 400 "$(sb_json "$SB_WORK/good.json" 'Math.round(r.tone.peakHz)')" 12

echo "2. a certificate of the same CA for another name"
call wrong "$ca/other.sipbridge.test.pem"
sb_expect_eq "the call fails with 503" 503 "$(sb_json "$SB_WORK/wrong.json" r.status)"
sb_expect_eq "...at once (under 5 s)" true "$(sb_json "$SB_WORK/wrong.json" 'r.ms < 5000')"
sb_check "...and no INVITE reached baresip" sh -c "! grep -q '^INVITE ' '$SB_WORK/bs_wrong.log'"

echo "3. the self-signed development certificate"
call self "$SB_TLS_PEM"
sb_expect_eq "the call fails with 503" 503 "$(sb_json "$SB_WORK/self.json" r.status)"
sb_check "...and no INVITE reached baresip" sh -c "! grep -q '^INVITE ' '$SB_WORK/bs_self.log'"

sb_expect_idle 10
sb_stop sipbridge 5 TERM
sb_expect_eq "daemon exit status" 0 "$?"
sb_check_sanitizers
sb_finish
