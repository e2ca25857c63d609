/* Epoll-backed socket source, one per GMainContext (see fd_poll.h).
 * Removing a watch while a dispatch is walking a batch of events only
 * marks it dead: the batch may still point at it, so it is freed after
 * the walk. The poller itself is freed the same way if its last
 * reference goes inside its own dispatch. */
#include "webrtc/fd_poll.h"
#include "webrtc/ctx_local.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS_PER_WAKEUP 64

struct sb_fdpoll_watch {
	int fd;
	bool dead;
	sb_fdpoll_cb cb;
	void *data;
};

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
	uint8_t bufs[SB_FDPOLL_BATCH][SB_FDPOLL_BUF];
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
	close(p->epfd);
	g_slist_free_full(p->graveyard, g_free);
	g_free(p);
}

static gboolean poll_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
	sb_fdpoll *p = ((poll_source *)source)->p;
	struct epoll_event ev[EVENTS_PER_WAKEUP];
	(void)cb;
	(void)ud;

	p->dispatching = true;
	int n = epoll_wait(p->epfd, ev, EVENTS_PER_WAKEUP, 0);
	for (int i = 0; i < n; i++) {
		sb_fdpoll_watch *w = ev[i].data.ptr;
		if (!w->dead)
			w->cb(w->fd, w->data);
	}
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

sb_fdpoll_watch *sb_fdpoll_add(sb_fdpoll *p, int fd, sb_fdpoll_cb cb,
			       void *data)
{
	sb_fdpoll_watch *w = g_new0(sb_fdpoll_watch, 1);
	*w = (sb_fdpoll_watch){ .fd = fd, .cb = cb, .data = data };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		g_free(w);
		errno = e;
		return NULL;
	}
	p->n++;
	return w;
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
		};
		p->msgs[i].msg_len = 0;
	}
}

unsigned sb_fdpoll_count(const sb_fdpoll *p)
{
	return p->n;
}
