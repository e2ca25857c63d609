/* Polyphase interpolation to 48 kHz (see upsample.h). */
#include "transcoding/upsample.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#define MAX_FACTOR 6
/* Cut-off relative to the input's Nyquist frequency: above 1, so that
 * the pass band is flat nearly up to it (from 8 kHz: within 0.01 dB to
 * 3.4 kHz, 0.2 dB at 3.8 kHz); the images it lets through lie in bands
 * the encoder does not code. Higher, or more taps, and the output of a
 * full-scale input could pass 2.0, where CELT clips (1.94 at most
 * here, tests/unit/test_upsample.c). */
#define CUTOFF 1.4

static float tables[MAX_FACTOR + 1][MAX_FACTOR * SB_UPSAMPLE_TAPS];
static gsize built[MAX_FACTOR + 1];

/* Windowed sinc, laid out phase by phase: taps[p * TAPS + j] weighs the
 * input j samples before the newest for output phase p. Each phase sums
 * to 1/32768, so a constant input comes out unchanged in float scale. */
static void build(unsigned factor, float *taps)
{
	const unsigned len = factor * SB_UPSAMPLE_TAPS;
	/* centred on a whole input sample: the output is the input delayed
	 * by TAPS / 2 of its samples, not by a fraction of one (a 0.1
	 * sample shift alone limits the SNR against a 3 kHz tone to 25 dB) */
	const double centre = factor * (SB_UPSAMPLE_TAPS / 2);
	double h[MAX_FACTOR * SB_UPSAMPLE_TAPS], sum = 0;
	for (unsigned k = 0; k < len; k++) {
		double x = CUTOFF * (k - centre) / factor;
		double sinc = fabs(x) < 1e-9 ? 1 : sin(M_PI * x) / (M_PI * x);
		double u = (k - centre) / centre;   /* -1 .. 1: Blackman */
		double w = 0.42 + 0.5 * cos(M_PI * u) + 0.08 * cos(2 * M_PI * u);
		h[k] = sinc * w;
		sum += h[k];
	}
	/* gain factor over the whole filter: the pass band at unity. Not
	 * phase by phase: the phases' sums differ by what the filter lets
	 * through around multiples of the input rate, and evening them
	 * out would bend the pass band. */
	for (unsigned p = 0; p < factor; p++)
		for (unsigned j = 0; j < SB_UPSAMPLE_TAPS; j++)
			/* output p of the newest input sits at prototype
			 * index p + j × factor from the j-th input back */
			taps[p * SB_UPSAMPLE_TAPS + j] =
				(float)(h[p + j * factor] * factor / sum / 32768.0);
}

bool sb_upsample_init(sb_upsample *u, uint32_t rate)
{
	if (rate != 8000 && rate != 16000 && rate != 24000 &&
	    rate != SB_UPSAMPLE_RATE)
		return false;
	unsigned factor = SB_UPSAMPLE_RATE / rate;
	if (g_once_init_enter(&built[factor])) {
		build(factor, tables[factor]);
		g_once_init_leave(&built[factor], 1);
	}
	memset(u, 0, sizeof(*u));
	u->factor = factor;
	u->taps = tables[factor];
	return true;
}

void sb_upsample_run(sb_upsample *u, const int16_t *in, size_t n, float *out)
{
	enum { H = SB_UPSAMPLE_TAPS - 1 };
	if (u->factor == 1) {
		for (size_t i = 0; i < n; i++)
			out[i] = in[i] / 32768.0f;
		return;
	}
	/* x[H + i] is in[i]; x[0..H) the previous call's last inputs */
	float x[H + SB_UPSAMPLE_MAX_OUT / 2];
	g_return_if_fail(n * u->factor <= SB_UPSAMPLE_MAX_OUT);
	memcpy(x, u->hist, sizeof(u->hist));
	for (size_t i = 0; i < n; i++)
		x[H + i] = in[i];
	for (size_t i = 0; i < n; i++) {
		const float *newest = &x[H + i];
		for (unsigned p = 0; p < u->factor; p++) {
			const float *t = &u->taps[p * SB_UPSAMPLE_TAPS];
			float acc = 0;
			for (unsigned j = 0; j < SB_UPSAMPLE_TAPS; j++)
				acc += t[j] * newest[-(ptrdiff_t)j];
			*out++ = acc;
		}
	}
	memcpy(u->hist, &x[n], sizeof(u->hist));
}
