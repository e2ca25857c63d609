#!/bin/bash
# Harness self-check (no gateway involved): reproduces E2E.md's sipp and
# baresip checks inside this test's own namespace, so a failure here means
# the tools or tests/lib/common.sh are broken, not the daemon.
#   1. sipp registrar_401.xml challenges and accepts a correct digest, rejects a wrong one
#   2. sipp uac_call.xml -> uas_answer.xml (180, 200, ACK, BYE from caller)
#   3. sipp uas_answer_bye.xml hangs up itself
#   4. baresip caller (400 Hz) -> baresip callee (1 kHz), PCMU, both recordings checked
#   5. sipp uas_stream_pcma.xml streams 1 kHz A-law to a baresip caller that records it
. "$(dirname "$0")/../lib/common.sh"
sb_require_cmd sipp baresip sox
sb_init

S=$SB_SIPP_DIR
sb_free_port P1; sb_free_port P2; sb_free_sipp_media MP1; sb_free_sipp_media MP2

echo "1. registrar with digest challenge"
sb_sipp reg -sf "$S/registrar_401.xml" -p "$P1" -m 1 -set user alice -set pass secret
sb_wait_port udp "$P1" 5 || sb_die "registrar did not listen"
sb_run 15 ureg sipp -sf "$S/uac_register.xml" -i 127.0.0.1 -p "$P2" -m 1 -nostdin \
	-s alice -au alice -ap secret -timeout 10 "127.0.0.1:$P1"
sb_expect_eq "uac REGISTER with right password ends in 200 (echoes Path, Contact expires)" 0 $?
sb_wait reg 10
sb_expect_eq "registrar exit status (challenge then accept)" 0 $?
sb_check "registrar sent 401 with Digest challenge" grep -q '^WWW-Authenticate: Digest realm="sipbridge.test"' "$SB_WORK/reg.msg"

sb_sipp reg2 -sf "$S/registrar_401.xml" -p "$P1" -m 1 -set user alice -set pass secret
sb_wait_port udp "$P1" 5 || sb_die "registrar did not listen"
sb_run 15 ureg2 sipp -sf "$S/uac_register.xml" -i 127.0.0.1 -p "$P2" -m 1 -nostdin \
	-s alice -au alice -ap wrong -timeout 5 "127.0.0.1:$P1"
sb_expect_eq "uac REGISTER with wrong password fails" 1 $?
sb_wait reg2 10; rc=$?
sb_check "registrar rejects wrong digest (exit $rc: non-zero, not a timeout)" test "$rc" -ne 0 -a "$rc" -ne 124
sb_check "registrar answered 403" grep -q '^SIP/2.0 403' "$SB_WORK/reg2.msg"

echo "2. sipp UAC -> sipp UAS (caller hangs up)"
sb_sipp uas -sf "$S/uas_answer.xml" -p "$P1" -mi 127.0.0.1 -mp "$MP1" -m 1 -set pt 0 -set codec PCMU
sb_wait_port udp "$P1" 5 || sb_die "uas did not listen"
sb_run 20 uac sipp -sf "$S/uac_call.xml" -i 127.0.0.1 -p "$P2" -mi 127.0.0.1 -mp "$MP2" -m 1 -nostdin \
	-s bob -set pt 0 -set codec PCMU -d 1000 -timeout 15 "127.0.0.1:$P1"
sb_expect_eq "uac_call.xml exit status" 0 $?
sb_wait uas 10
sb_expect_eq "uas_answer.xml exit status" 0 $?
sb_check "UAS sent 180 before 200" awk '/^SIP\/2.0 180/ { r = 1 } /^SIP\/2.0 200 OK/ && r { ok = 1 } END { exit !ok }' "$SB_WORK/uas.msg"
sb_check "UAS answer carried PCMU" grep -q '^a=rtpmap:0 PCMU/8000' "$SB_WORK/uas.msg"

echo "3. sipp UAS that sends BYE itself"
sb_sipp uasb -sf "$S/uas_answer_bye.xml" -p "$P1" -mi 127.0.0.1 -mp "$MP1" -m 1 \
	-set pt 8 -set codec PCMA -d 1500
sb_wait_port udp "$P1" 5 || sb_die "uas did not listen"
# the built-in uac expects to send BYE itself, so an incoming BYE makes it
# "fail": that is the proof that the BYE reached it
sb_run 20 uacb sipp -sn uac -i 127.0.0.1 -p "$P2" -m 1 -nostdin -d 8000 -timeout 15 \
	-trace_msg -message_file "$SB_WORK/uacb.msg" "127.0.0.1:$P1"
sb_wait uasb 10
sb_expect_eq "uas_answer_bye.xml exit status (BYE sent and answered 200)" 0 $?
sb_check "caller received the UAS's BYE" grep -q '^BYE sip:' "$SB_WORK/uacb.msg"
# the BYE must come -d 1500 ms after the ACK, not at once
gap=$(awk '/^-+ [0-9-]+ [0-9:.]+$/ { split($3, t, ":"); ts = t[1] * 3600 + t[2] * 60 + t[3] }
	/^ACK / { a = ts } /^BYE / && a { printf "%.2f", ts - a; exit }' "$SB_WORK/uasb.msg")
sb_expect_near "UAS sent BYE -d 1500 ms after the ACK (seconds)" 1.5 "$gap" 0.4

echo "4. baresip -> baresip, PCMU, audio both ways"
sb_tone "$SB_WORK/tone1k_8k.wav" 1000 8000 20
sb_tone "$SB_WORK/tone400_8k.wav" 400 8000 20
sb_free_port BCE; sb_free_port BCR
sb_free_range RCE RCE_HI 20; sb_free_range RCR RCR_HI 20
sb_baresip_conf "$SB_WORK/callee" "$BCE" "$RCE" "$SB_WORK/tone1k_8k.wav" PCMU callee
sb_baresip_conf "$SB_WORK/caller" "$BCR" "$RCR" "$SB_WORK/tone400_8k.wav" PCMU caller
sb_bg callee baresip -f "$SB_WORK/callee" -t 12
sb_wait_port udp "$BCE" 5 || sb_die "baresip callee did not listen"
sb_run 20 caller baresip -f "$SB_WORK/caller" -e "/dial sip:callee@127.0.0.1:$BCE" -t 5
sb_wait callee 15
sb_check "callee answered automatically" grep -q 'answering call' "$SB_WORK/callee.log"
sb_check "PCMU negotiated" grep -q 'PCMU' "$SB_WORK/caller.log"
sb_expect_tone "caller heard the callee's tone" "$(sb_baresip_rec "$SB_WORK/caller")" 1000 -20
sb_expect_tone "callee heard the caller's tone" "$(sb_baresip_rec "$SB_WORK/callee")" 400 -20

echo "5. sipp rtp_stream (PCMA 1 kHz) -> baresip caller"
sb_tone "$SB_WORK/tone.al" 1000 8000 10 alaw
rm -f "$SB_WORK"/caller/rec/*
sb_baresip_conf "$SB_WORK/caller" "$BCR" "$RCR" "$SB_WORK/tone400_8k.wav" PCMA caller
sb_sipp uass -sf "$S/uas_stream_pcma.xml" -p "$P1" -mi 127.0.0.1 -mp "$MP1" -m 1
sb_wait_port udp "$P1" 5 || sb_die "uas did not listen"
sb_run 20 caller2 baresip -f "$SB_WORK/caller" -e "/dial sip:service@127.0.0.1:$P1" -t 5
sb_wait uass 10
sb_expect_eq "uas_stream_pcma.xml exit status" 0 $?
sb_expect_tone "baresip heard sipp's A-law stream" "$(sb_baresip_rec "$SB_WORK/caller")" 1000 -20

sb_finish
