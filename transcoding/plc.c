/* Pitch-repetition concealer (see plc.h). The pitch is found once per
 * loss burst by normalised autocorrelation over 2.5..15 ms (66..400 Hz)
 * on the newest good audio. Worker thread of the owning decoder. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "transcoding/plc.h"

struct sb_plc {
	uint32_t rate;
	size_t min_p, max_p; /* pitch search range in samples */
	size_t hist_len;     /* 3 * max_p */
	int16_t *hist;       /* owned: newest good audio, oldest first */
	size_t pitch;        /* period being repeated (0: not in a loss) */
	size_t pos;          /* read position inside the repeated period */
	size_t lost;         /* samples concealed in this burst so far */
};

sb_plc *sb_plc_new(uint32_t rate)
{
	if (rate < 8000 || rate > 48000)
		return NULL;
	sb_plc *plc = g_new0(sb_plc, 1);
	plc->rate = rate;
	plc->min_p = rate / 400;
	plc->max_p = rate * 15 / 1000;
	plc->hist_len = 3 * plc->max_p;
	plc->hist = g_new0(int16_t, plc->hist_len);
	return plc;
}

void sb_plc_free(sb_plc *plc)
{
	if (plc == NULL)
		return;
	g_free(plc->hist);
	g_free(plc);
}

static void push_history(sb_plc *plc, const int16_t *pcm, size_t n)
{
	size_t h = plc->hist_len;
	if (n >= h) {
		memcpy(plc->hist, pcm + n - h, h * sizeof(*pcm));
		return;
	}
	memmove(plc->hist, plc->hist + n, (h - n) * sizeof(*pcm));
	memcpy(plc->hist + h - n, pcm, n * sizeof(*pcm));
}

/* Lag with the best normalised correlation between the newest max_p
 * samples and the same span one lag earlier. */
static size_t find_pitch(const sb_plc *plc)
{
	const int16_t *end = plc->hist + plc->hist_len;
	size_t win = plc->max_p, best = plc->max_p;
	double best_score = -2;

	for (size_t p = plc->min_p; p <= plc->max_p; p++) {
		double xy = 0, yy = 0;
		for (size_t i = 0; i < win; i++) {
			double x = end[(ptrdiff_t)i - (ptrdiff_t)win];
			double y = end[(ptrdiff_t)i - (ptrdiff_t)(win + p)];
			xy += x * y;
			yy += y * y;
		}
		double score = yy > 0 ? xy / sqrt(yy) : 0;
		if (score > best_score) {
			best_score = score;
			best = p;
		}
	}
	return best;
}

/* Gain after `lost` samples: 1 for 10 ms, then -20 % per 10 ms. */
static double fade_gain(const sb_plc *plc, size_t lost)
{
	double ms = lost * 1000.0 / plc->rate;
	if (ms <= 10)
		return 1;
	double g = 1 - (ms - 10) * 0.02;
	return g > 0 ? g : 0;
}

static int16_t next_synthetic(sb_plc *plc)
{
	const int16_t *period = plc->hist + plc->hist_len - plc->pitch;
	int16_t s = (int16_t)lrint(period[plc->pos] *
				   fade_gain(plc, plc->lost));
	plc->pos = (plc->pos + 1) % plc->pitch;
	plc->lost++;
	return s;
}

void sb_plc_conceal(sb_plc *plc, int16_t *pcm, size_t n)
{
	if (plc->pitch == 0) {
		plc->pitch = find_pitch(plc);
		plc->pos = 0;
		plc->lost = 0;
	}
	for (size_t i = 0; i < n; i++)
		pcm[i] = next_synthetic(plc);
}

void sb_plc_good(sb_plc *plc, int16_t *pcm, size_t n)
{
	if (plc->pitch != 0) {
		/* Cross-fade over 4 ms so the join does not click. */
		size_t ola = plc->rate * 4 / 1000;
		if (ola > n)
			ola = n;
		for (size_t i = 0; i < ola; i++) {
			double w = (double)(i + 1) / (ola + 1);
			double s = next_synthetic(plc);
			pcm[i] = (int16_t)lrint(s * (1 - w) + pcm[i] * w);
		}
		plc->pitch = 0;
	}
	push_history(plc, pcm, n);
}
