/* The packet path of a media session: relay (RFC 3550 §7 translator:
 * our SSRC, continuous seq/ts, PT mapping) when both sides share the
 * codec, else one sb_xcode per direction fed on receive and pulled
 * right after (media.jitter_buffer off, the default) or by one timer per
 * session at the output ptime (on); the timer also runs without the
 * buffer, for telephone-events that end without their end packets.
 * Admission: a per-worker count of transcoded sessions (thread-local:
 * one worker = one thread).
 * Media worker thread only; no allocation per packet. */
#include "webrtc/session_int.h"

#include <errno.h>
#include <string.h>

#include "webrtc/codec_policy.h"

/* Transcoded sessions on this worker thread. */
static _Thread_local unsigned xcode_active;

bool sb_ms_can_xcode(const sb_media_session *s)
{
	return s->holds_slot || xcode_active < s->max_xcode;
}

int sb_ms_take_slot(sb_media_session *s)
{
	if (s->holds_slot)
		return 0;
	if (xcode_active >= s->max_xcode)
		return -EBUSY;
	xcode_active++;
	s->holds_slot = true;
	return 0;
}

void sb_ms_release_slot(sb_media_session *s)
{
	if (!s->holds_slot)
		return;
	xcode_active--;
	s->holds_slot = false;
}

static bool peer_sends(sb_md_dir d)
{
	return d == SB_MD_DIR_SENDRECV || d == SB_MD_DIR_SENDONLY;
}

static bool peer_receives(sb_md_dir d)
{
	return d == SB_MD_DIR_SENDRECV || d == SB_MD_DIR_RECVONLY;
}

static int side_of(const sb_media_session *s, const sb_leg *leg)
{
	return leg == s->leg[0] ? 0 : 1;
}

/* Remember where the stream toward `to` stands, so a later switch
 * between relay and transcoding keeps seq/ts continuous. */
static void note_out(sb_ms_dir *d, uint16_t seq, uint32_t ts, uint32_t step)
{
	d->have_out = true;
	d->next_seq = (uint16_t)(seq + 1);
	d->next_ts = ts + step;
}

/* --- the last stage toward a leg: injected DTMF ------------------- */

static bool dtmf_playing(const sb_ms_dtmf *t)
{
	return t->timer != NULL;
}

/* Every relayed or transcoded packet toward `to` goes out here. While
 * an injected event plays the audio is held back (RFC 4733 §2.5.1.3:
 * the event replaces it); a held-back packet takes no sequence number
 * and each injected one takes one, so the far end sees no gap. */
static void send_out(sb_media_session *s, int to, uint8_t *buf, size_t len,
		     size_t cap, const sb_rtp_hdr *h)
{
	sb_ms_dtmf *t = &s->tx[to];

	if (dtmf_playing(t)) {
		t->seq_adj--;
		return;
	}
	if (t->unanchored) {
		/* events went out before any audio, with numbers of their
		 * own: continue from them rather than jump */
		t->unanchored = false;
		t->seq_adj = (uint16_t)(t->last_seq + 1 - h->seq);
	}
	uint16_t seq = (uint16_t)(h->seq + t->seq_adj);
	/* a packet from before an event, arriving after it (reordered),
	 * would reuse an event's number: the receiver would take it for a
	 * duplicate or worse, so it goes no further */
	if (t->injected && (int16_t)(seq - t->last_seq) <= 0)
		return;
	if (t->seq_adj)
		sb_rtp_set_seq(buf, seq);
	if (!t->have_seq || (int16_t)(seq - t->last_seq) > 0) {
		t->have_seq = true;
		t->last_seq = seq;
	}
	if (!s->have_te[to] || h->pt != s->te[to].pt) {
		t->have_audio = true;
		t->audio_ts = h->ts;
		t->audio_us = g_get_monotonic_time();
	}
	sb_leg_send_rtp(s->leg[to], buf, len, cap);
}

static void relay_one(sb_media_session *s, int from, uint8_t *buf,
		      size_t len, size_t cap, const sb_rtp_hdr *h)
{
	sb_ms_dir *d = &s->d[from];
	int to = 1 - from;

	for (unsigned i = 0; i < d->n; i++) {
		if (d->in_pt[i] != h->pt)
			continue;
		sb_rtp_rewrite_apply(&d->rw, buf, h, d->out_pt[i]);
		/* the rewritten fields, as they stand in buf now */
		sb_rtp_hdr out = { .pt = d->out_pt[i],
				   .seq = (uint16_t)(buf[2] << 8 | buf[3]),
				   .ts = (uint32_t)buf[4] << 24 |
					 (uint32_t)buf[5] << 16 |
					 (uint32_t)buf[6] << 8 | buf[7] };
		send_out(s, to, buf, len, cap, &out);
		return;
	}
	/* a PT we did not negotiate: not ours to forward */
}

static void pull_dir(sb_media_session *s, int from, uint64_t now);

void sb_ms_on_leg_recv(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
		       const sb_rtp_hdr *h, void *ud)
{
	sb_media_session *s = ud;
	int from = side_of(s, leg), to = 1 - from;
	sb_ms_dir *d = &s->d[from];

	if (!peer_sends(s->dir[from]) || !peer_receives(s->dir[to]))
		return;
	if (!d->xc) {
		relay_one(s, from, buf, len, cap, h);
		return;
	}
	/* refusals (late, duplicate, unknown PT) are counted in its stats */
	uint64_t now = (uint64_t)g_get_monotonic_time();
	sb_xcode_push(d->xc, buf + h->payload_off, h->payload_len, h->pt,
		      h->seq, h->ts, h->marker, now);
	if (!s->jitter_buffer)
		pull_dir(s, from, now);   /* due now: no playout clock */
}

/* --- transcoding timer -------------------------------------------- */

/* The encoder toward `to` adds FEC only while the receiver there
 * reports losing packets (RFC 3550 fraction lost, rounded up to whole
 * percent, at most 30): most calls never lose any, and FEC costs a
 * third more Opus encoding. */
#define SB_MS_MAX_LOSS_HINT 30
static void follow_loss(sb_ms_dir *d, const sb_leg *to)
{
	if (to->stats.peer_reports == d->loss_reports)
		return;
	d->loss_reports = to->stats.peer_reports;
	int pct = (to->stats.peer_fraction_lost * 100 + 255) / 256;
	sb_xcode_set_loss(d->xc, MIN(pct, SB_MS_MAX_LOSS_HINT));
	if (d->fec_logged || pct == 0)
		return;
	sb_xcode_stats st;
	sb_xcode_get_stats(d->xc, &st);
	/* once per transcoder, and only where the encoder acts on the loss
	 * (Opus): operators see which calls pay for FEC (and, with
	 * media.opus_low_delay, leave CELT for SILK), without a line at
	 * every report of a call that keeps losing */
	d->fec_logged = st.loss_hint > 0;
	if (d->fec_logged)
		g_info("media: the receiver of a transcoded stream (SSRC "
		       "%08x) reports %d %% loss: in-band FEC on",
		       to->ssrc, pct);
}

static void pull_dir(sb_media_session *s, int from, uint64_t now)
{
	sb_ms_dir *d = &s->d[from];
	int to = 1 - from;
	sb_xcode_out o;

	follow_loss(d, s->leg[to]);

	while (sb_xcode_pull(d->xc, now, &o) == 0) {
		sb_rtp_hdr h = { .pt = o.pt, .seq = o.seq, .ts = o.ts,
				 .ssrc = o.ssrc, .marker = o.marker };
		uint8_t *tx = sb_leg_scratch(SB_LEG_SCRATCH_TX);
		ssize_t n = sb_rtp_build(tx, SB_LEG_MTU, &h, o.payload,
					 o.len);
		if (n < 0)
			continue;
		note_out(d, o.seq, o.ts, o.event ? 0 : sb_codec_ts_units(
				 sb_cp_xcodec(&s->codec[to]), d->out_ptime));
		if (peer_receives(s->dir[to]))
			send_out(s, to, tx, (size_t)n, SB_LEG_BUF, &h);
	}
}

/* The playout clock, on the worker's shared ticker (webrtc/ticker.h):
 * it keeps each session's phase exactly (a g_timeout would re-arm from
 * the moment it ran, drift late and make the output bursty) and wakes
 * the worker once for all sessions due at about the same time. */
static void on_tick(gint64 now, void *data)
{
	sb_media_session *s = data;

	for (int from = 0; from < 2 && !s->closed; from++)
		if (s->d[from].xc)
			pull_dir(s, from, (uint64_t)now);
}

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void stop_tick(sb_media_session *s);

static void start_tick(sb_media_session *s)
{
	unsigned ms = gcd(s->d[0].out_ptime, s->d[1].out_ptime);
	if (ms < 10)
		ms = 10;
	if (s->tick && s->tick_ms == ms)
		return;
	stop_tick(s);
	if (!s->ticker)
		s->ticker = sb_ticker_get(s->ctx);
	s->tick_ms = ms;
	s->tick = sb_ticker_add(s->ticker, ms, on_tick, s);
}

static void stop_tick(sb_media_session *s)
{
	if (!s->tick)
		return;
	sb_ticker_remove(s->ticker, s->tick);
	s->tick = NULL;
}

void sb_ms_stop_media(sb_media_session *s)
{
	stop_tick(s);
	for (int i = 0; i < 2; i++)
		g_clear_pointer(&s->d[i].xc, sb_xcode_free);
	sb_ms_release_slot(s);
}

/* --- building the directions -------------------------------------- */

/* The output ptime toward `to`: what its peer asked for when the codec
 * can do it, else 20 ms. */
static unsigned out_ptime(const sb_media_session *s, int to,
			  const sb_codec *c)
{
	unsigned p = s->ptime[to];
	if (p >= 10 && p <= 60 && sb_codec_supports_ptime(c, p))
		return p;
	return 20;
}

static int make_xcode(sb_media_session *s, int from)
{
	int to = 1 - from;
	sb_ms_dir *d = &s->d[from];
	sb_xcode_cfg c;
	int err = 0;

	sb_xcode_cfg_init(&c);
	c.in_codec = sb_cp_xcodec(&s->codec[from]);
	c.out_codec = sb_cp_xcodec(&s->codec[to]);
	if (!c.in_codec || !c.out_codec)
		return -ENOTSUP;
	c.in_pt = s->codec[from].pt;
	c.out_pt = s->codec[to].pt;
	if (s->have_te[from] && s->have_te[to]) {
		c.in_te_pt = s->te[from].pt;
		c.in_te_clock = s->te[from].clock;
		c.out_te_pt = s->te[to].pt;
		c.out_te_clock = s->te[to].clock;
	}
	c.in_ptime_ms = out_ptime(s, from, c.in_codec);
	d->out_ptime = out_ptime(s, to, c.out_codec);
	c.out_ptime_ms = d->out_ptime;
	c.use_jitter = s->jitter_buffer;
	c.opus_low_delay = s->opus_low_delay;
	/* no FEC until the receiver reports loss (follow_loss) */
	c.opus_loss_perc = 0;
	d->loss_reports = 0;
	d->fec_logged = false;
	c.out_ssrc = s->leg[to]->ssrc;
	/* continue the stream the far end already saw */
	if (!d->have_out && d->rw_init && d->rw.have_out)
		note_out(d, d->rw.last_seq, d->rw.last_ts, d->rw.ts_step);
	c.out_seq0 = d->have_out ? d->next_seq : (uint16_t)g_random_int();
	c.out_ts0 = d->have_out ? d->next_ts : g_random_int();
	g_clear_pointer(&d->xc, sb_xcode_free);
	d->xc = sb_xcode_new(&c, &err);
	return d->xc ? 0 : err;
}

/* Relay: PT map of one direction; the rewriter survives re-negotiation
 * so the far end sees one continuous stream. */
static void make_relay(sb_media_session *s, int from)
{
	int to = 1 - from;
	sb_ms_dir *d = &s->d[from];

	g_clear_pointer(&d->xc, sb_xcode_free);
	d->n = 0;
	d->in_pt[d->n] = s->codec[from].pt;
	d->out_pt[d->n++] = s->codec[to].pt;
	if (s->have_te[from] && s->have_te[to] &&
	    s->te[from].clock == s->te[to].clock) {
		d->in_pt[d->n] = s->te[from].pt;
		d->out_pt[d->n++] = s->te[to].pt;
	}
	uint32_t step = s->codec[to].clock / 50; /* 20 ms */
	if (!d->rw_init) {
		sb_rtp_rewrite_init(&d->rw, s->leg[to]->ssrc, step);
		d->rw_init = true;
	} else {
		sb_rtp_rewrite_reset_source(&d->rw);
	}
	if (d->have_out) {
		/* coming back from transcoding: continue where it stopped */
		d->rw.have_out = true;
		d->rw.last_seq = (uint16_t)(d->next_seq - 1);
		d->rw.last_ts = d->next_ts - step;
		d->have_out = false; /* the rewriter holds the truth now */
	}
}

int sb_ms_setup_media(sb_media_session *s)
{
	for (int i = 0; i < 2; i++)
		s->d[i].n = 0;
	if (!s->chosen[0] || !s->chosen[1]) {
		sb_ms_stop_media(s);
		return 0;
	}
	for (int i = 0; i < 2; i++)
		s->leg[i]->clock = s->codec[i].clock;
	if (!s->xcoding) {
		sb_ms_stop_media(s);
		make_relay(s, 0);
		make_relay(s, 1);
		return 0;
	}
	int err = sb_ms_take_slot(s);
	for (int from = 0; from < 2 && err == 0; from++)
		err = make_xcode(s, from);
	if (err < 0) {
		sb_ms_stop_media(s);
		return err;
	}
	start_tick(s);
	return 0;
}

/* --- injected DTMF (sb_media_session_send_dtmf) --------------------- */

static unsigned dtmf_ptime(const sb_media_session *s, int side)
{
	unsigned p = s->ptime[side];
	return p >= 10 && p <= 60 ? p : 20;
}

/* "Now" on the audio timeline of side `side`: the end of the newest
 * audio packet sent there (its timestamp is the start of the ptime it
 * carries), plus the time since, on the leg's RTP clock (§2.5.1.1: the
 * event's timestamp is its start). Without the packet's own length an
 * event asked for right after a packet would start inside it. */
static uint32_t dtmf_now_ts(const sb_media_session *s, int side)
{
	const sb_ms_dtmf *t = &s->tx[side];
	uint64_t clock = s->codec[side].clock;

	if (!t->have_audio)
		return g_random_int();
	gint64 us = g_get_monotonic_time() - t->audio_us;
	uint64_t len = (uint64_t)dtmf_ptime(s, side) * clock / 1000u;
	return t->audio_ts + (uint32_t)(len + (uint64_t)us * clock / 1000000u);
}

static void dtmf_send_pkt(sb_media_session *s, int side,
			  const sb_dtmf_pkt *p)
{
	sb_ms_dtmf *t = &s->tx[side];
	/* room for the SRTP trailer when the leg protects it */
	uint8_t buf[SB_LEG_BUF];
	if (!t->have_seq) {
		t->have_seq = true;
		t->unanchored = true;
		t->last_seq = (uint16_t)g_random_int();
	}
	t->injected = true;
	/* this packet takes the next number; regular ones move one up */
	t->last_seq++;
	t->seq_adj++;
	sb_rtp_hdr h = { .pt = s->te[side].pt, .seq = t->last_seq,
			 .ts = p->timestamp, .ssrc = s->leg[side]->ssrc,
			 .marker = p->marker };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, p->payload,
				 SB_TEL_EVENT_SIZE);
	if (n > 0)
		sb_leg_send_rtp(s->leg[side], buf, (size_t)n, sizeof(buf));
}

/* Start the next queued digit: 0, or -errno when there is none/bad. */
static int dtmf_start_next(sb_media_session *s, int side)
{
	sb_ms_dtmf *t = &s->tx[side];

	while (t->q_len > 0) {
		char digit = t->digit[t->q_head];
		unsigned ms = t->ms[t->q_head];
		t->q_head = (t->q_head + 1) % SB_MS_DTMF_QUEUE;
		t->q_len--;
		if (sb_dtmf_gen_init(&t->gen, s->te[side].clock,
				     dtmf_ptime(s, side)) == 0 &&
		    sb_dtmf_gen_start(&t->gen, digit, ms, SB_MEDIA_DTMF_VOLUME,
				      dtmf_now_ts(s, side)) == 0)
			return 0;
	}
	return -ENOENT;
}

typedef struct dtmf_tick_ctx {
	sb_media_session *s;
	int side;
} dtmf_tick_ctx;

/* One packet per ptime; the first of the next queued digit follows the
 * last end packet of the previous one. */
static gboolean dtmf_tick(gpointer data)
{
	dtmf_tick_ctx *c = data;
	sb_media_session *s = c->s;
	sb_ms_dtmf *t = &s->tx[c->side];
	sb_dtmf_pkt p;

	if (sb_dtmf_gen_next(&t->gen, &p) == 1) {
		dtmf_send_pkt(s, c->side, &p);
		if (!sb_dtmf_gen_busy(&t->gen))
			t->events++;
		return G_SOURCE_CONTINUE;
	}
	if (dtmf_start_next(s, c->side) == 0 &&
	    sb_dtmf_gen_next(&t->gen, &p) == 1) {
		dtmf_send_pkt(s, c->side, &p);
		return G_SOURCE_CONTINUE;
	}
	g_clear_pointer(&t->timer, g_source_unref);
	return G_SOURCE_REMOVE;
}

static int dtmf_check(const sb_media_session *s, int side, char digit)
{
	if (side < 0 || side > 1 || sb_tel_event_from_char(digit) < 0)
		return -EINVAL;
	if (s->closed || !s->chosen[side] || !peer_receives(s->dir[side]))
		return -ENOTCONN;
	if (!s->have_te[side])
		return -ENOTSUP;
	return 0;
}

int sb_media_session_send_dtmf(sb_media_session *s, int side, char digit,
			       unsigned duration_ms)
{
	int err = dtmf_check(s, side, digit);
	if (err < 0)
		return err;
	sb_ms_dtmf *t = &s->tx[side];
	if (t->q_len == SB_MS_DTMF_QUEUE)
		return -EBUSY;
	unsigned i = (t->q_head + t->q_len++) % SB_MS_DTMF_QUEUE;
	t->digit[i] = digit;
	t->ms[i] = duration_ms;
	if (dtmf_playing(t))
		return 0;
	if (dtmf_start_next(s, side) < 0)
		return -EINVAL;
	/* the first packet goes out now, then one per ptime */
	dtmf_tick_ctx *c = g_new(dtmf_tick_ctx, 1);
	*c = (dtmf_tick_ctx){ s, side };
	t->timer = g_timeout_source_new(dtmf_ptime(s, side));
	g_source_set_callback(t->timer, dtmf_tick, c, g_free);
	g_source_attach(t->timer, s->ctx);
	sb_dtmf_pkt p;
	if (sb_dtmf_gen_next(&t->gen, &p) == 1)
		dtmf_send_pkt(s, side, &p);
	return 0;
}

uint64_t sb_media_session_dtmf_sent(const sb_media_session *s, int side)
{
	return side == 0 || side == 1 ? s->tx[side].events : 0;
}

void sb_ms_dtmf_stop(sb_media_session *s)
{
	for (int i = 0; i < 2; i++) {
		sb_ms_dtmf *t = &s->tx[i];
		if (t->timer) {
			g_source_destroy(t->timer);
			g_clear_pointer(&t->timer, g_source_unref);
		}
		t->q_len = 0;
	}
}
