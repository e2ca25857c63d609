/* One direction of a transcoded call (see xcode.h). With a jitter
 * buffer the output runs on a slot clock: one slot per output ptime,
 * whose RTP timestamp advances whether or not a packet goes out, so
 * timestamps follow real time across silences. Each slot pulls input
 * frames from the jitter buffer (one playout tick per input frame, on
 * demand) until the repacketiser holds one output frame.
 *
 * Without one (direct mode) every output frame is due as soon as its
 * last input sample is decoded, and timestamps follow the input's: a
 * jump in the input timestamps with no sequence gap (DTX, a pause
 * around telephone-events) moves the output timestamps as far.
 * Worker thread of the owning media session. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "transcoding/jitter.h"
#include "transcoding/repacketizer.h"
#include "transcoding/telephone_event.h"
#include "transcoding/xcode.h"
#include "transcoding/xcode_event.h"

/* Longest input frame decoded (Opus allows 120 ms packets). */
#define XC_MAX_IN_MS 120
/* A caller this late skips the missed slots instead of bursting. */
#define XC_MAX_BEHIND_US 100000ull
/* Direct mode (no jitter buffer): larger sequence gaps resynchronise. */
#define XC_MAX_GAP 5
/* Fixed-rate codecs here (G.711, G.722) carry 64 kbit/s: 8 bytes/ms. */
#define XC_FIXED_BYTES_PER_MS 8
#define XC_OPUS_MAX_PAYLOAD 512

struct sb_xcode {
	sb_xcode_cfg cfg;
	sb_codec_dec *dec;      /* owned */
	sb_codec_enc *enc;      /* owned */
	sb_jitter *jb;          /* owned; NULL without jitter buffer */
	sb_repack *rp;          /* owned */
	sb_xcode_ev ev;         /* used when both sides have events */
	bool ev_on;
	uint32_t pcm_rate;
	size_t in_n;            /* samples of the newest input frame */
	size_t max_payload;     /* largest input payload accepted */
	size_t pcm_n;           /* the longest decoded input frame */
	size_t frame_n;         /* samples per output frame */
	/* output slot clock */
	bool out_started;
	uint64_t next_us, ptime_us;
	uint32_t out_ts, ts_step;
	uint16_t out_seq;
	bool marker_next;
	/* input: where audio stood, to place event packets in the buffer */
	bool have_audio;
	uint32_t last_audio_ts;
	uint64_t last_audio_us;
	bool have_seq;          /* direct mode: next expected sequence */
	uint16_t next_seq;
	bool have_in_ts;        /* direct mode: next expected timestamp */
	uint32_t next_in_ts;
	sb_xcode_stats st;
};

/* Work buffers shared by the thread's transcoders: each is used inside
 * one call only (push decodes into pcm and hands it on to the
 * repacketiser; pull encodes frame into pkt, which the caller copies
 * before its next call, see sb_xcode_out), so a worker keeps one set
 * instead of 4-5 KiB per transcoder. */
static _Thread_local struct {
	int16_t pcm[SB_CODEC_MAX_SAMPLES];   /* one decoded input frame */
	int16_t frame[SB_CODEC_MAX_SAMPLES]; /* one output frame */
	uint8_t pkt[SB_CODEC_MAX_PAYLOAD];   /* the packet handed out */
} scratch;

void sb_xcode_cfg_init(sb_xcode_cfg *cfg)
{
	*cfg = (sb_xcode_cfg){
		.in_te_pt = -1, .in_ptime_ms = 20,
		.out_te_pt = -1, .out_ptime_ms = 20,
		.opus_complexity = 5, .opus_fec = true, .opus_dtx = false,
		.opus_loss_perc = 10, .opus_low_delay = true,
		.use_jitter = true, .jitter_min_ms = 20, .jitter_max_ms = 200,
	};
}

/* ---- creation -------------------------------------------------------- */

static bool audio_codec(const sb_codec *c)
{
	return c != NULL && !c->is_event && c->dec_new != NULL;
}

/* The narrow side's rate; Opus adapts to it, two fixed rates must agree
 * because there is no resampler. */
static int pick_rate(const sb_xcode_cfg *cfg, uint32_t *rate)
{
	const sb_codec *a = cfg->in_codec, *b = cfg->out_codec;
	uint32_t r = cfg->pcm_rate;

	if (r == 0) {
		if (a->pcm_rate_selectable && b->pcm_rate_selectable)
			r = MIN(a->pcm_rate, b->pcm_rate);
		else
			r = a->pcm_rate_selectable ? b->pcm_rate : a->pcm_rate;
	}
	if ((!a->pcm_rate_selectable && a->pcm_rate != r) ||
	    (!b->pcm_rate_selectable && b->pcm_rate != r))
		return -ENOTSUP;
	*rate = r;
	return 0;
}

static int check_cfg(const sb_xcode_cfg *c)
{
	if (!audio_codec(c->in_codec) || !audio_codec(c->out_codec) ||
	    c->in_ptime_ms < 10 || c->in_ptime_ms > XC_MAX_IN_MS ||
	    c->out_ptime_ms < 10 || c->out_ptime_ms > 60 ||
	    !sb_codec_supports_ptime(c->out_codec, c->out_ptime_ms) ||
	    c->in_pt > 127 || c->out_pt > 127 || c->in_te_pt > 127 ||
	    c->out_te_pt > 127 || c->opus_complexity > 10 ||
	    c->jitter_min_ms > c->jitter_max_ms || c->jitter_max_ms > 1000)
		return -EINVAL;
	if (c->in_te_pt >= 0 && c->in_te_pt == c->in_pt)
		return -EINVAL;
	return 0;
}

static size_t default_max_payload(const sb_xcode_cfg *c)
{
	if (c->jitter_max_payload != 0)
		return c->jitter_max_payload;
	if (c->in_codec->pcm_rate_selectable)
		return XC_OPUS_MAX_PAYLOAD;
	/* Room for packets twice the announced ptime, and at least 60 ms
	 * (phones do not always send the ptime their SDP says). */
	return XC_FIXED_BYTES_PER_MS * MAX(2 * c->in_ptime_ms, 60u);
}

static int make_jitter(sb_xcode *x)
{
	const sb_xcode_cfg *c = &x->cfg;
	sb_jitter_cfg jc = {
		.clock_rate = c->in_codec->clock_rate,
		.ptime_ms = c->in_ptime_ms,
		.min_ms = c->jitter_min_ms,
		.max_ms = c->jitter_max_ms,
		/* the largest delay plus room for reordering and bursts */
		.slots = CLAMP(c->jitter_max_ms / c->in_ptime_ms + 6, 8u, 64u),
		.max_payload = default_max_payload(c),
	};
	x->jb = sb_jitter_new(&jc);
	return x->jb != NULL ? 0 : -EINVAL;
}

static int make_codecs(sb_xcode *x)
{
	const sb_xcode_cfg *c = &x->cfg;
	sb_codec_params p;

	sb_codec_params_init(&p);
	p.complexity = c->opus_complexity;
	p.fec = c->opus_fec;
	p.dtx = c->opus_dtx;
	p.loss_perc = c->opus_loss_perc;
	p.bitrate = c->opus_bitrate;
	p.low_delay = c->opus_low_delay;
	p.pcm_rate = c->in_codec->pcm_rate_selectable ? x->pcm_rate : 0;
	int err = sb_codec_dec_new(c->in_codec, &p, &x->dec);
	if (err < 0)
		return err;
	p.pcm_rate = c->out_codec->pcm_rate_selectable ? x->pcm_rate : 0;
	return sb_codec_enc_new(c->out_codec, &p, &x->enc);
}

static int make_events(sb_xcode *x)
{
	const sb_xcode_cfg *c = &x->cfg;

	if (c->in_te_pt < 0 || c->out_te_pt < 0)
		return 0;
	x->ev_on = true;
	return sb_xcode_ev_init(&x->ev,
				c->in_te_clock ? c->in_te_clock
					       : c->in_codec->clock_rate,
				c->out_te_clock ? c->out_te_clock
						: c->out_codec->clock_rate);
}

static int build(sb_xcode *x)
{
	const sb_xcode_cfg *c = &x->cfg;
	int err = pick_rate(c, &x->pcm_rate);

	if (err == 0)
		err = make_codecs(x);
	if (err == 0 && c->use_jitter)
		err = make_jitter(x);
	if (err == 0)
		err = make_events(x);
	if (err < 0)
		return err;
	x->rp = sb_repack_new(x->pcm_rate, c->out_ptime_ms,
			      c->out_codec->clock_rate, c->out_ts0);
	if (x->rp == NULL)
		return -EINVAL;
	x->in_n = sb_codec_samples(x->pcm_rate, c->in_ptime_ms);
	x->max_payload = default_max_payload(c);
	/* Opus packets may hold up to 120 ms whatever their size; a 64
	 * kbit/s codec's frame is as long as its payload allows. */
	x->pcm_n = c->in_codec->pcm_rate_selectable
			     ? sb_codec_samples(x->pcm_rate, XC_MAX_IN_MS)
			     : x->max_payload * x->pcm_rate /
				       (XC_FIXED_BYTES_PER_MS * 1000);
	x->frame_n = sb_repack_frame_samples(x->rp);
	if (x->pcm_n > SB_CODEC_MAX_SAMPLES || x->frame_n > SB_CODEC_MAX_SAMPLES)
		return -EINVAL;
	x->ptime_us = c->out_ptime_ms * 1000ull;
	x->ts_step = sb_codec_ts_units(c->out_codec, c->out_ptime_ms);
	x->out_ts = c->out_ts0;
	x->out_seq = c->out_seq0;
	x->marker_next = true;
	x->st.loss_hint = c->out_codec->set_loss ? c->opus_loss_perc : 0;
	return 0;
}

sb_xcode *sb_xcode_new(const sb_xcode_cfg *cfg, int *err)
{
	int e = cfg != NULL ? check_cfg(cfg) : -EINVAL;
	sb_xcode *x = NULL;

	if (e == 0) {
		x = g_new0(sb_xcode, 1);
		x->cfg = *cfg;
		e = build(x);
		if (e < 0) {
			sb_xcode_free(x);
			x = NULL;
		}
	}
	if (err != NULL)
		*err = e;
	return x;
}

void sb_xcode_free(sb_xcode *x)
{
	if (x == NULL)
		return;
	sb_codec_dec_free(x->dec);
	sb_codec_enc_free(x->enc);
	sb_jitter_free(x->jb);
	sb_repack_free(x->rp);
	g_free(x);
}

/* ---- decoding into the repacketiser ---------------------------------- */

static void feed(sb_xcode *x, const int16_t *pcm, size_t n)
{
	/* -ENOSPC only if the output side stopped pulling: drop. */
	if (n > 0)
		(void)sb_repack_push(x->rp, pcm, n);
}

/* One lost input frame: FEC from the next packet when the codec has it,
 * else the codec's concealment. */
static void conceal(sb_xcode *x, const uint8_t *next, size_t len)
{
	ssize_t n = -ENOTSUP;

	if (next != NULL && len > 0 && x->cfg.opus_fec)
		n = sb_codec_decode_fec(x->dec, next, len, scratch.pcm, x->in_n);
	if (n == (ssize_t)x->in_n) {
		x->st.fec_recovered++;
	} else {
		n = sb_codec_plc(x->dec, scratch.pcm, x->in_n);
		if (n != (ssize_t)x->in_n) {
			memset(scratch.pcm, 0, x->in_n * sizeof(*scratch.pcm));
			n = (ssize_t)x->in_n;
		}
		x->st.concealed++;
	}
	feed(x, scratch.pcm, (size_t)n);
}

static void decode(sb_xcode *x, const uint8_t *p, size_t len)
{
	ssize_t n = sb_codec_decode(x->dec, p, len, scratch.pcm, x->pcm_n);

	if (n <= 0) {
		x->st.bad++;
		conceal(x, NULL, 0);
		return;
	}
	/* Concealment and FEC must match the sender's frame size. */
	x->in_n = (size_t)n;
	feed(x, scratch.pcm, (size_t)n);
}

/* A slot held by a telephone-event packet: the sender sent no audio
 * for that time, so play silence. */
static void event_gap(sb_xcode *x)
{
	memset(scratch.pcm, 0, x->in_n * sizeof(*scratch.pcm));
	feed(x, scratch.pcm, x->in_n);
}

/* One playout tick of the jitter buffer; false while it is buffering. */
static bool play_one(sb_xcode *x, uint64_t now_us)
{
	const uint8_t *p;
	size_t len;
	uint32_t ts;
	sb_jitter_result r = sb_jitter_get(x->jb, now_us, &p, &len, &ts);

	if (r == SB_JITTER_WAIT)
		return false;
	if (r == SB_JITTER_FRAME && len == 0)
		event_gap(x);
	else if (r == SB_JITTER_FRAME)
		decode(x, p, len);
	else
		conceal(x, p, len);
	return true;
}

/* Make one output frame available; false if there is no audio. */
static bool fill(sb_xcode *x, uint64_t now_us)
{
	size_t have = sb_repack_pending(x->rp);

	while (x->jb != NULL && have < x->frame_n) {
		if (!play_one(x, now_us)) {
			if (have == 0)
				return false;
			/* End of a talkspurt: finish the frame with silence. */
			memset(scratch.frame, 0, x->frame_n * sizeof(*scratch.frame));
			feed(x, scratch.frame, x->frame_n - have);
		}
		have = sb_repack_pending(x->rp);
	}
	return have >= x->frame_n;
}

/* ---- input ----------------------------------------------------------- */

/* Output audio timestamp ts on the event clock. RFC 4733 §2.1 wants
 * both clocks equal on one SSRC; scale the offset from ts0 if not. */
static uint32_t ev_clock_ts(const sb_xcode *x, uint32_t ts)
{
	uint32_t ac = x->cfg.out_codec->clock_rate, ec = x->ev.out_clock;
	if (ac == ec)
		return ts;
	return sb_tel_event_map_ts(ts, x->cfg.out_ts0, x->cfg.out_ts0, ac,
				   ec);
}

/* The newest input frame's length in input RTP timestamp units. */
static uint32_t in_frame_ts(const sb_xcode *x)
{
	return (uint32_t)(x->in_n * x->cfg.in_codec->clock_rate /
			  x->pcm_rate);
}

/* Direct mode: a timestamp jump with no sequence gap is time the
 * sender sent nothing (DTX, or telephone-events in place of audio):
 * the output timestamps jump as far, with a marker, so the receiver
 * plays the next frame when it was meant to be heard. */
static void direct_ts(sb_xcode *x, uint32_t ts)
{
	int32_t jump = x->have_in_ts ? (int32_t)(ts - x->next_in_ts) : 0;
	uint32_t in_clock = x->cfg.in_codec->clock_rate;
	uint32_t out_clock = x->cfg.out_codec->clock_rate;

	/* backwards, or within half a frame: jitter in the sender's clock */
	if (jump > (int32_t)(in_frame_ts(x) / 2)) {
		x->out_ts += (uint32_t)((uint64_t)jump * out_clock / in_clock);
		x->marker_next = true;
	}
	x->have_in_ts = true;
	x->next_in_ts = ts;
}

/* Direct mode: losses are seen as sequence gaps at arrival. */
static int direct_seq(sb_xcode *x, uint16_t seq, const uint8_t *p,
		      size_t len)
{
	int gap = x->have_seq ? (int16_t)(uint16_t)(seq - x->next_seq) : 0;

	if (gap < 0)
		return -ETIME;
	if (gap > XC_MAX_GAP)
		gap = 0; /* restarted sender: no concealment */
	for (int i = 0; i < gap; i++) {
		x->st.lost++;
		conceal(x, i == gap - 1 ? p : NULL, len);
		/* the frame made up for it holds its time */
		x->next_in_ts += in_frame_ts(x);
	}
	x->have_seq = true;
	x->next_seq = (uint16_t)(seq + 1);
	return 0;
}

static int push_audio(sb_xcode *x, const uint8_t *p, size_t len,
		      uint16_t seq, uint32_t ts, uint64_t now_us)
{
	int err;

	if (len > x->max_payload)
		return -EMSGSIZE;
	if (x->jb != NULL) {
		err = sb_jitter_put(x->jb, seq, ts, p, len, now_us);
	} else {
		err = direct_seq(x, seq, p, len);
		if (err == 0) {
			direct_ts(x, ts);
			decode(x, p, len);
			x->next_in_ts += in_frame_ts(x);
		}
	}
	if (err < 0)
		return err;
	x->have_audio = true;
	x->last_audio_ts = ts;
	x->last_audio_us = now_us;
	return 0;
}

/* Keep the event packet's sequence number in the jitter buffer as an
 * empty slot, so the audio around it does not look lost. Its RTP
 * timestamp is the event start, not "now": give the buffer the audio
 * timestamp this arrival would have had, so the jitter estimate is not
 * disturbed. */
static int hold_event_slot(sb_xcode *x, uint16_t seq, uint32_t ts,
			   uint64_t now_us)
{
	if (x->jb == NULL)
		return direct_seq(x, seq, NULL, 0);
	if (x->have_audio) {
		uint64_t dt = now_us - x->last_audio_us;
		ts = x->last_audio_ts +
		     (uint32_t)(dt * x->cfg.in_codec->clock_rate / 1000000);
	}
	return sb_jitter_put(x->jb, seq, ts, NULL, 0, now_us);
}

static int push_event(sb_xcode *x, const uint8_t *p, size_t len,
		      uint16_t seq, uint32_t ts, uint64_t now_us)
{
	int err = 0;

	if (len < SB_TEL_EVENT_SIZE)
		return -EBADMSG;
	if (x->ev_on)
		err = sb_xcode_ev_push(&x->ev, p, len, seq, ts,
				       ev_clock_ts(x, x->out_ts), now_us);
	if (err == -EEXIST || err == -EBADMSG)
		return err;
	int slot = hold_event_slot(x, seq, ts, now_us);
	return err < 0 ? err : slot == -EEXIST ? slot : 0;
}

static void count_push(sb_xcode *x, int err)
{
	if (err == 0)
		x->st.packets_in++;
	else if (err == -EEXIST)
		x->st.duplicate++;
	else if (err == -ETIME)
		x->st.late++;
	else
		x->st.bad++;
}

int sb_xcode_push(sb_xcode *x, const uint8_t *payload, size_t len,
		  uint8_t pt, uint16_t seq, uint32_t ts, bool marker,
		  uint64_t now_us)
{
	int err;

	/* The jitter buffer finds talkspurts by itself: the input marker
	 * carries nothing it needs. */
	(void)marker;
	if (payload == NULL && len > 0)
		return -EINVAL;
	if (pt == x->cfg.in_pt)
		err = len > 0 ? push_audio(x, payload, len, seq, ts, now_us)
			      : -EBADMSG;
	else if (x->cfg.in_te_pt >= 0 && pt == x->cfg.in_te_pt)
		err = push_event(x, payload, len, seq, ts, now_us);
	else
		err = -ENOMSG;
	count_push(x, err);
	return err;
}

/* ---- output ---------------------------------------------------------- */

static int emit(sb_xcode *x, sb_xcode_out *out, size_t len, uint8_t pt,
		uint32_t ts, bool marker, bool event)
{
	*out = (sb_xcode_out){
		.payload = scratch.pkt, .len = len, .pt = pt,
		.seq = x->out_seq++, .ts = ts, .ssrc = x->cfg.out_ssrc,
		.marker = marker, .event = event,
	};
	x->st.packets_out++;
	return 0;
}

static int pull_event(sb_xcode *x, sb_xcode_out *out)
{
	sb_xcode_ev_pkt e;

	if (!x->ev_on)
		return -EAGAIN;
	if (!sb_xcode_ev_pop(&x->ev, &e))
		return -EAGAIN;
	memcpy(scratch.pkt, e.payload, e.len);
	x->st.events_out++;
	return emit(x, out, e.len, (uint8_t)x->cfg.out_te_pt, e.ts, e.marker,
		    true);
}

/* One output slot with timestamp ts: 0 with a packet, or -EAGAIN. */
static int audio_slot(sb_xcode *x, uint64_t now_us, uint32_t ts,
		      sb_xcode_out *out)
{
	uint32_t unused;

	if (!fill(x, now_us)) {
		x->marker_next = true;
		return -EAGAIN;
	}
	sb_repack_pop(x->rp, scratch.frame, &unused);
	if (x->ev_on && sb_xcode_ev_covers(&x->ev, ev_clock_ts(x, ts))) {
		/* The event replaces the audio (as WebRTC senders do). */
		x->marker_next = true;
		return -EAGAIN;
	}
	ssize_t n = sb_codec_encode(x->enc, scratch.frame, x->frame_n,
				    scratch.pkt, sizeof(scratch.pkt));
	/* Opus DTX: 1-2 byte frames mean "nothing to send". */
	if (n < 0 || (x->cfg.opus_dtx && n <= 2)) {
		x->marker_next = true;
		return -EAGAIN;
	}
	bool marker = x->marker_next;
	x->marker_next = false;
	return emit(x, out, (size_t)n, x->cfg.out_pt, ts, marker, false);
}

/* After a long stall, skip the missed slots (timestamps keep real
 * time) rather than sending a burst. */
static void skip_missed(sb_xcode *x, uint64_t now_us)
{
	if (now_us - x->next_us <= XC_MAX_BEHIND_US)
		return;
	uint64_t k = (now_us - x->next_us) / x->ptime_us;
	x->next_us += k * x->ptime_us;
	x->out_ts += (uint32_t)(k * x->ts_step);
	x->marker_next = true;
}

/* Direct mode: every frame decoded so far, now. */
static int pull_direct(sb_xcode *x, sb_xcode_out *out)
{
	while (sb_repack_pending(x->rp) >= x->frame_n) {
		uint32_t ts = x->out_ts;
		x->out_ts += x->ts_step;
		if (audio_slot(x, 0, ts, out) == 0)
			return 0;
	}
	return -EAGAIN;
}

int sb_xcode_pull(sb_xcode *x, uint64_t now_us, sb_xcode_out *out)
{
	if (x->ev_on)
		sb_xcode_ev_tick(&x->ev, now_us);
	if (pull_event(x, out) == 0)
		return 0;
	if (x->jb == NULL)
		return pull_direct(x, out);
	if (!x->out_started) {
		x->out_started = true;
		x->next_us = now_us;
	}
	if ((int64_t)(now_us - x->next_us) < 0)
		return -EAGAIN;
	skip_missed(x, now_us);
	while ((int64_t)(now_us - x->next_us) >= 0) {
		uint32_t ts = x->out_ts;
		x->next_us += x->ptime_us;
		x->out_ts += x->ts_step;
		if (audio_slot(x, now_us, ts, out) == 0)
			return 0;
	}
	return -EAGAIN;
}

int sb_xcode_set_loss(sb_xcode *x, int loss_perc)
{
	int err = sb_codec_set_loss(x->enc, loss_perc);
	if (err == 0 && x->cfg.out_codec->set_loss)
		x->st.loss_hint = loss_perc;
	return err;
}

void sb_xcode_get_stats(const sb_xcode *x, sb_xcode_stats *out)
{
	*out = x->st;
	out->dtmf_events = x->ev_on ? x->ev.events : 0;
	if (x->jb != NULL) {
		sb_jitter_stats js;
		sb_jitter_get_stats(x->jb, &js);
		out->lost = js.lost;
		out->jitter_ms = sb_jitter_jitter_ms(x->jb);
		out->delay_ms = sb_jitter_target_ms(x->jb);
	}
}
