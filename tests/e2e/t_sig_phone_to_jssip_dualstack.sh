#!/bin/bash
# t_sig_phone_to_jssip.sh on a dual-stack gateway: SIP listeners on
# 127.0.0.1 (listed first) and [::1], the phones and the registrar on
# [::1], the browser and media.address on 127.0.0.1. The registrar must be
# given Path and the alias on [::1], and the phone's 200 a Record-Route on
# [::1] (the listener of the peer's family; the first UDP listener would
# be IPv4), and everything else works as in the IPv6 test.
export SB_SIP_IP=::1 SB_SIP_FIRST=127.0.0.1
ip -6 addr show dev lo 2>/dev/null | grep -q '::1' || { echo "SKIP: no IPv6 loopback"; exit 77; }
exec bash "$(dirname "$0")/t_sig_phone_to_jssip.sh"
