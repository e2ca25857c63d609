/* Per-context send queue (see txq.h). A fixed array of slots: the
 * packet path neither allocates nor locks. */
#include "webrtc/txq.h"
#include "webrtc/ctx_local.h"

#include <errno.h>
#include <string.h>

#define SLOTS 128
#define SLOT_BYTES 1500

typedef struct slot {
	int fd;
	uint16_t len;
	socklen_t to_len;            /* 0: the socket's connected peer */
	uint64_t *dropped;           /* borrowed, may be NULL */
	struct sockaddr_storage to;
	uint8_t buf[SLOT_BYTES];
} slot;

struct sb_txq {
	sb_ctx_local base;           /* first: the per-context registry */
	GSource *src;                /* owned, attached to ctx */
	unsigned n;
	slot slots[SLOTS];
};

typedef struct txq_source {
	GSource base;
	sb_txq *q;
} txq_source;

static sb_ctx_locals registry;

void sb_txq_flush(sb_txq *q)
{
	for (unsigned i = 0; i < q->n; i++) {
		slot *s = &q->slots[i];
		ssize_t r = sendto(s->fd, s->buf, s->len, MSG_DONTWAIT,
				   s->to_len ? (struct sockaddr *)&s->to : NULL,
				   s->to_len);
		if (r < 0 && s->dropped)
			(*s->dropped)++;
	}
	q->n = 0;
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

static sb_ctx_local *txq_new(GMainContext *ctx)
{
	sb_txq *q = g_new0(sb_txq, 1);
	q->base = (sb_ctx_local){ 1, ctx };
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
	slot *s = &q->slots[q->n++];
	s->fd = fd;
	s->len = (uint16_t)len;
	s->to_len = to ? to_len : 0;
	s->dropped = dropped;
	if (s->to_len)
		memcpy(&s->to, to, to_len);
	memcpy(s->buf, buf, len);
	return 0;
}

unsigned sb_txq_pending(const sb_txq *q)
{
	return q->n;
}

void sb_txq_forget(sb_txq *q)
{
	sb_txq_flush(q);
}
