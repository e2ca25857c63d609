/* A media leg: one side of a media session (a browser over ICE/DTLS-SRTP,
 * a SIP phone over plain RTP, later an echo or a conference). Every kind
 * sits behind sb_leg_ops so the session and the relay never special-case
 * one. The common part (callbacks, SSRC, RTCP counters) lives in struct
 * sb_leg, embedded first in each implementation.
 *
 * Thread: a leg and everything it owns live on one media worker
 * (GMainContext); every function and callback runs there. Callbacks
 * may call sb_leg_close but must not free the leg (do that from an idle
 * source, see STYLE.md §2.6). */
#ifndef SB_WEBRTC_LEG_H
#define SB_WEBRTC_LEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

#include "webrtc/cert.h"
#include "webrtc/media_desc.h"
#include "webrtc/rtcp.h"
#include "webrtc/ticker.h"
#include "webrtc/rtp.h"

/* Receive buffers: the largest UDP payload we accept plus room for an
 * SRTP trailer, so a packet can be relayed and protected in place. */
#define SB_LEG_MTU 1500
#define SB_LEG_BUF (SB_LEG_MTU + 144)

/* Work buffers of SB_LEG_BUF bytes for the packet path, one set per
 * thread: a worker handles one datagram at a time and no receive runs
 * inside another, so per-call buffers (8 KiB a call) would only ever be
 * used one at a time. RX: a received packet being decrypted and
 * delivered (the forwarding path may protect it in place); RTCP: a
 * report received or being built; TX: a transcoded packet being sent.
 * Valid until the callback that took it returns. */
typedef enum {
	SB_LEG_SCRATCH_RX = 0,
	SB_LEG_SCRATCH_RTCP,
	SB_LEG_SCRATCH_TX,
	SB_LEG_SCRATCHES
} sb_leg_scratch_kind;
uint8_t *sb_leg_scratch(sb_leg_scratch_kind k);
#define SB_LEG_RTCP_INTERVAL_MS 5000
#define SB_LEG_RTCP_FIRST_MS 1000

typedef struct sb_leg sb_leg;

typedef enum {
	SB_LEG_EV_CONNECTED = 0,   /* transport ready to carry media */
	SB_LEG_EV_MEDIA_STARTED,   /* first valid RTP packet received */
	SB_LEG_EV_ICE_FAILED,
	SB_LEG_EV_DTLS_FAILED,     /* reason: e.g. "fingerprint mismatch" */
	SB_LEG_EV_RTP_TIMEOUT,     /* no RTP for the configured time */
	SB_LEG_EV_PEER_CLOSED,     /* DTLS close_notify from the peer */
} sb_leg_event;

/* One plain RTP packet received: buf holds len bytes, has cap bytes of
 * room (cap - len >= SRTP trailer) and may be rewritten in place and
 * handed to another leg's send_rtp. h is the parsed view. */
typedef void (*sb_leg_recv_cb)(sb_leg *leg, uint8_t *buf, size_t len,
			       size_t cap, const sb_rtp_hdr *h,
			       void *user_data);
typedef void (*sb_leg_event_cb)(sb_leg *leg, sb_leg_event ev,
				const char *reason, void *user_data);

typedef struct sb_leg_ops {
	const char *name;       /* "webrtc", "rtp", ... */
	/* Fill the transport part of our description (proto, addr, port,
	 * rtcp, ICE, DTLS, ssrc, cname). offer: we are the offerer. Codecs,
	 * direction and mid are the session's business. 0 or -errno. */
	int (*get_local)(sb_leg *leg, bool offer, sb_media_desc *d);
	/* Apply the peer's description; offer: it is an offer we will
	 * answer (else the answer to our offer). 0, -EINVAL, -EPROTO. */
	int (*set_remote)(sb_leg *leg, bool offer, const sb_media_desc *d);
	/* Send one plain RTP packet (cap - len >= SRTP trailer; buf may be
	 * modified). 0, or -EAGAIN when the transport is not ready (the
	 * packet is dropped: no media before keys). */
	int (*send_rtp)(sb_leg *leg, uint8_t *buf, size_t len, size_t cap);
	void (*close)(sb_leg *leg);   /* idempotent; silent afterwards */
	void (*free)(sb_leg *leg);    /* after close */
} sb_leg_ops;

/* Counters reported to the admin API and used for RTCP (RFC 3550 §6.4). */
typedef struct sb_leg_stats {
	uint64_t rx_packets, rx_octets;   /* valid RTP received (payload) */
	uint64_t tx_packets, tx_octets;   /* RTP sent (payload) */
	uint64_t rx_dropped;              /* failed auth, malformed, strangers */
	uint64_t rx_strangers;            /* of those: RTP leg, not from the
					   * latched source (a WebRTC leg
					   * never sees them: ICE drops data
					   * from anything but the selected
					   * pair) */
	uint64_t rx_replayed;             /* of those: SRTP replays */
	uint64_t tx_dropped;              /* not sent: transport not ready */
	uint64_t rtcp_rx, rtcp_tx;
	uint64_t stun_rx;                 /* WebRTC: peer's checks answered
					   * by the gateway after nomination */
	uint64_t consent_ok;              /* WebRTC: our RFC 7675 requests
					   * the peer answered */
	uint64_t peer_reports;            /* report blocks on our stream */
	uint8_t peer_fraction_lost;       /* the newest one's (RFC 3550
					   * §6.4.1, 8-bit fixed point) */
	uint32_t rtt_us;                  /* newest round trip from the
					   * peer's reports on our stream
					   * (RFC 3550 §6.4.1); 0 = none yet */
} sb_leg_stats;

/* Per-packet processing time: from handing a received, decrypted packet
 * to the owner until the owner returns (transcoding, the other leg's
 * encryption and send happen inside). Non-cumulative counts per bucket
 * of upper bound sb_leg_proc_bounds_ns[i]; [SB_LEG_PROC_BUCKETS] counts
 * the rest. The bounds are those of the operators' histogram
 * sipbridge_packet_processing_seconds. Plain counters: the worker owns
 * them, the packet path neither locks nor allocates. */
#define SB_LEG_PROC_BUCKETS 8
extern const uint32_t sb_leg_proc_bounds_ns[SB_LEG_PROC_BUCKETS];
typedef struct sb_leg_proc_time {
	uint64_t count[SB_LEG_PROC_BUCKETS + 1];
	uint64_t sum_ns;
} sb_leg_proc_time;

/* Count one packet that took ns. Pure. */
void sb_leg_proc_add(sb_leg_proc_time *p, uint64_t ns);

struct sb_leg {
	const sb_leg_ops *ops;
	sb_leg_recv_cb recv_cb;       /* set by the owner (session) */
	sb_leg_event_cb event_cb;
	void *user_data;
	GMainContext *ctx;            /* ref */
	uint32_t ssrc;                /* what we send = what we announce */
	char cname[64];
	uint32_t clock;               /* RTP clock of the negotiated codec */
	bool media_started;
	bool closed;
	uint32_t sr_sent[4];          /* middle NTP words of our last SRs:
				       * a report's LSR must name one */
	unsigned n_sr_sent;
	gint64 first_tx_real;         /* wall clock µs of the first RTP
				       * sent; 0 = none yet */
	char remote[128];             /* where media goes, for operators:
				       * "IP:PORT" (RTP leg: latched source,
				       * else the SDP's), or the selected
				       * ICE pair; "" unknown */
	sb_leg_stats stats;
	sb_leg_proc_time proc;        /* what delivering a packet took */
	sb_rtcp_rx rx;                /* the remote source we receive */
	uint32_t last_tx_ts;          /* RTP ts of the last packet sent */
	gint64 last_tx_time;          /* monotonic µs of that packet */
	uint64_t tx_packets_at_report;
	sb_ticker *ticker;            /* ref: the worker's shared ticks */
	sb_tick *rtcp_tick;           /* owned by ticker */
	void (*rtcp_send)(sb_leg *leg);
	bool rtcp_first;              /* rtcp_tick is the early first one */
};

/* Parameters every leg kind takes; strings are copied. */
typedef struct sb_leg_params {
	GMainContext *ctx;            /* the worker's context (required) */
	const char *media_addr;       /* bind address, IP literal */
	const char *public_addr;      /* advertised instead; NULL/"" */
	/* rtp: bind address for a peer of the other address family than
	 * media_addr's (NULL/"" = none), and the family to start in (0 =
	 * media_addr's): see sb_rtp_leg_new */
	const char *alt_addr;
	int family;
	uint16_t port_min, port_max;  /* 0,0 = any */
	const char *srflx_addr;       /* webrtc: our mapped IP or NULL (ice.h) */
	unsigned rtp_timeout_ms;      /* rtp: 0 = no inactivity timeout */
	sb_cert *cert;                /* webrtc: required, referenced */
	uint32_t ssrc;                /* 0 = random */
	const char *cname;            /* NULL = random */
	/* webrtc: a=setup when we offer (ACTPASS unless set); an offerer
	 * that must be DTLS client (a load generator) offers ACTIVE. */
	sb_md_setup offer_setup;
	const char *srtp_profiles;    /* webrtc: NULL = GCM then CM_80 */
	unsigned consent_timeout_ms;  /* webrtc: 0 = 30000 (RFC 7675) */
	unsigned echo_delay_ms;       /* echo: 0..SB_ECHO_MAX_DELAY_MS */
	const char *conf_room;        /* conf: room name (required) */
} sb_leg_params;

/* Echo leg: the longest delay, and its ring (packets held at once). */
#define SB_ECHO_MAX_DELAY_MS 2000
#define SB_ECHO_RING 128

/* Constructors for the kinds in this folder. 0 or -errno. */
int sb_webrtc_leg_new(const sb_leg_params *p, sb_leg **out);
int sb_rtp_leg_new(const sb_leg_params *p, sb_leg **out);
/* A local echo: what the session sends to it comes back as received
 * media after echo_delay_ms (-EINVAL above SB_ECHO_MAX_DELAY_MS). Holds
 * at most SB_ECHO_RING packets (more in flight are dropped and counted
 * in tx_dropped); buffers are allocated at creation. */
int sb_echo_leg_new(const sb_leg_params *p, sb_leg **out);
/* A conference participant in room p->conf_room of this worker thread
 * (created with its first participant, freed with its last). It joins
 * the mix when set_remote gives it the negotiated codec (codecs[0]:
 * PCMU, PCMA, G722 or opus; else -ENOTSUP; -EBUSY when the room holds
 * 32); from then on it returns the mix of the others every 20 ms as
 * received RTP in that codec. */
int sb_conf_leg_new(const sb_leg_params *p, sb_leg **out);
/* Participants mixed in this worker's room `name` (0 if none). */
unsigned sb_conf_room_count(const char *name);

/* Dispatch helpers. */
void sb_leg_set_callbacks(sb_leg *leg, sb_leg_recv_cb recv_cb,
			  sb_leg_event_cb event_cb, void *user_data);
int sb_leg_get_local(sb_leg *leg, bool offer, sb_media_desc *d);
int sb_leg_set_remote(sb_leg *leg, bool offer, const sb_media_desc *d);
int sb_leg_send_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap);
void sb_leg_close(sb_leg *leg);
void sb_leg_free(sb_leg *leg);          /* closes first; NULL ok */
const sb_leg_stats *sb_leg_get_stats(const sb_leg *leg);

/* --- for leg implementations --- */

/* Initialise the common part (ssrc/cname random when not given). */
void sb_leg_base_init(sb_leg *leg, const sb_leg_ops *ops,
		      const sb_leg_params *p);
void sb_leg_base_close(sb_leg *leg);    /* stops the RTCP timer, callbacks */
void sb_leg_base_clear(sb_leg *leg);    /* releases what base_init took */
void sb_leg_emit(sb_leg *leg, sb_leg_event ev, const char *reason);
/* Account and deliver one received, decrypted RTP packet that the
 * caller parsed into h (each packet is parsed once). */
void sb_leg_deliver_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
			const sb_rtp_hdr *h);
/* Account one RTP packet about to be sent. */
void sb_leg_account_tx(sb_leg *leg, const uint8_t *buf, size_t len);
/* Take in a received, already-decrypted RTCP compound. */
void sb_leg_handle_rtcp(sb_leg *leg, const uint8_t *buf, size_t len);
/* Build our next SR/RR + SDES into buf. Returns length or -errno. */
ssize_t sb_leg_build_rtcp(sb_leg *leg, uint8_t *buf, size_t cap);
/* A periodic check of this leg on the worker's shared ticker
 * (webrtc/ticker.h): every ms, until sb_leg_remove_tick (which clears
 * *k; NULL-safe). Close removes the leg's own RTCP tick only. */
sb_tick *sb_leg_add_tick(sb_leg *leg, unsigned ms, sb_tick_cb cb, void *data);
void sb_leg_remove_tick(sb_leg *leg, sb_tick **k);
/* Start calling send every SB_LEG_RTCP_INTERVAL_MS on leg->ctx. */
void sb_leg_start_rtcp(sb_leg *leg, void (*send)(sb_leg *leg));

#endif
