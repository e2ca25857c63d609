#!/bin/bash
# A SIP phone calls a browser running SIP.js: t_call_sipp_to_jssip.sh with
# SIP.js in the page (registration with digest through the gateway, the
# phone's INVITE by Contact alias and Path, answer, the phone's BYE).
SB_LIB=sipjs exec bash "$(dirname "$0")/t_call_sipp_to_jssip.sh" "$@"
