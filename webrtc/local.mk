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
	webrtc/srtp.c webrtc/srtp.h
WEBRTC_LIBS = libsb_webrtc.a $(TRANSCODING_LIBS) $(NICE_LIBS) $(SRTP_LIBS) \
	$(OPENSSL_LIBS) $(GLIB_LIBS)
