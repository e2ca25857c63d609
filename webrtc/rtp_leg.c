/* The SIP-side leg: plain RTP/AVP on a UDP port pair (RTP even, RTCP odd)
 * from the configured range, or one port with rtcp-mux (RFC 5761).
 * Dual stack: bound on media.address, or on the other family's address
 * (sb_leg_params.alt_addr) for a peer of that family; an offer in the
 * other family moves the leg there before it answers.
 * Symmetric RTP (RFC 4961): send to the SDP address until the first valid
 * RTP packet arrives, then latch to its source and drop and count packets
 * from anyone else (no RTP bleed). An inactivity timer reports
 * SB_LEG_EV_RTP_TIMEOUT. Media worker thread only. */
#include "webrtc/leg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib-unix.h>

#include "webrtc/demux.h"
#include "webrtc/fd_poll.h"
#include "webrtc/txq.h"

G_STATIC_ASSERT(SB_FDPOLL_BUF >= SB_LEG_BUF);

#define BIND_ATTEMPTS 64
#define TIMEOUT_CHECK_MS 500

typedef struct peer_addr {
	struct sockaddr_storage ss;
	socklen_t len;              /* 0 = unknown / on hold */
} peer_addr;

typedef struct rtp_leg {
	sb_leg base;                /* first: sb_leg * casts to this */
	int fd[2];                  /* owned: RTP, RTCP; -1 if none */
	sb_fdpoll *poll;            /* ref: the worker's socket poller */
	sb_fdpoll_watch *w[2];      /* owned by poll: read watches */
	sb_txq *txq;                /* ref: the worker's send queue; NULL
				     * until the first RTP goes out */
	sb_tick *timeout_tick;      /* inactivity check (base.ticker) */
	uint16_t port;              /* our RTP port; RTCP is port + 1 */
	uint16_t port_min, port_max;
	char media_addr[64];
	char alt_addr[64];          /* "" = none */
	const char *bound;          /* media_addr or alt_addr: in use */
	int family;                 /* of bound */
	char public_addr[64];       /* for media_addr only */
	bool mux;                   /* rtcp-mux negotiated */
	bool remote_mux_offered;
	peer_addr sdp_rtp, sdp_rtcp;  /* from the SDP */
	peer_addr latched_rtp, latched_rtcp;
	bool latched;
	bool timed_out;
	bool expect_rx;             /* the peer says it sends (not on hold) */
	bool expect_rx_answered;    /* ... once we answer its offer */
	bool announced;             /* SB_LEG_EV_CONNECTED emitted */
	unsigned timeout_ms;
	gint64 last_rx;             /* monotonic µs of the last valid RTP */
	uint64_t strangers;         /* dropped: not from the latched source */
} rtp_leg;

static rtp_leg *R(sb_leg *leg)
{
	return (rtp_leg *)leg;
}

static int parse_addr(const char *ip, uint16_t port, peer_addr *a)
{
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		a->len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		a->len = sizeof(*v6);
		return 0;
	}
	return -EINVAL;
}

/* leg->remote for operators: "IP:PORT", IPv6 in brackets. */
static void note_remote(rtp_leg *r, const peer_addr *a)
{
	char ip[INET6_ADDRSTRLEN] = "";
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;

	if (a->len == 0) {
		r->base.remote[0] = '\0';
	} else if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		g_snprintf(r->base.remote, sizeof(r->base.remote), "%s:%u", ip,
			   ntohs(v4->sin_port));
	} else {
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		g_snprintf(r->base.remote, sizeof(r->base.remote), "[%s]:%u", ip,
			   ntohs(v6->sin6_port));
	}
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen,
		      const peer_addr *b)
{
	return b->len == alen && memcmp(a, &b->ss, alen) == 0;
}

static int open_bound(const char *ip, uint16_t port)
{
	peer_addr a;
	if (parse_addr(ip, port, &a) < 0)
		return -EINVAL;
	int fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int try_pair(rtp_leg *r, uint16_t p)
{
	int fd0 = open_bound(r->bound, p);
	if (fd0 < 0)
		return fd0;
	uint16_t got = bound_port(fd0);
	int fd1 = (got & 1) ? -EADDRINUSE : open_bound(r->bound, got + 1);
	if (fd1 < 0) {
		close(fd0);
		return fd1;
	}
	r->fd[0] = fd0;
	r->fd[1] = fd1;
	r->port = got;
	return 0;
}

/* RFC 3550 §11: RTP on an even port, RTCP on the next odd one. Start at
 * a random even port of the range so concurrent calls rarely collide. */
static int bind_pair(rtp_leg *r, uint16_t pmin, uint16_t pmax)
{
	if (pmin == 0 || pmax <= pmin) {
		for (unsigned i = 0; i < BIND_ATTEMPTS; i++)
			if (try_pair(r, 0) == 0)
				return 0;
		return -EADDRINUSE;
	}
	unsigned first = ((unsigned)pmin + 1) & ~1u;
	if (first + 1 > pmax)
		return -EADDRINUSE;
	unsigned n = (pmax - first - 1) / 2 + 1;
	unsigned start = (unsigned)g_random_int_range(0, (gint32)n);
	for (unsigned i = 0; i < n && i < 4 * BIND_ATTEMPTS; i++) {
		unsigned p = first + 2 * ((start + i) % n);
		if (try_pair(r, (uint16_t)p) == 0)
			return 0;
	}
	return -EADDRINUSE;
}

static const peer_addr *rtp_dest(const rtp_leg *r)
{
	return r->latched ? &r->latched_rtp : &r->sdp_rtp;
}

static void send_to(rtp_leg *r, int which, const uint8_t *buf, size_t len,
		    const peer_addr *to)
{
	if (to->len == 0)
		return;
	sendto(r->fd[which], buf, len, 0, (const struct sockaddr *)&to->ss,
	       to->len);
}

static void send_rtcp(sb_leg *leg)
{
	rtp_leg *r = R(leg);
	uint8_t *rtcp = sb_leg_scratch(SB_LEG_SCRATCH_RTCP);
	ssize_t n = sb_leg_build_rtcp(leg, rtcp, SB_LEG_MTU);
	if (n < 0)
		return;
	if (r->mux) {
		send_to(r, 0, rtcp, (size_t)n, rtp_dest(r));
	} else {
		const peer_addr *to = r->latched_rtcp.len ? &r->latched_rtcp :
							    &r->sdp_rtcp;
		send_to(r, 1, rtcp, (size_t)n, to);
	}
	leg->stats.rtcp_tx++;
}

static void on_rtcp(rtp_leg *r, uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, socklen_t flen)
{
	/* Symmetric RTCP: once RTP has latched, reports go back to where the
	 * first RTCP came from (a NAT may map its port apart from RTP's).
	 * RTCP only feeds statistics here, so it is not source-filtered. */
	if (r->latched && r->latched_rtcp.len == 0) {
		memcpy(&r->latched_rtcp.ss, from, flen);
		r->latched_rtcp.len = flen;
	}
	sb_leg_handle_rtcp(&r->base, buf, len);
}

static bool accept_source(rtp_leg *r, const struct sockaddr_storage *from,
			  socklen_t flen)
{
	if (!r->latched) {
		memcpy(&r->latched_rtp.ss, from, flen);
		r->latched_rtp.len = flen;
		r->latched = true;
		note_remote(r, &r->latched_rtp);
		return true;
	}
	if (same_addr(from, flen, &r->latched_rtp))
		return true;
	r->strangers++;
	r->base.stats.rx_dropped++;
	r->base.stats.rx_strangers++;
	return false;
}

static void on_rtp(rtp_leg *r, uint8_t *buf, size_t len,
		   const struct sockaddr_storage *from, socklen_t flen)
{
	sb_rtp_hdr h;

	if (sb_rtp_parse(buf, len, &h) < 0) {
		r->base.stats.rx_dropped++;
		return;
	}
	if (!accept_source(r, from, flen))
		return;
	r->last_rx = g_get_monotonic_time();
	sb_leg_deliver_rtp(&r->base, buf, len, SB_LEG_BUF, &h);
}

/* buf is the poller's shared batch: the packet is copied into a work
 * buffer (sb_leg_scratch) whose headroom the forwarding path may use. */
static void read_one(rtp_leg *r, int which, const uint8_t *buf, size_t n,
		     const struct sockaddr_storage *from, socklen_t flen)
{
	if (n == 0 || n > SB_LEG_MTU) {
		r->base.stats.rx_dropped++;
		return;
	}
	sb_demux_kind k = sb_demux_classify(buf, n);
	if (k == SB_DEMUX_RTCP || which == 1) {
		uint8_t *rtcp = sb_leg_scratch(SB_LEG_SCRATCH_RTCP);
		memcpy(rtcp, buf, n);
		on_rtcp(r, rtcp, n, from, flen);
	} else if (k == SB_DEMUX_RTP) {
		uint8_t *rx = sb_leg_scratch(SB_LEG_SCRATCH_RX);
		memcpy(rx, buf, n);
		on_rtp(r, rx, n, from, flen);
	} else {
		r->base.stats.rx_dropped++;
	}
}

/* The worker's poller reads the sockets for us (fd_poll.h). */
static void on_dgram(int fd, uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t flen,
		     void *data)
{
	rtp_leg *r = data;
	if (!r->base.closed)
		read_one(r, fd == r->fd[0] ? 0 : 1, buf, len, from, flen);
}

static void check_timeout(gint64 now, void *data)
{
	rtp_leg *r = data;
	gint64 idle = now - r->last_rx;

	if (!r->timed_out && r->expect_rx &&
	    idle > (gint64)r->timeout_ms * 1000) {
		r->timed_out = true;
		sb_leg_emit(&r->base, SB_LEG_EV_RTP_TIMEOUT, "no RTP received");
	}
}

static int watch(rtp_leg *r)
{
	if (!r->poll && !(r->poll = sb_fdpoll_get(r->base.ctx)))
		return errno ? -errno : -ENOMEM;
	for (int i = 0; i < 2; i++) {
		if (r->fd[i] < 0 || r->w[i])
			continue;
		r->w[i] = sb_fdpoll_add_dgram(r->poll, r->fd[i], on_dgram, r);
		if (!r->w[i])
			return -errno;
	}
	return 0;
}

static void unbind(rtp_leg *r)
{
	/* queued datagrams name our fds */
	if (r->txq)
		sb_txq_flush(r->txq);
	for (int i = 0; i < 2; i++) {
		sb_fdpoll_remove(r->poll, r->w[i]);
		r->w[i] = NULL;
		if (r->fd[i] >= 0)
			close(r->fd[i]);
		r->fd[i] = -1;
	}
}

/* Bind on addr (media_addr or alt_addr), in a port pair of the range. */
static int bind_on(rtp_leg *r, const char *addr)
{
	peer_addr a;
	if (!addr[0] || parse_addr(addr, 0, &a) < 0)
		return -EAFNOSUPPORT;
	r->bound = addr;
	r->family = a.ss.ss_family;
	return bind_pair(r, r->port_min, r->port_max);
}

/* RFC 3264 §5/§6: the peer's c= says which family it sends from and
 * listens on. An offer in the other family moves us to our address of
 * that family before we answer; an answer cannot, since our offer
 * already named an address (the family was chosen for the offer from
 * where the INVITE went: sb_leg_params.family). */
/* Our address in family: media_addr, else alt_addr; NULL = none. */
static const char *addr_of_family(const rtp_leg *r, int family)
{
	peer_addr a;
	if (parse_addr(r->media_addr, 0, &a) == 0 && a.ss.ss_family == family)
		return r->media_addr;
	if (parse_addr(r->alt_addr, 0, &a) == 0 && a.ss.ss_family == family)
		return r->alt_addr;
	return NULL;
}

static int follow_family(rtp_leg *r, int family, bool offer)
{
	if (family == r->family)
		return 0;
	const char *addr = addr_of_family(r, family);
	if (!offer || !addr)
		return -EAFNOSUPPORT;
	unbind(r);
	return bind_on(r, addr);
}

static int rl_get_local(sb_leg *leg, bool offer, sb_media_desc *d)
{
	rtp_leg *r = R(leg);

	d->proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(d->addr, r->public_addr[0] && r->bound == r->media_addr ?
		  r->public_addr : r->bound, sizeof(d->addr));
	d->port = r->port;
	d->rtcp_port = 0; /* RFC 3605: port + 1 is the default */
	/* offer mux (the peer may refuse); answer it only if offered */
	d->rtcp_mux = offer ? true : r->mux;
	d->ssrc = leg->ssrc;
	g_strlcpy(d->cname, leg->cname, sizeof(d->cname));
	if (!offer && r->expect_rx_answered) {
		r->expect_rx_answered = false;
		r->expect_rx = true;
		r->last_rx = g_get_monotonic_time();
	}
	return 0;
}

/* c=0.0.0.0 (RFC 3264 §8.4 old-style hold) or port 0: send nothing. */
static int rl_set_remote(sb_leg *leg, bool offer, const sb_media_desc *d)
{
	rtp_leg *r = R(leg);
	bool hold = !d->addr[0] || !strcmp(d->addr, "0.0.0.0") ||
		    !strcmp(d->addr, "::") || d->port == 0;

	if (d->proto != SB_MD_PROTO_RTP_AVP && d->proto != SB_MD_PROTO_RTP_AVPF)
		return -EPROTO;
	/* offerer's mux is what we answer; answerer's mux confirms ours */
	r->mux = d->rtcp_mux;
	memset(&r->sdp_rtp, 0, sizeof(r->sdp_rtp));
	memset(&r->sdp_rtcp, 0, sizeof(r->sdp_rtcp));
	if (!hold) {
		uint16_t rp = d->rtcp_port ? d->rtcp_port :
			      (uint16_t)(d->port + 1);
		if (parse_addr(d->addr, d->port, &r->sdp_rtp) < 0 ||
		    parse_addr(d->addr, rp, &r->sdp_rtcp) < 0)
			return -EINVAL;
		int err = follow_family(r, r->sdp_rtp.ss.ss_family, offer);
		if (err < 0)
			return err;
	}
	/* Only a two-way stream must keep flowing: a peer holding with
	 * sendonly may play music or nothing at all (many phones send
	 * nothing), and the call stays. A peer that offered cannot send
	 * before it has our answer, which waits for the browser's: while a
	 * browser rings, the timeout must not run either. (rtpengine keeps
	 * separate, hour-long timeouts for both cases.) */
	bool sends = !hold && d->dir == SB_MD_DIR_SENDRECV;
	r->expect_rx = sends && !offer;
	r->expect_rx_answered = sends && offer;
	/* a new remote description may move the peer: latch again, and
	 * give it a full timeout period before complaining */
	r->latched = false;
	memset(&r->latched_rtp, 0, sizeof(r->latched_rtp));
	memset(&r->latched_rtcp, 0, sizeof(r->latched_rtcp));
	r->last_rx = g_get_monotonic_time();
	r->timed_out = false;
	note_remote(r, &r->sdp_rtp);
	int err = watch(r);
	if (err < 0)
		return err;
	sb_leg_start_rtcp(leg, send_rtcp);
	if (r->timeout_ms && !r->timeout_tick && !leg->closed) {
		r->timeout_tick = sb_leg_add_tick(leg, TIMEOUT_CHECK_MS,
						  check_timeout, r);
	}
	if (!r->announced) {
		r->announced = true;
		sb_leg_emit(leg, SB_LEG_EV_CONNECTED, NULL);
	}
	return 0;
}

static int rl_send_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
	rtp_leg *r = R(leg);
	const peer_addr *to = rtp_dest(r);
	(void)cap;

	if (leg->closed || to->len == 0) {
		leg->stats.tx_dropped++;
		return -EAGAIN;
	}
	sb_leg_account_tx(leg, buf, len);
	if (!r->txq)
		r->txq = sb_txq_get(leg->ctx);
	if (sb_txq_send(r->txq, r->fd[0], buf, len,
			(const struct sockaddr *)&to->ss, to->len,
			&leg->stats.tx_dropped) == 0)
		return 0;
	if (sendto(r->fd[0], buf, len, 0, (const struct sockaddr *)&to->ss,
		   to->len) < 0) {
		leg->stats.tx_dropped++;
		return -errno;
	}
	return 0;
}

static void rl_close(sb_leg *leg)
{
	rtp_leg *r = R(leg);
	if (leg->closed)
		return;
	sb_leg_base_close(leg);
	for (int i = 0; i < 2; i++) {
		sb_fdpoll_remove(r->poll, r->w[i]);
		r->w[i] = NULL;
	}
	sb_leg_remove_tick(leg, &r->timeout_tick);
}

static void rl_free(sb_leg *leg)
{
	rtp_leg *r = R(leg);
	/* queued datagrams name our fd and our stats */
	if (r->txq) {
		sb_txq_flush(r->txq);
		sb_txq_unref(r->txq);
	}
	for (int i = 0; i < 2; i++) {
		sb_fdpoll_remove(r->poll, r->w[i]);
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	}
	sb_fdpoll_unref(r->poll);
	sb_leg_base_clear(leg);
	g_free(r);
}

static const sb_leg_ops rtp_ops = {
	.name = "rtp",
	.get_local = rl_get_local,
	.set_remote = rl_set_remote,
	.send_rtp = rl_send_rtp,
	.close = rl_close,
	.free = rl_free,
};

int sb_rtp_leg_new(const sb_leg_params *p, sb_leg **out)
{
	peer_addr probe;

	if (!p->ctx || !p->media_addr || parse_addr(p->media_addr, 0,
						    &probe) < 0)
		return -EINVAL;
	rtp_leg *r = g_new0(rtp_leg, 1);
	sb_leg_base_init(&r->base, &rtp_ops, p);
	r->fd[0] = r->fd[1] = -1;
	g_strlcpy(r->media_addr, p->media_addr, sizeof(r->media_addr));
	if (p->alt_addr)
		g_strlcpy(r->alt_addr, p->alt_addr, sizeof(r->alt_addr));
	if (p->public_addr)
		g_strlcpy(r->public_addr, p->public_addr,
			  sizeof(r->public_addr));
	r->timeout_ms = p->rtp_timeout_ms;
	r->port_min = p->port_min;
	r->port_max = p->port_max;
	const char *start = p->family ? addr_of_family(r, p->family) : NULL;
	int err = bind_on(r, start ? start : r->media_addr);
	if (err < 0) {
		rl_free(&r->base);
		return err;
	}
	*out = &r->base;
	return 0;
}
