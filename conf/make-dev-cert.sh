#!/bin/sh
# Self-signed certificate for local development (wss://localhost, SIP over
# TLS on loopback): P-256 key, SAN localhost, 127.0.0.1 and ::1, valid
# 825 days (the longest that browsers accept for a leaf certificate).
#   conf/make-dev-cert.sh [DIR]        (default: conf/dev-tls)
# Idempotent: an existing pair that still matches and is valid for at
# least another day is kept. Prints the two config lines to use.
# Browsers still warn about a self-signed certificate: open
# https://localhost:PORT/ once and accept it before the page's wss://.
set -eu

dir=${1:-conf/dev-tls}
cert=$dir/localhost.crt
key=$dir/localhost.key

valid_pair() {
	[ -s "$cert" ] && [ -s "$key" ] || return 1
	openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1 || return 1
	c=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) || return 1
	k=$(openssl pkey -in "$key" -pubout 2>/dev/null) || return 1
	[ "$c" = "$k" ]
}

if valid_pair; then
	echo "keeping $cert (valid, matches $key)" >&2
else
	mkdir -p "$dir"
	tmp_key=$(mktemp "$dir/.key.XXXXXX")
	tmp_crt=$(mktemp "$dir/.crt.XXXXXX")
	trap 'rm -f "$tmp_key" "$tmp_crt"' EXIT
	# umask for the key: readable by its owner only.
	(umask 077 && openssl genpkey -algorithm EC \
		-pkeyopt ec_paramgen_curve:P-256 -out "$tmp_key" 2>/dev/null)
	openssl req -x509 -new -key "$tmp_key" -out "$tmp_crt" -days 825 \
		-sha256 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
		-addext "basicConstraints=critical,CA:FALSE" \
		-addext "keyUsage=critical,digitalSignature" \
		-addext "extendedKeyUsage=serverAuth" 2>/dev/null
	chmod 600 "$tmp_key"
	chmod 644 "$tmp_crt"
	mv "$tmp_key" "$key"
	mv "$tmp_crt" "$cert"
	trap - EXIT
	echo "made $cert and $key" >&2
fi

abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
echo "# in the tls: { ... } group of sipbridge.conf:"
echo "  cert = \"$(abs "$cert")\";"
echo "  key  = \"$(abs "$key")\";"
