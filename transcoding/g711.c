/* G.711 per ITU-T G.711 (segment/quantisation rules), written from the
 * standard's description. Pure; any thread. */
#include "transcoding/g711.h"

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

static int seg_of(int v)
{
	int seg = 0;
	for (v >>= 7; v > 0 && seg < 7; v >>= 1)
		seg++;
	return seg;
}

uint8_t sb_g711_ulaw_encode(int16_t pcm)
{
	int v = pcm;
	int sign = 0;
	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > ULAW_CLIP)
		v = ULAW_CLIP;
	v += ULAW_BIAS;
	int seg = seg_of(v) ;
	int mant = (v >> (seg + 3)) & 0x0f;
	return (uint8_t)~(sign | (seg << 4) | mant);
}

int16_t sb_g711_ulaw_decode(uint8_t u)
{
	u = (uint8_t)~u;
	int seg = (u >> 4) & 0x07;
	int v = (((u & 0x0f) << 3) + ULAW_BIAS) << seg;
	v -= ULAW_BIAS;
	return (int16_t)((u & 0x80) ? -v : v);
}

uint8_t sb_g711_alaw_encode(int16_t pcm)
{
	int v = pcm;
	int sign = 0x80;
	if (v < 0) {
		v = -v - 1;
		sign = 0;
	}
	if (v > 32767)
		v = 32767;
	int seg = seg_of(v >> 1);
	int mant = seg ? (v >> (seg + 3)) & 0x0f : (v >> 4) & 0x0f;
	return (uint8_t)((sign | (seg << 4) | mant) ^ 0x55);
}

int16_t sb_g711_alaw_decode(uint8_t a)
{
	a ^= 0x55;
	int seg = (a >> 4) & 0x07;
	int v = ((a & 0x0f) << 4) + 8;
	if (seg)
		v = (v + 0x100) << (seg - 1);
	return (int16_t)((a & 0x80) ? v : -v);
}
