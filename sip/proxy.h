/* The transaction-stateful proxy between SIP over WebSocket (browsers)
 * and SIP over UDP/TCP/TLS through sofia-sip NTA (RFC 3261 §16, RFC 7118,
 * RFC 3327 Path, RFC 5658 double Record-Route). It is a proxy, not a
 * B2BUA: Request-URIs, authentication headers and non-SDP bodies pass
 * unchanged; SDP bodies cross the SDP hook. Signalling thread only. */
#ifndef SB_SIP_PROXY_H
#define SB_SIP_PROXY_H

#include <sofia-sip/nta.h>

#include "sip/auth_token.h"
#include "sip/dialog.h"
#include "sip/dialplan.h"
#include "sip/limits.h"
#include "sip/registrations.h"
#include "sip/sdp_hook.h"
#include "sip/sip_face.h"
#include "sip/sip_stack.h"
#include "sip/ws_transport.h"

typedef struct sb_proxy sb_proxy;

/* The gateway's own SIP listeners, as the stack was bound to them. */
typedef sb_sip_listen_spec sb_proxy_listen;

typedef struct sb_proxy_config {
	const char *outbound_proxy;      /* SIP URI or "" */
	const sb_proxy_listen *sip;      /* the gateway's SIP listeners */
	unsigned n_sip;
	const char *ws_host;             /* host for WS-side Via/Record-Route */
	/* what a wildcard SIP listener advertises when the route toward the
	 * peer is unknown (sip_face.h): the gateway's media addresses */
	sb_sip_face_fallback face_fallback;
	const char *svc_echo;            /* user part of the echo service */
	const char *svc_conf_prefix;     /* user prefix of conference rooms */
} sb_proxy_config;

typedef struct sb_proxy_stats {
	unsigned transactions;     /* client + server transactions in flight */
	unsigned dialogs;          /* INVITE dialogs (calls) alive */
	unsigned flows;            /* WebSocket flows */
	unsigned long long requests_ws;
	unsigned long long requests_sip;
	unsigned long long bad_messages;
	/* Cumulative, for the operators' counters: transactions finished
	 * (browser -> SIP client transactions, SIP -> browser server
	 * transactions), and final answers to browsers' REGISTERs by status
	 * class (index status / 100, 1..6). */
	unsigned long long txns_ws_to_sip, txns_sip_to_ws;
	unsigned long long register_final[7];
} sb_proxy_stats;

/* The proxy takes over the agent's message callback. Copies cfg. */
sb_proxy *sb_proxy_new(nta_agent_t *agent, const sb_proxy_config *cfg);
void sb_proxy_free(sb_proxy *p);

/* Routing settings that a reload may change. */
void sb_proxy_set_outbound(sb_proxy *p, const char *outbound_proxy);
void sb_proxy_set_services(sb_proxy *p, const char *echo, const char *conf_prefix);

/* Security settings (borrowed: keep the config alive; call again on
 * reload). NULL auth/dialplan = open. */
void sb_proxy_set_security(sb_proxy *p, const sb_auth_config *auth,
			   const sb_limits_config *limits, const sb_dialplan *dialplan);

/* The WebSocket upgrade gate (plug into sb_ws_handlers.on_upgrade). */
const char *sb_proxy_ws_upgrade(const sb_ws_upgrade *up, char *user, void *proxy);

/* A WebSocket message over the size limit (sb_ws_handlers.on_too_large):
 * answered 513 when its head parses as a request. */
void sb_proxy_ws_too_large(sb_ws_conn *c, const char *head, size_t len, void *proxy);

/* Install the media hook (copied). Without one, SDP passes unchanged. */
void sb_proxy_set_sdp_hook(sb_proxy *p, const sb_sdp_hook *hook);

/* WebSocket transport events (plug into sb_ws_handlers). */
void sb_proxy_ws_open(sb_ws_conn *c, void *proxy);
void sb_proxy_ws_message(sb_ws_conn *c, const char *buf, size_t len, void *proxy);
void sb_proxy_ws_close(sb_ws_conn *c, void *proxy);

/* NTA agent message callback (see sip/sip_stack.h). */
int sb_proxy_sip_message(void *proxy, nta_agent_t *agent, msg_t *msg, sip_t *sip);

/* End one call on both sides (media failure, RTP timeout, admin): BYE to
 * the browser and BYE or CANCEL toward SIP. */
void sb_proxy_end_call(sb_proxy *p, const char *call_id, const char *why);

/* Call records: called once per INVITE dialog as it ends, before it is
 * freed (the dialog is borrowed for the call). */
typedef void (*sb_proxy_call_ended_cb)(const sb_dialog *d, void *user_data);
void sb_proxy_set_call_observer(sb_proxy *p, sb_proxy_call_ended_cb cb, void *user_data);

/* Visit the live calls (read only; do not end calls from fn). */
void sb_proxy_foreach_call(sb_proxy *p, void (*fn)(const sb_dialog *d, void *ud),
			   void *ud);

/* Drain mode: new calls and registrations get 503, running ones go on. */
void sb_proxy_set_draining(sb_proxy *p, bool draining);
bool sb_proxy_draining(const sb_proxy *p);

/* End every call: CANCEL/BYE toward SIP (shutdown). */
void sb_proxy_end_all(sb_proxy *p, const char *reason);

void sb_proxy_get_stats(const sb_proxy *p, sb_proxy_stats *out);

/* The browsers' bindings accepted by a registrar through this proxy
 * (sip/registrations.h), lapsed ones dropped first. Borrowed: owned by
 * the proxy, valid until the next event of the signalling loop. */
sb_registrations *sb_proxy_registrations(sb_proxy *p);

#endif
