/* Outgoing datagrams of a worker, sent together once per loop pass
 * instead of one by one as the packets are made.
 *
 * Why: a datagram to a process asleep in epoll wakes it, and waking a
 * task on the other CPU is the costliest thing a send does on this
 * machine's VMs (doc/BENCHMARKS.md "Where the time goes"). Made one by
 * one between two Opus encodes, every packet of a transcoding tick paid
 * that wake-up; sent back to back at the end of the pass, the receiver
 * is still awake for all but the first. Nothing waits longer than the
 * loop pass that made it: the queue is flushed by its GSource's prepare,
 * which GLib runs after every pass's dispatches and before it polls,
 * whenever it is full, and when a datagram is queued while the oldest
 * has waited SB_TXQ_MAX_WAIT_US: a long pass (dozens of transcoded
 * packets, 50 us each) would otherwise hold its first packets for all
 * of it, doubling the latency the worker adds.
 *
 * Thread: the one that runs the context; sb_txq_get from any thread
 * (a lock, at set-up only). */
#ifndef SB_WEBRTC_TXQ_H
#define SB_WEBRTC_TXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <glib.h>

typedef struct sb_txq sb_txq;

#define SB_TXQ_MAX_WAIT_US 200

/* The context's queue, made on first use; a reference (sb_txq_unref). */
sb_txq *sb_txq_get(GMainContext *ctx);
void sb_txq_unref(sb_txq *q);

/* Queue a copy of buf for fd (to NULL: the connected peer). A send that
 * fails later adds one to *dropped (may be NULL; must stay valid until
 * the next flush: flush before freeing it). Returns 0, or
 * -EMSGSIZE. */
int sb_txq_send(sb_txq *q, int fd, const uint8_t *buf, size_t len,
		const struct sockaddr *to, socklen_t to_len,
		uint64_t *dropped);

/* Send everything queued now. Also before closing a queued fd or
 * freeing a dropped counter, so that nothing refers to either after. */
void sb_txq_flush(sb_txq *q);

/* Datagrams waiting (tests). */
unsigned sb_txq_pending(const sb_txq *q);

/* True when flushes go through io_uring: one system call per flush
 * instead of one per datagram (1.7 µs a datagram less on the test VM).
 * SB_TXQ_SENDTO=1 in the environment keeps sendto. */
bool sb_txq_uses_uring(const sb_txq *q);

#endif
