# transcoding/: codecs, DTMF mapping, concealment, mixer. Depends on GLib,
# libopus and spandsp only.
noinst_LIBRARIES += libsb_transcoding.a
libsb_transcoding_a_SOURCES = \
	transcoding/g711.c transcoding/g711.h
TRANSCODING_LIBS = libsb_transcoding.a $(OPUS_LIBS) $(SPANDSP_LIBS) $(GLIB_LIBS) -lm
