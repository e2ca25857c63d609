# unit tests for transcoding/ (cmocka)
check_PROGRAMS += tests/unit/test_g711
TESTS += tests/unit/test_g711
tests_unit_test_g711_SOURCES = tests/unit/test_g711.c
tests_unit_test_g711_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_g711_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_codec
TESTS += tests/unit/test_codec
tests_unit_test_codec_SOURCES = tests/unit/test_codec.c
tests_unit_test_codec_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_codec_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_telephone_event
TESTS += tests/unit/test_telephone_event
tests_unit_test_telephone_event_SOURCES = tests/unit/test_telephone_event.c
tests_unit_test_telephone_event_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_telephone_event_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_dtmf_info
TESTS += tests/unit/test_dtmf_info
tests_unit_test_dtmf_info_SOURCES = tests/unit/test_dtmf_info.c
tests_unit_test_dtmf_info_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_dtmf_info_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_repack
TESTS += tests/unit/test_repack
tests_unit_test_repack_SOURCES = tests/unit/test_repack.c
tests_unit_test_repack_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_repack_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_jitter
TESTS += tests/unit/test_jitter
tests_unit_test_jitter_SOURCES = tests/unit/test_jitter.c
tests_unit_test_jitter_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_jitter_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_mixer
TESTS += tests/unit/test_mixer
tests_unit_test_mixer_SOURCES = tests/unit/test_mixer.c
tests_unit_test_mixer_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_mixer_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_xcode
TESTS += tests/unit/test_xcode
tests_unit_test_xcode_SOURCES = tests/unit/test_xcode.c
tests_unit_test_xcode_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_xcode_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_upsample
TESTS += tests/unit/test_upsample
tests_unit_test_upsample_SOURCES = tests/unit/test_upsample.c
tests_unit_test_upsample_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_upsample_LDADD = $(TRANSCODING_LIBS) $(CMOCKA_LIBS)
