/* A media session: two legs (side 0 and side 1: WEBRTC, RTP, or a local
 * service leg: ECHO, later CONF) and the media path between them: a
 * relay that rewrites payload type, SSRC, sequence number and timestamp
 * (continuous across re-offers) without decoding, or, when the two sides
 * share no codec, one transcoder (transcoding/xcode.h) per direction.
 * Offer/answer (RFC 3264) in terms of sb_media_desc: the gateway turns
 * SDP into descs and back; this module never sees SDP text.
 *
 * Codec policy (zero config, webrtc/codec_policy.h):
 *  - relay when the offer's codecs and what the answerer takes share one
 *    (PCMU, PCMA, G722, opus; telephone-event at the same clock);
 *  - offer toward a plain-RTP side: the offerer's relayable codecs (its
 *    order and PTs) plus PCMU and PCMA whenever the offer holds Opus, and
 *    telephone-event/8000 when the offer had DTMF. If the answerer picks
 *    a codec the offerer did not offer, Opus <-> that codec is
 *    transcoded;
 *  - offer toward a WebRTC side without Opus in it: Opus first (mono,
 *    useinbandfec=1, maxplaybackrate/sprop-maxcapturerate 8000 for
 *    G.711, 16000 for G.722), then the offerer's codecs, and
 *    telephone-event/48000 beside the offerer's /8000. The browser
 *    answering Opus means transcoding to the offerer's first narrow codec;
 *  - an answer toward the offerer only lists codecs it offered.
 * Opus is decoded/encoded at the narrow side's rate (no resampler); DTMF
 * (RFC 4733) is mapped across clocks when transcoding and relayed by PT
 * when both sides use one clock. Transcoding output is pulled by one
 * timer per session at the output ptime.
 *
 * Admission: each worker thread transcodes at most max_transcoded
 * sessions at once. When full, offers carry only relayable codecs; an
 * offer that only a transcoder could bring to a SIP side (Opus alone),
 * or an answer that needs one, gets -EBUSY (the gateway answers 503 with
 * Retry-After). No shared codec: -ENOTSUP (488).
 *
 * Thread: all of it lives on one media worker. Create, call and free it
 * only on the thread that runs worker_ctx (the gateway posts closures
 * there). No locks; no allocation per packet. The event callback runs on
 * the worker; it must not free the session (post the teardown instead). */
#ifndef SB_WEBRTC_MEDIA_SESSION_H
#define SB_WEBRTC_MEDIA_SESSION_H

#include <stdint.h>
#include <glib.h>

#include "transcoding/xcode.h"
#include "webrtc/cert.h"
#include "webrtc/leg.h"
#include "webrtc/media_desc.h"

typedef enum {
	SB_LEG_KIND_WEBRTC = 0,   /* ICE + DTLS-SRTP, browser side */
	SB_LEG_KIND_RTP,          /* plain RTP/AVP, SIP side */
	SB_LEG_KIND_ECHO,         /* local echo service (answer_locally) */
	SB_LEG_KIND_CONF,         /* conference participant (answer_locally)
				   * in room sb_media_params.conf_room */
} sb_leg_kind;

/* Transcoded sessions per worker when sb_media_params.max_transcoded
 * (media.max_transcoded) is 0: what one worker core carries with room
 * to spare in the transcoding benchmark on the 2-vCPU test VM (150 at
 * 72 %, 200 at 95 % of the core; doc/BENCHMARKS.md), so that a full
 * worker refuses new transcoded calls instead of making every call
 * late. Faster cores carry more: raise media.max_transcoded there. */
#define SB_MEDIA_MAX_TRANSCODED_DEFAULT 150

typedef struct sb_media_params {
	const char *media_addr;   /* media.address (bind + host candidate) */
	const char *public_addr;  /* media.public_address, NULL/"" = none */
	const char *alt_addr;     /* RTP legs: sb_config.media_address_alt */
	int sip_family;           /* RTP legs: family to start in, 0 = media_addr's */
	uint16_t port_min;        /* media.rtp_ports */
	uint16_t port_max;
	const char *srflx_addr;   /* mapped IP learnt from media.stun_server, NULL/"" */
	unsigned rtp_timeout_ms;  /* RTP leg inactivity timeout, 0 = off */
	sb_cert *cert;            /* shared identity; referenced */
	sb_leg_kind kind[2];      /* leg kind of side 0 and side 1 */
	/* a=setup of WebRTC offers we make (default ACTPASS); a load
	 * generator that must be DTLS client offers ACTIVE */
	sb_md_setup webrtc_offer_setup;
	/* transcoded sessions this worker may hold at once (all sessions of
	 * a worker should pass the same value); 0 = the default above */
	unsigned max_transcoded;
	unsigned echo_delay_ms;      /* ECHO leg: delay before echoing, 0..2000 */
	const char *conf_room;       /* CONF leg: room name, per worker */
	/* WebRTC leg: no datagram (SRTP, SRTCP, DTLS) from the browser for
	 * this long once connected = consent lost (RFC 7675 §5.1), reported
	 * as SB_MEDIA_EV_ICE_FAILED; 0 = 30000 ms */
	unsigned consent_timeout_ms;
	/* media.prefer_opus: toward a browser, Opus even where the phone's
	 * G.711/G.722 is shared (transcoded, capacity permitting); false =
	 * relay whenever the two sides share a codec */
	bool prefer_opus;
	/* media.jitter_buffer: transcoded audio goes through a jitter
	 * buffer and out on the output ptime's clock (20+ ms of delay).
	 * false (default): each frame is transcoded and sent as it arrives,
	 * as a relayed one would be, and the endpoints' own jitter buffers
	 * smooth it (sb_xcode_cfg.use_jitter). */
	bool jitter_buffer;
	/* media.opus_low_delay: the Opus encoder toward a browser runs
	 * CELT only (half SILK's CPU, 4 ms less look-ahead) until the
	 * browser reports loss, then SILK with in-band FEC
	 * (sb_codec_params.low_delay); false = SILK from the start */
	bool opus_low_delay;
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
 * missing fingerprint/ICE credentials), -ENOTSUP (no codec we relay or
 * transcode), -EBUSY (an offer is already pending, or transcoding
 * capacity is full and the offer needs it: see Admission), -EINVAL (the
 * other side is a local leg: use sb_media_session_answer_locally). */
int sb_media_session_remote_offer(sb_media_session *s, int side,
				  const sb_media_desc *offer,
				  sb_media_desc *offer_for_other_side);

/* The peer on `side` answered the offer we forwarded to it. Fills
 * answer_for_other_side for the original offerer, and starts relaying
 * or transcoding.
 * After sb_media_session_local_offer(side) there is no other-side offer
 * to answer: answer_for_other_side may then be NULL and is not written.
 * 0, -EPROTO, -ENOTSUP (answer chose nothing we offered), -ENOENT (no
 * offer pending toward that side), -EBUSY (the answer needs transcoding
 * and this worker is at capacity; the media stays as it was). */
int sb_media_session_remote_answer(sb_media_session *s, int side,
				   const sb_media_desc *answer,
				   sb_media_desc *answer_for_other_side);

/* A final answer from `side` that differs from the early one it follows
 * (RFC 3261 §13.2.1 wants the same; a forked INVITE answered by another
 * branch, or a UAS that moved its media, sends another): the side's leg
 * follows the new address and direction, and the codecs chosen with the
 * early answer stay, so what the other side was answered stays true.
 * 0, -EBUSY (an offer is pending, or nothing was negotiated), -EPROTO
 * (the new answer lacks the chosen codec, or is unusable). */
int sb_media_session_update_answer(sb_media_session *s, int side,
				   const sb_media_desc *ans);

/* Make an offer of our own toward `side` (late-offer INVITE, refresh):
 * the negotiated codec if there is one, else every codec we relay.
 * 0, -EBUSY (an offer is pending), or a leg error. */
int sb_media_session_local_offer(sb_media_session *s, int side,
				 sb_media_desc *offer);

/* Answer an offer from the peer on `side` directly, when the other side
 * is a local service leg (SB_LEG_KIND_ECHO or SB_LEG_KIND_CONF), as
 * the gateway does for sip:echo@ and conference URIs. The answer holds
 * our transport (ICE/DTLS or RTP address), the first of Opus, G722,
 * PCMU, PCMA in the caller's offer order (with its PT and fmtp), and the
 * caller's telephone-event at that codec's clock if it offered one; the
 * direction mirrors the offer's. No transcoding in the session: the
 * echo sends back what it received, in the same codec; a conference leg
 * decodes and encodes that codec itself (16 kHz mix). Also used for
 * re-offers (hold/resume) on such a session.
 * 0, -EINVAL (side bad, or the other side is not a local leg), -EPROTO
 * (unusable offer), -ENOTSUP (none of those codecs), -EBUSY (an offer
 * is pending, or the conference room is full), -ESHUTDOWN (closed). */
int sb_media_session_answer_locally(sb_media_session *s, int side,
				    const sb_media_desc *offer,
				    sb_media_desc *answer);

/* RFC 4733 volume of the events sb_media_session_send_dtmf makes
 * (-10 dBm0, what common phones send). */
#define SB_MEDIA_DTMF_VOLUME 10

/* Send one DTMF digit ('0'-'9', '*', '#', 'A'-'D') as RFC 4733
 * telephone-events on `side`'s leg, with the telephone-event PT and
 * clock that side negotiated, lasting duration_ms (40 ms .. 0xffff
 * units). The events share the leg's SSRC and sequence numbers with the
 * audio (relayed or transcoded) and start at "now" on its timeline: a
 * marker packet, a duration update every ptime, then three end packets;
 * audio toward that side is held back while an event plays. A digit
 * asked for while one is playing is queued (SB_MS_DTMF_QUEUE).
 * 0, -EINVAL (side or digit), -ENOTSUP (no telephone-event negotiated
 * on that side), -ENOTCONN (no media negotiated yet, peer on hold, or
 * closed), -EBUSY (queue full). */
int sb_media_session_send_dtmf(sb_media_session *s, int side, char digit,
			       unsigned duration_ms);

/* Digits sb_media_session_send_dtmf finished sending on `side`. */
uint64_t sb_media_session_dtmf_sent(const sb_media_session *s, int side);

/* True while the session transcodes (the codecs of the two sides
 * differ). */
bool sb_media_session_transcoding(const sb_media_session *s);

/* Transcoder counters of the direction from side `from` to the other
 * side: 0, or -ENOENT when not transcoding. */
int sb_media_session_xcode_stats(const sb_media_session *s, int from,
				 sb_xcode_stats *out);

/* Counters of one side's leg; borrowed, valid until free. */
const sb_leg_stats *sb_media_session_stats(const sb_media_session *s,
					   int side);

/* One side's leg, read only (its receive statistics, RFC 3550 A.3/A.8,
 * give the call quality figures); borrowed, valid until free. Worker
 * thread. */
const sb_leg *sb_media_session_leg(const sb_media_session *s, int side);

/* Stop both legs (DTLS close_notify goes out); idempotent; no event
 * fires afterwards. */
void sb_media_session_close(sb_media_session *s);

/* Close if needed, then release. NULL is a no-op. */
void sb_media_session_free(sb_media_session *s);

#endif
