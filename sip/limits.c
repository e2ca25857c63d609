/* Rate and concurrency limits (see limits.h). Signalling thread. */
#include "sip/limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define MICRO 1000000LL
#define IP_KEY_MAX 64

struct sb_limits {
	sb_limits_config cfg;
	GHashTable *ws_per_ip;     /* owned ip key -> count (GUINT_TO_POINTER) */
	GHashTable *calls;         /* owned user -> count (GUINT_TO_POINTER) */
	unsigned calls_total;
};

const char *sb_limit_name(sb_limit l)
{
	switch (l) {
	case SB_LIMIT_NONE: return "none";
	case SB_LIMIT_WS_PER_IP: return "ws-per-ip";
	case SB_LIMIT_MSG_RATE: return "msg-rate";
	case SB_LIMIT_CALLS_USER: return "calls-per-user";
	case SB_LIMIT_CALLS_IP: return "calls-per-ip";
	case SB_LIMIT_CALLS_TOTAL: return "calls-total";
	}
	return "unknown";
}

void sb_limits_config_defaults(sb_limits_config *c)
{
	*c = (sb_limits_config){
		.ws_per_ip = 200,
		.ws_first_message_ms = 120000,
		.msg_rate = 20,
		.msg_burst = 50,
		.calls_per_user = 4,
		.calls_per_ip = 200,
		.calls_total = 500,
		.sip_max_size = 65536,
		.sdp_max_size = 32768,
		.sdp_max_mlines = 8,
	};
}

sb_limits *sb_limits_new(const sb_limits_config *c)
{
	sb_limits *l = g_new0(sb_limits, 1);
	l->cfg = *c;
	l->ws_per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	l->calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return l;
}

void sb_limits_free(sb_limits *l)
{
	if (!l)
		return;
	g_hash_table_unref(l->ws_per_ip);
	g_hash_table_unref(l->calls);
	g_free(l);
}

void sb_limits_set_config(sb_limits *l, const sb_limits_config *c)
{
	l->cfg = *c;
}

const sb_limits_config *sb_limits_config_of(const sb_limits *l)
{
	return &l->cfg;
}

/* The counting key of a client address: IPv4 as is, IPv4-mapped IPv6 as
 * IPv4, other IPv6 as its /64. Unparsable text is its own key. */
static void ip_key(const char *ip, char out[IP_KEY_MAX])
{
	char buf[IP_KEY_MAX];
	size_t n = strlen(ip);
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, ip + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		g_strlcpy(buf, ip, sizeof(buf));
	}
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, IP_KEY_MAX);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, out, IP_KEY_MAX);
			return;
		}
		memset(&a6.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a6, out, IP_KEY_MAX - 4);
		strcat(out, "/64");
	} else {
		g_strlcpy(out, buf, IP_KEY_MAX);
	}
}

static unsigned count_of(GHashTable *t, const char *key)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(t, key));
}

/* Add delta (+1/-1) to key's count; entries at zero are removed so the
 * tables hold only what is open. */
static void count_add(GHashTable *t, const char *key, int delta)
{
	unsigned n = count_of(t, key);
	if (delta < 0 && n <= 1)
		g_hash_table_remove(t, key);
	else
		g_hash_table_replace(t, g_strdup(key),
				     GUINT_TO_POINTER(n + (unsigned)delta));
}

sb_limit sb_limits_ws_open(sb_limits *l, const char *ip)
{
	char key[IP_KEY_MAX];
	ip_key(ip ? ip : "", key);
	if (l->cfg.ws_per_ip && count_of(l->ws_per_ip, key) >= l->cfg.ws_per_ip)
		return SB_LIMIT_WS_PER_IP;
	count_add(l->ws_per_ip, key, +1);
	return SB_LIMIT_NONE;
}

void sb_limits_ws_close(sb_limits *l, const char *ip)
{
	char key[IP_KEY_MAX];
	ip_key(ip ? ip : "", key);
	if (count_of(l->ws_per_ip, key))
		count_add(l->ws_per_ip, key, -1);
}

unsigned sb_limits_ws_count(const sb_limits *l, const char *ip)
{
	char key[IP_KEY_MAX];
	ip_key(ip ? ip : "", key);
	return count_of(l->ws_per_ip, key);
}

int64_t sb_limits_first_message_deadline(const sb_limits *l, int64_t opened_us)
{
	if (!l->cfg.ws_first_message_ms)
		return INT64_MAX;
	return opened_us + (int64_t)l->cfg.ws_first_message_ms * 1000;
}

static int64_t bucket_size(const sb_limits *l)
{
	return (int64_t)MAX(l->cfg.msg_burst, 1u) * MICRO;
}

void sb_rate_init(sb_rate *r, const sb_limits *l, int64_t now_us)
{
	r->credit = bucket_size(l);
	r->last_us = now_us;
}

sb_limit sb_rate_take(sb_rate *r, const sb_limits *l, int64_t now_us)
{
	if (!l->cfg.msg_rate)
		return SB_LIMIT_NONE;
	int64_t elapsed = now_us - r->last_us;
	/* A bucket refills completely in at most burst/rate <= 1000 s, so
	 * capping the interval there changes nothing and avoids overflow. */
	elapsed = CLAMP(elapsed, 0, 1000 * MICRO);
	r->last_us = MAX(r->last_us, now_us); /* a step back earns nothing */
	r->credit = MIN(r->credit + elapsed * (int64_t)l->cfg.msg_rate,
			bucket_size(l));
	if (r->credit < MICRO)
		return SB_LIMIT_MSG_RATE;
	r->credit -= MICRO;
	return SB_LIMIT_NONE;
}

/* A token user counts by name; "ip:ADDRESS" (anonymous) counts by the
 * same address key as ws_per_ip, so one IPv6 host is one /64. */
static const char *user_key(const char *user, char buf[IP_KEY_MAX + 3])
{
	if (!user || !*user)
		return NULL;
	if (!g_str_has_prefix(user, "ip:"))
		return user;
	memcpy(buf, "ip:", 3);
	ip_key(user + 3, buf + 3);
	return buf;
}

sb_limit sb_limits_call_acquire(sb_limits *l, const char *user)
{
	char kb[IP_KEY_MAX + 3];
	const char *key = user_key(user, kb);
	if (l->cfg.calls_total && l->calls_total >= l->cfg.calls_total)
		return SB_LIMIT_CALLS_TOTAL;
	bool anonymous = key && g_str_has_prefix(key, "ip:");
	unsigned bound = anonymous ? l->cfg.calls_per_ip : l->cfg.calls_per_user;
	if (key && bound && count_of(l->calls, key) >= bound)
		return anonymous ? SB_LIMIT_CALLS_IP : SB_LIMIT_CALLS_USER;
	if (key)
		count_add(l->calls, key, +1);
	l->calls_total++;
	return SB_LIMIT_NONE;
}

bool sb_limits_call_release(sb_limits *l, const char *user)
{
	char kb[IP_KEY_MAX + 3];
	const char *key = user_key(user, kb);
	if (l->calls_total == 0 || (key && !count_of(l->calls, key)))
		return false;
	if (key)
		count_add(l->calls, key, -1);
	l->calls_total--;
	return true;
}

unsigned sb_limits_calls_of(const sb_limits *l, const char *user)
{
	char kb[IP_KEY_MAX + 3];
	const char *key = user_key(user, kb);
	return key ? count_of(l->calls, key) : 0;
}

unsigned sb_limits_calls_total(const sb_limits *l)
{
	return l->calls_total;
}

bool sb_limits_check_sip(const sb_limits_config *c, size_t len,
			 const char **reason)
{
	if (c->sip_max_size && len > c->sip_max_size) {
		*reason = "sip-too-large";
		return false;
	}
	return true;
}

static unsigned count_mlines(const char *sdp, size_t len)
{
	unsigned n = 0;
	for (size_t i = 0; i + 1 < len; i++)
		if ((i == 0 || sdp[i - 1] == '\n') && sdp[i] == 'm' &&
		    sdp[i + 1] == '=')
			n++;
	return n;
}

bool sb_limits_check_sdp(const sb_limits_config *c, const char *sdp,
			 size_t len, const char **reason)
{
	if (c->sdp_max_size && len > c->sdp_max_size) {
		*reason = "sdp-too-large";
		return false;
	}
	if (c->sdp_max_mlines && count_mlines(sdp, len) > c->sdp_max_mlines) {
		*reason = "sdp-too-many-media";
		return false;
	}
	return true;
}

/* ---- configuration (libconfig) ---- */

typedef struct limit_key {
	const char *name;
	size_t offset;             /* of an unsigned in sb_limits_config */
	unsigned min, max;
} limit_key;

#define KEY(f, lo, hi) { #f, offsetof(sb_limits_config, f), lo, hi }

static const limit_key limit_keys[] = {
	KEY(ws_per_ip, 0, 100000),
	KEY(ws_first_message_ms, 0, 600000),
	KEY(msg_rate, 0, 100000),
	KEY(msg_burst, 1, 100000),
	KEY(calls_per_user, 0, 100000),
	KEY(calls_per_ip, 0, 100000),
	KEY(calls_total, 0, 1000000),
	KEY(sdp_max_mlines, 1, 64),
};

static int lim_fail(GError **err, const char *file, const config_setting_t *s,
		    const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static int lim_fail(GError **err, const char *file, const config_setting_t *s,
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

static bool get_int(const config_setting_t *s, long long *v)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return false;
	*v = config_setting_get_int64(s);
	return true;
}

static int set_member(const config_setting_t *s, const char *file,
		      sb_limits_config *c, GError **err)
{
	const char *name = config_setting_name(s);
	long long v;
	if (!strcmp(name, "sdp_max_size")) {
		if (!get_int(s, &v) || v < 1024 || v > 1048576)
			return lim_fail(err, file, s, "'limits.sdp_max_size' must be "
					"1024..1048576");
		c->sdp_max_size = (size_t)v;
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(limit_keys); i++) {
		const limit_key *k = &limit_keys[i];
		if (strcmp(name, k->name))
			continue;
		if (!get_int(s, &v) || v < k->min || v > k->max)
			return lim_fail(err, file, s, "'limits.%s' must be %u..%u",
					name, k->min, k->max);
		*(unsigned *)((char *)c + k->offset) = (unsigned)v;
		return 0;
	}
	return lim_fail(err, file, s, "unknown key 'limits.%s'", name);
}

int sb_limits_from_setting(const config_setting_t *grp, const char *file,
			   sb_limits_config *c, GError **err)
{
	sb_limits_config_defaults(c);
	if (!grp)
		return 0;
	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return lim_fail(err, file, grp, "'limits' must be a group { ... }");
	for (int i = 0; i < config_setting_length(grp); i++) {
		int r = set_member(config_setting_get_elem(grp, i), file, c, err);
		if (r < 0)
			return r;
	}
	return 0;
}
