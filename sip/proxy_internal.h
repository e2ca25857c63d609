/* State shared by the proxy's files (proxy.c: WebSocket side and common
 * parts; proxy_sip.c: requests and responses from the SIP side;
 * proxy_sdp.c: the SDP hook plumbing). Signalling thread only. */
#ifndef SB_SIP_PROXY_INTERNAL_H
#define SB_SIP_PROXY_INTERNAL_H

#include <glib.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip.h>

#include "sip/dialog.h"
#include "sip/flow.h"
#include "sip/proxy.h"
#include "sip/proxy_msg.h"
#include "sip/sip_face.h"

struct sb_proxy {
	nta_agent_t *agent;              /* borrowed: the stack owns it */
	char *outbound_proxy;            /* owned, "" = none */
	sb_proxy_listen *sip;            /* owned array (strings owned) */
	unsigned n_sip;
	char *ws_host;                   /* owned */
	char *face_v4, *face_v6;         /* owned, "" = none */
	sb_sip_face_fallback face_fallback; /* points at face_v4/v6 */
	char *svc_echo;                  /* owned */
	char *svc_conf_prefix;           /* owned */
	sb_sdp_hook hook;
	const sb_auth_config *auth;      /* borrowed from the config; NULL = open */
	const sb_dialplan *dialplan;     /* borrowed; NULL = no dial plan */
	sb_limits *limits;               /* owned; NULL = no limits */
	sb_proxy_call_ended_cb ended_cb;
	void *ended_data;
	bool draining;
	GHashTable *ctxns;   /* browser's Via branch -> sb_ctxn (owned) */
	GHashTable *stxns;   /* our WS Via branch -> sb_stxn (owned) */
	GHashTable *dialogs; /* Call-ID -> sb_dialog (owned) */
	GHashTable *nack;    /* INVITE branches answered non-2xx (owned
				strings), to absorb the browser's ACK */
	sb_proxy_stats stats;
	sb_registrations *regs;          /* owned: for operators (admin API) */
	unsigned timer_c_ms;  /* RFC 3261 §16.8 Timer C: 180 s, or the test
				 hook SB_TIMER_C_MS read at creation */
};

/* A request from a browser, forwarded to SIP through NTA. */
typedef struct sb_ctxn {
	sb_proxy *proxy;
	char *branch;              /* owned: the browser's Via branch (key) */
	sb_flow *flow;             /* owned ref */
	nta_outgoing_t *orq;       /* owned until the final response */
	sip_method_t method;
	char *call_id;             /* owned */
	bool final;
	bool provisional;          /* a 1xx came back */
	bool timed_out;            /* Timer C fired: we answered 408 and
				      CANCELled; later responses are dropped */
	GSource *timer_c;          /* owned: INVITE only (RFC 3261 §16.8) */
	char *timeout_text;        /* owned: the 408 Timer C sends (INVITE) */
	char **ws_vias;            /* owned (g_strfreev): the request's Vias as
				      the browser sent them, restored on
				      every response (NTA's own responses,
				      e.g. the 487 after a CANCEL, lack them) */
	bool had_credentials;      /* Authorization / Proxy-Authorization */
	char *auth_user;           /* owned: From user, for security logs */
} sb_ctxn;

/* A request from the SIP side, forwarded to a browser. */
typedef struct sb_stxn {
	sb_proxy *proxy;
	char *branch;              /* owned: our WS Via branch (key) */
	sb_flow *flow;             /* owned ref */
	nta_incoming_t *irq;       /* owned until the final response */
	sip_method_t method;
	char *call_id;             /* owned */
	msg_t *fwd;                /* owned: the request as sent to the browser
				      (CANCEL is built from it) */
	GSource *timer;            /* owned: Timer C / no-answer guard */
	bool final;
	bool cancelled;            /* the SIP side CANCELled it */
} sb_stxn;

/* proxy.c */
void sb_proxy_ws_send_msg(sb_flow *f, msg_t *msg);
void sb_proxy_ws_reply(sb_proxy *p, sb_flow *f, const sip_t *req, int status,
		       const char *phrase, const char *extra);
sb_dialog *sb_proxy_dialog(sb_proxy *p, const char *call_id);
void sb_proxy_dialog_end(sb_proxy *p, sb_dialog *d);
/* "sip:[user@]host:port;transport=T" + params (";lr...", may be NULL)
 * + ";sbf=token" (when token) of the listener facing peer, at the address
 * peer reaches it on (sip_face.h); NULL without listeners. */
char *sb_proxy_sip_uri(const sb_proxy *p, const sb_sip_peer *peer, const char *user,
		       const char *params, const char *token);
void sb_proxy_stxn_free(sb_stxn *t);
int sb_proxy_add_record_routes(sb_proxy *p, msg_t *msg, sip_t *sip, sb_flow *f,
			       const sb_sip_peer *peer, bool toward_sip);

/* proxy_sip.c */
int sb_proxy_sip_request(sb_proxy *p, msg_t *msg, sip_t *sip);
void sb_proxy_ws_response(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip);

/* proxy_info.c: an in-dialog INFO from the browser offered to the
 * hook's info() (DTMF -> RFC 4733). true: msg was taken (answered now
 * or later); false: forward it as any other request (msg untouched). */
bool sb_proxy_info_intercept(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip);

/* uas.c: local services (echo, conference rooms) answered by the gateway
 * itself. service_of() returns "echo" / "conf:NAME" in buf or NULL. */
const char *sb_uas_service_of(const sb_proxy *p, const sip_t *sip, char *buf,
			      size_t size);
void sb_uas_ws_request(sb_proxy *p, sb_flow *f, msg_t *msg, sip_t *sip,
		       const char *service, sb_dialog *d);
void sb_uas_sip_request(sb_proxy *p, msg_t *msg, sip_t *sip, const char *service,
			sb_dialog *d);

/* proxy_policy.c: who may connect and call where. */
void sb_proxy_policy_ws_closed(sb_proxy *p, sb_flow *f);
bool sb_proxy_policy_rate(sb_proxy *p, sb_flow *f);
/* 0 = allowed (*key: what the call is counted under, owned), or a SIP
 * status to refuse with and its phrase. f NULL = a call from SIP. */
int sb_proxy_policy_call(sb_proxy *p, sb_flow *f, const sip_t *sip, char **key,
			 const char **phrase);
void sb_proxy_policy_call_end(sb_proxy *p, sb_dialog *d);
bool sb_proxy_policy_sdp(const sb_proxy *p, const sip_t *sip, const char **why);
void sb_proxy_policy_auth_failed(const sb_ctxn *t, const sip_t *resp);

/* proxy_sdp.c: run the hook on msg's SDP (if any), then call then(). The
 * continuation owns msg from then on; status < 0 means the hook refused
 * the SDP (reply with sb_proxy_sdp_status()). */
typedef void (*sb_proxy_then)(sb_proxy *p, msg_t *msg, int status, void *ctx);
void sb_proxy_sdp(sb_proxy *p, sb_dialog *d, msg_t *msg, sb_side from,
		  sb_proxy_then then, void *ctx, GDestroyNotify ctx_free);
int sb_proxy_sdp_status(int err, const char **phrase);
/* Give an initial INVITE from SIP without SDP the gateway's own offer
 * (late offer, see proxy_sdp.c); family: where the INVITE came from
 * (AF_INET6, else IPv4). */
int sb_proxy_sdp_late_offer(msg_t *msg, sip_t *sip, int family);

#endif
