# sip/: SIP over WebSocket, the transaction-stateful proxy, SDP rewriting.
# Depends on sofia-sip, libwebsockets and GLib; of webrtc/ only the plain
# data header webrtc/media_desc.h.
noinst_LIBRARIES += libsb_sip.a
libsb_sip_a_SOURCES = \
	sip/ws_transport.c sip/ws_transport.h
SIP_LIBS = libsb_sip.a $(SOFIA_LIBS) $(LWS_LIBS) $(OPENSSL_LIBS) $(GLIB_LIBS)
