#!/bin/bash
# A real browser over wss://: t_echo_jssip.sh with JsSIP on listen.https
# (TLS by libwebsockets with tls.cert/tls.key, the development
# certificate; Chromium runs with --ignore-certificate-errors).
SB_WSS=1 exec bash "$(dirname "$0")/t_echo_jssip.sh" "$@"
