# unit tests for the gateway's security modules in sip/: WebSocket tokens,
# dial plan (toll fraud), rate/concurrency limits, security log lines.
# The *_from_setting parsers use libconfig, which SIP_LIBS does not carry.
SECURITY_TEST_LIBS = $(SIP_LIBS) $(LIBCONFIG_LIBS) $(GLIB_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_auth_token
TESTS += tests/unit/test_auth_token
tests_unit_test_auth_token_SOURCES = tests/unit/test_auth_token.c
tests_unit_test_auth_token_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_auth_token_LDADD = $(SECURITY_TEST_LIBS)

check_PROGRAMS += tests/unit/test_dialplan
TESTS += tests/unit/test_dialplan
tests_unit_test_dialplan_SOURCES = tests/unit/test_dialplan.c
tests_unit_test_dialplan_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_dialplan_LDADD = $(SECURITY_TEST_LIBS)

check_PROGRAMS += tests/unit/test_limits
TESTS += tests/unit/test_limits
tests_unit_test_limits_SOURCES = tests/unit/test_limits.c
tests_unit_test_limits_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_limits_LDADD = $(SECURITY_TEST_LIBS)

check_PROGRAMS += tests/unit/test_security_log
TESTS += tests/unit/test_security_log
tests_unit_test_security_log_SOURCES = tests/unit/test_security_log.c
tests_unit_test_security_log_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_security_log_LDADD = $(SECURITY_TEST_LIBS)
