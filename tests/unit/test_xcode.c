/* One transcoding direction end to end: a source encoder makes RTP
 * packets with realistic arrival times, sb_xcode transcodes them, and a
 * sink checks sequence numbers, timestamps and markers and decodes the
 * audio, which must still be the 1 kHz tone (frequency within 2 Hz,
 * level within 3 dB). Loss (FEC vs PLC), reordering, duplicates,
 * repacketisation, RFC 4733 DTMF across clock rates, and the memory
 * footprint. Time is simulated in 1 ms steps; nothing sleeps. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transcoding/codec.h"
#include "transcoding/telephone_event.h"
#include "transcoding/xcode.h"


#define TONE_HZ 1000.0
#define TONE_AMP 10000.0
#define MAX_PKTS 400
#define PULL_OFFSET_MS 5
#define PT_AUDIO_IN 111
#define PT_AUDIO_OUT 0
#define PT_TE 101

/* ---- signals --------------------------------------------------------- */

static void make_tone(int16_t *pcm, size_t n, uint32_t rate, size_t off)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(TONE_AMP * sin(2 * M_PI * TONE_HZ *
						       (double)(off + i) / rate));
}

/* Voice-like: gliding glottal pulses through two resonators (the same
 * shape as test_codec's), deterministic; FEC matters on it. */
static void make_voice(int16_t *pcm, size_t n, uint32_t rate, size_t off)
{
	static double y1, y2, z1, z2, next;
	static uint32_t lcg;
	if (off == 0) {
		y1 = y2 = z1 = z2 = next = 0;
		lcg = 1;
	}
	for (size_t i = 0; i < n; i++) {
		double t = (double)(off + i) / rate;
		double x = 0;
		if ((double)(off + i) >= next) {
			x = 8000;
			next += rate / (120 + 40 * sin(2 * M_PI * t));
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

static double measure_freq(const int16_t *pcm, size_t n, uint32_t rate)
{
	double first = -1, last = -1;
	int count = 0;
	for (size_t i = 1; i < n; i++) {
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			double t = (double)(i - 1) +
				   (double)-pcm[i - 1] / (pcm[i] - pcm[i - 1]);
			if (first < 0)
				first = t;
			else
				count++;
			last = t;
		}
	}
	return count == 0 ? 0 : count * (double)rate / (last - first);
}

static double rms_db(const int16_t *pcm, size_t n)
{
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (double)pcm[i] * pcm[i];
	return 10 * log10(acc / n + 1e-9);
}

/* ---- the input stream ------------------------------------------------ */

typedef struct pkt {
	uint8_t data[SB_CODEC_MAX_PAYLOAD];
	size_t len;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	bool marker;
	uint64_t at_us; /* arrival time */
} pkt_t;

typedef struct stream {
	pkt_t p[MAX_PKTS];
	int n;
	int next; /* next packet to push (after sorting by arrival) */
} stream_t;

/* Stable for equal times: ties keep their order by sequence. */
/* Pull period in ms; 0 = once per output ptime. */
static unsigned g_pull_every;

static int by_arrival(const void *a, const void *b)
{
	const pkt_t *x = a, *y = b;
	if (x->at_us != y->at_us)
		return x->at_us < y->at_us ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void sort_stream(stream_t *s)
{
	qsort(s->p, (size_t)s->n, sizeof(s->p[0]), by_arrival);
	s->next = 0;
}

typedef void (*signal_fn)(int16_t *pcm, size_t n, uint32_t rate,
			  size_t off);

/* ms of audio from codec c (encoded at rate) in ptime packets, sent
 * every ptime with 0..3 ms of deterministic network jitter. */
static void make_stream(stream_t *s, const sb_codec *c, uint32_t rate,
			unsigned ptime, unsigned ms, signal_fn sig)
{
	sb_codec_params prm;
	sb_codec_enc *enc = NULL;
	int16_t pcm[SB_CODEC_MAX_SAMPLES];

	sb_codec_params_init(&prm);
	prm.pcm_rate = c->pcm_rate_selectable ? rate : 0;
	prm.bitrate = c->pcm_rate_selectable ? 32000 : 0;
	assert_int_equal(sb_codec_enc_new(c, &prm, &enc), 0);
	size_t n = sb_codec_samples(enc->pcm_rate, ptime);
	s->n = 0;
	for (unsigned k = 0; k * ptime < ms && s->n < MAX_PKTS; k++) {
		pkt_t *p = &s->p[s->n++];
		sig(pcm, n, enc->pcm_rate, k * n);
		ssize_t len = sb_codec_encode(enc, pcm, n, p->data,
					      sizeof(p->data));
		assert_true(len > 0);
		p->len = (size_t)len;
		p->pt = PT_AUDIO_IN;
		p->seq = (uint16_t)(60000 + k); /* wraps mid-stream */
		p->ts = 1000u + k * sb_codec_ts_units(c, ptime);
		p->marker = k == 0;
		p->at_us = (uint64_t)k * ptime * 1000 + (k * 7919 % 4) * 1000;
	}
	sb_codec_enc_free(enc);
	sort_stream(s);
}

/* ---- the output side --------------------------------------------------- */

typedef struct sink {
	sb_codec_dec *dec;
	uint32_t rate;
	uint32_t ts_step;
	int16_t *pcm;
	size_t len, cap;
	bool have;
	uint16_t seq;
	uint32_t ts;
	int audio, markers, gaps, events, ends;
	uint32_t ev_ts;
	int ev_markers;
	uint32_t audio_ts_before_ev, audio_ts_after_ev;
	bool marker_after_ev;
	size_t pcm_after_ev;   /* decoded samples before the audio resumed */
	bool in_event;
	sb_dtmf_rx rx;
	sb_dtmf_digit digits[8];
	int n_digits;
} sink_t;

static void sink_open(sink_t *k, const sb_codec *c, uint32_t rate,
		      unsigned ptime)
{
	sb_codec_params prm;
	memset(k, 0, sizeof(*k));
	sb_codec_params_init(&prm);
	prm.pcm_rate = c->pcm_rate_selectable ? rate : 0;
	assert_int_equal(sb_codec_dec_new(c, &prm, &k->dec), 0);
	k->rate = k->dec->pcm_rate;
	k->ts_step = sb_codec_ts_units(c, ptime);
	k->cap = k->rate * 4;
	k->pcm = calloc(k->cap, sizeof(int16_t));
	assert_int_equal(sb_dtmf_rx_init(&k->rx, 8000), 0);
}

static void sink_close(sink_t *k)
{
	sb_codec_dec_free(k->dec);
	free(k->pcm);
}

static void sink_event(sink_t *k, const sb_xcode_out *o)
{
	sb_tel_event ev;
	assert_int_equal(sb_tel_event_parse(o->payload, o->len, &ev), 0);
	if (k->events == 0) {
		k->ev_ts = o->ts;
		k->audio_ts_before_ev = k->ts;
	}
	assert_int_equal(o->ts, k->ev_ts); /* one event, one timestamp */
	k->events++;
	k->ev_markers += o->marker;
	k->ends += ev.end;
	k->in_event = true;
	int n = sb_dtmf_rx_packet(&k->rx, o->ts, o->payload, o->len,
				  &k->digits[k->n_digits]);
	assert_true(n >= 0);
	k->n_digits += n;
}

static void sink_audio(sink_t *k, const sb_xcode_out *o)
{
	if (k->in_event) {
		k->in_event = false;
		k->audio_ts_after_ev = o->ts;
		k->marker_after_ev = o->marker;
		k->pcm_after_ev = k->len;
	}
	if (k->audio > 0) {
		uint32_t d = o->ts - k->ts;
		assert_true(d > 0 && d % k->ts_step == 0);
		k->gaps += d != k->ts_step;
	}
	k->ts = o->ts;
	k->audio++;
	k->markers += o->marker;
	ssize_t got = sb_codec_decode(k->dec, o->payload, o->len,
				      k->pcm + k->len, k->cap - k->len);
	assert_true(got > 0);
	k->len += (size_t)got;
}

static void sink_put(sink_t *k, const sb_xcode_out *o)
{
	if (k->have)
		assert_int_equal(o->seq, (uint16_t)(k->seq + 1));
	k->have = true;
	k->seq = o->seq;
	assert_int_equal(o->ssrc, 0x1234abcd);
	if (o->event)
		sink_event(k, o);
	else
		sink_audio(k, o);
}

/* ---- driver ------------------------------------------------------------ */

/* Allocation counting (ASan's malloc hooks): only inside sb_xcode. */
static bool g_counting;
static unsigned long g_allocs;
static size_t g_bytes;

static int push(sb_xcode *x, const pkt_t *p, uint64_t now)
{
	g_counting = true;
	int r = sb_xcode_push(x, p->data, p->len, p->pt, p->seq, p->ts,
			      p->marker, now);
	g_counting = false;
	return r;
}

static int pull(sb_xcode *x, uint64_t now, sb_xcode_out *o)
{
	g_counting = true;
	int r = sb_xcode_pull(x, now, o);
	g_counting = false;
	return r;
}

/* Push every packet at its arrival time and pull every output ptime,
 * for simulated times from_ms..to_ms. */
static void run(sb_xcode *x, stream_t *s, sink_t *k, unsigned out_ptime,
		unsigned from_ms, unsigned to_ms)
{
	sb_xcode_out o;

	for (uint64_t t = from_ms; t <= to_ms; t++) {
		uint64_t now = t * 1000;
		for (; s->next < s->n && s->p[s->next].at_us <= now; s->next++)
			push(x, &s->p[s->next], now);
		if (g_pull_every ? t % g_pull_every != 0
				 : t % out_ptime != PULL_OFFSET_MS % out_ptime)
			continue;
		while (pull(x, now, &o) == 0)
			sink_put(k, &o);
	}
}

static void cfg_for(sb_xcode_cfg *cfg, const sb_codec *in, unsigned in_ms,
		    const sb_codec *out, unsigned out_ms)
{
	sb_xcode_cfg_init(cfg);
	cfg->in_codec = in;
	cfg->in_pt = PT_AUDIO_IN;
	cfg->in_ptime_ms = in_ms;
	cfg->out_codec = out;
	cfg->out_pt = PT_AUDIO_OUT;
	cfg->out_ptime_ms = out_ms;
	cfg->out_ssrc = 0x1234abcd;
	cfg->out_seq0 = 65530; /* wraps during the test */
	cfg->out_ts0 = 0xfffff000u;
}

/* Decoded audio from sample `from` on, skipping 200 ms (jitter buffer
 * fill, codec start-up) and the last 150 ms (the stream ends:
 * concealment fades out), is the tone. */
static void assert_tone_from(const sink_t *k, size_t from)
{
	size_t skip = from + k->rate / 5, tail = k->rate * 3 / 20;
	assert_true(k->len > skip + tail + k->rate / 5);
	size_t n = k->len - skip - tail;
	double f = measure_freq(k->pcm + skip, n, k->rate);
	double db = rms_db(k->pcm + skip, n);
	double ref = 20 * log10(TONE_AMP / sqrt(2));
	print_message("    freq %.2f Hz, level %+.2f dB, %d packets\n", f,
		      db - ref, k->audio);
	assert_true(fabs(f - TONE_HZ) < 2.0);
	assert_true(fabs(db - ref) < 3.0);
}

static void assert_tone(const sink_t *k)
{
	assert_tone_from(k, 0);
}

static stream_t g_stream;

/* A clean tone from `in` (ptime in_ms) to `out` (ptime out_ms). */
static void tone_case(const sb_codec *in, uint32_t src_rate, unsigned in_ms,
		      const sb_codec *out, uint32_t sink_rate,
		      unsigned out_ms)
{
	sb_xcode_cfg cfg;
	sb_xcode_stats st;
	sink_t k;
	int err;
	const unsigned ms = 1000;

	cfg_for(&cfg, in, in_ms, out, out_ms);
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_int_equal(err, 0);
	assert_non_null(x);
	make_stream(&g_stream, in, src_rate, in_ms, ms, make_tone);
	sink_open(&k, out, sink_rate, out_ms);
	run(x, &g_stream, &k, out_ms, 0, ms);
	sb_xcode_get_stats(x, &st);
	/* nothing was lost or made up while the stream lasted */
	assert_int_equal(st.concealed, 0);
	assert_int_equal(st.fec_recovered, 0);
	run(x, &g_stream, &k, out_ms, ms + 1, ms + 60);
	sb_xcode_get_stats(x, &st);
	print_message("    in %lu out %lu lost %lu concealed %lu delay %u ms\n",
		      (unsigned long)st.packets_in,
		      (unsigned long)st.packets_out, (unsigned long)st.lost,
		      (unsigned long)st.concealed, st.delay_ms);
	assert_tone(&k);
	assert_int_equal(st.packets_in, (uint64_t)g_stream.n);
	assert_int_equal(st.lost, 0);
	assert_int_equal(k.markers, 1);  /* first packet only */
	assert_int_equal(k.gaps, 0);     /* ts advance one frame each */
	/* all the audio came out (minus what sits in the buffer) */
	assert_true(k.audio * out_ms + 80 >= ms);
	sink_close(&k);
	sb_xcode_free(x);
}

static void test_opus_to_pcmu(void **s)
{
	(void)s;
	tone_case(&sb_codec_opus, 48000, 20, &sb_codec_pcmu, 0, 20);
}

static void test_pcmu_to_opus(void **s)
{
	(void)s;
	tone_case(&sb_codec_pcmu, 0, 20, &sb_codec_opus, 48000, 20);
}

static void test_opus_to_pcma(void **s)
{
	(void)s;
	tone_case(&sb_codec_opus, 48000, 20, &sb_codec_pcma, 0, 20);
}

static void test_pcma_to_opus(void **s)
{
	(void)s;
	tone_case(&sb_codec_pcma, 0, 20, &sb_codec_opus, 48000, 20);
}

static void test_opus_to_g722(void **s)
{
	(void)s;
	tone_case(&sb_codec_opus, 48000, 20, &sb_codec_g722, 0, 20);
}

static void test_g722_to_opus(void **s)
{
	(void)s;
	tone_case(&sb_codec_g722, 0, 20, &sb_codec_opus, 48000, 20);
}

/* 30 ms in, 20 ms out (and the other way): the repacketiser keeps the
 * output timestamps continuous. */
static void test_repack_30_to_20(void **s)
{
	(void)s;
	tone_case(&sb_codec_pcmu, 0, 30, &sb_codec_opus, 48000, 20);
}

static void test_repack_20_to_30(void **s)
{
	(void)s;
	tone_case(&sb_codec_opus, 48000, 20, &sb_codec_pcmu, 0, 30);
}

static void test_repack_40_to_10(void **s)
{
	(void)s;
	tone_case(&sb_codec_opus, 48000, 40, &sb_codec_pcma, 0, 10);
}

/* Pulled every millisecond instead of every ptime: same stream. */
static void test_pull_often(void **s)
{
	(void)s;
	g_pull_every = 1;
	tone_case(&sb_codec_opus, 48000, 20, &sb_codec_pcmu, 0, 20);
	g_pull_every = 0;
}

/* ---- loss: FEC against PLC ------------------------------------------- */

static double err_energy(const int16_t *a, const int16_t *b, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return e;
}

#define FEC_MS 600
#define FEC_DROP 15 /* the packet lost */

/* Transcodes the voice stream Opus -> PCMU, dropping packet FEC_DROP
 * when drop is set; fills *k and *st. */
static void voice_run(sink_t *k, sb_xcode_stats *st, bool drop, bool fec,
		      bool jitter)
{
	sb_xcode_cfg cfg;
	int err;

	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_pcmu, 20);
	cfg.opus_fec = fec;
	cfg.use_jitter = jitter;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	make_stream(&g_stream, &sb_codec_opus, 48000, 20, FEC_MS, make_voice);
	if (drop) {
		g_stream.p[FEC_DROP] = g_stream.p[--g_stream.n];
		sort_stream(&g_stream);
	}
	sink_open(k, &sb_codec_pcmu, 0, 20);
	run(x, &g_stream, k, 20, 0, FEC_MS);
	sb_xcode_get_stats(x, st);
	sb_xcode_free(x);
}

static void test_fec_recovers_loss(void **state)
{
	(void)state;
	sink_t ref, with, without;
	sb_xcode_stats s_ref, s_fec, s_plc;

	voice_run(&ref, &s_ref, false, true, true);
	voice_run(&with, &s_fec, true, true, true);
	voice_run(&without, &s_plc, true, false, true);
	assert_int_equal(s_ref.lost, 0);
	assert_int_equal(s_fec.lost, 1);
	assert_int_equal(s_fec.fec_recovered, 1);
	assert_int_equal(s_fec.concealed, 0);
	assert_int_equal(s_plc.lost, 1);
	assert_int_equal(s_plc.fec_recovered, 0);
	assert_int_equal(s_plc.concealed, 1);
	/* same timing, so the outputs line up sample for sample */
	assert_int_equal(with.len, ref.len);
	assert_int_equal(without.len, ref.len);
	assert_int_equal(with.gaps + without.gaps, 0);
	double e_fec = err_energy(with.pcm, ref.pcm, ref.len);
	double e_plc = err_energy(without.pcm, ref.pcm, ref.len);
	print_message("    error vs loss-free: FEC %.1f dB, PLC %.1f dB\n",
		      10 * log10(e_fec + 1), 10 * log10(e_plc + 1));
	assert_true(e_fec > 0);
	assert_true(e_fec * 2 < e_plc); /* at least 3 dB better */
	sink_close(&ref);
	sink_close(&with);
	sink_close(&without);
}

/* Without a jitter buffer the loss is seen only at the next arrival,
 * whose FEC rebuilds it: both frames go out then, and the output stays
 * continuous (no timestamp gap, no second marker), frame for frame the
 * loss-free run's. */
static void test_direct_mode(void **state)
{
	(void)state;
	sink_t k, ref;
	sb_xcode_stats st, s_ref;

	voice_run(&ref, &s_ref, false, true, false);
	voice_run(&k, &st, true, true, false);
	assert_int_equal(s_ref.lost, 0);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.fec_recovered, 1);
	assert_int_equal(st.concealed, 0);
	assert_int_equal(k.markers, 1);
	assert_int_equal(k.gaps, 0);
	assert_int_equal(k.audio, ref.audio);
	assert_true(k.audio >= FEC_MS / 20 - 1);
	sink_close(&k);
	sink_close(&ref);
}

static void push_pcmu(sb_xcode *x, uint16_t seq, uint32_t ts, uint64_t now)
{
	uint8_t pl[160];
	memset(pl, 0xd5, sizeof(pl));
	assert_int_equal(sb_xcode_push(x, pl, sizeof(pl), PT_AUDIO_IN, seq,
				       ts, false, now), 0);
}

/* Direct mode adds no delay: the frame pushed is due at once, at the
 * same instant; nothing is due after it. A timestamp jump with no
 * sequence gap (the sender's DTX) moves the output timestamps as far
 * (8 kHz in, 48 kHz out) and marks the talkspurt. */
static void test_direct_immediate(void **state)
{
	(void)state;
	sb_xcode_cfg cfg;
	sb_xcode_out o;
	int err;

	cfg_for(&cfg, &sb_codec_pcmu, 20, &sb_codec_opus, 20);
	cfg.use_jitter = false;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	push_pcmu(x, 100, 8000, 1000);
	assert_int_equal(sb_xcode_pull(x, 1000, &o), 0);
	assert_int_equal(o.ts, cfg.out_ts0);
	assert_true(o.marker);
	assert_int_equal(sb_xcode_pull(x, 1000, &o), -EAGAIN);
	assert_int_equal(sb_xcode_pull(x, 60000, &o), -EAGAIN);
	push_pcmu(x, 101, 8160, 21000);
	assert_int_equal(sb_xcode_pull(x, 21000, &o), 0);
	assert_int_equal(o.ts, cfg.out_ts0 + 960);
	assert_false(o.marker);
	/* 10 frames of silence not sent, then the next one */
	push_pcmu(x, 102, 8320 + 10 * 160, 241000);
	assert_int_equal(sb_xcode_pull(x, 241000, &o), 0);
	assert_int_equal(o.ts, cfg.out_ts0 + 2 * 960 + 10 * 960);
	assert_true(o.marker);
	/* a lost packet: concealed at the next arrival, both go out */
	push_pcmu(x, 104, 8320 + 12 * 160, 281000);
	assert_int_equal(sb_xcode_pull(x, 281000, &o), 0);
	assert_int_equal(o.ts, cfg.out_ts0 + 13 * 960);
	assert_int_equal(sb_xcode_pull(x, 281000, &o), 0);
	assert_int_equal(o.ts, cfg.out_ts0 + 14 * 960);
	assert_false(o.marker);
	/* older than what was played: dropped */
	uint8_t pl[160] = { 0 };
	assert_int_equal(sb_xcode_push(x, pl, sizeof(pl), PT_AUDIO_IN, 103,
				       8320 + 11 * 160, false, 282000), -ETIME);
	sb_xcode_free(x);
}

/* PCMU voice through a PCMU -> Opus direction whose receiver reports
 * loss_perc % loss; then packet LOST_PKT of the output is lost, and a
 * receiver rebuilds it from the next one's FEC (which is PLC when the
 * packet carries none). Returns that frame's error against decoding
 * the packet itself. */
#define LOSS_PKTS 30
#define LOST_PKT 20
static double error_rebuilding_lost(int loss_perc)
{
	sb_xcode_cfg cfg;
	sb_codec_params prm;
	sb_codec_enc *pcmu = NULL;
	sb_codec_dec *ref = NULL, *rx = NULL;
	uint8_t pkts[LOSS_PKTS][SB_CODEC_MAX_PAYLOAD], g711[160];
	size_t lens[LOSS_PKTS];
	int16_t pcm[160], a[160], b[160];
	sb_xcode_out o;
	int err;

	cfg_for(&cfg, &sb_codec_pcmu, 20, &sb_codec_opus, 20);
	cfg.use_jitter = false;
	cfg.opus_loss_perc = 0;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	assert_int_equal(sb_xcode_set_loss(x, loss_perc), 0);
	sb_codec_params_init(&prm);
	prm.pcm_rate = 8000;
	assert_int_equal(sb_codec_enc_new(&sb_codec_pcmu, &prm, &pcmu), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &prm, &ref), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &prm, &rx), 0);
	for (unsigned i = 0; i < LOSS_PKTS; i++) {
		make_voice(pcm, 160, 8000, i * 160);
		assert_int_equal(sb_codec_encode(pcmu, pcm, 160, g711, 160), 160);
		assert_int_equal(sb_xcode_push(x, g711, 160, PT_AUDIO_IN,
					       (uint16_t)i, i * 160, false,
					       i * 20000), 0);
		assert_int_equal(sb_xcode_pull(x, i * 20000, &o), 0);
		memcpy(pkts[i], o.payload, o.len);
		lens[i] = o.len;
	}
	double e = 0;
	for (unsigned i = 0; i < LOSS_PKTS; i++) {
		assert_int_equal(sb_codec_decode(ref, pkts[i], lens[i], a, 160),
				 160);
		if (i == LOST_PKT) {
			/* no loss reported: CELT (low delay), which has no
			 * FEC, so the receiver conceals */
			ssize_t n = sb_codec_decode_fec(rx, pkts[i + 1],
							lens[i + 1], b, 160);
			assert_int_equal(n, loss_perc ? 160 : -ENOTSUP);
			if (n < 0)
				assert_int_equal(sb_codec_plc(rx, b, 160), 160);
			e = err_energy(a, b, 160);
		} else {
			assert_int_equal(sb_codec_decode(rx, pkts[i], lens[i],
							 b, 160), 160);
		}
	}
	sb_codec_dec_free(ref);
	sb_codec_dec_free(rx);
	sb_codec_enc_free(pcmu);
	sb_xcode_free(x);
	return e;
}

/* FEC follows the receiver's reported loss: none while it loses
 * nothing (FEC costs a third more encoding), in-band FEC once it
 * reports loss; out-of-range hints are refused. */
static void test_loss_hint_fec(void **state)
{
	(void)state;
	double none = error_rebuilding_lost(0);
	double some = error_rebuilding_lost(20);
	print_message("    lost frame rebuilt: %.1f dB without loss reported, "
		      "%.1f dB with 20 %%\n", 10 * log10(none + 1),
		      10 * log10(some + 1));
	assert_true(some * 2 < none);
	sb_xcode_cfg cfg;
	int err;
	cfg_for(&cfg, &sb_codec_pcmu, 20, &sb_codec_opus, 20);
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_int_equal(sb_xcode_set_loss(x, 101), -EINVAL);
	assert_int_equal(sb_xcode_set_loss(x, -1), -EINVAL);
	sb_xcode_free(x);
}

/* ---- reordering and duplicates ------------------------------------- */

static void test_reorder_duplicate(void **state)
{
	(void)state;
	sb_xcode_cfg cfg;
	sb_xcode_stats st;
	sink_t k;
	int err;

	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_pcmu, 20);
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	make_stream(&g_stream, &sb_codec_opus, 48000, 20, 1000, make_tone);
	/* stream is sorted: index == packet number */
	g_stream.p[10].at_us = g_stream.p[11].at_us + 1000; /* swapped */
	pkt_t *d = &g_stream.p[g_stream.n++];
	*d = g_stream.p[20];
	d->at_us += 5000;                                  /* duplicate */
	d = &g_stream.p[g_stream.n++];
	*d = g_stream.p[30];
	d->at_us += 200000;                   /* duplicate, far too late */
	sort_stream(&g_stream);
	sink_open(&k, &sb_codec_pcmu, 0, 20);
	run(x, &g_stream, &k, 20, 0, 1000);
	sb_xcode_get_stats(x, &st);
	assert_int_equal(st.packets_in, 50);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.concealed, 0);
	assert_int_equal(k.gaps, 0);
	assert_int_equal(k.markers, 1);
	assert_tone(&k);
	sink_close(&k);
	sb_xcode_free(x);
}

/* ---- RFC 4733 across clock rates ------------------------------------- */

#define EV_AT 10   /* packet slot where the digit starts */
#define EV_MS 100  /* its length */

/* Tone as Opus 48k with a '5' of EV_MS sent in place of the audio from
 * slot EV_AT, as WebRTC senders do: updates every 20 ms, then three end
 * packets at once (one retransmitted twice by the network). */
static void make_dtmf_stream(stream_t *s)
{
	static stream_t audio;
	sb_dtmf_gen g;
	sb_dtmf_pkt dp;
	uint16_t seq = 65500;
	int slot = 0;

	make_stream(&audio, &sb_codec_opus, 48000, 20, 1000, make_tone);
	assert_int_equal(sb_dtmf_gen_init(&g, 48000, 20), 0);
	s->n = 0;
	for (int a = 0; a < audio.n; a++, slot++) {
		pkt_t *p;
		if (slot == EV_AT)
			assert_int_equal(sb_dtmf_gen_start(&g, '5', EV_MS, 10,
							   audio.p[a].ts), 0);
		while (sb_dtmf_gen_busy(&g)) {
			sb_dtmf_gen_next(&g, &dp);
			p = &s->p[s->n++];
			memcpy(p->data, dp.payload, 4);
			p->len = 4;
			p->pt = PT_TE;
			p->seq = seq++;
			p->ts = dp.timestamp;
			p->marker = dp.marker;
			p->at_us = audio.p[a].at_us;
			if (!(dp.payload[1] & 0x80))
				break; /* next update one ptime later */
			if (s->n > 1 && (s->p[s->n - 2].data[1] & 0x80) == 0) {
				/* the network duplicates the first end */
				s->p[s->n] = *p;
				s->p[s->n++].at_us += 1000;
			}
		}
		if (a >= EV_AT && a < EV_AT + EV_MS / 20)
			continue; /* the event replaced this audio */
		p = &s->p[s->n++];
		*p = audio.p[a];
		p->seq = seq++;
	}
	sort_stream(s);
}

static void test_dtmf_48k_to_8k(void **state)
{
	(void)state;
	sb_xcode_cfg cfg;
	sb_xcode_stats st;
	sink_t k;
	int err;

	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_pcmu, 20);
	cfg.in_te_pt = PT_TE;
	cfg.in_te_clock = 48000;
	cfg.out_te_pt = PT_TE;
	cfg.out_te_clock = 8000;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	make_dtmf_stream(&g_stream);
	sink_open(&k, &sb_codec_pcmu, 0, 20);
	run(x, &g_stream, &k, 20, 0, 1000);
	sb_xcode_get_stats(x, &st);
	print_message("    events out %lu, digit '%c' %u ms, %d end packets\n",
		      (unsigned long)st.events_out, k.digits[0].digit,
		      k.digits[0].duration_ms, k.ends);
	assert_int_equal(st.dtmf_events, 1);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(k.n_digits, 1);
	assert_int_equal(k.digits[0].digit, '5');
	assert_int_equal(k.digits[0].duration_ms, EV_MS);
	assert_true(k.digits[0].end_seen);
	assert_int_equal(k.ends, 3);
	assert_int_equal(k.events, 4 + 3);
	assert_int_equal(k.ev_markers, 1);
	/* the event sits on the output audio timeline, audio resumes
	 * after it with a marker, and no input audio counted as lost */
	assert_true((int32_t)(k.ev_ts - k.audio_ts_before_ev) > 0);
	assert_true((int32_t)(k.audio_ts_after_ev - k.ev_ts) >= EV_MS * 8);
	assert_true(k.marker_after_ev);
	assert_int_equal(k.markers, 2);
	assert_int_equal(st.lost, 0);
	/* audio around the event is a phase jump: check after it */
	assert_tone_from(&k, k.pcm_after_ev);
	sink_close(&k);
	sb_xcode_free(x);
}

/* The end packets never come: three are made up after a timeout, and
 * an event with no telephone-event on the output is dropped. */
static void test_dtmf_lost_end(void **state)
{
	(void)state;
	sb_xcode_cfg cfg;
	sink_t k;
	int err;

	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_pcmu, 20);
	cfg.in_te_pt = PT_TE;
	cfg.out_te_pt = PT_TE;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	make_dtmf_stream(&g_stream);
	int kept = 0;
	for (int i = 0; i < g_stream.n; i++) {
		if (g_stream.p[i].pt == PT_TE && (g_stream.p[i].data[1] & 0x80))
			continue;
		g_stream.p[kept++] = g_stream.p[i];
	}
	g_stream.n = kept;
	sort_stream(&g_stream);
	sink_open(&k, &sb_codec_pcmu, 0, 20);
	run(x, &g_stream, &k, 20, 0, 1000);
	assert_int_equal(k.n_digits, 1);
	assert_int_equal(k.digits[0].digit, '5');
	assert_int_equal(k.ends, 3);
	assert_true(k.marker_after_ev);
	sink_close(&k);
	sb_xcode_free(x);

	cfg.out_te_pt = -1;
	x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	make_dtmf_stream(&g_stream);
	sink_open(&k, &sb_codec_pcmu, 0, 20);
	run(x, &g_stream, &k, 20, 0, 1000);
	assert_int_equal(k.events, 0);
	assert_int_equal(k.markers, 1);
	sink_close(&k);
	sb_xcode_free(x);
}

/* ---- configuration and bad input ------------------------------------ */

static void test_bad_config_and_input(void **state)
{
	(void)state;
	sb_xcode_cfg cfg;
	sb_xcode_out o;
	int err = 0;
	uint8_t junk[3] = { 1, 2, 3 };

	assert_null(sb_xcode_new(NULL, &err));
	assert_int_equal(err, -EINVAL);
	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_pcmu, 25);
	assert_null(sb_xcode_new(&cfg, &err));
	assert_int_equal(err, -EINVAL);
	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_opus, 30);
	assert_null(sb_xcode_new(&cfg, &err)); /* Opus has no 30 ms */
	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_tel_event_8k, 20);
	assert_null(sb_xcode_new(&cfg, &err));
	assert_int_equal(err, -EINVAL);
	/* 16 kHz G.722 to 8 kHz PCMU would need a resampler */
	cfg_for(&cfg, &sb_codec_g722, 20, &sb_codec_pcmu, 20);
	assert_null(sb_xcode_new(&cfg, &err));
	assert_int_equal(err, -ENOTSUP);

	cfg_for(&cfg, &sb_codec_opus, 20, &sb_codec_pcmu, 20);
	cfg.in_te_pt = PT_TE;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	assert_non_null(x);
	assert_int_equal(sb_xcode_push(x, junk, 3, 96, 1, 0, false, 0),
			 -ENOMSG);
	assert_int_equal(sb_xcode_push(x, junk, 3, PT_TE, 1, 0, false, 0),
			 -EBADMSG);
	assert_int_equal(sb_xcode_push(x, NULL, 0, PT_AUDIO_IN, 1, 0, false,
				       0), -EBADMSG);
	/* garbage as Opus: concealed, never a crash */
	uint8_t bad[40];
	memset(bad, 0xff, sizeof(bad));
	for (int i = 0; i < 10; i++)
		assert_int_equal(sb_xcode_push(x, bad, sizeof(bad),
					       PT_AUDIO_IN, (uint16_t)(10 + i),
					       (uint32_t)(960 * i), false,
					       i * 20000ull), 0);
	int got = 0;
	for (uint64_t t = 0; t < 400000; t += 20000)
		while (sb_xcode_pull(x, t, &o) == 0)
			got++;
	sb_xcode_stats st;
	sb_xcode_get_stats(x, &st);
	/* 3 refused pushes, then each undecodable packet played (the
	 * burst of 10 is partly trimmed by the buffer) is concealed */
	assert_true(st.bad > 3 + 3);
	assert_true(st.concealed >= st.bad - 3);
	assert_true(got > 0);
	sb_xcode_free(x);
}

/* ---- memory ------------------------------------------------------------ */

#ifdef __SANITIZE_ADDRESS__
/* From <sanitizer/allocator_interface.h> (shipped with clang only). */
int __sanitizer_install_malloc_and_free_hooks(
	void (*malloc_hook)(const volatile void *p, size_t size),
	void (*free_hook)(const volatile void *p));

static void on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	if (g_counting) {
		g_allocs++;
		g_bytes += size;
	}
}

static void on_free(const volatile void *p)
{
	(void)p;
}
#endif

/* Bytes and allocations made by creating one direction; then none at
 * all while packets flow. */
static void footprint_max(const char *label, const sb_codec *in,
			  const sb_codec *out, uint32_t src_rate,
			  bool daemon, size_t max_bytes)
{
	sb_xcode_cfg cfg;
	sink_t k;
	int err;

	cfg_for(&cfg, in, 20, out, 20);
	cfg.in_te_pt = PT_TE;
	cfg.out_te_pt = PT_TE;
	if (daemon) {
		/* as webrtc/session_media.c starts it by default: no jitter
		 * buffer, no loss reported yet (so CELT toward Opus) */
		cfg.use_jitter = false;
		cfg.opus_loss_perc = 0;
	}
	g_allocs = 0;
	g_bytes = 0;
	g_counting = true;
	sb_xcode *x = sb_xcode_new(&cfg, &err);
	g_counting = false;
	assert_non_null(x);
	print_message("    %s: %zu bytes in %lu allocations\n", label,
		      g_bytes, g_allocs);
#ifdef __SANITIZE_ADDRESS__
	assert_true(g_bytes > 0);
	assert_true(g_bytes < max_bytes);
#endif
	make_stream(&g_stream, in, src_rate, 20, 1000, make_tone);
	sink_open(&k, out, out->pcm_rate_selectable ? 48000 : 0, 20);
	g_allocs = 0;
	run(x, &g_stream, &k, 20, 0, 1000);
	assert_true(k.audio > 40);
	assert_int_equal(g_allocs, 0);
	sink_close(&k);
	sb_xcode_free(x);
}

static void footprint(const char *label, const sb_codec *in,
		      const sb_codec *out, uint32_t src_rate)
{
	footprint_max(label, in, out, src_rate, false, 64 * 1024);
}

static void test_memory(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	static bool hooked;
	if (!hooked)
		hooked = __sanitizer_install_malloc_and_free_hooks(
				 on_malloc, on_free) != 0;
	assert_true(hooked);
#else
	print_message("    (no ASan: allocations not counted)\n");
#endif
	footprint("opus48 -> PCMU", &sb_codec_opus, &sb_codec_pcmu, 48000);
	footprint("PCMU -> opus48", &sb_codec_pcmu, &sb_codec_opus, 0);
	footprint("opus48 -> G722", &sb_codec_opus, &sb_codec_g722, 48000);
	footprint("G722 -> opus48", &sb_codec_g722, &sb_codec_opus, 0);
	/* the daemon's start: CELT through libopus's custom API toward the
	 * browser (5 KiB; a regular OpusEncoder is 43.5 KiB) */
	footprint_max("daemon: opus48 -> PCMU", &sb_codec_opus, &sb_codec_pcmu,
		      48000, true, 32 * 1024);
	footprint_max("daemon: PCMU -> opus48", &sb_codec_pcmu, &sb_codec_opus,
		      0, true, 16 * 1024);
	footprint_max("daemon: G722 -> opus48", &sb_codec_g722, &sb_codec_opus,
		      0, true, 20 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opus_to_pcmu),
		cmocka_unit_test(test_pcmu_to_opus),
		cmocka_unit_test(test_opus_to_pcma),
		cmocka_unit_test(test_pcma_to_opus),
		cmocka_unit_test(test_opus_to_g722),
		cmocka_unit_test(test_g722_to_opus),
		cmocka_unit_test(test_repack_30_to_20),
		cmocka_unit_test(test_repack_20_to_30),
		cmocka_unit_test(test_repack_40_to_10),
		cmocka_unit_test(test_pull_often),
		cmocka_unit_test(test_fec_recovers_loss),
		cmocka_unit_test(test_direct_mode),
		cmocka_unit_test(test_direct_immediate),
		cmocka_unit_test(test_loss_hint_fec),
		cmocka_unit_test(test_reorder_duplicate),
		cmocka_unit_test(test_dtmf_48k_to_8k),
		cmocka_unit_test(test_dtmf_lost_end),
		cmocka_unit_test(test_bad_config_and_input),
		cmocka_unit_test(test_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
