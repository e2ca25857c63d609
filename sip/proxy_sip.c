/* The proxy, SIP side: requests arriving over UDP/TCP/TLS are matched to
 * a WebSocket flow (by the token in our Route/Record-Route/Path entries
 * or in a Contact alias), held in an NTA server transaction and sent to
 * the browser; the browser's responses go back through that transaction.
 * Signalling thread only. */
#include <errno.h>
#include <string.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/log.h"
#include "sip/proxy_internal.h"

/* How long a browser may take to answer a non-INVITE request, and to
 * give a final answer to an INVITE (RFC 3261 §16.8 Timer C). */
#define NON_INVITE_TIMEOUT_S 32
#define CANCEL_GRACE_S 4

static const char *method_name(const sip_t *sip)
{
	return sip->sip_request ? sip->sip_request->rq_method_name
				: sip->sip_cseq->cs_method_name;
}

/* ---- the browser's responses --------------------------------------------- */

typedef struct reply_ctx {
	char *branch;
} reply_ctx;

static void reply_ctx_free(gpointer d)
{
	reply_ctx *c = d;
	g_free(c->branch);
	g_free(c);
}

static void reply_to_sip(sb_proxy *p, msg_t *msg, int status, void *ctx)
{
	reply_ctx *c = ctx;
	sb_stxn *t = g_hash_table_lookup(p->stxns, c->branch);
	if (!t || !t->irq || t->final) {
		msg_destroy(msg);
		return;
	}
	sip_t *sip = sip_object(msg);
	int code = sip->sip_status->st_status;
	if (status < 0) {
		const char *phrase;
		code = sb_proxy_sdp_status(status, &phrase);
		msg_destroy(msg);
		nta_incoming_treply(t->irq, code, phrase,
				    TAG_IF(code == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
	} else {
		nta_incoming_mreply(t->irq, msg);  /* consumes msg */
	}
	if (code < 200)
		return;
	t->final = true;
	sb_dialog *d = sb_proxy_dialog(p, t->call_id);
	if (d && t->method == sip_method_invite) {
		d->invite_irq = NULL;
		if (code < 300) {
			sb_dialog_answered(d);
		} else if (d->state == SB_DLG_EARLY) {
			d->final_status = code;
			sb_dialog_set_end(d, SB_SIDE_WS, false, "rejected");
			sb_proxy_dialog_end(p, d);
		}
	} else if (d && t->method == sip_method_bye) {
		sb_proxy_dialog_end(p, d);
	}
	g_hash_table_remove(p->stxns, c->branch);
}

/* A 2xx retransmitted by the browser after the transaction is gone goes
 * on statelessly (RFC 3261 §16.7 step 10 / §13.3.1.4). */
static void stray_response_to_sip(sb_proxy *p, msg_t *msg, sip_t *sip)
{
	if (sip->sip_via && sip->sip_via->v_next && sip->sip_status->st_status >= 200 &&
	    sip->sip_status->st_status < 300 &&
	    sip->sip_cseq->cs_method == sip_method_invite) {
		sb_pmsg_pop_via(msg, sip);
		nta_msg_tsend(p->agent, msg, NULL, TAG_END());
		return;
	}
	msg_destroy(msg);
}

void sb_proxy_ws_response(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip)
{
	const char *branch = sip->sip_via->v_branch ? sip->sip_via->v_branch : "";
	if (sip->sip_cseq->cs_method == sip_method_cancel) {
		msg_destroy(msg);   /* answer to our CANCEL: hop-by-hop, done */
		return;
	}
	sb_stxn *t = g_hash_table_lookup(p->stxns, branch);
	if (!t || t->flow != f) {
		stray_response_to_sip(p, msg, sip);
		return;
	}
	sb_pmsg_pop_via(msg, sip);
	sb_dialog *d = sb_proxy_dialog(p, t->call_id);
	if (d && d->flow == f && t->method == sip_method_invite)
		sb_dialog_learn(d, sip, true);
	reply_ctx *c = g_new0(reply_ctx, 1);
	c->branch = g_strdup(branch);
	sb_proxy_sdp(p, d && d->flow == f ? d : NULL, msg, SB_SIDE_WS, reply_to_sip, c,
		     reply_ctx_free);
}

/* ---- requests from SIP ------------------------------------------------- */

static void cancel_to_ws(sb_stxn *t, const sip_reason_t *reason, const char *reason_str);

static gboolean stxn_timeout(gpointer data)
{
	sb_stxn *t = data;
	g_clear_pointer(&t->timer, g_source_unref);
	if (t->irq && !t->final) {
		/* RFC 3261 §16.8 Timer C for INVITE (stop the browser ringing
		 * with a CANCEL), the non-INVITE transaction limit otherwise:
		 * 408 either way. */
		g_info("browser did not answer %s in time: 408", sip_method_name(t->method, ""));
		if (t->method == sip_method_invite && t->fwd && !t->cancelled)
			cancel_to_ws(t, NULL, "SIP;cause=408;text=\"Timer C\"");
		nta_incoming_treply(t->irq, 408, "Request Timeout", TAG_END());
		t->final = true;
		sb_dialog *d = sb_proxy_dialog(t->proxy, t->call_id);
		if (d && t->method == sip_method_invite && d->state == SB_DLG_EARLY)
			sb_proxy_dialog_end(t->proxy, d);
	}
	g_hash_table_remove(t->proxy->stxns, t->branch);
	return G_SOURCE_REMOVE;
}

static void stxn_arm_ms(sb_stxn *t, unsigned ms)
{
	if (t->timer) {
		g_source_destroy(t->timer);
		g_source_unref(t->timer);
	}
	t->timer = g_timeout_source_new(ms);
	g_source_set_callback(t->timer, stxn_timeout, t, NULL);
	g_source_attach(t->timer, g_main_context_get_thread_default());
}

/* CANCEL toward the browser for the INVITE of t (same branch, RFC 3261
 * §9.1), with a Reason (RFC 3326) when there is one. */
static void cancel_to_ws(sb_stxn *t, const sip_reason_t *reason, const char *reason_str)
{
	sip_t *f = sip_object(t->fwd);
	su_home_t home[1] = { SU_HOME_INIT(home) };
	char *ruri = url_as_string(home, f->sip_request->rq_url);
	char *from = sip_header_as_string(home, (sip_header_t *)f->sip_from);
	char *to = sip_header_as_string(home, (sip_header_t *)f->sip_to);
	char *via = sip_header_as_string(home, (sip_header_t *)f->sip_via);
	const char *rs = reason ? sip_header_as_string(home, (sip_header_t *)reason) : reason_str;
	g_autofree char *text = g_strdup_printf(
		"CANCEL %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\n"
		"Call-ID: %s\r\nCSeq: %u CANCEL\r\n%s%s%sContent-Length: 0\r\n\r\n",
		ruri, via, from, to, f->sip_call_id->i_id, f->sip_cseq->cs_seq,
		rs ? "Reason: " : "", rs ? rs : "", rs ? "\r\n" : "");
	su_home_deinit(home);
	sb_ws_conn_send(t->flow->conn, text, strlen(text));
}

/* The SIP side cancelled an INVITE we forwarded: pass a CANCEL to the
 * browser; NTA has answered the CANCEL. */
static int stxn_cancelled(nta_incoming_magic_t *magic, nta_incoming_t *irq,
			  sip_t const *sip)
{
	sb_stxn *t = (sb_stxn *)magic;
	if (!t->fwd || t->final)
		return 0;
	cancel_to_ws(t, sip ? sip->sip_reason : NULL, NULL);
	t->cancelled = true;
	/* If the browser does not answer 487 soon, we do. */
	stxn_arm_ms(t, CANCEL_GRACE_S * 1000);
	return 0;
}

typedef struct to_ws_ctx {
	char *branch;
	sb_flow *flow;        /* for stateless (ACK) sends */
} to_ws_ctx;

static void to_ws_ctx_free(gpointer d)
{
	to_ws_ctx *c = d;
	g_free(c->branch);
	if (c->flow)
		sb_flow_unref(c->flow);
	g_free(c);
}

static void send_request_to_ws(sb_proxy *p, msg_t *msg, int status, void *ctx)
{
	to_ws_ctx *c = ctx;
	if (c->flow) {             /* ACK: no transaction */
		if (status == 0)
			sb_proxy_ws_send_msg(c->flow, msg);
		msg_destroy(msg);
		return;
	}
	sb_stxn *t = g_hash_table_lookup(p->stxns, c->branch);
	if (!t || t->final) {
		msg_destroy(msg);
		return;
	}
	if (status < 0) {
		const char *phrase;
		int code = sb_proxy_sdp_status(status, &phrase);
		nta_incoming_treply(t->irq, code, phrase,
				    TAG_IF(code == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
		t->final = true;
		sb_dialog *d = sb_proxy_dialog(p, t->call_id);
		if (d && d->state == SB_DLG_EARLY && t->method == sip_method_invite)
			sb_proxy_dialog_end(p, d);
		msg_destroy(msg);
		g_hash_table_remove(p->stxns, c->branch);
		return;
	}
	sb_proxy_ws_send_msg(t->flow, msg);
	t->fwd = msg;   /* kept to build a CANCEL */
}

/* Find the browser a request from SIP is for. Pops our Route entries
 * and restores an aliased Request-URI. NULL = no such flow (any more). */
static sb_flow *target_flow(msg_t *msg, sip_t *sip, bool *ours)
{
	char tok[64];
	*ours = false;
	if (sb_pmsg_pop_own_routes(msg, sip, tok, sizeof(tok))) {
		*ours = true;
		sb_flow *f = sb_flow_lookup(tok);
		url_t *ru = sip->sip_request->rq_url;
		char rtok[64];
		/* A Path route plus an aliased Request-URI: restore it too. */
		if (f && sb_pmsg_url_token(ru, rtok, sizeof(rtok)) && !strcmp(rtok, tok)) {
			const char *orig = sb_flow_get_contact(f, ru->url_user ? ru->url_user : "");
			if (orig)
				sb_pmsg_set_request_uri(msg, sip, orig);
		}
		return f;
	}
	url_t *ru = sip->sip_request->rq_url;
	if (sb_pmsg_url_token(ru, tok, sizeof(tok))) {
		*ours = true;
		sb_flow *f = sb_flow_lookup(tok);
		const char *orig = f ? sb_flow_get_contact(f, ru->url_user ? ru->url_user : "") : NULL;
		if (orig)
			sb_pmsg_set_request_uri(msg, sip, orig);
		return f;
	}
	return NULL;
}

static void sip_ack(sb_proxy *p, msg_t *msg, sip_t *sip)
{
	bool ours;
	sb_flow *f = target_flow(msg, sip, &ours);
	if (!f || sb_pmsg_max_forwards(msg, sip) < 0) {
		msg_destroy(msg);
		return;
	}
	char branch[40];
	sb_pmsg_branch(branch, sizeof(branch));
	sb_pmsg_push_via(msg, sip, sb_ws_conn_secure(f->conn) ? "WSS" : "WS", p->ws_host, branch);
	to_ws_ctx *c = g_new0(to_ws_ctx, 1);
	c->flow = sb_flow_ref(f);
	sb_dialog *d = sb_proxy_dialog(p, sip->sip_call_id->i_id);
	sb_proxy_sdp(p, d && d->flow == f ? d : NULL, msg, SB_SIDE_SIP, send_request_to_ws,
		     c, to_ws_ctx_free);
}

static bool to_gateway_itself(const sb_proxy *p, const sip_t *sip)
{
	const url_t *u = sip->sip_request->rq_url;
	if (u->url_user || !u->url_host)
		return false;
	return sb_sip_face_is_ours(p->sip, p->n_sip, u->url_host);
}

/* What a request from SIP gets before it is routed to a browser: ACK and
 * stray CANCEL handling, a local service, OPTIONS to the gateway itself,
 * a loop's 483. True when taken here (msg consumed). */
static bool sip_request_local(sb_proxy *p, msg_t *msg, sip_t *sip)
{
	sip_method_t m = sip->sip_request->rq_method;
	if (m == sip_method_ack) {
		sb_dialog *ad = sb_proxy_dialog(p, sip->sip_call_id->i_id);
		if (ad && ad->service && !ad->flow)
			msg_destroy(msg);   /* ACK for our own 2xx as a local UAS */
		else
			sip_ack(p, msg, sip);
		return true;
	}
	if (m == sip_method_cancel) {
		/* A CANCEL that matched no transaction. */
		nta_msg_treply(p->agent, msg, 481, "Call/Transaction Does Not Exist", TAG_END());
		return true;
	}
	char svc[96];
	sb_dialog *ld = sip->sip_to->a_tag ? sb_proxy_dialog(p, sip->sip_call_id->i_id) : NULL;
	if (ld && ld->service && !ld->flow) {
		sb_uas_sip_request(p, msg, sip, ld->service, ld);
		return true;
	}
	if (!sip->sip_to->a_tag && !sip->sip_route &&
	    sb_uas_service_of(p, sip, svc, sizeof(svc))) {
		sb_uas_sip_request(p, msg, sip, svc, NULL);
		return true;
	}
	if (m == sip_method_options && to_gateway_itself(p, sip) && !sip->sip_route) {
		nta_msg_treply(p->agent, msg, 200, "OK",
			       SIPTAG_ALLOW_STR("INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, "
						"UPDATE, PRACK, MESSAGE, REFER, SUBSCRIBE, NOTIFY"),
			       SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
		return true;
	}
	if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
		nta_msg_treply(p->agent, msg, 483, "Too Many Hops", TAG_END());
		return true;
	}
	return false;
}

/* A new INVITE from SIP: refused while draining or by the call policy
 * (irq answered and destroyed, false), else its dialog, with a late
 * offer made for the browser when the INVITE has no SDP. */
static bool sip_request_new_call(sb_proxy *p, msg_t *msg, msg_t *fwd, sip_t *fs,
				 sb_flow *f, nta_incoming_t *irq, sb_dialog **out)
{
	if (p->draining) {
		nta_incoming_treply(irq, 503, "Service Unavailable (draining)",
				    SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
		nta_incoming_destroy(irq);
		return false;
	}
	char *limit_key = NULL;
	const char *phrase;
	int code = sb_proxy_policy_call(p, NULL, fs, &limit_key, &phrase);
	if (code) {
		nta_incoming_treply(irq, code, phrase,
				    TAG_IF(code == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
		nta_incoming_destroy(irq);
		return false;
	}
	sb_dialog *d = sb_dialog_new(fs->sip_call_id->i_id, f, false);
	d->limit_key = limit_key;
	/* the phone's family, for an offer we make it (late offer) */
	su_addrinfo_t *ai = msg_addrinfo(msg);
	d->sip_family = ai ? ai->ai_family : 0;
	g_hash_table_insert(p->dialogs, d->call_id, d);
	g_hash_table_add(f->dialogs, d);
	d->invite_irq = irq;
	SB_INFO(d->tag, "INVITE from SIP to browser %s", sb_ws_conn_peer(f->conn));
	if (p->hook.process && !sb_pmsg_has_sdp(fs) &&
	    (!fs->sip_content_length || fs->sip_content_length->l_length == 0) &&
	    sb_proxy_sdp_late_offer(fwd, fs, d->sip_family) == 0) {
		SB_INFO(d->tag, "late offer: the gateway offers to the browser");
		d->late_offer = true;
	}
	*out = d;
	return true;
}

/* The server transaction toward the browser: keyed by the branch of the
 * Via we push, bound to NTA's for CANCEL, guarded by Timer C. */
static sb_stxn *sip_request_stxn(sb_proxy *p, nta_incoming_t *irq, sb_flow *f,
				 sip_method_t m, const char *call_id)
{
	sb_stxn *t = g_new0(sb_stxn, 1);
	t->proxy = p;
	t->irq = irq;
	t->flow = sb_flow_ref(f);
	t->method = m;
	t->call_id = g_strdup(call_id);
	char branch[40];
	sb_pmsg_branch(branch, sizeof(branch));
	t->branch = g_strdup(branch);
	g_hash_table_insert(p->stxns, t->branch, t);
	if (m == sip_method_invite)
		nta_incoming_bind(irq, stxn_cancelled, (nta_incoming_magic_t *)t);
	stxn_arm_ms(t, m == sip_method_invite ? p->timer_c_ms : NON_INVITE_TIMEOUT_S * 1000);
	return t;
}

int sb_proxy_sip_request(sb_proxy *p, msg_t *msg, sip_t *sip)
{
	sip_method_t m = sip->sip_request->rq_method;
	p->stats.requests_sip++;
	if (sip_request_local(p, msg, sip))
		return 0;
	/* Work on a copy: NTA answers from the original (with its Vias). */
	msg_t *fwd = msg_dup(msg);
	sip_t *fs = sip_object(fwd);
	bool ours;
	sb_flow *f = target_flow(fwd, fs, &ours);
	if (!f) {
		msg_destroy(fwd);
		if (ours)
			nta_msg_treply(p->agent, msg, 480,
				       "Temporarily Unavailable (WebSocket gone)", TAG_END());
		else
			nta_msg_treply(p->agent, msg, 404, "Not Found", TAG_END());
		return 0;
	}
	nta_incoming_t *irq = nta_incoming_create(p->agent, NULL, msg, sip, TAG_END());
	if (!irq) {
		msg_destroy(fwd);
		return 0;
	}
	if (m == sip_method_invite)
		nta_incoming_treply(irq, 100, "Trying", TAG_END());
	sb_pmsg_max_forwards(fwd, fs);

	bool in_dialog = fs->sip_to->a_tag != NULL;
	const char *call_id = fs->sip_call_id->i_id;
	sb_dialog *d = sb_proxy_dialog(p, call_id);
	if (!in_dialog && (m == sip_method_invite || m == sip_method_subscribe ||
			   m == sip_method_refer || m == sip_method_notify)) {
		/* Double Record-Route, the top one facing the browser. */
		sb_sip_peer peer;
		sb_sip_peer_from_msg(msg, sip, &peer);
		sb_proxy_add_record_routes(p, fwd, fs, f, &peer, false);
	}
	if (m == sip_method_invite && !in_dialog && !d &&
	    !sip_request_new_call(p, msg, fwd, fs, f, irq, &d)) {
		msg_destroy(fwd);
		return 0;
	}
	if (d && d->flow == f) {
		sb_dialog_learn(d, fs, false);
		if (m == sip_method_bye) {
			d->state = SB_DLG_TERMINATED;
			sb_dialog_set_end(d, SB_SIDE_SIP, false, "BYE");
		}
	}
	sb_stxn *t = sip_request_stxn(p, irq, f, m, call_id);
	sb_pmsg_push_via(fwd, fs, sb_ws_conn_secure(f->conn) ? "WSS" : "WS", p->ws_host, t->branch);
	to_ws_ctx *c = g_new0(to_ws_ctx, 1);
	c->branch = g_strdup(t->branch);
	g_debug("%s from SIP to ws %" G_GUINT64_FORMAT, method_name(fs), sb_ws_conn_id(f->conn));
	sb_proxy_sdp(p, d && d->flow == f ? d : NULL, fwd, SB_SIDE_SIP, send_request_to_ws, c,
		     to_ws_ctx_free);
	return 0;
}

/* Stray responses (no client transaction): a 2xx retransmission for an
 * INVITE whose transaction is over goes to the browser of its dialog. */
static void stray_response_to_ws(sb_proxy *p, msg_t *msg, sip_t *sip)
{
	sb_dialog *d = sb_proxy_dialog(p, sip->sip_call_id->i_id);
	if (!d || !sip->sip_via || !sip->sip_via->v_next) {
		msg_destroy(msg);
		return;
	}
	sb_pmsg_pop_via(msg, sip);
	sb_proxy_ws_send_msg(d->flow, msg);
	msg_destroy(msg);
}

int sb_proxy_sip_message(void *proxy, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
	sb_proxy *p = proxy;
	if (!sip || msg_has_error(msg) || !sip->sip_via || !sip->sip_call_id ||
	    !sip->sip_cseq || !sip->sip_from || !sip->sip_to) {
		p->stats.bad_messages++;
		if (sip && sip->sip_request && sip->sip_via && sip->sip_request->rq_method != sip_method_ack)
			nta_msg_treply(agent, msg, 400, "Bad Request", TAG_END());
		else
			nta_msg_discard(agent, msg);
		return 0;
	}
	if (sip->sip_status) {
		stray_response_to_ws(p, msg, sip);
		return 0;
	}
	return sb_proxy_sip_request(p, msg, sip);
}
