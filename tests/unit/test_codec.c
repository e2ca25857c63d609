/* Codec registry and audio round trips: a 1 kHz tone through each codec
 * keeps its frequency (within 2 Hz) and level (within 3 dB), through
 * PCMU<->Opus chains too; Opus FEC beats PLC on a dropped frame. */
#include <errno.h>
#include <math.h>
#include <opus.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transcoding/codec.h"

#define TONE_HZ 1000.0
#define TONE_AMP 10000.0
#define SECONDS 1
#define MAXLEN (48000 * SECONDS)

/* ---- signal helpers ---------------------------------------------- */

static void make_tone(int16_t *pcm, size_t n, uint32_t rate)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(TONE_AMP *
					sin(2 * M_PI * TONE_HZ * i / rate));
}

/* Frequency from positive-going zero crossings, interpolated to a
 * fraction of a sample, between the first and last crossing. */
static double measure_freq(const int16_t *pcm, size_t n, uint32_t rate)
{
	double first = -1, last = -1;
	int count = 0;
	for (size_t i = 1; i < n; i++) {
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			double frac = (double)-pcm[i - 1] /
				      (pcm[i] - pcm[i - 1]);
			double t = (double)(i - 1) + frac;
			if (first < 0)
				first = t;
			else
				count++;
			last = t;
		}
	}
	if (count == 0)
		return 0;
	return count * (double)rate / (last - first);
}

static double rms_db(const int16_t *pcm, size_t n)
{
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (double)pcm[i] * pcm[i];
	return 10 * log10(acc / n + 1e-9);
}

typedef struct pipe {
	sb_codec_enc *enc;
	sb_codec_dec *dec;
} pipe_t;

static void pipe_open(pipe_t *p, const sb_codec *c, uint32_t enc_rate,
		      uint32_t dec_rate)
{
	sb_codec_params prm;
	sb_codec_params_init(&prm);
	prm.pcm_rate = enc_rate;
	assert_int_equal(sb_codec_enc_new(c, &prm, &p->enc), 0);
	prm.pcm_rate = dec_rate;
	assert_int_equal(sb_codec_dec_new(c, &prm, &p->dec), 0);
}

static void pipe_close(pipe_t *p)
{
	sb_codec_enc_free(p->enc);
	sb_codec_dec_free(p->dec);
}

/* Encode in in 20 ms frames at the encoder rate, decode each at the
 * decoder rate; returns the number of output samples. */
static size_t pipe_run(pipe_t *p, const int16_t *in, size_t n,
		       int16_t *out)
{
	size_t fin = sb_codec_samples(p->enc->pcm_rate, 20);
	size_t fout = sb_codec_samples(p->dec->pcm_rate, 20);
	size_t o = 0;
	uint8_t pkt[SB_CODEC_MAX_PAYLOAD];

	for (size_t i = 0; i + fin <= n; i += fin) {
		ssize_t len = sb_codec_encode(p->enc, in + i, fin, pkt,
					      sizeof(pkt));
		assert_true(len > 0);
		ssize_t got = sb_codec_decode(p->dec, pkt, (size_t)len,
					      out + o, fout);
		assert_int_equal(got, (ssize_t)fout);
		o += fout;
	}
	return o;
}

/* Skip 100 ms of codec start-up (Opus lookahead, ADPCM adaptation). */
static void assert_tone(const int16_t *pcm, size_t n, uint32_t rate)
{
	size_t skip = rate / 10;
	assert_true(n > skip * 2);
	double f = measure_freq(pcm + skip, n - skip, rate);
	double db = rms_db(pcm + skip, n - skip);
	double ref = 20 * log10(TONE_AMP / sqrt(2));
	print_message("    freq %.2f Hz, level %+.2f dB\n", f, db - ref);
	assert_true(fabs(f - TONE_HZ) < 2.0);
	assert_true(fabs(db - ref) < 3.0);
}

/* ---- registry ------------------------------------------------------ */

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(sb_codec_find("PCMU", 8000, 1), &sb_codec_pcmu);
	assert_ptr_equal(sb_codec_find("pcmu", 8000, 0), &sb_codec_pcmu);
	assert_ptr_equal(sb_codec_find("PCMA", 8000, 1), &sb_codec_pcma);
	assert_ptr_equal(sb_codec_find("g722", 8000, 1), &sb_codec_g722);
	assert_ptr_equal(sb_codec_find("OPUS", 48000, 2), &sb_codec_opus);
	assert_ptr_equal(sb_codec_find("telephone-event", 8000, 0),
			 &sb_codec_tel_event_8k);
	assert_ptr_equal(sb_codec_find("Telephone-Event", 48000, 1),
			 &sb_codec_tel_event_48k);
	assert_null(sb_codec_find("opus", 48000, 1));
	assert_null(sb_codec_find("PCMU", 16000, 1));
	assert_null(sb_codec_find("G729", 8000, 1));
	assert_null(sb_codec_find("PCM", 8000, 1));
	assert_null(sb_codec_find(NULL, 8000, 1));
	assert_ptr_equal(sb_codec_find_static(0), &sb_codec_pcmu);
	assert_ptr_equal(sb_codec_find_static(8), &sb_codec_pcma);
	assert_ptr_equal(sb_codec_find_static(9), &sb_codec_g722);
	assert_null(sb_codec_find_static(18));
	assert_null(sb_codec_find_static(-1));
	assert_null(sb_codec_find_static(111));
}

static void test_descriptors(void **state)
{
	(void)state;
	assert_int_equal(sb_codec_g722.clock_rate, 8000);
	assert_int_equal(sb_codec_g722.pcm_rate, 16000);
	assert_int_equal(sb_codec_ts_units(&sb_codec_g722, 20), 160);
	assert_int_equal(sb_codec_ts_units(&sb_codec_opus, 20), 960);
	assert_int_equal(sb_codec_samples(16000, 20), 320);
	assert_true(sb_codec_supports_ptime(&sb_codec_pcmu, 30));
	assert_true(sb_codec_supports_ptime(&sb_codec_opus, 60));
	assert_false(sb_codec_supports_ptime(&sb_codec_opus, 30));
	assert_false(sb_codec_supports_ptime(&sb_codec_pcmu, 7));
}

static void test_bad_params(void **state)
{
	(void)state;
	sb_codec_params p;
	sb_codec_enc *enc = (sb_codec_enc *)&p;
	sb_codec_dec *dec = NULL;

	sb_codec_params_init(&p);
	p.pcm_rate = 16000;
	assert_int_equal(sb_codec_enc_new(&sb_codec_pcmu, &p, &enc), -EINVAL);
	assert_null(enc);
	p.pcm_rate = 44100;
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p, &dec), -EINVAL);
	p.pcm_rate = 8000;
	p.complexity = 11;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), -EINVAL);
	assert_int_equal(sb_codec_enc_new(&sb_codec_tel_event_8k, NULL, &enc),
			 -ENOTSUP);
	assert_int_equal(sb_codec_dec_new(&sb_codec_tel_event_8k, NULL, &dec),
			 -ENOTSUP);
	/* G.711 has no FEC: the caller must fall back to PLC. */
	assert_int_equal(sb_codec_dec_new(&sb_codec_pcmu, NULL, &dec), 0);
	int16_t pcm[160];
	uint8_t b = 0xff;
	assert_int_equal(sb_codec_decode_fec(dec, &b, 1, pcm, 160), -ENOTSUP);
	assert_int_equal(sb_codec_decode(dec, &b, 1, pcm, 0), -ENOSPC);
	sb_codec_dec_free(dec);
}

/* ---- tone round trips -------------------------------------------- */

static void tone_through(const sb_codec *c, uint32_t rate)
{
	static int16_t in[MAXLEN], out[MAXLEN];
	pipe_t p;

	pipe_open(&p, c, rate, rate);
	uint32_t r = p.enc->pcm_rate;
	make_tone(in, r * SECONDS, r);
	size_t n = pipe_run(&p, in, r * SECONDS, out);
	assert_int_equal(n, r * SECONDS);
	assert_tone(out, n, r);
	pipe_close(&p);
}

static void test_tone_pcmu(void **s)
{
	(void)s;
	tone_through(&sb_codec_pcmu, 0);
}
static void test_tone_pcma(void **s)
{
	(void)s;
	tone_through(&sb_codec_pcma, 0);
}
static void test_tone_g722(void **s)
{
	(void)s;
	tone_through(&sb_codec_g722, 0);
}
static void test_tone_opus8(void **s)
{
	(void)s;
	tone_through(&sb_codec_opus, 8000);
}
static void test_tone_opus16(void **s)
{
	(void)s;
	tone_through(&sb_codec_opus, 16000);
}
static void test_tone_opus48(void **s)
{
	(void)s;
	tone_through(&sb_codec_opus, 48000);
}

/* SIP phone -> gateway -> browser -> gateway -> SIP phone. */
static void test_chain_pcmu_opus_pcmu(void **state)
{
	(void)state;
	static int16_t a[8000], b[8000], c[8000], d[8000];
	pipe_t u1, o, u2;

	pipe_open(&u1, &sb_codec_pcmu, 0, 0);
	pipe_open(&o, &sb_codec_opus, 8000, 8000);
	pipe_open(&u2, &sb_codec_pcmu, 0, 0);
	make_tone(a, 8000, 8000);
	size_t n = pipe_run(&u1, a, 8000, b);
	n = pipe_run(&o, b, n, c);
	n = pipe_run(&u2, c, n, d);
	assert_int_equal(n, 8000);
	assert_tone(d, n, 8000);
	pipe_close(&u1);
	pipe_close(&o);
	pipe_close(&u2);
}

/* Browser (48 kHz) -> gateway decodes at 8 kHz -> PCMU -> gateway
 * encodes Opus at 8 kHz -> browser decodes at 48 kHz. */
static void test_chain_opus_pcmu_opus(void **state)
{
	(void)state;
	static int16_t a[48000], b[8000], c[8000], d[48000];
	pipe_t o1, u, o2;

	pipe_open(&o1, &sb_codec_opus, 48000, 8000);
	pipe_open(&u, &sb_codec_pcmu, 0, 0);
	pipe_open(&o2, &sb_codec_opus, 8000, 48000);
	make_tone(a, 48000, 48000);
	size_t n = pipe_run(&o1, a, 48000, b);
	assert_int_equal(n, 8000);
	n = pipe_run(&u, b, n, c);
	n = pipe_run(&o2, c, n, d);
	assert_int_equal(n, 48000);
	assert_tone(d, n, 48000);
	pipe_close(&o1);
	pipe_close(&u);
	pipe_close(&o2);
}

/* ---- loss handling -------------------------------------------------- */

#define FEC_FRAMES 100
#define FEC_N 160 /* 20 ms at 8 kHz */

/* A voice-like signal: a glottal pulse train with gliding pitch through
 * two formant resonators, plus a little noise (deterministic LCG). */
static void make_voice(int16_t *pcm, size_t n)
{
	double y1 = 0, y2 = 0, z1 = 0, z2 = 0, next = 0;
	uint32_t lcg = 1;
	for (size_t i = 0; i < n; i++) {
		double t = i / 8000.0;
		double x = 0;
		if (i >= next) {
			x = 8000;
			next += 8000 / (120 + 40 * sin(2 * M_PI * t));
		}
		lcg = lcg * 1103515245 + 12345;
		x += (double)((lcg >> 16) % 200) - 100;
		double y = x + 1.6 * y1 - 0.9 * y2;
		y2 = y1;
		y1 = y;
		double z = y + 0.5 * z1 - 0.8 * z2;
		z2 = z1;
		z1 = z;
		pcm[i] = (int16_t)lrint(fmax(-32000, fmin(32000, z * 0.5)));
	}
}

static double err_energy(const int16_t *a, const int16_t *b, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return e;
}

static bool is_lost(int f)
{
	return f % 20 == 10;
}

/* Loses every 20th frame (the decoder re-converges in between) and
 * conceals it with FEC from the next packet or with PLC only; returns the
 * error energy of the concealed frames against the loss-free decode. */
static double lossy_decode(uint8_t pkt[][SB_CODEC_MAX_PAYLOAD],
			   const ssize_t *len, const int16_t *ref, bool fec)
{
	sb_codec_dec *dec = NULL;
	sb_codec_params p;
	int16_t out[FEC_N];
	double e = 0;

	sb_codec_params_init(&p);
	p.pcm_rate = 8000;
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p, &dec), 0);
	for (int f = 0; f < FEC_FRAMES; f++) {
		ssize_t got;
		if (!is_lost(f)) {
			got = sb_codec_decode(dec, pkt[f], (size_t)len[f],
					      out, FEC_N);
			assert_int_equal(got, FEC_N);
			continue;
		}
		if (fec)
			got = sb_codec_decode_fec(dec, pkt[f + 1],
						  (size_t)len[f + 1], out,
						  FEC_N);
		else
			got = sb_codec_plc(dec, out, FEC_N);
		assert_int_equal(got, FEC_N);
		e += err_energy(out, ref + f * FEC_N, FEC_N);
	}
	sb_codec_dec_free(dec);
	return e;
}

static void test_opus_fec_beats_plc(void **state)
{
	(void)state;
	static int16_t in[FEC_FRAMES * FEC_N], ref[FEC_FRAMES * FEC_N];
	static uint8_t pkt[FEC_FRAMES][SB_CODEC_MAX_PAYLOAD];
	ssize_t len[FEC_FRAMES];
	sb_codec_enc *enc = NULL;
	sb_codec_dec *dec = NULL;
	sb_codec_params p;

	/* defaults: FEC on, 10 % loss hint, automatic bitrate */
	sb_codec_params_init(&p);
	p.pcm_rate = 8000;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p, &dec), 0);
	make_voice(in, FEC_FRAMES * FEC_N);
	for (int f = 0; f < FEC_FRAMES; f++) {
		len[f] = sb_codec_encode(enc, in + f * FEC_N, FEC_N, pkt[f],
					 SB_CODEC_MAX_PAYLOAD);
		assert_true(len[f] > 0);
		assert_int_equal(sb_codec_decode(dec, pkt[f], (size_t)len[f],
						 ref + f * FEC_N, FEC_N),
				 FEC_N);
	}
	double e_fec = lossy_decode(pkt, len, ref, true);
	double e_plc = lossy_decode(pkt, len, ref, false);
	double sig = 0;
	for (int f = 0; f < FEC_FRAMES * FEC_N; f++)
		if (is_lost(f / FEC_N))
			sig += (double)ref[f] * ref[f];
	print_message("    lost frames: signal %.1f dB, error FEC %.1f dB, "
		      "PLC %.1f dB\n", 10 * log10(sig),
		      10 * log10(e_fec), 10 * log10(e_plc));
	/* "clearly better": at least 6 dB less error energy */
	assert_true(e_fec * 4 < e_plc);
	sb_codec_enc_free(enc);
	sb_codec_dec_free(dec);
}

/* A browser's Opus (48 kHz, 32 kbit/s, CELT) decoded at 8 kHz with two
 * packets lost in a row, concealed the way the transcoder does (PLC for
 * the first, FEC from the packet after the second when it carries any,
 * else PLC): the concealed frames and those after them keep the tone's
 * level. libopus' own PLC fell below -40 dB within 15 ms and took 40 ms
 * to come back. */
static void test_opus_loss_keeps_level(void **state)
{
	(void)state;
	enum { FRAMES = 40, IN_N = 960, OUT_N = 160, LOST = 20 };
	static int16_t in[FRAMES * IN_N], out[FRAMES * OUT_N];
	static uint8_t pkt[FRAMES][SB_CODEC_MAX_PAYLOAD];
	ssize_t len[FRAMES];
	sb_codec_dec *dec = NULL;
	sb_codec_params p;
	int err;
	/* the kind of stream a browser sends for a steady tone: CELT-only
	 * packets (TOC configuration >= 16), which carry no FEC */
	OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
	assert_non_null(enc);
	assert_int_equal(opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000)), OPUS_OK);
	sb_codec_params_init(&p);
	p.pcm_rate = 8000;
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p, &dec), 0);
	make_tone(in, FRAMES * IN_N, 48000);
	for (int f = 0; f < FRAMES; f++) {
		len[f] = opus_encode(enc, in + f * IN_N, IN_N, pkt[f], SB_CODEC_MAX_PAYLOAD);
		assert_true(len[f] > 0);
	}
	assert_true(pkt[LOST + 2][0] >> 3 >= 16);
	for (int f = 0; f < FRAMES; f++) {
		int16_t *o = out + f * OUT_N;
		if (f == LOST) {
			assert_int_equal(sb_codec_plc(dec, o, OUT_N), OUT_N);
		} else if (f == LOST + 1) {
			if (sb_codec_decode_fec(dec, pkt[f + 1], (size_t)len[f + 1], o, OUT_N) != OUT_N)
				assert_int_equal(sb_codec_plc(dec, o, OUT_N), OUT_N);
		} else {
			assert_int_equal(sb_codec_decode(dec, pkt[f], (size_t)len[f], o, OUT_N), OUT_N);
		}
	}
	double ref = 20 * log10(TONE_AMP / sqrt(2));
	/* 5 ms windows from the loss to two frames after it */
	for (int w = LOST * 4; w < (LOST + 4) * 4; w++)
		assert_true(rms_db(out + w * 40, 40) > ref - 12);
	opus_encoder_destroy(enc);
	sb_codec_dec_free(dec);
}

/* PLC output for G.711/G.722 continues the tone rather than silence. */
static void plc_continues(const sb_codec *c)
{
	sb_codec_dec *dec = NULL;
	sb_codec_enc *enc = NULL;
	assert_int_equal(sb_codec_enc_new(c, NULL, &enc), 0);
	assert_int_equal(sb_codec_dec_new(c, NULL, &dec), 0);
	size_t n = sb_codec_samples(dec->pcm_rate, 20);
	static int16_t in[16000], out[16000];
	uint8_t pkt[SB_CODEC_MAX_PAYLOAD];
	make_tone(in, dec->pcm_rate / 5, dec->pcm_rate);
	for (size_t i = 0; i < 9; i++) {
		ssize_t len = sb_codec_encode(enc, in + i * n, n, pkt,
					      sizeof(pkt));
		assert_int_equal(sb_codec_decode(dec, pkt, (size_t)len,
						 out + i * n, n), (ssize_t)n);
	}
	assert_int_equal(sb_codec_plc(dec, out + 9 * n, n), (ssize_t)n);
	double ref = 20 * log10(TONE_AMP / sqrt(2));
	assert_true(rms_db(out + 9 * n, n) > ref - 6);
	assert_true(fabs(measure_freq(out + 9 * n, n, dec->pcm_rate) -
			 TONE_HZ) < 20);
	/* a long burst fades out: silence after 60 ms of loss */
	for (size_t i = 10; i < 13; i++)
		assert_int_equal(sb_codec_plc(dec, out + i * n, n), (ssize_t)n);
	assert_true(rms_db(out + 12 * n, n) < 1);
	sb_codec_enc_free(enc);
	sb_codec_dec_free(dec);
}

static void test_plc_g711(void **s)
{
	(void)s;
	plc_continues(&sb_codec_pcmu);
}
static void test_plc_g722(void **s)
{
	(void)s;
	plc_continues(&sb_codec_g722);
}

static void test_opus_garbage(void **state)
{
	(void)state;
	sb_codec_dec *dec = NULL;
	int16_t out[960];
	/* TOC code 3 with a frame count of 0 is invalid (RFC 6716 §3.2.5). */
	uint8_t bad[] = { 0x03, 0x00 };
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, NULL, &dec), 0);
	assert_int_equal(sb_codec_decode(dec, bad, sizeof(bad), out, 960),
			 -EBADMSG);
	sb_codec_dec_free(dec);
}

/* Opus TOC configurations 16..31 are CELT only, 0..11 SILK only
 * (RFC 6716 §3.1). */
static bool toc_celt(const uint8_t *pkt)
{
	return (pkt[0] >> 3) >= 16;
}

static bool toc_silk(const uint8_t *pkt)
{
	return (pkt[0] >> 3) < 12;
}

/* Encodes frames of the tone from in + *at into out + *at and says
 * whether every packet was CELT (1), SILK (0) or mixed (-1). */
static int encode_run(sb_codec_enc *enc, sb_codec_dec *dec,
		      const int16_t *in, int16_t *out, size_t *at,
		      int frames)
{
	int celt = 0, silk = 0;
	uint8_t pkt[SB_CODEC_MAX_PAYLOAD];

	for (int f = 0; f < frames; f++, *at += 160) {
		ssize_t len = sb_codec_encode(enc, in + *at, 160, pkt,
					      sizeof(pkt));
		assert_true(len > 2);
		celt += toc_celt(pkt);
		silk += toc_silk(pkt);
		assert_int_equal(sb_codec_decode(dec, pkt, (size_t)len,
						 out + *at, 160), 160);
	}
	return celt == frames ? 1 : silk == frames ? 0 : -1;
}

/* low_delay: CELT while the loss hint is 0, SILK (which alone carries
 * FEC) from the first reported loss on, the tone intact on both sides
 * of the switch. */
static void test_opus_low_delay(void **state)
{
	(void)state;
	static int16_t in[8000 * 2], out[8000 * 2];
	sb_codec_enc *enc = NULL;
	sb_codec_dec *dec = NULL;
	sb_codec_params p;
	size_t at = 0;

	sb_codec_params_init(&p);
	p.pcm_rate = 8000;
	p.loss_perc = 0;
	p.low_delay = true;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p, &dec), 0);
	make_tone(in, 8000 * 2, 8000);
	assert_int_equal(encode_run(enc, dec, in, out, &at, 50), 1);
	assert_tone(out, 8000, 8000);
	assert_int_equal(sb_codec_set_loss(enc, 0), 0);
	assert_int_equal(encode_run(enc, dec, in, out, &at, 5), 1);
	assert_int_equal(sb_codec_set_loss(enc, 5), 0);
	assert_int_equal(encode_run(enc, dec, in, out, &at, 45), 0);
	assert_tone(out + 8000, 8000, 8000);
	/* for good: no loss reported again does not go back */
	assert_int_equal(sb_codec_set_loss(enc, 0), 0);
	at = 0;
	assert_int_equal(encode_run(enc, dec, in, out, &at, 5), 0);
	sb_codec_enc_free(enc);

	/* DTX, or a loss hint from the start, needs SILK at once */
	p.dtx = true;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), 0);
	assert_int_equal(encode_run(enc, dec, in, out, &at, 5), 0);
	sb_codec_enc_free(enc);
	p.dtx = false;
	p.loss_perc = 10;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), 0);
	assert_int_equal(encode_run(enc, dec, in, out, &at, 5), 0);
	sb_codec_enc_free(enc);
	/* without FEC, loss is no reason to leave CELT */
	p.fec = false;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), 0);
	assert_int_equal(sb_codec_set_loss(enc, 20), 0);
	assert_int_equal(encode_run(enc, dec, in, out, &at, 5), 1);
	assert_int_equal(sb_codec_set_loss(enc, 101), -EINVAL);
	sb_codec_enc_free(enc);
	sb_codec_dec_free(dec);
}

/* Signal-to-noise ratio of out against in (n samples at the same
 * rate), at the lag up to 400 samples that fits best. */
static double snr_db(const int16_t *in, const int16_t *out, size_t n)
{
	double best = -100;
	for (size_t lag = 0; lag < 400; lag++) {
		double sig = 0, err = 0;
		for (size_t i = 800; i + lag < n; i++) {
			double d = (double)out[i + lag] - in[i];
			sig += (double)in[i] * in[i];
			err += d * d;
		}
		best = fmax(best, 10 * log10(sig / (err + 1e-9)));
	}
	return best;
}

/* A tone with a second, weaker one: SNR depends on the coding. */
static void make_two_tones(int16_t *pcm, size_t n, uint32_t rate)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(TONE_AMP * sin(2 * M_PI * 440 * i / rate) +
					0.3 * TONE_AMP * sin(2 * M_PI * 2900 * i / rate));
}

/* Encodes 1 s at rate in frames of ms, checks every packet's TOC byte
 * (want: the configuration, -1 = any CELT-only one) and that a browser's
 * decoder (48 kHz) takes it; returns the SNR of our own decoder's
 * output at rate. */
static double celt_run(uint32_t rate, unsigned ms, int want)
{
	static int16_t in[16000], out[16000], pcm48[48000];
	sb_codec_params p;
	sb_codec_enc *enc = NULL;
	sb_codec_dec *dec = NULL;
	int err;
	OpusDecoder *browser = opus_decoder_create(48000, 1, &err);
	size_t frame = rate / 1000 * ms, n = rate, at = 0;
	uint8_t pkt[SB_CODEC_MAX_PAYLOAD];

	sb_codec_params_init(&p);
	p.pcm_rate = rate;
	p.loss_perc = 0;
	p.low_delay = true;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &enc), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p, &dec), 0);
	make_two_tones(in, n, rate);
	for (size_t i = 0; i + frame <= n; i += frame) {
		ssize_t len = sb_codec_encode(enc, in + i, frame, pkt, sizeof(pkt));
		assert_true(len > 2);
		assert_true(toc_celt(pkt));
		if (want >= 0)
			assert_int_equal(pkt[0], want << 3); /* mono, one frame */
		assert_int_equal(opus_decode(browser, pkt, (opus_int32)len,
					     pcm48 + at, 48 * (int)ms, 0),
				 48 * (int)ms);
		at += 48 * ms;
		assert_int_equal(sb_codec_decode(dec, pkt, (size_t)len, out + i,
						 frame), (ssize_t)frame);
	}
	double snr = snr_db(in, out, n);
	opus_decoder_destroy(browser);
	sb_codec_enc_free(enc);
	sb_codec_dec_free(dec);
	return snr;
}

/* Low delay CELT goes through libopus's custom API (5 KiB of state
 * instead of 43.5): its packets are standard Opus (RFC 6716 §3.1:
 * CELT-only narrowband 16-19, wideband 20-23, by frame size), and it
 * keeps the waveform as well as the regular encoder does. 40 ms, which
 * CELT cannot make alone, falls back to the regular encoder. */
static void test_opus_celt_custom(void **state)
{
	(void)state;
	static const struct { uint32_t rate; unsigned ms; int config; } c[] = {
		{ 8000, 20, 19 }, { 8000, 10, 18 }, { 16000, 20, 23 },
		{ 16000, 10, 22 }, { 8000, 40, -1 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		double custom = celt_run(c[i].rate, c[i].ms, c[i].config);
		setenv("SB_OPUS_REGULAR_CELT", "1", 1);
		double regular = celt_run(c[i].rate, c[i].ms, -1);
		unsetenv("SB_OPUS_REGULAR_CELT");
		print_message("    %u Hz %u ms: SNR %.1f dB (regular encoder %.1f)\n",
			      c[i].rate, c[i].ms, custom, regular);
		assert_true(custom > 15.0);
		assert_true(custom > regular - 1.5);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_tone_pcmu),
		cmocka_unit_test(test_tone_pcma),
		cmocka_unit_test(test_tone_g722),
		cmocka_unit_test(test_tone_opus8),
		cmocka_unit_test(test_tone_opus16),
		cmocka_unit_test(test_tone_opus48),
		cmocka_unit_test(test_chain_pcmu_opus_pcmu),
		cmocka_unit_test(test_chain_opus_pcmu_opus),
		cmocka_unit_test(test_opus_fec_beats_plc),
		cmocka_unit_test(test_opus_loss_keeps_level),
		cmocka_unit_test(test_opus_low_delay),
		cmocka_unit_test(test_opus_celt_custom),
		cmocka_unit_test(test_plc_g711),
		cmocka_unit_test(test_plc_g722),
		cmocka_unit_test(test_opus_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
