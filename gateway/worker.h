/* Media workers: N threads, each running its own GMainContext, which
 * holds the media sessions (ICE agents, sockets, DTLS, SRTP, codecs) of
 * the calls placed on it. The pool is created and destroyed by the
 * signalling thread; the only cross-thread operations are sb_msg_post()
 * to a worker's context and the atomic load counters. */
#ifndef SB_GATEWAY_WORKER_H
#define SB_GATEWAY_WORKER_H

#include <glib.h>

typedef struct sb_worker sb_worker;
typedef struct sb_worker_pool sb_worker_pool;

/* Start n workers (n >= 1). Signalling thread. */
sb_worker_pool *sb_worker_pool_new(unsigned n);

/* Stop every worker (messages still queued are freed undelivered, see
 * gateway/msg.h) and join the threads. Signalling thread. */
void sb_worker_pool_free(sb_worker_pool *pool);

unsigned sb_worker_pool_size(const sb_worker_pool *pool);
sb_worker *sb_worker_pool_get(sb_worker_pool *pool, unsigned i);

/* The worker with the fewest sessions; the caller then counts its new
 * session with sb_worker_add_load(w, 1). Signalling thread. */
sb_worker *sb_worker_pool_pick(sb_worker_pool *pool);

/* Borrowed; valid until the pool is freed. Any thread. */
GMainContext *sb_worker_context(sb_worker *w);
unsigned sb_worker_index(const sb_worker *w);

/* Session count used for placement. Any thread (atomic). */
void sb_worker_add_load(sb_worker *w, int delta);
int sb_worker_load(const sb_worker *w);

#endif
