/* sb_fdpoll: one poller per context, readiness dispatch, recvmmsg batch,
 * and the removals that happen inside callbacks (another watch, the
 * poller's last reference); datagram watches read through io_uring and
 * through recvmmsg. Run under ASan, a use-after-free fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "webrtc/fd_poll.h"

typedef struct sock {
	int fd;
	struct sockaddr_in addr;
} sock;

static void sock_open(sock *s)
{
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(s->fd >= 0);
	memset(&s->addr, 0, sizeof(s->addr));
	s->addr.sin_family = AF_INET;
	s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)), 0);
	socklen_t l = sizeof(s->addr);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&s->addr, &l), 0);
}

static void send_to(const sock *s, const char *text)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(sendto(fd, text, strlen(text), 0, (const struct sockaddr *)&s->addr,
			   sizeof(s->addr)) == (ssize_t)strlen(text));
	close(fd);
}

/* Iterate until nothing is pending (datagrams on loopback are ready at
 * once, but give the kernel a moment). */
static void spin(GMainContext *ctx)
{
	for (int i = 0; i < 20; i++) {
		g_usleep(2000);
		while (g_main_context_iteration(ctx, FALSE))
			;
	}
}

typedef struct state {
	sb_fdpoll *p;
	sb_fdpoll_watch *w[2];
	int calls[2];
	int got[2];       /* datagrams read */
	char last[2][64]; /* newest datagram per watch */
	int remove_other; /* watch index to remove from callback 0, or -1 */
	bool unref_in_cb;
} state;

static void drain(state *st, int i, int fd)
{
	sb_fdpoll_batch_reset(st->p);
	struct mmsghdr *m = sb_fdpoll_batch(st->p);
	int n = recvmmsg(fd, m, SB_FDPOLL_BATCH, MSG_DONTWAIT, NULL);
	for (int k = 0; k < n; k++) {
		size_t len = m[k].msg_len < sizeof(st->last[i]) - 1 ? m[k].msg_len : sizeof(st->last[i]) - 1;
		memcpy(st->last[i], m[k].msg_hdr.msg_iov->iov_base, len);
		st->last[i][len] = 0;
		assert_int_equal(m[k].msg_hdr.msg_namelen, sizeof(struct sockaddr_in));
	}
	if (n > 0)
		st->got[i] += n;
}


static void on0(int fd, void *data)
{
	state *st = data;
	st->calls[0]++;
	drain(st, 0, fd);
	if (st->remove_other >= 0) {
		sb_fdpoll_remove(st->p, st->w[st->remove_other]);
		st->w[st->remove_other] = NULL;
		st->remove_other = -1;
	}
	if (st->unref_in_cb) {
		sb_fdpoll_remove(st->p, st->w[0]);
		st->w[0] = NULL;
		sb_fdpoll_unref(st->p);
		st->p = NULL;
		st->unref_in_cb = false;
	}
}

static void on1(int fd, void *data)
{
	state *st = data;
	st->calls[1]++;
	drain(st, 1, fd);
}

static void test_one_poller_per_context(void **unused)
{
	(void)unused;
	GMainContext *a = g_main_context_new(), *b = g_main_context_new();
	sb_fdpoll *pa = sb_fdpoll_get(a), *pa2 = sb_fdpoll_get(a), *pb = sb_fdpoll_get(b);
	assert_non_null(pa);
	assert_ptr_equal(pa, pa2);
	assert_ptr_not_equal(pa, pb);
	sb_fdpoll_unref(pa2);
	sb_fdpoll_unref(pa);
	sb_fdpoll_unref(pb);
	/* all gone: a new one is made */
	sb_fdpoll *pc = sb_fdpoll_get(a);
	assert_non_null(pc);
	sb_fdpoll_unref(pc);
	g_main_context_unref(a);
	g_main_context_unref(b);
}

static void test_dispatch_and_batch(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	state st = { .remove_other = -1 };
	sock s[2];
	sock_open(&s[0]);
	sock_open(&s[1]);
	st.p = sb_fdpoll_get(ctx);
	st.w[0] = sb_fdpoll_add(st.p, s[0].fd, on0, &st);
	st.w[1] = sb_fdpoll_add(st.p, s[1].fd, on1, &st);
	assert_int_equal(sb_fdpoll_count(st.p), 2);
	/* nothing sent: nothing called */
	spin(ctx);
	assert_int_equal(st.calls[0] + st.calls[1], 0);
	for (int i = 0; i < 20; i++)
		send_to(&s[0], "rtp");
	send_to(&s[1], "rtcp-1");
	spin(ctx);
	assert_int_equal(st.got[0], 20);
	assert_int_equal(st.got[1], 1);
	assert_string_equal(st.last[0], "rtp");
	assert_string_equal(st.last[1], "rtcp-1");
	/* 20 datagrams in batches of SB_FDPOLL_BATCH: at least two calls */
	assert_true(st.calls[0] >= 2);
	/* a removed watch is not called again */
	sb_fdpoll_remove(st.p, st.w[1]);
	st.w[1] = NULL;
	assert_int_equal(sb_fdpoll_count(st.p), 1);
	send_to(&s[1], "late");
	spin(ctx);
	assert_int_equal(st.got[1], 1);
	sb_fdpoll_remove(st.p, st.w[0]);
	sb_fdpoll_unref(st.p);
	close(s[0].fd);
	close(s[1].fd);
	g_main_context_unref(ctx);
}

/* Both sockets ready in one wakeup; the first callback removes the other
 * watch: it must not run (and its memory stays valid until the walk
 * ends), whichever order epoll reports them in. */
static void test_remove_other_in_callback(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	state st = { .remove_other = 1 };
	sock s[2];
	sock_open(&s[0]);
	sock_open(&s[1]);
	st.p = sb_fdpoll_get(ctx);
	st.w[0] = sb_fdpoll_add(st.p, s[0].fd, on0, &st);
	st.w[1] = sb_fdpoll_add(st.p, s[1].fd, on1, &st);
	send_to(&s[0], "a");
	send_to(&s[1], "b");
	g_usleep(5000);
	g_main_context_iteration(ctx, FALSE);
	assert_int_equal(st.calls[0], 1);
	/* on1 may have run first (epoll order) but never after the removal */
	assert_true(st.calls[1] <= 1);
	int before = st.calls[1];
	send_to(&s[1], "c");
	spin(ctx);
	assert_int_equal(st.calls[1], before);
	sb_fdpoll_remove(st.p, st.w[0]);
	sb_fdpoll_unref(st.p);
	close(s[0].fd);
	close(s[1].fd);
	g_main_context_unref(ctx);
}

/* The last reference dropped inside a callback: the poller outlives the
 * walk, then goes; the context keeps running. */
static void test_unref_in_callback(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	state st = { .remove_other = -1, .unref_in_cb = true };
	sock s;
	sock_open(&s);
	st.p = sb_fdpoll_get(ctx);
	st.w[0] = sb_fdpoll_add(st.p, s.fd, on0, &st);
	send_to(&s, "bye");
	spin(ctx);
	assert_int_equal(st.calls[0], 1);
	assert_null(st.p);
	send_to(&s, "after");
	spin(ctx);
	assert_int_equal(st.calls[0], 1);
	close(s.fd);
	g_main_context_unref(ctx);
}

/* --- datagram watches: the poller reads for its owners --- */

typedef struct dstate {
	sb_fdpoll *p;
	sb_fdpoll_watch *w[2];
	int fd[2];
	int got[2];
	char last[2][64];
	in_port_t from_port[2];
	bool remove_other;   /* the first delivery removes the other watch */
} dstate;

static void on_dgram(int fd, uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t flen,
		     void *data)
{
	dstate *d = data;
	int i = fd == d->fd[0] ? 0 : 1;
	assert_true(flen >= sizeof(struct sockaddr_in));
	d->from_port[i] = ((const struct sockaddr_in *)from)->sin_port;
	d->got[i]++;
	size_t n = len < sizeof(d->last[i]) - 1 ? len : sizeof(d->last[i]) - 1;
	memcpy(d->last[i], buf, n);
	d->last[i][n] = '\0';
	if (d->remove_other && d->w[1 - i]) {
		sb_fdpoll_remove(d->p, d->w[1 - i]);
		d->w[1 - i] = NULL;
	}
}

static void send_from(const sock *to, const sock *from, const void *b,
		      size_t n)
{
	assert_true(sendto(from->fd, b, n, 0, (const struct sockaddr *)&to->addr,
			   sizeof(to->addr)) == (ssize_t)n);
}

/* How the poller is told to read, and what it must then say it does. */
typedef enum { URING, RECVMMSG } read_mode;
static const char *const mode_name[] = { "io_uring", "recvmmsg" };

static void set_mode(read_mode m)
{
	unsetenv("SB_FDPOLL_RECVMMSG");
	if (m == RECVMMSG)
		setenv("SB_FDPOLL_RECVMMSG", "1", 1);
}

/* Datagrams arrive with their source, in order, 20 on one socket and one
 * on another; a datagram longer than SB_FDPOLL_BUF is dropped, not cut;
 * a watch removed by another's delivery gets nothing more. Run with
 * each way of reading (this kernel, 6.x, has io_uring). */
static void dgram_round(read_mode mode)
{
	set_mode(mode);
	GMainContext *ctx = g_main_context_new();
	dstate d = { 0 };
	sock s[2], peer;
	sock_open(&s[0]);
	sock_open(&s[1]);
	sock_open(&peer);
	d.fd[0] = s[0].fd;
	d.fd[1] = s[1].fd;
	d.p = sb_fdpoll_get(ctx);
	assert_string_equal(sb_fdpoll_read_mode(d.p), mode_name[mode]);
	assert_int_equal(sb_fdpoll_uses_uring(d.p), mode != RECVMMSG);
	d.w[0] = sb_fdpoll_add_dgram(d.p, s[0].fd, on_dgram, &d);
	d.w[1] = sb_fdpoll_add_dgram(d.p, s[1].fd, on_dgram, &d);
	char msg[16];
	for (int i = 0; i < 20; i++) {
		int n = snprintf(msg, sizeof(msg), "rtp-%d", i);
		send_from(&s[0], &peer, msg, (size_t)n);
	}
	send_from(&s[1], &peer, "rtcp", 4);
	static uint8_t big[SB_FDPOLL_BUF + 100];
	send_from(&s[1], &peer, big, sizeof(big));
	spin(ctx);
	assert_int_equal(d.got[0], 20);
	assert_string_equal(d.last[0], "rtp-19");
	assert_int_equal(d.got[1], 1); /* the big one dropped */
	assert_string_equal(d.last[1], "rtcp");
	assert_int_equal(d.from_port[0], peer.addr.sin_port);

	d.remove_other = true;
	send_from(&s[0], &peer, "a", 1);
	send_from(&s[1], &peer, "b", 1);
	g_usleep(5000);
	g_main_context_iteration(ctx, FALSE);
	assert_int_equal(d.got[0] + d.got[1], 22); /* one of the two only */
	for (int i = 0; i < 2; i++)
		if (d.w[i])
			sb_fdpoll_remove(d.p, d.w[i]);
	sb_fdpoll_unref(d.p);
	for (int i = 0; i < 2; i++)
		close(s[i].fd);
	close(peer.fd);
	g_main_context_unref(ctx);
	set_mode(URING);
}

static void test_dgram_uring(void **unused)
{
	(void)unused;
	dgram_round(URING);
}

static void test_dgram_recvmmsg(void **unused)
{
	(void)unused;
	dgram_round(RECVMMSG);
}

/* 1,200 datagrams queued on 8 sockets before the loop runs (a worker
 * that was descheduled): every one arrives once, in order, on its
 * socket. */
#define FLOOD_SOCKS 8
#define FLOOD_EACH 150

typedef struct flood {
	int fd[FLOOD_SOCKS];
	int got[FLOOD_SOCKS];
	bool out_of_order;
} flood;

static void on_flood(int fd, uint8_t *buf, size_t len,
		     const struct sockaddr_storage *from, socklen_t flen,
		     void *data)
{
	flood *f = data;
	(void)from;
	(void)flen;
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		if (f->fd[i] != fd)
			continue;
		int seq = -1;
		if (len == sizeof(seq))
			memcpy(&seq, buf, sizeof(seq));
		f->out_of_order |= seq != f->got[i];
		f->got[i]++;
	}
}

static void test_backlog(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	flood f = { 0 };
	sock s[FLOOD_SOCKS], peer;
	sb_fdpoll_watch *w[FLOOD_SOCKS];
	sock_open(&peer);
	sb_fdpoll *p = sb_fdpoll_get(ctx);
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		sock_open(&s[i]);
		f.fd[i] = s[i].fd;
		w[i] = sb_fdpoll_add_dgram(p, s[i].fd, on_flood, &f);
		assert_non_null(w[i]);
	}
	for (int k = 0; k < FLOOD_EACH; k++)
		for (int i = 0; i < FLOOD_SOCKS; i++)
			send_from(&s[i], &peer, &k, sizeof(k));
	spin(ctx);
	for (int i = 0; i < FLOOD_SOCKS; i++)
		assert_int_equal(f.got[i], FLOOD_EACH);
	assert_false(f.out_of_order);
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		sb_fdpoll_remove(p, w[i]);
		close(s[i].fd);
	}
	sb_fdpoll_unref(p);
	close(peer.fd);
	g_main_context_unref(ctx);
}

/* A loop asleep in its poll wakes for a datagram sent from another
 * thread, in each way of reading: within 200 ms, where only the 2 s
 * guard timer would wake a poller that slept through it. */
typedef struct waker {
	sock to, from;
} waker;

static gpointer send_later(gpointer data)
{
	waker *k = data;
	g_usleep(20000);
	send_from(&k->to, &k->from, "wake", 4);
	return NULL;
}

static gboolean flag_timeout(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

static void wake_round(read_mode mode)
{
	set_mode(mode);
	GMainContext *ctx = g_main_context_new();
	dstate d = { 0 };
	waker k;
	sock_open(&k.to);
	sock_open(&k.from);
	d.fd[0] = d.fd[1] = k.to.fd;
	d.p = sb_fdpoll_get(ctx);
	d.w[0] = sb_fdpoll_add_dgram(d.p, k.to.fd, on_dgram, &d);
	bool timed_out = false;
	GSource *guard = g_timeout_source_new(2000);
	g_source_set_callback(guard, flag_timeout, &timed_out, NULL);
	g_source_attach(guard, ctx);
	gint64 t0 = g_get_monotonic_time();
	GThread *th = g_thread_new("sender", send_later, &k);
	while (!d.got[0] && !timed_out)
		g_main_context_iteration(ctx, TRUE);
	gint64 waited = g_get_monotonic_time() - t0;
	g_thread_join(th);
	print_message("%s: woke after %.1f ms\n", mode_name[mode],
		      waited / 1e3);
	assert_int_equal(d.got[0], 1);
	assert_true(waited < 200000);
	g_source_destroy(guard);
	g_source_unref(guard);
	sb_fdpoll_remove(d.p, d.w[0]);
	sb_fdpoll_unref(d.p);
	close(k.to.fd);
	close(k.from.fd);
	g_main_context_unref(ctx);
	set_mode(URING);
}

static void test_wakes_from_sleep(void **unused)
{
	(void)unused;
	wake_round(URING);
	wake_round(RECVMMSG);
}

/* Removing a watch lets go of its socket at once: closed after the
 * removal, its port is free again although the poller lives on (a
 * read the ring still held would keep it bound). */
static void test_remove_releases_socket(void **unused)
{
	(void)unused;
	GMainContext *ctx = g_main_context_new();
	dstate d = { 0 };
	sock s;
	sock_open(&s);
	d.fd[0] = d.fd[1] = s.fd;
	d.p = sb_fdpoll_get(ctx);
	d.w[0] = sb_fdpoll_add_dgram(d.p, s.fd, on_dgram, &d);
	send_from(&s, &s, "x", 1);
	spin(ctx);
	assert_int_equal(d.got[0], 1);
	sb_fdpoll_remove(d.p, d.w[0]);
	close(s.fd);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (const struct sockaddr *)&s.addr,
			      sizeof(s.addr)), 0);
	close(fd);
	sb_fdpoll_unref(d.p);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_poller_per_context),
		cmocka_unit_test(test_dispatch_and_batch),
		cmocka_unit_test(test_remove_other_in_callback),
		cmocka_unit_test(test_unref_in_callback),
		cmocka_unit_test(test_dgram_uring),
		cmocka_unit_test(test_dgram_recvmmsg),
		cmocka_unit_test(test_backlog),
		cmocka_unit_test(test_remove_releases_socket),
		cmocka_unit_test(test_wakes_from_sleep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
