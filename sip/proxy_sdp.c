/* SDP bodies on their way through the proxy: decide offer or answer
 * (RFC 3264 and RFC 3261 §13.2.1: offer in INVITE → answer in the
 * 1xx/2xx; no offer in INVITE → offer in the 2xx, answer in the ACK;
 * UPDATE/PRACK carry their own exchange), hand the body to the media
 * hook, and resume forwarding when it answers. Signalling thread. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include <sofia-sip/sip_protos.h>

#include "sip/proxy_internal.h"

typedef struct sdp_pending {
	sb_proxy *proxy;
	msg_t *msg;                /* owned until handed to then() */
	sb_proxy_then then;
	void *ctx;
	GDestroyNotify ctx_free;
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
	if (status == 0 && new_body) {
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
	*pd = (sdp_pending){ p, msg, then, ctx, ctx_free };
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
	sb_sdp_event ev = {
		.call_id = d->call_id,
		.tag = d->tag,
		.from = from,
		.kind = classify(d, sip, from, &early),
		.early = early,
		.initial = !d->had_offer,
		.method = sip->sip_cseq->cs_method_name,
		.service = d->service,
		.status = sip->sip_status ? sip->sip_status->st_status : 0,
		.body = sip->sip_payload->pl_data,
		.len = sip->sip_payload->pl_len,
	};
	d->had_offer = true;
	SB_DEBUG(d->tag, "SDP %s from %s in %s %d", ev.kind == SB_SDP_OFFER ? "offer" : "answer",
		 from == SB_SIDE_WS ? "browser" : "SIP", ev.method, ev.status);
	p->hook.process(p->hook.hook_data, &ev, hook_done, pd);
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
	case -EUSERS:
		*phrase = "Busy Here (conference room full)";
		return 486;
	case -EMSGSIZE:
		*phrase = "Not Acceptable Here (SDP too large)";
		return 488;
	default:
		*phrase = "Server Internal Error (media)";
		return 500;
	}
}
