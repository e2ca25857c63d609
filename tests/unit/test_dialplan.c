/* Unit tests for sip/dialplan.c: normalisation, pattern syntax and
 * matching, and a table of decisions against a realistic configuration
 * parsed from libconfig text (premium and international denied, local
 * allowed, per-user sets, services always allowed), plus config errors
 * with FILE:LINE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "sip/dialplan.h"

static const char conf_text[] =
	"dialplan: {\n"
	"  international_prefix = \"00\";\n"
	"  default = [ \"deny:+1900*\", \"deny:+44871*\", \"allow:+44*\",\n"
	"              \"deny:+*\", \"deny:09*\", \"allow:0[1-8]XXXXXXXX\",\n"
	"              \"allow:1XXX\", \"allow:alice\", \"allow:[a-z]*\" ];\n"
	"  local-only = [ \"allow:1XXX\", \"deny:*\" ];\n"
	"  nothing = [ ];\n"
	"  users = [ \"bob=local-only\", \"1001=local-only\", \"eve=nothing\" ];\n"
	"};\n";

static sb_dialplan *load(const char *text, char **msg)
{
	config_t cf;
	config_init(&cf);
	if (!config_read_string(&cf, text))
		fail_msg("libconfig: line %d: %s", config_error_line(&cf),
			 config_error_text(&cf));
	GError *err = NULL;
	sb_dialplan *dp = NULL;
	int r = sb_dialplan_from_setting(config_lookup(&cf, "dialplan"), "dp.conf",
					 &dp, &err);
	if (msg)
		*msg = err ? g_strdup(err->message) : NULL;
	else if (err)
		fail_msg("%s", err->message);
	assert_true(r < 0 ? dp == NULL : err == NULL);
	g_clear_error(&err);
	config_destroy(&cf);
	return dp;
}

static void test_normalise(void **state)
{
	(void)state;
	static const struct { const char *in, *intl, *out; int r; } cases[] = {
		{ "+44 20 7946-0958", "00", "+442079460958", 0 },
		{ "0044 (20) 7946.0958", "00", "+442079460958", 0 },
		{ "%2B1-900-555-0100", "00", "+19005550100", 0 },
		{ "011 44 20", "011", "+4420", 0 },
		{ "011 44 20", "00", "0114420", 0 },
		{ "0044", "", "0044", 0 },
		{ "00", "00", "00", 0 },
		{ "02079460958;phone-context=+44", "00", "02079460958", 0 },
		{ "*67 555 0100", "00", "*675550100", 0 },
		{ "alice", "00", "alice", 0 },
		{ "conf-42", "00", "conf-42", 0 },
		{ "1+2", "00", "1+2", 0 },           /* '+' not in front: a name */
		{ "a%20b", "00", "a b", 0 },
		{ "", "00", "", 0 },
		{ "%", "00", "", -EINVAL },
		{ "%4", "00", "", -EINVAL },
		{ "%zz", "00", "", -EINVAL },
		{ "a%00b", "00", "", -EINVAL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char out[SB_DIALPLAN_TARGET_MAX];
		int r = sb_dialplan_normalise(cases[i].in, cases[i].intl, out,
					      sizeof(out));
		if (r != cases[i].r || strcmp(out, cases[i].out))
			fail_msg("case %zu '%s': got %d '%s'", i, cases[i].in, r, out);
	}
	char small[4];
	assert_int_equal(sb_dialplan_normalise("12345", "00", small, sizeof(small)),
			 -ENOSPC);
}

static void test_patterns(void **state)
{
	(void)state;
	static const struct { const char *p, *s; bool m; } cases[] = {
		{ "*", "", true }, { "*", "+441234", true },
		{ "+44*", "+44", true }, { "+44*", "+4", false },
		{ "+44*", "+1441", false },
		{ "0[1-9]XXXXXXXX", "0207946095", true },
		{ "0[1-9]XXXXXXXX", "0007946095", false },
		{ "0[1-9]XXXXXXXX", "02079460958", false },
		{ "0[1-9]XXXXXXXX", "020794609", false },
		{ "1XXX", "1234", true }, { "1XXX", "123a", false },
		{ "[135]", "3", true }, { "[135]", "4", false },
		{ "[a-cx]", "x", true }, { "[X]", "X", true }, { "X", "X", false },
		{ "[*]67*", "*675550100", true }, { "[*]67*", "675550100", false },
		{ "*1*2*3", "a1b2c3", true }, { "*1*2*3", "a1b2c", false },
		{ "a*b*c*d*e*f*g", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
		{ "conf-*", "conf-", true }, { "alice", "Alice", false },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_true(sb_dialplan_pattern_valid(cases[i].p));
		if (sb_dialplan_pattern_match(cases[i].p, cases[i].s) != cases[i].m)
			fail_msg("case %zu: '%s' vs '%s'", i, cases[i].p, cases[i].s);
	}
	static const char *const bad[] = {
		"", "[", "[]", "[12", "a b", "a;b", "a@b", "(1)", "a/b", "%41",
		"[1-9", "x]" "[" ,
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		if (sb_dialplan_pattern_valid(bad[i]))
			fail_msg("pattern '%s' should be invalid", bad[i]);
}

typedef struct decide_case {
	const char *caller, *dialled;
	bool allow;
	const char *rule;
	const char *set;
	const char *target;
} decide_case;

static const decide_case decisions[] = {
	/* premium and international */
	{ NULL, "+19005550100", false, "deny:+1900*", "default", "+19005550100" },
	{ "carol", "001 900 555 0100", false, "deny:+1900*", "default", "+19005550100" },
	{ NULL, "%2B1900-555-0100", false, "deny:+1900*", "default", NULL },
	{ NULL, "+33144556677", false, "deny:+*", "default", NULL },
	{ NULL, "0033144556677", false, "deny:+*", "default", "+33144556677" },
	{ NULL, "+448712345678", false, "deny:+44871*", "default", NULL },
	{ NULL, "+442079460958", true, "allow:+44*", "default", NULL },
	{ NULL, "0044 20 7946 0958", true, "allow:+44*", "default", "+442079460958" },
	{ NULL, "0901234567", false, "deny:09*", "default", NULL },
	/* local and extensions */
	{ NULL, "020 7946 095", true, "allow:0[1-8]XXXXXXXX", "default", "0207946095" },
	{ NULL, "02079460958", false, "default-deny", "default", NULL },
	{ NULL, "1001", true, "allow:1XXX", "default", NULL },
	{ NULL, "alice", true, "allow:alice", "default", NULL },
	{ NULL, "room-9", true, "allow:[a-z]*", "default", NULL },
	{ NULL, "Alice", false, "default-deny", "default", NULL },
	{ NULL, NULL, false, "default-deny", "default", "" },
	/* per-user sets */
	{ "bob", "1002", true, "allow:1XXX", "local-only", NULL },
	{ "bob", "+442079460958", false, "deny:*", "local-only", NULL },
	{ "1001", "0207946095", false, "deny:*", "local-only", NULL },
	{ "eve", "1002", false, "default-deny", "nothing", NULL },
	{ "", "1002", true, "allow:1XXX", "default", NULL },
	/* services: always allowed, even for "nothing" */
	{ "eve", "echo", true, "service:echo", NULL, NULL },
	{ "bob", "conf-42", true, "service:conf-*", NULL, NULL },
	/* ... as dialled: what only looks like a service once normalised,
	 * or has no room name, goes to the trunk and meets the rules */
	{ "eve", "conf-sales;x=1", false, "default-deny", "nothing", "conf-sales" },
	{ "eve", "conf-+19005551234", false, "default-deny", "nothing", NULL },
	{ "eve", "conf-", false, "default-deny", "nothing", NULL },
	{ "eve", "ech%6F", false, "default-deny", "nothing", "echo" },
	{ "eve", "conf-room.2_b", true, "service:conf-*", NULL, NULL },
	{ NULL, "echo2", true, "allow:[a-z]*", "default", NULL },
	{ "eve", "echo2", false, "default-deny", "nothing", NULL },
	/* malformed */
	{ NULL, "%2", false, "malformed-target", NULL, "" },
};

static void test_decisions(void **state)
{
	(void)state;
	sb_dialplan *dp = load(conf_text, NULL);
	assert_non_null(dp);
	assert_int_equal(sb_dialplan_add_service(dp, "echo", false), 0);
	assert_int_equal(sb_dialplan_add_service(dp, "conf-", true), 0);
	assert_int_equal(sb_dialplan_add_service(dp, "", true), 0);
	assert_null(sb_dialplan_validate(dp, NULL));
	for (size_t i = 0; i < G_N_ELEMENTS(decisions); i++) {
		const decide_case *c = &decisions[i];
		sb_dialplan_verdict v;
		bool a = sb_dialplan_decide(dp, c->caller, c->dialled, &v);
		if (a != c->allow || v.allow != a || strcmp(v.rule, c->rule) ||
		    g_strcmp0(v.rule_set, c->set) ||
		    (c->target && strcmp(v.target, c->target)))
			fail_msg("case %zu (%s -> %s): got %s by '%s' in %s, target '%s'",
				 i, c->caller ? c->caller : "-",
				 c->dialled ? c->dialled : "-", a ? "allow" : "deny",
				 v.rule, v.rule_set ? v.rule_set : "-", v.target);
	}
	sb_dialplan_free(dp);
}

static void test_builder(void **state)
{
	(void)state;
	sb_dialplan *dp = sb_dialplan_new();
	sb_dialplan_verdict v;
	/* No sets at all: everything but services is denied. */
	assert_false(sb_dialplan_decide(dp, NULL, "1000", &v));
	assert_string_equal(v.rule, "no-rule-set");
	assert_non_null(sb_dialplan_validate(dp, NULL));
	assert_int_equal(sb_dialplan_add_rule(dp, "default", "allow:*"), 0);
	assert_int_equal(sb_dialplan_add_rule(dp, "default", "permit:*"), -EINVAL);
	assert_int_equal(sb_dialplan_add_rule(dp, "default", "deny:"), -EINVAL);
	assert_int_equal(sb_dialplan_add_rule(dp, "bad name", "deny:*"), -EINVAL);
	assert_int_equal(sb_dialplan_map_user(dp, "zed", "ghost"), 0);
	const char *detail;
	assert_non_null(sb_dialplan_validate(dp, &detail));
	assert_string_equal(detail, "ghost");
	assert_int_equal(sb_dialplan_map_user(dp, "zed", "default"), 0);
	assert_null(sb_dialplan_validate(dp, NULL));
	assert_int_equal(sb_dialplan_map_user(dp, "a b", "default"), -EINVAL);
	assert_int_equal(sb_dialplan_set_international_prefix(dp, "0x"), -EINVAL);
	assert_int_equal(sb_dialplan_set_international_prefix(dp, "011"), 0);
	assert_true(sb_dialplan_decide(dp, "zed", "011 33 1", &v));
	assert_string_equal(v.target, "+331");
	assert_int_equal(sb_dialplan_add_service(dp, "bad name", false), -EINVAL);
	sb_dialplan_free(dp);
}

static void test_config_forms(void **state)
{
	(void)state;
	/* Group form of users; no dialplan group means no dial plan. */
	sb_dialplan *dp = load("dialplan: { default = [ \"deny:*\" ];\n"
			       " vip = [ \"allow:*\" ];\n"
			       " users = { alice = \"vip\"; }; };", NULL);
	sb_dialplan_verdict v;
	assert_true(sb_dialplan_decide(dp, "alice", "+19005550100", &v));
	assert_false(sb_dialplan_decide(dp, "bob", "1000", &v));
	sb_dialplan_free(dp);
	assert_null(load("x = 1;", NULL));
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct { const char *text, *msg; } bad[] = {
		{ "dialplan: {\n vip = [ \"allow:*\" ];\n};",
		  "dp.conf:1: 'dialplan' needs a 'default' rule set" },
		{ "dialplan: {\n default = [ \"allow:*\",\n \"allow: 1\" ];\n};",
		  "dp.conf:3: 'dialplan.default': bad rule \"allow: 1\"" },
		{ "dialplan: {\n default = [ \"allow:*\" ];\n users = [ \"bob=vip\" ];\n};",
		  "dp.conf:3: 'dialplan.users': unknown rule set 'vip'" },
		{ "dialplan: {\n default = [ \"allow:*\" ];\n users = [ \"bob\" ];\n};",
		  "dp.conf:3: 'dialplan.users': expected \"USER=SET\"" },
		{ "dialplan: {\n default = [ \"allow:*\" ];\n\n users = 3;\n};",
		  "dp.conf:4: 'dialplan.users' must be" },
		{ "dialplan: {\n default = [ \"allow:*\" ];\n prefix = \"00\";\n};",
		  "dp.conf:3: unknown key 'dialplan.prefix'" },
		{ "dialplan: {\n international_prefix = \"+\";\n default = [ ];\n};",
		  "dp.conf:2: 'dialplan.international_prefix' must be" },
		{ "dialplan: {\n default = [ 1, 2 ];\n};",
		  "dp.conf:2: 'dialplan.default': rules are strings" },
		{ "dialplan = 1;", "dp.conf:1: 'dialplan' must be a group" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *msg = NULL;
		assert_null(load(bad[i].text, &msg));
		assert_non_null(msg);
		if (!g_str_has_prefix(msg, bad[i].msg))
			fail_msg("case %zu: got '%s'", i, msg);
		g_free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_config_forms),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
