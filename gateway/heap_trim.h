/* Hands the heap's free pages back to the kernel every few seconds.
 *
 * glibc gives freed memory back only from the top of an arena. A call's
 * set-up leaves blocks that outlive it by the transaction timers (the
 * INVITE's and the ACK's transactions and their messages, about 22 KiB
 * a call, kept 32 s by RFC 3261/6026) among the call's long-lived
 * blocks, so once they end their pages stay resident, and so do those
 * of every call that has ended: after a busy hour the daemon keeps its
 * peak. malloc_trim() releases whole free pages anywhere in every
 * arena (MADV_DONTNEED), so resident memory follows the live calls.
 *
 * Thread: the signalling thread, whose context runs the timer. The
 * media workers do not allocate on the packet path, so the arena locks
 * the trim takes do not hold packets. */
#ifndef SB_GATEWAY_HEAP_TRIM_H
#define SB_GATEWAY_HEAP_TRIM_H

#include <stdbool.h>
#include <glib.h>

#define SB_HEAP_TRIM_PERIOD_S 10

/* A timer on ctx that trims every SB_HEAP_TRIM_PERIOD_S; destroy and
 * unref the returned source to stop it. */
GSource *sb_heap_trim_start(GMainContext *ctx);

/* Trim now; true if the allocator released memory. */
bool sb_heap_trim_now(void);

#endif
