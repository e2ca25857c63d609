/* Reading and writing the selected pair's socket (see ice_direct.h). */
#include "webrtc/ice_direct.h"

#include <errno.h>
#include <string.h>

#include "webrtc/ctx_local.h"
#include "webrtc/fd_poll.h"
#include "webrtc/stun_pair.h"
#include "webrtc/ticker.h"
#include "webrtc/txq.h"

/* One STUN agent per worker: 12.8 KiB, mostly its table of pending
 * transactions, which every pair of the worker can share. */
typedef struct stun_local {
	sb_ctx_local base;   /* first */
	StunAgent agent;
} stun_local;

static sb_ctx_locals stun_registry;

struct sb_ice_direct {
	int fd;                     /* borrowed */
	struct sockaddr_storage remote;
	socklen_t remote_len;
	const sb_ice_direct_ops *ops;
	void *user_data;
	stun_local *stun;           /* ref */
	sb_stun_pair pair;
	sb_fdpoll *poll;            /* ref */
	sb_fdpoll_watch *watch;
	sb_ticker *ticker;          /* ref */
	sb_txq *txq;                /* ref: the worker's send queue */
	sb_tick *tick;
	bool stopped;
	bool lost;
	sb_ice_direct_stats stats;
};

static sb_ctx_local *stun_local_new(GMainContext *ctx)
{
	stun_local *s = g_new0(stun_local, 1);
	s->base = (sb_ctx_local){ 1, ctx };
	sb_stun_agent_init(&s->agent);
	return &s->base;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

static void send_to(sb_ice_direct *d, const uint8_t *buf, size_t len,
		    const struct sockaddr *to, socklen_t to_len)
{
	(void)sendto(d->fd, buf, len, MSG_DONTWAIT, to, to_len);
}

static void on_stun(sb_ice_direct *d, const uint8_t *buf, size_t len,
		    const struct sockaddr *src, socklen_t src_len)
{
	uint8_t out[SB_STUN_OUT_MAX];
	size_t out_len;
	bool nominate;

	switch (sb_stun_pair_input(&d->pair, buf, len, src, src_len,
				   g_get_monotonic_time(), out, &out_len,
				   &nominate)) {
	case SB_STUN_REPLY:
		d->stats.stun_answered++;
		send_to(d, out, out_len, src, src_len);
		if (d->ops->stun)
			d->ops->stun(d->user_data, false);
		/* RFC 8445 §7.3.1.5: a controlling peer may nominate
		 * another pair (its network changed); follow it. */
		if (nominate && !d->pair.controlling &&
		    !same_addr(src, (struct sockaddr *)&d->remote)) {
			memcpy(&d->remote, src, src_len);
			d->remote_len = src_len;
		}
		break;
	case SB_STUN_CONSENT:
		d->stats.consent_ok++;
		if (d->ops->stun)
			d->ops->stun(d->user_data, true);
		break;
	default:
		d->stats.dropped++;
		break;
	}
}

static void on_datagram(sb_ice_direct *d, const uint8_t *buf, size_t len,
			const struct sockaddr *src, socklen_t src_len)
{
	if (len == 0)
		return;
	if (buf[0] < 4) { /* RFC 7983: STUN */
		on_stun(d, buf, len, src, src_len);
		return;
	}
	/* only the pair ICE verified may send media or DTLS */
	if (!same_addr(src, (struct sockaddr *)&d->remote)) {
		d->stats.dropped++;
		return;
	}
	d->ops->recv(d->user_data, buf, len);
}

/* The worker's poller reads the socket for us (fd_poll.h). */
static void on_dgram(int fd, uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t flen,
		     void *data)
{
	sb_ice_direct *d = data;
	(void)fd;
	if (!d->stopped)
		on_datagram(d, buf, len, (const struct sockaddr *)from, flen);
}

static void on_tick(gint64 now, void *data)
{
	sb_ice_direct *d = data;
	uint8_t out[SB_STUN_OUT_MAX];

	if (d->stopped || d->lost)
		return;
	if (sb_stun_pair_expired(&d->pair, now)) {
		d->lost = true;
		d->ops->lost(d->user_data);
		return;
	}
	size_t len = sb_stun_pair_poll(&d->pair, now, out);
	if (len)
		send_to(d, out, len, (struct sockaddr *)&d->remote,
			d->remote_len);
}

sb_ice_direct *sb_ice_direct_new(GMainContext *ctx,
				 const sb_ice_direct_params *p,
				 const sb_ice_direct_ops *ops, void *user_data)
{
	if (p->remote_len > sizeof(struct sockaddr_storage)) {
		errno = EINVAL;
		return NULL;
	}
	sb_ice_direct *d = g_new0(sb_ice_direct, 1);
	d->fd = p->fd;
	memcpy(&d->remote, p->remote, p->remote_len);
	d->remote_len = p->remote_len;
	d->ops = ops;
	d->user_data = user_data;
	d->stun = (stun_local *)sb_ctx_local_get(&stun_registry, ctx,
						 stun_local_new);
	gint64 now = g_get_monotonic_time();
	sb_stun_pair_init(&d->pair, &d->stun->agent, p->local_ufrag,
			  p->local_pwd, p->remote_ufrag, p->remote_pwd,
			  p->controlling, now);
	if (p->consent_interval_ms)
		d->pair.interval_us = (gint64)p->consent_interval_ms * 1000;
	if (p->consent_timeout_ms) {
		d->pair.timeout_us = (gint64)p->consent_timeout_ms * 1000;
		/* keep RFC 7675's six requests per timeout */
		if (!p->consent_interval_ms)
			d->pair.interval_us = MIN(d->pair.interval_us,
						  d->pair.timeout_us / 6);
	}
	d->pair.next_request = now; /* first request at the first tick */
	d->poll = sb_fdpoll_get(ctx);
	if (d->poll)
		d->watch = sb_fdpoll_add_dgram(d->poll, d->fd, on_dgram, d);
	if (!d->watch) {
		int e = errno ? errno : ENOMEM;
		sb_ice_direct_free(d);
		errno = e;
		return NULL;
	}
	d->ticker = sb_ticker_get(ctx);
	d->txq = sb_txq_get(ctx);
	unsigned period = (unsigned)MIN(d->pair.interval_us / 5000, 1000);
	d->tick = sb_ticker_add(d->ticker, MAX(period, 10u), on_tick, d);
	return d;
}

int sb_ice_direct_send(sb_ice_direct *d, const uint8_t *buf, size_t len)
{
	if (d->stopped || d->lost)
		return -ESHUTDOWN;
	if (sb_txq_send(d->txq, d->fd, buf, len,
			(struct sockaddr *)&d->remote, d->remote_len,
			NULL) == 0)
		return 0;
	ssize_t n = sendto(d->fd, buf, len, MSG_DONTWAIT,
			   (struct sockaddr *)&d->remote, d->remote_len);
	return n < 0 ? -errno : 0;
}

const struct sockaddr *sb_ice_direct_remote(const sb_ice_direct *d,
					    socklen_t *len)
{
	*len = d->remote_len;
	return (const struct sockaddr *)&d->remote;
}

void sb_ice_direct_get_stats(const sb_ice_direct *d, sb_ice_direct_stats *s)
{
	*s = d->stats;
}

void sb_ice_direct_stop(sb_ice_direct *d)
{
	if (d->stopped)
		return;
	d->stopped = true;
	if (d->poll)
		sb_fdpoll_remove(d->poll, d->watch);
	d->watch = NULL;
	if (d->ticker)
		sb_ticker_remove(d->ticker, d->tick);
	d->tick = NULL;
	/* the fd is borrowed: nothing may stay queued for it */
	if (d->txq)
		sb_txq_flush(d->txq);
}

void sb_ice_direct_free(sb_ice_direct *d)
{
	if (!d)
		return;
	sb_ice_direct_stop(d);
	sb_stun_pair_clear(&d->pair);
	if (d->poll)
		sb_fdpoll_unref(d->poll);
	if (d->ticker)
		sb_ticker_unref(d->ticker);
	if (d->txq)
		sb_txq_unref(d->txq);
	if (sb_ctx_local_unref(&stun_registry, &d->stun->base))
		g_free(d->stun);
	g_free(d);
}
