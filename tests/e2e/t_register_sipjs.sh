#!/bin/bash
# SIP.js REGISTER through the gateway to a sipp registrar with digest auth.
# EXPECTED TO FAIL until the SIP proxy lands. See tests/e2e/lib/register_test.sh.
SB_LIB=sipjs
. "$(dirname "$0")/lib/register_test.sh"
