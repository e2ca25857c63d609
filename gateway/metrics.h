/* Prometheus metrics: a small registry (counters, gauges, histograms
 * with fixed buckets, each optionally with a fixed set of label names)
 * rendered in the text exposition format 0.0.4, and the daemon's own
 * metric families as functions the rest of the gateway calls.
 *
 * Thread: the registry belongs to the signalling thread; every sb_metric*
 * and sb_metrics_* function except the sb_metrics_sample_* helpers must
 * be called there. Media workers never touch it: each worker keeps its
 * own sb_metrics_media_sample (worker thread only, plain struct, no
 * locks), the daemon asks each worker for a copy by message and hands it
 * to sb_metrics_media_update() on the signalling thread; render() adds
 * the latest sample of every worker. */
#ifndef SB_GATEWAY_METRICS_H
#define SB_GATEWAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "webrtc/leg.h"
#include "webrtc/rtcp.h"

/* ---- generic registry ------------------------------------------------ */

typedef struct sb_metrics_registry sb_metrics_registry;
typedef struct sb_metric sb_metric;

typedef enum {
	SB_METRIC_COUNTER = 0,
	SB_METRIC_GAUGE,
	SB_METRIC_HISTOGRAM,
} sb_metric_type;

/* Children (label value combinations) per family; more are folded into
 * one child whose label values are all "other", so a peer sending odd
 * reasons cannot grow the registry without bound. */
#define SB_METRIC_MAX_CHILDREN 64
#define SB_METRIC_MAX_LABELS 4
#define SB_METRIC_MAX_BUCKETS 16

/* Label values, one per label name of the family, in order. */
#define SB_LABELS(...) ((const char *const[]){ __VA_ARGS__ })

/* Called by render before it writes anything, so gauges that mirror
 * state owned elsewhere (active calls, WebSocket count, worker load) are
 * read at scrape time. Signalling thread. */
typedef void (*sb_metrics_collect_cb)(sb_metrics_registry *r, void *user_data);

/* Owned by the caller; signalling thread. */
sb_metrics_registry *sb_metrics_registry_new(void);
void sb_metrics_registry_free(sb_metrics_registry *r);   /* NULL ok */
void sb_metrics_registry_set_collector(sb_metrics_registry *r,
				       sb_metrics_collect_cb cb, void *user_data);

/* Declare a family. name without the "sipbridge_" prefix (added on
 * output), [a-zA-Z_:][a-zA-Z0-9_:]*; labels: NULL-terminated label
 * names (NULL = none), at most SB_METRIC_MAX_LABELS. Histograms take
 * n_bounds (<= SB_METRIC_MAX_BUCKETS) strictly increasing finite upper
 * bounds; +Inf is implicit. Returns a family owned by the registry, or
 * NULL for an invalid name/label/bounds or a duplicate name. */
sb_metric *sb_metrics_counter(sb_metrics_registry *r, const char *name,
			      const char *help, const char *const *labels);
sb_metric *sb_metrics_gauge(sb_metrics_registry *r, const char *name,
			    const char *help, const char *const *labels);
sb_metric *sb_metrics_histogram(sb_metrics_registry *r, const char *name,
				const char *help, const char *const *labels,
				const double *bounds, size_t n_bounds);

/* values: one per label name (NULL when the family has none); copied.
 * add: counters (v >= 0, negative is ignored) and gauges. set: gauges.
 * observe: histograms. A call on the wrong type is ignored. */
void sb_metric_add(sb_metric *m, const char *const *values, double v);
void sb_metric_set(sb_metric *m, const char *const *values, double v);
void sb_metric_observe(sb_metric *m, const char *const *values, double v);
/* Current value of a counter/gauge child, or the observation count of a
 * histogram child; 0 when the child does not exist. For tests and
 * /health. */
double sb_metric_value(const sb_metric *m, const char *const *values);
/* Drop every child of a gauge (before re-setting a gauge whose label
 * values come and go, e.g. per codec pair). */
void sb_metric_clear(sb_metric *m);

/* The text exposition format of every family, in declaration order.
 * Caller owns the string (g_free). */
char *sb_metrics_registry_render(sb_metrics_registry *r);

/* ---- worker-side media sample (plain data, any thread) --------------- */

/* Leg kinds, same values as sb_leg_kind (webrtc/media_session.h);
 * rendered as leg="webrtc", "rtp", "echo", "conf". */
#define SB_METRICS_LEG_WEBRTC 0
#define SB_METRICS_LEG_RTP 1
#define SB_METRICS_LEG_ECHO 2
#define SB_METRICS_LEG_CONF 3
#define SB_METRICS_LEG_KINDS 4
#define SB_METRICS_RX 0
#define SB_METRICS_TX 1

/* Per-packet processing time buckets, in seconds (5 µs .. 1 ms). */
#define SB_METRICS_PKT_BUCKETS 8
extern const double sb_metrics_pkt_bounds[SB_METRICS_PKT_BUCKETS];

#define SB_METRICS_MAX_XCODE_PAIRS 8

/* One codec pair being transcoded ("opus" <-> "PCMU") and how many
 * sessions on the worker do it right now. */
typedef struct sb_metrics_xcode_pair {
	char a[16], b[16];
	unsigned sessions;
} sb_metrics_xcode_pair;

/* Everything a worker contributes. Counters are cumulative over the
 * worker's life and must never go down: the worker keeps one sample of
 * "retired" totals to which it adds the final stats of every session it
 * frees, and answers a poll with retired + the live sessions
 * (sb_metrics_sample_merge). Gauges (sessions, xcode) are live only. */
typedef struct sb_metrics_media_sample {
	uint64_t packets[SB_METRICS_LEG_KINDS][2];   /* [kind][RX/TX] */
	uint64_t bytes[SB_METRICS_LEG_KINDS][2];     /* RTP payload octets */
	uint64_t dropped[SB_METRICS_LEG_KINDS][2];   /* rx_dropped/tx_dropped */
	uint64_t lost[SB_METRICS_LEG_KINDS];         /* RFC 3550 A.3 */
	uint64_t late[SB_METRICS_LEG_KINDS];         /* too late for playout */
	/* per-packet processing time histogram: non-cumulative counts per
	 * bucket, [SB_METRICS_PKT_BUCKETS] = above the last bound */
	uint64_t pkt_time[SB_METRICS_PKT_BUCKETS + 1];
	double pkt_time_sum;                         /* seconds */
	unsigned sessions;                           /* gauge: live */
	sb_metrics_xcode_pair xcode[SB_METRICS_MAX_XCODE_PAIRS]; /* gauge */
	unsigned n_xcode;
} sb_metrics_media_sample;

/* Packets lost for one receiver per RFC 3550 A.3 (expected - received,
 * clamped at 0). Pure. */
uint64_t sb_metrics_rtcp_lost(const sb_rtcp_rx *rx);

/* Add one leg's counters (kind SB_METRICS_LEG_*) to s; lost and late
 * come from the leg's receiver stats / jitter buffer. Pure. */
void sb_metrics_sample_add_leg(sb_metrics_media_sample *s, unsigned kind,
			       const sb_leg_stats *st, uint64_t lost,
			       uint64_t late);
/* Count one transcoding session between codecs a and b (names are
 * normalised to lower case, order-independent). Pairs beyond
 * SB_METRICS_MAX_XCODE_PAIRS are counted under "other"/"other". Pure. */
void sb_metrics_sample_add_xcode(sb_metrics_media_sample *s, const char *a,
				 const char *b);
/* One packet took seconds to process (receive to send). Pure. */
void sb_metrics_sample_observe_pkt(sb_metrics_media_sample *s, double seconds);
/* Add a leg's processing-time counts (webrtc/leg.h; the bounds are the
 * same, sb_leg_proc_bounds_ns). Pure. */
void sb_metrics_sample_add_proc(sb_metrics_media_sample *s, const sb_leg_proc_time *p);
/* dst += src (counters, histogram, gauges, pairs). Pure. */
void sb_metrics_sample_merge(sb_metrics_media_sample *dst,
			     const sb_metrics_media_sample *src);

/* ---- the daemon's families (default registry, signalling thread) ------ */

typedef enum {
	SB_CALL_ANSWERED = 0,   /* 2xx, then ended by BYE */
	SB_CALL_REJECTED,       /* the callee answered with a final non-2xx */
	SB_CALL_CANCELLED,      /* the caller gave up before an answer */
	SB_CALL_FAILED,         /* the gateway ended it: media, timeout, error */
	SB_CALL_OUTCOMES
} sb_call_outcome;

/* "answered", "rejected", "cancelled", "failed". */
const char *sb_metrics_outcome_name(sb_call_outcome o);
/* "1xx".."6xx", or "none" for a status outside 100..699. Pure. */
const char *sb_metrics_status_class(int status);

/* Create the default registry and every family below; idempotent.
 * sb_metrics_shutdown frees it (the functions below are no-ops when the
 * registry does not exist, so tests of other modules need no setup). */
void sb_metrics_init(void);
void sb_metrics_shutdown(void);
sb_metrics_registry *sb_metrics_default(void);   /* NULL before init */

/* Render the default registry, media samples included. Owned (g_free);
 * "" before init. */
char *sb_metrics_render(void);

/* Calls. call_started when an INVITE from either side creates a call;
 * as long as it has never been called, sb_metrics_set_active derives
 * calls_started_total as finished + active (never going down), which is
 * what the daemon relies on today (the proxy reports only call ends).
 * call_finished once per call with its final SIP status (0 = none). */
void sb_metrics_call_started(void);
void sb_metrics_call_finished(sb_call_outcome o, int final_status);
/* INVITE to 2xx, seconds. */
void sb_metrics_call_setup_time(double seconds);
/* Gauges refreshed by the collector: live calls, transactions,
 * WebSocket connections, registrations, media sessions. */
void sb_metrics_set_active(unsigned calls, unsigned transactions,
			   unsigned ws_connections, unsigned registrations,
			   unsigned media_sessions);
/* One REGISTER transaction finished with status (from the registrar,
 * or the gateway's own refusal). */
void sb_metrics_registration(int status);
/* A WebSocket connection was accepted / refused (reason e.g.
 * "subprotocol", "origin", "limit"). */
void sb_metrics_ws_opened(void);
void sb_metrics_ws_refused(const char *reason);
/* A SIP transaction was created; direction "ws_to_sip", "sip_to_ws" or
 * "local". */
void sb_metrics_transaction(const char *direction);
/* n more transactions / REGISTER answers at once (the collector feeds
 * the proxy's cumulative counts as deltas at scrape time). */
void sb_metrics_transactions_add(const char *direction, double n);
void sb_metrics_registrations_add(int status, double n);
/* The label of a media failure, from the reason the media anchor gives
 * a call's end ("ICE failed on the browser leg: consent expired: ...",
 * "DTLS failed on ...: fingerprint mismatch"). Sets *ice (true: ICE,
 * false: DTLS) and returns a static label: ICE "consent_expired" or
 * "checks_failed"; DTLS "fingerprint_mismatch", "timeout", "srtp" or
 * "handshake". NULL when the reason is neither an ICE nor a DTLS
 * failure. A small fixed set, so the label cannot grow without bound.
 * Pure. */
const char *sb_metrics_media_failure(const char *reason, bool *ice);
/* ICE / DTLS failure of a WebRTC leg, reason as the leg reported it. */
void sb_metrics_ice_failure(const char *reason);
void sb_metrics_dtls_failure(const char *reason);
/* Sessions placed on worker i right now (sb_worker_load). */
void sb_metrics_worker_load(unsigned worker, int sessions);

/* Store the latest sample from worker i (copied). Rendered as
 * packets/bytes/dropped/lost/late counters, the processing-time
 * histogram and transcoding gauges, summed over workers. Counters never
 * go down (Prometheus would read a dip as a restart): each keeps the
 * larger of its stored and new value. A sample can dip briefly, e.g.
 * while an ended call's final figures are on their way from its worker,
 * or when a late packet makes "lost" (expected - received) smaller.
 * Gauges take the new value. */
void sb_metrics_media_update(unsigned worker, const sb_metrics_media_sample *s);

/* Install the scrape-time collector on the default registry. */
void sb_metrics_set_collector(sb_metrics_collect_cb cb, void *user_data);

#endif
