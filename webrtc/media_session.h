/* A media session: two legs (side 0 and side 1, each WEBRTC or RTP) and a
 * relay in both directions that rewrites payload type, SSRC, sequence
 * number and timestamp (continuous across re-offers) without decoding.
 * Offer/answer (RFC 3264) in terms of sb_media_desc: the gateway turns
 * SDP into descs and back; this module never sees SDP text.
 *
 * Codec policy (relay only, for now): PCMU, PCMA, G722, opus and
 * telephone-event are relayed when both sides share them. The offer we
 * forward lists the offerer's usable codecs in the offerer's order with
 * the offerer's payload types; the answer we return holds the codec the
 * answerer chose (plus telephone-event at the same clock) mapped to the
 * offerer's payload types. No shared codec: -ENOTSUP (the gateway
 * answers 488).
 *
 * Thread: all of it lives on one media worker. Create, call and free it
 * only on the thread that runs worker_ctx (the gateway posts closures
 * there). No locks; no allocation per packet. The event callback runs on
 * the worker; it must not free the session (post the teardown instead). */
#ifndef SB_WEBRTC_MEDIA_SESSION_H
#define SB_WEBRTC_MEDIA_SESSION_H

#include <stdint.h>
#include <glib.h>

#include "webrtc/cert.h"
#include "webrtc/leg.h"
#include "webrtc/media_desc.h"

typedef enum {
	SB_LEG_KIND_WEBRTC = 0,   /* ICE + DTLS-SRTP, browser side */
	SB_LEG_KIND_RTP,          /* plain RTP/AVP, SIP side */
} sb_leg_kind;

typedef struct sb_media_params {
	const char *media_addr;   /* media.address (bind + host candidate) */
	const char *public_addr;  /* media.public_address, NULL/"" = none */
	uint16_t port_min;        /* media.rtp_ports */
	uint16_t port_max;
	const char *stun_server;  /* media.stun_server "IP:port", NULL/"" */
	unsigned rtp_timeout_ms;  /* RTP leg inactivity timeout, 0 = off */
	sb_cert *cert;            /* shared identity; referenced */
	sb_leg_kind kind[2];      /* leg kind of side 0 and side 1 */
	/* a=setup of WebRTC offers we make (default ACTPASS); a load
	 * generator that must be DTLS client offers ACTIVE */
	sb_md_setup webrtc_offer_setup;
} sb_media_params;

typedef enum {
	SB_MEDIA_EV_CONNECTED = 0,   /* a leg can carry media now */
	SB_MEDIA_EV_MEDIA_STARTED,   /* first RTP received on a leg */
	SB_MEDIA_EV_ICE_FAILED,
	SB_MEDIA_EV_DTLS_FAILED,     /* reason e.g. "fingerprint mismatch" */
	SB_MEDIA_EV_RTP_TIMEOUT,
	SB_MEDIA_EV_PEER_CLOSED,     /* browser sent DTLS close_notify */
} sb_media_event;

typedef struct sb_media_session sb_media_session;

/* side: 0 or 1, the leg that reported; reason may be NULL. */
typedef void (*sb_media_event_cb)(sb_media_session *s, int side,
				  sb_media_event ev, const char *reason,
				  void *user_data);

/* Create both legs (sockets bound, ICE gathered where needed). Returns
 * the new session (owned by the caller) or NULL with *err set
 * (-EINVAL, -EADDRINUSE when the port range is exhausted, -EIO). */
sb_media_session *sb_media_session_new(const sb_media_params *p,
				       GMainContext *worker_ctx,
				       sb_media_event_cb cb, void *user_data,
				       int *err);

/* The peer on `side` offered (initial offer or re-offer: hold, resume,
 * ICE restart). Fills offer_for_other_side with what to send to the
 * other side's peer. 0, -EPROTO (unusable offer: wrong transport,
 * missing fingerprint/ICE credentials), -ENOTSUP (no codec we relay),
 * -EBUSY (an offer is already pending). */
int sb_media_session_remote_offer(sb_media_session *s, int side,
				  const sb_media_desc *offer,
				  sb_media_desc *offer_for_other_side);

/* The peer on `side` answered the offer we forwarded to it. Fills
 * answer_for_other_side for the original offerer, and starts relaying.
 * After sb_media_session_local_offer(side) there is no other-side offer
 * to answer: answer_for_other_side may then be NULL and is not written.
 * 0, -EPROTO, -ENOTSUP (answer chose nothing we offered), -ENOENT (no
 * offer pending toward that side). */
int sb_media_session_remote_answer(sb_media_session *s, int side,
				   const sb_media_desc *answer,
				   sb_media_desc *answer_for_other_side);

/* Make an offer of our own toward `side` (late-offer INVITE, refresh):
 * the negotiated codec if there is one, else every codec we relay.
 * 0, -EBUSY (an offer is pending), or a leg error. */
int sb_media_session_local_offer(sb_media_session *s, int side,
				 sb_media_desc *offer);

/* Counters of one side's leg; borrowed, valid until free. */
const sb_leg_stats *sb_media_session_stats(const sb_media_session *s,
					   int side);

/* Stop both legs (DTLS close_notify goes out); idempotent; no event
 * fires afterwards. */
void sb_media_session_close(sb_media_session *s);

/* Close if needed, then release. NULL is a no-op. */
void sb_media_session_free(sb_media_session *s);

#endif
