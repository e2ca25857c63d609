/* Unit tests for sip/security_log.c: the exact line of every event (the
 * format is a contract with fail2ban filters), quoting and escaping (no
 * CR/LF or space injection, truncation), and that the lines go through
 * GLib logging at WARNING. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sip/security_log.h"

static GPtrArray *captured;   /* MESSAGE of every WARNING logged */

static GLogWriterOutput capture(GLogLevelFlags level, const GLogField *fields,
				gsize n_fields, gpointer user_data)
{
	(void)user_data;
	for (gsize i = 0; i < n_fields; i++)
		if (!strcmp(fields[i].key, "MESSAGE") &&
		    (level & G_LOG_LEVEL_WARNING))
			g_ptr_array_add(captured, g_strdup(fields[i].value));
	return G_LOG_WRITER_HANDLED;
}

static const char *last_line(void)
{
	assert_true(captured->len > 0);
	return g_ptr_array_index(captured, captured->len - 1);
}

static void test_events(void **state)
{
	(void)state;
	static const char *const want[] = {
		"security: event=ws-refused ip=192.0.2.7 reason=origin-not-allowed origin=\"https://evil.example\"",
		"security: event=ws-refused ip=192.0.2.7 reason=token-forged user=\"bob\"",
		"security: event=ws-closed ip=2001:db8::1 reason=first-message-timeout conn=42",
		"security: event=rate-limited ip=192.0.2.7 limit=msg-rate user=\"alice\" conn=7",
		"security: event=bad-message ip=192.0.2.7 reason=sdp-too-many-media conn=8",
		"security: event=call-denied ip=192.0.2.7 user=\"alice\" target=\"+19005550100\" rule=\"deny:+1900*\"",
		"security: event=limit-hit ip=192.0.2.7 limit=calls-per-user user=\"alice\" max=4",
		"security: event=limit-hit ip=- limit=calls-total max=500",
		"security: event=auth-failed ip=192.0.2.7 status=401 user=\"alice\" method=REGISTER realm=\"pbx\"",
		"security: event=open-relay-refused ip=192.0.2.7 target=\"sip:x@evil.example\" reason=not-our-domain",
	};
	captured = g_ptr_array_new_with_free_func(g_free);
	sb_seclog_ws_refused("192.0.2.7", "origin-not-allowed", "https://evil.example", NULL);
	sb_seclog_ws_refused("192.0.2.7", "token-forged", NULL, "bob");
	sb_seclog_ws_closed("2001:db8::1", "first-message-timeout", NULL, 42);
	sb_seclog_rate_limited("192.0.2.7", "alice", 7);
	sb_seclog_bad_message("192.0.2.7", "sdp-too-many-media", NULL, 8);
	sb_seclog_call_denied("192.0.2.7", "alice", "+19005550100", "deny:+1900*");
	sb_seclog_limit_hit("192.0.2.7", "calls-per-user", "alice", 4);
	sb_seclog_limit_hit(NULL, "calls-total", NULL, 500);
	sb_seclog_auth_failed("192.0.2.7", 401, "alice", "REGISTER", "pbx");
	sb_seclog_open_relay_refused("192.0.2.7", "sip:x@evil.example",
				     "not-our-domain", NULL);
	assert_int_equal(captured->len, G_N_ELEMENTS(want));
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
		assert_string_equal(g_ptr_array_index(captured, i), want[i]);
	g_ptr_array_unref(captured);
	captured = NULL;
}

static void test_escaping(void **state)
{
	(void)state;
	captured = g_ptr_array_new_with_free_func(g_free);
	/* CR/LF injection of a whole fake line, through the user name. */
	sb_seclog_call_denied("192.0.2.7",
			      "x\r\nsecurity: event=auth-failed ip=6.6.6.6",
			      "a \"b\"\\c", "deny:*");
	const char *l = last_line();
	assert_null(strchr(l, '\n'));
	assert_null(strchr(l, '\r'));
	assert_string_equal(l,
		"security: event=call-denied ip=192.0.2.7 "
		"user=\"x\\x0D\\x0Asecurity:\\x20event=auth-failed\\x20ip=6.6.6.6\" "
		"target=\"a\\x20\\\"b\\\"\\\\c\" rule=\"deny:*\"");
	/* Exactly one "security: event=" in the line. */
	assert_ptr_equal(strstr(l, "security: event="), l);
	assert_null(strstr(l + 1, "security: event="));

	/* A bare field that is not a clean token gets quoted. */
	sb_seclog_ws_refused("1.2.3.4 ip=6.6.6.6", "x=y", NULL, NULL);
	assert_string_equal(last_line(),
		"security: event=ws-refused ip=\"1.2.3.4\\x20ip=6.6.6.6\" reason=\"x=y\"");
	/* Non-ASCII and empty values. */
	sb_seclog_auth_failed("", 407, "", "INVITE", "caf\xc3\xa9");
	assert_string_equal(last_line(),
		"security: event=auth-failed ip=- status=407 user=\"\" method=INVITE "
		"realm=\"caf\\xC3\\xA9\"");
	g_ptr_array_unref(captured);
	captured = NULL;
}

static void test_truncation(void **state)
{
	(void)state;
	char *big = g_strnfill(1000, 'a');
	sb_seclog_field f = { "user", big, TRUE };
	char *line = sb_seclog_format("ws-refused", "192.0.2.7", &f, 1);
	g_autofree char *want_user = g_strnfill(200, 'a');
	g_autofree char *want = g_strdup_printf(
		"security: event=ws-refused ip=192.0.2.7 user=\"%s...\"", want_user);
	assert_string_equal(line, want);
	g_free(line);
	/* An over-long bare value is quoted and cut the same way. */
	f.text = FALSE;
	line = sb_seclog_format("ws-refused", "192.0.2.7", &f, 1);
	assert_string_equal(line, want);
	g_free(line);
	g_free(big);
	/* NULL values are left out. */
	sb_seclog_field none[] = { { "a", NULL, TRUE }, { "b", "1", FALSE } };
	line = sb_seclog_format("limit-hit", NULL, none, 2);
	assert_string_equal(line, "security: event=limit-hit ip=- b=1");
	g_free(line);
}

int main(void)
{
	g_log_set_writer_func(capture, NULL, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
