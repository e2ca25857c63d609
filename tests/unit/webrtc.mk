# unit tests for webrtc/ (cmocka); add: check_PROGRAMS += tests/unit/test_x, TESTS += tests/unit/test_x
