/* sb_txq: datagrams wait for the end of the loop pass, then leave in
 * order; a full queue sends at once; a failed send is counted where the
 * sender asked; the last unref sends what is left. Through io_uring when
 * the kernel allows it, and again with sendto. Loopback UDP. */
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

#include "webrtc/txq.h"

typedef struct fixture {
	GMainContext *ctx;
	int tx, rx;
	struct sockaddr_in to;
} fixture;

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	f->tx = socket(AF_INET, SOCK_DGRAM, 0);
	f->rx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(f->rx, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(f->to);
	assert_int_equal(getsockname(f->rx, (struct sockaddr *)&f->to, &l), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	close(f->tx);
	close(f->rx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static int recv_one(fixture *f, uint8_t *b)
{
	ssize_t n = recv(f->rx, b, 64, MSG_DONTWAIT);
	return n < 0 ? -errno : (int)n;
}

static void test_end_of_pass_in_order(void **state)
{
	fixture *f = *state;
	sb_txq *q = sb_txq_get(f->ctx);
	print_message("flushing with %s\n",
		      sb_txq_uses_uring(q) ? "io_uring" : "sendto");
	uint8_t b[64];
	for (uint8_t i = 1; i <= 3; i++)
		assert_int_equal(sb_txq_send(q, f->tx, &i, 1,
					     (struct sockaddr *)&f->to,
					     sizeof(f->to), NULL), 0);
	assert_int_equal(sb_txq_pending(q), 3);
	usleep(2000);
	assert_int_equal(recv_one(f, b), -EAGAIN); /* still queued */
	g_main_context_iteration(f->ctx, FALSE);    /* a pass: flushed */
	assert_int_equal(sb_txq_pending(q), 0);
	for (uint8_t i = 1; i <= 3; i++) {
		assert_int_equal(recv_one(f, b), 1);
		assert_int_equal(b[0], i);
	}
	/* a long pass: once the oldest has waited SB_TXQ_MAX_WAIT_US, the
	 * next one queued takes everything out without waiting for the
	 * pass to end */
	uint8_t v = 4;
	sb_txq_send(q, f->tx, &v, 1, (struct sockaddr *)&f->to, sizeof(f->to),
		    NULL);
	usleep(SB_TXQ_MAX_WAIT_US + 100);
	assert_int_equal(recv_one(f, b), -EAGAIN);
	v = 5;
	sb_txq_send(q, f->tx, &v, 1, (struct sockaddr *)&f->to, sizeof(f->to),
		    NULL);
	assert_int_equal(sb_txq_pending(q), 0);
	assert_int_equal(recv_one(f, b), 1);
	assert_int_equal(b[0], 4);
	assert_int_equal(recv_one(f, b), 1);
	assert_int_equal(b[0], 5);
	uint8_t big[1600] = { 0 };
	assert_int_equal(sb_txq_send(q, f->tx, big, sizeof(big),
				     (struct sockaddr *)&f->to, sizeof(f->to),
				     NULL), -EMSGSIZE);
	sb_txq_unref(q);
}

static void test_full_and_failed(void **state)
{
	fixture *f = *state;
	sb_txq *q = sb_txq_get(f->ctx);
	uint8_t b[64];
	uint64_t dropped = 0;
	/* 200 sends: the queue (128 slots) empties itself on the way, when
	 * full or (a slow machine) when the oldest has waited too long */
	for (unsigned i = 0; i < 200; i++) {
		uint8_t v = (uint8_t)i;
		sb_txq_send(q, f->tx, &v, 1, (struct sockaddr *)&f->to,
			    sizeof(f->to), &dropped);
	}
	assert_true(sb_txq_pending(q) < 128);
	unsigned got = 0;
	while (recv_one(f, b) == 1)
		assert_int_equal(b[0], (uint8_t)got++);
	assert_true(got >= 200 - 128 && got == 200 - sb_txq_pending(q));
	sb_txq_flush(q);
	while (recv_one(f, b) == 1)
		assert_int_equal(b[0], (uint8_t)got++);
	assert_int_equal(got, 200);
	assert_int_equal(dropped, 0);
	/* a send that fails is counted for its sender */
	int dead = socket(AF_INET, SOCK_DGRAM, 0);
	close(dead);
	sb_txq_send(q, dead, b, 1, (struct sockaddr *)&f->to, sizeof(f->to),
		    &dropped);
	sb_txq_flush(q);
	assert_int_equal(dropped, 1);
	/* the last reference sends what is left */
	sb_txq_send(q, f->tx, b, 1, (struct sockaddr *)&f->to, sizeof(f->to),
		    NULL);
	sb_txq_unref(q);
	assert_int_equal(recv_one(f, b), 1);
}

/* The same with io_uring turned off (the fallback path). */
static void test_sendto_path(void **state)
{
	setenv("SB_TXQ_SENDTO", "1", 1);
	sb_txq *q = sb_txq_get(((fixture *)*state)->ctx);
	assert_false(sb_txq_uses_uring(q));
	sb_txq_unref(q);
	test_end_of_pass_in_order(state);
	test_full_and_failed(state);
	unsetenv("SB_TXQ_SENDTO");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_end_of_pass_in_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_and_failed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sendto_path, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
