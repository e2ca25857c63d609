/* Helpers that edit a parsed SIP message for the proxy (RFC 3261 §16.6):
 * Via, Max-Forwards, Route/Record-Route with the gateway's flow token,
 * body replacement, serialisation, and locally generated responses for
 * the WebSocket side. They work on sofia msg_t objects only; no state, no
 * I/O. Signalling thread (sofia messages are not thread-safe). */
#ifndef SB_SIP_PROXY_MSG_H
#define SB_SIP_PROXY_MSG_H

#include <stdbool.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

/* URI parameter carrying the flow token in the gateway's own URIs. */
#define SB_FLOW_PARAM "sbf"

/* Parse one complete message from bytes (a WebSocket frame). Returns
 * NULL with *why set on a parse failure or a missing mandatory header;
 * the caller owns the result. */
msg_t *sb_pmsg_parse(const char *buf, size_t len, const char **why);

/* Serialise to a NUL-terminated string, g_free() it. */
char *sb_pmsg_to_string(msg_t *msg, size_t *len);

/* RFC 3261 §16.6 step 3: decrement Max-Forwards (add 70 if absent).
 * Returns -ELOOP when it was already 0 (reply 483). */
int sb_pmsg_max_forwards(msg_t *msg, sip_t *sip);

/* Remove the top Via (ours, on responses). */
void sb_pmsg_pop_via(msg_t *msg, sip_t *sip);

/* Insert a Via on top: "SIP/2.0/<proto> <host>;branch=<branch>". */
int sb_pmsg_push_via(msg_t *msg, sip_t *sip, const char *proto,
		     const char *host, const char *branch);

/* Flow token of a URI that is the gateway's own (has ;sbf=), copied into
 * buf; false if the URI is not ours. */
bool sb_pmsg_url_token(const url_t *url, char *buf, size_t size);

/* RFC 3261 §16.4: pop every leading Route that is ours. Returns the
 * token of the first one popped (copied into buf), or false if none. */
bool sb_pmsg_pop_own_routes(msg_t *msg, sip_t *sip, char *buf, size_t size);

/* Insert a Record-Route on top (uri given in full, with <>). */
int sb_pmsg_push_record_route(msg_t *msg, sip_t *sip, const char *uri);

/* Replace the Request-URI. */
int sb_pmsg_set_request_uri(msg_t *msg, sip_t *sip, const char *uri);

/* Replace the body (and Content-Length); body NULL/len 0 = empty. */
int sb_pmsg_set_body(msg_t *msg, sip_t *sip, const char *body, size_t len);

/* True when the message carries an SDP body. */
bool sb_pmsg_has_sdp(const sip_t *sip);

/* A response to `req` built as text, for the WebSocket side (sofia has no
 * WS transport to send it through). To gets a tag when it has none and
 * status > 100. extra: more header lines ending in CRLF, or NULL. */
char *sb_pmsg_response_text(const sip_t *req, int status, const char *phrase,
			    const char *to_tag, const char *extra);

/* The same with an SDP body (NULL = none). */
char *sb_pmsg_response_text_body(const sip_t *req, int status, const char *phrase,
				 const char *to_tag, const char *extra,
				 const char *sdp);

/* Fresh random branch "z9hG4bK..." into buf (>= 32 bytes). */
void sb_pmsg_branch(char *buf, size_t size);

#endif
