/* G.711 sample conversion, written from ITU-T G.711 Tables 1a/2a and the
 * G.191 reference conventions. Pure; any thread.
 *
 * Both laws quantise a sign and a magnitude into 8 segments of 16 steps.
 * Negative inputs use the one's complement (~x = -x - 1) so that the
 * decision intervals are symmetric around -0.5, as in G.191. */
#include "transcoding/g711.h"

/* mu-law works on 14-bit magnitudes with a bias of 33: segment s covers
 * biased magnitudes [32 << s, 64 << s), step 2 << s (G.711 Table 2a). */
#define ULAW_BIAS 33
#define ULAW_MAX 0x1fff

uint8_t sb_g711_ulaw_encode(int16_t pcm)
{
	int mag = (pcm < 0 ? ~pcm : pcm) >> 2;
	int seg = 0;

	mag += ULAW_BIAS;
	if (mag > ULAW_MAX)
		mag = ULAW_MAX;
	/* Segment = position of the top bit above bit 5. */
	for (int t = mag >> 6; t != 0; t >>= 1)
		seg++;
	int mant = (mag >> (seg + 1)) & 0x0f;
	uint8_t code = (uint8_t)((seg << 4) | mant);
	/* Transmitted code is inverted; bit 7 set means positive. */
	code = (uint8_t)~code;
	return pcm >= 0 ? code : (uint8_t)(code & 0x7f);
}

int16_t sb_g711_ulaw_decode(uint8_t u)
{
	int inv = (uint8_t)~u;
	int seg = (inv >> 4) & 0x07;
	int mant = inv & 0x0f;
	/* Mid-point of the decision interval, back in 16-bit scale:
	 * ((mant + 16.5) * 2 << seg - 33) * 4. */
	int step = 8 << seg;
	int v = (128 << seg) + step * mant + step / 2 - 4 * ULAW_BIAS;
	return (int16_t)((u & 0x80) ? v : -v);
}

uint8_t sb_g711_alaw_encode(int16_t pcm)
{
	/* A-law works on 12-bit magnitudes: segment 0 and 1 share step 1,
	 * segment s >= 1 covers [16 << s, 32 << s) (G.711 Table 1a). */
	int mag = (pcm < 0 ? ~pcm : pcm) >> 4;
	int seg = 0;
	int code;

	if (mag > 15) {
		seg = 1;
		while (mag > 31) {
			mag >>= 1;
			seg++;
		}
		mag -= 16;
	}
	code = (seg << 4) | mag;
	if (pcm >= 0)
		code |= 0x80;
	/* Even bits are inverted on the line. */
	return (uint8_t)(code ^ 0x55);
}

int16_t sb_g711_alaw_decode(uint8_t a)
{
	int code = a ^ 0x55;
	int seg = (code >> 4) & 0x07;
	int mant = code & 0x0f;
	int v;

	/* Interval mid-point in 16-bit scale. */
	if (seg == 0)
		v = (mant << 4) + 8;
	else
		v = ((mant << 4) + 0x108) << (seg - 1);
	return (int16_t)((code & 0x80) ? v : -v);
}

void sb_g711_ulaw_encode_buf(uint8_t *out, const int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sb_g711_ulaw_encode(pcm[i]);
}

void sb_g711_ulaw_decode_buf(int16_t *pcm, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = sb_g711_ulaw_decode(in[i]);
}

void sb_g711_alaw_encode_buf(uint8_t *out, const int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sb_g711_alaw_encode(pcm[i]);
}

void sb_g711_alaw_decode_buf(int16_t *pcm, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = sb_g711_alaw_decode(in[i]);
}
