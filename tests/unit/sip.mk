# unit tests for sip/ (cmocka); add: check_PROGRAMS += tests/unit/test_x, TESTS += tests/unit/test_x
