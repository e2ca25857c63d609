# webrtc/: ICE, DTLS-SRTP, RTP/RTCP, legs and media sessions. Depends on
# transcoding/ and the media libraries.
noinst_LIBRARIES += libsb_webrtc.a
libsb_webrtc_a_SOURCES = \
	webrtc/demux.c webrtc/demux.h \
	webrtc/media_desc.h \
	webrtc/rtp.c webrtc/rtp.h \
	webrtc/rtcp.c webrtc/rtcp.h \
	webrtc/cert.c webrtc/cert.h \
	webrtc/dtls.c webrtc/dtls.h \
	webrtc/srtp.c webrtc/srtp.h \
	webrtc/srtp_ossl.c webrtc/srtp_ossl.h \
	webrtc/ice.c webrtc/ice.h \
	webrtc/ice_direct.c webrtc/ice_direct.h \
	webrtc/stun_pair.c webrtc/stun_pair.h \
	webrtc/leg.c webrtc/leg.h \
	webrtc/ctx_local.c webrtc/ctx_local.h \
	webrtc/fd_poll.c webrtc/fd_poll.h \
	webrtc/ticker.c webrtc/ticker.h \
	webrtc/txq.c webrtc/txq.h \
	webrtc/residence.c webrtc/residence.h \
	webrtc/webrtc_leg.c webrtc/rtp_leg.c webrtc/echo_leg.c \
	webrtc/conf_leg.c \
	webrtc/codec_policy.c webrtc/codec_policy.h \
	webrtc/session_int.h webrtc/session_media.c \
	webrtc/media_session.c webrtc/media_session.h
WEBRTC_LIBS = libsb_webrtc.a $(TRANSCODING_LIBS) $(NICE_LIBS) $(SRTP_LIBS) \
	$(URING_LIBS) \
	$(OPENSSL_LIBS) $(GLIB_LIBS)

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_rtp tests/fuzz/fuzz_rtcp tests/fuzz/fuzz_demux \
	tests/fuzz/fuzz_stun
tests_fuzz_fuzz_rtp_SOURCES = tests/fuzz/fuzz_rtp.c
tests_fuzz_fuzz_rtp_LDADD = $(WEBRTC_LIBS)
tests_fuzz_fuzz_rtp_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_rtcp_SOURCES = tests/fuzz/fuzz_rtcp.c
tests_fuzz_fuzz_rtcp_LDADD = $(WEBRTC_LIBS)
tests_fuzz_fuzz_rtcp_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_demux_SOURCES = tests/fuzz/fuzz_demux.c
tests_fuzz_fuzz_demux_LDADD = $(WEBRTC_LIBS)
tests_fuzz_fuzz_demux_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_stun_SOURCES = tests/fuzz/fuzz_stun.c
tests_fuzz_fuzz_stun_LDADD = $(WEBRTC_LIBS)
tests_fuzz_fuzz_stun_LDFLAGS = $(FUZZ_LDFLAGS)
endif
