# unit tests for gateway/ (cmocka)
check_PROGRAMS += tests/unit/test_msg tests/unit/test_config
TESTS += tests/unit/test_msg tests/unit/test_config
tests_unit_test_msg_SOURCES = tests/unit/test_msg.c
tests_unit_test_msg_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_msg_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS)
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CPPFLAGS = $(UNIT_CPPFLAGS) -DSB_TEST_CONF=\"$(abs_top_srcdir)/conf/sipbridge.conf\"
tests_unit_test_config_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_heap_trim
TESTS += tests/unit/test_heap_trim
tests_unit_test_heap_trim_SOURCES = tests/unit/test_heap_trim.c
tests_unit_test_heap_trim_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_heap_trim_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS)

# gateway/stun_probe.c: a Binding exchange against a responder thread
check_PROGRAMS += tests/unit/test_stun_probe
TESTS += tests/unit/test_stun_probe
tests_unit_test_stun_probe_SOURCES = tests/unit/test_stun_probe.c
tests_unit_test_stun_probe_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_stun_probe_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS) -lpthread
