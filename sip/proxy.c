/* The proxy, WebSocket side: requests from browsers are checked, routed
 * (RFC 3261 §16.4-16.6) and forwarded through NTA client transactions;
 * their responses come back over the same WebSocket. Also the common
 * parts: dialogs, flows, local replies. Signalling thread only. */
#include "sip/proxy.h"

#include <errno.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/sip_status.h>

#include "common/ip.h"
#include "common/log.h"
#include "sip/proxy_internal.h"

#define SB_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, " \
		 "PRACK, MESSAGE, REFER, SUBSCRIBE, NOTIFY"

/* ---- common helpers ---------------------------------------------------- */

void sb_proxy_ws_send_msg(sb_flow *f, msg_t *msg)
{
	size_t len = 0;
	g_autofree char *s = sb_pmsg_to_string(msg, &len);
	if (!s || sb_ws_conn_send(f->conn, s, len) < 0)
		g_info("ws %" G_GUINT64_FORMAT ": message not sent (connection gone)",
		       sb_ws_conn_id(f->conn));
}

static void nack_remember(sb_proxy *p, const char *branch);

void sb_proxy_ws_reply(sb_proxy *p, sb_flow *f, const sip_t *req, int status,
		       const char *phrase, const char *extra)
{
	/* Every 503 of ours says when to come back (RFC 3261 §21.5.4). */
	if (status == 503 && !extra)
		extra = "Retry-After: 5\r\n";
	g_autofree char *s = sb_pmsg_response_text(req, status, phrase, f->token, extra);
	sb_ws_conn_send(f->conn, s, strlen(s));
	/* The browser will ACK a failed INVITE hop by hop: absorb it. */
	if (status >= 300 && req->sip_request &&
	    req->sip_request->rq_method == sip_method_invite && req->sip_via->v_branch)
		nack_remember(p, req->sip_via->v_branch);
}

sb_dialog *sb_proxy_dialog(sb_proxy *p, const char *call_id)
{
	return call_id ? g_hash_table_lookup(p->dialogs, call_id) : NULL;
}

void sb_proxy_dialog_end(sb_proxy *p, sb_dialog *d)
{
	if (!d)
		return;
	SB_INFO(d->tag, "call ended (%s%s%s)", d->answered_real_us ? "after answer"
		: "before answer", d->end_reason ? ": " : "", d->end_reason ? d->end_reason : "");
	if (p->ended_cb)
		p->ended_cb(d, p->ended_data);
	if (p->hook.call_end)
		p->hook.call_end(p->hook.hook_data, d->call_id);
	sb_proxy_policy_call_end(p, d);
	if (d->flow)
		g_hash_table_remove(d->flow->dialogs, d);
	g_hash_table_remove(p->dialogs, d->call_id);
}

char *sb_proxy_sip_uri(const sb_proxy *p, const sb_sip_peer *peer, const char *user,
		       const char *params, const char *token)
{
	const sb_proxy_listen *l = sb_sip_face_listener(p->sip, p->n_sip, peer);
	if (!l)
		return NULL;
	char host[INET6_ADDRSTRLEN];
	sb_sip_face_host(l, peer, &p->face_fallback, host, sizeof(host));
	bool v6 = strchr(host, ':') != NULL;
	return g_strdup_printf("sip:%s%s%s%s%s:%u;transport=%s%s%s%s",
			       user ? user : "", user ? "@" : "", v6 ? "[" : "",
			       host, v6 ? "]" : "", l->port, l->transport,
			       params ? params : "", token ? ";" SB_FLOW_PARAM "=" : "",
			       token ? token : "");
}

/* RFC 5658 double Record-Route: one entry facing each side, both carrying
 * the flow token so in-dialog requests find the WebSocket again. The top
 * entry faces the next hop. */
int sb_proxy_add_record_routes(sb_proxy *p, msg_t *msg, sip_t *sip, sb_flow *f,
			     const sb_sip_peer *peer, bool toward_sip)
{
	g_autofree char *sipside = sb_proxy_sip_uri(p, peer, NULL, ";lr;r2=on", f->token);
	if (!sipside)
		return -ENOENT;
	g_autofree char *wsside = g_strdup_printf(
		"sip:%s;transport=ws;lr;r2=on;" SB_FLOW_PARAM "=%s", p->ws_host, f->token);
	g_autofree char *first = g_strdup_printf("<%s>", toward_sip ? wsside : sipside);
	g_autofree char *top = g_strdup_printf("<%s>", toward_sip ? sipside : wsside);
	int r = sb_pmsg_push_record_route(msg, sip, first);
	return r < 0 ? r : sb_pmsg_push_record_route(msg, sip, top);
}

/* The listener family a request to next_hop (a URI) must leave by, when
 * its host is an IP literal (sb_sip_stack_tport_ident); NULL: any. */
static const char *hop_ident(const char *next_hop)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	url_t *u = next_hop ? url_hdup(home, URL_STRING_MAKE(next_hop)->us_url) : NULL;
	const char *ident = u ? sb_sip_stack_tport_ident(u->url_host) : NULL;
	su_home_deinit(home);
	return ident;
}

static void timer_clear(GSource **s)
{
	if (*s) {
		g_source_destroy(*s);
		g_source_unref(*s);
		*s = NULL;
	}
}

static void ctxn_free(sb_ctxn *t)
{
	t->proxy->stats.txns_ws_to_sip++;
	timer_clear(&t->timer_c);
	if (t->orq)
		nta_outgoing_destroy(t->orq);
	sb_flow_unref(t->flow);
	g_free(t->call_id);
	g_free(t->branch);
	g_free(t->auth_user);
	g_free(t->timeout_text);
	g_strfreev(t->ws_vias);
	g_free(t);
}

void sb_proxy_stxn_free(sb_stxn *t)
{
	t->proxy->stats.txns_sip_to_ws++;
	if (t->timer) {
		g_source_destroy(t->timer);
		g_source_unref(t->timer);
	}
	if (t->irq)
		nta_incoming_destroy(t->irq);
	if (t->fwd)
		msg_destroy(t->fwd);
	sb_flow_unref(t->flow);
	g_free(t->call_id);
	g_free(t->branch);
	g_free(t);
}

static gboolean nack_expire(gpointer data)
{
	sb_proxy *p = ((gpointer *)data)[0];
	g_hash_table_remove(p->nack, ((gpointer *)data)[1]);
	return G_SOURCE_REMOVE;
}

static void nack_free(gpointer data)
{
	g_free(((gpointer *)data)[1]);
	g_free(data);
}

/* Remember an INVITE branch answered with a failure for 32 s (Timer D
 * on UDP), so that the browser's hop-by-hop ACK is absorbed: NTA has
 * already acknowledged the failure toward the SIP side. */
static void nack_remember(sb_proxy *p, const char *branch)
{
	g_hash_table_add(p->nack, g_strdup(branch));
	gpointer *d = g_new(gpointer, 2);
	d[0] = p;
	d[1] = g_strdup(branch);
	GSource *s = g_timeout_source_new_seconds(32);
	g_source_set_callback(s, nack_expire, d, nack_free);
	g_source_attach(s, g_main_context_get_thread_default());
	g_source_unref(s);
}

/* ---- REGISTER: Path and Contact alias (RFC 3327) ------------------------ */

static int register_rewrite(sb_proxy *p, msg_t *msg, sip_t *sip, sb_flow *f,
			    const sb_sip_peer *peer)
{
	su_home_t *home = msg_home(msg);
	g_autofree char *path = sb_proxy_sip_uri(p, peer, NULL, ";lr;ob", f->token);
	if (!path)
		return -ENOENT;
	g_autofree char *path_hdr = g_strdup_printf("<%s>", path);
	sip_path_t *ph = sip_path_make(home, path_hdr);
	if (!ph || msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)ph) < 0)
		return -ENOMEM;

	/* Registrars that ignore Path would send to the browser's .invalid
	 * Contact; give them an alias on the gateway instead, remembered per
	 * flow and restored on the way back. */
	GPtrArray *fresh = g_ptr_array_new_with_free_func(g_free);
	for (sip_contact_t *m = sip->sip_contact; m; m = m->m_next) {
		if (!m->m_url->url_host) {
			g_ptr_array_add(fresh, g_strdup("*"));
			continue;
		}
		const char *user = m->m_url->url_user ? m->m_url->url_user : "";
		char *orig = url_as_string(home, m->m_url);
		sb_flow_set_contact(f, user, orig);
		g_autofree char *alias = sb_proxy_sip_uri(p, peer, user, NULL, f->token);
		GString *c = g_string_new(NULL);
		g_string_append_printf(c, "%s<%s>", m->m_display ? m->m_display : "", alias);
		for (int i = 0; m->m_params && m->m_params[i]; i++)
			g_string_append_printf(c, ";%s", m->m_params[i]);
		g_ptr_array_add(fresh, g_string_free(c, FALSE));
	}
	while (sip->sip_contact)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_contact);
	for (guint i = 0; i < fresh->len; i++)
		sip_add_make(msg, sip, sip_contact_class, fresh->pdata[i]);
	g_ptr_array_unref(fresh);
	return 0;
}

/* In the registrar's answer, put the browser's own Contact back where the
 * alias of this flow stands, so JsSIP/SIP.js recognise their binding. */
static void register_restore(msg_t *msg, sip_t *sip, sb_flow *f)
{
	su_home_t *home = msg_home(msg);
	char tok[64];
	GPtrArray *fresh = g_ptr_array_new_with_free_func(g_free);
	bool changed = false;
	for (sip_contact_t *m = sip->sip_contact; m; m = m->m_next) {
		const char *orig = NULL;
		if (sb_pmsg_url_token(m->m_url, tok, sizeof(tok)) &&
		    !strcmp(tok, f->token))
			orig = sb_flow_get_contact(f, m->m_url->url_user ? m->m_url->url_user : "");
		if (!orig) {
			g_ptr_array_add(fresh, g_strdup(sip_header_as_string(home, (sip_header_t *)m)));
			continue;
		}
		changed = true;
		GString *c = g_string_new(NULL);
		g_string_append_printf(c, "<%s>", orig);
		for (int i = 0; m->m_params && m->m_params[i]; i++)
			g_string_append_printf(c, ";%s", m->m_params[i]);
		g_ptr_array_add(fresh, g_string_free(c, FALSE));
	}
	if (changed) {
		while (sip->sip_contact)
			sip_header_remove(msg, sip, (sip_header_t *)sip->sip_contact);
		for (guint i = 0; i < fresh->len; i++)
			sip_add_make(msg, sip, sip_contact_class, fresh->pdata[i]);
	}
	g_ptr_array_unref(fresh);
}

/* Operators' view (sip/registrations.h): a 2xx to a REGISTER lists every
 * binding the registrar keeps for the AoR, so this flow's aliases in it
 * are its bindings and the ones left out are gone. Registrars that list
 * no Contact at all are taken at the word of our request. Called before
 * register_restore, while the Contacts still carry our alias. */
static void register_learn(sb_proxy *p, sb_ctxn *t, nta_outgoing_t *orq, const sip_t *sip)
{
	msg_t *req = nta_outgoing_getrequest(orq);
	const sip_t *rq = req ? sip_object(req) : NULL;
	su_home_t home[1] = { SU_HOME_INIT(home) };   /* the URI strings */
	const sip_contact_t *list = sip->sip_contact ? sip->sip_contact : rq ? rq->sip_contact : NULL;
	const sip_expires_t *ex = sip->sip_expires ? sip->sip_expires : rq ? rq->sip_expires : NULL;
	const url_t *ruri = nta_outgoing_request_uri(orq);
	sb_registration_info b = {
		.aor = sip->sip_to ? url_as_string(home, sip->sip_to->a_url) : NULL,
		.source = sb_ws_conn_peer(t->flow->conn), .conn_id = sb_ws_conn_id(t->flow->conn),
		.user_agent = rq && rq->sip_user_agent ? rq->sip_user_agent->g_string : "",
		.registrar = ruri ? url_as_string(home, ruri) : "",
	};
	GPtrArray *keep = g_ptr_array_new();
	char tok[64];
	for (const sip_contact_t *m = list; m && b.aor; m = m->m_next) {
		if (!sb_pmsg_url_token(m->m_url, tok, sizeof(tok)) || strcmp(tok, t->flow->token))
			continue;
		b.contact = sb_flow_get_contact(t->flow, m->m_url->url_user ? m->m_url->url_user : "");
		b.alias = url_as_string(home, m->m_url);
		b.expires_s = m->m_expires ? (unsigned)strtoul(m->m_expires, NULL, 10)
			    : ex ? (unsigned)ex->ex_delta : 3600;
		if (b.contact && sb_registrations_update(p->regs, &b, g_get_real_time(),
							  g_get_monotonic_time()) == 0)
			g_ptr_array_add(keep, (char *)b.contact);
	}
	if (b.aor)
		sb_registrations_prune(p->regs, b.conn_id, b.aor,
				       (const char *const *)keep->pdata, keep->len);
	g_ptr_array_free(keep, TRUE);
	su_home_deinit(home);
	if (req)
		msg_destroy(req);
}

/* ---- responses from SIP to the browser ----------------------------------- */

typedef struct resp_ctx {
	sb_flow *flow;
	char *call_id;        /* owned */
} resp_ctx;

static void resp_ctx_free(gpointer d)
{
	resp_ctx *c = d;
	sb_flow_unref(c->flow);
	g_free(c->call_id);
	g_free(c);
}

static void refuse_answered(sb_proxy *p, const char *call_id, const sip_t *sip,
			    int code, const char *phrase);

static void send_response_to_ws(sb_proxy *p, msg_t *msg, int status, void *ctx)
{
	resp_ctx *c = ctx;
	if (status < 0) {
		sip_t *sip = sip_object(msg);
		const char *phrase;
		int code = sb_proxy_sdp_status(status, &phrase);
		if (status == -ECANCELED)   /* the call ended meanwhile */
			g_message("call gone while the SDP of a %d response was processed: relaying %d",
				  sip->sip_status->st_status, code);
		else
			g_warning("media refused the SDP of a %d response (%s): relaying %d",
				  sip->sip_status->st_status, g_strerror(-status), code);
		if (sip->sip_status->st_status < 300 &&
		    sip->sip_cseq->cs_method == sip_method_invite && status != -ECANCELED)
			refuse_answered(p, c->call_id, sip, code, phrase);
		sip_status_t *st = sip_status_create(msg_home(msg), code, phrase, NULL);
		msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_status,
				   (msg_header_t *)st);
		sb_pmsg_set_body(msg, sip, NULL, 0);
	}
	sb_proxy_ws_send_msg(c->flow, msg);
	msg_destroy(msg);
}

static void ctxn_track_dialog(sb_proxy *p, sb_ctxn *t, sip_t *sip, int status)
{
	sb_dialog *d = sb_proxy_dialog(p, t->call_id);
	if (!d || t->method != sip_method_invite)
		return;
	sb_dialog_learn(d, sip, false);
	if (status >= 200)
		d->invite_orq = NULL;
	if (status >= 200 && status < 300) {
		sb_dialog_answered(d);
	} else if (status >= 300 && d->state == SB_DLG_EARLY) {
		d->state = SB_DLG_TERMINATED;
		d->final_status = status;
		sb_dialog_set_end(d, SB_SIDE_SIP, false, "rejected");
	}
}

/* A failure NTA made up itself (no answer: 408 after Timer B/F; ICMP
 * unreachable or no route: 503) never came from the network: its status
 * line was built in memory and has no encoded text yet (h_data), unlike a
 * parsed one. Tell the browser why in a Reason header (RFC 3326), so it
 * can show more than a bare code. */
static void internal_reason(msg_t *msg, sip_t *sip, int status)
{
	if (status < 300 || sip->sip_reason || sip->sip_status->st_common->h_data)
		return;
	const char *text = status == 408 ? "no response from the next hop"
			 : status == 503 ? "next hop unreachable"
			 : sip->sip_status->st_phrase;
	g_autofree char *r = g_strdup_printf("SIP;cause=%d;text=\"%s\"", status, text);
	sip_add_make(msg, sip, sip_reason_class, r);
}

/* RFC 3261 §16.7 step 3: the response goes back with the Vias of the
 * request as the browser sent it. Removing our own top Via is not
 * enough: responses NTA builds itself (487 after our CANCEL, 408, 503)
 * carry a different Via list. */
static void restore_vias(msg_t *msg, sip_t *sip, char **vias)
{
	if (!vias || !vias[0]) {
		sb_pmsg_pop_via(msg, sip);
		return;
	}
	while (sip->sip_via)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_via);
	for (int i = 0; vias[i]; i++)
		sip_add_make(msg, sip, sip_via_class, vias[i]);
}

/* RFC 3261 §16.8 Timer C fired: the callee rang too long without a final
 * answer. CANCEL downstream, answer 408 to the browser ourselves, and end
 * the call; the 487 that follows is dropped. */
static gboolean ctxn_timer_c(gpointer data)
{
	sb_ctxn *t = data;
	sb_proxy *p = t->proxy;
	g_clear_pointer(&t->timer_c, g_source_unref);
	if (t->final || t->timed_out)
		return G_SOURCE_REMOVE;
	sb_dialog *d = sb_proxy_dialog(p, t->call_id);
	SB_NOTICE(d ? d->tag : "-", "Timer C (%u ms): no final answer, CANCEL and 408",
		  p->timer_c_ms);
	t->timed_out = true;
	/* CANCEL only what has rung (RFC 3261 §9.1); a transaction that
	 * never got a provisional is simply dropped, as if it got 408. */
	if (t->orq && t->provisional)
		nta_outgoing_tcancel(t->orq, NULL, NULL,
				     SIPTAG_REASON_STR("SIP;cause=408;text=\"Timer C\""), TAG_END());
	if (t->timeout_text) {
		sb_ws_conn_send(t->flow->conn, t->timeout_text, strlen(t->timeout_text));
		nack_remember(p, t->branch);   /* absorb the browser's ACK */
	}
	if (d && d->state == SB_DLG_EARLY) {
		d->invite_orq = NULL;
		d->state = SB_DLG_TERMINATED;
		sb_proxy_dialog_end(p, d);
	}
	if (!t->provisional)
		g_hash_table_remove(p->ctxns, t->branch);   /* frees t */
	return G_SOURCE_REMOVE;
}

static void ctxn_arm_timer_c(sb_ctxn *t)
{
	timer_clear(&t->timer_c);
	t->timer_c = g_timeout_source_new(t->proxy->timer_c_ms);
	g_source_set_callback(t->timer_c, ctxn_timer_c, t, NULL);
	g_source_attach(t->timer_c, g_main_context_get_thread_default());
}

static int ctxn_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
			 sip_t const *sip_in)
{
	sb_ctxn *t = (sb_ctxn *)magic;
	sb_proxy *p = t->proxy;
	int status = nta_outgoing_status(orq);
	msg_t *msg = nta_outgoing_getresponse(orq);
	if (!msg)
		return 0;
	sip_t *sip = sip_object(msg);
	if (t->timed_out) {
		/* Timer C answered the browser already (408). */
		msg_destroy(msg);
		if (status >= 200)
			g_hash_table_remove(p->ctxns, t->branch);
		return 0;
	}
	if (status < 200)
		t->provisional = true;
	if (t->method == sip_method_invite && status > 100 && status < 200)
		ctxn_arm_timer_c(t);   /* reset by every provisional */
	else if (status >= 200)
		timer_clear(&t->timer_c);
	/* RFC 3261 §16.7: 100 is hop-by-hop; we sent our own. */
	if (status == 100) {
		msg_destroy(msg);
		return 0;
	}
	sb_proxy_policy_auth_failed(t, sip);
	internal_reason(msg, sip, status);
	restore_vias(msg, sip, t->ws_vias);
	if (t->method == sip_method_register && status >= 200)
		p->stats.register_final[MIN(status / 100, 6)]++;
	/* a 2xx after the browser left binds a WebSocket that is gone */
	if (t->method == sip_method_register && status >= 200 && status < 300 &&
	    sb_ws_conn_is_open(t->flow->conn))
		register_learn(p, t, orq, sip);
	if (t->method == sip_method_register && status < 300)
		register_restore(msg, sip, t->flow);
	ctxn_track_dialog(p, t, sip, status);
	sb_dialog *d = sb_proxy_dialog(p, t->call_id);

	resp_ctx *rc = g_new0(resp_ctx, 1);
	rc->flow = sb_flow_ref(t->flow);
	rc->call_id = g_strdup(t->call_id);
	sb_proxy_sdp(p, t->method == sip_method_invite ? d : NULL, msg, SB_SIDE_SIP,
		     send_response_to_ws, rc, resp_ctx_free);

	if (status >= 200) {
		if (t->method == sip_method_invite && status >= 300) {
			nack_remember(p, t->branch);
			if (d && d->state == SB_DLG_TERMINATED)
				sb_proxy_dialog_end(p, d);
		}
		if (t->method == sip_method_bye && d)
			sb_proxy_dialog_end(p, d);
		/* Frees t, which destroys the orq: NTA allows that from
		 * inside its own callback. */
		g_hash_table_remove(p->ctxns, t->branch);
	}
	return 0;
}

/* ---- requests from the browser ---------------------------------------- */

typedef struct fwd_ctx {
	sb_flow *flow;
	char *next_hop;
	char *branch;
	char *call_id;
	sip_method_t method;
	bool had_credentials;
	char *auth_user;
} fwd_ctx;

static void fwd_ctx_free(gpointer data)
{
	fwd_ctx *c = data;
	sb_flow_unref(c->flow);
	g_free(c->next_hop);
	g_free(c->branch);
	g_free(c->call_id);
	g_free(c->auth_user);
	g_free(c);
}

static void forward_to_sip(sb_proxy *p, msg_t *msg, int status, void *ctx)
{
	fwd_ctx *c = ctx;
	sip_t *sip = sip_object(msg);
	if (status < 0) {
		const char *phrase;
		int code = sb_proxy_sdp_status(status, &phrase);
		sb_proxy_ws_reply(p, c->flow, sip, code, phrase, NULL);
		msg_destroy(msg);
		sb_dialog *d = sb_proxy_dialog(p, c->call_id);
		if (d && d->state == SB_DLG_EARLY && c->method == sip_method_invite)
			sb_proxy_dialog_end(p, d);
		return;
	}
	if (c->method == sip_method_ack) {
		/* End-to-end ACK for a 2xx: no transaction (RFC 3261 §16.11). */
		const char *ident = hop_ident(c->next_hop);
		nta_outgoing_t *o = nta_outgoing_mcreate(p->agent, NULL, NULL,
			URL_STRING_MAKE(c->next_hop), msg,
			TAG_IF(ident, TPTAG_IDENT(ident)), TAG_END());
		if (!o)
			msg_destroy(msg);
		else if (o != (nta_outgoing_t *)-1)
			nta_outgoing_destroy(o);
		return;
	}
	sb_ctxn *t = g_new0(sb_ctxn, 1);
	t->proxy = p;
	t->branch = g_strdup(c->branch);
	t->flow = sb_flow_ref(c->flow);
	t->method = c->method;
	t->call_id = g_strdup(c->call_id);
	t->had_credentials = c->had_credentials;
	t->auth_user = g_strdup(c->auth_user);
	g_autofree char *keep = sb_pmsg_response_text(sip, 503, "Service Unavailable",
						      NULL, "Reason: SIP;cause=503;text=\"next hop unreachable\"\r\n");
	GPtrArray *vias = g_ptr_array_new();
	for (sip_via_t *v = sip->sip_via; v; v = v->v_next)
		g_ptr_array_add(vias, g_strdup(sip_header_as_string(msg_home(msg), (sip_header_t *)v)));
	g_ptr_array_add(vias, NULL);
	t->ws_vias = (char **)g_ptr_array_free(vias, FALSE);
	g_autofree char *timeout = c->method != sip_method_invite ? NULL :
		sb_pmsg_response_text(sip, 408, "Request Timeout (no final answer)", c->flow->token,
				      "Reason: SIP;cause=408;text=\"Timer C\"\r\n");
	const char *ident = hop_ident(c->next_hop);
	t->orq = nta_outgoing_mcreate(p->agent, ctxn_response, (nta_outgoing_magic_t *)t,
				      URL_STRING_MAKE(c->next_hop), msg,
				      TAG_IF(ident, TPTAG_IDENT(ident)), TAG_END());
	if (!t->orq) {
		g_warning("nta_outgoing_mcreate() failed toward %s", c->next_hop);
		msg_destroy(msg);
		sb_ws_conn_send(c->flow->conn, keep, strlen(keep));
		ctxn_free(t);
		sb_dialog *d = sb_proxy_dialog(p, c->call_id);
		if (d && d->state == SB_DLG_EARLY && c->method == sip_method_invite)
			sb_proxy_dialog_end(p, d);
		return;
	}
	g_hash_table_replace(p->ctxns, t->branch, t);
	if (c->method == sip_method_invite) {
		t->timeout_text = g_steal_pointer(&timeout);
		ctxn_arm_timer_c(t);
	}
	sb_dialog *d = sb_proxy_dialog(p, c->call_id);
	if (d && c->method == sip_method_invite && d->state == SB_DLG_EARLY)
		d->invite_orq = t->orq;
}

/* RFC 3261 §9.2 at a proxy: answer the browser's CANCEL ourselves and
 * cancel our own client transaction downstream. */
static void ws_cancel(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip)
{
	sb_ctxn *t = g_hash_table_lookup(p->ctxns, sip->sip_via->v_branch ? sip->sip_via->v_branch : "");
	if (!t || t->method != sip_method_invite) {
		sb_proxy_ws_reply(p, f, sip, 481, "Call/Transaction Does Not Exist", NULL);
	} else {
		sb_proxy_ws_reply(p, f, sip, 200, "OK", NULL);
		/* The browser's Reason (RFC 3326) tells the callee why,
		 * e.g. "answered elsewhere": pass it on. */
		if (t->orq)
			nta_outgoing_tcancel(t->orq, NULL, NULL,
					     TAG_IF(sip->sip_reason, SIPTAG_REASON(sip->sip_reason)),
					     TAG_END());
	}
	msg_destroy(msg);
}

static bool is_dialog_creating(sip_method_t m)
{
	return m == sip_method_invite || m == sip_method_subscribe ||
	       m == sip_method_refer || m == sip_method_notify;
}

/* AF_INET6 or AF_INET when the URI's host is an IP literal, else 0
 * (a name: the media anchor keeps media.address's family). */
static int url_family(const url_t *u)
{
	char host[64];
	const char *h = u ? u->url_host : NULL;
	if (!h)
		return 0;
	size_t n = strlen(h);
	if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	return sb_ip_family(host);
}

/* Where an in-dialog request from the browser goes: after our own Route
 * entries (which must carry this flow's token), the next Route, else the
 * Request-URI (RFC 3261 §16.12 loose routing). */
static char *in_dialog_next_hop(msg_t *msg, sip_t *sip, sb_flow *f, bool *ok)
{
	char tok[64] = "";
	bool ours = sb_pmsg_pop_own_routes(msg, sip, tok, sizeof(tok));
	/* Every dialog set up through the gateway carries its Record-Route
	 * with this flow's token; anything else is not ours to relay (and
	 * would let a browser reach any host it names). */
	*ok = ours && !strcmp(tok, f->token);
	su_home_t *home = msg_home(msg);
	const url_t *u = sip->sip_route ? sip->sip_route->r_url : sip->sip_request->rq_url;
	char *s = url_as_string(home, u);
	char *r = g_strdup(s);
	su_free(home, s);
	return r;
}

/* Hand the call-limit count to the dialog that ends it; with no dialog
 * (the request was refused) give it back at once. */
static void attach_limit_key(sb_proxy *p, sb_dialog *d, char **key)
{
	if (!*key)
		return;
	if (d && !d->limit_key) {
		d->limit_key = g_steal_pointer(key);
		return;
	}
	sb_dialog tmp = { .limit_key = g_steal_pointer(key) };
	sb_proxy_policy_call_end(p, &tmp);
}

/* What a browser's request gets before any routing: a local service's
 * answer, the drain's or the call policy's refusal, a loop's 483, or
 * nothing for an ACK NTA already sent. True when the request was taken
 * here (msg consumed); *limit_key is the call's policy key, if counted. */
static bool ws_request_local(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip,
			     bool in_dialog, char **limit_key)
{
	sip_method_t m = sip->sip_request->rq_method;
	const char *call_id = sip->sip_call_id->i_id;
	char svc[96];
	sb_dialog *ld = in_dialog ? sb_proxy_dialog(p, call_id) : NULL;
	if (ld && ld->service && ld->flow == f) {
		sb_uas_ws_request(p, f, msg, sip, ld->service, ld);
		return true;
	}
	if (p->draining && !in_dialog &&
	    (m == sip_method_invite || m == sip_method_register)) {
		sb_proxy_ws_reply(p, f, sip, 503, "Service Unavailable (draining)", NULL);
		msg_destroy(msg);
		return true;
	}
	if (!in_dialog && m == sip_method_invite && !sb_proxy_dialog(p, call_id)) {
		const char *phrase;
		int code = sb_proxy_policy_call(p, f, sip, limit_key, &phrase);
		if (code) {
			sb_proxy_ws_reply(p, f, sip, code, phrase, NULL);
			msg_destroy(msg);
			return true;
		}
	}
	if (!in_dialog && sb_uas_service_of(p, sip, svc, sizeof(svc))) {
		g_autofree char *cid = g_strdup(call_id);
		sb_uas_ws_request(p, f, msg, sip, svc, NULL);
		attach_limit_key(p, sb_proxy_dialog(p, cid), limit_key);
		return true;
	}
	if (m == sip_method_ack && g_hash_table_contains(p->nack, sip->sip_via->v_branch ? sip->sip_via->v_branch : "")) {
		msg_destroy(msg);   /* hop-by-hop ACK of a failure: NTA sent its own */
		return true;
	}
	if (sb_pmsg_max_forwards(msg, sip) == -ELOOP) {
		if (m != sip_method_ack)
			sb_proxy_ws_reply(p, f, sip, 483, "Too Many Hops", NULL);
		msg_destroy(msg);
		return true;
	}
	return false;
}

/* Where a browser's request goes: its route set in a dialog, else
 * route.outbound_proxy. NULL when it was answered or dropped instead
 * (msg consumed): a foreign dialog, a stray ACK, OPTIONS to the gateway
 * itself, no outbound proxy. An INFO may be taken as DTMF on the way. */
static char *ws_request_route(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip,
			      bool in_dialog)
{
	sip_method_t m = sip->sip_request->rq_method;
	if (in_dialog) {
		bool ok;
		char *next_hop = in_dialog_next_hop(msg, sip, f, &ok);
		if (!ok) {
			g_free(next_hop);
			if (m != sip_method_ack)
				sb_proxy_ws_reply(p, f, sip, 403, "Forbidden (not a dialog through this gateway)", NULL);
			msg_destroy(msg);
			return NULL;
		}
		/* DTMF INFO may become RFC 4733 toward SIP (route.dtmf) */
		if (m == sip_method_info && sb_proxy_info_intercept(p, f, msg, sip)) {
			g_free(next_hop);
			return NULL;
		}
		return next_hop;
	}
	if (m == sip_method_ack) {
		msg_destroy(msg);  /* an ACK outside any dialog: nothing to do */
		return NULL;
	}
	if (m == sip_method_options && !sip->sip_request->rq_url->url_user) {
		sb_proxy_ws_reply(p, f, sip, 200, "OK", "Allow: " SB_ALLOW "\r\n"
				  "Accept: application/sdp\r\n");
		msg_destroy(msg);
		return NULL;
	}
	if (!*p->outbound_proxy) {
		sb_proxy_ws_reply(p, f, sip, 404, "Not Found (no route.outbound_proxy)", NULL);
		msg_destroy(msg);
		return NULL;
	}
	return g_strdup(p->outbound_proxy);
}

/* A browser's new INVITE starts a dialog (100 Trying first); a second
 * one with the same Call-ID is a loop (482, msg consumed, false). */
static bool ws_request_dialog(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip,
			      const url_t *next_url, const char *next_hop,
			      char **limit_key, sb_dialog **out)
{
	const char *call_id = sip->sip_call_id->i_id;
	sb_dialog *d = sb_proxy_dialog(p, call_id);
	if (sip->sip_request->rq_method == sip_method_invite && !sip->sip_to->a_tag) {
		if (d) {
			sb_proxy_ws_reply(p, f, sip, 482, "Loop Detected", NULL);
			msg_destroy(msg);
			return false;
		}
		sb_proxy_ws_reply(p, f, sip, 100, "Trying", NULL);
		d = sb_dialog_new(call_id, f, true);
		d->sip_family = url_family(next_url);
		g_hash_table_insert(p->dialogs, d->call_id, d);
		g_hash_table_add(f->dialogs, d);
		SB_INFO(d->tag, "INVITE from browser %s to %s via %s",
			sb_ws_conn_peer(f->conn), sip->sip_request->rq_url->url_user ?
			sip->sip_request->rq_url->url_user : "", next_hop);
		attach_limit_key(p, d, limit_key);
	}
	if (d && d->flow == f)
		sb_dialog_learn(d, sip, true);
	if (d && sip->sip_request->rq_method == sip_method_bye) {
		d->state = SB_DLG_TERMINATED;
		sb_dialog_set_end(d, SB_SIDE_WS, false, "BYE");
	}
	*out = d;
	return true;
}

static void ws_request(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip)
{
	sip_method_t m = sip->sip_request->rq_method;
	bool in_dialog = sip->sip_to->a_tag != NULL;
	p->stats.requests_ws++;

	if (m == sip_method_cancel) {
		ws_cancel(p, f, msg, sip);
		return;
	}
	g_autofree char *limit_key = NULL;
	if (ws_request_local(p, f, msg, sip, in_dialog, &limit_key))
		return;
	g_autofree char *next_hop = ws_request_route(p, f, msg, sip, in_dialog);
	if (!next_hop)
		return;
	url_t *next_url = url_hdup(msg_home(msg), URL_STRING_MAKE(next_hop)->us_url);
	sb_sip_peer peer;
	sb_sip_peer_from_url(next_url, &peer);
	if (!in_dialog && is_dialog_creating(m))
		sb_proxy_add_record_routes(p, msg, sip, f, &peer, true);
	if (m == sip_method_register)
		register_rewrite(p, msg, sip, f, &peer);
	sb_dialog *d;
	if (!ws_request_dialog(p, f, msg, sip, next_url, next_hop, &limit_key, &d))
		return;

	fwd_ctx *c = g_new0(fwd_ctx, 1);
	c->flow = sb_flow_ref(f);
	c->next_hop = g_steal_pointer(&next_hop);
	c->branch = g_strdup(sip->sip_via->v_branch ? sip->sip_via->v_branch : "");
	c->call_id = g_strdup(sip->sip_call_id->i_id);
	c->method = m;
	c->had_credentials = sip->sip_authorization || sip->sip_proxy_authorization;
	c->auth_user = g_strdup(sip->sip_from->a_url->url_user);
	attach_limit_key(p, NULL, &limit_key);   /* a counted call that got no dialog */
	sb_proxy_sdp(p, d && d->flow == f ? d : NULL, msg, SB_SIDE_WS, forward_to_sip, c,
		     fwd_ctx_free);
}

void sb_proxy_ws_message(sb_ws_conn *c, const char *buf, size_t len, void *proxy)
{
	sb_proxy *p = proxy;
	sb_flow *f = sb_ws_conn_get_data(c);
	if (!f)
		return;
	/* RFC 5626 §3.5.1 keep-alive: a bare CRLF CRLF gets CRLF back. */
	size_t crlf = 0;
	while (crlf < len && crlf < 4 && (buf[crlf] == '\r' || buf[crlf] == '\n'))
		crlf++;
	if (len <= 4 && crlf == len) {
		if (len == 4)
			sb_ws_conn_send(c, "\r\n", 2);
		return;
	}
	const char *why;
	msg_t *msg = sb_pmsg_parse(buf, len, &why);
	if (!msg) {
		p->stats.bad_messages++;
		msg_t *raw = msg_make(sip_default_mclass(), 0, buf, len);
		sip_t *rs = raw ? sip_object(raw) : NULL;
		if (rs && rs->sip_request && rs->sip_via && rs->sip_from && rs->sip_to &&
		    rs->sip_call_id && rs->sip_cseq &&
		    rs->sip_request->rq_method != sip_method_ack) {
			g_autofree char *phrase = g_strdup_printf("Bad Request (%s)", why);
			sb_proxy_ws_reply(p, f, rs, 400, phrase, NULL);
		}
		g_message("ws %" G_GUINT64_FORMAT " %s: dropped bad message: %s",
			  sb_ws_conn_id(c), sb_ws_conn_peer(c), why);
		if (raw)
			msg_destroy(raw);
		return;
	}
	sip_t *sip = sip_object(msg);
	if (sip->sip_request && !sb_proxy_policy_rate(p, f)) {
		msg_destroy(msg);   /* over the message rate: dropped, logged once a second */
		return;
	}
	if (sip->sip_request)
		ws_request(p, f, msg, sip);
	else
		sb_proxy_ws_response(p, f, msg, sip);
}

void sb_proxy_ws_too_large(sb_ws_conn *c, const char *head, size_t len, void *proxy)
{
	sb_proxy *p = proxy;
	sb_flow *f = sb_ws_conn_get_data(c);
	msg_t *raw = f ? msg_make(sip_default_mclass(), 0, head, len) : NULL;
	sip_t *rs = raw ? sip_object(raw) : NULL;
	p->stats.bad_messages++;
	if (rs && rs->sip_request && rs->sip_via && rs->sip_from && rs->sip_to &&
	    rs->sip_call_id && rs->sip_cseq && rs->sip_request->rq_method != sip_method_ack)
		sb_proxy_ws_reply(p, f, rs, 513, "Message Too Large", NULL);
	if (raw)
		msg_destroy(raw);
}

void sb_proxy_ws_open(sb_ws_conn *c, void *proxy)
{
	sb_flow *f = sb_flow_new(c);
	sb_ws_conn_set_data(c, f);
}

/* An in-dialog request the gateway makes toward SIP on the browser's
 * behalf (its text from dialog.c, NULL: not known well enough). */
static bool send_to_sip(sb_proxy *p, const char *text, const char *next)
{
	msg_t *m = text ? msg_make(sip_default_mclass(), 0, text, strlen(text)) : NULL;
	if (!m)
		return false;
	const char *ident = hop_ident(next);
	nta_outgoing_t *o = nta_outgoing_mcreate(p->agent, NULL, NULL,
		URL_STRING_MAKE(next), m, TAG_IF(ident, TPTAG_IDENT(ident)), TAG_END());
	if (!o)
		msg_destroy(m);
	else if (o != (nta_outgoing_t *)-1)
		nta_outgoing_destroy(o);
	return o != NULL;
}

static void end_dialog_of_closed_flow(sb_proxy *p, sb_dialog *d, const char *reason)
{
	if (d->state == SB_DLG_EARLY && d->ws_is_caller && d->invite_orq) {
		SB_INFO(d->tag, "browser gone before answer: CANCEL toward SIP");
		nta_outgoing_tcancel(d->invite_orq, NULL, NULL,
				     SIPTAG_REASON_STR(reason), TAG_END());
		d->state = SB_DLG_TERMINATED;
		return;  /* the 487 ends the dialog */
	}
	if (d->state == SB_DLG_CONFIRMED) {
		g_autofree char *next = NULL;
		g_autofree char *bye = sb_dialog_bye_text(d, reason, &next);
		if (bye)
			SB_INFO(d->tag, "BYE toward SIP (%s)", next);
		if (!send_to_sip(p, bye, next))
			SB_WARN(d->tag, "the dialog is not known well enough for a BYE toward SIP");
	}
	sb_proxy_dialog_end(p, d);
}

/* SIP answered a browser's INVITE with an SDP the media refused (no
 * common codec, say): the browser gets the error instead, so the gateway
 * ends the SIP side itself rather than leave a phone holding a call
 * nobody is on: after a 2xx, its own ACK then a BYE with the reason
 * (RFC 3261 §13.2.2.4); after a 1xx, a CANCEL. */
static void refuse_answered(sb_proxy *p, const char *call_id, const sip_t *sip,
			    int code, const char *phrase)
{
	sb_dialog *d = call_id ? sb_proxy_dialog(p, call_id) : NULL;
	if (!d || !d->ws_is_caller || d->state == SB_DLG_TERMINATED)
		return;
	bool answered = d->state == SB_DLG_CONFIRMED;
	SB_NOTICE(d->tag, "SIP's %s answer refused (%d %s): %s toward SIP",
		  answered ? "final" : "early", code, phrase, answered ? "ACK and BYE" : "CANCEL");
	if (answered) {
		g_autofree char *next = NULL;
		g_autofree char *ack = sb_dialog_ack_text(d, sip->sip_cseq->cs_seq, &next);
		send_to_sip(p, ack, next);
	}
	sb_dialog_set_end(d, SB_SIDE_WS, true, phrase);
	g_autofree char *reason = g_strdup_printf("SIP;cause=%d;text=\"%s\"", code, phrase);
	end_dialog_of_closed_flow(p, d, reason);
}

void sb_proxy_ws_close(sb_ws_conn *c, void *proxy)
{
	sb_proxy *p = proxy;
	sb_flow *f = sb_ws_conn_get_data(c);
	if (!f)
		return;
	sb_ws_conn_set_data(c, NULL);
	sb_flow_close(f);
	sb_proxy_policy_ws_closed(p, f);
	/* its aliases stop resolving: the registrar's bindings are dead */
	sb_registrations_remove_conn(p->regs, sb_ws_conn_id(c));
	const char *reason = "SIP;cause=480;text=\"WebSocket closed\"";
	GHashTableIter di;
	gpointer dv;
	g_hash_table_iter_init(&di, f->dialogs);
	while (g_hash_table_iter_next(&di, &dv, NULL))
		sb_dialog_set_end(dv, SB_SIDE_WS, false, "WebSocket closed");
	/* Dialogs first: ending one removes it from f->dialogs. */
	GList *ds = g_hash_table_get_keys(f->dialogs);
	for (GList *l = ds; l; l = l->next)
		end_dialog_of_closed_flow(p, l->data, reason);
	g_list_free(ds);
	/* Requests from SIP still waiting for this browser get 480. */
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, p->stxns);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		sb_stxn *t = v;
		if (t->flow != f)
			continue;
		if (t->irq && !t->final)
			nta_incoming_treply(t->irq, 480, "Temporarily Unavailable (WebSocket closed)",
					    SIPTAG_REASON_STR(reason), TAG_END());
		g_hash_table_iter_remove(&it);
	}
	sb_flow_unref(f);
}

/* ---- lifecycle ---------------------------------------------------------- */

sb_proxy *sb_proxy_new(nta_agent_t *agent, const sb_proxy_config *cfg)
{
	sb_proxy *p = g_new0(sb_proxy, 1);
	p->agent = agent;
	p->outbound_proxy = g_strdup(cfg->outbound_proxy ? cfg->outbound_proxy : "");
	p->n_sip = cfg->n_sip;
	p->sip = g_new0(sb_proxy_listen, cfg->n_sip ? cfg->n_sip : 1);
	for (unsigned i = 0; i < cfg->n_sip; i++) {
		p->sip[i].transport = g_strdup(cfg->sip[i].transport);
		p->sip[i].host = g_strdup(cfg->sip[i].host);
		p->sip[i].port = cfg->sip[i].port;
	}
	p->face_v4 = g_strdup(cfg->face_fallback.v4 ? cfg->face_fallback.v4 : "");
	p->face_v6 = g_strdup(cfg->face_fallback.v6 ? cfg->face_fallback.v6 : "");
	p->face_fallback = (sb_sip_face_fallback){ p->face_v4, p->face_v6 };
	p->ws_host = g_strdup(cfg->ws_host ? cfg->ws_host : "sipbridge.invalid");
	p->svc_echo = g_strdup(cfg->svc_echo ? cfg->svc_echo : "");
	p->svc_conf_prefix = g_strdup(cfg->svc_conf_prefix ? cfg->svc_conf_prefix : "");
	p->ctxns = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 (GDestroyNotify)ctxn_free);
	p->stxns = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 (GDestroyNotify)sb_proxy_stxn_free);
	p->dialogs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   (GDestroyNotify)sb_dialog_free);
	p->nack = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p->regs = sb_registrations_new();
	/* Test hook: SB_TIMER_C_MS shortens Timer C (RFC 3261 §16.8, > 3 min
	 * in service) so system tests can see it fire. Not a config key. */
	p->timer_c_ms = 180000;
	const char *tc = g_getenv("SB_TIMER_C_MS");
	if (tc && g_ascii_strtoull(tc, NULL, 10) > 0)
		p->timer_c_ms = (unsigned)MIN(g_ascii_strtoull(tc, NULL, 10), 600000);
	return p;
}

void sb_proxy_free(sb_proxy *p)
{
	if (!p)
		return;
	g_hash_table_destroy(p->ctxns);
	g_hash_table_destroy(p->stxns);
	g_hash_table_destroy(p->dialogs);
	g_hash_table_destroy(p->nack);
	sb_registrations_free(p->regs);
	if (p->limits)
		sb_limits_free(p->limits);
	for (unsigned i = 0; i < p->n_sip; i++) {
		g_free((char *)p->sip[i].transport);
		g_free((char *)p->sip[i].host);
	}
	g_free(p->sip);
	g_free(p->outbound_proxy);
	g_free(p->ws_host);
	g_free(p->face_v4);
	g_free(p->face_v6);
	g_free(p->svc_echo);
	g_free(p->svc_conf_prefix);
	g_free(p);
}

void sb_proxy_set_outbound(sb_proxy *p, const char *outbound_proxy)
{
	g_free(p->outbound_proxy);
	p->outbound_proxy = g_strdup(outbound_proxy ? outbound_proxy : "");
}

void sb_proxy_set_services(sb_proxy *p, const char *echo, const char *conf_prefix)
{
	g_free(p->svc_echo);
	g_free(p->svc_conf_prefix);
	p->svc_echo = g_strdup(echo ? echo : "");
	p->svc_conf_prefix = g_strdup(conf_prefix ? conf_prefix : "");
}

void sb_proxy_set_sdp_hook(sb_proxy *p, const sb_sdp_hook *hook)
{
	p->hook = *hook;
}

/* BYE toward the browser over its WebSocket: no transaction is kept, the
 * browser's 200 is absorbed as a response with an unknown branch. */
static void bye_to_ws(sb_proxy *p, sb_dialog *d, const char *reason)
{
	if (!sb_ws_conn_is_open(d->flow->conn))
		return;
	char branch[40];
	sb_pmsg_branch(branch, sizeof(branch));
	g_autofree char *via = g_strdup_printf("SIP/2.0/%s %s;branch=%s",
		sb_ws_conn_secure(d->flow->conn) ? "WSS" : "WS", p->ws_host, branch);
	g_autofree char *bye = sb_dialog_bye_ws_text(d, via, reason);
	if (bye) {
		SB_INFO(d->tag, "BYE toward the browser");
		sb_ws_conn_send(d->flow->conn, bye, strlen(bye));
	}
}

void sb_proxy_set_call_observer(sb_proxy *p, sb_proxy_call_ended_cb cb, void *user_data)
{
	p->ended_cb = cb;
	p->ended_data = user_data;
}

void sb_proxy_foreach_call(sb_proxy *p, void (*fn)(const sb_dialog *d, void *ud), void *ud)
{
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, p->dialogs);
	while (g_hash_table_iter_next(&it, NULL, &v))
		fn(v, ud);
}

void sb_proxy_set_draining(sb_proxy *p, bool draining)
{
	p->draining = draining;
}

bool sb_proxy_draining(const sb_proxy *p)
{
	return p->draining;
}

void sb_proxy_end_call(sb_proxy *p, const char *call_id, const char *why)
{
	sb_dialog *d = sb_proxy_dialog(p, call_id);
	if (!d)
		return;
	sb_dialog_set_end(d, SB_SIDE_WS, true, why);
	SB_NOTICE(d->tag, "ending the call: %s", why);
	g_autofree char *reason = g_strdup_printf("SIP;cause=500;text=\"%s\"", why);
	if (d->state == SB_DLG_CONFIRMED)
		bye_to_ws(p, d, reason);
	if (!d->ws_is_caller && d->state == SB_DLG_EARLY && d->invite_irq) {
		nta_incoming_treply(d->invite_irq, 500, "Media Failure",
				    SIPTAG_REASON_STR(reason), TAG_END());
		d->invite_irq = NULL;
	}
	end_dialog_of_closed_flow(p, d, reason);
}

void sb_proxy_end_all(sb_proxy *p, const char *reason)
{
	GList *ds = g_hash_table_get_values(p->dialogs);
	for (GList *l = ds; l; l = l->next) {
		sb_dialog *d = l->data;
		if (d->ws_is_caller || d->state == SB_DLG_CONFIRMED)
			end_dialog_of_closed_flow(p, d, reason);
	}
	g_list_free(ds);
}

sb_registrations *sb_proxy_registrations(sb_proxy *p)
{
	sb_registrations_expire(p->regs, g_get_monotonic_time());
	return p->regs;
}

void sb_proxy_get_stats(const sb_proxy *p, sb_proxy_stats *out)
{
	*out = p->stats;
	out->transactions = g_hash_table_size(p->ctxns) + g_hash_table_size(p->stxns);
	out->dialogs = g_hash_table_size(p->dialogs);
	out->flows = sb_flow_count();
}
