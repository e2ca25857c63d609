/* The one interface every SDP body crosses on its way through the proxy,
 * in both directions, so that media anchoring can rewrite it. The proxy
 * holds the SIP message until the hook answers (the answer may come
 * later: media sessions live on worker threads). With no hook installed
 * bodies pass unchanged. Signalling thread only. */
#ifndef SB_SIP_SDP_HOOK_H
#define SB_SIP_SDP_HOOK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	SB_SIDE_WS = 0,   /* the browser, over WebSocket */
	SB_SIDE_SIP = 1,  /* the SIP trunk / PBX / phone */
} sb_side;

typedef enum {
	SB_SDP_OFFER,
	SB_SDP_ANSWER,
} sb_sdp_kind;

typedef struct sb_sdp_event {
	const char *call_id;      /* identifies the call (one media session) */
	const char *tag;          /* log tag of the call */
	sb_side from;             /* side that sent this SDP */
	sb_sdp_kind kind;         /* offer or answer (RFC 3264) */
	bool early;               /* in a provisional response (183) */
	bool initial;             /* first offer of the call */
	const char *method;       /* request method, or of the CSeq for responses */
	int status;               /* 0 for requests, else the response status */
	/* Non-NULL when the far end is a local service ("echo", or
	 * "conf:NAME"): the hook answers the offer itself, and the body it
	 * returns is the answer to send back to `from`. */
	const char *service;
	/* RFC 3261 §13.2.1 late offer from SIP (its INVITE had no SDP; the
	 * proxy offered to the browser on its behalf with a placeholder
	 * offer "from SIP": every bridged codec at 127.0.0.1:9). Set on the
	 * browser's answer in the 2xx: the body returned goes to SIP as an
	 * OFFER, and SIP's answer follows in the ACK (from SB_SIDE_SIP,
	 * kind SB_SDP_ANSWER, method "ACK"; that ACK reaches the browser
	 * without SDP, so the body returned for it is dropped). */
	bool late_offer;
	/* Address family of the SIP side when known (AF_INET, AF_INET6;
	 * 0 = unknown): the browser's INVITE went to an IP literal, or the
	 * SIP side's INVITE came from such an address. The media anchor
	 * offers toward SIP in that family (SIP's own offer: its c=). */
	int sip_family;
	const char *body;         /* the SDP, not NUL-terminated */
	size_t len;
} sb_sdp_event;

/* Completion: status 0 and new_body (owned, g_free; NULL = unchanged), or
 * a negative errno (-ENOTSUP no common codec → 488, -EBUSY → 503,
 * -EPROTO bad SDP → 488/400). Call exactly once. */
typedef void (*sb_sdp_done_cb)(int status, char *new_body, void *done_data);

/* An INFO request (RFC 6086) the browser sent inside a call through the
 * gateway, before the proxy forwards it to SIP. Strings borrowed for the
 * duration of the info() call. */
typedef struct sb_info_event {
	const char *call_id;
	const char *tag;          /* log tag of the call */
	const char *content_type; /* media type without parameters; NULL
				   * when there is no body */
	const char *body;         /* not NUL-terminated */
	size_t len;
} sb_info_event;

/* Completion of a taken INFO: 0 = done (the proxy answers 200), or a
 * negative errno (-ENOTSUP / -ENOTCONN → 488, -EBUSY → 503, others →
 * 500). Call exactly once; may be called from inside info(). */
typedef void (*sb_info_done_cb)(int status, void *done_data);

typedef struct sb_sdp_hook {
	/* Rewrite one SDP. May call done synchronously. */
	void (*process)(void *hook_data, const sb_sdp_event *ev,
			sb_sdp_done_cb done, void *done_data);
	/* An INFO from the browser in a call (NULL: every INFO passes).
	 * Returns 0: not taken, the proxy forwards it unchanged and done is
	 * never called; 1: taken (DTMF turned into RFC 4733 toward SIP),
	 * done is called exactly once; a negative errno: refused now, the
	 * proxy answers as for done and done is never called. */
	int (*info)(void *hook_data, const sb_info_event *ev,
		    sb_info_done_cb done, void *done_data);
	/* The call is over (any reason): release its media. */
	void (*call_end)(void *hook_data, const char *call_id);
	void *hook_data;
} sb_sdp_hook;

#endif
