/* The selected ICE pair's socket, read and written by the gateway itself
 * once libnice has done its part (connectivity checks, nomination).
 *
 * Why: libnice gives every call its own GSource, so GLib's poll() and
 * its prepare/check walk visit every call's socket on every loop pass,
 * and libnice reads until EAGAIN (one wasted recvmsg per packet). Here
 * the socket joins the worker's epoll (fd_poll.h) and is read with
 * recvmmsg; STUN on the pair (the peer's consent checks, our own RFC 7675
 * consent requests) is answered by stun_pair.h. doc/BENCHMARKS.md "Where
 * the time goes" has the numbers.
 *
 * The fd stays libnice's (ice.c keeps a reference to its GSocket and
 * moves libnice's own source for it to a context nobody runs); this
 * object only borrows it.
 *
 * Thread: the worker that runs ctx. Callbacks run from its loop; a
 * callback may call sb_ice_direct_stop but must not free the object. */
#ifndef SB_WEBRTC_ICE_DIRECT_H
#define SB_WEBRTC_ICE_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <glib.h>

typedef struct sb_ice_direct_ops {
	/* One non-STUN datagram (DTLS, SRTP, SRTCP) from the selected
	 * remote; buf borrowed for the call. */
	void (*recv)(void *user_data, const uint8_t *buf, size_t len);
	/* Consent expired (RFC 7675): stop sending. Once. */
	void (*lost)(void *user_data);
	/* A binding request answered (consent false) or our consent
	 * request answered (true); optional. */
	void (*stun)(void *user_data, bool consent);
} sb_ice_direct_ops;

typedef struct sb_ice_direct_params {
	int fd;                         /* borrowed */
	const struct sockaddr *remote;  /* the selected remote candidate */
	socklen_t remote_len;
	const char *local_ufrag, *local_pwd;
	const char *remote_ufrag, *remote_pwd;
	bool controlling;
	unsigned consent_interval_ms;   /* 0: RFC 7675's 5 s */
	unsigned consent_timeout_ms;    /* 0: RFC 7675's 30 s */
} sb_ice_direct_params;

typedef struct sb_ice_direct sb_ice_direct;

/* Start reading p->fd on ctx's poller. Strings and the address are
 * copied. NULL (errno set) if the poller refuses the fd. */
sb_ice_direct *sb_ice_direct_new(GMainContext *ctx,
				 const sb_ice_direct_params *p,
				 const sb_ice_direct_ops *ops, void *user_data);

/* Send one datagram to the selected remote. 0 or -errno. */
int sb_ice_direct_send(sb_ice_direct *d, const uint8_t *buf, size_t len);

/* The remote now in use (it moves when a controlling peer nominates
 * another pair). */
const struct sockaddr *sb_ice_direct_remote(const sb_ice_direct *d,
					    socklen_t *len);

typedef struct sb_ice_direct_stats {
	uint64_t stun_answered;   /* binding requests answered */
	uint64_t consent_ok;      /* our requests that got an answer */
	uint64_t dropped;         /* strangers, bad STUN */
} sb_ice_direct_stats;
void sb_ice_direct_get_stats(const sb_ice_direct *d, sb_ice_direct_stats *s);

/* Stop reading and ticking; no callback fires after it. Idempotent. */
void sb_ice_direct_stop(sb_ice_direct *d);
/* Stop and release; NULL-safe; not from inside a callback. */
void sb_ice_direct_free(sb_ice_direct *d);

#endif
