/* Unit tests for sip/limits.c: WebSocket connections per address (IPv4,
 * IPv6 /64, IPv4-mapped), the first-message deadline, the per-connection
 * token bucket against a simulated clock, concurrent calls per user and
 * in total, reload, SIP/SDP size checks, and the config parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sip/limits.h"

#define SEC 1000000LL

static sb_limits *make(unsigned ws_per_ip, unsigned rate, unsigned burst,
		       unsigned per_user, unsigned total)
{
	sb_limits_config c;
	sb_limits_config_defaults(&c);
	c.ws_per_ip = ws_per_ip;
	c.msg_rate = rate;
	c.msg_burst = burst;
	c.calls_per_user = per_user;
	c.calls_total = total;
	return sb_limits_new(&c);
}

static void test_defaults(void **state)
{
	(void)state;
	sb_limits_config c;
	sb_limits_config_defaults(&c);
	assert_int_equal(c.ws_per_ip, 200);
	assert_int_equal(c.msg_rate, 20);
	assert_int_equal(c.msg_burst, 50);
	assert_int_equal(c.calls_per_user, 4);
	assert_int_equal(c.calls_per_ip, 200);
	assert_int_equal(c.calls_total, 500);
	assert_int_equal(c.ws_first_message_ms, 120000);
	assert_int_equal(c.sdp_max_mlines, 8);
	assert_string_equal(sb_limit_name(SB_LIMIT_CALLS_USER), "calls-per-user");
	assert_string_equal(sb_limit_name(SB_LIMIT_WS_PER_IP), "ws-per-ip");
}

static void test_ws_per_ip(void **state)
{
	(void)state;
	sb_limits *l = make(3, 20, 50, 4, 500);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sb_limits_ws_open(l, "192.0.2.1"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_ws_open(l, "192.0.2.1"), SB_LIMIT_WS_PER_IP);
	/* The same address written as IPv4-mapped IPv6 is the same client. */
	assert_int_equal(sb_limits_ws_open(l, "::ffff:192.0.2.1"), SB_LIMIT_WS_PER_IP);
	assert_int_equal(sb_limits_ws_count(l, "[::ffff:192.0.2.1]"), 3);
	/* Another address is independent. */
	assert_int_equal(sb_limits_ws_open(l, "192.0.2.2"), SB_LIMIT_NONE);
	/* A refused open is not counted: closing three frees the address. */
	sb_limits_ws_close(l, "192.0.2.1");
	assert_int_equal(sb_limits_ws_open(l, "192.0.2.1"), SB_LIMIT_NONE);
	for (int i = 0; i < 3; i++)
		sb_limits_ws_close(l, "192.0.2.1");
	assert_int_equal(sb_limits_ws_count(l, "192.0.2.1"), 0);
	sb_limits_ws_close(l, "192.0.2.1"); /* extra close: harmless */
	assert_int_equal(sb_limits_ws_count(l, "192.0.2.1"), 0);
	assert_int_equal(sb_limits_ws_count(l, "192.0.2.2"), 1);
	sb_limits_free(l);
}

static void test_ws_ipv6_prefix(void **state)
{
	(void)state;
	sb_limits *l = make(2, 20, 50, 4, 500);
	assert_int_equal(sb_limits_ws_open(l, "2001:db8:1:2::1"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_ws_open(l, "[2001:db8:1:2:aaaa::7]"), SB_LIMIT_NONE);
	/* Same /64, other interface id: same client. */
	assert_int_equal(sb_limits_ws_open(l, "2001:db8:1:2:ffff:ffff:ffff:ffff"),
			 SB_LIMIT_WS_PER_IP);
	/* Next /64: another client. */
	assert_int_equal(sb_limits_ws_open(l, "2001:db8:1:3::1"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_ws_count(l, "2001:0db8:0001:0002::"), 2);
	/* Junk is counted under its own text, not under an address. */
	assert_int_equal(sb_limits_ws_open(l, "not-an-ip"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_ws_count(l, "not-an-ip"), 1);
	assert_int_equal(sb_limits_ws_open(l, NULL), SB_LIMIT_NONE);
	sb_limits_free(l);

	l = make(0, 20, 50, 4, 500); /* 0 = unlimited */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sb_limits_ws_open(l, "10.0.0.1"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_ws_count(l, "10.0.0.1"), 1000);
	sb_limits_free(l);
}

static void test_first_message(void **state)
{
	(void)state;
	sb_limits *l = make(3, 20, 50, 4, 500);
	assert_int_equal(sb_limits_first_message_deadline(l, 5 * SEC), 125 * SEC);
	sb_limits_config c = *sb_limits_config_of(l);
	c.ws_first_message_ms = 0;
	sb_limits_set_config(l, &c);
	assert_int_equal(sb_limits_first_message_deadline(l, 5 * SEC), INT64_MAX);
	sb_limits_free(l);
}

static void test_rate(void **state)
{
	(void)state;
	sb_limits *l = make(3, 10, 5, 4, 500);
	sb_rate r;
	int64_t t = 1000 * SEC;
	sb_rate_init(&r, l, t);
	/* A full bucket: 5 at once, the 6th refused. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(sb_rate_take(&r, l, t), SB_LIMIT_NONE);
	assert_int_equal(sb_rate_take(&r, l, t), SB_LIMIT_MSG_RATE);
	/* 10/s: one more after 100 ms, not after 99 ms. */
	assert_int_equal(sb_rate_take(&r, l, t + 99000), SB_LIMIT_MSG_RATE);
	assert_int_equal(sb_rate_take(&r, l, t + 100000), SB_LIMIT_NONE);
	assert_int_equal(sb_rate_take(&r, l, t + 100000), SB_LIMIT_MSG_RATE);
	/* Sustained 10/s for 10 s passes; 20/s does not. */
	t += SEC;
	sb_rate_init(&r, l, t);
	unsigned ok = 0;
	for (int i = 0; i < 200; i++)
		ok += sb_rate_take(&r, l, t + i * 50000) == SB_LIMIT_NONE;
	/* 5 of burst + 10/s over 9.95 s ~ 104. */
	assert_in_range(ok, 100, 106);
	/* A long idle refills to the burst only, and no overflow. */
	t += 100000 * SEC;
	for (int i = 0; i < 5; i++)
		assert_int_equal(sb_rate_take(&r, l, t), SB_LIMIT_NONE);
	assert_int_equal(sb_rate_take(&r, l, t), SB_LIMIT_MSG_RATE);
	/* A clock step backwards gives no credit. */
	assert_int_equal(sb_rate_take(&r, l, t - 10 * SEC), SB_LIMIT_MSG_RATE);
	assert_int_equal(sb_rate_take(&r, l, t + 99000), SB_LIMIT_MSG_RATE);
	assert_int_equal(sb_rate_take(&r, l, t + 100000), SB_LIMIT_NONE);
	sb_limits_free(l);

	l = make(3, 0, 5, 4, 500); /* rate 0 = unlimited */
	sb_rate_init(&r, l, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sb_rate_take(&r, l, 0), SB_LIMIT_NONE);
	sb_limits_free(l);
}

static void test_calls(void **state)
{
	(void)state;
	sb_limits *l = make(3, 20, 50, 2, 3);
	assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_CALLS_USER);
	assert_int_equal(sb_limits_calls_of(l, "alice"), 2);
	assert_int_equal(sb_limits_call_acquire(l, "bob"), SB_LIMIT_NONE);
	/* Total reached: even a user with none in progress is refused. */
	assert_int_equal(sb_limits_call_acquire(l, "carol"), SB_LIMIT_CALLS_TOTAL);
	assert_int_equal(sb_limits_call_acquire(l, NULL), SB_LIMIT_CALLS_TOTAL);
	assert_int_equal(sb_limits_calls_total(l), 3);
	assert_int_equal(sb_limits_calls_of(l, "carol"), 0);
	/* Release: unknown user or nothing held changes nothing. */
	assert_false(sb_limits_call_release(l, "carol"));
	assert_true(sb_limits_call_release(l, "alice"));
	assert_int_equal(sb_limits_calls_total(l), 2);
	assert_int_equal(sb_limits_call_acquire(l, ""), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_calls_total(l), 3);
	assert_true(sb_limits_call_release(l, NULL));
	assert_true(sb_limits_call_release(l, "alice"));
	assert_false(sb_limits_call_release(l, "alice"));
	assert_true(sb_limits_call_release(l, "bob"));
	assert_int_equal(sb_limits_calls_total(l), 0);
	assert_false(sb_limits_call_release(l, NULL));

	/* Reload to tighter bounds keeps counts; new calls see the bound. */
	assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_NONE);
	sb_limits_config c = *sb_limits_config_of(l);
	c.calls_per_user = 1;
	sb_limits_set_config(l, &c);
	assert_int_equal(sb_limits_calls_of(l, "alice"), 2);
	assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_CALLS_USER);
	/* Anonymous callers ("ip:" keys) have their own, larger bound:
	 * five people behind one address are not one user. */
	c.calls_per_ip = 5;
	c.calls_total = 100;
	sb_limits_set_config(l, &c);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sb_limits_call_acquire(l, "ip:192.0.2.7"), SB_LIMIT_NONE);
	assert_int_equal(sb_limits_call_acquire(l, "ip:192.0.2.7"), SB_LIMIT_CALLS_IP);
	assert_int_equal(sb_limits_call_acquire(l, "ip:192.0.2.8"), SB_LIMIT_NONE);
	assert_string_equal(sb_limit_name(SB_LIMIT_CALLS_IP), "calls-per-ip");
	/* an IPv6 host is its /64, as for ws_per_ip */
	for (int i = 0; i < 5; i++) {
		char k[64];
		g_snprintf(k, sizeof(k), "ip:2001:db8:1:2::%x", i + 1);
		assert_int_equal(sb_limits_call_acquire(l, k), SB_LIMIT_NONE);
	}
	assert_int_equal(sb_limits_call_acquire(l, "ip:2001:db8:1:2::99"), SB_LIMIT_CALLS_IP);
	assert_int_equal(sb_limits_call_acquire(l, "ip:2001:db8:1:3::1"), SB_LIMIT_NONE);
	assert_true(sb_limits_call_release(l, "ip:2001:db8:1:2::7"));
	assert_int_equal(sb_limits_calls_of(l, "ip:2001:db8:1:2::8"), 4);
	c.calls_per_user = 0;
	c.calls_per_ip = 0;
	c.calls_total = 0;
	sb_limits_set_config(l, &c);
	for (int i = 0; i < 100; i++)
		assert_int_equal(sb_limits_call_acquire(l, "alice"), SB_LIMIT_NONE);
	for (int i = 0; i < 100; i++)
		assert_int_equal(sb_limits_call_acquire(l, "ip:192.0.2.7"), SB_LIMIT_NONE);
	sb_limits_free(l);
}

static void test_sizes(void **state)
{
	(void)state;
	sb_limits_config c;
	sb_limits_config_defaults(&c);
	c.sdp_max_size = 200;
	c.sdp_max_mlines = 2;
	const char *why = NULL;
	assert_true(sb_limits_check_sip(&c, 65536, &why));
	assert_false(sb_limits_check_sip(&c, 65537, &why));
	assert_string_equal(why, "sip-too-large");

	const char *two = "v=0\r\nm=audio 1 RTP/AVP 0\r\nm=video 2 RTP/AVP 96\r\n";
	const char *three = "m=audio 1 RTP/AVP 0\nm=video 2 RTP/AVP 96\nm=text 3 x 1\n";
	/* "m=" not at a line start does not count. */
	const char *fake = "v=0\r\na=x:m=1 m=2\r\nm=audio 1 RTP/AVP 0\r\ns=m=\r\n";
	assert_true(sb_limits_check_sdp(&c, two, strlen(two), &why));
	assert_true(sb_limits_check_sdp(&c, fake, strlen(fake), &why));
	why = NULL;
	assert_false(sb_limits_check_sdp(&c, three, strlen(three), &why));
	assert_string_equal(why, "sdp-too-many-media");
	/* Only len bytes are read: the third m= line is outside. */
	assert_true(sb_limits_check_sdp(&c, three, strlen(three) - 13, &why));
	char big[201];
	memset(big, 'a', sizeof(big));
	assert_false(sb_limits_check_sdp(&c, big, sizeof(big), &why));
	assert_string_equal(why, "sdp-too-large");
	assert_true(sb_limits_check_sdp(&c, big, 200, &why));
}

static int parse(const char *text, sb_limits_config *c, char **msg)
{
	config_t cf;
	config_init(&cf);
	assert_true(config_read_string(&cf, text));
	GError *err = NULL;
	int r = sb_limits_from_setting(config_lookup(&cf, "limits"), "l.conf", c, &err);
	*msg = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	config_destroy(&cf);
	return r;
}

static void test_config(void **state)
{
	(void)state;
	sb_limits_config c;
	char *msg;
	assert_int_equal(parse("limits: { ws_per_ip = 5; msg_rate = 7;\n"
			       " msg_burst = 9; calls_per_user = 1; calls_per_ip = 6; calls_total = 0;\n"
			       " ws_first_message_ms = 2500; sdp_max_size = 4096;\n"
			       " sdp_max_mlines = 3; };", &c, &msg), 0);
	assert_int_equal(c.ws_per_ip, 5);
	assert_int_equal(c.calls_per_ip, 6);
	assert_int_equal(c.msg_rate, 7);
	assert_int_equal(c.msg_burst, 9);
	assert_int_equal(c.calls_per_user, 1);
	assert_int_equal(c.calls_total, 0);
	assert_int_equal(c.ws_first_message_ms, 2500);
	assert_int_equal(c.sdp_max_size, 4096);
	assert_int_equal(c.sdp_max_mlines, 3);
	assert_int_equal(c.sip_max_size, 65536);
	assert_int_equal(parse("x = 1;", &c, &msg), 0);
	assert_int_equal(c.ws_per_ip, 200);

	static const struct { const char *text, *msg; } bad[] = {
		{ "limits: {\n ws_per_ip = -1;\n};", "l.conf:2: 'limits.ws_per_ip' must be 0..100000" },
		{ "limits: {\n\n msg_burst = 0;\n};", "l.conf:3: 'limits.msg_burst' must be 1..100000" },
		{ "limits: {\n calls = 3;\n};", "l.conf:2: unknown key 'limits.calls'" },
		{ "limits: {\n msg_rate = \"20\";\n};", "l.conf:2: 'limits.msg_rate' must be" },
		{ "limits: {\n sdp_max_size = 10;\n};", "l.conf:2: 'limits.sdp_max_size' must be 1024..1048576" },
		{ "limits = 3;", "l.conf:1: 'limits' must be a group" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		assert_int_equal(parse(bad[i].text, &c, &msg), -EINVAL);
		assert_non_null(msg);
		if (!g_str_has_prefix(msg, bad[i].msg))
			fail_msg("case %zu: got '%s'", i, msg);
		g_free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ws_per_ip),
		cmocka_unit_test(test_ws_ipv6_prefix),
		cmocka_unit_test(test_first_message),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
