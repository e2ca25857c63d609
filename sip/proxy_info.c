/* INFO from a browser inside a call (RFC 6086): offered to the hook's
 * info() first, which may take a DTMF INFO (JsSIP and SIP.js send DTMF
 * this way by default) and turn it into RFC 4733 events toward SIP; the
 * gateway then answers the INFO itself and SIP never sees it. What the
 * hook does not take is forwarded as before. Signalling thread only. */
#include <errno.h>
#include <sofia-sip/sip_header.h>

#include "common/log.h"
#include "sip/proxy_internal.h"

/* A taken INFO waiting for the media side's verdict. */
typedef struct info_ctx {
	sb_proxy *proxy;           /* borrowed: outlives its transactions */
	sb_flow *flow;             /* owned ref */
	msg_t *msg;                /* owned: the request, for the response */
} info_ctx;

static int info_status(int err, const char **phrase)
{
	switch (err) {
	case 0:
		*phrase = "OK";
		return 200;
	case -ENOTSUP:
		*phrase = "Not Acceptable Here (no telephone-event toward SIP)";
		return 488;
	case -ENOTCONN:
		*phrase = "Not Acceptable Here (no media toward SIP)";
		return 488;
	case -EBUSY:
		*phrase = "Service Unavailable (DTMF queue full)";
		return 503;
	default:
		*phrase = "Server Internal Error (DTMF not sent)";
		return 500;
	}
}

static void info_reply(sb_proxy *p, sb_flow *f, msg_t *msg, int err)
{
	const char *phrase;
	int code = info_status(err, &phrase);
	sb_proxy_ws_reply(p, f, sip_object(msg), code, phrase, NULL);
}

static void info_done(int status, void *done_data)
{
	info_ctx *c = done_data;
	info_reply(c->proxy, c->flow, c->msg, status);
	msg_destroy(c->msg);
	sb_flow_unref(c->flow);
	g_free(c);
}

bool sb_proxy_info_intercept(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip)
{
	sb_dialog *d = sb_proxy_dialog(p, sip->sip_call_id->i_id);

	/* only the call's own browser, and only when someone listens */
	if (!p->hook.info || !d || d->flow != f)
		return false;
	sb_info_event ev = {
		.call_id = d->call_id,
		.tag = d->tag,
		.content_type = sip->sip_content_type ?
			sip->sip_content_type->c_type : NULL,
		.body = sip->sip_payload ? sip->sip_payload->pl_data : NULL,
		.len = sip->sip_payload ? sip->sip_payload->pl_len : 0,
	};
	info_ctx *c = g_new0(info_ctx, 1);
	*c = (info_ctx){ p, sb_flow_ref(f), msg };
	int r = p->hook.info(p->hook.hook_data, &ev, info_done, c);
	if (r == 1)
		return true;   /* c belongs to info_done now */
	sb_flow_unref(c->flow);
	g_free(c);
	if (r == 0)
		return false;
	info_reply(p, f, msg, r);
	msg_destroy(msg);
	return true;
}
