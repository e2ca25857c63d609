/* SDP bodies on their way through the proxy: decide offer or answer
 * (RFC 3264 and RFC 3261 §13.2.1: offer in INVITE → answer in the
 * 1xx/2xx; no offer in INVITE → offer in the 2xx, answer in the ACK;
 * UPDATE/PRACK carry their own exchange), hand the body to the media
 * hook, and resume forwarding when it answers. Signalling thread. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include <sofia-sip/sip_protos.h>

#include "sip/proxy_internal.h"

typedef struct sdp_pending {
	sb_proxy *proxy;
	msg_t *msg;                /* owned until handed to then() */
	sb_proxy_then then;
	void *ctx;
	GDestroyNotify ctx_free;
	bool strip;                /* send the message on without SDP */
} sdp_pending;

static bool sdp_method(sip_method_t m)
{
	return m == sip_method_invite || m == sip_method_ack ||
	       m == sip_method_update || m == sip_method_prack;
}

/* Classify and update the dialog's offer state. */
static sb_sdp_kind classify(sb_dialog *d, const sip_t *sip, sb_side from,
			    bool *early)
{
	bool resp = sip->sip_status != NULL;
	if (d->late_offer && from == SB_SIDE_SIP && sip->sip_request &&
	    sip->sip_request->rq_method == sip_method_ack) {
		/* Late offer: our 200 offered to SIP, this is its answer. */
		d->late_offer = false;
		*early = false;
		return SB_SDP_ANSWER;
	}
	int status = resp ? sip->sip_status->st_status : 0;
	*early = resp && status < 200;
	if (d->offer_from >= 0 && d->offer_from != (int)from) {
		/* An answer to the other side's offer. A 1xx answer stays
		 * valid for the 2xx, which must repeat it (RFC 3261 §13.2.1). */
		if (*early)
			d->early_answer_seen = true;
		else
			d->offer_from = -1;
		return SB_SDP_ANSWER;
	}
	if (resp && d->early_answer_seen &&
	    sip->sip_cseq->cs_method == sip_method_invite) {
		if (!*early)
			d->early_answer_seen = false;
		return SB_SDP_ANSWER;
	}
	d->offer_from = from;
	d->early_answer_seen = false;
	return SB_SDP_OFFER;
}

static void pending_finish(sdp_pending *pd, int status)
{
	pd->then(pd->proxy, pd->msg, status, pd->ctx);
	if (pd->ctx_free && pd->ctx)
		pd->ctx_free(pd->ctx);
	g_free(pd);
}

static void hook_done(int status, char *new_body, void *data)
{
	sdp_pending *pd = data;
	if (pd->strip && status < 0) {
		/* The ACK must still reach the browser, or it would
		 * retransmit its 200 and hang up after 32 s. */
		g_warning("media refused the late offer's answer from SIP (%s): ACK relayed without it",
			  g_strerror(-status));
		status = 0;
	}
	if (status == 0 && pd->strip) {
		/* The browser's offer/answer is complete already (the late
		 * offer's answer from SIP only feeds the media session). */
		sip_t *sip = sip_object(pd->msg);
		if (sip->sip_content_type)
			sip_header_remove(pd->msg, sip, (sip_header_t *)sip->sip_content_type);
		if (sb_pmsg_set_body(pd->msg, sip, NULL, 0) < 0)
			status = -ENOMEM;
	} else if (status == 0 && new_body) {
		sip_t *sip = sip_object(pd->msg);
		if (sb_pmsg_set_body(pd->msg, sip, new_body, strlen(new_body)) < 0)
			status = -ENOMEM;
	}
	g_free(new_body);
	pending_finish(pd, status);
}

void sb_proxy_sdp(sb_proxy *p, sb_dialog *d, msg_t *msg, sb_side from,
		  sb_proxy_then then, void *ctx, GDestroyNotify ctx_free)
{
	sdp_pending *pd = g_new0(sdp_pending, 1);
	*pd = (sdp_pending){ p, msg, then, ctx, ctx_free, false };
	sip_t *sip = sip_object(msg);
	sip_method_t m = sip->sip_request ? sip->sip_request->rq_method
					  : sip->sip_cseq->cs_method;
	if (!d || !p->hook.process || !sb_pmsg_has_sdp(sip) || !sdp_method(m) ||
	    (sip->sip_status && sip->sip_status->st_status >= 300)) {
		pending_finish(pd, 0);
		return;
	}
	const char *why;
	if (!sb_proxy_policy_sdp(p, sip, &why)) {
		SB_WARN(d->tag, "SDP refused: %s", why);
		pending_finish(pd, -EMSGSIZE);
		return;
	}
	bool early = false;
	pd->strip = d->late_offer && from == SB_SIDE_SIP && sip->sip_request &&
		    sip->sip_request->rq_method == sip_method_ack;
	bool late = d->late_offer;   /* classify() ends it at the ACK */
	sb_sdp_kind kind = classify(d, sip, from, &early);
	sb_sdp_event ev = {
		.call_id = d->call_id,
		.tag = d->tag,
		.from = from,
		.kind = kind,
		.early = early,
		.initial = !d->had_offer,
		.method = sip->sip_cseq->cs_method_name,
		.service = d->service,
		.late_offer = late,
		.sip_family = d->sip_family,
		.status = sip->sip_status ? sip->sip_status->st_status : 0,
		.body = sip->sip_payload->pl_data,
		.len = sip->sip_payload->pl_len,
	};
	d->had_offer = true;
	SB_DEBUG(d->tag, "SDP %s from %s in %s %d", ev.kind == SB_SDP_OFFER ? "offer" : "answer",
		 from == SB_SIDE_WS ? "browser" : "SIP", ev.method, ev.status);
	p->hook.process(p->hook.hook_data, &ev, hook_done, pd);
}

/* RFC 3261 §13.2.1 late offer from SIP: browsers handle an INVITE
 * without SDP poorly (JsSIP's own offer in the 200 never completes in
 * Chromium), so the gateway offers to the browser itself. This stands
 * for the SIP side's capabilities until it answers in the ACK: every codec
 * the media layer bridges, and no usable address yet: the discard port 9
 * on loopback (c=0.0.0.0 would read as hold, RFC 3264 §8.4, and make
 * the browser's side sendonly), in the family the INVITE came from so
 * that the media layer's offer in our 200 is in it too. The media answer
 * to it becomes the offer of our 200 toward SIP. */
int sb_proxy_sdp_late_offer(msg_t *msg, sip_t *sip, int family)
{
	const char *ip = family == AF_INET6 ? "IP6 ::1" : "IP4 127.0.0.1";
	g_autofree char *sdp = g_strdup_printf(
		"v=0\r\no=- 0 0 IN %s\r\ns=-\r\nc=IN %s\r\nt=0 0\r\n"
		"m=audio 9 RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\n"
		"a=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n",
		ip, ip);
	if (sip->sip_content_type)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_content_type);
	if (sip_add_make(msg, sip, sip_content_type_class, "application/sdp") < 0)
		return -ENOMEM;
	return sb_pmsg_set_body(msg, sip, sdp, strlen(sdp));
}

int sb_proxy_sdp_status(int err, const char **phrase)
{
	switch (err) {
	case -ENOTSUP:
		*phrase = "Not Acceptable Here (no common codec)";
		return 488;
	case -EPROTO:
	case -EBADMSG:
		*phrase = "Not Acceptable Here (bad SDP)";
		return 488;
	case -EBUSY:
		*phrase = "Service Unavailable (media capacity)";
		return 503;
	case -EADDRINUSE:
		/* every port pair of media.rtp_ports taken: capacity too */
		*phrase = "Service Unavailable (no free media port)";
		return 503;
	case -EUSERS:
		*phrase = "Busy Here (conference room full)";
		return 486;
	case -EMSGSIZE:
		*phrase = "Not Acceptable Here (SDP too large)";
		return 488;
	case -EAFNOSUPPORT:
		*phrase = "Not Acceptable Here (no media address of that family)";
		return 488;
	default:
		*phrase = "Server Internal Error (media)";
		return 500;
	}
}
