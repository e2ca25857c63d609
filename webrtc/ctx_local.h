/* One reference-counted object per GMainContext (a worker's socket
 * poller, its ticker): the object embeds sb_ctx_local as its first
 * member, and a static sb_ctx_locals (zero-initialised) maps contexts
 * to objects. Any thread: a lock is taken, at set-up and tear-down only. */
#ifndef SB_WEBRTC_CTX_LOCAL_H
#define SB_WEBRTC_CTX_LOCAL_H

#include <glib.h>
#include <stdbool.h>

typedef struct sb_ctx_local {
	int ref;             /* under the registry's lock */
	GMainContext *ctx;   /* not a reference: the key */
} sb_ctx_local;

typedef struct sb_ctx_locals {
	GMutex lock;
	GHashTable *by_ctx;  /* GMainContext * -> sb_ctx_local *; NULL empty */
} sb_ctx_locals;

/* The object of ctx with one more reference; made by make(ctx) (which
 * returns it with ref 1 and ctx set, or NULL) on first use. */
sb_ctx_local *sb_ctx_local_get(sb_ctx_locals *reg, GMainContext *ctx,
			       sb_ctx_local *(*make)(GMainContext *ctx));
/* Drop a reference. True when it was the last: the object is out of the
 * registry and the caller frees it. */
bool sb_ctx_local_unref(sb_ctx_locals *reg, sb_ctx_local *obj);

#endif
