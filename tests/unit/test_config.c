/* Configuration validation: the shipped file loads with the documented
 * defaults, and each kind of mistake is reported as FILE:LINE: message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gateway/config.h"

static char *write_tmp(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("sbconf-XXXXXX.conf", &path, NULL);
	assert_true(fd >= 0);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_shipped_defaults(void **state)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(sb_config) c = sb_config_load(SB_TEST_CONF, &err);
	assert_non_null(c);
	assert_true(c->has_http);
	assert_string_equal(c->http.host, "127.0.0.1");
	assert_int_equal(c->http.port, 8080);
	assert_false(c->has_https);
	assert_int_equal(c->n_sip, 2);
	assert_int_equal(c->sip[0].transport, SB_SIP_TRANSPORT_UDP);
	assert_int_equal(c->sip[1].transport, SB_SIP_TRANSPORT_TCP);
	assert_int_equal(c->sip[1].addr.port, 5060);
	assert_string_equal(c->admin.host, "127.0.0.1");
	assert_int_equal(c->admin.port, 8081);
	assert_string_equal(c->outbound_proxy, "");
	assert_string_equal(c->media_address, "127.0.0.1");
	assert_int_equal(c->rtp_port_min, 20000);
	assert_int_equal(c->rtp_port_max, 29999);
	assert_string_equal(c->svc_echo, "echo");
	assert_string_equal(c->svc_conference_prefix, "conf-");
	assert_true(c->workers >= 1);
}

static void test_empty_file_is_defaults(void **state)
{
	g_autofree char *p = write_tmp("# nothing\n");
	g_autoptr(GError) err = NULL;
	g_autoptr(sb_config) c = sb_config_load(p, &err);
	assert_non_null(c);
	assert_int_equal(c->http.port, 8080);
	assert_int_equal(c->rtp_timeout_s, 60);
	assert_false(c->tls_verify_server);
	assert_string_equal(c->tls_ca_file, "");
	assert_false(c->jitter_buffer);
	assert_true(c->opus_low_delay);
	assert_int_equal(c->max_transcoded, 0);
	g_unlink(p);
}

static void test_media_transcoding_keys(void **state)
{
	g_autofree char *p = write_tmp(
		"media: { jitter_buffer = true; max_transcoded = 7;"
		" opus_low_delay = false; };\n");
	g_autoptr(GError) err = NULL;
	g_autoptr(sb_config) c = sb_config_load(p, &err);
	(void)state;
	assert_non_null(c);
	assert_true(c->jitter_buffer);
	assert_false(c->opus_low_delay);
	assert_int_equal(c->max_transcoded, 7);
	g_unlink(p);
	g_autofree char *q = write_tmp("media: { jitter_buffer = 1; };\n");
	g_autoptr(GError) err2 = NULL;
	assert_null(sb_config_load(q, &err2));
	assert_non_null(strstr(err2->message, "jitter_buffer"));
	g_unlink(q);
}

typedef struct bad_case {
	const char *text;
	int line;
	const char *fragment;
} bad_case;

static const bad_case bad[] = {
	{ "listen: {\n  htp = \"127.0.0.1:80\";\n};\n", 2, "unknown key 'listen.htp'" },
	{ "listen: {\n http = \"127.0.0.1:99999\";\n};\n", 2, "listen.http" },
	{ "listen: { http = 8080; };\n", 1, "must be a string" },
	{ "listen: {\n sip = [ \"sctp:127.0.0.1:5060\" ];\n};\n", 2, "udp:IP:PORT" },
	{ "\n\nmedia: { rtp_ports = [ 30000, 20000 ]; };\n", 3, "MIN" },
	{ "media: { address = \"localhost\"; };\n", 1, "IP address" },
	/* what peers are told to send to: never a wildcard */
	{ "media: { address = \"0.0.0.0\"; };\n", 1, "not a wildcard" },
	{ "media: {\n public_address = \"::\"; };\n", 2, "not a wildcard" },
	{ "media: { stun_server = \"*:3478\"; };\n", 1, "STUN server" },
	{ "media: { stun_server = \"stun.example.com:3478\"; };\n", 1, "IP:PORT" },
	{ "services: { echo_delay_ms = 2500; };\n", 1, "0 to 2000" },
	{ "services: { conference_max_participants = 0; };\n", 1, "at least 1" },
	{ "route: { outbound_proxy = \"http://x\"; };\n", 1, "SIP URI" },
	{ "listen: { https = \"0.0.0.0:8443\"; };\n", 1, "tls.cert" },
	{ "tls: {\n verify_server = \"yes\"; };\n", 2, "true or false" },
	{ "log: { level = \"loud\"; };\n", 1, "debug" },
	{ "route: {\n dtmf = \"inband\";\n};\n", 2, "auto, rfc4733, info" },
	{ "services: { echo = \"echo me\"; };\n", 1, "user part" },
	{ "bogus = 1;\n", 1, "unknown key 'bogus'" },
	{ "listen: {\n http = \"127.0.0.1:8080\"\n", 3, "syntax error" },
};

static void test_bad_configs(void **state)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *p = write_tmp(bad[i].text);
		g_autoptr(GError) err = NULL;
		sb_config *c = sb_config_load(p, &err);
		if (c)
			fail_msg("case %zu accepted: %s", i, bad[i].text);
		g_autofree char *prefix = g_strdup_printf("%s:%d: ", p, bad[i].line);
		if (!g_str_has_prefix(err->message, prefix) ||
		    !strstr(err->message, bad[i].fragment))
			fail_msg("case %zu: got '%s', want prefix '%s' and '%s'", i,
				 err->message, prefix, bad[i].fragment);
		g_unlink(p);
	}
}

/* route.dtmf: default auto; the three values, any case. */
/* The SIP side's RTP address for peers of the other family: the first
 * listen.sip host of that family, never a wildcard. */
static void test_media_address_alt(void **state)
{
	static const struct { const char *conf, *want; } cases[] = {
		{ "", "" },   /* defaults: IPv4 everywhere */
		{ "listen: { sip = [ \"udp:127.0.0.1:5060\", \"udp:[::1]:5062\" ]; };",
		  "::1" },
		{ "listen: { sip = [ \"udp:[::]:5060\", \"tcp:[::1]:5060\" ]; };",
		  "::1" },
		{ "listen: { sip = [ \"udp:[::]:5060\" ]; };", "" },
		{ "listen: { sip = [ \"udp:127.0.0.1:5060\" ]; };"
		  " media: { address = \"::1\"; };", "127.0.0.1" },
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *p = write_tmp(cases[i].conf);
		g_autoptr(GError) err = NULL;
		g_autoptr(sb_config) c = sb_config_load(p, &err);
		assert_non_null(c);
		assert_string_equal(c->media_address_alt, cases[i].want);
		g_unlink(p);
	}
}

static void test_route_dtmf(void **state)
{
	static const struct { const char *v; sb_dtmf_mode m; } ok[] = {
		{ "auto", SB_DTMF_AUTO }, { "rfc4733", SB_DTMF_RFC4733 },
		{ "INFO", SB_DTMF_INFO },
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		g_autofree char *text = g_strdup_printf("route: { dtmf = \"%s\"; };\n",
							ok[i].v);
		g_autofree char *p = write_tmp(text);
		g_autoptr(GError) err = NULL;
		g_autoptr(sb_config) c = sb_config_load(p, &err);
		assert_non_null(c);
		assert_int_equal(c->route_dtmf, ok[i].m);
		g_unlink(p);
	}
	g_autofree char *p = write_tmp("route: { outbound_proxy = \"\"; };\n");
	g_autoptr(GError) err = NULL;
	g_autoptr(sb_config) c = sb_config_load(p, &err);
	assert_non_null(c);
	assert_int_equal(c->route_dtmf, SB_DTMF_AUTO);
	g_unlink(p);
}

static void test_missing_file(void **state)
{
	g_autoptr(GError) err = NULL;
	assert_null(sb_config_load("/nonexistent/sb.conf", &err));
	assert_non_null(strstr(err->message, "/nonexistent/sb.conf:0:"));
}

static void test_hostport(void **state)
{
	sb_hostport hp;
	assert_int_equal(sb_config_parse_hostport("[::1]:5060", &hp), 0);
	assert_string_equal(hp.host, "::1");
	assert_int_equal(hp.port, 5060);
	assert_int_equal(sb_config_parse_hostport("*:80", &hp), 0);
	assert_true(sb_config_parse_hostport("127.0.0.1", &hp) < 0);
	assert_true(sb_config_parse_hostport("127.0.0.1:0", &hp) < 0);
	assert_true(sb_config_parse_hostport("example.com:80", &hp) < 0);
	assert_true(sb_config_parse_hostport("[::1:80", &hp) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_defaults),
		cmocka_unit_test(test_empty_file_is_defaults),
		cmocka_unit_test(test_media_transcoding_keys),
		cmocka_unit_test(test_media_address_alt),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_route_dtmf),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_hostport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
