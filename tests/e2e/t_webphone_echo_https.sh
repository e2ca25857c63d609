#!/bin/bash
# The webphone served over HTTPS: t_webphone_echo.sh with the page loaded
# from listen.https, so that its WebSocket is wss:// (TLS by
# libwebsockets with the development certificate).
SB_WSS=1 exec bash "$(dirname "$0")/t_webphone_echo.sh" "$@"
