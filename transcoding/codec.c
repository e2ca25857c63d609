/* Generic helpers over sb_codec descriptors: parameter defaults, frame
 * arithmetic and the NULL-checking wrappers the bridge calls. Encoder and
 * decoder states belong to one worker thread. */
#include <errno.h>

#include "transcoding/codec.h"

void sb_codec_params_init(sb_codec_params *p)
{
	*p = (sb_codec_params){
		.pcm_rate = 0,
		.complexity = 5,
		.loss_perc = 10,
		.bitrate = 0,
		.fec = true,
		.dtx = false,
		.low_delay = false,
	};
}

bool sb_codec_supports_ptime(const sb_codec *c, unsigned ms)
{
	if (c == NULL || c->frame_ms == NULL)
		return false;
	for (const uint8_t *f = c->frame_ms; *f != 0; f++) {
		if (*f == ms)
			return true;
	}
	return false;
}

size_t sb_codec_samples(uint32_t pcm_rate, unsigned ms)
{
	return (size_t)pcm_rate * ms / 1000;
}

uint32_t sb_codec_ts_units(const sb_codec *c, unsigned ms)
{
	return c->clock_rate / 1000 * ms;
}

int sb_codec_enc_new(const sb_codec *c, const sb_codec_params *p,
		     sb_codec_enc **out)
{
	sb_codec_params def;

	if (c == NULL || out == NULL)
		return -EINVAL;
	*out = NULL;
	if (c->enc_new == NULL)
		return -ENOTSUP;
	if (p == NULL) {
		sb_codec_params_init(&def);
		p = &def;
	}
	return c->enc_new(c, p, out);
}

void sb_codec_enc_free(sb_codec_enc *enc)
{
	if (enc != NULL)
		enc->codec->enc_free(enc);
}

ssize_t sb_codec_encode(sb_codec_enc *enc, const int16_t *pcm, size_t n,
			uint8_t *out, size_t cap)
{
	if (enc == NULL || pcm == NULL || out == NULL || n == 0)
		return -EINVAL;
	return enc->codec->encode(enc, pcm, n, out, cap);
}

int sb_codec_dec_new(const sb_codec *c, const sb_codec_params *p,
		     sb_codec_dec **out)
{
	sb_codec_params def;

	if (c == NULL || out == NULL)
		return -EINVAL;
	*out = NULL;
	if (c->dec_new == NULL)
		return -ENOTSUP;
	if (p == NULL) {
		sb_codec_params_init(&def);
		p = &def;
	}
	return c->dec_new(c, p, out);
}

void sb_codec_dec_free(sb_codec_dec *dec)
{
	if (dec != NULL)
		dec->codec->dec_free(dec);
}

ssize_t sb_codec_decode(sb_codec_dec *dec, const uint8_t *in, size_t len,
			int16_t *pcm, size_t cap)
{
	if (dec == NULL || in == NULL || pcm == NULL || len == 0)
		return -EINVAL;
	return dec->codec->decode(dec, in, len, pcm, cap);
}

ssize_t sb_codec_plc(sb_codec_dec *dec, int16_t *pcm, size_t n)
{
	if (dec == NULL || pcm == NULL || n == 0)
		return -EINVAL;
	if (dec->codec->plc == NULL)
		return -ENOTSUP;
	return dec->codec->plc(dec, pcm, n);
}

int sb_codec_set_loss(sb_codec_enc *enc, int loss_perc)
{
	if (loss_perc < 0 || loss_perc > 100)
		return -EINVAL;
	if (enc == NULL || enc->codec->set_loss == NULL)
		return 0;
	return enc->codec->set_loss(enc, loss_perc);
}

ssize_t sb_codec_decode_fec(sb_codec_dec *dec, const uint8_t *next,
			    size_t len, int16_t *pcm, size_t n)
{
	if (dec == NULL || next == NULL || pcm == NULL || len == 0 || n == 0)
		return -EINVAL;
	if (dec->codec->decode_fec == NULL)
		return -ENOTSUP;
	return dec->codec->decode_fec(dec, next, len, pcm, n);
}
