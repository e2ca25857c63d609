# sip/: SIP over WebSocket, the transaction-stateful proxy, SDP rewriting.
# Depends on sofia-sip, libwebsockets and GLib; of webrtc/ only the plain
# data header webrtc/media_desc.h.
noinst_LIBRARIES += libsb_sip.a
libsb_sip_a_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"sb-sip\"
libsb_sip_a_SOURCES = \
	common/ip.h common/log.h \
	sip/dialog.c sip/dialog.h \
	sip/flow.c sip/flow.h \
	sip/proxy.c sip/proxy.h sip/proxy_internal.h sip/proxy_info.c \
	sip/registrations.c sip/registrations.h \
	sip/proxy_msg.c sip/proxy_msg.h \
	sip/proxy_policy.c sip/proxy_sdp.c sip/proxy_sip.c \
	sip/sdp_hook.h \
	sip/hop_resolve.c sip/hop_resolve.h \
	sip/sip_face.c sip/sip_face.h \
	sip/sip_stack.c sip/sip_stack.h \
	sip/uas.c \
	sip/ws_transport.c sip/ws_transport.h \
	sip/sdp.c sip/sdp.h \
	sip/auth_token.c sip/auth_token.h \
	sip/dialplan.c sip/dialplan.h \
	sip/limits.c sip/limits.h \
	sip/security_log.c sip/security_log.h
SIP_LIBS = libsb_sip.a $(SOFIA_LIBS) $(LWS_LIBS) $(OPENSSL_LIBS) $(LIBCONFIG_LIBS) $(GLIB_LIBS)
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_sdp
tests_fuzz_fuzz_sdp_SOURCES = tests/fuzz/fuzz_sdp.c
tests_fuzz_fuzz_sdp_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sdp_LDADD = $(SIP_LIBS)
endif
# Security modules (auth_token, dialplan): libconfig is not in SIP_LIBS.
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_token tests/fuzz/fuzz_dialplan
tests_fuzz_fuzz_token_SOURCES = tests/fuzz/fuzz_token.c
tests_fuzz_fuzz_token_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_token_LDADD = $(SIP_LIBS) $(LIBCONFIG_LIBS)
tests_fuzz_fuzz_dialplan_SOURCES = tests/fuzz/fuzz_dialplan.c
tests_fuzz_fuzz_dialplan_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dialplan_LDADD = $(SIP_LIBS) $(LIBCONFIG_LIBS)
endif
