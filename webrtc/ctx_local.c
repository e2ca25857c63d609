/* Per-context objects (see ctx_local.h). */
#include "webrtc/ctx_local.h"

sb_ctx_local *sb_ctx_local_get(sb_ctx_locals *reg, GMainContext *ctx,
			       sb_ctx_local *(*make)(GMainContext *ctx))
{
	g_mutex_lock(&reg->lock);
	if (!reg->by_ctx)
		reg->by_ctx = g_hash_table_new(NULL, NULL);
	sb_ctx_local *o = g_hash_table_lookup(reg->by_ctx, ctx);
	if (o)
		o->ref++;
	else if ((o = make(ctx)) != NULL)
		g_hash_table_insert(reg->by_ctx, ctx, o);
	g_mutex_unlock(&reg->lock);
	return o;
}

bool sb_ctx_local_unref(sb_ctx_locals *reg, sb_ctx_local *obj)
{
	g_mutex_lock(&reg->lock);
	bool last = --obj->ref == 0;
	if (last) {
		g_hash_table_remove(reg->by_ctx, obj->ctx);
		if (g_hash_table_size(reg->by_ctx) == 0)
			g_clear_pointer(&reg->by_ctx, g_hash_table_destroy);
	}
	g_mutex_unlock(&reg->lock);
	return last;
}
