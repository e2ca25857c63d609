/* Media anchoring behind the proxy's SDP hook. The signalling side keeps
 * per call what SDP needs (origins, the offers to mirror in answers);
 * the worker side keeps the media session. They talk only through
 * gateway/msg.h messages: the worker object is never dereferenced on the
 * signalling thread, and the signalling object never on a worker. */
#include "gateway/media_anchor.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/ip.h"
#include "common/log.h"
#include "gateway/msg.h"
#include "gateway/metrics.h"
#include "sip/sdp.h"
#include "transcoding/dtmf_info.h"
#include "webrtc/media_session.h"

#define SB_MAX_SDP 16384
#define STATS_SLICES 10 /* live-stats polls a second (poll_stats) */

/* Worker side of a call. Owned by its worker; freed by OP_DESTROY. */
typedef struct worker_call {
	sb_media_session *session;     /* owned */
	sb_config *cfg;                /* owned ref: params for the session */
	sb_cert *cert;                 /* owned ref */
	sb_leg_kind kind[2];
	int sip_family;                /* sb_sdp_event.sip_family of the first SDP */
	char *room;                    /* owned: conference room, or NULL */
	char *srflx;                   /* owned: mapped IP when the call began, or NULL */
	char *call_id;                 /* owned, for events */
	GMainContext *sig_ctx;         /* owned ref: where events go */
	sb_media_anchor *anchor;       /* used on the signalling thread only */
	sb_worker *worker;
} worker_call;

/* Signalling side of a call. */
typedef struct anchor_call {
	char *call_id;                 /* owned; key */
	char tag[9];
	worker_call *wc;               /* worker-owned: only passed in messages */
	sb_worker *worker;
	bool stats_busy;               /* an OP_STATS is on its way */
	unsigned stats_slice;          /* which poll of the second reads it */
	sb_sdp_origin origin[2];       /* our o= toward side 0 (WS) and 1 (SIP) */
	sb_sdp_lines *offer[2];        /* last offer received from each side */
	/* The last SDP sent to each side, as a 64-bit FNV-1a of its text
	 * (0: none yet): all a new one is compared with (its version,
	 * below); the text itself only while the 2xx may still repeat it. */
	uint64_t sent_sum[2];
	char *early_sdp[2];            /* owned: an early answer sent, or NULL */
	/* each side's early answer as received (sdp_sum of its body, 0:
	 * none): the 2xx that follows should repeat it, and one that does
	 * not (another branch of a forked call) moves that side's media */
	uint64_t early_in_sum[2];
	char *room;                    /* owned: conference room joined, or NULL */
	sb_dtmf_mode dtmf;             /* route.dtmf when the call began */
	bool sip_te;                   /* SIP side negotiated telephone-event */
	sb_media_call_info info;
} anchor_call;

/* A conference room lives on one worker: every participant's session is
 * placed there. Signalling thread. */
typedef struct room_place {
	sb_worker *worker;
	unsigned members;
} room_place;

struct sb_media_anchor {
	sb_config *cfg;                /* owned ref */
	sb_worker_pool *pool;          /* borrowed */
	sb_cert *cert;                 /* owned ref */
	GMainContext *sig_ctx;         /* borrowed */
	GHashTable *calls;             /* call_id -> anchor_call (owned) */
	GHashTable *rooms;             /* room name (owned) -> room_place (owned) */
	GSource *poll;                 /* owned: live stats, a slice at a time */
	unsigned poll_round;           /* slice the next poll reads */
	unsigned next_slice;           /* slice of the next call, round robin */
	sb_media_anchor_end_cb end_cb;
	void *end_data;
	sb_media_anchor_final_cb final_cb;
	void *final_data;
	char srflx[64];                /* learnt mapped IP, "" = none */
};

/* OP_LOCAL: a local service answers the offer itself (echo, rooms). */
/* OP_LATE_WS / OP_LATE_SIP: a late-offer call from SIP (sip/sdp_hook.h
 * late_offer): the browser's answer makes the gateway offer to SIP, and
 * SIP's answer in the ACK completes it. */
/* OP_REANSWER: a 2xx answer unlike the early one it follows
 * (sb_media_session_update_answer); the other side keeps its answer. */
/* OP_DTMF: a digit to send as RFC 4733 on the SIP side's leg. */
/* OP_STATS: the live figures of every call of one worker (wcs). */
typedef enum { OP_OFFER, OP_ANSWER, OP_LOCAL, OP_LATE_WS, OP_LATE_SIP,
	       OP_REANSWER, OP_DESTROY, OP_DTMF, OP_STATS } op_kind;

typedef struct op {
	op_kind kind;
	worker_call *wc;
	GPtrArray *wcs;                /* OP_STATS: worker_call * (borrowed) */
	int side;
	sb_media_desc in;
	char digit;                    /* OP_DTMF */
	unsigned duration_ms;
} op;

/* What a worker reads from a call's legs (OP_DESTROY, OP_STATS). */
typedef struct call_figures {
	sb_leg_stats stats[2];         /* the legs' counters */
	uint64_t lost[2];
	uint64_t late[2];
	double jitter_ms[2];
	sb_leg_proc_time proc[2];
	char remote[2][128];           /* sb_leg.remote */
	gint64 first_tx[2];            /* sb_leg.first_tx_real */
	bool transcoded;
} call_figures;

typedef struct op_reply {
	int status;
	sb_media_desc out;
	call_figures fig;              /* OP_DESTROY */
} op_reply;

/* What the signalling side needs when the reply comes back. */
typedef struct pending {
	sb_media_anchor *anchor;
	char *call_id;
	op_kind kind;
	int side;                      /* side the SDP came from */
	bool early;
	sb_sdp_done_cb done;
	void *done_data;
	bool answered;
} pending;

/* ---- worker side ------------------------------------------------------- */

typedef struct ev_msg {
	char *call_id;
	char *reason;                  /* NULL: not a reason to end the call */
	sb_media_anchor *anchor;
	int side;
	sb_media_event ev;
	gint64 at;
} ev_msg;

static void ev_msg_free(gpointer d)
{
	ev_msg *e = d;
	g_free(e->call_id);
	g_free(e->reason);
	g_free(e);
}

static void note_event(anchor_call *c, const ev_msg *e)
{
	sb_media_call_info *i = &c->info;
	switch (e->ev) {
	case SB_MEDIA_EV_CONNECTED:
		if (i->webrtc[e->side] && !i->connected_at)
			i->connected_at = e->at;
		break;
	case SB_MEDIA_EV_MEDIA_STARTED:
		if (!i->first_rtp_in[e->side])
			i->first_rtp_in[e->side] = e->at;
		break;
	case SB_MEDIA_EV_ICE_FAILED: i->ice_failed = true; break;
	case SB_MEDIA_EV_DTLS_FAILED: i->dtls_failed = true; break;
	default: break;
	}
}

static void ev_deliver(sb_msg *m, void *payload)
{
	ev_msg *e = payload;
	anchor_call *c = g_hash_table_lookup(e->anchor->calls, e->call_id);
	if (c)
		note_event(c, e);
	if (e->reason && e->anchor->end_cb)
		e->anchor->end_cb(e->call_id, e->reason, e->anchor->end_data);
}

static const char *event_reason(sb_media_event ev)
{
	switch (ev) {
	case SB_MEDIA_EV_ICE_FAILED: return "ICE failed";
	case SB_MEDIA_EV_DTLS_FAILED: return "DTLS failed";
	case SB_MEDIA_EV_RTP_TIMEOUT: return "RTP timeout";
	case SB_MEDIA_EV_PEER_CLOSED: return "browser closed DTLS";
	default: return NULL;
	}
}

static void session_event(sb_media_session *s, int side, sb_media_event ev,
			  const char *reason, void *user_data)
{
	worker_call *wc = user_data;
	const char *why = event_reason(ev);
	ev_msg *e = g_new0(ev_msg, 1);
	e->call_id = g_strdup(wc->call_id);
	if (why)
		e->reason = g_strdup_printf("%s on the %s leg%s%s", why,
					    side == SB_SIDE_WS ? "browser" : "SIP",
					    reason ? ": " : "", reason ? reason : "");
	e->anchor = wc->anchor;
	e->side = side;
	e->ev = ev;
	e->at = g_get_real_time();
	sb_msg_post(wc->sig_ctx, &(sb_msg_spec){ .handler = ev_deliver,
		.payload = e, .payload_free = ev_msg_free });
}

static int ensure_session(worker_call *wc)
{
	if (wc->session)
		return 0;
	const sb_config *c = wc->cfg;
	sb_media_params p = {
		.media_addr = c->media_address,
		.public_addr = c->media_public_address,
		.alt_addr = c->media_address_alt,
		.sip_family = wc->sip_family,
		.port_min = c->rtp_port_min,
		.port_max = c->rtp_port_max,
		.srflx_addr = wc->srflx,
		.rtp_timeout_ms = c->rtp_timeout_s * 1000,
		.cert = wc->cert,
		.kind = { wc->kind[0], wc->kind[1] },
		.webrtc_offer_setup = SB_MD_SETUP_ACTPASS,
		.echo_delay_ms = c->echo_delay_ms,
		.conf_room = wc->room,
		.prefer_opus = c->prefer_opus,
		.max_transcoded = c->max_transcoded,
		.jitter_buffer = c->jitter_buffer,
		.opus_low_delay = c->opus_low_delay,
	};
	int err = 0;
	wc->session = sb_media_session_new(&p, g_main_context_get_thread_default(),
					   session_event, wc, &err);
	return wc->session ? 0 : (err ? err : -EIO);
}

static void worker_call_free(worker_call *wc)
{
	sb_media_session_free(wc->session);
	sb_config_unref(wc->cfg);
	sb_cert_unref(wc->cert);
	g_main_context_unref(wc->sig_ctx);
	g_free(wc->room);
	g_free(wc->srflx);
	g_free(wc->call_id);
	g_free(wc);
}

static void op_free(gpointer d)
{
	op *o = d;
	if (o->wcs)
		g_ptr_array_unref(o->wcs);
	g_free(o);
}

/* Worker side: both legs' counters and receive quality into r. */
static void read_legs(const worker_call *wc, call_figures *r)
{
	for (int i = 0; i < 2 && wc->session; i++) {
		const sb_leg *leg = sb_media_session_leg(wc->session, i);
		if (!leg)
			continue;
		r->stats[i] = leg->stats;
		r->proc[i] = leg->proc;
		g_strlcpy(r->remote[i], leg->remote, sizeof(r->remote[i]));
		r->first_tx[i] = leg->first_tx_real;
		r->lost[i] = sb_metrics_rtcp_lost(&leg->rx);
		/* jitter_q4 is 16 x the jitter in RTP clock units */
		r->jitter_ms[i] = leg->clock ? leg->rx.jitter_q4 * 1000.0 / 16.0 / leg->clock : 0;
		/* only a transcoded direction has a playout deadline */
		sb_xcode_stats xs;
		if (sb_media_session_xcode_stats(wc->session, i, &xs) == 0)
			r->late[i] = xs.late;
	}
	r->transcoded = wc->session && sb_media_session_transcoding(wc->session);
}

static void op_run(sb_msg *m, void *payload)
{
	op *o = payload;
	if (o->kind == OP_STATS) {
		call_figures *f = g_new0(call_figures, o->wcs->len ? o->wcs->len : 1);
		for (guint i = 0; i < o->wcs->len; i++)
			read_legs(g_ptr_array_index(o->wcs, i), &f[i]);
		sb_msg_set_reply(m, f, g_free);
		return;
	}
	op_reply *r = g_new0(op_reply, 1);
	if (o->kind == OP_DESTROY) {
		read_legs(o->wc, &r->fig);
		sb_worker_add_load(o->wc->worker, -1);
		worker_call_free(o->wc);
		sb_msg_set_reply(m, r, g_free);
		return;
	}
	if (o->kind == OP_DTMF) {
		r->status = o->wc->session ?
			sb_media_session_send_dtmf(o->wc->session, o->side, o->digit,
						   o->duration_ms) : -ENOTCONN;
		sb_msg_set_reply(m, r, g_free);
		return;
	}
	r->status = ensure_session(o->wc);
	if (r->status == 0 && o->kind == OP_OFFER)
		r->status = sb_media_session_remote_offer(o->wc->session, o->side,
							  &o->in, &r->out);
	else if (r->status == 0 && o->kind == OP_LOCAL)
		r->status = sb_media_session_answer_locally(o->wc->session, o->side,
							    &o->in, &r->out);
	else if (r->status == 0 && o->kind == OP_LATE_WS) {
		sb_media_desc to_placeholder;
		r->status = sb_media_session_remote_answer(o->wc->session, SB_SIDE_WS,
							   &o->in, &to_placeholder);
		if (r->status == 0)
			r->status = sb_media_session_local_offer(o->wc->session, SB_SIDE_SIP,
								 &r->out);
	} else if (r->status == 0 && o->kind == OP_LATE_SIP)
		r->status = sb_media_session_remote_answer(o->wc->session, SB_SIDE_SIP,
							   &o->in, NULL);
	else if (r->status == 0 && o->kind == OP_REANSWER)
		r->status = sb_media_session_update_answer(o->wc->session, o->side,
							   &o->in);
	else if (r->status == 0)
		r->status = sb_media_session_remote_answer(o->wc->session, o->side,
							   &o->in, &r->out);
	sb_msg_set_reply(m, r, g_free);
}

/* ---- signalling side --------------------------------------------------- */

static void call_free(anchor_call *c)
{
	g_free(c->room);
	for (int i = 0; i < 2; i++) {
		g_free(c->offer[i]);
		g_free(c->early_sdp[i]);
	}
	g_free(c->call_id);
	g_free(c);
}

static void pending_free(gpointer d)
{
	pending *pd = d;
	/* A reply that never came (worker stopped): the proxy still gets
	 * its answer exactly once. */
	if (!pd->answered)
		pd->done(-ECANCELED, NULL, pd->done_data);
	g_free(pd->call_id);
	g_free(pd);
}

static uint64_t sdp_sum_n(const char *text, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 0x100000001b3u;
	return h;
}

static uint64_t sdp_sum(const char *text)
{
	return sdp_sum_n(text, strlen(text));
}

static char *write_sdp(anchor_call *c, const pending *pd, const sb_media_desc *out,
		       int *err)
{
	/* A local service answers the side that offered; otherwise the SDP
	 * goes to the other side. */
	int to = pd->kind == OP_LOCAL ? pd->side : 1 - pd->side;
	bool as_offer = pd->kind == OP_OFFER || pd->kind == OP_LATE_WS;
	char *text = NULL;
	if (as_offer)
		*err = sb_sdp_write_offer(&c->origin[to], out, &text);
	else if (c->offer[to])
		*err = sb_sdp_write_answer_lines(&c->origin[to], out, c->offer[to], &text);
	else
		*err = -EPROTO;
	if (*err < 0)
		return NULL;
	/* RFC 3264 §8: a changed SDP gets a new version; an unchanged
	 * repeat (the 200 after a 183) keeps it. */
	if (c->sent_sum[to] && c->sent_sum[to] != sdp_sum(text)) {
		c->origin[to].sess_version++;
		g_free(text);
		if (as_offer)
			*err = sb_sdp_write_offer(&c->origin[to], out, &text);
		else
			*err = sb_sdp_write_answer_lines(&c->origin[to], out, c->offer[to], &text);
	}
	c->sent_sum[to] = sdp_sum(text);
	return text;
}

static void codec_name(const sb_md_codec *k, char out[32])
{
	g_snprintf(out, 32, "%s/%u", k->name, k->clock);
}

static bool has_te(const sb_media_desc *d)
{
	for (unsigned i = 0; i < d->n_codecs; i++)
		if (!g_ascii_strcasecmp(d->codecs[i].name, "telephone-event"))
			return true;
	return false;
}

static void op_replied(void *reply, void *user_data)
{
	pending *pd = user_data;
	op_reply *r = reply;
	anchor_call *c = g_hash_table_lookup(pd->anchor->calls, pd->call_id);
	pd->answered = true;
	if (!c || !r) {
		pd->done(-ECANCELED, NULL, pd->done_data);
		return;
	}
	if (r->status < 0) {
		SB_WARN(c->tag, "media refused the %s from the %s side: %s",
			pd->kind == OP_OFFER ? "offer" : "answer",
			pd->side == SB_SIDE_WS ? "browser" : "SIP", g_strerror(-r->status));
		pd->done(r->status, NULL, pd->done_data);
		return;
	}
	if (pd->kind == OP_LATE_SIP) {
		pd->done(0, NULL, pd->done_data);   /* the ACK goes on without SDP */
		return;
	}
	if (pd->kind == OP_REANSWER) {
		/* the other side keeps the answer it has */
		char **kept = &c->early_sdp[1 - pd->side];
		SB_INFO(c->tag, "the %s side's %s answer differs from its early one: "
			"its media follows the new one", pd->side == SB_SIDE_WS ? "browser" : "SIP",
			pd->early ? "next early" : "final");
		if (!*kept)
			pd->done(-EPROTO, NULL, pd->done_data);
		else
			pd->done(0, pd->early ? g_strdup(*kept) : g_steal_pointer(kept),
				 pd->done_data);
		return;
	}
	int err;
	char *text = write_sdp(c, pd, &r->out, &err);
	if (pd->kind == OP_ANSWER && pd->side == SB_SIDE_WS)
		c->sip_te = has_te(&r->out);   /* our answer to SIP's offer */
	if (pd->kind != OP_OFFER && pd->kind != OP_LATE_WS && r->out.n_codecs) {
		int to = pd->kind == OP_LOCAL ? pd->side : 1 - pd->side;
		codec_name(&r->out.codecs[0], c->info.codec[to]);
		if (pd->kind == OP_LOCAL)
			g_strlcpy(c->info.codec[1 - pd->side], c->info.codec[to],
				  sizeof(c->info.codec[0]));
		c->info.transcoded = g_ascii_strncasecmp(c->info.codec[0], c->info.codec[1],
			strcspn(c->info.codec[0], "/")) != 0;
	}
	if (pd->kind == OP_ANSWER) {
		int to = 1 - pd->side;
		g_free(c->early_sdp[to]);
		c->early_sdp[to] = pd->early && text ? g_strdup(text) : NULL;
	}
	if (text)
		SB_DEBUG(c->tag, "SDP %s toward the %s side:\n%s",
			 pd->kind == OP_OFFER ? "offer" : "answer",
			 (pd->kind == OP_LOCAL) == (pd->side == SB_SIDE_WS) ? "browser" : "SIP",
			 text);
	pd->done(text ? 0 : err, text, pd->done_data);
}

static void post_op(sb_media_anchor *a, anchor_call *c, op *o, pending *pd)
{
	sb_msg_post(sb_worker_context(c->worker), &(sb_msg_spec){
		.handler = op_run, .payload = o, .payload_free = g_free,
		.reply_ctx = a->sig_ctx, .reply_cb = op_replied,
		.user_data = pd, .user_data_free = pending_free });
}

static sb_leg_kind kind_of(const sb_media_desc *d, int side)
{
	if (d->proto == SB_MD_PROTO_DTLS_SAVPF || d->proto == SB_MD_PROTO_DTLS_SAVP)
		return SB_LEG_KIND_WEBRTC;
	if (d->proto == SB_MD_PROTO_UNKNOWN)
		return side == SB_SIDE_WS ? SB_LEG_KIND_WEBRTC : SB_LEG_KIND_RTP;
	return SB_LEG_KIND_RTP;
}

static const char *kind_name(sb_leg_kind k)
{
	static const char *const n[] = { "webrtc", "rtp", "echo", "conference" };
	return (unsigned)k < G_N_ELEMENTS(n) ? n[k] : "?";
}

static sb_leg_kind service_kind(const char *service)
{
	return g_str_has_prefix(service, "conf:") ? SB_LEG_KIND_CONF : SB_LEG_KIND_ECHO;
}

/* The room's worker for "conf:NAME" (chosen when the room opens), else
 * the least loaded one. */
static sb_worker *pick_worker(sb_media_anchor *a, const char *service, char **room)
{
	*room = NULL;
	if (!service || !g_str_has_prefix(service, "conf:"))
		return sb_worker_pool_pick(a->pool);
	const char *name = service + 5;
	room_place *rp = g_hash_table_lookup(a->rooms, name);
	if (!rp) {
		rp = g_new0(room_place, 1);
		rp->worker = sb_worker_pool_pick(a->pool);
		g_hash_table_insert(a->rooms, g_strdup(name), rp);
	}
	rp->members++;
	*room = g_strdup(name);
	return rp->worker;
}

static void room_leave(sb_media_anchor *a, const char *room)
{
	room_place *rp = room ? g_hash_table_lookup(a->rooms, room) : NULL;
	if (rp && --rp->members == 0)
		g_hash_table_remove(a->rooms, room);
}

static unsigned room_members(sb_media_anchor *a, const char *service)
{
	room_place *rp = g_hash_table_lookup(a->rooms, service + 5);
	return rp ? rp->members : 0;
}

static anchor_call *call_new(sb_media_anchor *a, const sb_sdp_event *ev,
			     const sb_sdp *sdp)
{
	anchor_call *c = g_new0(anchor_call, 1);
	c->call_id = g_strdup(ev->call_id);
	g_strlcpy(c->tag, ev->tag ? ev->tag : "", sizeof(c->tag));
	const char *addr = *a->cfg->media_public_address ? a->cfg->media_public_address
							  : a->cfg->media_address;
	/* the SIP side's family: the c= of SIP's offer (not of the late
	 * offer's placeholder, sb_proxy_sdp_late_offer), else where the
	 * INVITE went or came from; its o= names our address of that family */
	int sip_family = ev->from == SB_SIDE_SIP && !ev->late_offer &&
			 sb_ip_family(sdp->audio.addr)
		? sb_ip_family(sdp->audio.addr) : ev->sip_family;
	const char *alt = a->cfg->media_address_alt;
	sb_sdp_origin_init(&c->origin[SB_SIDE_WS], "sipbridge", addr);
	sb_sdp_origin_init(&c->origin[SB_SIDE_SIP], "sipbridge",
			   sip_family && alt && *alt && sb_ip_family(alt) == sip_family &&
			   sb_ip_family(a->cfg->media_address) != sip_family ? alt : addr);
	c->dtmf = a->cfg->route_dtmf;
	c->worker = pick_worker(a, ev->service, &c->room);
	sb_worker_add_load(c->worker, 1);
	c->stats_slice = a->next_slice++ % STATS_SLICES;

	worker_call *wc = g_new0(worker_call, 1);
	wc->cfg = sb_config_ref(a->cfg);
	wc->cert = sb_cert_ref(a->cert);
	wc->call_id = g_strdup(ev->call_id);
	wc->sig_ctx = g_main_context_ref(a->sig_ctx);
	wc->anchor = a;
	wc->worker = c->worker;
	wc->room = g_strdup(c->room);
	wc->srflx = a->srflx[0] ? g_strdup(a->srflx) : NULL;
	wc->sip_family = sip_family;
	SB_DEBUG(c->tag, "media toward SIP in %s (first SDP from %s%s)",
		 sip_family == AF_INET6 ? "IPv6" : sip_family == AF_INET ? "IPv4"
		 : "media.address's family", ev->from == SB_SIDE_SIP ? "SIP" : "the browser",
		 ev->late_offer ? ", late offer" : "");
	c->info.worker = (int)sb_worker_index(c->worker);
	wc->kind[ev->from] = kind_of(&sdp->audio, ev->from);
	wc->kind[1 - ev->from] = ev->service ? service_kind(ev->service)
		: ev->from == SB_SIDE_WS ? SB_LEG_KIND_RTP : SB_LEG_KIND_WEBRTC;
	c->info.webrtc[0] = wc->kind[0] == SB_LEG_KIND_WEBRTC;
	c->info.webrtc[1] = wc->kind[1] == SB_LEG_KIND_WEBRTC;
	c->wc = wc;
	g_hash_table_insert(a->calls, c->call_id, c);
	SB_INFO(c->tag, "media on worker %u (%s leg <-> %s leg)", sb_worker_index(c->worker),
		kind_name(wc->kind[0]), kind_name(wc->kind[1]));
	return c;
}

static void hook_process(void *data, const sb_sdp_event *ev, sb_sdp_done_cb done,
			 void *done_data)
{
	sb_media_anchor *a = data;
	sb_sdp *sdp = NULL;
	int r = sb_sdp_parse(ev->body, ev->len, SB_MAX_SDP, &sdp);
	if (r < 0) {
		SB_WARN(ev->tag, "unusable SDP from the %s side: %s",
			ev->from == SB_SIDE_WS ? "browser" : "SIP", g_strerror(-r));
		done(r == -ENOENT ? -ENOTSUP : r, NULL, done_data);
		return;
	}
	anchor_call *c = g_hash_table_lookup(a->calls, ev->call_id);
	int other = 1 - (int)ev->from;
	uint64_t in_sum = ev->kind == SB_SDP_ANSWER ? sdp_sum_n(ev->body, ev->len) : 0;
	bool reanswer = false;
	if (c && ev->kind == SB_SDP_ANSWER && c->early_sdp[other]) {
		/* Another 1xx (a 180 after the 183) or the 2xx after an early
		 * answer: it repeats it (RFC 3261 §13.2.1), and so do we. */
		reanswer = in_sum != c->early_in_sum[ev->from];
		c->early_in_sum[ev->from] = ev->early ? in_sum : 0;
		if (!reanswer) {
			sb_sdp_free(sdp);
			done(0, ev->early ? g_strdup(c->early_sdp[other]) :
					    g_steal_pointer(&c->early_sdp[other]), done_data);
			return;
		}
	} else if (c && ev->kind == SB_SDP_ANSWER && ev->early) {
		c->early_in_sum[ev->from] = in_sum;
	}
	if (!c) {
		if (ev->kind != SB_SDP_OFFER) {
			sb_sdp_free(sdp);
			done(-EPROTO, NULL, done_data);
			return;
		}
		if (ev->service && g_str_has_prefix(ev->service, "conf:") &&
		    room_members(a, ev->service) >= a->cfg->conference_max_participants) {
			SB_WARN(ev->tag, "conference room %s is full (%u)", ev->service + 5,
				a->cfg->conference_max_participants);
			sb_sdp_free(sdp);
			done(-EUSERS, NULL, done_data);
			return;
		}
		c = call_new(a, ev, sdp);
	}
	if (ev->service && ev->kind != SB_SDP_OFFER) {
		sb_sdp_free(sdp);   /* a service only ever answers */
		done(-EPROTO, NULL, done_data);
		return;
	}
	g_strlcpy(c->info.sdp_addr[ev->from], sdp->audio.addr, sizeof(c->info.sdp_addr[0]));
	if (ev->kind == SB_SDP_ANSWER && sdp->audio.n_codecs)
		codec_name(&sdp->audio.codecs[0], c->info.codec[ev->from]);
	if (ev->kind == SB_SDP_ANSWER && ev->from == SB_SIDE_SIP)
		c->sip_te = has_te(&sdp->audio);   /* SIP's answer to our offer */
	op *o = g_new0(op, 1);
	o->kind = ev->service ? OP_LOCAL : ev->kind == SB_SDP_OFFER ? OP_OFFER : OP_ANSWER;
	if (ev->late_offer && ev->kind == SB_SDP_ANSWER)
		o->kind = ev->from == SB_SIDE_WS ? OP_LATE_WS : OP_LATE_SIP;
	if (reanswer)
		o->kind = OP_REANSWER;
	o->wc = c->wc;
	o->side = ev->from;
	o->in = sdp->audio;
	if (ev->kind == SB_SDP_OFFER) {
		g_free(c->offer[ev->from]);
		c->offer[ev->from] = sb_sdp_lines_keep(sdp);
	}
	sb_sdp_free(sdp);
	pending *pd = g_new0(pending, 1);
	*pd = (pending){ a, g_strdup(ev->call_id), o->kind, ev->from, ev->early, done,
			 done_data, false };
	post_op(a, c, o, pd);
}

typedef struct final_pending {
	sb_media_anchor *anchor;
	char *call_id;
	char tag[sizeof(((anchor_call *)0)->tag)];
	sb_media_call_info info;
} final_pending;

static void final_pending_free(gpointer d)
{
	final_pending *f = d;
	g_free(f->call_id);
	g_free(f);
}

/* The legs' figures a worker read (OP_STATS, OP_DESTROY) into a call's
 * info, on the signalling thread. */
static void take_legs(sb_media_call_info *info, const call_figures *r)
{
	for (int i = 0; i < 2; i++) {
		info->stats[i] = r->stats[i];
		info->lost[i] = r->lost[i];
		info->jitter_ms[i] = r->jitter_ms[i];
		info->late[i] = r->late[i];
		g_strlcpy(info->remote[i], r->remote[i], sizeof(info->remote[i]));
		info->first_rtp_out[i] = r->first_tx[i];
		info->proc[i] = r->proc[i];
	}
	info->transcoded = info->transcoded || r->transcoded;
	info->stats_at = g_get_real_time();
}

static void destroyed(void *reply, void *user_data)
{
	final_pending *f = user_data;
	op_reply *r = reply;
	if (r) {
		take_legs(&f->info, &r->fig);
		/* One line per call answers most "no audio" reports from the
		 * log alone: which leg never received, which never sent. */
		const sb_leg_stats *w = &r->fig.stats[0], *s = &r->fig.stats[1];
		SB_INFO(f->tag,
			"media end%s: leg0 rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64
			"/%" PRIu64 " | leg1 rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64
			"/%" PRIu64,
			r->fig.transcoded ? " (transcoded)" : "", w->rx_packets, w->tx_packets,
			w->rx_dropped, w->tx_dropped, s->rx_packets, s->tx_packets,
			s->rx_dropped, s->tx_dropped);
	}
	if (f->anchor->final_cb)
		f->anchor->final_cb(f->call_id, &f->info, f->anchor->final_data);
}

/* ---- live stats: every second each worker reads its calls' legs ------ */

/* The second is cut into STATS_SLICES polls, each reading the calls of
 * one slice: read all at once, 600 relayed calls kept one worker busy
 * for 5-6 ms on each second (its longest runs in a perf sched trace of
 * the relay benchmark), which at 60 packets a millisecond left a few
 * hundred of them waiting over 1 ms. Each call's figures are still at
 * most a second old. */

/* One OP_STATS per worker and poll, not one per call: a message is an
 * idle source attached to the worker's context, and a few hundred at
 * once held the packets behind them for 10-40 ms (the relay benchmark's
 * round-trip p99 at 250 calls). */
typedef struct stats_batch {
	sb_media_anchor *anchor;
	GPtrArray *call_ids;           /* char * (owned), in op->wcs order */
	op *op;                        /* until posted */
} stats_batch;

static void stats_batch_free(gpointer d)
{
	stats_batch *b = d;
	g_ptr_array_unref(b->call_ids);
	g_free(b);
}

static void stats_replied(void *reply, void *user_data)
{
	stats_batch *b = user_data;
	const call_figures *f = reply;
	for (guint i = 0; i < b->call_ids->len; i++) {
		anchor_call *c = g_hash_table_lookup(b->anchor->calls,
						     g_ptr_array_index(b->call_ids, i));
		if (!c)
			continue; /* ended meanwhile: the final counters come instead */
		c->stats_busy = false;  /* the next poll may ask again */
		if (f)
			take_legs(&c->info, &f[i]);
	}
}

/* OP_STATS posted before a call's OP_DESTROY runs before it (one worker
 * context, messages in order), so every wc in it is alive when it runs. */
static gboolean poll_stats(gpointer data)
{
	sb_media_anchor *a = data;
	g_autoptr(GHashTable) per_worker = g_hash_table_new(NULL, NULL);
	GHashTableIter it;
	gpointer k, v;
	unsigned slice = a->poll_round++ % STATS_SLICES;
	g_hash_table_iter_init(&it, a->calls);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		anchor_call *c = v;
		/* a stalled worker must not collect a queue of polls */
		if (c->stats_busy || c->stats_slice != slice)
			continue;
		stats_batch *b = g_hash_table_lookup(per_worker, c->worker);
		if (!b) {
			b = g_new0(stats_batch, 1);
			b->anchor = a;
			b->call_ids = g_ptr_array_new_with_free_func(g_free);
			b->op = g_new0(op, 1);
			b->op->kind = OP_STATS;
			b->op->wcs = g_ptr_array_new();
			g_hash_table_insert(per_worker, c->worker, b);
		}
		c->stats_busy = true;
		g_ptr_array_add(b->op->wcs, c->wc);
		g_ptr_array_add(b->call_ids, g_strdup(c->call_id));
	}
	g_hash_table_iter_init(&it, per_worker);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		stats_batch *b = v;
		op *o = b->op;
		b->op = NULL;
		sb_msg_post(sb_worker_context(k), &(sb_msg_spec){
			.handler = op_run, .payload = o, .payload_free = op_free,
			.reply_ctx = a->sig_ctx, .reply_cb = stats_replied,
			.user_data = b, .user_data_free = stats_batch_free });
	}
	return G_SOURCE_CONTINUE;
}

static void post_destroy(sb_media_anchor *a, anchor_call *c)
{
	op *o = g_new0(op, 1);
	o->kind = OP_DESTROY;
	o->wc = c->wc;
	final_pending *f = g_new0(final_pending, 1);
	f->anchor = a;
	f->call_id = g_strdup(c->call_id);
	g_strlcpy(f->tag, c->tag, sizeof(f->tag));
	f->info = c->info;
	/* If the worker is gone the message is dropped with the process. */
	sb_msg_post(sb_worker_context(c->worker), &(sb_msg_spec){
		.handler = op_run, .payload = o, .payload_free = g_free,
		.reply_ctx = a->sig_ctx, .reply_cb = destroyed, .user_data = f,
		.user_data_free = final_pending_free });
}

static void hook_call_end(void *data, const char *call_id)
{
	sb_media_anchor *a = data;
	anchor_call *c = g_hash_table_lookup(a->calls, call_id);
	if (!c)
		return;
	post_destroy(a, c);
	room_leave(a, c->room);
	g_hash_table_remove(a->calls, call_id);
}

sb_media_anchor *sb_media_anchor_new(sb_config *cfg, sb_worker_pool *pool,
				     sb_cert *cert, GMainContext *sig_ctx,
				     sb_media_anchor_end_cb end_cb, void *user_data)
{
	sb_media_anchor *a = g_new0(sb_media_anchor, 1);
	a->cfg = sb_config_ref(cfg);
	a->pool = pool;
	a->cert = sb_cert_ref(cert);
	a->sig_ctx = sig_ctx;
	a->end_cb = end_cb;
	a->end_data = user_data;
	a->calls = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 (GDestroyNotify)call_free);
	a->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->poll = g_timeout_source_new(1000 / STATS_SLICES);
	g_source_set_callback(a->poll, poll_stats, a, NULL);
	g_source_attach(a->poll, sig_ctx);
	return a;
}

void sb_media_anchor_stop(sb_media_anchor *a)
{
	if (a->poll) {
		g_source_destroy(a->poll);
		g_clear_pointer(&a->poll, g_source_unref);
	}
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, a->calls);
	while (g_hash_table_iter_next(&it, NULL, &v))
		post_destroy(a, v);
	g_hash_table_remove_all(a->calls);
	g_hash_table_remove_all(a->rooms);
}

void sb_media_anchor_set_srflx(sb_media_anchor *a, const char *addr)
{
	g_strlcpy(a->srflx, addr ? addr : "", sizeof(a->srflx));
}

void sb_media_anchor_free(sb_media_anchor *a)
{
	if (!a)
		return;
	sb_media_anchor_stop(a);
	g_hash_table_destroy(a->calls);
	g_hash_table_destroy(a->rooms);
	sb_cert_unref(a->cert);
	sb_config_unref(a->cfg);
	g_free(a);
}

void sb_media_anchor_set_config(sb_media_anchor *a, sb_config *cfg)
{
	sb_config *old = a->cfg;
	a->cfg = sb_config_ref(cfg);
	sb_config_unref(old);
}

/* ---- DTMF from SIP INFO ------------------------------------------------ */

typedef struct dtmf_pending {
	sb_media_anchor_dtmf_cb cb;
	void *user_data;
	bool answered;
} dtmf_pending;

static void dtmf_pending_free(gpointer d)
{
	dtmf_pending *dp = d;
	if (!dp->answered)      /* the worker stopped: still answer once */
		dp->cb(-ECANCELED, dp->user_data);
	g_free(dp);
}

static void dtmf_replied(void *reply, void *user_data)
{
	dtmf_pending *dp = user_data;
	op_reply *r = reply;
	dp->answered = true;
	dp->cb(r ? r->status : -ECANCELED, dp->user_data);
}

int sb_media_anchor_send_dtmf(sb_media_anchor *a, const char *call_id, char digit,
			      unsigned duration_ms, sb_media_anchor_dtmf_cb cb,
			      void *user_data)
{
	anchor_call *c = g_hash_table_lookup(a->calls, call_id);
	if (!c)
		return -ENOENT;
	op *o = g_new0(op, 1);
	o->kind = OP_DTMF;
	o->wc = c->wc;
	o->side = SB_SIDE_SIP;
	o->digit = digit;
	o->duration_ms = duration_ms;
	dtmf_pending *dp = g_new0(dtmf_pending, 1);
	dp->cb = cb;
	dp->user_data = user_data;
	sb_msg_post(sb_worker_context(c->worker), &(sb_msg_spec){
		.handler = op_run, .payload = o, .payload_free = g_free,
		.reply_ctx = a->sig_ctx, .reply_cb = dtmf_replied,
		.user_data = dp, .user_data_free = dtmf_pending_free });
	return 0;
}

/* route.dtmf decides; a body that is no DTMF always passes. */
static int hook_info(void *data, const sb_info_event *ev, sb_info_done_cb done,
		     void *done_data)
{
	sb_media_anchor *a = data;
	anchor_call *c = g_hash_table_lookup(a->calls, ev->call_id);
	char digit;
	unsigned ms;

	if (!c || c->room || c->dtmf == SB_DTMF_INFO || !ev->content_type ||
	    sb_dtmf_info_parse(ev->content_type, ev->body, ev->len, &digit, &ms) < 0)
		return 0;
	if (!c->sip_te && c->dtmf == SB_DTMF_AUTO)
		return 0;
	if (!c->sip_te) {
		SB_WARN(c->tag, "INFO DTMF '%c' refused (488): route.dtmf is rfc4733 but "
			"the SIP side negotiated no telephone-event", digit);
		return -ENOTSUP;
	}
	SB_INFO(c->tag, "INFO DTMF '%c' (%u ms) -> RFC 4733 toward SIP", digit, ms);
	int err = sb_media_anchor_send_dtmf(a, ev->call_id, digit, ms, done, done_data);
	return err < 0 ? err : 1;
}

sb_sdp_hook sb_media_anchor_hook(sb_media_anchor *a)
{
	return (sb_sdp_hook){ .process = hook_process, .call_end = hook_call_end,
			      .info = hook_info, .hook_data = a };
}

bool sb_media_anchor_call_info(sb_media_anchor *a, const char *call_id,
			       sb_media_call_info *out)
{
	anchor_call *c = g_hash_table_lookup(a->calls, call_id);
	if (!c)
		return false;
	*out = c->info;
	return true;
}

void sb_media_anchor_set_final_cb(sb_media_anchor *a, sb_media_anchor_final_cb cb,
				  void *user_data)
{
	a->final_cb = cb;
	a->final_data = user_data;
}

unsigned sb_media_anchor_count(const sb_media_anchor *a)
{
	return g_hash_table_size(a->calls);
}
