# unit tests for gateway/ (cmocka); add: check_PROGRAMS += tests/unit/test_x, TESTS += tests/unit/test_x
