/* Codec lookup by SDP name/clock/channels or static payload type over a
 * const table built at compile time: no runtime registration, so any
 * thread may call these. */
#include <glib.h>

#include "transcoding/codec.h"

static const sb_codec *const codec_table[] = {
	&sb_codec_pcmu,
	&sb_codec_pcma,
	&sb_codec_g722,
	&sb_codec_opus,
	&sb_codec_tel_event_8k,
	&sb_codec_tel_event_16k,
	&sb_codec_tel_event_48k,
};

const sb_codec *sb_codec_find(const char *name, uint32_t clock_rate,
			      unsigned channels)
{
	if (name == NULL)
		return NULL;
	/* RFC 4566 §6: an omitted channel count means one channel. */
	if (channels == 0)
		channels = 1;
	for (size_t i = 0; i < G_N_ELEMENTS(codec_table); i++) {
		const sb_codec *c = codec_table[i];
		if (c->clock_rate == clock_rate && c->channels == channels &&
		    g_ascii_strcasecmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

const sb_codec *sb_codec_find_static(int pt)
{
	if (pt < 0 || pt > 95)
		return NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(codec_table); i++) {
		if (codec_table[i]->static_pt == pt)
			return codec_table[i];
	}
	return NULL;
}

/* RFC 4733 telephone-event: no PCM, so no state functions. One descriptor
 * per clock rate it commonly rides along with (G.711/G.722, L16/16k,
 * Opus). */
static const uint8_t tel_event_frame_ms[] = { 10, 20, 30, 40, 50, 60, 0 };

const sb_codec sb_codec_tel_event_8k = {
	.name = "telephone-event", .clock_rate = 8000, .channels = 1,
	.static_pt = -1, .is_event = true, .frame_ms = tel_event_frame_ms,
};

const sb_codec sb_codec_tel_event_16k = {
	.name = "telephone-event", .clock_rate = 16000, .channels = 1,
	.static_pt = -1, .is_event = true, .frame_ms = tel_event_frame_ms,
};

const sb_codec sb_codec_tel_event_48k = {
	.name = "telephone-event", .clock_rate = 48000, .channels = 1,
	.static_pt = -1, .is_event = true, .frame_ms = tel_event_frame_ms,
};
