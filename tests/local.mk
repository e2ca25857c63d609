# Tests. Unit tests (cmocka) run under `make check`; each folder's fragment
# may add its own. System tests (sipp, baresip, Chromium) run from
# tests/run-all.sh, not from `make check`, because they need root and
# network namespaces.
if HAVE_CMOCKA
UNIT_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) -DSB_UNIT_TESTS
include tests/unit/local.mk
endif
include tests/bench/local.mk
