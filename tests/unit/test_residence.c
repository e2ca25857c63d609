/* Residence (webrtc/residence.h): a datagram the poller delivers and
 * whose product leaves through the send queue is counted with the time
 * from its kernel arrival stamp, including the time it waited in the
 * socket before the worker read it; a send with no datagram behind it
 * is not counted. Through io_uring reads and through recvmmsg.
 * Loopback UDP, one thread. */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>

#include "webrtc/fd_poll.h"
#include "webrtc/residence.h"
#include "webrtc/txq.h"

typedef struct fixture {
	GMainContext *ctx;
	sb_fdpoll *poll;
	sb_txq *txq;
	sb_fdpoll_watch *w;
	int in, out, peer;          /* watched, forwarded to, sender */
	struct sockaddr_in in_addr, out_addr;
} fixture;

static int bound_socket(struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	*a = (struct sockaddr_in){ .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	socklen_t l = sizeof(*a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &l), 0);
	return fd;
}

/* What a media leg does: whatever comes in goes out again, queued. */
static void forward(int fd, uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, socklen_t from_len,
		    void *data)
{
	fixture *f = data;
	(void)from;
	(void)from_len;
	sb_txq_send(f->txq, fd, buf, len, (struct sockaddr *)&f->out_addr,
		    sizeof(f->out_addr), NULL);
}

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	f->in = bound_socket(&f->in_addr);
	f->out = bound_socket(&f->out_addr);
	f->peer = socket(AF_INET, SOCK_DGRAM, 0);
	f->poll = sb_fdpoll_get(f->ctx);
	f->txq = sb_txq_get(f->ctx);
	f->w = sb_fdpoll_add_dgram(f->poll, f->in, forward, f);
	assert_non_null(f->w);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_fdpoll_remove(f->poll, f->w);
	sb_txq_unref(f->txq);
	sb_fdpoll_unref(f->poll);
	close(f->in);
	close(f->out);
	close(f->peer);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static uint64_t total(const sb_residence_hist *h)
{
	uint64_t n = 0;
	for (unsigned i = 0; i <= SB_RESIDENCE_BUCKETS; i++)
		n += h->count[i];
	return n;
}

/* The bucket the one report between before and after went to. */
static int new_bucket(const sb_residence_hist *before,
		      const sb_residence_hist *after)
{
	for (unsigned i = 0; i <= SB_RESIDENCE_BUCKETS; i++)
		if (after->count[i] != before->count[i])
			return (int)i;
	return -1;
}

/* Send one datagram to the watched socket, leave it there wait_ms, then
 * run the loop until it has been forwarded; returns the report. */
static void one_trip(fixture *f, unsigned wait_ms, sb_residence_hist *d_before,
		     sb_residence_hist *d_after)
{
	uint8_t b[64] = { 7 };
	sb_residence_snapshot(d_before);
	assert_int_equal(sendto(f->peer, b, 10, 0,
				(struct sockaddr *)&f->in_addr,
				sizeof(f->in_addr)), 10);
	usleep(wait_ms * 1000);
	gint64 until = g_get_monotonic_time() + 2000000;
	ssize_t n = -1;
	while (n < 0 && g_get_monotonic_time() < until) {
		g_main_context_iteration(f->ctx, FALSE);
		n = recv(f->out, b, sizeof(b), MSG_DONTWAIT);
	}
	assert_int_equal(n, 10);
	sb_residence_snapshot(d_after);
}

static void check_trips(fixture *f)
{
	sb_residence_hist a, b;
	print_message("reading with %s\n", sb_fdpoll_read_mode(f->poll));
	/* read at once: counted, well under the 10 ms bound */
	one_trip(f, 0, &a, &b);
	assert_int_equal(total(&b) - total(&a), 1);
	int k = new_bucket(&a, &b);
	assert_true(k >= 0 && sb_residence_bounds_ns[k] <= 10000000);
	/* 30 ms in the socket before the worker got to it: counted too */
	one_trip(f, 30, &a, &b);
	assert_int_equal(total(&b) - total(&a), 1);
	k = new_bucket(&a, &b);
	print_message("30 ms wait: bucket <= %.1f ms, %.1f ms\n",
		      k < SB_RESIDENCE_BUCKETS
			      ? sb_residence_bounds_ns[k] / 1e6 : -1.0,
		      (double)(b.sum_ns - a.sum_ns) / 1e6);
	assert_true(k > 0 && sb_residence_bounds_ns[k - 1] >= 20000000);
	assert_true(b.sum_ns - a.sum_ns >= 30000000);
	/* a send with no datagram behind it (a timer's) is not counted */
	uint8_t x = 1;
	sb_residence_snapshot(&a);
	sb_txq_send(f->txq, f->peer, &x, 1, (struct sockaddr *)&f->out_addr,
		    sizeof(f->out_addr), NULL);
	sb_txq_flush(f->txq);
	sb_residence_snapshot(&b);
	assert_int_equal(total(&b), total(&a));
}

static void test_uring(void **state)
{
	assert_string_equal(sb_fdpoll_read_mode(((fixture *)*state)->poll),
			    "io_uring");
	check_trips(*state);
}

static void test_recvmmsg(void **state)
{
	(void)state;
	setenv("SB_FDPOLL_RECVMMSG", "1", 1);
	void *f = NULL;
	setup(&f);
	assert_false(sb_fdpoll_uses_uring(((fixture *)f)->poll));
	check_trips(f);
	teardown(&f);
	unsetenv("SB_FDPOLL_RECVMMSG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uring, setup, teardown),
		cmocka_unit_test(test_recvmmsg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
