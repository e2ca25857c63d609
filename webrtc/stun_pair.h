/* STUN on a pair that ICE has already selected, for when the gateway
 * reads that pair's socket itself (ice_direct.h): answer the peer's
 * binding requests (its consent checks, RFC 7675, and any late
 * nomination, RFC 8445 §7.3) and send our own consent requests, which
 * expire after SB_STUN_CONSENT_TIMEOUT_US without an authenticated
 * response. Sans-I/O: datagrams in, datagrams out; messages are built
 * and checked by libnice's public STUN library (<stun/usages/ice.h>).
 *
 * Thread: the one that owns the pair. The StunAgent is borrowed and may
 * be shared by every pair of a thread (sb_stun_pair_forget before the
 * pair goes: the agent keeps a pointer to the password of a pending
 * request). */
#ifndef SB_WEBRTC_STUN_PAIR_H
#define SB_WEBRTC_STUN_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <glib.h>
#include <stun/stunagent.h>

/* RFC 7675 §5.1: a request every 5 s (randomised ±20 %), consent lost
 * after 30 s without a response. */
#define SB_STUN_CONSENT_INTERVAL_US (5 * G_USEC_PER_SEC)
#define SB_STUN_CONSENT_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* Room for any message this module builds. */
#define SB_STUN_OUT_MAX 512

typedef enum {
	SB_STUN_DROP = 0,   /* not ours, malformed or unauthenticated */
	SB_STUN_REPLY,      /* a binding request: send out back to src */
	SB_STUN_CONSENT,    /* the answer to our pending request */
} sb_stun_result;

typedef struct sb_stun_pair {
	StunAgent *agent;          /* borrowed */
	char *lufrag, *lpwd;       /* owned: ours */
	char *rufrag, *rpwd;       /* owned: the peer's */
	bool controlling;
	uint64_t tie;              /* our tie-breaker */
	uint32_t priority;         /* PRIORITY of our checks */
	bool pending;              /* a consent request is outstanding */
	StunTransactionId pending_id;
	gint64 last_consent;       /* µs, monotonic */
	gint64 next_request;
	gint64 interval_us;        /* SB_STUN_CONSENT_INTERVAL_US; tests shorten */
	gint64 timeout_us;
} sb_stun_pair;

/* A per-thread agent configured for ICE short-term credentials. */
void sb_stun_agent_init(StunAgent *agent);

/* Strings are copied. now starts the consent clock (ICE just succeeded
 * on this pair, which counts as consent). */
void sb_stun_pair_init(sb_stun_pair *p, StunAgent *agent,
		       const char *lufrag, const char *lpwd,
		       const char *rufrag, const char *rpwd,
		       bool controlling, gint64 now);
/* Drop the pending request from the agent and free the strings. */
void sb_stun_pair_clear(sb_stun_pair *p);

/* One datagram the RFC 7983 demux called STUN, from src. On
 * SB_STUN_REPLY, out (SB_STUN_OUT_MAX bytes) holds *out_len bytes for
 * src, and *use_candidate tells whether the request nominates the pair
 * it came on. */
sb_stun_result sb_stun_pair_input(sb_stun_pair *p, const uint8_t *buf,
				  size_t len, const struct sockaddr *src,
				  socklen_t srclen, gint64 now, uint8_t *out,
				  size_t *out_len, bool *use_candidate);

/* When a consent request is due, build it into out (SB_STUN_OUT_MAX)
 * and return its length; 0 otherwise. */
size_t sb_stun_pair_poll(sb_stun_pair *p, gint64 now, uint8_t *out);

/* True when no authenticated response came for the timeout. */
bool sb_stun_pair_expired(const sb_stun_pair *p, gint64 now);

#endif
