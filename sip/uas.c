/* Local services answered by the gateway itself as a UAS (RFC 3261 §8.2):
 * the echo test and conference rooms, reached from a browser over its
 * WebSocket or from the SIP side (a PBX routing a dial-in number to
 * sip:conf-NAME@gateway). The media side is the SDP hook with
 * ev.service set: it answers the caller's offer with a local leg.
 * Signalling thread only. */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "common/log.h"
#include "sip/proxy_internal.h"

const char *sb_uas_service_of(const sb_proxy *p, const sip_t *sip, char *buf,
			      size_t size)
{
	const char *user = sip->sip_request->rq_url->url_user;
	if (!user || sip->sip_request->rq_method != sip_method_invite)
		return NULL;
	if (*p->svc_echo && !strcmp(user, p->svc_echo)) {
		g_strlcpy(buf, "echo", size);
		return buf;
	}
	size_t n = strlen(p->svc_conf_prefix);
	if (n && !strncmp(user, p->svc_conf_prefix, n) &&
	    sb_dialplan_room_name_ok(user + n)) {
		g_snprintf(buf, size, "conf:%s", user + n);
		return buf;
	}
	return NULL;
}

static void make_tag(char *buf, size_t size)
{
	unsigned char r[6];
	RAND_bytes(r, sizeof(r));
	g_snprintf(buf, size, "sb%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

/* Our Contact as a local service: toward a browser (sip_peer NULL) the
 * WebSocket side's host, toward a phone the listener facing it. */
static char *contact_of(const sb_proxy *p, const sb_dialog *d, const sb_sip_peer *sip_peer)
{
	const char *user = d->service[0] == 'c' ? "conference" : d->service;
	if (!sip_peer)
		return g_strdup_printf("Contact: <sip:%s@%s;transport=ws>\r\n", user, p->ws_host);
	g_autofree char *uri = sb_proxy_sip_uri(p, sip_peer, user, NULL, NULL);
	return uri ? g_strdup_printf("<%s>", uri) : NULL;
}

static sb_dialog *local_dialog(sb_proxy *p, sb_flow *f, const sip_t *sip,
			       const char *service, bool ws_caller)
{
	sb_dialog *d = sb_dialog_new(sip->sip_call_id->i_id, f, ws_caller);
	d->service = g_strdup(service);
	make_tag(d->local_tag, sizeof(d->local_tag));
	g_hash_table_insert(p->dialogs, d->call_id, d);
	if (f)
		g_hash_table_add(f->dialogs, d);
	SB_INFO(d->tag, "INVITE from %s to local service %s",
		f ? sb_ws_conn_peer(f->conn) : "SIP", service);
	return d;
}

/* ---- from a browser ----------------------------------------------------- */

typedef struct ws_ctx {
	sb_flow *flow;
	char *call_id;
} ws_ctx;

static void ws_ctx_free(gpointer data)
{
	ws_ctx *c = data;
	sb_flow_unref(c->flow);
	g_free(c->call_id);
	g_free(c);
}

/* The hook put the answer into msg (the INVITE or re-INVITE): send it
 * back in a 200. */
static void ws_answered(sb_proxy *p, msg_t *msg, int status, void *ctx)
{
	ws_ctx *c = ctx;
	sip_t *sip = sip_object(msg);
	sb_dialog *d = sb_proxy_dialog(p, c->call_id);
	if (!d) {
		msg_destroy(msg);
		return;
	}
	d->offer_from = -1;   /* answered here, not by a far end */
	if (status < 0) {
		const char *phrase;
		int code = sb_proxy_sdp_status(status, &phrase);
		sb_proxy_ws_reply(p, c->flow, sip, code, phrase, NULL);
		if (d->state == SB_DLG_EARLY)
			sb_proxy_dialog_end(p, d);
		msg_destroy(msg);
		return;
	}
	g_autofree char *body = sip->sip_payload
		? g_strndup(sip->sip_payload->pl_data, sip->sip_payload->pl_len) : NULL;
	g_autofree char *contact = contact_of(p, d, NULL);
	g_autofree char *r = sb_pmsg_response_text_body(sip, 200, "OK", d->local_tag,
		contact, body);
	sb_ws_conn_send(c->flow->conn, r, strlen(r));
	if (d->state == SB_DLG_EARLY)
		SB_INFO(d->tag, "local service %s answered", d->service);
	sb_dialog_answered(d);
	msg_destroy(msg);
}

void sb_uas_ws_request(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip,
		       const char *service, sb_dialog *d)
{
	sip_method_t m = sip->sip_request->rq_method;
	if (!d) {
		if (sb_proxy_dialog(p, sip->sip_call_id->i_id)) {
			sb_proxy_ws_reply(p, f, sip, 482, "Loop Detected", NULL);
			msg_destroy(msg);
			return;
		}
		sb_proxy_ws_reply(p, f, sip, 100, "Trying", NULL);
		d = local_dialog(p, f, sip, service, true);
	}
	sb_dialog_learn(d, sip, true);
	switch (m) {
	case sip_method_ack:
		msg_destroy(msg);
		return;
	case sip_method_bye:
		sb_proxy_ws_reply(p, f, sip, 200, "OK", NULL);
		msg_destroy(msg);
		sb_dialog_set_end(d, SB_SIDE_WS, false, "BYE");
		sb_proxy_dialog_end(p, d);
		return;
	case sip_method_invite:
	case sip_method_update:
		if (sb_pmsg_has_sdp(sip)) {
			ws_ctx *c = g_new0(ws_ctx, 1);
			c->flow = sb_flow_ref(f);
			c->call_id = g_strdup(d->call_id);
			sb_proxy_sdp(p, d, msg, SB_SIDE_WS, ws_answered, c, ws_ctx_free);
			return;
		}
		/* No offer: RFC 3264 wants ours; the services need the
		 * caller's, so refuse (browsers always offer). */
		sb_proxy_ws_reply(p, f, sip, m == sip_method_invite ? 488 : 200,
				  m == sip_method_invite ? "Not Acceptable Here (offer required)"
							 : "OK", NULL);
		if (m == sip_method_invite && d->state == SB_DLG_EARLY)
			sb_proxy_dialog_end(p, d);
		msg_destroy(msg);
		return;
	case sip_method_info:
	case sip_method_options:
	case sip_method_message:
	case sip_method_notify:
		sb_proxy_ws_reply(p, f, sip, 200, "OK", NULL);
		msg_destroy(msg);
		return;
	default:
		sb_proxy_ws_reply(p, f, sip, 501, "Not Implemented", NULL);
		msg_destroy(msg);
		return;
	}
}

/* ---- from the SIP side -------------------------------------------------- */

typedef struct sip_ctx {
	nta_incoming_t *irq;      /* owned */
	char *call_id;
	sb_sip_peer peer;         /* the phone, for our Contact */
} sip_ctx;

static void sip_ctx_free(gpointer data)
{
	sip_ctx *c = data;
	nta_incoming_destroy(c->irq);
	g_free(c->call_id);
	g_free(c);
}

static void sip_answered(sb_proxy *p, msg_t *msg, int status, void *ctx)
{
	sip_ctx *c = ctx;
	sip_t *sip = sip_object(msg);
	sb_dialog *d = sb_proxy_dialog(p, c->call_id);
	if (!d) {
		nta_incoming_treply(c->irq, 481, "Call/Transaction Does Not Exist", TAG_END());
		msg_destroy(msg);
		return;
	}
	d->offer_from = -1;
	nta_incoming_tag(c->irq, d->local_tag);
	if (status < 0) {
		const char *phrase;
		int code = sb_proxy_sdp_status(status, &phrase);
		nta_incoming_treply(c->irq, code, phrase,
				    TAG_IF(code == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
		if (d->state == SB_DLG_EARLY)
			sb_proxy_dialog_end(p, d);
		msg_destroy(msg);
		return;
	}
	g_autofree char *body = g_strndup(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
	g_autofree char *contact = contact_of(p, d, &c->peer);
	nta_incoming_treply(c->irq, 200, "OK", SIPTAG_CONTACT_STR(contact),
			    SIPTAG_CONTENT_TYPE_STR("application/sdp"),
			    SIPTAG_PAYLOAD_STR(body), TAG_END());
	if (d->state == SB_DLG_EARLY)
		SB_INFO(d->tag, "local service %s answered", d->service);
	sb_dialog_answered(d);
	msg_destroy(msg);
}

void sb_uas_sip_request(sb_proxy *p, msg_t *msg, sip_t *sip, const char *service,
			sb_dialog *d)
{
	sip_method_t m = sip->sip_request->rq_method;
	msg_t *copy = msg_dup(msg);
	nta_incoming_t *irq = nta_incoming_create(p->agent, NULL, msg, sip, TAG_END());
	if (!irq) {
		msg_destroy(copy);
		return;
	}
	if (!d) {
		nta_incoming_treply(irq, 100, "Trying", TAG_END());
		d = local_dialog(p, NULL, sip_object(copy), service, false);
	}
	nta_incoming_tag(irq, d->local_tag);
	sb_dialog_learn(d, sip_object(copy), false);
	if ((m == sip_method_invite || m == sip_method_update) && sb_pmsg_has_sdp(sip_object(copy))) {
		sip_ctx *c = g_new0(sip_ctx, 1);
		c->irq = irq;
		c->call_id = g_strdup(d->call_id);
		sb_sip_peer_from_msg(copy, sip_object(copy), &c->peer);
		sb_proxy_sdp(p, d, copy, SB_SIDE_SIP, sip_answered, c, sip_ctx_free);
		return;
	}
	msg_destroy(copy);
	if (m == sip_method_invite) {
		nta_incoming_treply(irq, 488, "Not Acceptable Here (offer required)", TAG_END());
		if (d->state == SB_DLG_EARLY)
			sb_proxy_dialog_end(p, d);
	} else if (m == sip_method_bye) {
		nta_incoming_treply(irq, 200, "OK", TAG_END());
		sb_dialog_set_end(d, SB_SIDE_SIP, false, "BYE");
		sb_proxy_dialog_end(p, d);
	} else if (m == sip_method_info || m == sip_method_options || m == sip_method_update ||
		   m == sip_method_message || m == sip_method_notify) {
		nta_incoming_treply(irq, 200, "OK", TAG_END());
	} else {
		nta_incoming_treply(irq, 501, "Not Implemented", TAG_END());
	}
	nta_incoming_destroy(irq);
}
