/* INVITE dialogs as the proxy sees them: enough state to end a call on
 * the SIP side when its WebSocket goes away (CANCEL before answer, BYE
 * after, RFC 3261 §9, §15) and to track the SDP offer/answer exchange for
 * the media hook. Keyed by Call-ID (one media session per call; forked
 * early dialogs share it). Signalling thread only. */
#ifndef SB_SIP_DIALOG_H
#define SB_SIP_DIALOG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "sip/flow.h"
#include "sip/sdp_hook.h"

typedef enum {
	SB_DLG_EARLY,        /* INVITE sent, no 2xx yet */
	SB_DLG_CONFIRMED,    /* 2xx seen */
	SB_DLG_TERMINATED,   /* BYE, final non-2xx, CANCEL done */
} sb_dlg_state;

typedef struct sb_dialog {
	char *call_id;             /* owned; table key */
	char tag[9];               /* log tag */
	sb_flow *flow;             /* owned ref */
	bool ws_is_caller;         /* the browser sent the INVITE */
	sb_dlg_state state;

	/* To end the call toward SIP (all owned strings, "" if unknown): */
	char *ws_party;            /* the browser's From/To header value (with tag) */
	char *sip_party;           /* the SIP side's header value (with tag) */
	char *sip_target;          /* remote target on the SIP side (Contact URI) */
	GPtrArray *sip_routes;     /* route set toward SIP, "<uri>" strings */
	uint32_t ws_cseq;          /* highest CSeq the browser used */
	char *ws_target;           /* the browser's Contact URI */
	uint32_t sip_cseq;         /* highest CSeq the SIP side used */

	nta_outgoing_t *invite_orq;   /* borrowed: pending INVITE toward SIP */
	nta_incoming_t *invite_irq;   /* borrowed: pending INVITE from SIP */

	/* RFC 3264 state for the SDP hook */
	int offer_from;            /* side with an outstanding offer, or -1 */
	bool early_answer_seen;    /* an answer came in a 1xx */
	bool had_offer;            /* any offer seen (initial vs re-offer) */
	int sip_family;            /* AF_INET6 / AF_INET: where the browser's
				    * INVITE went when an IP literal, or
				    * where SIP's INVITE came from; else 0 */
	bool late_offer;           /* the SIP side's INVITE had no SDP: the
				      gateway offered to the browser on its
				      behalf and the SIP answer comes in the
				      ACK (proxy_sdp.c) */

	/* Local services: the gateway is the UAS (sip/uas.c). */
	char *service;             /* owned: "echo", "conf:NAME", or NULL */
	char local_tag[24];        /* our To tag as that UAS */
	char *limit_key;           /* owned: counted in the call limits
				      under this key ("" = total only) */

	gint64 created_us;

	/* For call records (gateway/cdr.c) and the admin API. */
	gint64 created_real_us;    /* g_get_real_time() at the INVITE */
	gint64 answered_real_us;   /* 0 = never answered */
	int final_status;          /* final response to the INVITE, 0 = none yet */
	sb_side ended_by;          /* valid when end_reason is set */
	bool ended_by_gateway;
	char *end_reason;          /* owned, NULL until known */
} sb_dialog;

sb_dialog *sb_dialog_new(const char *call_id, sb_flow *flow, bool ws_is_caller);
void sb_dialog_free(sb_dialog *d);

/* Record what a request or response in this dialog tells about the SIP
 * side: remote target, route set (from Record-Route, skipping the
 * gateway's own entries), parties with tags, CSeq numbers. from_ws: the
 * message came from the browser. */
void sb_dialog_learn(sb_dialog *d, const sip_t *sip, bool from_ws);

/* Text of a BYE toward the SIP side, or NULL if not enough is known.
 * Also returns the next-hop URI (first route or the target). */
char *sb_dialog_bye_text(sb_dialog *d, const char *reason, char **next_hop);

/* The same for the ACK of the 2xx to the INVITE with CSeq invite_cseq,
 * when the gateway must answer that 2xx itself. */
char *sb_dialog_ack_text(sb_dialog *d, uint32_t invite_cseq, char **next_hop);

/* The INVITE got its 2xx. */
void sb_dialog_answered(sb_dialog *d);

/* Record who ended the call and why (first call wins). by_gateway: the
 * gateway itself (media failure, shutdown, admin). */
void sb_dialog_set_end(sb_dialog *d, sb_side by, bool by_gateway, const char *reason);

/* Text of a BYE toward the browser (sent over its WebSocket with our own
 * Via), or NULL if not enough is known. */
char *sb_dialog_bye_ws_text(sb_dialog *d, const char *via, const char *reason);

#endif
