/* How long the media workers hold a datagram: from the kernel's arrival
 * stamp on the socket it came in on (SO_TIMESTAMPNS) to the moment the
 * send queue has handed what it produced to the kernel. That is the
 * latency the gateway adds to a relayed or transcoded packet, queueing
 * in front of a busy worker included, which a timer around the packet
 * handler alone would miss (doc/BENCHMARKS.md "Added latency").
 *
 * The poller (fd_poll.c) stamps every datagram watch's socket and sets
 * sb_residence_arrival_ns while it delivers a datagram; the send queue
 * (txq.c) copies it into each datagram queued meanwhile and reports the
 * time at its flush. Packets sent from timers (RTCP, injected DTMF, the
 * jitter-buffered playout clock) carry no arrival and are not counted,
 * nor are datagrams libnice reads itself (before nomination).
 *
 * Threads: each thread that reports owns its own histogram (created on
 * its first report, kept until exit: a worker reports until it stops);
 * sb_residence_snapshot, from any thread, sums every thread's histogram
 * with relaxed atomic loads, so a scrape may see a report half-counted
 * across buckets, never a counter going down. */
#ifndef SB_WEBRTC_RESIDENCE_H
#define SB_WEBRTC_RESIDENCE_H

#include <stdint.h>
#include <sys/socket.h>

/* Upper bounds of the buckets, in nanoseconds: fine below 1 ms, where
 * the relay's budget is, coarse above. */
#define SB_RESIDENCE_BUCKETS 15
extern const uint32_t sb_residence_bounds_ns[SB_RESIDENCE_BUCKETS];

typedef struct sb_residence_hist {
	/* non-cumulative; [SB_RESIDENCE_BUCKETS] counts above the last */
	uint64_t count[SB_RESIDENCE_BUCKETS + 1];
	uint64_t sum_ns;
} sb_residence_hist;

/* CLOCK_REALTIME arrival of the datagram being delivered on this
 * thread, in ns; 0 when none is. */
extern _Thread_local int64_t sb_residence_arrival_ns;

/* Ask the kernel to stamp fd's datagrams. Best effort: a socket that
 * refuses is simply not measured. */
void sb_residence_stamp_socket(int fd);

/* Room for the stamp in a msghdr's msg_control. */
#define SB_RESIDENCE_CMSG_SPACE 64

/* The arrival stamp in a received message's control data, in ns; 0 if
 * there is none. */
int64_t sb_residence_from_msg(const struct msghdr *mh);

/* CLOCK_REALTIME now, in ns (the clock of the kernel's stamps). */
int64_t sb_residence_now_ns(void);

/* n datagrams that arrived at arrival_ns[i] (0 = unknown, skipped)
 * were handed to the kernel at now_ns: count them in this thread's
 * histogram. */
void sb_residence_report(const int64_t *arrival_ns, unsigned n,
			 int64_t now_ns);

/* Sum of all threads' histograms. */
void sb_residence_snapshot(sb_residence_hist *out);

#endif
