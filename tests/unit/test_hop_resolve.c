/* Unit tests for sip/hop_resolve.c: the next hop with an IP in place of
 * the name (URI parameters, user part and brackets kept), which hops
 * need no lookup, and lookups of "localhost" through the system resolver
 * (never asked of DNS, RFC 6761, so the test needs no network): the
 * address of a family the gateway listens on for that transport, or
 * nothing. Names DNS knows: t_sig_outbound_name.sh, with its own DNS
 * server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sip/hop_resolve.h"

static void test_with_ip(void **state)
{
	(void)state;
	struct { const char *uri, *ip, *want; } c[] = {
		{ "sip:pbx.example:5070;transport=tcp", "127.0.0.1", "sip:127.0.0.1:5070;transport=tcp" },
		{ "sips:pbx.example", "::1", "sips:[::1]" },
		{ "sip:trunk@pbx.example:5060;lr", "192.0.2.7", "sip:trunk@192.0.2.7:5060;lr" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
		g_autofree char *got = sb_hop_resolve_with_ip(c[i].uri, c[i].ip);
		assert_non_null(got);
		assert_string_equal(got, c[i].want);
	}
	assert_null(sb_hop_resolve_with_ip(NULL, "127.0.0.1"));
}

static void never(const char *hop, void *ud)
{
	(void)hop;
	(void)ud;
	fail_msg("no lookup expected");
}

static const sb_sip_listen_spec v4_udp[] = { { "udp", "127.0.0.1", 5060 } };

static void test_nothing_to_resolve(void **state)
{
	(void)state;
	assert_null(sb_hop_resolve_new("", v4_udp, 1, never, NULL));
	assert_null(sb_hop_resolve_new(NULL, v4_udp, 1, never, NULL));
	assert_null(sb_hop_resolve_new("sip:127.0.0.1:5070", v4_udp, 1, never, NULL));
	assert_null(sb_hop_resolve_new("sip:[::1]:5070;transport=tcp", v4_udp, 1, never, NULL));
}

typedef struct got {
	char *hop;
	int calls;
} got;

static void record(const char *hop, void *ud)
{
	got *g = ud;
	g_free(g->hop);
	g->hop = g_strdup(hop);
	g->calls++;
}

/* Runs the thread-default context until a hop arrives or ms pass. */
static void wait_for(got *g, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (!g->calls && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE) || (g_usleep(1000), 0);
}

static void test_localhost(void **state)
{
	(void)state;
	got g = { 0 };
	sb_hop_resolve *r = sb_hop_resolve_new("sip:localhost:5070;transport=udp",
					       v4_udp, 1, record, &g);
	assert_non_null(r);
	wait_for(&g, 5000);
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.hop, "sip:127.0.0.1:5070;transport=udp");
	sb_hop_resolve_free(r);
	g_free(g.hop);
}

/* The only TCP listener is IPv6: a TCP hop must be localhost's IPv6
 * address (glibc gives ::1 for localhost even when the hosts file has
 * none), or none at all; never 127.0.0.1, which test_localhost (IPv4
 * listener) must get instead. */
static void test_family_of_listener(void **state)
{
	(void)state;
	static const sb_sip_listen_spec ls[] = {
		{ "udp", "127.0.0.1", 5060 }, { "tcp", "::1", 5060 },
	};
	got g = { 0 };
	sb_hop_resolve *r = sb_hop_resolve_new("sip:localhost:5070;transport=tcp",
					       ls, 2, record, &g);
	assert_non_null(r);
	wait_for(&g, 1000);
	if (g.calls)
		assert_string_equal(g.hop, "sip:[::1]:5070;transport=tcp");
	sb_hop_resolve_free(r);
	g_free(g.hop);
}

/* Freed while its lookup runs: the answer finds nothing to call. */
static void test_free_while_looking_up(void **state)
{
	(void)state;
	got g = { 0 };
	sb_hop_resolve *r = sb_hop_resolve_new("sip:localhost:5070", v4_udp, 1, record, &g);
	assert_non_null(r);
	sb_hop_resolve_free(r);
	wait_for(&g, 300);
	assert_int_equal(g.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_with_ip),
		cmocka_unit_test(test_nothing_to_resolve),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_family_of_listener),
		cmocka_unit_test(test_free_while_looking_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
