/* Media session: two legs, offer/answer bookkeeping and the relay in both
 * directions (RFC 3264 offer/answer, RFC 3550 §7 translator-style
 * rewriting: our SSRC, continuous seq/ts). Media worker thread only. */
#include "webrtc/media_session.h"

#include <errno.h>
#include <string.h>

#define MAX_MAP 2   /* the audio codec + telephone-event */

typedef struct relay {
	sb_rtp_rewrite rw;          /* SSRC/seq/ts toward the other side */
	bool rw_init;
	uint8_t in_pt[MAX_MAP];
	uint8_t out_pt[MAX_MAP];
	unsigned n;
} relay;

struct sb_media_session {
	GMainContext *ctx;          /* ref */
	sb_leg *leg[2];             /* owned */
	sb_leg_kind kind[2];
	sb_media_event_cb cb;
	void *user_data;
	bool closed;
	int pending;                /* side an offer went to; -1 = none */
	bool pending_local;         /* that offer was ours (local_offer) */
	sb_media_desc *offer;       /* owned: the pending offer's codecs */
	sb_md_dir dir[2];           /* what each side's peer said it does */
	bool chosen[2];             /* codec[i] valid */
	sb_md_codec codec[2];       /* negotiated codec, as each side numbers it */
	bool have_te[2];
	sb_md_codec te[2];          /* telephone-event at the codec's clock */
	relay relay[2];             /* relay[i]: from side i to side 1 - i */
};

/* --- codecs ------------------------------------------------------- */

static bool is_te(const sb_md_codec *c)
{
	return !g_ascii_strcasecmp(c->name, "telephone-event");
}

/* What the relay can carry without transcoding. */
static bool relayable(const sb_md_codec *c)
{
	static const struct { const char *name; uint32_t clock; } ok[] = {
		{ "PCMU", 8000 }, { "PCMA", 8000 }, { "G722", 8000 },
		{ "opus", 48000 },
	};
	if (is_te(c))
		return true;
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
		if (!g_ascii_strcasecmp(c->name, ok[i].name) &&
		    c->clock == ok[i].clock)
			return true;
	return false;
}

static bool same_codec(const sb_md_codec *a, const sb_md_codec *b)
{
	unsigned ca = a->channels ? a->channels : 1;
	unsigned cb = b->channels ? b->channels : 1;
	return !g_ascii_strcasecmp(a->name, b->name) && a->clock == b->clock &&
	       ca == cb;
}

static const sb_md_codec *find_codec(const sb_media_desc *d,
				     const sb_md_codec *like)
{
	for (unsigned i = 0; i < d->n_codecs && i < SB_MD_MAX_CODECS; i++)
		if (same_codec(&d->codecs[i], like))
			return &d->codecs[i];
	return NULL;
}

static void add_codec(sb_media_desc *d, uint8_t pt, const char *name,
		      uint32_t clock, uint8_t ch, const char *fmtp)
{
	sb_md_codec *c = &d->codecs[d->n_codecs++];
	memset(c, 0, sizeof(*c));
	c->pt = pt;
	g_strlcpy(c->name, name, sizeof(c->name));
	c->clock = clock;
	c->channels = ch;
	g_strlcpy(c->fmtp, fmtp, sizeof(c->fmtp));
}

/* Our own offer when nothing is negotiated yet (late offer). */
static void default_codecs(sb_media_desc *d, sb_leg_kind kind)
{
	d->n_codecs = 0;
	if (kind == SB_LEG_KIND_WEBRTC)
		add_codec(d, 111, "opus", 48000, 2,
			  "minptime=10;useinbandfec=1");
	add_codec(d, 0, "PCMU", 8000, 1, "");
	add_codec(d, 8, "PCMA", 8000, 1, "");
	add_codec(d, 9, "G722", 8000, 1, "");
	if (kind == SB_LEG_KIND_RTP)
		add_codec(d, 111, "opus", 48000, 2, "useinbandfec=1");
	if (kind == SB_LEG_KIND_WEBRTC)
		add_codec(d, 110, "telephone-event", 48000, 1, "0-16");
	add_codec(d, 101, "telephone-event", 8000, 1, "0-16");
}

/* Copy the relayable codecs of src into dst, keeping order and PTs.
 * Returns the number of audio (non-DTMF) codecs kept. */
static unsigned filter_codecs(const sb_media_desc *src, sb_media_desc *dst)
{
	unsigned audio = 0;
	dst->n_codecs = 0;
	for (unsigned i = 0; i < src->n_codecs && i < SB_MD_MAX_CODECS; i++) {
		if (!relayable(&src->codecs[i]))
			continue;
		dst->codecs[dst->n_codecs++] = src->codecs[i];
		audio += !is_te(&src->codecs[i]);
	}
	return audio;
}

/* --- directions ---------------------------------------------------- */

static bool on_hold_addr(const sb_media_desc *d)
{
	return !strcmp(d->addr, "0.0.0.0") || !strcmp(d->addr, "::");
}

/* RFC 3264 §8.4: c=0.0.0.0 is the old way of saying "do not send to me". */
static sb_md_dir effective_dir(const sb_media_desc *d)
{
	if (!on_hold_addr(d) && d->port != 0)
		return d->dir;
	if (d->dir == SB_MD_DIR_SENDRECV || d->dir == SB_MD_DIR_SENDONLY)
		return SB_MD_DIR_SENDONLY;
	return SB_MD_DIR_INACTIVE;
}

static bool peer_sends(sb_md_dir d)
{
	return d == SB_MD_DIR_SENDRECV || d == SB_MD_DIR_SENDONLY;
}

static bool peer_receives(sb_md_dir d)
{
	return d == SB_MD_DIR_SENDRECV || d == SB_MD_DIR_RECVONLY;
}

/* --- relay --------------------------------------------------------- */

static int side_of(const sb_media_session *s, const sb_leg *leg)
{
	return leg == s->leg[0] ? 0 : 1;
}

static void on_leg_recv(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
			const sb_rtp_hdr *h, void *ud)
{
	sb_media_session *s = ud;
	int from = side_of(s, leg), to = 1 - from;
	relay *r = &s->relay[from];

	if (!peer_sends(s->dir[from]) || !peer_receives(s->dir[to]))
		return;
	for (unsigned i = 0; i < r->n; i++) {
		if (r->in_pt[i] != h->pt)
			continue;
		sb_rtp_rewrite_apply(&r->rw, buf, h, r->out_pt[i]);
		sb_leg_send_rtp(s->leg[to], buf, len, cap);
		return;
	}
	/* a PT we did not negotiate: not ours to forward */
}

/* Rebuild both directions' PT maps from the negotiated codecs. The
 * rewriters survive re-negotiation so the far ends see one continuous
 * stream (they only re-anchor on the next packet). */
static void setup_relays(sb_media_session *s)
{
	for (int from = 0; from < 2; from++) {
		int to = 1 - from;
		relay *r = &s->relay[from];
		r->n = 0;
		if (!s->chosen[0] || !s->chosen[1])
			continue;
		r->in_pt[r->n] = s->codec[from].pt;
		r->out_pt[r->n++] = s->codec[to].pt;
		if (s->have_te[from] && s->have_te[to]) {
			r->in_pt[r->n] = s->te[from].pt;
			r->out_pt[r->n++] = s->te[to].pt;
		}
		uint32_t step = s->codec[to].clock / 50; /* 20 ms */
		if (!r->rw_init) {
			sb_rtp_rewrite_init(&r->rw, s->leg[to]->ssrc, step);
			r->rw_init = true;
		} else {
			sb_rtp_rewrite_reset_source(&r->rw);
		}
		s->leg[to]->clock = s->codec[to].clock;
	}
}

/* --- events -------------------------------------------------------- */

static void on_leg_event(sb_leg *leg, sb_leg_event ev, const char *reason,
			 void *ud)
{
	sb_media_session *s = ud;
	static const sb_media_event map[] = {
		[SB_LEG_EV_CONNECTED] = SB_MEDIA_EV_CONNECTED,
		[SB_LEG_EV_MEDIA_STARTED] = SB_MEDIA_EV_MEDIA_STARTED,
		[SB_LEG_EV_ICE_FAILED] = SB_MEDIA_EV_ICE_FAILED,
		[SB_LEG_EV_DTLS_FAILED] = SB_MEDIA_EV_DTLS_FAILED,
		[SB_LEG_EV_RTP_TIMEOUT] = SB_MEDIA_EV_RTP_TIMEOUT,
		[SB_LEG_EV_PEER_CLOSED] = SB_MEDIA_EV_PEER_CLOSED,
	};
	if (s->closed || !s->cb || (unsigned)ev >= G_N_ELEMENTS(map))
		return;
	s->cb(s, side_of(s, leg), map[ev], reason, s->user_data);
}

/* --- lifecycle ----------------------------------------------------- */

static int make_leg(const sb_media_params *p, GMainContext *ctx,
		    sb_leg_kind kind, sb_leg **out)
{
	sb_leg_params lp = {
		.ctx = ctx,
		.media_addr = p->media_addr,
		.public_addr = p->public_addr,
		.port_min = p->port_min,
		.port_max = p->port_max,
		.stun_server = p->stun_server,
		.rtp_timeout_ms = p->rtp_timeout_ms,
		.cert = p->cert,
		.offer_setup = p->webrtc_offer_setup,
	};
	if (kind == SB_LEG_KIND_WEBRTC)
		return sb_webrtc_leg_new(&lp, out);
	return sb_rtp_leg_new(&lp, out);
}

sb_media_session *sb_media_session_new(const sb_media_params *p,
				       GMainContext *worker_ctx,
				       sb_media_event_cb cb, void *user_data,
				       int *err)
{
	sb_media_session *s = g_new0(sb_media_session, 1);
	int e = 0;

	s->ctx = g_main_context_ref(worker_ctx);
	s->cb = cb;
	s->user_data = user_data;
	s->pending = -1;
	for (int i = 0; i < 2 && e == 0; i++) {
		s->kind[i] = p->kind[i];
		e = make_leg(p, worker_ctx, p->kind[i], &s->leg[i]);
		if (e == 0)
			sb_leg_set_callbacks(s->leg[i], on_leg_recv,
					     on_leg_event, s);
	}
	if (e < 0) {
		sb_media_session_free(s);
		if (err)
			*err = e;
		return NULL;
	}
	return s;
}

/* --- offer/answer -------------------------------------------------- */

/* BUNDLE with one m= line (RFC 8843): the browser needs a mid. */
static void webrtc_identity(const sb_media_session *s, int side,
			    const sb_media_desc *from, sb_media_desc *d)
{
	if (s->kind[side] != SB_LEG_KIND_WEBRTC)
		return;
	if (from && from->mid[0]) {
		g_strlcpy(d->mid, from->mid, sizeof(d->mid));
		d->bundled = from->bundled;
	} else {
		g_strlcpy(d->mid, "0", sizeof(d->mid));
		d->bundled = true;
	}
}

static int valid_side(const sb_media_session *s, int side)
{
	if (side != 0 && side != 1)
		return -EINVAL;
	return s->closed ? -ESHUTDOWN : 0;
}

int sb_media_session_remote_offer(sb_media_session *s, int side,
				  const sb_media_desc *offer,
				  sb_media_desc *out)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	if (s->pending >= 0)
		return -EBUSY;
	int other = 1 - side;
	memset(out, 0, sizeof(*out));
	if (filter_codecs(offer, out) == 0)
		return -ENOTSUP;
	err = sb_leg_set_remote(s->leg[side], true, offer);
	if (err < 0)
		return err == -EINVAL ? -EPROTO : err;
	sb_media_desc codecs = *out;
	memset(out, 0, sizeof(*out));
	err = sb_leg_get_local(s->leg[other], true, out);
	if (err < 0)
		return err;
	memcpy(out->codecs, codecs.codecs, sizeof(out->codecs));
	out->n_codecs = codecs.n_codecs;
	/* the offerer's direction passes through: we relay, not mix */
	out->dir = effective_dir(offer);
	out->ptime = offer->ptime;
	out->maxptime = offer->maxptime;
	webrtc_identity(s, other, NULL, out);

	s->dir[side] = effective_dir(offer);
	g_free(s->offer);
	s->offer = g_memdup2(offer, sizeof(*offer));
	s->pending = other;
	s->pending_local = false;
	return 0;
}

/* The answerer picked codec[0] of its answer that we offered; its peer
 * and the offerer's peer now speak the same codec with their own PTs. */
static int pick(sb_media_session *s, int side, const sb_media_desc *ans,
		const sb_media_desc *offered, int offerer)
{
	for (unsigned i = 0; i < ans->n_codecs && i < SB_MD_MAX_CODECS; i++) {
		const sb_md_codec *a = &ans->codecs[i];
		const sb_md_codec *o = find_codec(offered, a);
		if (is_te(a) || !o || !relayable(a))
			continue;
		if (offerer < 0 && s->chosen[1 - side] &&
		    !same_codec(&s->codec[1 - side], a))
			continue; /* must stay relayable to the other side */
		s->codec[side] = *a;
		s->chosen[side] = true;
		if (offerer >= 0) {
			s->codec[offerer] = *o;
			s->chosen[offerer] = true;
		}
		return 0;
	}
	return -ENOTSUP;
}

/* RFC 4733 events relay only at the audio codec's clock. */
static void pick_te(sb_media_session *s, int side, const sb_media_desc *ans,
		    const sb_media_desc *offered, int offerer)
{
	s->have_te[side] = false;
	if (offerer >= 0)
		s->have_te[offerer] = false;
	for (unsigned i = 0; i < ans->n_codecs && i < SB_MD_MAX_CODECS; i++) {
		const sb_md_codec *a = &ans->codecs[i];
		const sb_md_codec *o = find_codec(offered, a);
		if (!is_te(a) || !o || a->clock != s->codec[side].clock)
			continue;
		s->te[side] = *a;
		s->have_te[side] = true;
		if (offerer >= 0) {
			s->te[offerer] = *o;
			s->have_te[offerer] = true;
		}
		return;
	}
}

static int answer_for_offerer(sb_media_session *s, int offerer,
			      const sb_media_desc *ans, sb_media_desc *out)
{
	memset(out, 0, sizeof(*out));
	int err = sb_leg_get_local(s->leg[offerer], false, out);
	if (err < 0)
		return err;
	out->n_codecs = 0;
	out->codecs[out->n_codecs++] = s->codec[offerer];
	if (s->have_te[offerer])
		out->codecs[out->n_codecs++] = s->te[offerer];
	out->dir = effective_dir(ans);
	out->ptime = ans->ptime;
	out->maxptime = ans->maxptime;
	webrtc_identity(s, offerer, s->offer, out);
	return 0;
}

int sb_media_session_remote_answer(sb_media_session *s, int side,
				   const sb_media_desc *ans,
				   sb_media_desc *out)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	if (s->pending != side)
		return -ENOENT;
	int offerer = s->pending_local ? -1 : 1 - side;
	/* the offer/answer exchange ends here whatever happens (RFC 3264
	 * §4: a refused answer ends in 488 and the old state stays) */
	s->pending = -1;
	/* decide first: a refused answer must leave the relay as it was */
	sb_md_codec saved[2] = { s->codec[0], s->codec[1] };
	bool saved_chosen[2] = { s->chosen[0], s->chosen[1] };
	err = pick(s, side, ans, s->offer, offerer);
	if (err == 0)
		err = sb_leg_set_remote(s->leg[side], false, ans);
	if (err < 0) {
		memcpy(s->codec, saved, sizeof(saved));
		memcpy(s->chosen, saved_chosen, sizeof(saved_chosen));
		g_clear_pointer(&s->offer, g_free);
		return err == -EINVAL ? -EPROTO : err;
	}
	pick_te(s, side, ans, s->offer, offerer);
	s->dir[side] = effective_dir(ans);
	if (offerer >= 0 && out) {
		err = answer_for_offerer(s, offerer, ans, out);
	}
	setup_relays(s);
	g_clear_pointer(&s->offer, g_free);
	return err;
}

int sb_media_session_local_offer(sb_media_session *s, int side,
				 sb_media_desc *offer)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	if (s->pending >= 0)
		return -EBUSY;
	memset(offer, 0, sizeof(*offer));
	err = sb_leg_get_local(s->leg[side], true, offer);
	if (err < 0)
		return err;
	if (s->chosen[side]) {
		offer->n_codecs = 0;
		offer->codecs[offer->n_codecs++] = s->codec[side];
		if (s->have_te[side])
			offer->codecs[offer->n_codecs++] = s->te[side];
	} else {
		default_codecs(offer, s->kind[side]);
	}
	offer->dir = SB_MD_DIR_SENDRECV;
	webrtc_identity(s, side, NULL, offer);
	g_free(s->offer);
	s->offer = g_memdup2(offer, sizeof(*offer));
	s->pending = side;
	s->pending_local = true;
	return 0;
}

const sb_leg_stats *sb_media_session_stats(const sb_media_session *s,
					   int side)
{
	return sb_leg_get_stats(s->leg[side ? 1 : 0]);
}

void sb_media_session_close(sb_media_session *s)
{
	if (s->closed)
		return;
	s->closed = true;
	for (int i = 0; i < 2; i++)
		if (s->leg[i])
			sb_leg_close(s->leg[i]);
}

void sb_media_session_free(sb_media_session *s)
{
	if (!s)
		return;
	sb_media_session_close(s);
	for (int i = 0; i < 2; i++)
		sb_leg_free(s->leg[i]);
	g_free(s->offer);
	g_main_context_unref(s->ctx);
	g_free(s);
}
