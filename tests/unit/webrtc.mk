# unit tests for webrtc/ (cmocka)
check_PROGRAMS += tests/unit/test_demux tests/unit/test_rtp tests/unit/test_rtcp
TESTS += tests/unit/test_demux tests/unit/test_rtp tests/unit/test_rtcp

tests_unit_test_demux_SOURCES = tests/unit/test_demux.c
tests_unit_test_demux_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_demux_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_rtp_SOURCES = tests/unit/test_rtp.c
tests_unit_test_rtp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rtp_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_rtcp_SOURCES = tests/unit/test_rtcp.c
tests_unit_test_rtcp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rtcp_LDADD = $(WEBRTC_LIBS) $(CMOCKA_LIBS)
