/* Worker message passing: delivery on the target context, reply on the
 * sender's, and payloads freed exactly once even when never delivered
 * (the test runs under ASan/LSan in CI, which catches leaks and double
 * frees). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>

#include "gateway/msg.h"
#include "gateway/worker.h"

static gint freed_payloads;
static gint freed_replies;
static gint freed_userdata;

typedef struct payload {
	int value;
	GThread *ran_on;
} payload;

static void payload_free(gpointer p)
{
	g_atomic_int_inc(&freed_payloads);
	g_free(p);
}

static void reply_free(gpointer p)
{
	g_atomic_int_inc(&freed_replies);
	g_free(p);
}

static void userdata_free(gpointer p)
{
	g_atomic_int_inc(&freed_userdata);
	g_free(p);
}

static void double_it(sb_msg *msg, void *data)
{
	payload *p = data;
	int *r = g_new(int, 1);
	*r = p->value * 2;
	p->ran_on = g_thread_self();
	sb_msg_set_reply(msg, r, reply_free);
}

typedef struct reply_state {
	int got;
	GThread *reply_thread;
	GMainLoop *loop;
} reply_state;

static void on_reply(void *reply, void *user_data)
{
	reply_state *st = *(reply_state **)user_data;
	st->got = *(int *)reply;
	st->reply_thread = g_thread_self();
	g_main_loop_quit(st->loop);
}

static gboolean watchdog(gpointer data)
{
	fail_msg("watchdog: no reply within 5 s");
	return G_SOURCE_REMOVE;
}

static void reset_counters(void)
{
	freed_payloads = freed_replies = freed_userdata = 0;
}

static void test_post_and_reply(void **state)
{
	reset_counters();
	GMainContext *ctx = g_main_context_new();
	reply_state st = { .loop = g_main_loop_new(ctx, FALSE) };
	sb_worker_pool *pool = sb_worker_pool_new(2);
	sb_worker *w = sb_worker_pool_get(pool, 1);

	payload *p = g_new0(payload, 1);
	p->value = 21;
	reply_state **ud = g_new(reply_state *, 1);
	*ud = &st;
	sb_msg_post(sb_worker_context(w), &(sb_msg_spec){
		.handler = double_it, .payload = p, .payload_free = payload_free,
		.reply_ctx = ctx, .reply_cb = on_reply, .user_data = ud,
		.user_data_free = userdata_free });

	GSource *wd = g_timeout_source_new_seconds(5);
	g_source_set_callback(wd, watchdog, NULL, NULL);
	g_source_attach(wd, ctx);
	g_main_context_push_thread_default(ctx);
	g_main_loop_run(st.loop);
	g_main_context_pop_thread_default(ctx);
	g_source_destroy(wd);
	g_source_unref(wd);

	assert_int_equal(st.got, 42);
	assert_ptr_equal(st.reply_thread, g_thread_self());
	sb_worker_pool_free(pool);
	/* The payload was freed on the worker after the handler ran; the
	 * reply and user data after the reply callback. */
	assert_int_equal(g_atomic_int_get(&freed_payloads), 1);
	while (g_main_context_iteration(ctx, FALSE))
		;
	assert_int_equal(g_atomic_int_get(&freed_replies), 1);
	assert_int_equal(g_atomic_int_get(&freed_userdata), 1);
	g_main_loop_unref(st.loop);
	g_main_context_unref(ctx);
}

static void never_runs(sb_msg *msg, void *data)
{
	fail_msg("handler of an undelivered message ran");
}

/* A context nobody iterates, then dropped: every message posted to it is
 * freed once, payload and user data alike. */
static void test_undelivered_freed(void **state)
{
	reset_counters();
	GMainContext *dead = g_main_context_new();
	GMainContext *reply = g_main_context_new();
	for (int i = 0; i < 10; i++)
		sb_msg_post(dead, &(sb_msg_spec){
			.handler = never_runs, .payload = g_new0(payload, 1),
			.payload_free = payload_free, .reply_ctx = reply,
			.reply_cb = on_reply, .user_data = g_new0(reply_state *, 1),
			.user_data_free = userdata_free });
	assert_int_equal(g_atomic_int_get(&freed_payloads), 0);
	g_main_context_unref(dead);
	assert_int_equal(g_atomic_int_get(&freed_payloads), 10);
	assert_int_equal(g_atomic_int_get(&freed_userdata), 10);
	g_main_context_unref(reply);
}

/* The reply context goes away before the reply is delivered: the reply
 * and the user data are still freed once. */
static void test_reply_undelivered(void **state)
{
	reset_counters();
	GMainContext *target = g_main_context_new();
	GMainContext *reply = g_main_context_new();
	payload *p = g_new0(payload, 1);
	p->value = 1;
	sb_msg_post(target, &(sb_msg_spec){
		.handler = double_it, .payload = p, .payload_free = payload_free,
		.reply_ctx = reply, .reply_cb = on_reply,
		.user_data = g_new0(reply_state *, 1), .user_data_free = userdata_free });
	g_main_context_unref(reply); /* the message still holds a reference */
	while (g_main_context_iteration(target, FALSE))
		;
	/* The reply message held the last reference to the reply context,
	 * so the context went away with the reply still in it. */
	assert_int_equal(g_atomic_int_get(&freed_payloads), 1);
	assert_int_equal(g_atomic_int_get(&freed_replies), 1);
	assert_int_equal(g_atomic_int_get(&freed_userdata), 1);
	g_main_context_unref(target);
	assert_int_equal(g_atomic_int_get(&freed_replies), 1);
}

/* Messages queued to workers that are stopped are freed, not run. */
static void test_pool_stop_frees(void **state)
{
	reset_counters();
	sb_worker_pool *pool = sb_worker_pool_new(3);
	assert_int_equal(sb_worker_pool_size(pool), 3);
	for (unsigned i = 0; i < 3; i++)
		for (int j = 0; j < 50; j++)
			sb_msg_post(sb_worker_context(sb_worker_pool_get(pool, i)),
				    &(sb_msg_spec){ .handler = double_it,
				    .payload = g_new0(payload, 1),
				    .payload_free = payload_free });
	sb_worker_pool_free(pool);
	assert_int_equal(g_atomic_int_get(&freed_payloads), 150);
}

static void test_pick_least_loaded(void **state)
{
	sb_worker_pool *pool = sb_worker_pool_new(3);
	sb_worker_add_load(sb_worker_pool_get(pool, 0), 2);
	sb_worker_add_load(sb_worker_pool_get(pool, 1), 1);
	sb_worker_add_load(sb_worker_pool_get(pool, 2), 3);
	assert_int_equal(sb_worker_index(sb_worker_pool_pick(pool)), 1);
	sb_worker_add_load(sb_worker_pool_get(pool, 1), 5);
	assert_int_equal(sb_worker_index(sb_worker_pool_pick(pool)), 0);
	sb_worker_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_and_reply),
		cmocka_unit_test(test_undelivered_freed),
		cmocka_unit_test(test_reply_undelivered),
		cmocka_unit_test(test_pool_stop_frees),
		cmocka_unit_test(test_pick_least_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
