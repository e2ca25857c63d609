#!/bin/sh
# Make a WebSocket token for sipbridge (sip/auth_token.h): prints the
# user part, the token and the query string to append to the wss:// URL.
#   conf/make-token.sh SECRET USER [LIFETIME_SECONDS]     (default 3600)
# The secret is one of auth.token_secrets. It is read from the argument
# or, when that is "-", from the first line of stdin (keeps it out of
# shell history; openssl still gets it as an argument, so run this on a
# trusted host).
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 SECRET|- USER [LIFETIME_SECONDS]" >&2
	exit 2
fi
secret=$1
user=$2
life=${3:-3600}
if [ "$secret" = "-" ]; then
	IFS= read -r secret
fi
case $user in
	''|*[!A-Za-z0-9._~!*\'+-]*)
		echo "$0: USER must be 1-64 of A-Z a-z 0-9 - _ . ! ~ * ' +" >&2
		exit 2 ;;
esac
if [ ${#user} -gt 64 ]; then
	echo "$0: USER longer than 64 characters" >&2
	exit 2
fi
case $life in
	''|*[!0-9]*) echo "$0: LIFETIME_SECONDS must be a number" >&2; exit 2 ;;
esac

expiry=$(( $(date +%s) + life ))
user_part="$expiry:$user"
token=$(printf '%s' "$user_part" |
	openssl dgst -sha256 -hmac "$secret" -binary | openssl base64 -A)
# Percent-encode what a URL query would misread ('+' is a space there).
token_url=$(printf '%s' "$token" | sed -e 's/+/%2B/g' -e 's,/,%2F,g' -e 's/=/%3D/g')
user_url=$(printf '%s' "$user_part" | sed -e 's/+/%2B/g')

echo "user_part=$user_part"
echo "token=$token"
echo "query=?user=$user_url&token=$token_url"
