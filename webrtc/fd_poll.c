/* Epoll-backed socket source, one per GMainContext (see fd_poll.h).
 * Removing a watch while a dispatch is walking a batch of events only
 * marks it dead: the batch may still point at it, so it is freed after
 * the walk. The poller itself is freed the same way if its last
 * reference goes inside its own dispatch.
 *
 * Datagram watches: with io_uring, one IORING_OP_RECVMSG per ready
 * socket, all submitted and reaped in one io_uring_enter before any is
 * delivered (so a callback that closes a socket cannot race a read of
 * it); without, recvmmsg on each in turn. */
#include "webrtc/fd_poll.h"
#include "webrtc/ctx_local.h"
#include "webrtc/residence.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <liburing.h>

#define EVENTS_PER_WAKEUP 64

struct sb_fdpoll_watch {
	int fd;
	bool dead;
	sb_fdpoll_cb cb;          /* readiness watch, or */
	sb_fdpoll_dgram_cb dcb;   /* datagram watch */
	void *data;
};

/* One datagram read through the ring for the watch at the same index. */
typedef struct rx_slot {
	int res;                  /* bytes, or -errno; 0 = not read */
	struct msghdr mh;
	struct iovec iov;
	struct sockaddr_storage name;
	uint8_t ctl[SB_RESIDENCE_CMSG_SPACE];   /* the arrival stamp */
	uint8_t buf[SB_FDPOLL_BUF];
} rx_slot;

struct sb_fdpoll {
	sb_ctx_local base;        /* first: the per-context registry */
	int epfd;                 /* owned */
	GSource *src;             /* owned, attached to ctx */
	unsigned n;               /* live watches */
	bool dispatching;
	bool doomed;              /* last unref came during dispatch */
	GSList *graveyard;        /* sb_fdpoll_watch *, freed after dispatch */
	struct mmsghdr msgs[SB_FDPOLL_BATCH];
	struct iovec iov[SB_FDPOLL_BATCH];
	struct sockaddr_storage names[SB_FDPOLL_BATCH];
	uint8_t ctls[SB_FDPOLL_BATCH][SB_RESIDENCE_CMSG_SPACE];
	uint8_t bufs[SB_FDPOLL_BATCH][SB_FDPOLL_BUF];
	bool uring;               /* ring usable */
	struct io_uring ring;     /* owned when uring */
	rx_slot *rx;              /* owned, EVENTS_PER_WAKEUP, when uring */
};

typedef struct poll_source {
	GSource base;
	sb_fdpoll *p;
} poll_source;

static sb_ctx_locals registry;

static void poller_free(sb_fdpoll *p)
{
	g_source_destroy(p->src);
	g_source_unref(p->src);
	if (p->uring)
		io_uring_queue_exit(&p->ring);
	g_free(p->rx);
	close(p->epfd);
	g_slist_free_full(p->graveyard, g_free);
	g_free(p);
}

/* One datagram for each live watch in ws, in one system call. A watch
 * removed by an earlier callback of this pass is skipped: its fd may be
 * closed, or already another socket's. */
static void read_ring(sb_fdpoll *p, sb_fdpoll_watch **ws, unsigned n)
{
	unsigned queued = 0;
	for (unsigned i = 0; i < n; i++) {
		sb_fdpoll_watch *w = ws[i];
		rx_slot *s = &p->rx[i];
		s->res = 0;
		if (w->dead)
			continue;
		s->iov = (struct iovec){ s->buf, SB_FDPOLL_BUF };
		s->mh = (struct msghdr){ .msg_name = &s->name,
					 .msg_namelen = sizeof(s->name),
					 .msg_iov = &s->iov, .msg_iovlen = 1,
					 .msg_control = s->ctl,
					 .msg_controllen = sizeof(s->ctl) };
		struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
		io_uring_prep_recvmsg(sqe, w->fd, &s->mh, MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
		queued++;
	}
	if (!queued)
		return;
	int taken = io_uring_submit(&p->ring);
	for (int done = 0; done < taken; done++) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&p->ring, &cqe) < 0)
			break;
		rx_slot *s = &p->rx[io_uring_cqe_get_data64(cqe)];
		s->res = cqe->res;
		io_uring_cqe_seen(&p->ring, cqe);
	}
	if (taken < (int)queued) {
		/* the ring refused (it does not once set up): the sockets
		 * are still readable and report again, through recvmmsg */
		g_warning("fd_poll: io_uring refused reads, using recvmmsg");
		io_uring_queue_exit(&p->ring);
		p->uring = false;
	}
}

/* The datagram's arrival is known to whatever it makes meanwhile
 * (residence.h). */
static void deliver(sb_fdpoll_watch *w, const struct msghdr *mh,
		    uint8_t *buf, size_t len)
{
	sb_residence_arrival_ns = sb_residence_from_msg(mh);
	w->dcb(w->fd, buf, len, (const struct sockaddr_storage *)mh->msg_name,
	       mh->msg_namelen, w->data);
	sb_residence_arrival_ns = 0;
}

static void deliver_slot(sb_fdpoll_watch *w, rx_slot *s)
{
	if (s->res <= 0 || (s->mh.msg_flags & MSG_TRUNC))
		return; /* EAGAIN, an error, or too big for any of ours */
	deliver(w, &s->mh, s->buf, (size_t)s->res);
}

/* Normally every ready socket holds one datagram (each call has its
 * own), and one round reads them all. When epoll returned as many
 * sockets as it may (the worker fell behind), sockets that gave a
 * datagram are read again, round after round, as recvmmsg would drain
 * them: catching up at one datagram per socket per pass made a backlog
 * last for seconds. (UDP completions do not carry SOCK_NONEMPTY, so an
 * empty socket shows only as -EAGAIN.) Bounded like read_mmsg. */
#define RING_ROUNDS 16
static void read_ring_rounds(sb_fdpoll *p, sb_fdpoll_watch **ws, unsigned n,
			     bool backlog)
{
	int rounds = backlog ? RING_ROUNDS : 1;
	for (int round = 0; round < rounds && n && p->uring; round++) {
		read_ring(p, ws, n);
		unsigned next = 0;
		for (unsigned i = 0; i < n; i++) {
			sb_fdpoll_watch *w = ws[i];
			if (w->dead)
				continue;
			deliver_slot(w, &p->rx[i]);
			if (!w->dead && p->rx[i].res > 0)
				ws[next++] = w;
		}
		n = next;
	}
	/* if the ring gave up midway, what is unread is still readable:
	 * epoll reports it again and read_mmsg takes it */
}

/* Without the ring. Bounded: one busy socket cannot starve the worker;
 * what is left is reported again (level-triggered). */
static void read_mmsg(sb_fdpoll *p, sb_fdpoll_watch *w)
{
	for (int round = 0; round < 4 && !w->dead; round++) {
		sb_fdpoll_batch_reset(p);
		int n = recvmmsg(w->fd, p->msgs, SB_FDPOLL_BATCH, MSG_DONTWAIT,
				 NULL);
		for (int i = 0; i < n && !w->dead; i++) {
			if (p->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			deliver(w, &p->msgs[i].msg_hdr, p->bufs[i],
				p->msgs[i].msg_len);
		}
		if (n < SB_FDPOLL_BATCH)
			break;
	}
}

static gboolean poll_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
	sb_fdpoll *p = ((poll_source *)source)->p;
	struct epoll_event ev[EVENTS_PER_WAKEUP];
	(void)cb;
	(void)ud;

	p->dispatching = true;
	int n = epoll_wait(p->epfd, ev, EVENTS_PER_WAKEUP, 0);
	sb_fdpoll_watch *ring_ws[EVENTS_PER_WAKEUP];
	unsigned n_ring = 0;
	for (int i = 0; i < n; i++) {
		sb_fdpoll_watch *w = ev[i].data.ptr;
		if (w->dead)
			continue;
		if (!w->dcb)
			w->cb(w->fd, w->data);
		else if (p->uring)
			ring_ws[n_ring++] = w;
		else
			read_mmsg(p, w);
	}
	if (n_ring)
		read_ring_rounds(p, ring_ws, n_ring, n == EVENTS_PER_WAKEUP);
	p->dispatching = false;
	g_slist_free_full(g_steal_pointer(&p->graveyard), g_free);
	if (p->doomed)
		poller_free(p);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs poll_funcs = {
	.dispatch = poll_dispatch,
};

static sb_ctx_local *poller_new(GMainContext *ctx)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return NULL;
	sb_fdpoll *p = g_new0(sb_fdpoll, 1);
	p->base = (sb_ctx_local){ 1, ctx };
	p->epfd = epfd;
	/* SB_FDPOLL_RECVMMSG=1: no io_uring (comparisons) */
	const char *e = getenv("SB_FDPOLL_RECVMMSG");
	if (!(e && *e && strcmp(e, "0") != 0) &&
	    io_uring_queue_init(EVENTS_PER_WAKEUP, &p->ring, 0) == 0) {
		p->uring = true;
		p->rx = g_new(rx_slot, EVENTS_PER_WAKEUP);
	}
	p->src = g_source_new(&poll_funcs, sizeof(poll_source));
	((poll_source *)p->src)->p = p;
	g_source_set_name(p->src, "sb-fdpoll");
	g_source_add_unix_fd(p->src, epfd, G_IO_IN);
	/* GLib blocks a non-recursive source around its dispatch by taking
	 * its fds out of the poll set and putting them back, and each
	 * put-back signals the context's wakeup eventfd: two system calls
	 * per wakeup. Nothing here runs a nested loop, so opt out. */
	g_source_set_can_recurse(p->src, TRUE);
	sb_fdpoll_batch_reset(p);
	g_source_attach(p->src, ctx);
	return &p->base;
}

sb_fdpoll *sb_fdpoll_get(GMainContext *ctx)
{
	return (sb_fdpoll *)sb_ctx_local_get(&registry, ctx, poller_new);
}

void sb_fdpoll_unref(sb_fdpoll *p)
{
	if (!p || !sb_ctx_local_unref(&registry, &p->base))
		return;
	if (p->dispatching)
		p->doomed = true;
	else
		poller_free(p);
}

static sb_fdpoll_watch *add(sb_fdpoll *p, sb_fdpoll_watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
		int e = errno;
		g_free(w);
		errno = e;
		return NULL;
	}
	p->n++;
	return w;
}

sb_fdpoll_watch *sb_fdpoll_add(sb_fdpoll *p, int fd, sb_fdpoll_cb cb,
			       void *data)
{
	sb_fdpoll_watch *w = g_new0(sb_fdpoll_watch, 1);
	*w = (sb_fdpoll_watch){ .fd = fd, .cb = cb, .data = data };
	return add(p, w);
}

sb_fdpoll_watch *sb_fdpoll_add_dgram(sb_fdpoll *p, int fd,
				     sb_fdpoll_dgram_cb cb, void *data)
{
	sb_fdpoll_watch *w = g_new0(sb_fdpoll_watch, 1);
	*w = (sb_fdpoll_watch){ .fd = fd, .dcb = cb, .data = data };
	sb_residence_stamp_socket(fd);
	return add(p, w);
}

bool sb_fdpoll_uses_uring(const sb_fdpoll *p)
{
	return p->uring;
}

const char *sb_fdpoll_read_mode(const sb_fdpoll *p)
{
	return p->uring ? "io_uring" : "recvmmsg";
}

void sb_fdpoll_remove(sb_fdpoll *p, sb_fdpoll_watch *w)
{
	if (!w)
		return;
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	p->n--;
	if (p->dispatching)
		p->graveyard = g_slist_prepend(p->graveyard, w);
	else
		g_free(w);
}

struct mmsghdr *sb_fdpoll_batch(sb_fdpoll *p)
{
	return p->msgs;
}

void sb_fdpoll_batch_reset(sb_fdpoll *p)
{
	for (unsigned i = 0; i < SB_FDPOLL_BATCH; i++) {
		p->iov[i] = (struct iovec){ p->bufs[i], SB_FDPOLL_BUF };
		p->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &p->names[i],
			.msg_namelen = sizeof(p->names[i]),
			.msg_iov = &p->iov[i],
			.msg_iovlen = 1,
			.msg_control = p->ctls[i],
			.msg_controllen = sizeof(p->ctls[i]),
		};
		p->msgs[i].msg_len = 0;
	}
}

unsigned sb_fdpoll_count(const sb_fdpoll *p)
{
	return p->n;
}
