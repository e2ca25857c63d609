/* Media worker threads. Each thread pushes its context as the thread
 * default (libnice and GLib sources created there attach to it) and runs
 * a GMainLoop until told to quit by a message. */
#include "gateway/worker.h"

#include "gateway/msg.h"

struct sb_worker {
	unsigned index;
	GThread *thread;
	GMainContext *ctx;      /* owned */
	GMainLoop *loop;        /* owned; run by the worker thread only */
	gint load;              /* atomic: sessions placed here */
};

struct sb_worker_pool {
	unsigned n;
	sb_worker *w;           /* owned array of n */
};

static gpointer worker_main(gpointer data)
{
	sb_worker *w = data;
	g_main_context_push_thread_default(w->ctx);
	g_main_loop_run(w->loop);
	g_main_context_pop_thread_default(w->ctx);
	return NULL;
}

sb_worker_pool *sb_worker_pool_new(unsigned n)
{
	sb_worker_pool *p = g_new0(sb_worker_pool, 1);
	p->n = n ? n : 1;
	p->w = g_new0(sb_worker, p->n);
	for (unsigned i = 0; i < p->n; i++) {
		sb_worker *w = &p->w[i];
		w->index = i;
		w->ctx = g_main_context_new();
		w->loop = g_main_loop_new(w->ctx, FALSE);
		g_autofree char *name = g_strdup_printf("sb-media-%u", i);
		w->thread = g_thread_new(name, worker_main, w);
	}
	return p;
}

static void quit_handler(sb_msg *msg, void *payload)
{
	g_main_loop_quit(payload);
}

void sb_worker_pool_free(sb_worker_pool *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < pool->n; i++) {
		sb_worker *w = &pool->w[i];
		sb_msg_post(w->ctx, &(sb_msg_spec){
			.handler = quit_handler, .payload = w->loop });
	}
	for (unsigned i = 0; i < pool->n; i++) {
		sb_worker *w = &pool->w[i];
		g_thread_join(w->thread);
		g_main_loop_unref(w->loop);
		/* Finalising the context destroys the sources still attached,
		 * which frees the payloads of undelivered messages. */
		g_main_context_unref(w->ctx);
	}
	g_free(pool->w);
	g_free(pool);
}

unsigned sb_worker_pool_size(const sb_worker_pool *pool)
{
	return pool->n;
}

sb_worker *sb_worker_pool_get(sb_worker_pool *pool, unsigned i)
{
	return i < pool->n ? &pool->w[i] : NULL;
}

sb_worker *sb_worker_pool_pick(sb_worker_pool *pool)
{
	sb_worker *best = &pool->w[0];
	for (unsigned i = 1; i < pool->n; i++)
		if (sb_worker_load(&pool->w[i]) < sb_worker_load(best))
			best = &pool->w[i];
	return best;
}

GMainContext *sb_worker_context(sb_worker *w)
{
	return w->ctx;
}

unsigned sb_worker_index(const sb_worker *w)
{
	return w->index;
}

void sb_worker_add_load(sb_worker *w, int delta)
{
	g_atomic_int_add(&w->load, delta);
}

int sb_worker_load(const sb_worker *w)
{
	return g_atomic_int_get(&w->load);
}
