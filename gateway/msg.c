/* Message passing over GMainContexts: one idle GSource per message, whose
 * destroy notify owns the cleanup. A GSource that is attached to a
 * context is destroyed (and its notify run) when the context is
 * finalised, which is what frees the payload of a message that was never
 * delivered. Any thread. */
#include "gateway/msg.h"

struct sb_msg {
	sb_msg_spec spec;
	void *reply;
	GDestroyNotify reply_free;
};

static void msg_free(gpointer data)
{
	sb_msg *m = data;
	if (m->spec.payload_free && m->spec.payload)
		m->spec.payload_free(m->spec.payload);
	if (m->spec.user_data_free && m->spec.user_data)
		m->spec.user_data_free(m->spec.user_data);
	if (m->reply_free && m->reply)
		m->reply_free(m->reply);
	if (m->spec.reply_ctx)
		g_main_context_unref(m->spec.reply_ctx);
	g_free(m);
}

static void attach(GMainContext *ctx, GSourceFunc fn, sb_msg *m)
{
	GSource *src = g_idle_source_new();
	g_source_set_priority(src, G_PRIORITY_DEFAULT);
	g_source_set_callback(src, fn, m, msg_free);
	g_source_set_static_name(src, "sb_msg");
	g_source_attach(src, ctx);
	g_source_unref(src);
}

static gboolean run_reply(gpointer data)
{
	sb_msg *m = data;
	m->spec.reply_cb(m->reply, m->spec.user_data);
	return G_SOURCE_REMOVE;
}

static gboolean run_handler(gpointer data)
{
	sb_msg *m = data;
	m->spec.handler(m, m->spec.payload);
	if (m->spec.reply_ctx && m->spec.reply_cb) {
		/* Move the reply path into a new message; this one keeps only
		 * its payload, freed when this source is destroyed. */
		sb_msg *r = g_new0(sb_msg, 1);
		r->spec.reply_cb = m->spec.reply_cb;
		r->spec.user_data = m->spec.user_data;
		r->spec.user_data_free = m->spec.user_data_free;
		r->reply = m->reply;
		r->reply_free = m->reply_free;
		GMainContext *rctx = m->spec.reply_ctx;
		m->spec.user_data = NULL;
		m->reply = NULL;
		m->spec.reply_ctx = NULL;
		attach(rctx, run_reply, r);
		g_main_context_unref(rctx);
	}
	return G_SOURCE_REMOVE;
}

void sb_msg_post(GMainContext *ctx, const sb_msg_spec *spec)
{
	sb_msg *m = g_new0(sb_msg, 1);
	m->spec = *spec;
	if (m->spec.reply_ctx)
		g_main_context_ref(m->spec.reply_ctx);
	attach(ctx, run_handler, m);
}

void sb_msg_set_reply(sb_msg *msg, void *reply, GDestroyNotify reply_free)
{
	if (msg->reply_free && msg->reply)
		msg->reply_free(msg->reply);
	msg->reply = reply;
	msg->reply_free = reply_free;
}
