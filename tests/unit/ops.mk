# unit tests for the operator modules of gateway/ (metrics, CDRs, admin API)
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_metrics_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test_cdr
TESTS += tests/unit/test_cdr
tests_unit_test_cdr_SOURCES = tests/unit/test_cdr.c
tests_unit_test_cdr_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_cdr_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/test_admin_api
TESTS += tests/unit/test_admin_api
tests_unit_test_admin_api_SOURCES = tests/unit/test_admin_api.c
tests_unit_test_admin_api_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_admin_api_LDADD = $(GATEWAY_LIBS) $(CMOCKA_LIBS)
