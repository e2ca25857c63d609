#!/bin/bash
# t_sig_methods.sh with the SIP listeners bound to the wildcard 0.0.0.0,
# as a server with several interfaces is configured: the peers still reach
# the gateway at 127.0.0.1, so Path, the Contact alias and Record-Route
# must name 127.0.0.1 (the source address toward the peer), never
# 0.0.0.0, and an OPTIONS to 127.0.0.1 is for the gateway itself.
export SB_SIP_LISTEN=0.0.0.0
exec bash "$(dirname "$0")/t_sig_methods.sh"
