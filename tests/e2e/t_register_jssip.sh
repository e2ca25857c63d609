#!/bin/bash
# JsSIP REGISTER through the gateway to a sipp registrar with digest auth.
# EXPECTED TO FAIL until the SIP proxy lands. See tests/e2e/lib/register_test.sh.
SB_LIB=jssip
. "$(dirname "$0")/lib/register_test.sh"
