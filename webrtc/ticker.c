/* Shared periodic ticks, one GSource per GMainContext (see ticker.h).
 * Ticks live in an array; one removed while a dispatch walks the array is
 * only marked dead and swept after the walk, and the ticker itself is
 * freed after the walk if its last reference goes inside it. */
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
	GPtrArray *ticks;        /* owned sb_tick * (live and, mid-walk, dead) */
	unsigned live;
	bool dispatching;
	bool doomed;
};

typedef struct ticker_source {
	GSource base;
	sb_ticker *t;
} ticker_source;

static sb_ctx_locals registry;

static void ticker_free(sb_ticker *t)
{
	g_source_destroy(t->src);
	g_source_unref(t->src);
	g_ptr_array_free(t->ticks, TRUE);
	g_free(t);
}

/* Wake up for the earliest tick (none: never). */
static void arm(sb_ticker *t)
{
	gint64 next = -1;
	for (guint i = 0; i < t->ticks->len; i++) {
		const sb_tick *k = g_ptr_array_index(t->ticks, i);
		if (!k->dead && (next < 0 || k->due < next))
			next = k->due;
	}
	g_source_set_ready_time(t->src, next);
}

static void sweep(sb_ticker *t)
{
	for (guint i = t->ticks->len; i-- > 0;)
		if (((sb_tick *)g_ptr_array_index(t->ticks, i))->dead)
			g_ptr_array_remove_index_fast(t->ticks, i);
}

static gboolean ticker_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
	sb_ticker *t = ((ticker_source *)source)->t;
	gint64 now = g_get_monotonic_time();
	(void)cb;
	(void)ud;

	t->dispatching = true;
	/* by index: a callback may add ticks (appended, due later) */
	for (guint i = 0; i < t->ticks->len; i++) {
		sb_tick *k = g_ptr_array_index(t->ticks, i);
		if (k->dead || k->due > now + SB_TICKER_SLACK_US)
			continue;
		k->cb(now, k->data);
		if (k->dead)
			continue;
		k->due += k->period;
		/* stalled: skip the missed periods (no burst) but keep the
		 * phase, so ticks that shared wake-ups still do */
		if (k->due <= now)
			k->due += ((now - k->due) / k->period + 1) * k->period;
	}
	t->dispatching = false;
	sweep(t);
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
	t->ticks = g_ptr_array_new_with_free_func(g_free);
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
	g_ptr_array_add(t->ticks, k);
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
	k->dead = true;
	t->live--;
	if (!t->dispatching)
		sweep(t);
}

unsigned sb_ticker_count(const sb_ticker *t)
{
	return t->live;
}
