/* Per-context send queue (see txq.h). A fixed array of slots: the
 * packet path neither allocates nor locks. A flush hands the whole batch
 * to the kernel with one io_uring_enter (one IORING_OP_SENDMSG per
 * datagram, non-blocking, so each completes inside that call) where
 * io_uring is available, else one sendto per datagram. */
#include "webrtc/txq.h"
#include "webrtc/ctx_local.h"
#include "webrtc/residence.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <liburing.h>

#define SLOTS 128
#define SLOT_BYTES 1500

typedef struct slot {
	int fd;
	uint16_t len;
	socklen_t to_len;            /* 0: the socket's connected peer */
	uint64_t *dropped;           /* borrowed, may be NULL */
	struct sockaddr_storage to;
	struct msghdr mh;            /* io_uring: points at to and iov */
	struct iovec iov;
	uint8_t buf[SLOT_BYTES];
} slot;

struct sb_txq {
	sb_ctx_local base;           /* first: the per-context registry */
	GSource *src;                /* owned, attached to ctx */
	bool uring;                  /* ring usable */
	struct io_uring ring;        /* owned when uring */
	unsigned n;
	unsigned stamped;            /* slots with an arrival time */
	gint64 first_us;             /* when slot 0 was queued (monotonic) */
	int64_t arrival[SLOTS];      /* sb_residence_arrival_ns per slot */
	slot slots[SLOTS];
};

typedef struct txq_source {
	GSource base;
	sb_txq *q;
} txq_source;

static sb_ctx_locals registry;

static void flush_sendto(sb_txq *q, unsigned from)
{
	for (unsigned i = from; i < q->n; i++) {
		slot *s = &q->slots[i];
		ssize_t r = sendto(s->fd, s->buf, s->len, MSG_DONTWAIT,
				   s->to_len ? (struct sockaddr *)&s->to : NULL,
				   s->to_len);
		if (r < 0 && s->dropped)
			(*s->dropped)++;
	}
}

/* Returns how many slots, from the first, the kernel took. Their
 * completions are all reaped before returning, as the slots are reused
 * right after; non-blocking sends complete inside io_uring_enter, so
 * waiting only happens if the kernel punted one. */
static unsigned flush_uring(sb_txq *q)
{
	for (unsigned i = 0; i < q->n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
		io_uring_prep_sendmsg(sqe, q->slots[i].fd, &q->slots[i].mh,
				      MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, i);
	}
	int taken = io_uring_submit(&q->ring);
	if (taken < 0)
		return 0;
	for (int done = 0; done < taken; done++) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&q->ring, &cqe) < 0)
			break;
		slot *s = &q->slots[io_uring_cqe_get_data64(cqe)];
		if (cqe->res < 0 && s->dropped)
			(*s->dropped)++;
		io_uring_cqe_seen(&q->ring, cqe);
	}
	return (unsigned)taken;
}

void sb_txq_flush(sb_txq *q)
{
	if (q->n == 0)
		return;
	unsigned taken = q->uring ? flush_uring(q) : 0;
	if (q->uring && taken < q->n) {
		/* the ring refused (it does not once set up): drop it, with
		 * whatever it still holds, and send the rest the plain way */
		g_warning("txq: io_uring refused %u datagrams, using sendto",
			  q->n - taken);
		io_uring_queue_exit(&q->ring);
		q->uring = false;
	}
	flush_sendto(q, taken);
	if (q->stamped)
		sb_residence_report(q->arrival, q->n, sb_residence_now_ns());
	q->n = 0;
	q->stamped = 0;
}

/* GLib runs every source's prepare after the previous pass's dispatches
 * and before it polls: the end of the pass. */
static gboolean txq_prepare(GSource *source, gint *timeout)
{
	sb_txq *q = ((txq_source *)source)->q;
	if (q->n)
		sb_txq_flush(q);
	*timeout = -1;
	return FALSE;
}

static gboolean txq_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
	(void)source;
	(void)cb;
	(void)ud;
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs txq_funcs = {
	.prepare = txq_prepare,
	.dispatch = txq_dispatch,
};

/* SB_TXQ_SENDTO=1: no io_uring (comparisons; kernels that refuse it
 * fall back by themselves). */
static bool want_uring(void)
{
	const char *e = getenv("SB_TXQ_SENDTO");
	return !(e && *e && strcmp(e, "0") != 0);
}

static sb_ctx_local *txq_new(GMainContext *ctx)
{
	sb_txq *q = g_new0(sb_txq, 1);
	q->base = (sb_ctx_local){ 1, ctx };
	q->uring = want_uring() && io_uring_queue_init(SLOTS, &q->ring, 0) == 0;
	q->src = g_source_new(&txq_funcs, sizeof(txq_source));
	((txq_source *)q->src)->q = q;
	g_source_set_name(q->src, "sb-txq");
	g_source_attach(q->src, ctx);
	return &q->base;
}

sb_txq *sb_txq_get(GMainContext *ctx)
{
	return (sb_txq *)sb_ctx_local_get(&registry, ctx, txq_new);
}

void sb_txq_unref(sb_txq *q)
{
	if (!q || !sb_ctx_local_unref(&registry, &q->base))
		return;
	sb_txq_flush(q);
	if (q->uring)
		io_uring_queue_exit(&q->ring);
	g_source_destroy(q->src);
	g_source_unref(q->src);
	g_free(q);
}

int sb_txq_send(sb_txq *q, int fd, const uint8_t *buf, size_t len,
		const struct sockaddr *to, socklen_t to_len,
		uint64_t *dropped)
{
	if (len > SLOT_BYTES || to_len > sizeof(struct sockaddr_storage))
		return -EMSGSIZE;
	if (q->n == SLOTS)
		sb_txq_flush(q);
	gint64 now = g_get_monotonic_time();
	if (q->n == 0)
		q->first_us = now;
	q->arrival[q->n] = sb_residence_arrival_ns;
	q->stamped += sb_residence_arrival_ns != 0;
	slot *s = &q->slots[q->n++];
	s->fd = fd;
	s->len = (uint16_t)len;
	s->to_len = to ? to_len : 0;
	s->dropped = dropped;
	if (s->to_len)
		memcpy(&s->to, to, to_len);
	memcpy(s->buf, buf, len);
	s->iov = (struct iovec){ s->buf, len };
	s->mh = (struct msghdr){
		.msg_name = s->to_len ? &s->to : NULL,
		.msg_namelen = s->to_len,
		.msg_iov = &s->iov,
		.msg_iovlen = 1,
	};
	if (now - q->first_us >= SB_TXQ_MAX_WAIT_US)
		sb_txq_flush(q);
	return 0;
}

unsigned sb_txq_pending(const sb_txq *q)
{
	return q->n;
}

bool sb_txq_uses_uring(const sb_txq *q)
{
	return q->uring;
}

