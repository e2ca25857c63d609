#!/bin/bash
# Short form of the soak test (tests/bench/soak.sh, which documents what
# is run and checked): a few hundred WebSocket/WebRTC calls with random
# endings (hang-ups from both sides, WebSocket drops, CANCEL races, 486),
# sipp INVITE+CANCEL races from the SIP side and 3 % media packet loss,
# then /health all 0, open fds as before, SIGTERM exit 0, no ASan report.
# Under 3 minutes.
export SB_NAME=t_soak_short
export SOAK_CALLS=${SOAK_CALLS:-300} SOAK_SLOTS=${SOAK_SLOTS:-20}
export SOAK_TIME=${SOAK_TIME:-60} SOAK_HOLD_MS=${SOAK_HOLD_MS:-2500}
export SOAK_SIPP=${SOAK_SIPP:-300} SOAK_SIPP_RATE=${SOAK_SIPP_RATE:-10}
export SB_TEST_TIMEOUT=${SB_TEST_TIMEOUT:-170}
exec bash "$(dirname "$0")/../bench/soak.sh"
