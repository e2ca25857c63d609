/* sb_ticker: period and phase, ticks due together share a wake-up,
 * removals and the last unref inside callbacks (ASan catches a
 * use-after-free), many ticks of mixed periods through the heap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "webrtc/ticker.h"

typedef struct rec {
	sb_ticker *t;
	sb_tick *self, *other;
	unsigned calls;
	gint64 nows[64];
	bool remove_self, remove_other, unref;
} rec;

static void on_tick(gint64 now, void *data)
{
	rec *r = data;
	if (r->calls < G_N_ELEMENTS(r->nows))
		r->nows[r->calls] = now;
	r->calls++;
	if (r->remove_other && r->other) {
		sb_ticker_remove(r->t, r->other);
		r->other = NULL;
	}
	if (r->remove_self) {
		sb_ticker_remove(r->t, r->self);
		r->self = NULL;
		r->remove_self = false;
		if (r->unref) {
			sb_ticker_unref(r->t);
			r->t = NULL;
		}
	}
}

/* Run ctx for ms milliseconds of wall time. */
static void run_for(GMainContext *ctx, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000ll;
	while (g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, FALSE) || (g_usleep(200), 0);
}

static void test_period_and_phase(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	sb_ticker *t = sb_ticker_get(ctx);
	assert_ptr_equal(sb_ticker_get(ctx), t);
	sb_ticker_unref(t);
	rec r = { .t = t };
	gint64 start = g_get_monotonic_time();
	r.self = sb_ticker_add(t, 20, on_tick, &r);
	assert_int_equal(sb_ticker_count(t), 1);
	run_for(ctx, 410);
	/* 20 periods in 410 ms, never more (no burst); fewer only when
	 * this shared machine stalls the loop, which skips, not bursts */
	assert_in_range(r.calls, 5, 21);
	/* the n-th tick is due at start + 20 n ms or later (after a stall),
	 * never more than the slack early */
	for (unsigned i = 0; i < r.calls && i < G_N_ELEMENTS(r.nows); i++) {
		gint64 due = start + 20000ll * (i + 1);
		assert_true(r.nows[i] >= due - SB_TICKER_SLACK_US - 1000);
	}
	sb_ticker_remove(t, r.self);
	assert_int_equal(sb_ticker_count(t), 0);
	sb_ticker_unref(t);
	g_main_context_unref(ctx);
}

/* Two ticks added 0.5-1.5 ms apart are served in one wake-up: the same
 * "now". (When this machine oversleeps between the two adds, they are
 * further apart than the slack: try again.) */
static void test_due_together_share_a_wakeup(void **unused)
{
	(void)unused;
	for (int attempt = 0; attempt < 20; attempt++) {
		GMainContext *ctx = g_main_context_new();
		sb_ticker *t = sb_ticker_get(ctx);
		rec a = { .t = t }, b = { .t = t };
		gint64 t0 = g_get_monotonic_time();
		a.self = sb_ticker_add(t, 20, on_tick, &a);
		while (g_get_monotonic_time() - t0 < 500)
			;
		b.self = sb_ticker_add(t, 20, on_tick, &b);
		bool near = g_get_monotonic_time() - t0 <= 1500;
		for (int i = 0; near && i < 100 && (a.calls < 10 || b.calls < 10); i++)
			run_for(ctx, 20);
		sb_ticker_remove(t, a.self);
		sb_ticker_remove(t, b.self);
		sb_ticker_unref(t);
		g_main_context_unref(ctx);
		if (!near)
			continue;
		assert_true(a.calls >= 10 && b.calls >= 10);
		unsigned same = 0;
		for (unsigned i = 0; i < 10; i++)
			same += a.nows[i] == b.nows[i];
		/* b is due within the slack after a: they run together,
		 * also after a stall (missed periods keep the phase) */
		assert_int_equal(same, 10);
		return;
	}
	fail_msg("could not add two ticks within 1.5 ms in 20 attempts");
}

static void test_remove_in_callbacks(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	sb_ticker *t = sb_ticker_get(ctx);
	rec a = { .t = t, .remove_other = true }, b = { .t = t };
	a.self = sb_ticker_add(t, 10, on_tick, &a);
	b.self = sb_ticker_add(t, 10, on_tick, &b);
	a.other = b.self;
	/* b was removed by a's first call: it may have run once before it
	 * (same wake-up, array order) but never after */
	run_for(ctx, 100);
	assert_true(a.calls >= 5);
	assert_true(b.calls <= 1);
	/* a removes itself */
	a.remove_self = true;
	unsigned before = a.calls;
	run_for(ctx, 50);
	assert_int_equal(a.calls, before + 1);
	assert_int_equal(sb_ticker_count(t), 0);
	sb_ticker_unref(t);
	g_main_context_unref(ctx);
}

/* The last reference dropped inside a callback: the ticker outlives the
 * walk, then goes; the context keeps running. */
static void test_unref_in_callback(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	rec a = { .t = sb_ticker_get(ctx), .remove_self = true, .unref = true };
	a.self = sb_ticker_add(a.t, 10, on_tick, &a);
	run_for(ctx, 60);
	assert_int_equal(a.calls, 1);
	assert_null(a.t);
	/* a new ticker for the same context works */
	sb_ticker *t = sb_ticker_get(ctx);
	rec b = { .t = t };
	b.self = sb_ticker_add(t, 10, on_tick, &b);
	run_for(ctx, 55);
	assert_true(b.calls >= 3);
	sb_ticker_remove(t, b.self);
	sb_ticker_unref(t);
	g_main_context_unref(ctx);
}

/* Many ticks of different periods (the heap): each runs about
 * duration / period times, and the half
 * removed midway never runs again. */
#define MANY 300
static void test_many_ticks(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	sb_ticker *t = sb_ticker_get(ctx);
	static rec r[MANY];
	memset(r, 0, sizeof(r));
	for (unsigned i = 0; i < MANY; i++) {
		r[i].t = t;
		r[i].self = sb_ticker_add(t, 5 + i % 7 * 5, on_tick, &r[i]);
	}
	assert_int_equal(sb_ticker_count(t), MANY);
	run_for(ctx, 200);
	unsigned at_removal[MANY];
	for (unsigned i = 0; i < MANY; i++) {
		unsigned period = 5 + i % 7 * 5;
		/* 200 ms at this period, allowing for a loaded machine */
		assert_true(r[i].calls >= 200 / period / 3);
		assert_true(r[i].calls <= 200 / period + 1);
		at_removal[i] = r[i].calls;
		if (i % 2) {
			sb_ticker_remove(t, r[i].self);
			r[i].self = NULL;
		}
	}
	assert_int_equal(sb_ticker_count(t), MANY / 2);
	run_for(ctx, 100);
	for (unsigned i = 0; i < MANY; i++) {
		if (i % 2)
			assert_int_equal(r[i].calls, at_removal[i]);
		else
			assert_true(r[i].calls > at_removal[i]);
	}
	for (unsigned i = 0; i < MANY; i += 2)
		sb_ticker_remove(t, r[i].self);
	sb_ticker_unref(t);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_and_phase),
		cmocka_unit_test(test_due_together_share_a_wakeup),
		cmocka_unit_test(test_remove_in_callbacks),
		cmocka_unit_test(test_unref_in_callback),
		cmocka_unit_test(test_many_ticks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
