/* Shared periodic ticks, one GSource per GMainContext (see ticker.h).
 * Ticks sit in a binary min-heap on their due time, so a wake-up costs
 * O(k log n) for the k ticks it runs, not a walk over all n (a worker
 * with 500 calls holds about 2,000 ticks). A removed tick is only marked
 * dead and freed when it reaches the top; a dispatch first takes every
 * due tick off the heap, then runs them and puts the live ones back, so
 * a callback may add or remove any tick, and the ticker itself is freed
 * after the walk if its last reference goes inside it. */
#include "webrtc/ticker.h"
#include "webrtc/ctx_local.h"

#include <stdbool.h>

struct sb_tick {
	gint64 due;              /* monotonic µs */
	gint64 period;           /* µs */
	bool dead;
	sb_tick_cb cb;
	void *data;
};

struct sb_ticker {
	sb_ctx_local base;       /* first: the per-context registry */
	GSource *src;            /* owned, attached to ctx */
	GPtrArray *heap;         /* owned sb_tick *, min-heap on due */
	GPtrArray *due;          /* owned sb_tick *, taken off mid-dispatch */
	unsigned live;
	bool dispatching;
	bool doomed;
};

typedef struct ticker_source {
	GSource base;
	sb_ticker *t;
} ticker_source;

static sb_ctx_locals registry;

#define AT(a, i) ((sb_tick *)g_ptr_array_index((a), (i)))

static void heap_swap(GPtrArray *h, guint i, guint j)
{
	gpointer x = h->pdata[i];
	h->pdata[i] = h->pdata[j];
	h->pdata[j] = x;
}

static void heap_push(GPtrArray *h, sb_tick *k)
{
	g_ptr_array_add(h, k);
	for (guint i = h->len - 1; i > 0;) {
		guint up = (i - 1) / 2;
		if (AT(h, up)->due <= AT(h, i)->due)
			break;
		heap_swap(h, i, up);
		i = up;
	}
}

static sb_tick *heap_pop(GPtrArray *h)
{
	sb_tick *top = AT(h, 0);
	h->pdata[0] = h->pdata[h->len - 1];
	g_ptr_array_set_size(h, h->len - 1);
	for (guint i = 0;;) {
		guint l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->len && AT(h, l)->due < AT(h, m)->due)
			m = l;
		if (r < h->len && AT(h, r)->due < AT(h, m)->due)
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
	return top;
}

static void ticker_free(sb_ticker *t)
{
	g_source_destroy(t->src);
	g_source_unref(t->src);
	for (guint i = 0; i < t->heap->len; i++)
		g_free(t->heap->pdata[i]);
	for (guint i = 0; i < t->due->len; i++)
		g_free(t->due->pdata[i]);
	g_ptr_array_free(t->heap, TRUE);
	g_ptr_array_free(t->due, TRUE);
	g_free(t);
}

/* Drop dead ticks from the top, then wake up for the earliest live one
 * (none: never). */
static void arm(sb_ticker *t)
{
	while (t->heap->len && AT(t->heap, 0)->dead)
		g_free(heap_pop(t->heap));
	g_source_set_ready_time(t->src,
				t->heap->len ? AT(t->heap, 0)->due : -1);
}

static void run_one(sb_tick *k, gint64 now)
{
	k->cb(now, k->data);
	if (k->dead)
		return;
	k->due += k->period;
	/* stalled: skip the missed periods (no burst) but keep the phase,
	 * so ticks that shared wake-ups still do */
	if (k->due <= now)
		k->due += ((now - k->due) / k->period + 1) * k->period;
}

static gboolean ticker_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
	sb_ticker *t = ((ticker_source *)source)->t;
	gint64 now = g_get_monotonic_time();
	(void)cb;
	(void)ud;

	t->dispatching = true;
	while (t->heap->len && AT(t->heap, 0)->due <= now + SB_TICKER_SLACK_US)
		g_ptr_array_add(t->due, heap_pop(t->heap));
	/* by index: a callback may remove a tick still in this list */
	for (guint i = 0; i < t->due->len; i++)
		if (!AT(t->due, i)->dead)
			run_one(AT(t->due, i), now);
	for (guint i = 0; i < t->due->len; i++) {
		sb_tick *k = AT(t->due, i);
		if (k->dead)
			g_free(k);
		else
			heap_push(t->heap, k);
	}
	g_ptr_array_set_size(t->due, 0);
	t->dispatching = false;
	if (t->doomed)
		ticker_free(t);
	else
		arm(t);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs ticker_funcs = {
	.dispatch = ticker_dispatch,
};

static sb_ctx_local *ticker_new(GMainContext *ctx)
{
	sb_ticker *t = g_new0(sb_ticker, 1);
	t->base = (sb_ctx_local){ 1, ctx };
	/* no free func: shrinking the arrays must not free what moved */
	t->heap = g_ptr_array_new();
	t->due = g_ptr_array_new();
	t->src = g_source_new(&ticker_funcs, sizeof(ticker_source));
	((ticker_source *)t->src)->t = t;
	g_source_set_name(t->src, "sb-ticker");
	g_source_attach(t->src, ctx);
	return &t->base;
}

sb_ticker *sb_ticker_get(GMainContext *ctx)
{
	return (sb_ticker *)sb_ctx_local_get(&registry, ctx, ticker_new);
}

void sb_ticker_unref(sb_ticker *t)
{
	if (!t || !sb_ctx_local_unref(&registry, &t->base))
		return;
	if (t->dispatching)
		t->doomed = true;
	else
		ticker_free(t);
}

sb_tick *sb_ticker_add(sb_ticker *t, unsigned period_ms, sb_tick_cb cb,
		       void *data)
{
	sb_tick *k = g_new0(sb_tick, 1);
	k->period = (gint64)MAX(period_ms, 1u) * 1000;
	k->due = g_get_monotonic_time() + k->period;
	k->cb = cb;
	k->data = data;
	heap_push(t->heap, k);
	t->live++;
	if (!t->dispatching) {
		gint64 ready = g_source_get_ready_time(t->src);
		if (ready < 0 || k->due < ready)
			g_source_set_ready_time(t->src, k->due);
	}
	return k;
}

void sb_ticker_remove(sb_ticker *t, sb_tick *k)
{
	if (!k)
		return;
	/* freed when it reaches the top of the heap (arm) or, if a
	 * dispatch holds it, after that dispatch */
	k->dead = true;
	t->live--;
}

unsigned sb_ticker_count(const sb_ticker *t)
{
	return t->live;
}
