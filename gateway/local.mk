# gateway/: the daemon. Links every layer.
bin_PROGRAMS += gateway/sipbridge
noinst_LIBRARIES += libsb_gateway.a
libsb_gateway_a_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"sb-gw\"
libsb_gateway_a_SOURCES = \
	common/ip.h common/log.h \
	gateway/admin_api.c gateway/admin_api.h \
	gateway/cdr.c gateway/cdr.h \
	gateway/config.c gateway/config.h \
	gateway/daemon.c gateway/daemon.h \
	gateway/heap_trim.c gateway/heap_trim.h \
	gateway/http_server.c gateway/http_server.h \
	gateway/log.c gateway/log.h \
	gateway/media_anchor.c gateway/media_anchor.h \
	gateway/ops.c gateway/ops.h \
	gateway/stun_probe.c gateway/stun_probe.h \
	gateway/metrics.c gateway/metrics.h \
	gateway/msg.c gateway/msg.h \
	gateway/worker.c gateway/worker.h
# libnice must come before sofia-sip on the link line: both export
# stun_message_length(), and the first one loaded wins for every caller,
# libnice's own STUN code included (doc/DESIGN.md, "Link order").
GATEWAY_LIBS = libsb_gateway.a $(WEBRTC_LIBS) $(SIP_LIBS) $(LIBCONFIG_LIBS) \
	$(JANSSON_LIBS) $(SQLITE_LIBS) $(GLIB_LIBS) -ldl
gateway_sipbridge_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"sb-gw\"
gateway_sipbridge_SOURCES = gateway/main.c
gateway_sipbridge_LDADD = $(GATEWAY_LIBS)

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_ws_sip
tests_fuzz_fuzz_ws_sip_SOURCES = tests/fuzz/fuzz_ws_sip.c
tests_fuzz_fuzz_ws_sip_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ws_sip_LDADD = $(SIP_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_admin_api
tests_fuzz_fuzz_admin_api_SOURCES = tests/fuzz/fuzz_admin_api.c
tests_fuzz_fuzz_admin_api_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_admin_api_LDADD = $(GATEWAY_LIBS)
endif
