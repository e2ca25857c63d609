/* Cost per 20 ms frame of each codec path, in microseconds of process CPU
 * time, measured over a few thousand frames of a 1 kHz tone plus noise so
 * the encoders cannot coast on silence. Single thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "transcoding/codec.h"
#include "transcoding/xcode.h"
#include "tests/bench/cpu_time.h"

#define FRAMES 3000
#define PTIME_MS 20

static void fill_signal(int16_t *pcm, size_t n, uint32_t rate, size_t off)
{
	for (size_t i = 0; i < n; i++) {
		double t = (double)(off + i) / rate;
		double noise = (rand() % 2001 - 1000) / 1000.0;
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * t) + 500 * noise);
	}
}

/* Times all encodes, then all decodes, so the clock is read only at the
 * loop ends (a CPU-time read costs 1-3 us on a VM: shared/notes/media.md). */
static int bench(const char *label, const sb_codec *c, uint32_t rate,
		 int complexity, int loss_perc, bool low_delay)
{
	sb_codec_params p;
	sb_codec_enc *enc = NULL;
	sb_codec_dec *dec = NULL;
	int16_t out[SB_CODEC_MAX_SAMPLES];
	int err = 0;

	sb_codec_params_init(&p);
	p.pcm_rate = rate;
	p.complexity = complexity;
	p.loss_perc = loss_perc; /* > 0: Opus adds FEC (LBRR) */
	p.low_delay = low_delay; /* Opus: CELT while loss_perc is 0 */
	if (sb_codec_enc_new(c, &p, &enc) < 0 ||
	    sb_codec_dec_new(c, &p, &dec) < 0) {
		fprintf(stderr, "%s: cannot create codec state\n", label);
		return 1;
	}
	size_t n = sb_codec_samples(enc->pcm_rate, PTIME_MS);
	/* One second of signal, replayed. */
	int16_t *pcm = calloc(n * 50, sizeof(*pcm));
	uint8_t *pkts = calloc(FRAMES, SB_CODEC_MAX_PAYLOAD);
	ssize_t *lens = calloc(FRAMES, sizeof(*lens));
	fill_signal(pcm, n * 50, enc->pcm_rate, 0);

	double t0 = sb_bench_cpu_us();
	for (int f = 0; f < FRAMES; f++)
		lens[f] = sb_codec_encode(enc, pcm + (f % 50) * n, n,
					  pkts + f * SB_CODEC_MAX_PAYLOAD,
					  SB_CODEC_MAX_PAYLOAD);
	double t1 = sb_bench_cpu_us();
	for (int f = 0; f < FRAMES; f++) {
		ssize_t got = sb_codec_decode(dec,
					      pkts + f * SB_CODEC_MAX_PAYLOAD,
					      (size_t)lens[f], out,
					      SB_CODEC_MAX_SAMPLES);
		if (got != (ssize_t)n)
			err = 1;
	}
	double t2 = sb_bench_cpu_us();

	size_t bytes = 0;
	for (int f = 0; f < FRAMES; f++)
		bytes += lens[f] > 0 ? (size_t)lens[f] : 0;
	if (err)
		fprintf(stderr, "%s: codec error\n", label);
	printf("%-26s encode %7.2f us  decode %7.2f us  total %7.2f us"
	       "  (%zu bytes/frame)\n", label, (t1 - t0) / FRAMES,
	       (t2 - t1) / FRAMES, (t2 - t0) / FRAMES, bytes / FRAMES);
	free(pcm);
	free(pkts);
	free(lens);
	sb_codec_enc_free(enc);
	sb_codec_dec_free(dec);
	return err;
}

/* Pre-encodes FRAMES packets of the signal (the far ends' work, not
 * timed). */
static ssize_t *encode_all(const sb_codec *c, uint32_t rate, uint8_t *pkts)
{
	sb_codec_params p;
	sb_codec_enc *enc = NULL;

	sb_codec_params_init(&p);
	p.pcm_rate = c->pcm_rate_selectable ? rate : 0;
	p.bitrate = c->pcm_rate_selectable ? 32000 : 0;
	if (sb_codec_enc_new(c, &p, &enc) < 0)
		return NULL;
	size_t n = sb_codec_samples(enc->pcm_rate, PTIME_MS);
	int16_t *pcm = calloc(n * 50, sizeof(*pcm));
	ssize_t *lens = calloc(FRAMES, sizeof(*lens));
	fill_signal(pcm, n * 50, enc->pcm_rate, 0);
	for (int f = 0; f < FRAMES; f++)
		lens[f] = sb_codec_encode(enc, pcm + (f % 50) * n, n,
					  pkts + f * SB_CODEC_MAX_PAYLOAD,
					  SB_CODEC_MAX_PAYLOAD);
	free(pcm);
	sb_codec_enc_free(enc);
	return lens;
}

static sb_xcode *xcode_for(const sb_codec *in, const sb_codec *out,
			   int complexity, bool low_delay)
{
	sb_xcode_cfg cfg;
	sb_xcode_cfg_init(&cfg);
	cfg.in_codec = in;
	cfg.in_pt = 96;
	cfg.out_codec = out;
	cfg.out_pt = 0;
	cfg.opus_complexity = complexity;
	/* as the gateway runs it by default: no jitter buffer, no FEC
	 * until the receiver reports loss (webrtc/session_media.c) */
	cfg.use_jitter = false;
	cfg.opus_loss_perc = 0;
	cfg.opus_low_delay = low_delay;
	return sb_xcode_new(&cfg, NULL);
}

/* One transcoded call, both directions (browser Opus 48k <-> phone
 * PCMU), through sb_xcode: decode, encode, per 20 ms. low_delay: the
 * encoder toward the browser is CELT (media.opus_low_delay, the
 * default), else SILK. */
static int bench_call(int complexity, bool low_delay)
{
	uint8_t *opus = calloc(FRAMES, SB_CODEC_MAX_PAYLOAD);
	uint8_t *pcmu = calloc(FRAMES, SB_CODEC_MAX_PAYLOAD);
	ssize_t *opus_len = encode_all(&sb_codec_opus, 48000, opus);
	ssize_t *pcmu_len = encode_all(&sb_codec_pcmu, 8000, pcmu);
	sb_xcode *down = xcode_for(&sb_codec_opus, &sb_codec_pcmu, complexity,
				   low_delay);
	sb_xcode *up = xcode_for(&sb_codec_pcmu, &sb_codec_opus, complexity,
				 low_delay);
	sb_xcode_out o;
	unsigned long out_down = 0, out_up = 0;
	int err = opus_len == NULL || pcmu_len == NULL || !down || !up;

	double t0 = sb_bench_cpu_us();
	for (int f = 0; f < FRAMES && !err; f++) {
		uint64_t now = (uint64_t)f * PTIME_MS * 1000;
		sb_xcode_push(down, opus + f * SB_CODEC_MAX_PAYLOAD,
			      (size_t)opus_len[f], 96, (uint16_t)f,
			      (uint32_t)f * 960, f == 0, now);
		sb_xcode_push(up, pcmu + f * SB_CODEC_MAX_PAYLOAD,
			      (size_t)pcmu_len[f], 96, (uint16_t)f,
			      (uint32_t)f * 160, f == 0, now);
		while (sb_xcode_pull(down, now + 5000, &o) == 0)
			out_down++;
		while (sb_xcode_pull(up, now + 5000, &o) == 0)
			out_up++;
	}
	double t1 = sb_bench_cpu_us();
	if (out_down + 5 < FRAMES || out_up + 5 < FRAMES)
		err = 1;
	if (err)
		fprintf(stderr, "call: transcoding failed\n");
	double per = (t1 - t0) / FRAMES;
	printf("%scall opus48/c%d <-> PCMU      both directions %7.2f us per "
	       "20 ms = %.2f%% of a core, ~%.0f calls per core\n",
	       low_delay ? "" : "SILK ", complexity, per, per / 200.0,
	       20000.0 / per);
	sb_xcode_free(down);
	sb_xcode_free(up);
	free(opus);
	free(pcmu);
	free(opus_len);
	free(pcmu_len);
	return err;
}

int main(void)
{
	int err = 0;

	srand(1);
	printf("per 20 ms frame, %d frames each\n", FRAMES);
	err |= bench("opus 48 kHz complexity 5", &sb_codec_opus, 48000, 5, 0,
		     false);
	err |= bench("opus 8 kHz c5 SILK", &sb_codec_opus, 8000, 5, 0,
		     false);
	err |= bench("opus 8 kHz c5 SILK FEC 5%", &sb_codec_opus, 8000, 5, 5,
		     false);
	err |= bench("opus 8 kHz c5 CELT", &sb_codec_opus, 8000, 5, 0, true);
	err |= bench("opus 8 kHz c1 SILK", &sb_codec_opus, 8000, 1, 0,
		     false);
	err |= bench("PCMU", &sb_codec_pcmu, 0, 5, 0, false);
	err |= bench("PCMA", &sb_codec_pcma, 0, 5, 0, false);
	err |= bench("G722", &sb_codec_g722, 0, 5, 0, false);
	err |= bench_call(5, true);
	err |= bench_call(5, false);
	err |= bench_call(1, true);
	return err;
}
