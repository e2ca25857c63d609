/* PCMU/PCMA codec descriptors (RFC 3551 §4.5.14): 8 kHz, one byte per
 * sample, no codec PLC of its own, so lost frames are filled by sb_plc
 * (spandsp's plc_fillin does an overlapping memcpy that ASan rejects).
 * States: one worker thread. */
#include <errno.h>

#include <glib.h>

#include "transcoding/codec.h"
#include "transcoding/plc.h"
#include "transcoding/g711.h"

typedef struct g711_dec {
	sb_codec_dec base;
	sb_plc *plc; /* owned: concealer history */
} g711_dec;

static const uint8_t g711_frame_ms[] = { 10, 20, 30, 40, 50, 60, 0 };

static int g711_enc_new(const sb_codec *c, const sb_codec_params *p,
			sb_codec_enc **out)
{
	if (p->pcm_rate != 0 && p->pcm_rate != c->pcm_rate)
		return -EINVAL;
	sb_codec_enc *enc = g_new0(sb_codec_enc, 1);
	enc->codec = c;
	enc->pcm_rate = c->pcm_rate;
	*out = enc;
	return 0;
}

static void g711_enc_free(sb_codec_enc *enc)
{
	g_free(enc);
}

static ssize_t g711_encode_frame(sb_codec_enc *enc, const int16_t *pcm,
				 size_t n, uint8_t *out, size_t cap)
{
	if (n > cap)
		return -ENOSPC;
	if (enc->codec == &sb_codec_pcmu)
		sb_g711_ulaw_encode_buf(out, pcm, n);
	else
		sb_g711_alaw_encode_buf(out, pcm, n);
	return (ssize_t)n;
}

static int g711_dec_new(const sb_codec *c, const sb_codec_params *p,
			sb_codec_dec **out)
{
	if (p->pcm_rate != 0 && p->pcm_rate != c->pcm_rate)
		return -EINVAL;
	g711_dec *d = g_new0(g711_dec, 1);
	d->base.codec = c;
	d->base.pcm_rate = c->pcm_rate;
	d->plc = sb_plc_new(c->pcm_rate);
	*out = &d->base;
	return 0;
}

static void g711_dec_free(sb_codec_dec *dec)
{
	g711_dec *d = (g711_dec *)dec;
	sb_plc_free(d->plc);
	g_free(d);
}

static ssize_t g711_decode_frame(sb_codec_dec *dec, const uint8_t *in,
				 size_t len, int16_t *pcm, size_t cap)
{
	g711_dec *d = (g711_dec *)dec;

	if (len > cap || len > SB_CODEC_MAX_SAMPLES)
		return -ENOSPC;
	if (dec->codec == &sb_codec_pcmu)
		sb_g711_ulaw_decode_buf(pcm, in, len);
	else
		sb_g711_alaw_decode_buf(pcm, in, len);
	/* The concealer needs the good history to extrapolate from. */
	sb_plc_good(d->plc, pcm, len);
	return (ssize_t)len;
}

static ssize_t g711_plc(sb_codec_dec *dec, int16_t *pcm, size_t n)
{
	g711_dec *d = (g711_dec *)dec;

	if (n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	sb_plc_conceal(d->plc, pcm, n);
	return (ssize_t)n;
}

const sb_codec sb_codec_pcmu = {
	.name = "PCMU", .clock_rate = 8000, .channels = 1, .static_pt = 0,
	.pcm_rate = 8000, .frame_ms = g711_frame_ms,
	.enc_new = g711_enc_new, .enc_free = g711_enc_free,
	.encode = g711_encode_frame,
	.dec_new = g711_dec_new, .dec_free = g711_dec_free,
	.decode = g711_decode_frame, .plc = g711_plc,
};

const sb_codec sb_codec_pcma = {
	.name = "PCMA", .clock_rate = 8000, .channels = 1, .static_pt = 8,
	.pcm_rate = 8000, .frame_ms = g711_frame_ms,
	.enc_new = g711_enc_new, .enc_free = g711_enc_free,
	.encode = g711_encode_frame,
	.dec_new = g711_dec_new, .dec_free = g711_dec_free,
	.decode = g711_decode_frame, .plc = g711_plc,
};
