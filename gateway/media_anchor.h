/* Media anchoring: the SDP hook the proxy calls for every offer and
 * answer. It parses the SDP (sip/sdp.h), runs the offer/answer on the
 * call's media session on a worker (webrtc/media_session.h) and writes
 * the SDP each side must see. One media session per Call-ID, placed on
 * the least loaded worker. Signalling thread only; the sessions
 * themselves live on their worker and are touched only there. */
#ifndef SB_GATEWAY_MEDIA_ANCHOR_H
#define SB_GATEWAY_MEDIA_ANCHOR_H

#include <glib.h>

#include "gateway/config.h"
#include "gateway/worker.h"
#include "sip/sdp_hook.h"
#include "webrtc/cert.h"
#include "webrtc/leg.h"

typedef struct sb_media_anchor sb_media_anchor;

/* What the anchor knows of one call's media, for the admin API and call
 * records. Times are g_get_real_time() µs, 0 = has not happened. */
typedef struct sb_media_call_info {
	int worker;                    /* -1: no media session */
	char codec[2][32];             /* per side: "PCMU/8000", "" unknown */
	bool transcoded;
	bool webrtc[2];                /* side i is an ICE/DTLS leg */
	char sdp_addr[2][64];          /* c= of each side's last SDP */
	gint64 connected_at;           /* a WebRTC leg's ICE+DTLS done */
	gint64 first_rtp_in[2];        /* first RTP received from side i */
	gint64 first_rtp_out[2];       /* first RTP sent to side i (from the
					* stats poll; 0 = none yet) */
	bool ice_failed, dtls_failed;
	sb_leg_stats stats[2];         /* counters: polled every second while
					  the call runs, final after the end */
	uint64_t lost[2];              /* RTP from side i lost, RFC 3550 A.3 */
	char remote[2][128];           /* side i's media peer: "IP:PORT" or
					* the selected ICE pair; "" unknown */
	uint64_t late[2];              /* from side i, too late for the
					* transcoder's playout (0 relayed) */
	double jitter_ms[2];           /* interarrival jitter of side i, A.8 */
	sb_leg_proc_time proc[2];      /* per-packet processing time of what
					  side i sent us */
	gint64 stats_at;               /* when stats/lost/jitter were read on
					  the worker; 0 = not yet */
} sb_media_call_info;

/* A call's media session is gone; info holds its final counters. */
typedef void (*sb_media_anchor_final_cb)(const char *call_id,
					 const sb_media_call_info *info,
					 void *user_data);

/* A media session reported a reason to end its call (ICE/DTLS failure,
 * RTP timeout, the browser's DTLS close). Signalling thread. */
typedef void (*sb_media_anchor_end_cb)(const char *call_id, const char *reason,
				       void *user_data);

/* cfg and cert are referenced. sig_ctx: the signalling context, where
 * replies and events are delivered. */
sb_media_anchor *sb_media_anchor_new(sb_config *cfg, sb_worker_pool *pool,
				     sb_cert *cert, GMainContext *sig_ctx,
				     sb_media_anchor_end_cb end_cb, void *user_data);

/* Post the destruction of every session to its worker and forget the
 * calls. Stop the worker pool after this, and deliver what the workers
 * still send back (replies, events) before freeing the anchor. */
void sb_media_anchor_stop(sb_media_anchor *a);

/* Stop (if not done) and free. */
void sb_media_anchor_free(sb_media_anchor *a);

/* New calls use this configuration (reload). */
void sb_media_anchor_set_config(sb_media_anchor *a, sb_config *cfg);

/* New calls offer browsers a srflx candidate at addr, our mapped IP
 * (gateway/stun_probe.h); "" or NULL: none. Ignored while
 * media.public_address is set. */
void sb_media_anchor_set_srflx(sb_media_anchor *a, const char *addr);

/* The hook to install in the proxy; data points at a. */
sb_sdp_hook sb_media_anchor_hook(sb_media_anchor *a);

/* The media of a live call; false when the anchor has none. */
bool sb_media_anchor_call_info(sb_media_anchor *a, const char *call_id,
			       sb_media_call_info *out);

/* Called on the signalling thread when a call's session was destroyed. */
void sb_media_anchor_set_final_cb(sb_media_anchor *a, sb_media_anchor_final_cb cb,
				  void *user_data);

/* The outcome of sb_media_anchor_send_dtmf, on the signalling thread:
 * 0 (the digit is being sent), or -errno from
 * sb_media_session_send_dtmf (-ENOTSUP, -ENOTCONN, -EBUSY, -EINVAL),
 * -ECANCELED when the call's worker went away. */
typedef void (*sb_media_anchor_dtmf_cb)(int status, void *user_data);

/* Post one DTMF digit to the call's worker, to be sent as RFC 4733
 * events on its SIP side's RTP leg (the hook's info() uses it for SIP
 * INFO from the browser, as route.dtmf says). 0: cb will be called
 * exactly once, later; -ENOENT: no such call (cb is not called). */
int sb_media_anchor_send_dtmf(sb_media_anchor *a, const char *call_id, char digit,
			      unsigned duration_ms, sb_media_anchor_dtmf_cb cb,
			      void *user_data);

/* Calls with a media session. */
unsigned sb_media_anchor_count(const sb_media_anchor *a);

#endif
