/* One timer GSource per GMainContext for the periodic work of many media
 * sessions (the transcoders' playout clock: every session needs a tick
 * per ptime). With one GSource per session, 100 transcoded calls mean
 * 5,000 separate wake-ups a second; here every tick due within
 * SB_TICKER_SLACK_US of the earliest runs in the same wake-up, so a
 * worker wakes at most about period / slack times per period, however
 * many sessions it holds. Each tick keeps its own phase: the next one is
 * due exactly one period after the last (no drift); after a stall the
 * missed periods are skipped, not caught up in a burst.
 *
 * Threads: sb_ticker_get may be called from any thread (a lock, at
 * set-up only); everything else on the thread that runs the context (or
 * while nothing runs it). */
#ifndef SB_WEBRTC_TICKER_H
#define SB_WEBRTC_TICKER_H

#include <glib.h>

/* A tick may run this much early to share a wake-up with another. */
#define SB_TICKER_SLACK_US 2000

typedef struct sb_ticker sb_ticker;
/* Owned by its ticker; valid until sb_ticker_remove. */
typedef struct sb_tick sb_tick;

/* now: the monotonic time (µs) of this wake-up. */
typedef void (*sb_tick_cb)(gint64 now, void *data);

/* The context's ticker, created and attached on first use; a reference
 * (sb_ticker_unref, on the context's thread). */
sb_ticker *sb_ticker_get(GMainContext *ctx);
void sb_ticker_unref(sb_ticker *t);

/* Call cb every period_ms, the first time one period from now. */
sb_tick *sb_ticker_add(sb_ticker *t, unsigned period_ms, sb_tick_cb cb,
		       void *data);
/* Stop a tick. Safe inside any callback of the same ticker, including
 * its own: a removed tick is never called again. NULL-safe. */
void sb_ticker_remove(sb_ticker *t, sb_tick *k);

/* Ticks registered now (tests). */
unsigned sb_ticker_count(const sb_ticker *t);

#endif
