/* Dial plan: destination policy against toll fraud (see dialplan.h).
 * Built once, then read-only. */
#include "sip/dialplan.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define NAME_MAX_LEN 64
#define INTL_PREFIX_MAX 7
#define SETS_MAX 64
#define RULES_MAX 256

typedef struct rule_set {
	char *name;                /* owned */
	GPtrArray *rules;          /* owned strings: "allow:..." / "deny:..." */
} rule_set;

typedef struct service {
	char *name;                /* owned */
	char *label;               /* owned: "service:echo", "service:conf-*" */
	bool prefix;
} service;

struct sb_dialplan {
	char intl_prefix[INTL_PREFIX_MAX + 1];
	GPtrArray *sets;           /* owned rule_set * */
	GHashTable *users;         /* owned user -> owned set name */
	GPtrArray *services;       /* owned service * */
};

static void rule_set_free(gpointer p)
{
	rule_set *s = p;
	g_free(s->name);
	g_ptr_array_unref(s->rules);
	g_free(s);
}

static void service_free(gpointer p)
{
	service *s = p;
	g_free(s->name);
	g_free(s->label);
	g_free(s);
}

sb_dialplan *sb_dialplan_new(void)
{
	sb_dialplan *dp = g_new0(sb_dialplan, 1);
	strcpy(dp->intl_prefix, "00");
	dp->sets = g_ptr_array_new_with_free_func(rule_set_free);
	dp->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	dp->services = g_ptr_array_new_with_free_func(service_free);
	return dp;
}

void sb_dialplan_free(sb_dialplan *dp)
{
	if (!dp)
		return;
	g_ptr_array_unref(dp->sets);
	g_hash_table_unref(dp->users);
	g_ptr_array_unref(dp->services);
	g_free(dp);
}

static bool all_chars(const char *s, const char *extra, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!g_ascii_isalnum(s[n]) && !strchr(extra, s[n]))
			return false;
	return n >= 1 && n <= max;
}

int sb_dialplan_set_international_prefix(sb_dialplan *dp, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > INTL_PREFIX_MAX || strspn(prefix, "0123456789") != n)
		return -EINVAL;
	memcpy(dp->intl_prefix, prefix, n + 1);
	return 0;
}

/* Literal characters a pattern may hold (besides X, [..] and *). */
static bool literal_ok(char c)
{
	return g_ascii_isalnum(c) || (c && strchr("+#-_.!~'", c));
}

/* Length of a valid "[...]" class at p (p[0] == '['), or 0. */
static size_t class_len(const char *p)
{
	size_t i = 1;
	while (p[i] && p[i] != ']') {
		if (!literal_ok(p[i]) && p[i] != '*')
			return 0;
		i++;
	}
	return (p[i] == ']' && i > 1) ? i + 1 : 0;
}

bool sb_dialplan_pattern_valid(const char *pattern)
{
	size_t n = strlen(pattern);
	if (n == 0 || n > SB_DIALPLAN_PATTERN_MAX)
		return false;
	for (size_t i = 0; i < n;) {
		if (pattern[i] == '[') {
			size_t l = class_len(pattern + i);
			if (!l)
				return false;
			i += l;
		} else if (pattern[i] == '*' || literal_ok(pattern[i])) {
			i++;
		} else {
			return false;
		}
	}
	return true;
}

/* Does the one-character element at p match c? *len: its length in p.
 * p is valid, so every '[' has its ']'. */
static bool elem_match(const char *p, char c, size_t *len)
{
	if (*p == 'X') {
		*len = 1;
		return c >= '0' && c <= '9';
	}
	if (*p != '[') {
		*len = 1;
		return *p == c;
	}
	bool hit = false;
	const char *q = p + 1;
	while (*q != ']') {
		char lo = *q, hi = *q;
		if (q[1] == '-' && q[2] && q[2] != ']') {
			hi = q[2];
			q += 3;
		} else {
			q++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	*len = (size_t)(q - p) + 1;
	return hit;
}

/* Glob match with one remembered '*' position: linear in practice and
 * O(pattern * target) at worst, never exponential. */
bool sb_dialplan_pattern_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	while (*s) {
		size_t len;
		if (*p == '*') {
			star_p = ++p;
			star_s = s;
		} else if (*p && elem_match(p, *s, &len)) {
			p += len;
			s++;
		} else if (star_p) {
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool rule_valid(const char *rule)
{
	if (g_str_has_prefix(rule, "allow:"))
		return sb_dialplan_pattern_valid(rule + 6);
	if (g_str_has_prefix(rule, "deny:"))
		return sb_dialplan_pattern_valid(rule + 5);
	return false;
}

static rule_set *find_set(const sb_dialplan *dp, const char *name)
{
	for (unsigned i = 0; i < dp->sets->len; i++) {
		rule_set *s = g_ptr_array_index(dp->sets, i);
		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

/* The set called name, created if needed; NULL for a bad name or too
 * many sets. */
static rule_set *ensure_set(sb_dialplan *dp, const char *name)
{
	if (!all_chars(name, "-_*", NAME_MAX_LEN))
		return NULL;
	rule_set *s = find_set(dp, name);
	if (s || dp->sets->len >= SETS_MAX)
		return s;
	s = g_new0(rule_set, 1);
	s->name = g_strdup(name);
	s->rules = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(dp->sets, s);
	return s;
}

int sb_dialplan_add_rule(sb_dialplan *dp, const char *set, const char *rule)
{
	if (!rule_valid(rule))
		return -EINVAL;
	rule_set *s = ensure_set(dp, set);
	if (!s || s->rules->len >= RULES_MAX)
		return -EINVAL;
	g_ptr_array_add(s->rules, g_strdup(rule));
	return 0;
}

int sb_dialplan_map_user(sb_dialplan *dp, const char *user, const char *set)
{
	if (!all_chars(user, "-_.!~*'+", NAME_MAX_LEN) ||
	    !all_chars(set, "-_*", NAME_MAX_LEN))
		return -EINVAL;
	g_hash_table_replace(dp->users, g_strdup(user), g_strdup(set));
	return 0;
}

int sb_dialplan_add_service(sb_dialplan *dp, const char *name, bool prefix)
{
	if (!*name)
		return 0;
	if (!all_chars(name, "-_.!~*'+", NAME_MAX_LEN))
		return -EINVAL;
	service *s = g_new0(service, 1);
	s->name = g_strdup(name);
	s->label = g_strdup_printf("service:%s%s", name, prefix ? "*" : "");
	s->prefix = prefix;
	g_ptr_array_add(dp->services, s);
	return 0;
}

const char *sb_dialplan_validate(const sb_dialplan *dp, const char **detail)
{
	if (detail)
		*detail = NULL;
	if (!find_set(dp, SB_DIALPLAN_DEFAULT_SET))
		return "no 'default' rule set";
	GHashTableIter it;
	gpointer user, set;
	g_hash_table_iter_init(&it, dp->users);
	while (g_hash_table_iter_next(&it, &user, &set)) {
		if (!find_set(dp, set)) {
			if (detail)
				*detail = set;
			return "user mapped to an unknown rule set";
		}
	}
	return NULL;
}

/* Percent-decode and cut at the first ';' (user parameters). */
static int decode_user(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = in; *p && *p != ';'; p++) {
		char c = *p;
		if (c == '%') {
			int hi = g_ascii_xdigit_value(p[1]);
			int lo = hi < 0 ? -1 : g_ascii_xdigit_value(p[2]);
			if (lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			p += 2;
		}
		if (o + 1 >= n)
			return -ENOSPC;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static bool is_separator(char c)
{
	return c && strchr("-.() /", c);
}

/* Only digits, * #, separators, and '+' in front (after separators);
 * at least one digit. */
static bool phone_like(const char *s)
{
	bool digit = false, lead = true;
	for (const char *p = s; *p; p++) {
		if (g_ascii_isdigit(*p))
			digit = true;
		else if (*p == '+' && lead)
			;
		else if (!is_separator(*p) && *p != '*' && *p != '#')
			return false;
		if (!is_separator(*p))
			lead = false;
	}
	return digit;
}

static void strip_phone(char *s, const char *intl)
{
	char *o = s;
	for (const char *p = s; *p; p++)
		if (!is_separator(*p))
			*o++ = *p;
	*o = '\0';
	size_t il = strlen(intl);
	if (il && !strncmp(s, intl, il) && g_ascii_isdigit(s[il])) {
		s[0] = '+';
		memmove(s + 1, s + il, strlen(s + il) + 1);
	}
}

int sb_dialplan_normalise(const char *dialled, const char *intl_prefix,
			  char *out, size_t n)
{
	int r = decode_user(dialled ? dialled : "", out, n);
	if (r < 0) {
		out[0] = '\0';
		return r;
	}
	if (phone_like(out))
		strip_phone(out, intl_prefix);
	return 0;
}

bool sb_dialplan_room_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && !strchr("-_.", *s))
			return false;
	return true;
}

/* On the user part as dialled, not the normalised target: exactly what
 * the proxy answers itself (sb_uas_service_of). Anything else goes to
 * the trunk, so the rules must judge it: "conf-+1900...", or "ech%6F",
 * which only decodes to the echo service's name. */
static const service *find_service(const sb_dialplan *dp, const char *dialled)
{
	for (unsigned i = 0; i < dp->services->len; i++) {
		const service *s = g_ptr_array_index(dp->services, i);
		if (s->prefix ? g_str_has_prefix(dialled, s->name) &&
				sb_dialplan_room_name_ok(dialled + strlen(s->name))
			      : !strcmp(dialled, s->name))
			return s;
	}
	return NULL;
}

static const rule_set *set_for(const sb_dialplan *dp, const char *caller)
{
	const char *name = caller && *caller
		? g_hash_table_lookup(dp->users, caller) : NULL;
	return find_set(dp, name ? name : SB_DIALPLAN_DEFAULT_SET);
}

static bool verdict(sb_dialplan_verdict *v, bool allow, const char *rule)
{
	v->allow = allow;
	v->rule = rule;
	return allow;
}

bool sb_dialplan_decide(const sb_dialplan *dp, const char *caller,
			const char *dialled, sb_dialplan_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (sb_dialplan_normalise(dialled, dp->intl_prefix, v->target,
				  sizeof(v->target)) < 0) {
		v->target[0] = '\0';
		return verdict(v, false, "malformed-target");
	}
	const service *svc = find_service(dp, dialled ? dialled : "");
	if (svc)
		return verdict(v, true, svc->label);
	const rule_set *set = set_for(dp, caller);
	if (!set)
		return verdict(v, false, "no-rule-set");
	v->rule_set = set->name;
	for (unsigned i = 0; i < set->rules->len; i++) {
		const char *rule = g_ptr_array_index(set->rules, i);
		bool allow = rule[0] == 'a';
		if (sb_dialplan_pattern_match(strchr(rule, ':') + 1, v->target))
			return verdict(v, allow, rule);
	}
	return verdict(v, false, "default-deny");
}

/* ---- configuration (libconfig) ---- */

static int cfg_fail(GError **err, const char *file, const config_setting_t *s,
		    const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static int cfg_fail(GError **err, const char *file, const config_setting_t *s,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s", file,
		    s ? (int)config_setting_source_line(s) : 0, msg);
	return -EINVAL;
}

static bool is_list(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
}

static int cfg_rule_set(sb_dialplan *dp, const config_setting_t *s,
			const char *file, GError **err)
{
	const char *name = config_setting_name(s);
	if (find_set(dp, name))
		return cfg_fail(err, file, s, "'dialplan.%s' defined twice", name);
	if (!ensure_set(dp, name)) /* an empty list is a set that denies all */
		return cfg_fail(err, file, s, "bad rule set name '%s' or more than "
				"%d sets", name, SETS_MAX);
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *r = config_setting_get_string(e);
		if (!r)
			return cfg_fail(err, file, e, "'dialplan.%s': rules are strings",
					name);
		if (sb_dialplan_add_rule(dp, name, r) < 0)
			return cfg_fail(err, file, e,
					"'dialplan.%s': bad rule \"%s\" (expected "
					"\"allow:PATTERN\" or \"deny:PATTERN\"; PATTERN of "
					"digits, + # letters - _ . ! ~ ', X, [..], *; "
					"at most %d rules)", name, r, RULES_MAX);
	}
	return 0;
}

/* One "USER=SET" string, or USER = "SET" in a group. */
static int cfg_user(sb_dialplan *dp, const config_setting_t *e,
		    const char *file, GError **err)
{
	const char *v = config_setting_get_string(e);
	g_autofree char *user = NULL;
	const char *set = v;
	if (!v)
		return cfg_fail(err, file, e, "'dialplan.users': expected strings");
	if (config_setting_name(e)) {
		user = g_strdup(config_setting_name(e));
	} else {
		const char *eq = strchr(v, '=');
		user = eq ? g_strndup(v, (size_t)(eq - v)) : NULL;
		set = eq ? eq + 1 : NULL;
	}
	if (!user || sb_dialplan_map_user(dp, user, set) < 0)
		return cfg_fail(err, file, e,
				"'dialplan.users': expected \"USER=SET\" (USER a "
				"SIP user part, SET a rule set name)");
	if (!find_set(dp, set))
		return cfg_fail(err, file, e, "'dialplan.users': unknown rule set '%s'",
				set);
	return 0;
}

static int cfg_users(sb_dialplan *dp, const config_setting_t *s,
		     const char *file, GError **err)
{
	if (!is_list(s) && config_setting_type(s) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, file, s, "'dialplan.users' must be a list of "
				"\"USER=SET\" or a group { USER = \"SET\"; }");
	for (int i = 0; i < config_setting_length(s); i++) {
		int r = cfg_user(dp, config_setting_get_elem(s, i), file, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cfg_member(sb_dialplan *dp, const config_setting_t *s,
		      const char *file, GError **err)
{
	const char *name = config_setting_name(s);
	if (!strcmp(name, "users"))
		return 0; /* second pass: sets may come after it */
	if (!strcmp(name, "international_prefix")) {
		const char *v = config_setting_get_string(s);
		if (!v || sb_dialplan_set_international_prefix(dp, v) < 0)
			return cfg_fail(err, file, s, "'dialplan.international_prefix' "
					"must be \"\" or up to 7 digits");
		return 0;
	}
	if (is_list(s))
		return cfg_rule_set(dp, s, file, err);
	return cfg_fail(err, file, s, "unknown key 'dialplan.%s' (rule sets are "
			"lists of strings)", name);
}

int sb_dialplan_from_setting(const config_setting_t *grp, const char *file,
			     sb_dialplan **out, GError **err)
{
	*out = NULL;
	if (!grp)
		return 0;
	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, file, grp, "'dialplan' must be a group { ... }");
	sb_dialplan *dp = sb_dialplan_new();
	int r = 0;
	for (int i = 0; r == 0 && i < config_setting_length(grp); i++)
		r = cfg_member(dp, config_setting_get_elem(grp, i), file, err);
	const config_setting_t *users = config_setting_get_member(grp, "users");
	if (r == 0 && users)
		r = cfg_users(dp, users, file, err);
	if (r == 0 && !find_set(dp, SB_DIALPLAN_DEFAULT_SET))
		r = cfg_fail(err, file, grp, "'dialplan' needs a 'default' rule set");
	if (r < 0) {
		sb_dialplan_free(dp);
		return r;
	}
	*out = dp;
	return 0;
}
