/* Unit tests for sip/sip_face.c: which listener faces a SIP peer (by
 * transport, then family), what a wildcard listener advertises (the route
 * lookup's source on loopback, else the family's fallback), peers from
 * URLs, and whether a Request-URI host names the gateway. Loopback only:
 * the route lookups and bind tests send nothing. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <sofia-sip/url.h>

#include "common/ip.h"
#include "sip/sip_face.h"

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void peer_at(sb_sip_peer *p, const char *tp, const char *url)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	url_t *u = url ? url_hdup(home, URL_STRING_MAKE(url)->us_url) : NULL;
	sb_sip_peer_from_url(u, p);
	if (tp)
		g_strlcpy(p->transport, tp, sizeof(p->transport));
	su_home_deinit(home);
}

static void test_wildcard(void **state)
{
	(void)state;
	assert_true(sb_ip_is_wildcard("0.0.0.0"));
	assert_true(sb_ip_is_wildcard("::"));
	assert_true(sb_ip_is_wildcard("0:0::0"));
	assert_true(sb_ip_is_wildcard("*"));
	assert_false(sb_ip_is_wildcard("127.0.0.1"));
	assert_false(sb_ip_is_wildcard("::1"));
	assert_false(sb_ip_is_wildcard(NULL));
}

static void test_peer_from_url(void **state)
{
	sb_sip_peer p;
	(void)state;
	peer_at(&p, NULL, "sip:[::1]:5070;transport=tcp");
	assert_string_equal(p.transport, "tcp");
	assert_int_equal(p.addr.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&p.addr)->sin6_port), 5070);
	peer_at(&p, NULL, "sips:pbx.example.com");
	assert_string_equal(p.transport, "tls");
	assert_int_equal(p.addr.ss_family, 0);
	peer_at(&p, NULL, "sip:10.1.2.3");
	assert_string_equal(p.transport, "udp");
	assert_int_equal(p.addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&p.addr)->sin_port), 5060);
	sb_sip_peer_from_url(NULL, &p);
	assert_string_equal(p.transport, "udp");
	assert_int_equal(p.addr.ss_family, 0);
}

static void test_listener_choice(void **state)
{
	static const sb_sip_listen_spec ls[] = {
		{ "udp", "127.0.0.1", 5060 },
		{ "tcp", "127.0.0.1", 5060 },
		{ "udp", "::1", 5062 },
	};
	sb_sip_peer p;
	(void)state;
	peer_at(&p, NULL, "sip:[::1]:5080");
	assert_ptr_equal(sb_sip_face_listener(ls, 3, &p), &ls[2]);
	peer_at(&p, NULL, "sip:127.0.0.1:5080");
	assert_ptr_equal(sb_sip_face_listener(ls, 3, &p), &ls[0]);
	/* a name: the first of the transport */
	peer_at(&p, NULL, "sip:pbx.example.com;transport=tcp");
	assert_ptr_equal(sb_sip_face_listener(ls, 3, &p), &ls[1]);
	/* TCP toward IPv6: no such listener, the transport wins */
	peer_at(&p, NULL, "sip:[::1];transport=tcp");
	assert_ptr_equal(sb_sip_face_listener(ls, 3, &p), &ls[1]);
	/* no TLS listener at all: the first one */
	peer_at(&p, NULL, "sips:[::1]");
	assert_ptr_equal(sb_sip_face_listener(ls, 3, &p), &ls[0]);
	assert_null(sb_sip_face_listener(ls, 0, &p));
}

static void test_face_host(void **state)
{
	static const sb_sip_listen_spec any4 = { "udp", "0.0.0.0", 5060 },
		any6 = { "udp", "::", 5060 }, star = { "udp", "*", 5060 },
		fixed = { "udp", "127.0.0.5", 5060 };
	sb_sip_face_fallback fb = { "127.0.0.9", "::1" };
	sb_sip_peer p;
	char h[64];
	(void)state;
	peer_at(&p, NULL, "sip:127.0.0.1:5080");
	sb_sip_face_host(&fixed, &p, &fb, h, sizeof(h));
	assert_string_equal(h, "127.0.0.5");
	sb_sip_face_host(&any4, &p, &fb, h, sizeof(h));
	assert_string_equal(h, "127.0.0.1");     /* the route's source */
	sb_sip_face_host(&star, &p, &fb, h, sizeof(h));
	assert_string_equal(h, "127.0.0.1");
	/* a peer by name: the fallback of the listener's family */
	peer_at(&p, NULL, "sip:pbx.example.com");
	sb_sip_face_host(&any4, &p, &fb, h, sizeof(h));
	assert_string_equal(h, "127.0.0.9");
	sb_sip_face_host(&any6, &p, &fb, h, sizeof(h));
	assert_string_equal(h, "::1");
	/* nothing better known: as written */
	sb_sip_face_host(&star, &p, &(sb_sip_face_fallback){ NULL, NULL }, h, sizeof(h));
	assert_string_equal(h, "*");
	if (have_ipv6_loopback()) {
		peer_at(&p, NULL, "sip:[::1]:5080");
		sb_sip_face_host(&any6, &p, NULL, h, sizeof(h));
		assert_string_equal(h, "::1");
		/* an IPv4 socket cannot face an IPv6 peer */
		sb_sip_face_host(&any4, &p, &fb, h, sizeof(h));
		assert_string_equal(h, "127.0.0.9");
	}
}

static void test_is_ours(void **state)
{
	static const sb_sip_listen_spec fixed[] = {
		{ "udp", "127.0.0.1", 5060 }, { "udp", "::1", 5060 },
	};
	static const sb_sip_listen_spec any[] = { { "udp", "0.0.0.0", 5060 } };
	(void)state;
	assert_true(sb_sip_face_is_ours(fixed, 2, "127.0.0.1"));
	assert_true(sb_sip_face_is_ours(fixed, 2, "[::1]"));
	assert_true(sb_sip_face_is_ours(fixed, 2, "[0:0::1]"));
	assert_false(sb_sip_face_is_ours(fixed, 2, "127.0.0.2"));
	assert_false(sb_sip_face_is_ours(fixed, 2, "pbx.example.com"));
	/* a wildcard listener: any address of this machine */
	assert_true(sb_sip_face_is_ours(any, 1, "127.0.0.2"));
	assert_false(sb_sip_face_is_ours(any, 1, "192.0.2.1"));  /* TEST-NET-1 */
	assert_false(sb_sip_face_is_ours(any, 1, "pbx.example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_peer_from_url),
		cmocka_unit_test(test_listener_choice),
		cmocka_unit_test(test_face_host),
		cmocka_unit_test(test_is_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
