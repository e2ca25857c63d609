/* Media session: two legs and the offer/answer bookkeeping (RFC 3264)
 * that decides, per negotiation, whether the packet path relays or
 * transcodes (session_media.c) and which codecs each side sees
 * (codec_policy.c). Media worker thread only. */
#include "webrtc/media_session.h"

#include <errno.h>
#include <string.h>

#include "webrtc/codec_policy.h"
#include "webrtc/session_int.h"

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

/* RFC 3264 §6.1: the answer's direction mirrors the offer's. */
static sb_md_dir mirror_dir(sb_md_dir d)
{
	switch (d) {
	case SB_MD_DIR_SENDONLY: return SB_MD_DIR_RECVONLY;
	case SB_MD_DIR_RECVONLY: return SB_MD_DIR_SENDONLY;
	default: return d;
	}
}

static bool is_local_kind(sb_leg_kind k)
{
	return k == SB_LEG_KIND_ECHO || k == SB_LEG_KIND_CONF;
}

/* --- events -------------------------------------------------------- */

static int side_of(const sb_media_session *s, const sb_leg *leg)
{
	return leg == s->leg[0] ? 0 : 1;
}

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
		.alt_addr = p->alt_addr,
		.family = p->sip_family,
		.port_min = p->port_min,
		.port_max = p->port_max,
		.srflx_addr = p->srflx_addr,
		.rtp_timeout_ms = p->rtp_timeout_ms,
		.cert = p->cert,
		.offer_setup = p->webrtc_offer_setup,
		.echo_delay_ms = p->echo_delay_ms,
		.conf_room = p->conf_room,
		.consent_timeout_ms = p->consent_timeout_ms,
	};
	switch (kind) {
	case SB_LEG_KIND_WEBRTC: return sb_webrtc_leg_new(&lp, out);
	case SB_LEG_KIND_RTP: return sb_rtp_leg_new(&lp, out);
	case SB_LEG_KIND_ECHO: return sb_echo_leg_new(&lp, out);
	case SB_LEG_KIND_CONF: return sb_conf_leg_new(&lp, out);
	default: return -ENOTSUP;
	}
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
	s->prefer_opus = p->prefer_opus;
	s->jitter_buffer = p->jitter_buffer;
	s->opus_low_delay = p->opus_low_delay;
	s->max_xcode = p->max_transcoded ? p->max_transcoded :
					   SB_MEDIA_MAX_TRANSCODED_DEFAULT;
	for (int i = 0; i < 2 && e == 0; i++) {
		s->kind[i] = p->kind[i];
		e = make_leg(p, worker_ctx, p->kind[i], &s->leg[i]);
		if (e == 0)
			sb_leg_set_callbacks(s->leg[i], sb_ms_on_leg_recv,
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

static void set_pending(sb_media_session *s, const sb_media_desc *offer,
			const sb_media_desc *sent, int to, bool local)
{
	g_free(s->offer);
	g_free(s->sent);
	s->offer = g_memdup2(offer, sizeof(*offer));
	s->sent = g_memdup2(sent, sizeof(*sent));
	s->pending = to;
	s->pending_local = local;
}

/* The codec list we forward to the other side (codec_policy.h). Full
 * capacity: no transcoding-only codecs; an offer that only a transcoder
 * could bring to a SIP trunk (Opus alone) is refused with -EBUSY. */
static int forward_codecs(sb_media_session *s, int other,
			  const sb_media_desc *offer, sb_media_desc *c)
{
	memset(c, 0, sizeof(*c));
	if (sb_cp_filter(offer, c) == 0)
		return -ENOTSUP;
	if (is_local_kind(s->kind[0]) || is_local_kind(s->kind[1]))
		return 0;
	bool to_webrtc = s->kind[other] == SB_LEG_KIND_WEBRTC;
	if (sb_ms_can_xcode(s)) {
		sb_cp_widen(c, to_webrtc, s->prefer_opus);
		return 0;
	}
	if (!to_webrtc && !sb_cp_first(c, sb_cp_is_narrow))
		return -EBUSY;
	return 0;
}

int sb_media_session_remote_offer(sb_media_session *s, int side,
				  const sb_media_desc *offer,
				  sb_media_desc *out)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	int other = 1 - side;
	if (is_local_kind(s->kind[other]))
		return -EINVAL; /* sb_media_session_answer_locally */
	if (s->pending >= 0)
		return -EBUSY;
	sb_media_desc codecs;
	err = forward_codecs(s, other, offer, &codecs);
	if (err < 0)
		return err;
	err = sb_leg_set_remote(s->leg[side], true, offer);
	if (err < 0)
		return err == -EINVAL ? -EPROTO : err;
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
	s->ptime[side] = offer->ptime;
	set_pending(s, offer, out, other, false);
	return 0;
}

/* The offerer's codec that a transcoder joins to the answerer's `a`
 * (Opus <-> PCMU/PCMA/G722), or NULL. */
static const sb_md_codec *xcode_partner(const sb_media_desc *offer,
					const sb_md_codec *a)
{
	const sb_md_codec *p = NULL;
	if (sb_cp_is_narrow(a))
		p = sb_cp_first(offer, sb_cp_is_opus);
	else if (sb_cp_is_opus(a))
		p = sb_cp_first(offer, sb_cp_is_narrow);
	if (!p || !sb_cp_xcodec(p) || !sb_cp_xcodec(a))
		return NULL;
	return p;
}

static bool xcodable(const sb_md_codec *a, const sb_md_codec *b)
{
	return ((sb_cp_is_opus(a) && sb_cp_is_narrow(b)) ||
		(sb_cp_is_narrow(a) && sb_cp_is_opus(b))) &&
	       sb_cp_xcodec(a) && sb_cp_xcodec(b);
}

/* Our Opus toward the offerer when it is transcoded to narrow `n`. */
static void our_opus(sb_md_codec *opus, const sb_md_codec *n)
{
	if (sb_cp_is_opus(opus))
		sb_cp_opus_fmtp(opus->fmtp, sizeof(opus->fmtp),
				sb_cp_narrow_rate(n));
}

/* Answer to a forwarded offer: the first answered codec that the offerer
 * offered (relay) or that a transcoder can join to one it offered. */
static int pick_forwarded(sb_media_session *s, int side, int offerer,
			  const sb_md_codec *a)
{
	const sb_md_codec *o = NULL;
	bool xc = false;
	/* media.prefer_opus: a browser that offered Opus gets it even when
	 * the phone took a G.711/G.722 the browser also offered */
	if (s->prefer_opus && s->kind[offerer] == SB_LEG_KIND_WEBRTC &&
	    sb_cp_is_narrow(a) && sb_ms_can_xcode(s)) {
		o = xcode_partner(s->offer, a);
		xc = o != NULL;
	}
	if (!o)
		o = sb_cp_find(s->offer, a);
	if (!o) {
		o = xcode_partner(s->offer, a);
		xc = true;
	}
	if (!o)
		return -ENOTSUP;
	s->codec[side] = *a;
	s->codec[offerer] = *o;
	s->xcoding = xc;
	if (xc)
		our_opus(&s->codec[offerer], a);
	return 0;
}

/* Answer to our own offer: must relay or transcode to the other side's
 * negotiated codec, if there is one. */
static int pick_local(sb_media_session *s, int side, const sb_md_codec *a)
{
	int other = 1 - side;
	bool xc = false;
	if (s->chosen[other] && !sb_cp_same(&s->codec[other], a)) {
		if (!xcodable(&s->codec[other], a))
			return -ENOTSUP;
		xc = true;
	}
	s->codec[side] = *a;
	s->xcoding = xc;
	return 0;
}

static int pick(sb_media_session *s, int side, const sb_media_desc *ans,
		int offerer)
{
	for (unsigned i = 0; i < ans->n_codecs && i < SB_MD_MAX_CODECS; i++) {
		const sb_md_codec *a = &ans->codecs[i];
		if (sb_cp_is_te(a) || !sb_cp_relayable(a) ||
		    !sb_cp_find(s->sent, a))
			continue;
		int err = offerer >= 0 ? pick_forwarded(s, side, offerer, a)
				       : pick_local(s, side, a);
		if (err < 0)
			continue;
		s->chosen[side] = true;
		if (offerer >= 0)
			s->chosen[offerer] = true;
		return 0;
	}
	return -ENOTSUP;
}

/* telephone-event of the answer (one we sent), at the codec's clock if
 * there is one; the offerer's the same entry when it offered it (relay),
 * else its own at its codec's clock (mapped across clocks by the
 * transcoder, RFC 4733 §2.5.1.2 durations in each side's units). */
static void pick_te(sb_media_session *s, int side, const sb_media_desc *ans,
		    int offerer)
{
	const sb_md_codec *a = sb_cp_find_te(ans, s->codec[side].clock);
	if (!a || !sb_cp_find(s->sent, a))
		a = sb_cp_find_te(ans, 0);
	if (a && !sb_cp_find(s->sent, a))
		a = NULL;
	s->have_te[side] = a != NULL;
	if (a)
		s->te[side] = *a;
	if (offerer < 0)
		return;
	const sb_md_codec *o = a && !s->xcoding ? sb_cp_find(s->offer, a) :
						   NULL;
	if (!o)
		o = sb_cp_find_te(s->offer, s->codec[offerer].clock);
	if (!o)
		o = sb_cp_find_te(s->offer, 0);
	s->have_te[offerer] = o != NULL && a != NULL;
	if (s->have_te[offerer])
		s->te[offerer] = *o;
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
	if (s->xcoding) {
		/* we are the one sending to the offerer: our packet size */
		out->ptime = s->kind[offerer] == SB_LEG_KIND_RTP ? 20 : 0;
	} else {
		out->ptime = ans->ptime;
		out->maxptime = ans->maxptime;
	}
	webrtc_identity(s, offerer, s->offer, out);
	return 0;
}

typedef struct neg_state {
	sb_md_codec codec[2];
	bool chosen[2];
	bool xcoding;
} neg_state;

static void save_neg(const sb_media_session *s, neg_state *n)
{
	memcpy(n->codec, s->codec, sizeof(n->codec));
	memcpy(n->chosen, s->chosen, sizeof(n->chosen));
	n->xcoding = s->xcoding;
}

static void restore_neg(sb_media_session *s, const neg_state *n)
{
	memcpy(s->codec, n->codec, sizeof(n->codec));
	memcpy(s->chosen, n->chosen, sizeof(n->chosen));
	s->xcoding = n->xcoding;
}

static void clear_pending(sb_media_session *s)
{
	g_clear_pointer(&s->offer, g_free);
	g_clear_pointer(&s->sent, g_free);
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
	/* decide first: a refused answer must leave the media as it was */
	neg_state saved;
	save_neg(s, &saved);
	err = pick(s, side, ans, offerer);
	if (err == 0 && s->xcoding && !sb_ms_can_xcode(s))
		err = -EBUSY;
	if (err == 0)
		err = sb_leg_set_remote(s->leg[side], false, ans);
	if (err < 0) {
		restore_neg(s, &saved);
		clear_pending(s);
		return err == -EINVAL ? -EPROTO : err;
	}
	pick_te(s, side, ans, offerer);
	s->dir[side] = effective_dir(ans);
	s->ptime[side] = ans->ptime;
	if (offerer >= 0 && out)
		err = answer_for_offerer(s, offerer, ans, out);
	if (err == 0)
		err = sb_ms_setup_media(s);
	clear_pending(s);
	return err;
}

int sb_media_session_update_answer(sb_media_session *s, int side,
				   const sb_media_desc *ans)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	if (s->pending >= 0 || !s->chosen[side])
		return -EBUSY;
	const sb_md_codec *c = sb_cp_find(ans, &s->codec[side]);
	if (!c)
		return -EPROTO;
	err = sb_leg_set_remote(s->leg[side], false, ans);
	if (err < 0)
		return err == -EINVAL ? -EPROTO : err;
	/* the same codec may have another dynamic payload type there */
	s->codec[side].pt = c->pt;
	const sb_md_codec *te = s->have_te[side] ?
		sb_cp_find_te(ans, s->te[side].clock) : NULL;
	s->have_te[side] = te != NULL;
	if (te)
		s->te[side].pt = te->pt;
	s->dir[side] = effective_dir(ans);
	s->ptime[side] = ans->ptime;
	return sb_ms_setup_media(s);
}

int sb_media_session_local_offer(sb_media_session *s, int side,
				 sb_media_desc *offer)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	if (s->pending >= 0)
		return -EBUSY;
	if (is_local_kind(s->kind[side]))
		return -EINVAL;
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
		sb_cp_default_codecs(offer,
				     s->kind[side] == SB_LEG_KIND_WEBRTC);
	}
	offer->dir = SB_MD_DIR_SENDRECV;
	webrtc_identity(s, side, NULL, offer);
	set_pending(s, offer, offer, side, true);
	return 0;
}

/* --- local services ------------------------------------------------ */

static bool local_answerable(const sb_md_codec *c)
{
	return sb_cp_is_opus(c) || sb_cp_is_narrow(c);
}

int sb_media_session_answer_locally(sb_media_session *s, int side,
				    const sb_media_desc *offer,
				    sb_media_desc *answer)
{
	int err = valid_side(s, side);
	if (err < 0)
		return err;
	int other = 1 - side;
	if (!is_local_kind(s->kind[other]) || is_local_kind(s->kind[side]))
		return -EINVAL;
	if (s->pending >= 0)
		return -EBUSY;
	const sb_md_codec *c = sb_cp_first(offer, local_answerable);
	if (!c)
		return -ENOTSUP;
	err = sb_leg_set_remote(s->leg[side], true, offer);
	if (err < 0)
		return err == -EINVAL ? -EPROTO : err;
	memset(answer, 0, sizeof(*answer));
	err = sb_leg_get_local(s->leg[side], false, answer);
	if (err < 0)
		return err;
	const sb_md_codec *te = sb_cp_find_te(offer, c->clock);
	s->codec[0] = s->codec[1] = *c;
	s->chosen[0] = s->chosen[1] = true;
	s->have_te[0] = s->have_te[1] = te != NULL;
	if (te)
		s->te[0] = s->te[1] = *te;
	s->xcoding = false;
	s->dir[side] = effective_dir(offer);
	s->dir[other] = SB_MD_DIR_SENDRECV;
	s->ptime[side] = s->ptime[other] = offer->ptime;
	answer->codecs[answer->n_codecs++] = *c;
	if (te)
		answer->codecs[answer->n_codecs++] = *te;
	answer->dir = mirror_dir(effective_dir(offer));
	answer->ptime = offer->ptime;
	webrtc_identity(s, side, offer, answer);
	/* the local leg learns the codec the way any leg learns a peer's */
	err = sb_leg_set_remote(s->leg[other], false, answer);
	if (err < 0)
		return err;
	return sb_ms_setup_media(s);
}

/* --- the rest ------------------------------------------------------ */

const sb_leg_stats *sb_media_session_stats(const sb_media_session *s,
					   int side)
{
	return sb_leg_get_stats(s->leg[side ? 1 : 0]);
}

const sb_leg *sb_media_session_leg(const sb_media_session *s, int side)
{
	return s->leg[side ? 1 : 0];
}

bool sb_media_session_transcoding(const sb_media_session *s)
{
	return s->d[0].xc != NULL;
}

int sb_media_session_xcode_stats(const sb_media_session *s, int from,
				 sb_xcode_stats *out)
{
	const sb_xcode *x = s->d[from ? 1 : 0].xc;
	if (!x)
		return -ENOENT;
	sb_xcode_get_stats(x, out);
	return 0;
}

void sb_media_session_close(sb_media_session *s)
{
	if (s->closed)
		return;
	s->closed = true;
	sb_ms_stop_media(s);
	sb_ms_dtmf_stop(s);
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
	clear_pending(s);
	sb_ticker_unref(s->ticker);
	g_main_context_unref(s->ctx);
	g_free(s);
}
