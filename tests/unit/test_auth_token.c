/* Unit tests for sip/auth_token.c: round trip, expired, forged, tampered
 * user/expiry, wrong secret, rotation, URL forms (percent-encoding,
 * URL-safe base64, form-decoded '+'), malformed input, config parsing,
 * the Origin allow-list.
 * The expected MAC of one vector is computed independently with the
 * same recipe as conf/make-token.sh (openssl dgst), see KNOWN_*. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sip/auth_token.h"

#define NOW 1767225600          /* 2026-01-01T00:00:00Z */
#define SECRET_A "correct horse battery staple"
#define SECRET_B "rotated-secret-0123456789"

/* printf -n '1767229200:alice' |
 *   openssl dgst -sha256 -hmac 'correct horse battery staple' -binary |
 *   openssl base64 -A */
#define KNOWN_USER_PART "1767229200:alice"
#define KNOWN_TOKEN "jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi/A="

static sb_auth_keys *keys(const char *a, const char *b, unsigned life)
{
	const char *s[2] = { a, b };
	sb_auth_keys *k = NULL;
	assert_int_equal(sb_auth_keys_new(s, b ? 2 : 1, life, &k), 0);
	assert_non_null(k);
	return k;
}

static void test_known_vector(void **state)
{
	(void)state;
	char *up, *tok;
	assert_int_equal(sb_auth_token_make(SECRET_A, "alice", NOW + 3600, &up,
					    &tok), 0);
	assert_string_equal(up, KNOWN_USER_PART);
	assert_string_equal(tok, KNOWN_TOKEN);
	g_free(up);
	g_free(tok);
}

static void test_round_trip(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	sb_auth_identity id;
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW, &id), SB_AUTH_TOKEN_OK);
	assert_string_equal(id.user, "alice");
	assert_int_equal(id.expiry, NOW + 3600);
	assert_int_equal(id.key_index, 0);
	/* Valid up to and including the expiry second. */
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW + 3600, NULL), SB_AUTH_TOKEN_OK);
	sb_auth_keys_free(k);
}

static void test_expired(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	sb_auth_identity id;
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW + 3601, &id),
			 SB_AUTH_TOKEN_EXPIRED);
	assert_string_equal(id.user, "");
	sb_auth_keys_free(k);
}

static void test_lifetime_bound(void **state)
{
	(void)state;
	/* Genuine, but valid for 3600 s from NOW while at most 600 allowed. */
	sb_auth_keys *k = keys(SECRET_A, NULL, 600);
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW, NULL), SB_AUTH_TOKEN_EXPIRED);
	/* 3000 s later only 600 s remain: accepted. */
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW + 3000, NULL), SB_AUTH_TOKEN_OK);
	sb_auth_keys_free(k);
}

static void test_forged_and_tampered(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	/* Same MAC, other user: the MAC covers the user. */
	assert_int_equal(sb_auth_token_verify(k, "1767229200:mallory",
					      KNOWN_TOKEN, NOW, NULL),
			 SB_AUTH_TOKEN_FORGED);
	/* Same MAC, later expiry: the MAC covers the expiry. */
	assert_int_equal(sb_auth_token_verify(k, "1767229201:alice",
					      KNOWN_TOKEN, NOW, NULL),
			 SB_AUTH_TOKEN_FORGED);
	/* Forged and also expired: FORGED wins (MAC checked first). */
	assert_int_equal(sb_auth_token_verify(k, "1000:alice", KNOWN_TOKEN,
					      NOW, NULL), SB_AUTH_TOKEN_FORGED);
	/* One flipped bit in the MAC. */
	char t[] = KNOWN_TOKEN;
	t[5] = t[5] == 'A' ? 'B' : 'A';
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, t, NOW, NULL),
			 SB_AUTH_TOKEN_FORGED);
	sb_auth_keys_free(k);
}

static void test_wrong_secret_and_rotation(void **state)
{
	(void)state;
	char *up, *tok;
	assert_int_equal(sb_auth_token_make(SECRET_B, "bob", NOW + 60, &up, &tok), 0);

	sb_auth_keys *only_a = keys(SECRET_A, NULL, 86400);
	assert_int_equal(sb_auth_token_verify(only_a, up, tok, NOW, NULL),
			 SB_AUTH_TOKEN_FORGED);

	sb_auth_keys *both = keys(SECRET_A, SECRET_B, 86400);
	sb_auth_identity id;
	assert_int_equal(sb_auth_token_verify(both, up, tok, NOW, &id),
			 SB_AUTH_TOKEN_OK);
	assert_string_equal(id.user, "bob");
	assert_int_equal(id.key_index, 1);
	assert_int_equal(sb_auth_token_verify(both, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW, &id), SB_AUTH_TOKEN_OK);
	assert_int_equal(id.key_index, 0);

	sb_auth_keys_free(only_a);
	sb_auth_keys_free(both);
	g_free(up);
	g_free(tok);
}

static void test_missing(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	assert_int_equal(sb_auth_token_verify(k, NULL, KNOWN_TOKEN, NOW, NULL),
			 SB_AUTH_TOKEN_MISSING);
	assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART, "", NOW, NULL),
			 SB_AUTH_TOKEN_MISSING);
	assert_int_equal(sb_auth_token_check_query(k, NULL, NOW, NULL),
			 SB_AUTH_TOKEN_MISSING);
	assert_int_equal(sb_auth_token_check_query(k, "", NOW, NULL),
			 SB_AUTH_TOKEN_MISSING);
	assert_int_equal(sb_auth_token_check_query(k, "user=" KNOWN_USER_PART,
						   NOW, NULL),
			 SB_AUTH_TOKEN_MISSING);
	assert_int_equal(sb_auth_token_check_query(k, "foo=1&token=" KNOWN_TOKEN,
						   NOW, NULL),
			 SB_AUTH_TOKEN_MISSING);
	sb_auth_keys_free(k);
}

static void test_malformed(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	static const char *const bad_user[] = {
		"alice", ":alice", "17672x9200:alice", "-1:alice", "1767229200:",
		"1767229200:al\tice", "1767229200:al@ice", "1767229200:a:b",
		"99999999999999999999:alice",
		"1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad_user); i++)
		assert_int_equal(sb_auth_token_verify(k, bad_user[i], KNOWN_TOKEN,
						      NOW, NULL),
				 SB_AUTH_TOKEN_MALFORMED);
	static const char *const bad_tok[] = {
		"short", "jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi/A==",
		"jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi",
		"jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi/A=x",
		"jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4B!/A=",
		/* Non-zero padding bits: not the canonical spelling. */
		"jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi/B=",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad_tok); i++)
		assert_int_equal(sb_auth_token_verify(k, KNOWN_USER_PART,
						      bad_tok[i], NOW, NULL),
				 SB_AUTH_TOKEN_MALFORMED);
	sb_auth_keys_free(k);
}

static void test_query_forms(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	sb_auth_identity id;
	static const char *const ok[] = {
		"user=1767229200:alice&token=jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi/A=",
		"user=1767229200%3Aalice&token=jUnNnINpb0n6qJ7FiGs7ID1Q+YaXDb9SmooeBL4Bi/A%3D",
		"x=1&token=jUnNnINpb0n6qJ7FiGs7ID1Q-YaXDb9SmooeBL4Bi_A&user=1767229200:alice&y",
		"user=1767229200:alice&token=jUnNnINpb0n6qJ7FiGs7ID1Q%2BYaXDb9SmooeBL4Bi%2FA",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		assert_int_equal(sb_auth_token_check_query(k, ok[i], NOW, &id),
				 SB_AUTH_TOKEN_OK);
		assert_string_equal(id.user, "alice");
	}
	static const char *const bad[] = {
		"user=1767229200:alice&user=1767229200:alice&token=" KNOWN_TOKEN,
		"user=1767229200:alice&token=" KNOWN_TOKEN "&token=" KNOWN_TOKEN,
		"user=1767229200%3alice%&token=" KNOWN_TOKEN,
		"user=1767229200%00:alice&token=" KNOWN_TOKEN,
		"user=1767229200%zz:alice&token=" KNOWN_TOKEN,
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		assert_int_equal(sb_auth_token_check_query(k, bad[i], NOW, NULL),
				 SB_AUTH_TOKEN_MALFORMED);
	sb_auth_keys_free(k);
}

/* Find a user whose token has both '+' and '/', then present it in
 * every alphabet a URL may carry it in. */
static void test_alphabets(void **state)
{
	(void)state;
	sb_auth_keys *k = keys(SECRET_A, NULL, 86400);
	char *up = NULL, *tok = NULL;
	for (int i = 0; i < 1000; i++) {
		char user[16];
		snprintf(user, sizeof(user), "u%d", i);
		g_free(up);
		g_free(tok);
		assert_int_equal(sb_auth_token_make(SECRET_A, user, NOW + 10, &up,
						    &tok), 0);
		if (strchr(tok, '+') && strchr(tok, '/'))
			break;
	}
	assert_non_null(strchr(tok, '+'));
	g_autofree char *urlsafe = g_strdup(tok);
	g_strdelimit(urlsafe, "+", '-');
	g_strdelimit(urlsafe, "/", '_');
	urlsafe[strlen(urlsafe) - 1] = '\0'; /* no padding */
	g_autofree char *spaced = g_strdup(tok);
	g_strdelimit(spaced, "+", ' ');
	assert_int_equal(sb_auth_token_verify(k, up, urlsafe, NOW, NULL),
			 SB_AUTH_TOKEN_OK);
	assert_int_equal(sb_auth_token_verify(k, up, spaced, NOW, NULL),
			 SB_AUTH_TOKEN_OK);

	GString *enc = g_string_new(NULL);
	g_string_append_printf(enc, "user=%s&token=", up);
	for (const char *p = tok; *p; p++)
		if (*p == '+' || *p == '/' || *p == '=')
			g_string_append_printf(enc, "%%%02X", (unsigned char)*p);
		else
			g_string_append_c(enc, *p);
	assert_int_equal(sb_auth_token_check_query(k, enc->str, NOW, NULL),
			 SB_AUTH_TOKEN_OK);
	g_string_printf(enc, "user=%s&token=%s", up, tok);
	assert_int_equal(sb_auth_token_check_query(k, enc->str, NOW, NULL),
			 SB_AUTH_TOKEN_OK);
	g_string_free(enc, TRUE);
	g_free(up);
	g_free(tok);

	/* A '+' in the user, form-decoded to a space on the way. */
	sb_auth_identity id;
	assert_int_equal(sb_auth_token_make(SECRET_A, "a+b", NOW + 10, &up, &tok), 0);
	assert_string_equal(up, "1767225610:a+b");
	assert_int_equal(sb_auth_token_verify(k, "1767225610:a b", tok, NOW, &id),
			 SB_AUTH_TOKEN_OK);
	assert_string_equal(id.user, "a+b");
	g_free(up);
	g_free(tok);
	sb_auth_keys_free(k);
}

static void test_keys_new_refuses(void **state)
{
	(void)state;
	sb_auth_keys *k = (sb_auth_keys *)&k;
	const char *s[] = { "short" };
	assert_int_equal(sb_auth_keys_new(s, 1, 60, &k), -EINVAL);
	assert_null(k);
	const char *ok[] = { SECRET_A };
	assert_int_equal(sb_auth_keys_new(ok, 0, 60, &k), -EINVAL);
	assert_int_equal(sb_auth_keys_new(ok, 1, 0, &k), -EINVAL);
	char *up, *tok;
	assert_int_equal(sb_auth_token_make("", "alice", 1, &up, &tok), -EINVAL);
	assert_int_equal(sb_auth_token_make(SECRET_A, "a b", 1, &up, &tok), -EINVAL);
	assert_null(up);
	assert_string_equal(sb_auth_token_result_str(SB_AUTH_TOKEN_FORGED),
			    "token-forged");
}

static int parse_auth(const char *text, sb_auth_config *out, char **msg)
{
	config_t cf;
	config_init(&cf);
	assert_true(config_read_string(&cf, text));
	GError *err = NULL;
	int r = sb_auth_config_from_setting(config_lookup(&cf, "auth"), "t.conf",
					    out, &err);
	*msg = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	config_destroy(&cf);
	return r;
}

static void test_config(void **state)
{
	(void)state;
	sb_auth_config c;
	char *msg;
	assert_int_equal(parse_auth("auth: { token_secrets = [ \"" SECRET_B
				    "\", \"" SECRET_A "\" ]; "
				    "token_max_lifetime = 7200;\n"
				    "allowed_origins = [ \"HTTPS://App.Example.com\","
				    " \"https://*.example.org:8443\" ]; };", &c, &msg), 0);
	assert_non_null(c.keys);
	sb_auth_identity id;
	assert_int_equal(sb_auth_token_verify(c.keys, KNOWN_USER_PART, KNOWN_TOKEN,
					      NOW, &id), SB_AUTH_TOKEN_OK);
	assert_int_equal(id.key_index, 1);
	/* max lifetime 7200 from the config: 3600 ahead passes, not 7201. */
	char *up, *tok;
	assert_int_equal(sb_auth_token_make(SECRET_A, "x", NOW + 7201, &up, &tok), 0);
	assert_int_equal(sb_auth_token_verify(c.keys, up, tok, NOW, NULL),
			 SB_AUTH_TOKEN_EXPIRED);
	g_free(up);
	g_free(tok);
	assert_string_equal(c.allowed_origins[0], "https://app.example.com:443");
	assert_string_equal(c.allowed_origins[1], "https://*.example.org:8443");
	assert_null(c.allowed_origins[2]);
	const char *const *ao = (const char *const *)c.allowed_origins;
	assert_true(sb_auth_origin_allowed(ao, "https://app.example.com"));
	assert_true(sb_auth_origin_allowed(ao, "https://a.b.example.org:8443"));
	assert_false(sb_auth_origin_allowed(ao, "https://evil.example"));
	sb_auth_config_clear(&c);

	assert_int_equal(parse_auth("auth: { token_secrets = \"\"; };", &c, &msg), 0);
	assert_null(c.keys);
	assert_null(c.allowed_origins);
	assert_int_equal(parse_auth("x = 1;", &c, &msg), 0);
	assert_null(c.keys);

	static const struct { const char *text, *msg; } bad[] = {
		{ "auth: {\n token_secrets = [ \"short\" ];\n};",
		  "t.conf:2: 'auth.token_secrets': each secret" },
		{ "auth: {\n\n token_secret = \"" SECRET_A "\";\n};",
		  "t.conf:3: unknown key 'auth.token_secret'" },
		{ "auth: {\n token_secrets = [ 1 ];\n};", "t.conf:2: 'auth.token_secrets' must" },
		{ "auth: { token_secrets = \"" SECRET_A "\";\n token_max_lifetime = 5; };",
		  "t.conf:2: 'auth.token_max_lifetime' must be 60..31536000" },
		{ "auth: { token_secrets = \"" SECRET_A "\";\n allowed_origins = [\n"
		  "\"https://ok.example\",\n \"https://bad.example/path\" ]; };",
		  "t.conf:4: 'auth.allowed_origins': expected" },
		{ "auth: {\n allowed_origins = 3; };", "t.conf:2: 'auth.allowed_origins' must be" },
		{ "auth = 1;", "t.conf:1: 'auth' must be a group" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		assert_int_equal(parse_auth(bad[i].text, &c, &msg), -EINVAL);
		assert_null(c.keys);
		assert_null(c.allowed_origins);
		assert_non_null(msg);
		if (!g_str_has_prefix(msg, bad[i].msg))
			fail_msg("case %zu: got '%s'", i, msg);
		g_free(msg);
	}
}

static void test_origins(void **state)
{
	(void)state;
	const char *const exact[] = { "https://app.example.com:443",
				      "http://127.0.0.1:8080", "http://[::1]:8080",
				      "https://*.example.org:443", NULL };
	static const struct { const char *origin; bool ok; } cases[] = {
		{ NULL, true },                          /* not a browser */
		{ "https://app.example.com", true },
		{ "https://APP.example.com:443", true },
		{ "https://app.example.com:8443", false },
		{ "http://app.example.com", false },
		{ "https://app.example.com.evil.example", false },
		{ "https://evilapp.example.com", false },
		{ "http://127.0.0.1:8080", true },
		{ "http://127.0.0.1", false },
		{ "http://[::1]:8080", true },
		{ "https://x.example.org", true },
		{ "https://a.b.example.org", true },
		{ "https://example.org", false },
		{ "https://evilexample.org", false },
		{ "https://*.example.org", false },
		{ "null", false },
		{ "", false },
		{ "https://app.example.com/", false },
		{ "https://app.example.com:99999", false },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		if (sb_auth_origin_allowed(exact, cases[i].origin) != cases[i].ok)
			fail_msg("case %zu '%s'", i, cases[i].origin);
	const char *const any[] = { "*", NULL };
	assert_true(sb_auth_origin_allowed(any, "null"));
	assert_true(sb_auth_origin_allowed(NULL, "https://evil.example"));
	const char *const none[] = { NULL };
	assert_true(sb_auth_origin_allowed(none, "https://evil.example"));
	assert_true(sb_auth_origin_pattern_valid("https://*.example.org"));
	assert_false(sb_auth_origin_pattern_valid("https://a.*.example.org"));
	assert_false(sb_auth_origin_pattern_valid("example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vector),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_lifetime_bound),
		cmocka_unit_test(test_forged_and_tampered),
		cmocka_unit_test(test_wrong_secret_and_rotation),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_query_forms),
		cmocka_unit_test(test_alphabets),
		cmocka_unit_test(test_keys_new_refuses),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_origins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
