#!/bin/bash
# t_sig_phone_to_jssip.sh with the SIP side on IPv6: the gateway's SIP
# listener, the registrar, sipp and baresip on [::1], the browser and
# media.address on 127.0.0.1. The phones' calls (a late offer, re-INVITEs,
# baresip) reach the registered browser with audio, so the gateway's
# RTP toward them follows their family: its offer in the late-offer 200
# is on ::1 (the INVITE came from there), and its answers to their IPv6
# offers move the SIP leg to ::1 (sb_config.media_address_alt).
export SB_SIP_IP=::1
ip -6 addr show dev lo 2>/dev/null | grep -q '::1' || { echo "SKIP: no IPv6 loopback"; exit 77; }
exec bash "$(dirname "$0")/t_sig_phone_to_jssip.sh"
