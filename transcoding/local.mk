# transcoding/: codecs, DTMF mapping, concealment, mixer. Depends on GLib,
# libopus and spandsp only.
noinst_LIBRARIES += libsb_transcoding.a
libsb_transcoding_a_SOURCES = \
	transcoding/codec.c transcoding/codec.h \
	transcoding/codec_registry.c \
	transcoding/g711.c transcoding/g711.h transcoding/g711_codec.c \
	transcoding/g722.c \
	transcoding/opus.c \
	transcoding/plc.c transcoding/plc.h \
	transcoding/telephone_event.c transcoding/telephone_event.h \
	transcoding/upsample.c transcoding/upsample.h \
	transcoding/dtmf_info.c transcoding/dtmf_info.h \
	transcoding/repacketizer.c transcoding/repacketizer.h \
	transcoding/jitter.c transcoding/jitter.h \
	transcoding/mixer.c transcoding/mixer.h \
	transcoding/xcode.c transcoding/xcode.h \
	transcoding/xcode_event.c transcoding/xcode_event.h
libsb_transcoding_a_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"sb-transcoding\"
TRANSCODING_LIBS = libsb_transcoding.a $(OPUS_LIBS) $(SPANDSP_LIBS) $(GLIB_LIBS) -lm

noinst_PROGRAMS += tests/bench/bench_codec
tests_bench_bench_codec_SOURCES = tests/bench/bench_codec.c \
	tests/bench/cpu_time.h
tests_bench_bench_codec_LDADD = $(TRANSCODING_LIBS)

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_telephone_event
tests_fuzz_fuzz_telephone_event_SOURCES = tests/fuzz/fuzz_telephone_event.c
tests_fuzz_fuzz_telephone_event_LDADD = $(TRANSCODING_LIBS)
tests_fuzz_fuzz_telephone_event_LDFLAGS = $(FUZZ_LDFLAGS)
endif
