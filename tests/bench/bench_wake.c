/* How long this machine takes to wake a thread that sleeps in epoll_wait
 * when a loopback datagram arrives for it, the sender on another CPU: the
 * floor under every latency figure of the benchmarks, whichever system
 * is measured, since a media worker sleeps between bursts and is woken
 * by the next one. The figure is the kernel's arrival stamp
 * (SO_TIMESTAMPNS, taken while the sender hands the datagram over) to
 * the receiver's clock after its recvmsg.
 *
 * On a virtual machine an idle vCPU is halted, and waking a halted vCPU
 * goes through the hypervisor; how long it stays halted decides the
 * cost, so the gap between datagrams is a parameter. "spin" is the same
 * receiver polling without sleeping: the cost of the path without the
 * wake-up.
 *
 *   bench_wake [RX_CPU TX_CPU]     (default 0 1)
 *
 * Bounded: a fixed number of datagrams per case (about 12 s in all). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 5000

typedef struct wake_case {
	const char *label;
	unsigned gap_us;             /* between two datagrams */
	unsigned n;                  /* datagrams measured */
	bool spin;                   /* receiver polls instead of sleeping */
} wake_case;

/* The sender's side of one case, its own thread. */
typedef struct sender {
	int cpu;
	struct sockaddr_in to;
	const wake_case *c;
} sender;

static int64_t realtime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

/* One datagram every gap_us on an absolute clock, a few more than the
 * receiver counts so that it never waits for a lost last one. */
static void *send_thread(void *arg)
{
	sender *s = arg;
	uint8_t pkt[172] = { 0x80 };
	struct timespec t;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	pin(s->cpu);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (unsigned i = 0; fd >= 0 && i < s->c->n + 20; i++) {
		t.tv_nsec += (long)s->c->gap_us * 1000;
		while (t.tv_nsec >= 1000000000) {
			t.tv_nsec -= 1000000000;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&s->to,
		       sizeof(s->to));
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int64_t stamp_of(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	}
	return 0;
}

/* Receives up to c->n datagrams on fd, storing each one's wake-up in
 * ns. */
static unsigned receive(int fd, int ep, const wake_case *c, int64_t *lat)
{
	unsigned n = 0;
	uint8_t buf[2048];
	/* twice the sender's time: a spinning receiver must stop too */
	int64_t end = realtime_ns() + 2 * (int64_t)c->n * c->gap_us * 1000;
	union {
		char b[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;

	while (n < c->n && realtime_ns() < end) {
		struct epoll_event ev;
		if (!c->spin && epoll_wait(ep, &ev, 1, 2000) <= 0)
			break;       /* the sender is gone */
		struct iovec io = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1,
				    .msg_control = ctl.b,
				    .msg_controllen = sizeof(ctl.b) };
		if (recvmsg(fd, &m, MSG_DONTWAIT) < 0)
			continue;
		int64_t now = realtime_ns(), at = stamp_of(&m);
		if (at)
			lat[n++] = now > at ? now - at : 0;
	}
	return n;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int run_case(const wake_case *c, int rx_cpu, int tx_cpu)
{
	static int64_t lat[MAX_SAMPLES];
	sender s = { .cpu = tx_cpu, .c = c,
		     .to = { .sin_family = AF_INET,
			     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(s.to);
	int on = 1, ep = -1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	pthread_t th;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&s.to, sizeof(s.to)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&s.to, &len) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("bench_wake: socket");
		return 1;
	}
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	pin(rx_cpu);
	if (pthread_create(&th, NULL, send_thread, &s) != 0)
		return 1;
	unsigned n = receive(fd, ep, c, lat);
	pthread_join(th, NULL);
	close(ep);
	close(fd);
	if (n < c->n / 2) {
		fprintf(stderr, "bench_wake: %s: %u of %u datagrams\n", c->label, n,
			c->n);
		return 1;
	}
	qsort(lat, n, sizeof(lat[0]), cmp_i64);
	printf("wake-up %-24s p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us  max %7.1f us  (%u)\n",
	       c->label, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3,
	       lat[n * 999 / 1000] / 1e3, lat[n - 1] / 1e3, n);
	return 0;
}

int main(int argc, char **argv)
{
	static const wake_case cases[] = {
		{ "asleep, 1 ms gaps", 1000, 5000, false },
		{ "asleep, 100 us gaps", 100, 5000, false },
		{ "spinning, 1 ms gaps", 1000, 2000, true },
	};
	int rx_cpu = argc > 2 ? atoi(argv[1]) : 0;
	int tx_cpu = argc > 2 ? atoi(argv[2]) : 1;
	int r = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		r |= run_case(&cases[i], rx_cpu, tx_cpu);
	return r;
}
