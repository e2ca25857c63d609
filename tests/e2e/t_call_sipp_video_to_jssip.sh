#!/bin/bash
# A video phone calls a browser: t_call_sipp_to_jssip.sh with a sipp UAC
# that offers audio + video. The gateway has no video path: the video
# m-line must come back rejected (port 0) on both faces, the audio call
# must work as without video.
SB_UAC_SCENARIO=uac_call_route_video.xml exec bash "$(dirname "$0")/t_call_sipp_to_jssip.sh" "$@"
