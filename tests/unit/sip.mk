# unit tests for sip/ (cmocka); add: check_PROGRAMS += tests/unit/test_x, TESTS += tests/unit/test_x

# sip/sdp.c: golden SDP files in tests/data/sdp/
check_PROGRAMS += tests/unit/test_sdp
TESTS += tests/unit/test_sdp
tests_unit_test_sdp_SOURCES = tests/unit/test_sdp.c
tests_unit_test_sdp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sdp_LDADD = $(SIP_LIBS) $(CMOCKA_LIBS)

# sip/registrations.c: the browsers' bindings for the admin API
check_PROGRAMS += tests/unit/test_registrations
TESTS += tests/unit/test_registrations
tests_unit_test_registrations_SOURCES = tests/unit/test_registrations.c
tests_unit_test_registrations_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_registrations_LDADD = $(SIP_LIBS) $(CMOCKA_LIBS)

# sip/hop_resolve.c: route.outbound_proxy by name, through the system resolver
check_PROGRAMS += tests/unit/test_hop_resolve
TESTS += tests/unit/test_hop_resolve
tests_unit_test_hop_resolve_SOURCES = tests/unit/test_hop_resolve.c
tests_unit_test_hop_resolve_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_hop_resolve_LDADD = $(SIP_LIBS) $(CMOCKA_LIBS)

# sip/sip_face.c: the listener and address facing a SIP peer
check_PROGRAMS += tests/unit/test_sip_face
TESTS += tests/unit/test_sip_face
tests_unit_test_sip_face_SOURCES = tests/unit/test_sip_face.c
tests_unit_test_sip_face_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sip_face_LDADD = $(SIP_LIBS) $(CMOCKA_LIBS)
