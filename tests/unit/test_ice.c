/* Two libnice agents on 127.0.0.1 (and on ::1) in one private
 * GMainContext: they connect, a datagram sent before a pair exists is
 * queued and delivered,
 * port range and public-address rewriting show in the local description,
 * and TCP / mDNS / CRLF candidate lines are tolerated. Watchdog-bounded. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "webrtc/ice.h"

typedef struct end {
	sb_ice *ice;
	sb_ice_state last;
	bool connected, failed;
	unsigned n_rx;
	uint8_t rx[64];
	size_t rx_len;
} end;

typedef struct fixture {
	GMainContext *ctx;
	end a, b;
	bool expired;
} fixture;

static void on_recv(void *ud, const uint8_t *buf, size_t len)
{
	end *e = ud;
	e->n_rx++;
	e->rx_len = len < sizeof(e->rx) ? len : sizeof(e->rx);
	memcpy(e->rx, buf, e->rx_len);
}

static void on_state(void *ud, sb_ice_state st)
{
	end *e = ud;
	e->last = st;
	if (st == SB_ICE_STATE_CONNECTED || st == SB_ICE_STATE_READY)
		e->connected = true;
	if (st == SB_ICE_STATE_FAILED)
		e->failed = true;
}

static const sb_ice_ops ops = { .recv = on_recv, .state = on_state };

static gboolean expire(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_ice_free(f->a.ice);
	sb_ice_free(f->b.ice);
	/* let libnice finish its own teardown sources */
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static void run_until(fixture *f, bool *flag1, bool *flag2, bool *flag3)
{
	GSource *w = g_timeout_source_new(5000);
	f->expired = false;
	g_source_set_callback(w, expire, &f->expired, NULL);
	g_source_attach(w, f->ctx);
	while (!f->expired && !(*flag1 && *flag2 && *flag3))
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	assert_false(f->expired);
}

/* Iterate until e has received n datagrams; fails after 5 s. */
static void run_until_rx(fixture *f, end *e, unsigned n)
{
	GSource *w = g_timeout_source_new(5000);
	f->expired = false;
	g_source_set_callback(w, expire, &f->expired, NULL);
	g_source_attach(w, f->ctx);
	while (!f->expired && e->n_rx < n)
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	assert_false(f->expired);
}

static void make_on(fixture *f, end *e, const char *addr, bool controlling,
		    const char *pub, uint16_t pmin, uint16_t pmax)
{
	sb_ice_params p = { .local_addr = addr, .public_addr = pub,
			    .port_min = pmin, .port_max = pmax,
			    .controlling = controlling };
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, e, &e->ice), 0);
}

/* Each side takes the other's description; both reach CONNECTED. */
static void connect_ends(fixture *f, const sb_media_desc *da,
			 const sb_media_desc *db)
{
	assert_int_equal(sb_ice_set_remote(f->a.ice, db), 0);
	assert_int_equal(sb_ice_set_remote(f->b.ice, da), 0);
	bool yes = true;
	run_until(f, &f->a.connected, &f->b.connected, &yes);
}

static void make(fixture *f, end *e, bool controlling, const char *pub,
		 uint16_t pmin, uint16_t pmax)
{
	make_on(f, e, "127.0.0.1", controlling, pub, pmin, pmax);
}

static void test_connect_and_queue(void **state)
{
	fixture *f = *state;
	sb_media_desc da, db;
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	make(f, &f->a, true, NULL, 0, 0);
	make(f, &f->b, false, NULL, 0, 0);
	assert_int_equal(sb_ice_get_local(f->a.ice, &da), 0);
	assert_int_equal(sb_ice_get_local(f->b.ice, &db), 0);
	assert_true(da.end_of_candidates);
	assert_int_equal(da.n_cands, 1); /* UDP host only: ice-tcp off */
	assert_non_null(strstr(da.cands[0], "127.0.0.1"));
	assert_true(g_str_has_prefix(da.cands[0], "candidate:"));
	assert_string_equal(da.addr, "127.0.0.1");
	assert_true(da.port > 0);
	assert_true(strlen(da.ice_ufrag) >= 4);
	assert_true(strlen(da.ice_pwd) >= 22);

	/* sent before any pair exists: queued, then delivered */
	const uint8_t hello[] = { 22, 0xfe, 0xfd, 1, 2, 3 };
	assert_int_equal(sb_ice_send(f->b.ice, hello, sizeof(hello)), 0);
	assert_false(sb_ice_is_restart(f->a.ice, &db));

	connect_ends(f, &da, &db);
	const uint8_t rtp[] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9 };
	assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), 0);
	bool got_a = false, got_b = false;
	while (!f->expired && (f->a.n_rx < 1 || f->b.n_rx < 1))
		g_main_context_iteration(f->ctx, TRUE);
	got_a = f->a.n_rx == 1;
	got_b = f->b.n_rx == 1;
	assert_true(got_a && got_b);
	assert_memory_equal(f->a.rx, hello, sizeof(hello));
	assert_memory_equal(f->b.rx, rtp, sizeof(rtp));

	/* a different ufrag is a restart */
	sb_media_desc other = db;
	g_strlcpy(other.ice_ufrag, "zzzz", sizeof(other.ice_ufrag));
	assert_true(sb_ice_is_restart(f->a.ice, &other));
	sb_ice_close(f->a.ice);
	assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), -ESHUTDOWN);
}

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* On an IPv6 media address libnice has no default candidate of its own
 * (it picks among IPv4 ones): the description must still carry the
 * address and port of our candidate, or no SDP can be written. */
static void test_connect_ipv6(void **state)
{
	fixture *f = *state;
	sb_media_desc da, db;
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	if (!have_ipv6_loopback())
		skip();
	make_on(f, &f->a, "::1", true, NULL, 0, 0);
	make_on(f, &f->b, "::1", false, NULL, 0, 0);
	assert_int_equal(sb_ice_get_local(f->a.ice, &da), 0);
	assert_int_equal(sb_ice_get_local(f->b.ice, &db), 0);
	assert_string_equal(da.addr, "::1");
	assert_int_equal(da.n_cands, 1);
	char port[16];
	g_snprintf(port, sizeof(port), " ::1 %u ", da.port);
	assert_non_null(strstr(da.cands[0], port));

	connect_ends(f, &da, &db);
	const uint8_t rtp[] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 6 };
	assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), 0);
	run_until_rx(f, &f->b, 1);
	assert_int_equal(f->b.n_rx, 1);
	assert_memory_equal(f->b.rx, rtp, sizeof(rtp));
}

static void test_public_address_and_ports(void **state)
{
	fixture *f = *state;
	sb_media_desc d;
	memset(&d, 0, sizeof(d));
	make(f, &f->a, false, "203.0.113.7", 41000, 41010);
	assert_int_equal(sb_ice_get_local(f->a.ice, &d), 0);
	assert_string_equal(d.addr, "203.0.113.7");
	assert_true(d.port >= 41000 && d.port <= 41010);
	assert_null(strstr(d.cands[0], "127.0.0.1"));
	assert_non_null(strstr(d.cands[0], "203.0.113.7"));
	char port[8];
	g_snprintf(port, sizeof(port), " %u ", d.port);
	assert_non_null(strstr(d.cands[0], port));
}

/* media.stun_server's mapped address: each host candidate gets a srflx
 * twin (same port, raddr/rport the host, lower priority, its own
 * foundation); connecting still works; public_addr wins over it. */
static void test_srflx_candidate(void **state)
{
	fixture *f = *state;
	sb_media_desc da, db;
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	sb_ice_params p = { .local_addr = "127.0.0.1", .srflx_addr = "127.0.0.77",
			    .controlling = true };
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, &f->a, &f->a.ice), 0);
	make(f, &f->b, false, NULL, 0, 0);
	assert_int_equal(sb_ice_get_local(f->a.ice, &da), 0);
	assert_int_equal(sb_ice_get_local(f->b.ice, &db), 0);
	assert_int_equal(da.n_cands, 2);
	const char *srflx = strstr(da.cands[0], "typ srflx") ? da.cands[0] : da.cands[1];
	const char *host = srflx == da.cands[0] ? da.cands[1] : da.cands[0];
	assert_non_null(strstr(host, "typ host"));
	char want[96];
	g_snprintf(want, sizeof(want), " 127.0.0.77 %u typ srflx raddr 127.0.0.1 rport %u",
		   da.port, da.port);
	if (!strstr(srflx, want))
		fail_msg("srflx line '%s' lacks '%s'", srflx, want);
	unsigned long ph = 0, ps = 0;
	char fh[40], fs[40];
	assert_int_equal(sscanf(host, "candidate:%39s 1 %*s %lu", fh, &ph), 2);
	assert_int_equal(sscanf(srflx, "candidate:%39s 1 %*s %lu", fs, &ps), 2);
	assert_true(ps < ph && ps >> 24 == 100);
	assert_string_not_equal(fh, fs);
	assert_string_equal(da.addr, "127.0.0.1");   /* c= stays the host */
	connect_ends(f, &da, &db);

	/* an explicit public address: no srflx */
	sb_ice *ice = NULL;
	sb_media_desc dc;
	memset(&dc, 0, sizeof(dc));
	p.public_addr = "203.0.113.7";
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, NULL, &ice), 0);
	assert_int_equal(sb_ice_get_local(ice, &dc), 0);
	assert_int_equal(dc.n_cands, 1);
	assert_null(strstr(dc.cands[0], "srflx"));
	sb_ice_free(ice);
}

static void test_remote_candidate_lines(void **state)
{
	fixture *f = *state;
	sb_media_desc d;
	memset(&d, 0, sizeof(d));
	make(f, &f->a, false, NULL, 0, 0);
	g_strlcpy(d.ice_ufrag, "abcd", sizeof(d.ice_ufrag));
	g_strlcpy(d.ice_pwd, "0123456789012345678901", sizeof(d.ice_pwd));
	const char *lines[] = {
		"candidate:1 1 udp 2113937151 1f0e.local 5000 typ host",
		"candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
		"candidate:3 1 UDP 2015363327 127.0.0.1 5002 typ host\r",
		"garbage",
		"candidate:4 1 udp 2113937151 127.0.0.1 5004 typ host generation 0 network-id 1",
	};
	for (unsigned i = 0; i < 5; i++)
		g_strlcpy(d.cands[d.n_cands++], lines[i], SB_MD_CAND_LEN);
	assert_int_equal(sb_ice_set_remote(f->a.ice, &d), 0);
	/* two usable candidates: checks start, so the state moved on */
	assert_int_equal(sb_ice_get_state(f->a.ice), SB_ICE_STATE_CONNECTING);

	sb_media_desc none;
	memset(&none, 0, sizeof(none));
	assert_int_equal(sb_ice_set_remote(f->a.ice, &none), -EINVAL);
}

static void test_bad_params(void **state)
{
	fixture *f = *state;
	sb_ice *ice = NULL;
	sb_ice_params p = { .local_addr = "not-an-ip" };
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, NULL, &ice), -EINVAL);
	p.local_addr = "127.0.0.1";
	p.srflx_addr = "stun.example.org";
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, NULL, &ice), -EINVAL);
	p.srflx_addr = "198.51.100.2";
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, NULL, &ice), 0);
	sb_ice_free(ice);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_and_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connect_ipv6, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_public_address_and_ports,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_srflx_candidate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_candidate_lines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
