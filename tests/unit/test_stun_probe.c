/* Unit tests for gateway/stun_probe.c: one Binding exchange against a
 * STUN responder on loopback (a thread that answers with a mapped address
 * of its choosing, as a server behind which a NAT sits would), a server
 * that never answers (timeout after the retransmissions), refused
 * arguments, and the periodic probe reporting the address on the loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <stun/stunagent.h>

#include "gateway/stun_probe.h"

typedef struct responder {
	int fd;
	uint16_t port;
	bool answer;              /* false: swallow every request */
	const char *mapped;       /* the address it reports */
	int requests;             /* seen (atomic) */
	volatile int stop;
	pthread_t th;
} responder;

static void *respond(void *arg)
{
	responder *r = arg;
	static const uint16_t known[] = { STUN_ATTRIBUTE_FINGERPRINT, 0 };
	StunAgent agent;
	stun_agent_init(&agent, known, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_USE_FINGERPRINT | STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
	while (!r->stop) {
		uint8_t in[1500], out[1500];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(r->fd, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
		if (n <= 0)
			continue;    /* the receive timeout: look at stop */
		__atomic_add_fetch(&r->requests, 1, __ATOMIC_RELAXED);
		StunMessage req, resp;
		if (!r->answer || stun_agent_validate(&agent, &req, in, (size_t)n, NULL, NULL)
				      != STUN_VALIDATION_SUCCESS)
			continue;
		struct sockaddr_storage m = from;
		inet_pton(AF_INET, r->mapped, &((struct sockaddr_in *)&m)->sin_addr);
		stun_agent_init_response(&agent, &resp, out, sizeof(out), &req);
		stun_message_append_xor_addr(&resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &m,
					     sizeof(struct sockaddr_in));
		size_t len = stun_agent_finish_message(&agent, &resp, NULL, 0);
		sendto(r->fd, out, len, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

static void responder_start(responder *r, bool answer, const char *mapped)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct timeval tv = { 0, 50000 };
	memset(r, 0, sizeof(*r));
	r->answer = answer;
	r->mapped = mapped;
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &len), 0);
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, respond, r), 0);
}

static void responder_stop(responder *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
}

static void test_mapped_address(void **state)
{
	responder r;
	char server[32], out[64];
	(void)state;
	responder_start(&r, true, "127.0.0.77");
	g_snprintf(server, sizeof(server), "127.0.0.1:%u", r.port);
	assert_int_equal(sb_stun_probe_once(server, "127.0.0.1", 3, 500, out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.77");
	responder_stop(&r);
}

static void test_no_answer(void **state)
{
	responder r;
	char server[32], out[64];
	(void)state;
	responder_start(&r, false, NULL);
	g_snprintf(server, sizeof(server), "127.0.0.1:%u", r.port);
	gint64 t0 = g_get_monotonic_time();
	assert_int_equal(sb_stun_probe_once(server, "127.0.0.1", 3, 100, out, sizeof(out)),
			 -ETIMEDOUT);
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;
	assert_true(ms >= 290 && ms < 2000);
	assert_int_equal(__atomic_load_n(&r.requests, __ATOMIC_RELAXED), 3);
	responder_stop(&r);
}

static void test_bad_arguments(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(sb_stun_probe_once("stun.example.org:3478", "127.0.0.1", 1, 10,
					    out, sizeof(out)), -EINVAL);
	assert_int_equal(sb_stun_probe_once("[::1]:3478", "127.0.0.1", 1, 10,
					    out, sizeof(out)), -EINVAL);
	assert_int_equal(sb_stun_probe_once("127.0.0.1:3478", "not-an-ip", 1, 10,
					    out, sizeof(out)), -EINVAL);
	assert_null(sb_stun_probe_new("nonsense", "127.0.0.1", NULL, NULL));
}

static void on_addr(const char *addr, void *user_data)
{
	g_strlcpy(user_data, addr, 64);
}

/* The daemon's use: the probe runs on a pool thread and reports on the
 * loop that created it. */
static void test_periodic_probe(void **state)
{
	responder r;
	char server[32], got[64] = "";
	(void)state;
	responder_start(&r, true, "127.0.0.88");
	g_snprintf(server, sizeof(server), "127.0.0.1:%u", r.port);
	GMainContext *ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	sb_stun_probe *p = sb_stun_probe_new(server, "127.0.0.1", on_addr, got);
	assert_non_null(p);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!got[0] && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, FALSE), g_usleep(1000);
	assert_string_equal(got, "127.0.0.88");
	sb_stun_probe_free(p);
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	responder_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapped_address),
		cmocka_unit_test(test_no_answer),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_periodic_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
