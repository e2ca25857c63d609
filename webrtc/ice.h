/* ICE (RFC 8445) for one WebRTC leg: a libnice agent with one stream and
 * one component (BUNDLE + rtcp-mux), full ICE, controlling or controlled.
 * This is the only file that includes <agent.h>. Host candidate on the
 * configured media address (loopback works), optionally advertised as a
 * public address instead (1:1 NAT), optional STUN server, remote
 * candidates parsed line by line. Datagrams sent before a pair is selected
 * are queued and flushed at CONNECTED (shared/notes/media.md §0.2).
 * Once READY, the worker reads and writes (a duplicate of) the selected
 * pair's socket itself and answers STUN on it, RFC 7675 consent included
 * (ice_direct.h), and the agent is freed: a re-offer gets the kept
 * credentials and selected candidate, an ICE restart a new agent.
 * libnice's own sources run on a per-worker context that the worker
 * pumps every few ms (ice.c).
 *
 * Thread: the media worker that owns ctx. Every callback runs there,
 * sometimes synchronously inside sb_ice_new / sb_ice_set_remote (libnice
 * emits gathering and CONNECTING signals from inside those calls). A
 * callback may call sb_ice_close but must not free the object. */
#ifndef SB_WEBRTC_ICE_H
#define SB_WEBRTC_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "webrtc/ice_direct.h"
#include "webrtc/media_desc.h"

typedef enum {
	SB_ICE_STATE_GATHERING = 0,
	SB_ICE_STATE_CONNECTING,
	SB_ICE_STATE_CONNECTED,   /* a pair is selected: sending works */
	SB_ICE_STATE_READY,
	SB_ICE_STATE_FAILED,
} sb_ice_state;

typedef struct sb_ice_params {
	const char *local_addr;   /* IP literal to bind; required */
	const char *public_addr;  /* IP literal advertised instead; NULL/"" */
	uint16_t port_min;        /* 0,0 = any port */
	uint16_t port_max;
	/* our server-reflexive IP (media.stun_server, learnt by the
	 * daemon): each host candidate gets a srflx twin at it, same port;
	 * ignored with public_addr. NULL/"" = none */
	const char *srflx_addr;
	bool controlling;         /* offerer: true; answerer: false */
	/* RFC 7675 timing once the gateway reads the pair (ice_direct.h);
	 * 0 = the RFC's 5 s and 30 s; a shorter timeout alone shortens the
	 * interval to a sixth of it. */
	unsigned consent_interval_ms;
	unsigned consent_timeout_ms;
} sb_ice_params;

typedef struct sb_ice_ops {
	/* One DTLS or SRTP/SRTCP datagram from the selected pair; buf is
	 * borrowed for the duration of the call. */
	void (*recv)(void *user_data, const uint8_t *buf, size_t len);
	void (*state)(void *user_data, sb_ice_state state);
	/* Optional: STUN the gateway handled itself on the selected pair
	 * (ice_direct.h): a peer's check answered, or (consent true) our
	 * consent request answered. */
	void (*stun)(void *user_data, bool consent);
} sb_ice_ops;

typedef struct sb_ice sb_ice;

/* Create the agent on ctx and gather host candidates (synchronous for
 * host-only; srflx candidates from a STUN server arrive later and are
 * returned by later sb_ice_get_local calls). Strings are copied, ops is
 * borrowed. Returns 0, -EINVAL (bad address) or -EIO (libnice refused,
 * e.g. no free port in the range). */
int sb_ice_new(GMainContext *ctx, const sb_ice_params *p,
	       const sb_ice_ops *ops, void *user_data, sb_ice **out);

/* Fill the ICE part of a local description: ice_ufrag, ice_pwd, cands
 * ("candidate:..." without "a="), end_of_candidates, and addr/port from
 * the default candidate (public address substituted when configured).
 * Other fields are untouched. Returns 0 or -EAGAIN (nothing gathered). */
int sb_ice_get_local(sb_ice *ice, sb_media_desc *d);

/* Apply remote credentials and candidates. Unparsable, TCP and mDNS
 * (.local) candidates are skipped; zero usable candidates is fine
 * (peer-reflexive discovery). A ufrag different from the previous one is
 * an ICE restart (RFC 8445 §9): local credentials change too, and the
 * candidates move to a new port (sb_ice_get_local again). Returns 0,
 * -EINVAL when ufrag/pwd are missing, or -EIO when no new port. */
int sb_ice_set_remote(sb_ice *ice, const sb_media_desc *remote);

/* True when the remote ufrag differs from the one applied last (i.e.
 * sb_ice_set_remote would restart ICE). */
bool sb_ice_is_restart(const sb_ice *ice, const sb_media_desc *remote);

/* Send one datagram on the selected pair. Before a pair exists the
 * datagram is queued (up to 16) and sent at CONNECTED. Returns 0,
 * -EAGAIN (queue full, dropped), -EMSGSIZE or -ESHUTDOWN. */
int sb_ice_send(sb_ice *ice, const uint8_t *buf, size_t len);

sb_ice_state sb_ice_get_state(const sb_ice *ice);

/* Why the state is FAILED (a static string). */
const char *sb_ice_failure(const sb_ice *ice);

/* True once the worker reads the selected pair's socket itself: READY,
 * then one loop pass later (ice_direct.h). SB_ICE_VIA_LIBNICE=1 in the
 * environment keeps every packet with libnice instead. */
bool sb_ice_is_direct(const sb_ice *ice);

/* Counters of the direct path; -ENOTCONN while libnice reads. */
int sb_ice_get_direct_stats(const sb_ice *ice, sb_ice_direct_stats *s);

/* The selected pair as "LOCAL_IP:PORT <-> REMOTE_IP:PORT (TYPE)", TYPE
 * the remote candidate's (host, srflx, prflx, relay). Returns 0, or
 * -ENOTCONN before a pair is selected. */
int sb_ice_describe_pair(sb_ice *ice, char *buf, size_t cap);

/* Idempotent; no callback fires after it returns. */
void sb_ice_close(sb_ice *ice);

/* Close and release; NULL is a no-op. */
void sb_ice_free(sb_ice *ice);

#endif
