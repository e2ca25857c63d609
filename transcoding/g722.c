/* G.722 codec descriptor on spandsp: 64 kbit/s, 16 kHz audio, but an RTP
 * clock of 8000 (RFC 3551 §4.5.2 keeps the historical error). spandsp has
 * no G.722 concealer, so sb_plc fills lost frames at 16 kHz.
 * States: one worker thread. */
#include <errno.h>
#include <spandsp.h>

#include <glib.h>

#include "transcoding/codec.h"
#include "transcoding/plc.h"

#define G722_BITRATE 64000

typedef struct g722_enc {
	sb_codec_enc base;
	g722_encode_state_t *st; /* owned */
} g722_enc;

typedef struct g722_dec {
	sb_codec_dec base;
	g722_decode_state_t *st; /* owned */
	sb_plc *plc;             /* owned */
} g722_dec;

static const uint8_t g722_frame_ms[] = { 10, 20, 30, 40, 50, 60, 0 };

static int g722_enc_new(const sb_codec *c, const sb_codec_params *p,
			sb_codec_enc **out)
{
	if (p->pcm_rate != 0 && p->pcm_rate != c->pcm_rate)
		return -EINVAL;
	g722_encode_state_t *st = g722_encode_init(NULL, G722_BITRATE, 0);
	if (st == NULL)
		return -ENOMEM;
	g722_enc *e = g_new0(g722_enc, 1);
	e->base.codec = c;
	e->base.pcm_rate = c->pcm_rate;
	e->st = st;
	*out = &e->base;
	return 0;
}

static void g722_enc_free(sb_codec_enc *enc)
{
	g722_enc *e = (g722_enc *)enc;
	g722_encode_free(e->st);
	g_free(e);
}

static ssize_t g722_encode_frame(sb_codec_enc *enc, const int16_t *pcm,
				 size_t n, uint8_t *out, size_t cap)
{
	g722_enc *e = (g722_enc *)enc;

	/* Two 16 kHz samples make one 8-bit code word at 64 kbit/s. */
	if (n % 2 != 0 || n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	if (n / 2 > cap)
		return -ENOSPC;
	return g722_encode(e->st, out, pcm, (int)n);
}

static int g722_dec_new(const sb_codec *c, const sb_codec_params *p,
			sb_codec_dec **out)
{
	if (p->pcm_rate != 0 && p->pcm_rate != c->pcm_rate)
		return -EINVAL;
	g722_dec *d = g_new0(g722_dec, 1);
	d->base.codec = c;
	d->base.pcm_rate = c->pcm_rate;
	d->st = g722_decode_init(NULL, G722_BITRATE, 0);
	d->plc = sb_plc_new(c->pcm_rate);
	if (d->st == NULL) {
		sb_plc_free(d->plc);
		g_free(d);
		return -ENOMEM;
	}
	*out = &d->base;
	return 0;
}

static void g722_dec_free(sb_codec_dec *dec)
{
	g722_dec *d = (g722_dec *)dec;
	g722_decode_free(d->st);
	sb_plc_free(d->plc);
	g_free(d);
}

static ssize_t g722_decode_frame(sb_codec_dec *dec, const uint8_t *in,
				 size_t len, int16_t *pcm, size_t cap)
{
	g722_dec *d = (g722_dec *)dec;

	if (len * 2 > cap || len * 2 > SB_CODEC_MAX_SAMPLES)
		return -ENOSPC;
	int n = g722_decode(d->st, pcm, in, (int)len);
	if (n < 0)
		return -EBADMSG;
	sb_plc_good(d->plc, pcm, (size_t)n);
	return n;
}

static ssize_t g722_plc(sb_codec_dec *dec, int16_t *pcm, size_t n)
{
	g722_dec *d = (g722_dec *)dec;

	if (n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	sb_plc_conceal(d->plc, pcm, n);
	return (ssize_t)n;
}

const sb_codec sb_codec_g722 = {
	.name = "G722", .clock_rate = 8000, .channels = 1, .static_pt = 9,
	.pcm_rate = 16000, .frame_ms = g722_frame_ms,
	.enc_new = g722_enc_new, .enc_free = g722_enc_free,
	.encode = g722_encode_frame,
	.dec_new = g722_dec_new, .dec_free = g722_dec_free,
	.decode = g722_decode_frame, .plc = g722_plc,
};
