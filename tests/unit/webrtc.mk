# unit tests for webrtc/ (cmocka)
WEBRTC_UNIT = tests/unit/test_demux tests/unit/test_rtp tests/unit/test_rtcp \
	tests/unit/test_dtls tests/unit/test_srtp tests/unit/test_ice \
	tests/unit/test_ice_direct tests/unit/test_txq tests/unit/test_stun_pair \
	tests/unit/test_residence \
	tests/unit/test_media tests/unit/test_media_loop \
	tests/unit/test_codec_policy tests/unit/test_conf
check_PROGRAMS += $(WEBRTC_UNIT)
TESTS += $(WEBRTC_UNIT)

tests_unit_test_demux_SOURCES = tests/unit/test_demux.c
tests_unit_test_demux_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_demux_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_rtp_SOURCES = tests/unit/test_rtp.c
tests_unit_test_rtp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rtp_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_rtcp_SOURCES = tests/unit/test_rtcp.c
tests_unit_test_rtcp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rtcp_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_dtls_SOURCES = tests/unit/test_dtls.c
tests_unit_test_dtls_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_dtls_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_srtp_SOURCES = tests/unit/test_srtp.c
tests_unit_test_srtp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_srtp_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_ice_SOURCES = tests/unit/test_ice.c
tests_unit_test_ice_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_ice_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_ice_direct_SOURCES = tests/unit/test_ice_direct.c
tests_unit_test_ice_direct_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_ice_direct_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_stun_pair_SOURCES = tests/unit/test_stun_pair.c
tests_unit_test_stun_pair_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_stun_pair_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_residence_SOURCES = tests/unit/test_residence.c
tests_unit_test_residence_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_residence_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)
tests_unit_test_txq_SOURCES = tests/unit/test_txq.c
tests_unit_test_txq_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_txq_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_media_loop_SOURCES = tests/unit/test_media_loop.c
tests_unit_test_media_loop_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_media_loop_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_media_SOURCES = tests/unit/test_media.c tests/unit/loop_util.h
tests_unit_test_media_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_media_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_codec_policy_SOURCES = tests/unit/test_codec_policy.c
tests_unit_test_codec_policy_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_codec_policy_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_conf_SOURCES = tests/unit/test_conf.c tests/unit/loop_util.h
tests_unit_test_conf_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_conf_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_media_dtmf
TESTS += tests/unit/test_media_dtmf
tests_unit_test_media_dtmf_SOURCES = tests/unit/test_media_dtmf.c tests/unit/loop_util.h
tests_unit_test_media_dtmf_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_media_dtmf_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_fd_poll
TESTS += tests/unit/test_fd_poll
tests_unit_test_fd_poll_SOURCES = tests/unit/test_fd_poll.c
tests_unit_test_fd_poll_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_fd_poll_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_ticker
TESTS += tests/unit/test_ticker
tests_unit_test_ticker_SOURCES = tests/unit/test_ticker.c
tests_unit_test_ticker_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_ticker_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)
