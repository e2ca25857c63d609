/* What the worker's poller pays per datagram it reads, by way of reading
 * (webrtc/fd_poll.h): epoll plus one io_uring read per ready socket, all
 * in one system call, or epoll plus recvmmsg on each.
 *
 * One sender thread on CPU 1 sends bursts of BURST datagrams (172 bytes,
 * an SRTP PCMU packet) spread over SOCKS sockets every millisecond, as
 * sbload does for 600 calls; this thread, on CPU 0, runs a GLib context
 * with one datagram watch per socket and counts. The figure is this
 * thread's CPU time per datagram, system calls and wake-ups included.
 * The modes take turns, ROUNDS times, against a machine whose speed
 * drifts between runs: the minimum and the median of each are printed.
 *
 * Usage: bench_poll [seconds per round, default 2] [mode: 0 io_uring,
 * 1 recvmmsg; default both] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "webrtc/fd_poll.h"

#define SOCKS 600
#define BURST 60
#define ROUNDS 5
#define MODES 2 /* 0: io_uring, 1: recvmmsg (SB_FDPOLL_RECVMMSG) */

typedef struct round_state {
	struct sockaddr_in to[SOCKS];
	double seconds;
	atomic_ulong sent;
	atomic_bool done;
	unsigned long got;
} round_state;

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static double thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *sender(void *arg)
{
	round_state *r = arg;
	pin(1);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t pkt[172] = { 0x80 };
	struct mmsghdr m[BURST];
	struct iovec iov = { pkt, sizeof(pkt) };
	unsigned next = 0;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long ticks = (long)(r->seconds * 1000);
	for (long k = 0; k < ticks; k++) {
		for (int i = 0; i < BURST; i++) {
			m[i].msg_hdr = (struct msghdr){
				.msg_name = &r->to[next],
				.msg_namelen = sizeof(r->to[next]),
				.msg_iov = &iov, .msg_iovlen = 1 };
			next = (next + 1) % SOCKS;
		}
		int n = sendmmsg(fd, m, BURST, 0);
		if (n > 0)
			atomic_fetch_add(&r->sent, (unsigned long)n);
		t.tv_nsec += 1000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_nsec -= 1000000000;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
	close(fd);
	atomic_store(&r->done, true);
	return NULL;
}

static void on_dgram(int fd, uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t flen,
		     void *data)
{
	(void)fd, (void)buf, (void)len, (void)from, (void)flen;
	((round_state *)data)->got++;
}

static gboolean keep_ticking(gpointer data)
{
	(void)data;
	return G_SOURCE_CONTINUE;
}

/* One round in one mode: CPU microseconds per datagram read. */
static double one_round(int mode, double seconds, const char **name)
{
	setenv("SB_FDPOLL_RECVMMSG", mode ? "1" : "0", 1);
	GMainContext *ctx = g_main_context_new();
	sb_fdpoll *p = sb_fdpoll_get(ctx);
	*name = sb_fdpoll_read_mode(p);
	round_state *r = g_new0(round_state, 1);
	r->seconds = seconds;
	int fds[SOCKS];
	sb_fdpoll_watch *w[SOCKS];
	for (int i = 0; i < SOCKS; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		r->to[i] = (struct sockaddr_in){ .sin_family = AF_INET,
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t l = sizeof(r->to[i]);
		if (bind(fds[i], (struct sockaddr *)&r->to[i], l) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&r->to[i], &l) < 0) {
			perror("bench_poll: socket");
			exit(1);
		}
		w[i] = sb_fdpoll_add_dgram(p, fds[i], on_dgram, r);
	}
	/* wakes the loop once the sender has stopped (100 per second) */
	GSource *tick = g_timeout_source_new(10);
	g_source_set_callback(tick, keep_ticking, NULL, NULL);
	g_source_attach(tick, ctx);
	pthread_t th;
	double c0 = thread_cpu_us();
	pthread_create(&th, NULL, sender, r);
	int after = 0; /* iterations since the sender stopped */
	while (r->got < atomic_load(&r->sent) || !atomic_load(&r->done)) {
		g_main_context_iteration(ctx, TRUE);
		if (atomic_load(&r->done) && ++after > 100)
			break; /* datagrams lost: do not hang */
	}
	double c1 = thread_cpu_us();
	g_source_destroy(tick);
	g_source_unref(tick);
	pthread_join(th, NULL);
	double per = r->got ? (c1 - c0) / (double)r->got : 0;
	for (int i = 0; i < SOCKS; i++) {
		sb_fdpoll_remove(p, w[i]);
		close(fds[i]);
	}
	sb_fdpoll_unref(p);
	g_main_context_unref(ctx);
	g_free(r);
	return per;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	int only = argc > 2 ? atoi(argv[2]) : -1;
	int m0 = only >= 0 && only < MODES ? only : 0;
	int m1 = only >= 0 && only < MODES ? only + 1 : MODES;
	double us[MODES][ROUNDS];
	const char *name[MODES];
	pin(0);
	for (int k = 0; k < ROUNDS; k++)
		for (int m = m0; m < m1; m++)
			us[m][k] = one_round(m, seconds, &name[m]);
	for (int m = m0; m < m1; m++) {
		qsort(us[m], ROUNDS, sizeof(double), cmp);
		printf("    poller read, %-20s %6.3f us per datagram (min; median %.3f)"
		       " at %d datagrams per ms over %d sockets\n",
		       name[m], us[m][0], us[m][ROUNDS / 2], BURST, SOCKS);
	}
	return 0;
}
