/* Operator glue: metrics, admin API provider, CDRs. Signalling thread
 * only. A call's CDR is completed in two steps: the proxy reports the
 * end of the dialog (parties, times, status, who hung up), then the media
 * anchor reports the session's final counters once its worker destroyed
 * it; a call without media is written at once. */
#include "gateway/ops.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "common/log.h"
#include "gateway/admin_api.h"
#include "gateway/cdr.h"
#include "gateway/metrics.h"
#include "sip/ws_transport.h"

struct sb_ops {
	sb_ops_deps deps;
	sb_cdr *cdr;                  /* owned; NULL = no CDRs */
	GHashTable *pending;          /* call_id -> cdr_pending (owned) */
	GArray *retired;              /* sb_metrics_media_sample per worker:
					 final counters of ended sessions */
	sb_admin_provider provider;
	char *media_addr;             /* owned: deps.media_addr */
	sb_proxy_stats fed;           /* the proxy's counters already in the
					 metrics (fed as deltas) */
};

/* The proxy's half of a CDR, waiting for the media half. */
typedef struct cdr_pending {
	char *call_id, *from, *to, *reason;
	gint64 start_us, answer_us, end_us;
	int final_status;
	sb_cdr_party by;
} cdr_pending;

static void pending_free(gpointer d)
{
	cdr_pending *p = d;
	g_free(p->call_id);
	g_free(p->from);
	g_free(p->to);
	g_free(p->reason);
	g_free(p);
}

/* ---- CDRs and call metrics ------------------------------------------- */

/* The URI of a From/To header value: what is inside <...>, else up to
 * the first ';' (the parameters, among them the tag). CDRs and the
 * admin API show URIs, not tags or display names. Owned (g_free). */
static char *party_uri(const char *hv)
{
	if (!hv)
		return g_strdup("");
	const char *lt = strchr(hv, '<');
	if (lt) {
		const char *gt = strchr(lt + 1, '>');
		return gt ? g_strndup(lt + 1, (gsize)(gt - lt - 1)) : g_strdup(lt + 1);
	}
	return g_strstrip(g_strndup(hv, strcspn(hv, ";")));
}

static void submit(sb_ops *o, const cdr_pending *p, const sb_media_call_info *m)
{
	sb_cdr_record r = {
		.call_id = p->call_id, .from = p->from, .to = p->to,
		.start_us = p->start_us, .answer_us = p->answer_us, .end_us = p->end_us,
		.final_status = p->final_status, .hangup_by = p->by,
		.hangup_reason = p->reason,
	};
	if (m) {
		r.browser.codec = *m->codec[0] ? m->codec[0] : NULL;
		r.sip.codec = *m->codec[1] ? m->codec[1] : NULL;
		/* the legs' receive statistics (RFC 3550 A.3 loss, A.8
		 * jitter) as the worker read them when the session ended */
		r.browser.rx_packets = m->stats[0].rx_packets;
		r.sip.rx_packets = m->stats[1].rx_packets;
		r.browser.lost = m->lost[0];
		r.sip.lost = m->lost[1];
		r.browser.jitter_ms = m->jitter_ms[0];
		r.sip.jitter_ms = m->jitter_ms[1];
		r.browser.rtt_ms = m->stats[0].rtt_us / 1000.0;
		r.sip.rtt_ms = m->stats[1].rtt_us / 1000.0;
		r.transcoded = m->transcoded;
	}
	if (o->cdr && sb_cdr_submit(o->cdr, &r) < 0)
		g_warning("CDR queue full: record of call %s dropped", p->call_id);
}

static sb_call_outcome outcome_of(const sb_dialog *d)
{
	if (d->answered_real_us)
		return d->ended_by_gateway ? SB_CALL_FAILED : SB_CALL_ANSWERED;
	if (d->ended_by_gateway)
		return SB_CALL_FAILED;
	if (d->final_status >= 300)
		return SB_CALL_REJECTED;
	return SB_CALL_CANCELLED;
}

static void call_ended(const sb_dialog *d, void *user_data)
{
	sb_ops *o = user_data;
	sb_metrics_call_finished(outcome_of(d), d->final_status);
	if (d->answered_real_us)
		sb_metrics_call_setup_time((double)(d->answered_real_us - d->created_real_us) / 1e6);

	cdr_pending *p = g_new0(cdr_pending, 1);
	p->call_id = g_strdup(d->call_id);
	/* From is the caller: the browser's party when it called. */
	p->from = party_uri(d->ws_is_caller ? d->ws_party : d->sip_party);
	p->to = party_uri(d->ws_is_caller ? d->sip_party : d->ws_party);
	p->reason = g_strdup(d->end_reason ? d->end_reason : "");
	p->start_us = d->created_real_us;
	p->answer_us = d->answered_real_us;
	p->end_us = g_get_real_time();
	p->final_status = d->final_status;
	p->by = !d->end_reason ? SB_CDR_BY_NONE : d->ended_by_gateway ? SB_CDR_BY_GATEWAY
		: d->ended_by == SB_SIDE_WS ? SB_CDR_BY_BROWSER : SB_CDR_BY_SIP;
	sb_media_call_info info;
	if (sb_media_anchor_call_info(o->deps.media, d->call_id, &info)) {
		g_hash_table_replace(o->pending, p->call_id, p);
		return;   /* media_final() completes it */
	}
	submit(o, p, NULL);
	pending_free(p);
}

/* One call's legs into a media sample. By side, not by info->webrtc[]:
 * the browser's leg is WebRTC, the SIP side's plain RTP (a local
 * service's leg is counted as RTP too: the info does not say which
 * service it was). */
static void add_call_legs(sb_metrics_media_sample *s, const sb_media_call_info *info)
{
	sb_metrics_sample_add_leg(s, SB_METRICS_LEG_WEBRTC, &info->stats[SB_ADMIN_BROWSER],
				  info->lost[SB_ADMIN_BROWSER], info->late[SB_ADMIN_BROWSER]);
	sb_metrics_sample_add_leg(s, SB_METRICS_LEG_RTP, &info->stats[SB_ADMIN_SIP],
				  info->lost[SB_ADMIN_SIP], info->late[SB_ADMIN_SIP]);
	sb_metrics_sample_add_proc(s, &info->proc[SB_ADMIN_BROWSER]);
	sb_metrics_sample_add_proc(s, &info->proc[SB_ADMIN_SIP]);
}

/* The media counters of /metrics: ended sessions' final counters are
 * kept per worker ("retired"); live calls add their last polled
 * counters at scrape time (feed_media). A call's final counters are at
 * least its last polled ones, so the sums never go down. */
static void retire_media(sb_ops *o, const sb_media_call_info *info)
{
	if (info->worker < 0 || info->worker > 4096)
		return;
	guint w = (guint)info->worker;
	if (w >= o->retired->len)
		g_array_set_size(o->retired, w + 1);
	sb_metrics_media_sample *s = &g_array_index(o->retired, sb_metrics_media_sample, w);
	add_call_legs(s, info);
	sb_metrics_media_update(w, s);
}

static void media_final(const char *call_id, const sb_media_call_info *info,
			void *user_data)
{
	sb_ops *o = user_data;
	retire_media(o, info);
	cdr_pending *p = g_hash_table_lookup(o->pending, call_id);
	if (!p)
		return;
	submit(o, p, info);
	g_hash_table_remove(o->pending, call_id);
}

/* The proxy counts; the registry's counters only go up by deltas. */
static void feed_proxy_counters(sb_ops *o, const sb_proxy_stats *st)
{
	sb_metrics_transactions_add("ws_to_sip", (double)(st->txns_ws_to_sip - o->fed.txns_ws_to_sip));
	sb_metrics_transactions_add("sip_to_ws", (double)(st->txns_sip_to_ws - o->fed.txns_sip_to_ws));
	for (int c = 1; c <= 6; c++)
		sb_metrics_registrations_add(c * 100, (double)(st->register_final[c] -
							       o->fed.register_final[c]));
	o->fed = *st;
}

/* "opus/48000/2" -> "opus" into buf. */
static const char *codec_name(const char *rtpmap, char *buf, size_t size)
{
	g_strlcpy(buf, rtpmap, size);
	buf[strcspn(buf, "/")] = '\0';
	return buf;
}

typedef struct live_walk {
	sb_ops *o;
	GArray *samples;   /* sb_metrics_media_sample per worker */
} live_walk;

static void live_call(const sb_dialog *d, void *ud)
{
	live_walk *w = ud;
	sb_media_call_info m;
	if (!sb_media_anchor_call_info(w->o->deps.media, d->call_id, &m) ||
	    m.worker < 0 || (guint)m.worker >= w->samples->len)
		return;
	add_call_legs(&g_array_index(w->samples, sb_metrics_media_sample, m.worker), &m);
	if (!m.transcoded)
		return;
	char a[32], b[32];
	sb_metrics_sample_add_xcode(&g_array_index(w->samples, sb_metrics_media_sample, m.worker),
		codec_name(m.codec[0], a, sizeof(a)), codec_name(m.codec[1], b, sizeof(b)));
}

/* Per worker: the retired counters plus the live calls' counters and
 * transcoding pairs. */
static void feed_media(sb_ops *o)
{
	guint n = MAX(o->retired->len, sb_worker_pool_size(o->deps.workers));
	if (o->retired->len < n)
		g_array_set_size(o->retired, n);
	live_walk w = { o, g_array_copy(o->retired) };
	sb_proxy_foreach_call(o->deps.proxy, live_call, &w);
	for (guint i = 0; i < n; i++)
		sb_metrics_media_update(i, &g_array_index(w.samples, sb_metrics_media_sample, i));
	g_array_free(w.samples, TRUE);
}

static void collect(sb_metrics_registry *r, void *user_data)
{
	sb_ops *o = user_data;
	sb_proxy_stats st;
	sb_proxy_get_stats(o->deps.proxy, &st);
	feed_proxy_counters(o, &st);
	feed_media(o);
	unsigned regs = sb_registrations_count(sb_proxy_registrations(o->deps.proxy));
	sb_metrics_set_active(st.dialogs, st.transactions, sb_ws_transport_count(),
			      regs, sb_media_anchor_count(o->deps.media));
	for (unsigned i = 0; i < sb_worker_pool_size(o->deps.workers); i++)
		sb_metrics_worker_load(i, sb_worker_load(sb_worker_pool_get(o->deps.workers, i)));
}

/* ---- admin API provider ------------------------------------------------ */

static gint64 rel_ms(gint64 at_us, gint64 start_us)
{
	return at_us ? (at_us - start_us) / 1000 : SB_ADMIN_NEVER;
}

static sb_admin_call *admin_call_of(sb_ops *o, const sb_dialog *d)
{
	g_autofree char *from = party_uri(d->ws_is_caller ? d->ws_party : d->sip_party);
	g_autofree char *to = party_uri(d->ws_is_caller ? d->sip_party : d->ws_party);
	sb_admin_call *c = sb_admin_call_new(d->call_id, from, to);
	g_strlcpy(c->state, d->state == SB_DLG_CONFIRMED ? "answered"
		  : d->state == SB_DLG_TERMINATED ? "ending" : "early", sizeof(c->state));
	g_strlcpy(c->direction, d->ws_is_caller ? "from_browser" : "to_browser",
		  sizeof(c->direction));
	gint64 now = g_get_real_time();
	c->start_unix_ms = d->created_real_us / 1000;
	c->age_ms = (now - d->created_real_us) / 1000;
	sb_media_timeline *t = &c->timeline;
	g_strlcpy(t->local_addr, o->media_addr, sizeof(t->local_addr));
	t->answered_at = rel_ms(d->answered_real_us, d->created_real_us);
	sb_media_call_info m;
	if (sb_media_anchor_call_info(o->deps.media, d->call_id, &m)) {
		c->worker = m.worker;
		c->transcoded = m.transcoded;
		c->stats_age_ms = m.stats_at ? (now - m.stats_at) / 1000 : -1;
		for (int i = 0; i < 2; i++) {
			g_strlcpy(c->leg[i].codec, m.codec[i], sizeof(c->leg[i].codec));
			c->leg[i].stats = m.stats[i];
			c->leg[i].lost = m.lost[i];
			c->leg[i].jitter_ms = m.jitter_ms[i];
			g_strlcpy(c->leg[i].remote, m.remote[i], sizeof(c->leg[i].remote));
			t->first_rtp_in[i] = rel_ms(m.first_rtp_in[i], d->created_real_us);
			t->first_rtp_out[i] = rel_ms(m.first_rtp_out[i], d->created_real_us);
			t->webrtc[i] = m.webrtc[i];
			g_strlcpy(t->sdp_addr[i], m.sdp_addr[i], sizeof(t->sdp_addr[i]));
		}
		t->ice_connected_at = t->dtls_done_at = rel_ms(m.connected_at, d->created_real_us);
		t->ice_failed = m.ice_failed;
		t->dtls_failed = m.dtls_failed;
	}
	return c;
}

typedef struct walk {
	sb_ops *o;
	GPtrArray *out;
	const char *want;
	sb_admin_call *found;
} walk;

static void walk_call(const sb_dialog *d, void *ud)
{
	walk *w = ud;
	if (w->out)
		g_ptr_array_add(w->out, admin_call_of(w->o, d));
	else if (!w->found && !strcmp(d->call_id, w->want))
		w->found = admin_call_of(w->o, d);
}

static int list_calls(GPtrArray *out, void *ud)
{
	walk w = { ud, out, NULL, NULL };
	sb_proxy_foreach_call(((sb_ops *)ud)->deps.proxy, walk_call, &w);
	return 0;
}

static sb_admin_call *get_call(const char *call_id, void *ud)
{
	walk w = { ud, NULL, call_id, NULL };
	sb_proxy_foreach_call(((sb_ops *)ud)->deps.proxy, walk_call, &w);
	return w.found;
}

static int hang_up(const char *call_id, void *ud)
{
	sb_ops *o = ud;
	sb_admin_call *c = get_call(call_id, ud);
	if (!c)
		return -ENOENT;
	sb_admin_call_free(c);
	sb_proxy_end_call(o->deps.proxy, call_id, "hung up by the operator");
	return 0;
}

static void add_registration(const sb_registration *b, void *ud)
{
	GPtrArray *out = ud;
	gint64 left = (b->expires_mono_us - g_get_monotonic_time()) / G_USEC_PER_SEC;
	sb_admin_registration *r = sb_admin_registration_new(b->aor, b->contact,
		b->source, b->user_agent, MAX(left, 0));
	r->registrar_contact = g_strdup(b->alias);
	r->registrar = g_strdup(b->registrar);
	r->connection_id = b->conn_id;
	r->expires_s = b->expires_s;
	r->registered_unix_ms = b->registered_unix_us / 1000;
	g_ptr_array_add(out, r);
}

static int list_registrations(GPtrArray *out, void *ud)
{
	sb_ops *o = ud;
	sb_registrations_foreach(sb_proxy_registrations(o->deps.proxy), add_registration, out);
	return 0;
}

static int drain(void *ud)
{
	sb_ops *o = ud;
	if (sb_proxy_draining(o->deps.proxy))
		return -EALREADY;
	g_message("admin: drain mode on: new calls and registrations get 503");
	sb_proxy_set_draining(o->deps.proxy, true);
	return 0;
}

static int reload(char **error, void *ud)
{
	sb_ops *o = ud;
	return o->deps.reload ? o->deps.reload(error, o->deps.reload_data) : -ENOTSUP;
}

/* ---- lifecycle --------------------------------------------------------- */

sb_ops *sb_ops_new(const sb_ops_deps *deps, GError **err)
{
	sb_ops *o = g_new0(sb_ops, 1);
	o->deps = *deps;
	o->media_addr = g_strdup(deps->media_addr ? deps->media_addr : "");
	if (sb_cdr_open(deps->cdr_path, 0, &o->cdr, err) < 0) {
		g_free(o);
		return NULL;
	}
	if (o->cdr)
		g_info("CDRs written to %s", deps->cdr_path);
	o->pending = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pending_free);
	o->retired = g_array_new(FALSE, TRUE, sizeof(sb_metrics_media_sample));
	sb_metrics_init();
	sb_metrics_set_collector(collect, o);
	sb_proxy_set_call_observer(deps->proxy, call_ended, o);
	sb_media_anchor_set_final_cb(deps->media, media_final, o);
	o->provider = (sb_admin_provider){
		.list_calls = list_calls, .get_call = get_call, .hang_up = hang_up,
		.list_registrations = list_registrations,
		.drain = drain, .reload = reload, .user_data = o,
	};
	return o;
}

void sb_ops_free(sb_ops *o)
{
	if (!o)
		return;
	/* Calls whose media never reported back are written without it. */
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, o->pending);
	while (g_hash_table_iter_next(&it, NULL, &v))
		submit(o, v, NULL);
	g_hash_table_destroy(o->pending);
	g_array_free(o->retired, TRUE);
	sb_cdr_close(o->cdr);
	g_free(o->media_addr);
	sb_metrics_set_collector(NULL, NULL);
	sb_metrics_shutdown();
	g_free(o);
}

int sb_ops_admin(const char *method, const char *path, char **body,
		 const char **content_type, void *ops)
{
	sb_ops *o = ops;
	return sb_admin_handle(&o->provider, method, path, body, content_type);
}

void sb_ops_ws_opened(sb_ops *o)
{
	sb_metrics_ws_opened();
}

void sb_ops_media_failed(sb_ops *o, const char *reason)
{
	bool ice = false;
	const char *label = sb_metrics_media_failure(reason, &ice);
	if (label && ice)
		sb_metrics_ice_failure(label);
	else if (label)
		sb_metrics_dtls_failure(label);
}

/* ---- WebSocket transport: the proxy's handlers, counted ---------------- */

static const char *ws_upgrade(const sb_ws_upgrade *up, char *user, void *ud)
{
	sb_ops *o = ud;
	const char *why = sb_proxy_ws_upgrade(up, user, o->deps.proxy);
	if (why)
		sb_metrics_ws_refused(why);
	return why;
}

static void ws_open(sb_ws_conn *c, void *ud)
{
	sb_ops *o = ud;
	sb_ops_ws_opened(o);
	sb_proxy_ws_open(c, o->deps.proxy);
}

static void ws_too_large(sb_ws_conn *c, const char *head, size_t len, void *ud)
{
	sb_proxy_ws_too_large(c, head, len, ((sb_ops *)ud)->deps.proxy);
}

static void ws_message(sb_ws_conn *c, const char *buf, size_t len, void *ud)
{
	sb_proxy_ws_message(c, buf, len, ((sb_ops *)ud)->deps.proxy);
}

static void ws_close(sb_ws_conn *c, void *ud)
{
	sb_proxy_ws_close(c, ((sb_ops *)ud)->deps.proxy);
}

sb_ws_handlers sb_ops_ws_handlers(void)
{
	return (sb_ws_handlers){ .on_upgrade = ws_upgrade, .on_open = ws_open,
		.on_too_large = ws_too_large, .on_message = ws_message,
		.on_close = ws_close };
}
