# tests/bench/: load generator and benchmarks, built with `make` but never
# run by `make check` (doc/BENCHMARKS.md; tests/bench/run_*.sh run them).
noinst_PROGRAMS += tests/bench/sbload
tests_bench_sbload_SOURCES = tests/bench/sbload.c tests/bench/sbload.h \
	tests/bench/sbload_uas.c tests/bench/sbload_ws.c \
	tests/bench/sbload_util.c tests/bench/sbload_ng.c \
	tests/bench/bencode.c tests/bench/bencode.h
# libnice (in WEBRTC_LIBS) before sofia-sip (in SIP_LIBS): see the link
# order note in gateway/local.mk.
tests_bench_sbload_LDADD = $(WEBRTC_LIBS) $(SIP_LIBS) -lpthread -lm

# Per-packet operation costs (SRTP both crypto backends, loopback UDP).
noinst_PROGRAMS += tests/bench/bench_ops
tests_bench_bench_ops_SOURCES = tests/bench/bench_ops.c tests/bench/cpu_time.h
tests_bench_bench_ops_LDADD = $(WEBRTC_LIBS)

# How long the machine takes to wake a sleeping receiver (the latency
# floor under both systems' figures).
noinst_PROGRAMS += tests/bench/bench_wake
tests_bench_bench_wake_SOURCES = tests/bench/bench_wake.c
tests_bench_bench_wake_LDADD = -lpthread

# What the socket poller pays per datagram, each way of reading.
noinst_PROGRAMS += tests/bench/bench_poll
tests_bench_bench_poll_SOURCES = tests/bench/bench_poll.c
tests_bench_bench_poll_LDADD = $(WEBRTC_LIBS) -lpthread

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_bencode
tests_fuzz_fuzz_bencode_SOURCES = tests/fuzz/fuzz_bencode.c \
	tests/bench/bencode.c tests/bench/bencode.h
tests_fuzz_fuzz_bencode_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_bencode_LDADD = $(GLIB_LIBS)
endif
