/* The operator API on the admin listener (listen.admin):
 *   GET    /metrics                  Prometheus text (gateway/metrics.h)
 *   GET    /api/calls                calls in progress (summary + verdict)
 *   GET    /api/calls/{call-id}      one call: per-leg stats, media
 *                                    timeline, verdict and problems
 *   DELETE /api/calls/{call-id}      hang the call up (BYE/CANCEL both ways)
 *   GET    /api/registrations        browser registrations
 *   POST   /api/drain                take no new calls; running calls go on
 *   POST   /api/reload               reload the configuration (as SIGHUP)
 * Answers are JSON (jansson); errors are {"error": "..."} with 400, 404,
 * 405, 409, 500 or 501 (callback not provided).
 *
 * The router knows nothing of the daemon: it works on sb_admin_provider,
 * a struct of callbacks the daemon fills, so it is tested with a fake.
 * The media diagnosis (sb_media_diagnose) is a pure function over a
 * timeline the daemon keeps per call from media session events.
 *
 * Thread: signalling thread only (the HTTP server calls it there, and
 * the provider's callbacks run synchronously inside sb_admin_handle). */
#ifndef SB_GATEWAY_ADMIN_API_H
#define SB_GATEWAY_ADMIN_API_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "webrtc/leg.h"

/* Timeline entries that did not happen (yet). */
#define SB_ADMIN_NEVER ((gint64)-1)
/* Media should flow this long after the answer before its absence is a
 * problem (ICE + DTLS take 50-1000 ms, notes/media.md). */
#define SB_MEDIA_GRACE_MS 3000

/* Which party a leg faces: index of sb_admin_call.leg and of the
 * per-side arrays of sb_media_timeline. */
#define SB_ADMIN_BROWSER 0
#define SB_ADMIN_SIP 1

/* What happened to a call's media, in ms since the call started (its
 * first INVITE); SB_ADMIN_NEVER when it has not happened. The daemon
 * fills it from the SDP it rewrote and from media session events. */
typedef struct sb_media_timeline {
	gint64 answered_at;          /* 2xx: from here both sides should send */
	gint64 ice_connected_at;     /* a WebRTC leg: ICE CONNECTED */
	gint64 dtls_done_at;         /* a WebRTC leg: DTLS-SRTP keys ready */
	gint64 first_rtp_in[2];      /* first RTP received from side i */
	gint64 first_rtp_out[2];     /* first RTP sent to side i */
	bool webrtc[2];              /* side i is ICE/DTLS (else plain RTP) */
	bool ice_failed;             /* SB_MEDIA_EV_ICE_FAILED */
	bool dtls_failed;            /* SB_MEDIA_EV_DTLS_FAILED */
	char sdp_addr[2][64];        /* c= of side i's SDP; "" unknown */
	char local_addr[64];         /* the address we advertised (media.
					public_address or media.address) */
	uint64_t pt_mismatch[2];     /* RTP from side i dropped for a payload
					type that was not negotiated */
} sb_media_timeline;

typedef enum {
	SB_VERDICT_OK = 0,             /* "media flowing both ways" */
	SB_VERDICT_NOT_ANSWERED,       /* "not answered yet" */
	SB_VERDICT_WAITING,            /* "waiting for media" (in the grace) */
	SB_VERDICT_ICE_FAILED,         /* "ICE never connected" */
	SB_VERDICT_DTLS_INCOMPLETE,    /* "DTLS never completed" */
	SB_VERDICT_PRIVATE_ADDR,       /* "private address in the peer's SDP" */
	SB_VERDICT_PT_MISMATCH,        /* "payload type mismatch" */
	SB_VERDICT_NO_RTP_SIP,         /* "no RTP from the SIP side" */
	SB_VERDICT_NO_RTP_BROWSER,     /* "no RTP from the browser" */
	SB_VERDICT_COUNT
} sb_verdict;

/* Diagnose t at now_ms (ms since the call started). Returns the set of
 * problems found as a bit mask (1u << SB_VERDICT_x, only values from
 * ICE_FAILED on) and stores in *primary the most fundamental one, in
 * enum order (ICE before DTLS before addresses before payload types
 * before missing RTP, since each earlier one explains the later ones),
 * or OK / NOT_ANSWERED / WAITING when there is no problem. Rules:
 *  - ICE_FAILED: a WebRTC side, and ice_failed, or answered more than
 *    SB_MEDIA_GRACE_MS ago and ICE never connected;
 *  - DTLS_INCOMPLETE: ICE connected but dtls_failed, or still no DTLS
 *    after the grace;
 *  - PT_MISMATCH: a side sent RTP with a payload type not negotiated;
 *  - NO_RTP_SIP / NO_RTP_BROWSER: after the grace, nothing received from
 *    that side (not reported for a WebRTC side whose ICE/DTLS failed:
 *    that is the cause already named);
 *  - PRIVATE_ADDR: no RTP from a side whose SDP address is private
 *    (RFC 1918, RFC 6598, link-local, ULA) while ours is not: we cannot
 *    reach it, and symmetric RTP cannot latch until it sends.
 * ICE/DTLS failures count before the answer too. Pure, any thread. */
uint32_t sb_media_diagnose(const sb_media_timeline *t, gint64 now_ms,
			   sb_verdict *primary);

/* The text of a verdict (see the enum). Static. */
const char *sb_verdict_text(sb_verdict v);

/* RFC 1918, RFC 6598 (100.64/10), 169.254/16, fc00::/7, fe80::/10 ->
 * true. Loopback, public addresses, host names, "" -> false. Pure. */
bool sb_admin_addr_is_private(const char *ip);

/* Set every timeline time to SB_ADMIN_NEVER and the rest to zero. */
void sb_media_timeline_init(sb_media_timeline *t);

/* One leg of a call, as last reported by its worker. */
typedef struct sb_admin_leg {
	char codec[32];              /* "opus/48000/2"; "" = none yet */
	char remote[128];            /* media peer "IP:port", or the selected
					ICE pair "L <-> R (type)"; "" unknown */
	sb_leg_stats stats;
	uint64_t lost;               /* RFC 3550 A.3 */
	double jitter_ms;
} sb_admin_leg;

/* A call as the provider reports it. Owned by whoever holds the
 * pointer; the router frees what the provider returns. */
typedef struct sb_admin_call {
	char *call_id, *from, *to;   /* owned */
	char state[16];              /* "calling", "early", "answered",
					"ending" */
	char direction[16];          /* "from_browser", "to_browser" */
	gint64 start_unix_ms;        /* first INVITE, Unix time */
	gint64 age_ms;               /* now - start: the "now" of diagnose */
	int worker;                  /* media worker index; -1 = no media */
	bool transcoded;
	gint64 stats_age_ms;         /* how old the leg counters are (the
					worker is polled every second); -1 =
					not read yet */
	sb_admin_leg leg[2];         /* [SB_ADMIN_BROWSER], [SB_ADMIN_SIP] */
	sb_media_timeline timeline;
} sb_admin_call;

/* Strings copied; timeline initialised, worker and stats_age_ms -1,
 * the rest zero. */
sb_admin_call *sb_admin_call_new(const char *call_id, const char *from,
				 const char *to);
void sb_admin_call_free(sb_admin_call *c);   /* NULL ok */

typedef struct sb_admin_registration {
	char *aor;                   /* address of record (To URI) */
	char *contact;               /* the browser's own Contact URI */
	char *source;                /* WebSocket peer "IP:port" */
	char *user_agent;            /* "" when absent */
	gint64 expires_in_s;         /* left until it lapses */
	/* Set by the provider after _new (strings owned, NULL -> ""). */
	char *registrar_contact;     /* the alias the registrar stores */
	char *registrar;             /* Request-URI of the REGISTER */
	guint64 connection_id;       /* WebSocket connection id */
	gint64 expires_s;            /* granted by the registrar's 2xx */
	gint64 registered_unix_ms;   /* time of the last accepting 2xx */
} sb_admin_registration;

/* Strings copied (NULL -> ""); the fields after expires_in_s zero. */
sb_admin_registration *sb_admin_registration_new(const char *aor,
	const char *contact, const char *source, const char *user_agent,
	gint64 expires_in_s);
void sb_admin_registration_free(sb_admin_registration *r);   /* NULL ok */

/* What the daemon provides. Any callback may be NULL: its endpoint
 * then answers 501. All run on the signalling thread, synchronously. */
typedef struct sb_admin_provider {
	/* Append one sb_admin_call * per call to out (the array owns them:
	 * its free function is sb_admin_call_free). 0 or -errno. */
	int (*list_calls)(GPtrArray *out, void *user_data);
	/* The call, with legs and timeline; NULL if unknown. Caller owns. */
	sb_admin_call *(*get_call)(const char *call_id, void *user_data);
	/* End the call on both sides. 0, -ENOENT. */
	int (*hang_up)(const char *call_id, void *user_data);
	/* Append sb_admin_registration * to out (the array owns them). */
	int (*list_registrations)(GPtrArray *out, void *user_data);
	/* Refuse new calls and registrations from now on. 0, or -EALREADY
	 * when already draining (answered 200 rather than 202). */
	int (*drain)(void *user_data);
	/* Reload the configuration file. 0, or -EINVAL (file invalid) /
	 * other -errno with *error set (owned, g_free): "FILE:LINE: ...". */
	int (*reload)(char **error, void *user_data);
	/* Metrics text (owned). NULL = sb_metrics_render(). */
	char *(*metrics)(void *user_data);
	void *user_data;
} sb_admin_provider;

/* Route one request. method "GET", "POST", "DELETE"; path as the HTTP
 * server delivers it (already percent-decoded by libwebsockets; a
 * "?query" part, if any, is ignored). Returns the HTTP status, sets
 * *body (owned, g_free; never NULL) and *content_type (static). */
int sb_admin_handle(const sb_admin_provider *p, const char *method,
		    const char *path, char **body, const char **content_type);

/* sb_http_admin_cb adapter: user_data is a const sb_admin_provider *. */
int sb_admin_http_cb(const char *method, const char *path, char **body,
		     const char **content_type, void *user_data);

#endif
