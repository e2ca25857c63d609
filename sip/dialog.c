/* INVITE dialog bookkeeping for teardown and offer/answer. Signalling
 * thread only. */
#include "sip/dialog.h"

#include <sofia-sip/sip_header.h>
#include <string.h>

#include "common/log.h"
#include "sip/proxy_msg.h"

sb_dialog *sb_dialog_new(const char *call_id, sb_flow *flow, bool ws_is_caller)
{
	sb_dialog *d = g_new0(sb_dialog, 1);
	d->call_id = g_strdup(call_id);
	d->flow = flow ? sb_flow_ref(flow) : NULL;
	d->ws_is_caller = ws_is_caller;
	d->state = SB_DLG_EARLY;
	d->ws_party = g_strdup("");
	d->sip_party = g_strdup("");
	d->sip_target = g_strdup("");
	d->ws_target = g_strdup("");
	d->sip_routes = g_ptr_array_new_with_free_func(g_free);
	d->offer_from = -1;
	d->created_us = g_get_monotonic_time();
	d->created_real_us = g_get_real_time();
	sb_log_call_tag(call_id, d->tag);
	return d;
}

void sb_dialog_free(sb_dialog *d)
{
	if (!d)
		return;
	g_free(d->call_id);
	sb_flow_unref(d->flow);
	g_free(d->ws_party);
	g_free(d->sip_party);
	g_free(d->sip_target);
	g_free(d->ws_target);
	g_free(d->service);
	g_free(d->limit_key);
	g_free(d->end_reason);
	g_ptr_array_unref(d->sip_routes);
	g_free(d);
}

static void set_str(char **dst, char *src_su, su_home_t *home)
{
	if (!src_su)
		return;
	g_free(*dst);
	*dst = g_strdup(src_su);
	su_free(home, src_su);
}

/* The route set toward the SIP side is the Record-Route list without the
 * gateway's own entries, in the order the SIP side's requests would
 * use it reversed for our requests (RFC 3261 §12.1.1 / §12.1.2). */
static void learn_routes(sb_dialog *d, const sip_t *sip, su_home_t *home)
{
	if (!sip->sip_record_route)
		return;
	g_ptr_array_set_size(d->sip_routes, 0);
	char tok[64];
	for (const sip_record_route_t *rr = sip->sip_record_route; rr; rr = rr->r_next) {
		if (sb_pmsg_url_token(rr->r_url, tok, sizeof(tok)))
			continue;
		char *u = url_as_string(home, rr->r_url);
		g_ptr_array_add(d->sip_routes, g_strdup_printf("<%s>", u));
		su_free(home, u);
	}
	/* For the browser as caller, the RR list arrives in the 2xx in
	 * UAS-to-UAC order: our requests use it reversed. For the browser as
	 * callee the INVITE's RR list is already in the order toward the
	 * caller. */
	if (d->ws_is_caller) {
		guint n = d->sip_routes->len;
		for (guint i = 0; i < n / 2; i++) {
			gpointer t = d->sip_routes->pdata[i];
			d->sip_routes->pdata[i] = d->sip_routes->pdata[n - 1 - i];
			d->sip_routes->pdata[n - 1 - i] = t;
		}
	}
}

void sb_dialog_learn(sb_dialog *d, const sip_t *sip, bool from_ws)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	bool is_req = sip->sip_request != NULL;
	/* From is always the party that sent the request (RFC 3261 §8.2.6.2:
	 * responses copy it), so a response's From is the other side. */
	bool from_is_ws = is_req ? from_ws : !from_ws;
	const sip_addr_t *ws_addr = from_is_ws ? sip->sip_from : sip->sip_to;
	const sip_addr_t *sip_addr = from_is_ws ? sip->sip_to : sip->sip_from;
	if (ws_addr && ws_addr->a_tag)
		set_str(&d->ws_party, sip_header_as_string(home, (const sip_header_t *)ws_addr), home);
	if (sip_addr && (sip_addr->a_tag || !*d->sip_party))
		set_str(&d->sip_party, sip_header_as_string(home, (const sip_header_t *)sip_addr), home);
	if (!from_ws && sip->sip_contact)
		set_str(&d->sip_target, url_as_string(home, sip->sip_contact->m_url), home);
	if (from_ws && sip->sip_contact)
		set_str(&d->ws_target, url_as_string(home, sip->sip_contact->m_url), home);
	if (from_ws && is_req && sip->sip_cseq && sip->sip_cseq->cs_seq > d->ws_cseq)
		d->ws_cseq = sip->sip_cseq->cs_seq;
	if (!from_ws && is_req && sip->sip_cseq && sip->sip_cseq->cs_seq > d->sip_cseq)
		d->sip_cseq = sip->sip_cseq->cs_seq;
	/* Route set: from the 2xx/1xx for our INVITE, from the INVITE for
	 * theirs. */
	if ((d->ws_is_caller && !is_req && !from_ws) ||
	    (!d->ws_is_caller && is_req && !from_ws &&
	     sip->sip_request->rq_method == sip_method_invite && !sip->sip_to->a_tag))
		learn_routes(d, sip, home);
	su_home_deinit(home);
}

/* An in-dialog request toward SIP on the browser's behalf. */
static char *sip_request_text(sb_dialog *d, const char *method, uint32_t cseq,
			      const char *reason, char **next_hop)
{
	if (!*d->sip_target || !*d->sip_party || !*d->ws_party)
		return NULL;
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "%s %s SIP/2.0\r\n", method, d->sip_target);
	g_string_append(s, "Max-Forwards: 70\r\n");
	for (guint i = 0; i < d->sip_routes->len; i++)
		g_string_append_printf(s, "Route: %s\r\n",
				       (char *)d->sip_routes->pdata[i]);
	g_string_append_printf(s, "From: %s\r\nTo: %s\r\n", d->ws_party, d->sip_party);
	g_string_append_printf(s, "Call-ID: %s\r\nCSeq: %u %s\r\n", d->call_id,
			       cseq, method);
	if (reason)
		g_string_append_printf(s, "Reason: %s\r\n", reason);
	g_string_append(s, "User-Agent: sipbridge/" PACKAGE_VERSION "\r\n"
			   "Content-Length: 0\r\n\r\n");
	if (d->sip_routes->len) {
		const char *r = d->sip_routes->pdata[0];
		*next_hop = g_strndup(r + 1, strlen(r) - 2);
	} else {
		*next_hop = g_strdup(d->sip_target);
	}
	return g_string_free(s, FALSE);
}

char *sb_dialog_bye_text(sb_dialog *d, const char *reason, char **next_hop)
{
	char *t = sip_request_text(d, "BYE", d->ws_cseq + 1, reason, next_hop);
	if (t)
		d->ws_cseq++;
	return t;
}

char *sb_dialog_ack_text(sb_dialog *d, uint32_t invite_cseq, char **next_hop)
{
	return sip_request_text(d, "ACK", invite_cseq, NULL, next_hop);
}

char *sb_dialog_bye_ws_text(sb_dialog *d, const char *via, const char *reason)
{
	if (!*d->ws_target || !*d->sip_party || !*d->ws_party)
		return NULL;
	d->sip_cseq++;
	return g_strdup_printf(
		"BYE %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\n"
		"Call-ID: %s\r\nCSeq: %u BYE\r\n%s%s%sUser-Agent: sipbridge/" PACKAGE_VERSION
		"\r\nContent-Length: 0\r\n\r\n",
		d->ws_target, via, d->sip_party, d->ws_party, d->call_id, d->sip_cseq,
		reason ? "Reason: " : "", reason ? reason : "", reason ? "\r\n" : "");
}

void sb_dialog_answered(sb_dialog *d)
{
	d->state = SB_DLG_CONFIRMED;
	if (!d->answered_real_us)
		d->answered_real_us = g_get_real_time();
	if (!d->final_status)
		d->final_status = 200;
}

void sb_dialog_set_end(sb_dialog *d, sb_side by, bool by_gateway, const char *reason)
{
	if (d->end_reason)
		return;
	d->ended_by = by;
	d->ended_by_gateway = by_gateway;
	d->end_reason = g_strdup(reason ? reason : "");
}
