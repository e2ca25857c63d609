/* Message passing between the signalling thread and the media workers
 * (and back). A message is a function to run on the target GMainContext
 * plus a payload the message owns: the payload is freed by its
 * GDestroyNotify after the handler ran, or when the target context goes
 * away without running it (a worker that stopped), so nothing leaks and
 * nothing is freed twice. A handler may set a reply; the reply is
 * delivered on the reply context (normally the sender's) and is owned by
 * the reply message in the same way. No locks are held while handlers
 * run; a message is never run synchronously inside sb_msg_post, even when
 * posted to the caller's own context. */
#ifndef SB_GATEWAY_MSG_H
#define SB_GATEWAY_MSG_H

#include <glib.h>

typedef struct sb_msg sb_msg;

/* Runs on the target context. payload is borrowed (freed after return). */
typedef void (*sb_msg_handler)(sb_msg *msg, void *payload);

/* Runs on the reply context. reply is borrowed (freed after return); it
 * is NULL when the handler set none. */
typedef void (*sb_msg_reply_cb)(void *reply, void *user_data);

typedef struct sb_msg_spec {
	sb_msg_handler handler;
	void *payload;
	GDestroyNotify payload_free;    /* may be NULL */
	/* Optional reply path: */
	GMainContext *reply_ctx;        /* NULL = no reply */
	sb_msg_reply_cb reply_cb;
	void *user_data;
	GDestroyNotify user_data_free;  /* called after reply_cb, or when the
					   reply is never delivered */
} sb_msg_spec;

/* Post a message to ctx. Takes ownership of spec->payload and
 * spec->user_data at once, whatever happens. Any thread. */
void sb_msg_post(GMainContext *ctx, const sb_msg_spec *spec);

/* Inside a handler: set the reply (owned from now on by the message;
 * freed by reply_free after delivery or if undeliverable). */
void sb_msg_set_reply(sb_msg *msg, void *reply, GDestroyNotify reply_free);

#endif
