/* Rate and concurrency limits, as pure bookkeeping: the caller passes the
 * time in (monotonic microseconds, g_get_monotonic_time()) and acts on the
 * answers (refuse the upgrade, drop or answer 503, close). No I/O, no
 * clock, no timers.
 *
 * What is bounded, and the defaults (sb_limits_config_defaults):
 *   ws_per_ip = 200          open WebSocket connections per client address.
 *                            IPv4 per address; IPv6 per /64, since one
 *                            host owns a whole /64; an IPv4-mapped IPv6
 *                            address counts as IPv4. An office behind one
 *                            NAT (or everyone behind a reverse proxy on
 *                            loopback) shares the bound: it guards the
 *                            gateway's file descriptors, not fairness.
 *                            0 = unlimited.
 *   ws_first_message_ms = 120000
 *                            time a new WebSocket gets to send its first
 *                            message. Not shorter: a click-to-call page
 *                            (JsSIP or SIP.js without registration) opens
 *                            its WebSocket and says nothing until the
 *                            person clicks. 0 = no bound.
 *   msg_rate = 20, msg_burst = 50
 *                            token bucket per connection, in SIP messages:
 *                            20 per second sustained, bursts of 50 (call
 *                            setup plus a run of SIP INFO DTMF fits).
 *                            0 = unlimited.
 *   calls_per_user = 4       concurrent calls per token user (call waiting
 *                            and an attended transfer need 2-3).
 *                            0 = unlimited.
 *   calls_per_ip = 200       concurrent calls of anonymous connections (no
 *                            token) from one address: many people may
 *                            share it (a NAT, a reverse proxy, a test
 *                            rig with one browser per participant), so
 *                            the per-user bound would be wrong there.
 *                            0 = unlimited.
 *   calls_total = 500        concurrent calls through the gateway.
 *   sip_max_size = 65536     bytes of one SIP message (the lead feeds
 *                            web.ws_max_message here; no key of its own).
 *   sdp_max_size = 32768     bytes of one SDP body (an audio+video offer
 *                            from Chrome is about 6-12 KB).
 *   sdp_max_mlines = 8       m= lines in one SDP body.
 *
 * Proposed configuration (libconfig), parsed by sb_limits_from_setting;
 * every key optional, defaults as above:
 *
 *   limits: {
 *     ws_per_ip = 200; ws_first_message_ms = 120000;
 *     msg_rate = 20; msg_burst = 50;
 *     calls_per_user = 4; calls_per_ip = 200; calls_total = 500;
 *     sdp_max_size = 32768; sdp_max_mlines = 8;
 *   };
 *
 * Threads: an sb_limits (and each sb_rate) belongs to the signalling
 * thread; the check functions on a config are pure and any thread. */
#ifndef SB_SIP_LIMITS_H
#define SB_SIP_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <libconfig.h>

typedef struct sb_limits_config {
	unsigned ws_per_ip;
	unsigned ws_first_message_ms;
	unsigned msg_rate;
	unsigned msg_burst;
	unsigned calls_per_user;
	unsigned calls_per_ip;
	unsigned calls_total;
	size_t sip_max_size;
	size_t sdp_max_size;
	unsigned sdp_max_mlines;
} sb_limits_config;

/* Which bound was hit. Names (sb_limit_name) are the security log's
 * "limit=" values: "none", "ws-per-ip", "msg-rate", "calls-per-user",
 * "calls-per-ip", "calls-total". */
typedef enum sb_limit {
	SB_LIMIT_NONE,
	SB_LIMIT_WS_PER_IP,
	SB_LIMIT_MSG_RATE,
	SB_LIMIT_CALLS_USER,
	SB_LIMIT_CALLS_IP,
	SB_LIMIT_CALLS_TOTAL,
} sb_limit;

const char *sb_limit_name(sb_limit l);

void sb_limits_config_defaults(sb_limits_config *c);

/* Fill *c from the "limits" group (grp may be NULL: all defaults).
 * c->sip_max_size is left at its default. -EINVAL with *err =
 * "FILE:LINE: message" for unknown keys or out-of-range values. */
int sb_limits_from_setting(const config_setting_t *grp, const char *file,
			   sb_limits_config *c, GError **err);

typedef struct sb_limits sb_limits;

/* Copies c. Owned by the caller; signalling thread. */
sb_limits *sb_limits_new(const sb_limits_config *c);
void sb_limits_free(sb_limits *l);
/* Reload: new bounds, current counts kept (nothing open is closed; new
 * acquisitions see the new bounds). */
void sb_limits_set_config(sb_limits *l, const sb_limits_config *c);
const sb_limits_config *sb_limits_config_of(const sb_limits *l);

/* --- WebSocket connections per client address --- */

/* Count one more connection from ip ("1.2.3.4", "::1", "[::1]" or
 * "::ffff:1.2.3.4"; a port is not accepted). SB_LIMIT_NONE (counted) or
 * SB_LIMIT_WS_PER_IP (not counted: refuse the upgrade). An unparsable
 * address is counted under its literal text. */
sb_limit sb_limits_ws_open(sb_limits *l, const char *ip);
/* Undo one successful sb_limits_ws_open for the same ip. */
void sb_limits_ws_close(sb_limits *l, const char *ip);
unsigned sb_limits_ws_count(const sb_limits *l, const char *ip);

/* Time by which a connection opened at opened_us must have sent its
 * first message; INT64_MAX when unbounded. */
int64_t sb_limits_first_message_deadline(const sb_limits *l, int64_t opened_us);

/* --- messages per connection (token bucket) --- */

/* Per-connection state, embedded in the caller's connection object. */
typedef struct sb_rate {
	int64_t credit;    /* micro-messages available */
	int64_t last_us;   /* time of the last refill */
} sb_rate;

/* A full bucket at now_us. */
void sb_rate_init(sb_rate *r, const sb_limits *l, int64_t now_us);
/* Take one message: SB_LIMIT_NONE, or SB_LIMIT_MSG_RATE (over the rate:
 * drop it, or close the connection when it keeps happening). */
sb_limit sb_rate_take(sb_rate *r, const sb_limits *l, int64_t now_us);

/* --- concurrent calls --- */

/* Count one more call for user (the token identity, bounded by
 * calls_per_user; or "ip:ADDRESS" for an anonymous caller, bounded by
 * calls_per_ip; NULL or "" counts only toward the total). SB_LIMIT_NONE
 * (counted), SB_LIMIT_CALLS_USER, SB_LIMIT_CALLS_IP or
 * SB_LIMIT_CALLS_TOTAL (not counted: answer 503). */
sb_limit sb_limits_call_acquire(sb_limits *l, const char *user);
/* Undo one successful acquire for the same user. false when nothing was
 * held (a bookkeeping bug in the caller; nothing changes). */
bool sb_limits_call_release(sb_limits *l, const char *user);
unsigned sb_limits_calls_of(const sb_limits *l, const char *user);
unsigned sb_limits_calls_total(const sb_limits *l);

/* --- message and body size checks (pure) --- */

/* true when acceptable; else false and *reason = "sip-too-large". */
bool sb_limits_check_sip(const sb_limits_config *c, size_t len,
			 const char **reason);
/* true when acceptable; else false and *reason = "sdp-too-large" or
 * "sdp-too-many-media". sdp need not be NUL-terminated. */
bool sb_limits_check_sdp(const sb_limits_config *c, const char *sdp,
			 size_t len, const char **reason);

#endif
