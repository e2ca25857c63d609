/* One epoll-backed GSource per GMainContext for the UDP sockets the
 * project owns (plain RTP/RTCP). With one GSource per socket, every main
 * loop iteration costs GLib a prepare/check per source and every dispatch
 * blocks and unblocks that source's poll record; with this, GLib polls
 * one fd per worker and dispatches once per wakeup, however many sockets
 * are ready (doc/BENCHMARKS.md "Where the time goes").
 *
 * The poller also lends a batch of receive buffers for recvmmsg: the
 * worker handles one packet at a time, so one batch per context is
 * enough.
 *
 * Threads: sb_fdpoll_get may be called from any thread (it takes a
 * lock, at set-up only); everything else, sb_fdpoll_unref included, on
 * the thread that runs the context (or while nothing runs it): the last
 * unref frees the source that thread may be dispatching. */
#ifndef SB_WEBRTC_FD_POLL_H
#define SB_WEBRTC_FD_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <sys/socket.h>

#define SB_FDPOLL_BATCH 16
#define SB_FDPOLL_BUF 1644 /* >= SB_LEG_BUF */

typedef struct sb_fdpoll sb_fdpoll;
/* Owned by its poller; the handle stays valid until sb_fdpoll_remove. */
typedef struct sb_fdpoll_watch sb_fdpoll_watch;

/* Called when fd is readable (level-triggered: read what you can; an
 * unread datagram brings the call back on the next iteration). */
typedef void (*sb_fdpoll_cb)(int fd, void *data);

/* The context's poller, created and attached on first use; returns a
 * reference (sb_fdpoll_unref). NULL if epoll is unavailable. */
sb_fdpoll *sb_fdpoll_get(GMainContext *ctx);
void sb_fdpoll_unref(sb_fdpoll *p);

/* Watch fd for input. Returns NULL (errno set) if epoll refuses it. */
sb_fdpoll_watch *sb_fdpoll_add(sb_fdpoll *p, int fd, sb_fdpoll_cb cb,
			       void *data);

/* One datagram read from fd for the watch's owner: buf (up to
 * SB_FDPOLL_BUF bytes; truncated datagrams are dropped) and from are
 * borrowed for the call. */
typedef void (*sb_fdpoll_dgram_cb)(int fd, uint8_t *buf, size_t len,
				   const struct sockaddr_storage *from,
				   socklen_t from_len, void *data);

/* Watch a UDP socket and have the poller read it: with io_uring, one
 * datagram from every ready socket in one system call per wake-up
 * (instead of one recvmmsg per socket: nearly every socket holds one
 * datagram per wake-up, each call's socket being its own); without,
 * recvmmsg in batches of SB_FDPOLL_BATCH. SB_FDPOLL_RECVMMSG=1 in the
 * environment keeps recvmmsg. NULL (errno set) if epoll refuses fd. */
sb_fdpoll_watch *sb_fdpoll_add_dgram(sb_fdpoll *p, int fd,
				     sb_fdpoll_dgram_cb cb, void *data);
bool sb_fdpoll_uses_uring(const sb_fdpoll *p);
/* "io_uring" or "recvmmsg": how datagram watches are read (tests,
 * benchmarks). */
const char *sb_fdpoll_read_mode(const sb_fdpoll *p);
/* Stop watching (before closing the fd). Safe inside any callback of the
 * same poller, including the watch's own: a removed watch is never
 * called again. NULL-safe. */
void sb_fdpoll_remove(sb_fdpoll *p, sb_fdpoll_watch *w);

/* The shared batch for recvmmsg: SB_FDPOLL_BATCH message headers, each
 * with one iovec of SB_FDPOLL_BUF bytes and a sockaddr_storage name.
 * sb_fdpoll_batch_reset restores msg_namelen and iov_len before a call.
 * Valid until the callback returns. */
struct mmsghdr *sb_fdpoll_batch(sb_fdpoll *p);
void sb_fdpoll_batch_reset(sb_fdpoll *p);

/* Watches registered now (tests, metrics). */
unsigned sb_fdpoll_count(const sb_fdpoll *p);

#endif
