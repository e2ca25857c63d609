#!/bin/bash
# Hold and resume from SIP.js: t_sig_hold_jssip_baresip.sh with SIP.js in
# the page (its re-INVITE with a=sendonly, then a=sendrecv, through the
# proxy and the media anchor to baresip).
SB_LIB=sipjs exec bash "$(dirname "$0")/t_sig_hold_jssip_baresip.sh" "$@"
