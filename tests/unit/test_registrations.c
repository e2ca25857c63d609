/* sip/registrations.c: bindings added, refreshed, pruned, expired and
 * dropped with their WebSocket. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip/registrations.h"

#define S 1000000LL   /* µs per second */

static sb_registration_info info(uint64_t conn, const char *aor,
				 const char *contact, unsigned expires)
{
	return (sb_registration_info){
		.aor = aor, .contact = contact, .alias = "sip:a@gw;sbf=tok",
		.source = "127.0.0.1:5000", .user_agent = "JsSIP 3.10",
		.registrar = "sip:example.org", .conn_id = conn, .expires_s = expires,
	};
}

typedef struct seen {
	const sb_registration *b[8];
	int n;
} seen;

static void collect(const sb_registration *b, void *ud)
{
	seen *s = ud;
	if (s->n < 8)
		s->b[s->n++] = b;
}

static void test_add_refresh(void **state)
{
	(void)state;
	sb_registrations *r = sb_registrations_new();
	sb_registration_info a = info(7, "sip:alice@example.org", "sip:alice@x.invalid", 600);
	assert_int_equal(sb_registrations_update(r, &a, 1000 * S, 10 * S), 0);
	assert_int_equal(sb_registrations_count(r), 1);
	/* refresh: same key, new expiry and time, still one binding */
	a.expires_s = 300;
	a.user_agent = NULL;
	assert_int_equal(sb_registrations_update(r, &a, 1100 * S, 110 * S), 0);
	assert_int_equal(sb_registrations_count(r), 1);
	seen s = { 0 };
	sb_registrations_foreach(r, collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.b[0]->aor, "sip:alice@example.org");
	assert_string_equal(s.b[0]->contact, "sip:alice@x.invalid");
	assert_string_equal(s.b[0]->alias, "sip:a@gw;sbf=tok");
	assert_string_equal(s.b[0]->source, "127.0.0.1:5000");
	assert_string_equal(s.b[0]->user_agent, "");
	assert_string_equal(s.b[0]->registrar, "sip:example.org");
	assert_int_equal(s.b[0]->conn_id, 7);
	assert_int_equal(s.b[0]->expires_s, 300);
	assert_int_equal(s.b[0]->registered_unix_us, 1100 * S);
	assert_int_equal(s.b[0]->expires_mono_us, 410 * S);
	/* another contact, or the same contact on another socket, is new */
	sb_registration_info b = info(7, "sip:alice@example.org", "sip:alice@y.invalid", 60);
	sb_registration_info c = info(8, "sip:alice@example.org", "sip:alice@x.invalid", 60);
	assert_int_equal(sb_registrations_update(r, &b, 0, 0), 0);
	assert_int_equal(sb_registrations_update(r, &c, 0, 0), 0);
	assert_int_equal(sb_registrations_count(r), 3);
	sb_registrations_free(r);
}

static void test_expires_zero(void **state)
{
	(void)state;
	sb_registrations *r = sb_registrations_new();
	sb_registration_info a = info(1, "sip:alice@example.org", "sip:alice@x.invalid", 600);
	sb_registration_info b = info(1, "sip:bob@example.org", "sip:bob@x.invalid", 600);
	assert_int_equal(sb_registrations_update(r, &a, 0, 0), 0);
	assert_int_equal(sb_registrations_update(r, &b, 0, 0), 0);
	a.expires_s = 0;
	assert_int_equal(sb_registrations_update(r, &a, 0, 0), 1);
	assert_int_equal(sb_registrations_update(r, &a, 0, 0), -ENOENT);
	assert_int_equal(sb_registrations_count(r), 1);
	seen s = { 0 };
	sb_registrations_foreach(r, collect, &s);
	assert_string_equal(s.b[0]->aor, "sip:bob@example.org");
	sb_registration_info bad = info(1, NULL, "sip:x@y", 60);
	assert_int_equal(sb_registrations_update(r, &bad, 0, 0), -EINVAL);
	bad = info(1, "sip:x@y", "", 60);
	assert_int_equal(sb_registrations_update(r, &bad, 0, 0), -EINVAL);
	sb_registrations_free(r);
}

static void test_prune(void **state)
{
	(void)state;
	sb_registrations *r = sb_registrations_new();
	const char *aor = "sip:alice@example.org";
	sb_registration_info x = info(1, aor, "sip:alice@x.invalid", 600);
	sb_registration_info y = info(1, aor, "sip:alice@y.invalid", 600);
	sb_registration_info other_conn = info(2, aor, "sip:alice@z.invalid", 600);
	sb_registration_info other_aor = info(1, "sip:bob@example.org", "sip:bob@x.invalid", 600);
	sb_registrations_update(r, &x, 0, 0);
	sb_registrations_update(r, &y, 0, 0);
	sb_registrations_update(r, &other_conn, 0, 0);
	sb_registrations_update(r, &other_aor, 0, 0);
	const char *keep[] = { "sip:alice@y.invalid" };
	assert_int_equal(sb_registrations_prune(r, 1, aor, keep, 1), 1);
	assert_int_equal(sb_registrations_count(r), 3);
	/* nothing kept: the 2xx to a de-registration listed none of ours */
	assert_int_equal(sb_registrations_prune(r, 1, aor, NULL, 0), 1);
	seen s = { 0 };
	sb_registrations_foreach(r, collect, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.b[0]->contact, "sip:alice@z.invalid");
	assert_string_equal(s.b[1]->contact, "sip:bob@x.invalid");
	sb_registrations_free(r);
}

static void test_expire_and_close(void **state)
{
	(void)state;
	sb_registrations *r = sb_registrations_new();
	sb_registration_info a = info(1, "sip:a@e", "sip:a@x.invalid", 30);
	sb_registration_info b = info(1, "sip:b@e", "sip:b@x.invalid", 600);
	sb_registration_info c = info(2, "sip:c@e", "sip:c@x.invalid", 600);
	sb_registrations_update(r, &a, 0, 100 * S);
	sb_registrations_update(r, &b, 0, 100 * S);
	sb_registrations_update(r, &c, 0, 100 * S);
	assert_int_equal(sb_registrations_expire(r, 130 * S - 1), 0);
	assert_int_equal(sb_registrations_expire(r, 130 * S), 1);
	assert_int_equal(sb_registrations_count(r), 2);
	assert_int_equal(sb_registrations_remove_conn(r, 3), 0);
	assert_int_equal(sb_registrations_remove_conn(r, 1), 1);
	seen s = { 0 };
	sb_registrations_foreach(r, collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.b[0]->aor, "sip:c@e");
	assert_int_equal(sb_registrations_expire(r, 700 * S), 1);
	assert_int_equal(sb_registrations_count(r), 0);
	assert_int_equal(sb_registrations_count(NULL), 0);
	sb_registrations_free(r);
	sb_registrations_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_refresh),
		cmocka_unit_test(test_expires_zero),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_expire_and_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
