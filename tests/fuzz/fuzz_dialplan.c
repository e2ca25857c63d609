/* libFuzzer target for sip/dialplan.c. Input: a libconfig text whose
 * first line is "# TARGET CALLER" (read when the config parses, else the
 * whole input is taken as rule lines "SET RULE" and the first line as the
 * target). Checks: no crash or leak; a verdict by a rule names a rule of
 * the caller's set whose pattern matches the target; normalising twice
 * changes nothing when no '%' is left. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <libconfig.h>

#include "sip/dialplan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig's scanner leaks its string buffer when a syntax error
 * follows a string ("a = \"x\", ..."): found by this target, inside
 * libconfig (strbuf_append), not ours. Only the daemon's one parse at
 * load time is affected. Each such leak costs LSan a full scan (about
 * 600 execs/s instead of 25,000): add -detect_leaks=0 for long runs. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static sb_dialplan *from_config(const char *text)
{
	config_t cf;
	sb_dialplan *dp = NULL;
	config_init(&cf);
	if (config_read_string(&cf, text)) {
		GError *err = NULL;
		int r = sb_dialplan_from_setting(config_lookup(&cf, "dialplan"),
						 "f", &dp, &err);
		if ((r < 0) != (err != NULL) || (r < 0 && dp))
			__builtin_trap();
		g_clear_error(&err);
	}
	config_destroy(&cf);
	return dp;
}

static sb_dialplan *from_lines(char **lines)
{
	sb_dialplan *dp = sb_dialplan_new();
	for (size_t i = 1; lines[0] && lines[i]; i++) {
		char *sp = strchr(lines[i], ' ');
		if (sp) {
			*sp = '\0';
			sb_dialplan_add_rule(dp, lines[i], sp + 1);
		}
	}
	return dp;
}

static void check(const sb_dialplan *dp, const char *caller, const char *target)
{
	sb_dialplan_verdict v;
	bool allow = sb_dialplan_decide(dp, caller, target, &v);
	if (allow != v.allow || !v.rule)
		__builtin_trap();
	if (v.rule_set && strchr(v.rule, ':') && strncmp(v.rule, "service:", 8)) {
		const char *pat = strchr(v.rule, ':') + 1;
		if (!sb_dialplan_pattern_match(pat, v.target) ||
		    allow != (v.rule[0] == 'a'))
			__builtin_trap();
	}
	char again[SB_DIALPLAN_TARGET_MAX];
	if (v.target[0] && !strchr(v.target, '%') && !strchr(v.target, ';') &&
	    (sb_dialplan_normalise(v.target, "", again, sizeof(again)) < 0 ||
	     strcmp(again, v.target)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *text = g_strndup((const char *)data, size);
	char **lines = g_strsplit(text, "\n", -1);
	const char *target = lines[0] ? lines[0] : "";
	const char *caller = NULL;
	char **head = NULL;
	sb_dialplan *dp = NULL;
	if (g_str_has_prefix(target, "# ")) {
		head = g_strsplit(target + 2, " ", 3);
		target = head[0] ? head[0] : "";
		caller = head[0] && head[1] ? head[1] : NULL;
		dp = from_config(text);
	}
	if (!dp)
		dp = from_lines(lines);
	sb_dialplan_add_service(dp, "echo", false);
	sb_dialplan_add_service(dp, "conf-", true);
	check(dp, caller, target);
	sb_dialplan_free(dp);
	g_strfreev(head);
	g_strfreev(lines);
	g_free(text);
	return 0;
}
