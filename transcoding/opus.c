/* Opus codec descriptor on libopus (RFC 7587: opus/48000/2 on the wire
 * whatever the audio). Encoded and decoded mono at a rate the caller
 * picks; libopus accepts 8/12/16/24/48 kHz directly, so the transcoding
 * path never resamples. Encoder: VOIP application, inband FEC, loss hint;
 * or CELT only until a loss is reported (params.low_delay), through
 * libopus's custom API where it can (below).
 * Decoder: PLC and FEC recovery. States: one worker thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>
#include <opus_custom.h>

#include <glib.h>

#include "transcoding/codec.h"
#include "transcoding/plc.h"
#include "transcoding/upsample.h"

#define SB_OPUS_FEC_BITRATE 24000

/* CELT-only encoding through libopus's custom API. A regular
 * OpusEncoder is 43.5 KiB, most of it SILK's state and the analysis,
 * whether CELT-only or not; CELT's own encoder is 5 KiB, and libopus
 * keeps the Opus framing available for its standard mode (48 kHz, 20
 * ms). Given that mode, the last band of the input's bandwidth and the
 * packet's first byte (RFC 6716 §3.1), it makes the packets the regular
 * encoder makes in CELT-only mode, from 48 kHz input: sb_upsample
 * interpolates to it (the regular encoder upsamples inside CELT). The
 * band and signalling requests are CELT's own (libopus celt/celt.h,
 * not public); a libopus that refuses them gets the regular encoder. */
#define CELT_SET_END_BAND 10012
#define CELT_SET_SIGNALLING 10016

typedef struct celt_enc {
	OpusCustomEncoder *st;  /* owned */
	sb_upsample up;
	uint8_t toc_base;       /* CELT-only config of the bandwidth, 20 ms */
} celt_enc;

typedef struct opus_enc {
	sb_codec_enc base;
	OpusEncoder *st;   /* owned; NULL while cst encodes */
	celt_enc *cst;     /* owned: the custom CELT encoder, or NULL */
	sb_codec_params p; /* what st was made from (opus_set_loss remakes it) */
	bool celt;         /* CELT only (st restricted low delay, or cst) */
} opus_enc;

typedef struct opus_dec {
	sb_codec_dec base;
	OpusDecoder *st; /* owned */
	sb_plc *plc;     /* owned: concealment of lost frames (see opus_plc) */
} opus_dec;

static const uint8_t opus_frame_ms[] = { 10, 20, 40, 60, 0 };

static int opus_pick_rate(const sb_codec *c, const sb_codec_params *p,
			  uint32_t *rate)
{
	uint32_t r = p->pcm_rate ? p->pcm_rate : c->pcm_rate;

	switch (r) {
	case 8000: case 12000: case 16000: case 24000: case 48000:
		*rate = r;
		return 0;
	default:
		return -EINVAL;
	}
}

static int opus_err(int err)
{
	return err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
}

/* The bitrate to ask for (0: libopus's own choice). At 8-16 kHz
 * libopus picks ~11-19 kbit/s, too little for SILK to add LBRR
 * (measured: no FEC data below ~20 kbit/s at 8 kHz), so FEC would
 * silently do nothing. 24 kbit/s leaves room for it, also
 * while the loss hint is 0 (no LBRR yet): it may rise later
 * (opus_set_loss). CELT gets the same: its own choice at 8 kHz,
 * 11 kbit/s, is audibly worse than SILK's. */
static int opus_bitrate(const sb_codec_params *p, uint32_t rate, bool celt)
{
	if (p->bitrate == 0 && (p->fec || celt) && rate <= 16000)
		return SB_OPUS_FEC_BITRATE;
	return p->bitrate;
}

static int opus_enc_configure(OpusEncoder *st, const sb_codec_params *p,
			      uint32_t rate, bool celt)
{
	int complexity = p->complexity < 0 ? 5 : p->complexity;

	if (complexity > 10 || p->loss_perc < 0 || p->loss_perc > 100)
		return -EINVAL;
	if (opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(complexity)) != OPUS_OK ||
	    opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(p->fec)) != OPUS_OK ||
	    opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(p->loss_perc)) !=
		    OPUS_OK ||
	    opus_encoder_ctl(st, OPUS_SET_DTX(p->dtx ? 1 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(st, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK)
		return -EINVAL;
	int bitrate = opus_bitrate(p, rate, celt);
	if (bitrate > 0 &&
	    opus_encoder_ctl(st, OPUS_SET_BITRATE(bitrate)) != OPUS_OK)
		return -EINVAL;
	return 0;
}

/* Fresh libopus encoder for e's rate and params; CELT only (restricted
 * low delay) or the VOIP application (SILK at these rates). */
static int opus_enc_make(opus_enc *e, bool celt, OpusEncoder **out)
{
	int err;
	OpusEncoder *st = opus_encoder_create(
		(opus_int32)e->base.pcm_rate, 1,
		celt ? OPUS_APPLICATION_RESTRICTED_LOWDELAY
		     : OPUS_APPLICATION_VOIP, &err);
	if (st == NULL || err != OPUS_OK)
		return opus_err(err);
	err = opus_enc_configure(st, &e->p, e->base.pcm_rate, celt);
	if (err < 0) {
		opus_encoder_destroy(st);
		return err;
	}
	*out = st;
	return 0;
}

/* libopus's standard mode (static in libopus: never freed). */
static const OpusCustomMode *celt_mode(void)
{
	static OpusCustomMode *mode;
	static gsize once;
	if (g_once_init_enter(&once)) {
		int err;
		mode = opus_custom_mode_create(48000, 960, &err);
		g_once_init_leave(&once, 1);
	}
	return mode;
}

static void celt_free(celt_enc *c)
{
	if (!c)
		return;
	opus_custom_encoder_destroy(c->st);
	g_free(c);
}

/* The CELT-only encoder for 8 or 16 kHz input (NULL for other rates, or
 * if libopus refuses a request): the bandwidth's last band (RFC 6716
 * §4.3: 13 up to 4 kHz, 17 up to 8 kHz) and its CELT-only
 * configurations (16-19 narrowband, 20-23 wideband). */
static celt_enc *celt_make(const sb_codec_params *p, uint32_t rate)
{
	int end = rate == 8000 ? 13 : rate == 16000 ? 17 : 0;
	int complexity = p->complexity < 0 ? 5 : p->complexity;
	/* our first byte is part of the rate */
	int bitrate = opus_bitrate(p, rate, true) - 8 * 50;
	const OpusCustomMode *mode = celt_mode();
	/* SB_OPUS_REGULAR_CELT=1: the regular encoder (comparisons) */
	const char *env = getenv("SB_OPUS_REGULAR_CELT");
	if (!end || !mode || p->dtx || complexity > 10 || bitrate < 6000 ||
	    (env && *env && strcmp(env, "0") != 0))
		return NULL;
	celt_enc *c = g_new0(celt_enc, 1);
	int err;
	c->toc_base = rate == 8000 ? 16 : 20;
	c->st = opus_custom_encoder_create(mode, 1, &err);
	if (!c->st || err != OPUS_OK || !sb_upsample_init(&c->up, rate) ||
	    opus_custom_encoder_ctl(c->st, CELT_SET_SIGNALLING, 0) != OPUS_OK ||
	    opus_custom_encoder_ctl(c->st, CELT_SET_END_BAND, end) != OPUS_OK ||
	    opus_custom_encoder_ctl(c->st, OPUS_SET_COMPLEXITY(complexity)) != OPUS_OK ||
	    opus_custom_encoder_ctl(c->st, OPUS_SET_VBR(1)) != OPUS_OK ||
	    /* what opus_encode() tells CELT of 16-bit input */
	    opus_custom_encoder_ctl(c->st, OPUS_SET_LSB_DEPTH(16)) != OPUS_OK ||
	    opus_custom_encoder_ctl(c->st, OPUS_SET_BITRATE(bitrate)) != OPUS_OK ||
	    opus_custom_encoder_ctl(c->st, OPUS_SET_PACKET_LOSS_PERC(p->loss_perc)) != OPUS_OK) {
		celt_free(c);
		return NULL;
	}
	return c;
}

/* One frame of 2.5 to 20 ms, behind its TOC byte; -ENOTSUP for longer
 * frames, which CELT cannot make alone. */
static ssize_t celt_encode(celt_enc *c, const int16_t *pcm, size_t n,
			   uint8_t *out, size_t cap)
{
	size_t n48 = n * c->up.factor;
	int size = n48 == 120 ? 0 : n48 == 240 ? 1 : n48 == 480 ? 2 :
		   n48 == 960 ? 3 : -1;
	if (size < 0)
		return -ENOTSUP;
	if (cap < 2)
		return -ENOSPC;
	float buf[SB_UPSAMPLE_MAX_OUT];
	sb_upsample_run(&c->up, pcm, n, buf);
	int r = opus_custom_encode_float(c->st, buf, (int)n48, out + 1,
					 (int)MIN(cap - 1, 1275));
	if (r == OPUS_BUFFER_TOO_SMALL)
		return -ENOSPC;
	if (r < 0)
		return -EINVAL;
	out[0] = (uint8_t)((c->toc_base + size) << 3); /* mono, one frame */
	return r + 1;
}

/* low_delay: CELT only while nothing asks for what only SILK has (DTX,
 * or FEC against a loss hint above 0). At 8 kHz, complexity 5, 24
 * kbit/s, on the test VM CELT encodes a 20 ms frame in 35 us where
 * SILK takes 63-69 us, looks ahead 2.5 ms instead of 6.5 ms, and keeps
 * a G.711 waveform closer (22-27 dB SNR against 16-18). */
static int opus_enc_new(const sb_codec *c, const sb_codec_params *p,
			sb_codec_enc **out)
{
	uint32_t rate;
	int err = opus_pick_rate(c, p, &rate);

	if (err < 0)
		return err;
	opus_enc *e = g_new0(opus_enc, 1);
	e->base.codec = c;
	e->base.pcm_rate = rate;
	e->p = *p;
	e->celt = p->low_delay && !p->dtx && (!p->fec || p->loss_perc == 0);
	if (e->celt)
		e->cst = celt_make(p, rate);
	err = e->cst ? 0 : opus_enc_make(e, e->celt, &e->st);
	if (err < 0) {
		g_free(e);
		return err;
	}
	*out = &e->base;
	return 0;
}

/* SILK adds LBRR (in-band FEC) only with a loss hint above 0, and it
 * costs about a third more encoding time (25 us of 80 per 20 ms frame
 * at 8 kHz, complexity 5, on the test VM): worth it only when the
 * receiver actually loses packets. CELT has no FEC at all, so the first
 * reported loss moves a low-delay encoder to SILK for good (the
 * receiver's decoder smooths the change of mode; a path that lost
 * packets once is likely to again). */
static int opus_set_loss(sb_codec_enc *enc, int loss_perc)
{
	opus_enc *e = (opus_enc *)enc;

	if (loss_perc < 0 || loss_perc > 100)
		return -EINVAL;
	e->p.loss_perc = loss_perc;
	if (e->celt && e->p.fec && loss_perc > 0) {
		OpusEncoder *st;
		int err = opus_enc_make(e, false, &st);
		if (err < 0)
			return err;
		opus_encoder_destroy(e->st);
		celt_free(g_steal_pointer(&e->cst));
		e->st = st;
		e->celt = false;
		return 0;
	}
	int r = e->cst ? opus_custom_encoder_ctl(e->cst->st,
				OPUS_SET_PACKET_LOSS_PERC(loss_perc))
		       : opus_encoder_ctl(e->st, OPUS_SET_PACKET_LOSS_PERC(loss_perc));
	return r == OPUS_OK ? 0 : -EINVAL;
}

static void opus_enc_free(sb_codec_enc *enc)
{
	opus_enc *e = (opus_enc *)enc;
	opus_encoder_destroy(e->st);
	celt_free(e->cst);
	g_free(e);
}

static ssize_t opus_encode_frame(sb_codec_enc *enc, const int16_t *pcm,
				 size_t n, uint8_t *out, size_t cap)
{
	opus_enc *e = (opus_enc *)enc;

	if (n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	if (cap > SB_CODEC_MAX_PAYLOAD)
		cap = SB_CODEC_MAX_PAYLOAD;
	if (e->cst) {
		ssize_t r = celt_encode(e->cst, pcm, n, out, cap);
		if (r != -ENOTSUP)
			return r;
		/* 40 or 60 ms: the regular encoder packs several frames */
		int err = opus_enc_make(e, true, &e->st);
		if (err < 0)
			return err;
		celt_free(g_steal_pointer(&e->cst));
	}
	opus_int32 r = opus_encode(e->st, pcm, (int)n, out, (opus_int32)cap);
	if (r == OPUS_BUFFER_TOO_SMALL)
		return -ENOSPC;
	return r < 0 ? -EINVAL : r;
}

static int opus_dec_new(const sb_codec *c, const sb_codec_params *p,
			sb_codec_dec **out)
{
	uint32_t rate;
	int err = opus_pick_rate(c, p, &rate);

	if (err < 0)
		return err;
	OpusDecoder *st = opus_decoder_create((opus_int32)rate, 1, &err);
	if (st == NULL || err != OPUS_OK)
		return opus_err(err);
	opus_dec *d = g_new0(opus_dec, 1);
	d->base.codec = c;
	d->base.pcm_rate = rate;
	d->st = st;
	d->plc = sb_plc_new(rate);
	*out = &d->base;
	return 0;
}

static void opus_dec_free(sb_codec_dec *dec)
{
	opus_dec *d = (opus_dec *)dec;
	opus_decoder_destroy(d->st);
	sb_plc_free(d->plc);
	g_free(d);
}

/* Malformed packets from the wire are -EBADMSG, never a crash. */
static ssize_t opus_result(int r)
{
	if (r == OPUS_BUFFER_TOO_SMALL)
		return -ENOSPC;
	if (r == OPUS_INVALID_PACKET)
		return -EBADMSG;
	return r < 0 ? -EINVAL : r;
}

static ssize_t opus_decode_frame(sb_codec_dec *dec, const uint8_t *in,
				 size_t len, int16_t *pcm, size_t cap)
{
	opus_dec *d = (opus_dec *)dec;

	if (len > SB_CODEC_MAX_PAYLOAD)
		return -EBADMSG;
	if (cap > SB_CODEC_MAX_SAMPLES)
		cap = SB_CODEC_MAX_SAMPLES;
	ssize_t n = opus_result(opus_decode(d->st, in, (opus_int32)len, pcm,
					    (int)cap, 0));
	if (n > 0)
		sb_plc_good(d->plc, pcm, (size_t)n);
	return n;
}

/* Not libopus' own concealment: decoded at 8 or 16 kHz, a CELT stream's
 * PLC fades to -40 dB within 15 ms and the frames after the loss take
 * another 40 ms to come back (measured with a 1 kHz tone), so two lost
 * packets in a row left 60 ms of near silence toward the phone. The
 * pitch repetition of sb_plc holds the level for 10 ms, then fades
 * (G.711 Appendix I), and cross-fades into the next real frame; libopus
 * is not told of the loss, so it decodes that frame at full level. */
static ssize_t opus_plc(sb_codec_dec *dec, int16_t *pcm, size_t n)
{
	opus_dec *d = (opus_dec *)dec;

	if (n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	sb_plc_conceal(d->plc, pcm, n);
	return (ssize_t)n;
}

/* RFC 6716 §3.1: TOC configurations 16-31 are CELT-only, which carry no
 * LBRR (in-band FEC) data. */
static bool opus_celt_only(const uint8_t *pkt, size_t len)
{
	return len > 0 && (pkt[0] >> 3) >= 16;
}

static ssize_t opus_decode_fec(sb_codec_dec *dec, const uint8_t *next,
			       size_t len, int16_t *pcm, size_t n)
{
	opus_dec *d = (opus_dec *)dec;

	/* decode_fec=1 decodes the LBRR copy of the previous (lost) frame
	 * carried in `next`; if `next` has none, libopus falls back to PLC.
	 * `next` itself must then be decoded normally by the caller. */
	if (len > SB_CODEC_MAX_PAYLOAD)
		return -EBADMSG;
	if (n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	/* nothing to recover: the caller conceals instead */
	if (opus_celt_only(next, len))
		return -ENOTSUP;
	ssize_t r = opus_result(opus_decode(d->st, next, (opus_int32)len, pcm,
					    (int)n, 1));
	if (r > 0)
		sb_plc_good(d->plc, pcm, (size_t)r);
	return r;
}

const sb_codec sb_codec_opus = {
	.name = "opus", .clock_rate = 48000, .channels = 2, .static_pt = -1,
	.pcm_rate = 48000, .pcm_rate_selectable = true,
	.frame_ms = opus_frame_ms,
	.enc_new = opus_enc_new, .enc_free = opus_enc_free,
	.encode = opus_encode_frame,
	.dec_new = opus_dec_new, .dec_free = opus_dec_free,
	.decode = opus_decode_frame, .plc = opus_plc,
	.decode_fec = opus_decode_fec,
	.set_loss = opus_set_loss,
};
