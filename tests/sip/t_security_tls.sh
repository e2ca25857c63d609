#!/bin/bash
# TLS on both sides, with a certificate from conf/make-dev-cert.sh:
#   WSS on listen.https: a wss:// client (node ws, any certificate accepted)
#     REGISTERs; the gateway relays it over SIP TLS to the outbound proxy
#     (a node TLS server that answers 200 stands in: sipp here is built
#     without TLS) and the 200 comes back over WSS
#   SIP TLS listener (tls:IP:PORT): the handshake presents our certificate,
#     and an OPTIONS sent through openssl s_client gets a SIP answer
#   the private agent.pem directory sofia needs: 0700, file 0600, key and
#     certificate, gone after exit
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd node openssl
sb_require_daemon
[ -d "$SB_ROOT/node_modules/ws" ] || sb_skip "node_modules/ws missing: run 'npm ci'"
sb_init

sb_sip_tls https   # certificate, tls: and https listeners, LSan rules
CERT=$SB_TLS_CERT KEY=$SB_TLS_KEY TLS_PORT=$SB_SIP_TLS_PORT HTTPS_PORT=$SB_HTTPS_PORT
sb_free_port UP_PORT
SB_OUTBOUND_PROXY="sip:127.0.0.1:$UP_PORT;transport=tls"
sb_daemon_start
grep -E 'https|sip  |tls:' "$SB_CONF" | sed 's/^/    /'
LOG=$SB_WORK/sipbridge.log

echo "private certificate directory"
dir=$(sed -n 's|.*SIP TLS certificate joined into \(.*\)/agent.pem.*|\1|p' "$LOG" | head -1)
echo "  $dir"
sb_check "directory exists, mode 700" test "$(stat -c %a "$dir" 2>/dev/null)" = 700
sb_check "agent.pem mode 600" test "$(stat -c %a "$dir/agent.pem" 2>/dev/null)" = 600
sb_check "agent.pem holds the key" sh -c 'openssl pkey -in "$1" -noout 2>/dev/null' _ "$dir/agent.pem"
sb_check "agent.pem holds the certificate" \
	test "$(openssl x509 -in "$dir/agent.pem" -noout -fingerprint -sha256 2>/dev/null)" = "$(openssl x509 -in "$CERT" -noout -fingerprint -sha256)"

echo "SIP over TLS (listener tls:127.0.0.1:$TLS_PORT)"
sb_check "TLS port listens" sb_wait_port tcp "$TLS_PORT" 3
sb_nsx timeout 5 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost \
	</dev/null >"$SB_WORK/s_client.out" 2>&1
got=$(openssl x509 -in "$SB_WORK/s_client.out" -noout -fingerprint -sha256 2>/dev/null)
sb_expect_eq "handshake presents our certificate" "$(openssl x509 -in "$CERT" -noout -fingerprint -sha256)" "$got"
grep -E '^ *Protocol *:|New, ' "$SB_WORK/s_client.out" | head -2 | sed 's/^/    /'
printf 'OPTIONS sip:127.0.0.1:%s SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-tls-%s\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1:%s>\r\nCall-ID: tls-%s@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
	"$TLS_PORT" "$RANDOM" "$TLS_PORT" "$RANDOM" >"$SB_WORK/options.txt"
(cat "$SB_WORK/options.txt"; sleep 2) | sb_nsx timeout 6 openssl s_client -quiet -connect "127.0.0.1:$TLS_PORT" \
	>"$SB_WORK/options.out" 2>"$SB_WORK/options.err"
echo "  reply: $(head -1 "$SB_WORK/options.out")"
sb_check "OPTIONS over TLS gets a SIP response over TLS" grep -q '^SIP/2.0 [1-6][0-9][0-9] ' "$SB_WORK/options.out"

echo "WSS (listen.https 127.0.0.1:$HTTPS_PORT) relayed over SIP TLS"
cat >"$SB_WORK/upstream.js" <<'JS'
// SIP-over-TLS registrar stand-in: prints what it receives, answers 200 OK
const [port, cert, key] = process.argv.slice(2);
const fs = require('fs');
require('tls').createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, s => {
  let buf = '';
  s.on('data', d => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
      const head = buf.slice(0, i); buf = buf.slice(i + 4);
      console.log(head + '\n');
      if (!/^REGISTER /.test(head)) continue;
      const keep = head.split('\r\n').filter(l => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
      s.write(['SIP/2.0 200 OK', ...keep.map(l => /^To:/i.test(l) ? l + ';tag=up1' : l),
        'Contact: <sip:alice@127.0.0.1>;expires=600', 'Content-Length: 0', '', ''].join('\r\n'));
    }
  });
}).listen(+port, '127.0.0.1');
JS
sb_bg upstream node "$SB_WORK/upstream.js" "$UP_PORT" "$CERT" "$KEY"
sb_wait_port tcp "$UP_PORT" 5 || sb_die "TLS upstream did not start"
r=$(NODE_PATH=$SB_ROOT/node_modules timeout 20 ip netns exec "$SB_NS" node "$SB_ROOT/tests/sip/security_ws.js" \
	register "wss://127.0.0.1:$HTTPS_PORT/" --insecure --timeout 5000); echo "  register: $r"
sb_check "REGISTER over wss:// answered 200 by the TLS upstream" grep -q '"status":200' <<<"$r"
sb_check "the gateway saw a secure WebSocket" grep -Eq 'ws [0-9]+ open from 127\.0\.0\.1:[0-9]+ \(wss\)' "$LOG"
sb_check "REGISTER arrived at the upstream over TLS" grep -q '^REGISTER sip:' "$SB_WORK/upstream.log"
sb_check "...with a TLS Via of the gateway" grep -Eq '^Via: SIP/2.0/TLS 127\.0\.0\.1:'"$TLS_PORT" "$SB_WORK/upstream.log"
r=$(NODE_PATH=$SB_ROOT/node_modules timeout 10 ip netns exec "$SB_NS" node "$SB_ROOT/tests/sip/security_ws.js" \
	open "wss://127.0.0.1:$HTTPS_PORT/"); echo "  verifying client: $r"
sb_check "a client that verifies certificates refuses the self-signed one" grep -q 'self.signed\|self-signed' <<<"$r"

echo "exit"
sb_stop sipbridge 5 TERM; rc=$?
sb_expect_eq "exit status after SIGTERM" 0 "$rc"
sb_check "certificate directory removed at exit" test ! -e "$dir"
sb_check_sanitizers
sb_finish
