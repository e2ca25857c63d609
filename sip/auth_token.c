/* TURN-REST-style WebSocket tokens (see auth_token.h). Pure; any thread. */
#include "sip/auth_token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAC_LEN 32                 /* SHA-256 */
#define MAC_B64_LEN 44             /* with one '=' of padding */
#define USER_PART_MAX (20 + 1 + SB_AUTH_USER_MAX)
#define QUERY_MAX 4096             /* longer queries are MALFORMED */
#define SECRETS_MAX 16

struct sb_auth_keys {
	char **secrets;                /* owned, wiped on free */
	size_t *lens;
	unsigned n;
	int64_t max_lifetime;
};

int sb_auth_keys_new(const char *const *secrets, unsigned n,
		     unsigned max_lifetime_s, sb_auth_keys **out)
{
	*out = NULL;
	if (n == 0 || n > SECRETS_MAX || max_lifetime_s == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!secrets[i] || strlen(secrets[i]) < SB_AUTH_SECRET_MIN)
			return -EINVAL;
	sb_auth_keys *k = g_new0(sb_auth_keys, 1);
	k->secrets = g_new0(char *, n);
	k->lens = g_new0(size_t, n);
	k->n = n;
	k->max_lifetime = max_lifetime_s;
	for (unsigned i = 0; i < n; i++) {
		k->secrets[i] = g_strdup(secrets[i]);
		k->lens[i] = strlen(secrets[i]);
	}
	*out = k;
	return 0;
}

void sb_auth_keys_free(sb_auth_keys *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++) {
		OPENSSL_cleanse(k->secrets[i], k->lens[i]);
		g_free(k->secrets[i]);
	}
	g_free(k->secrets);
	g_free(k->lens);
	g_free(k);
}

bool sb_auth_user_valid(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++, n++)
		if (!g_ascii_isalnum(*p) && !strchr("-_.!~*'+", *p))
			return false;
	return n >= 1 && n <= SB_AUTH_USER_MAX;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	/* Standard and URL-safe alphabets; ' ' is a form-decoded '+'. */
	if (c == '+' || c == '-' || c == ' ') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

/* Strict decode of exactly one 32-byte MAC: 43 symbols, then an optional
 * '='. The last symbol's two unused bits must be zero, so that a MAC has
 * one spelling per alphabet. */
static bool b64_decode_mac(const char *s, unsigned char out[MAC_LEN])
{
	size_t len = strlen(s);
	if (len == MAC_B64_LEN && s[MAC_B64_LEN - 1] == '=')
		len--;
	if (len != MAC_B64_LEN - 1)
		return false;
	uint32_t acc = 0;
	unsigned bits = 0, o = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o == MAC_LEN && (acc & ((1u << bits) - 1)) == 0;
}

static bool mac(const char *secret, size_t slen, const char *msg,
		unsigned char out[MAC_LEN])
{
	unsigned int olen = 0;
	return HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)msg,
		    strlen(msg), out, &olen) && olen == MAC_LEN;
}

/* "EXPIRY:USER": EXPIRY is 1..19 decimal digits, no sign. */
static bool split_user_part(const char *up, int64_t *expiry, char *user)
{
	const char *colon = strchr(up, ':');
	if (!colon || colon == up || colon - up > 19)
		return false;
	int64_t e = 0;
	for (const char *p = up; p < colon; p++) {
		if (*p < '0' || *p > '9' || e > (INT64_MAX - 9) / 10)
			return false;
		e = e * 10 + (*p - '0');
	}
	if (!sb_auth_user_valid(colon + 1))
		return false;
	*expiry = e;
	g_strlcpy(user, colon + 1, SB_AUTH_USER_MAX + 1);
	return true;
}

/* Index of the secret whose MAC equals want, or -1. Every secret is
 * tried, so the time taken does not tell which one matched. */
static int find_secret(const sb_auth_keys *k, const char *up,
		       const unsigned char want[MAC_LEN])
{
	int found = -1;
	for (unsigned i = 0; i < k->n; i++) {
		unsigned char got[MAC_LEN];
		if (mac(k->secrets[i], k->lens[i], up, got) &&
		    CRYPTO_memcmp(got, want, MAC_LEN) == 0 && found < 0)
			found = (int)i;
		OPENSSL_cleanse(got, sizeof(got));
	}
	return found;
}

sb_auth_token_result sb_auth_token_verify(const sb_auth_keys *k,
					  const char *user_part,
					  const char *token, int64_t now,
					  sb_auth_identity *id)
{
	sb_auth_identity tmp;
	if (!id)
		id = &tmp;
	memset(id, 0, sizeof(*id));
	if (!user_part || !*user_part || !token || !*token)
		return SB_AUTH_TOKEN_MISSING;
	unsigned char want[MAC_LEN];
	int64_t expiry;
	char user[SB_AUTH_USER_MAX + 1];
	char up[USER_PART_MAX + 1];
	if (g_strlcpy(up, user_part, sizeof(up)) >= sizeof(up))
		return SB_AUTH_TOKEN_MALFORMED;
	g_strdelimit(up, " ", '+'); /* a form-decoded '+' (never a valid space) */
	if (!split_user_part(up, &expiry, user) || !b64_decode_mac(token, want))
		return SB_AUTH_TOKEN_MALFORMED;
	int idx = find_secret(k, up, want);
	if (idx < 0)
		return SB_AUTH_TOKEN_FORGED;
	if (expiry < now || expiry - now > k->max_lifetime)
		return SB_AUTH_TOKEN_EXPIRED;
	g_strlcpy(id->user, user, sizeof(id->user));
	id->expiry = expiry;
	id->key_index = (unsigned)idx;
	return SB_AUTH_TOKEN_OK;
}

/* Percent-decode [s, s+n) into a new string; NULL on a bad escape or an
 * encoded NUL. '+' stays '+' (see the header). */
static char *pct_decode(const char *s, size_t n)
{
	char *out = g_malloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n) {
			g_free(out);
			return NULL;
		}
		int hi = g_ascii_xdigit_value(s[i + 1]);
		int lo = g_ascii_xdigit_value(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			g_free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Find "name=value" among '&'-separated parameters. 1 found (value in
 * *out, owned), 0 absent, -1 repeated or undecodable. */
static int query_param(const char *q, const char *name, char **out)
{
	size_t nlen = strlen(name);
	int found = 0;
	*out = NULL;
	for (const char *p = q; *p;) {
		const char *end = strchrnul(p, '&');
		if ((size_t)(end - p) > nlen && !strncmp(p, name, nlen) &&
		    p[nlen] == '=') {
			if (found++) {
				g_free(*out);
				*out = NULL;
				return -1;
			}
			*out = pct_decode(p + nlen + 1, (size_t)(end - p) - nlen - 1);
			if (!*out)
				return -1;
		}
		p = *end ? end + 1 : end;
	}
	return found;
}

sb_auth_token_result sb_auth_token_check_query(const sb_auth_keys *k,
					       const char *query, int64_t now,
					       sb_auth_identity *id)
{
	if (id)
		memset(id, 0, sizeof(*id));
	if (!query || !*query)
		return SB_AUTH_TOKEN_MISSING;
	if (strlen(query) > QUERY_MAX)
		return SB_AUTH_TOKEN_MALFORMED;
	g_autofree char *user_part = NULL;
	g_autofree char *token = NULL;
	int ru = query_param(query, "user", &user_part);
	int rt = query_param(query, "token", &token);
	if (ru < 0 || rt < 0)
		return SB_AUTH_TOKEN_MALFORMED;
	return sb_auth_token_verify(k, user_part, token, now, id);
}

int sb_auth_token_make(const char *secret, const char *user, int64_t expiry,
		       char **user_part, char **token)
{
	*user_part = *token = NULL;
	if (!secret || !*secret || !user || !sb_auth_user_valid(user) ||
	    expiry < 0)
		return -EINVAL;
	char *up = g_strdup_printf("%" G_GINT64_FORMAT ":%s", expiry, user);
	unsigned char m[MAC_LEN];
	if (!mac(secret, strlen(secret), up, m)) {
		g_free(up);
		return -EINVAL;
	}
	*user_part = up;
	*token = g_base64_encode(m, sizeof(m));
	return 0;
}

const char *sb_auth_token_result_str(sb_auth_token_result r)
{
	switch (r) {
	case SB_AUTH_TOKEN_OK: return "ok";
	case SB_AUTH_TOKEN_MISSING: return "token-missing";
	case SB_AUTH_TOKEN_MALFORMED: return "token-malformed";
	case SB_AUTH_TOKEN_EXPIRED: return "token-expired";
	case SB_AUTH_TOKEN_FORGED: return "token-forged";
	}
	return "token-invalid";
}

/* ---- Origin allow-list ---- */

#define ORIGIN_MAX 256

static bool host_chars_ok(const char *h, size_t n, bool bracket)
{
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (bracket ? !(g_ascii_isxdigit(c) || c == ':' || c == '.')
			    : !(g_ascii_isalnum(c) || c == '-' || c == '.' ||
				(c == '*' && i == 0 && h[1] == '.')))
			return false;
	}
	return n > 0;
}

static const char *default_port(const char *scheme, size_t n)
{
	if ((n == 5 && !g_ascii_strncasecmp(scheme, "https", 5)) ||
	    (n == 3 && !g_ascii_strncasecmp(scheme, "wss", 3)))
		return "443";
	if ((n == 4 && !g_ascii_strncasecmp(scheme, "http", 4)) ||
	    (n == 2 && !g_ascii_strncasecmp(scheme, "ws", 2)))
		return "80";
	return NULL;
}

/* "scheme://host[:port]" -> lower-case "scheme://host:port", the
 * scheme's default port made explicit. false when not of that shape. */
static bool origin_norm(const char *o, char *out, size_t n)
{
	const char *sep = strstr(o, "://");
	if (!sep || sep == o || strlen(o) >= ORIGIN_MAX)
		return false;
	size_t sl = (size_t)(sep - o);
	for (size_t i = 0; i < sl; i++)
		if (!g_ascii_isalnum(o[i]) && !strchr("+-.", o[i]))
			return false;
	const char *host = sep + 3, *port;
	size_t hl;
	bool v6 = host[0] == '[';
	if (v6) {
		const char *rb = strchr(host, ']');
		if (!rb || (rb[1] && rb[1] != ':'))
			return false;
		hl = (size_t)(rb + 1 - host);
		port = rb[1] ? rb + 2 : NULL;
		if (!host_chars_ok(host + 1, hl - 2, true))
			return false;
	} else {
		const char *c = strchr(host, ':');
		hl = c ? (size_t)(c - host) : strlen(host);
		port = c ? c + 1 : NULL;
		if (!host_chars_ok(host, hl, false))
			return false;
	}
	if (port) {
		size_t pl = strlen(port);
		if (pl < 1 || pl > 5 || strspn(port, "0123456789") != pl ||
		    atoi(port) < 1 || atoi(port) > 65535)
			return false;
	} else {
		port = default_port(o, sl);
	}
	g_snprintf(out, n, "%.*s://%.*s%s%s", (int)sl, o, (int)hl, host,
		   port ? ":" : "", port ? port : "");
	for (char *p = out; *p; p++)
		*p = g_ascii_tolower(*p);
	return true;
}

bool sb_auth_origin_pattern_valid(const char *s)
{
	char norm[ORIGIN_MAX + 8];
	return !strcmp(s, "*") || origin_norm(s, norm, sizeof(norm));
}

/* origin (normalised) under pattern (normalised, host "*.domain"). */
static bool wildcard_match(const char *pat, const char *origin)
{
	const char *star = strstr(pat, "://*.");
	if (!star)
		return false;
	size_t scheme = (size_t)(star - pat) + 3;     /* "https://" */
	const char *suffix = star + 4;                 /* ".domain:port" */
	size_t ol = strlen(origin), sl = strlen(suffix);
	return strncmp(pat, origin, scheme) == 0 && ol > scheme + sl &&
	       strcmp(origin + ol - sl, suffix) == 0 &&
	       !strchr(origin + scheme, '[');
}

bool sb_auth_origin_allowed(const char *const *allowed, const char *origin)
{
	if (!allowed || !allowed[0] || !origin)
		return true;
	char norm[ORIGIN_MAX + 8];
	bool ok = origin_norm(origin, norm, sizeof(norm)) && !strchr(norm, '*');
	for (size_t i = 0; allowed[i]; i++) {
		if (!strcmp(allowed[i], "*"))
			return true;
		if (ok && (!strcmp(allowed[i], norm) ||
			   wildcard_match(allowed[i], norm)))
			return true;
	}
	return false;
}

/* ---- configuration (libconfig) ---- */

static int fail(GError **err, const char *file, const config_setting_t *s,
		const char *msg)
{
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s", file,
		    s ? (int)config_setting_source_line(s) : 0, msg);
	return -EINVAL;
}

/* Strings from a string or a list of strings; returns the count or -1
 * (*bad: the offending setting). */
static int collect_strings(const config_setting_t *s, const char **v,
			   int max, const config_setting_t **bad)
{
	int t = config_setting_type(s);
	*bad = s;
	if (t == CONFIG_TYPE_STRING) {
		v[0] = config_setting_get_string(s);
		return *v[0] ? 1 : 0;
	}
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return -1;
	int n = config_setting_length(s);
	if (n > max)
		return -1;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			*bad = e;
			return -1;
		}
		v[i] = config_setting_get_string(e);
	}
	return n;
}

#define ORIGINS_MAX 64

static int cfg_origins(const config_setting_t *s, const char *file,
		       sb_auth_config *out, GError **err)
{
	const char *v[ORIGINS_MAX];
	const config_setting_t *bad;
	int n = collect_strings(s, v, ORIGINS_MAX, &bad);
	if (n < 0)
		return fail(err, file, bad, "'auth.allowed_origins' must be a list "
			    "of at most 64 strings");
	g_strfreev(out->allowed_origins);
	out->allowed_origins = n ? g_new0(char *, (size_t)n + 1) : NULL;
	for (int i = 0; i < n; i++) {
		char norm[ORIGIN_MAX + 8];
		if (strcmp(v[i], "*") && !origin_norm(v[i], norm, sizeof(norm)))
			return fail(err, file, config_setting_get_elem(s, i) ?
				    config_setting_get_elem(s, i) : s,
				    "'auth.allowed_origins': expected \"*\" or "
				    "\"SCHEME://HOST[:PORT]\" (HOST may start with "
				    "\"*.\"), no path");
		out->allowed_origins[i] = g_strdup(strcmp(v[i], "*") ? norm : "*");
	}
	return 0;
}

static int cfg_lifetime(const config_setting_t *s, const char *file,
			long long *life, GError **err)
{
	int t = config_setting_type(s);
	*life = config_setting_get_int64(s);
	if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || *life < 60 ||
	    *life > 31536000)
		return fail(err, file, s, "'auth.token_max_lifetime' must be "
			    "60..31536000 seconds");
	return 0;
}

static int cfg_member(const config_setting_t *s, const char *file,
		      sb_auth_config *out, const config_setting_t **secrets,
		      long long *life, GError **err)
{
	const char *name = config_setting_name(s);
	if (!strcmp(name, "token_secrets")) {
		*secrets = s;
		return 0;
	}
	if (!strcmp(name, "token_max_lifetime"))
		return cfg_lifetime(s, file, life, err);
	if (!strcmp(name, "allowed_origins"))
		return cfg_origins(s, file, out, err);
	g_autofree char *m = g_strdup_printf("unknown key 'auth.%s'", name);
	return fail(err, file, s, m);
}

static int cfg_secrets(const config_setting_t *s, const char *file,
		       long long life, sb_auth_config *out, GError **err)
{
	const char *v[SECRETS_MAX];
	const config_setting_t *bad;
	int n = collect_strings(s, v, SECRETS_MAX, &bad);
	if (n < 0)
		return fail(err, file, bad, "'auth.token_secrets' must be a string "
			    "or a list of at most 16 strings");
	for (int i = 0; i < n; i++)
		if (strlen(v[i]) < SB_AUTH_SECRET_MIN)
			return fail(err, file, s, "'auth.token_secrets': each secret "
				    "needs at least 16 characters");
	return n ? sb_auth_keys_new(v, (unsigned)n, (unsigned)life, &out->keys) : 0;
}

int sb_auth_config_from_setting(const config_setting_t *grp, const char *file,
				sb_auth_config *out, GError **err)
{
	memset(out, 0, sizeof(*out));
	if (!grp)
		return 0;
	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return fail(err, file, grp, "'auth' must be a group { ... }");
	const config_setting_t *secrets = NULL;
	long long life = SB_AUTH_DEFAULT_MAX_LIFETIME;
	int r = 0;
	for (int i = 0; r == 0 && i < config_setting_length(grp); i++)
		r = cfg_member(config_setting_get_elem(grp, i), file, out, &secrets,
			       &life, err);
	if (r == 0 && secrets)
		r = cfg_secrets(secrets, file, life, out, err);
	if (r < 0)
		sb_auth_config_clear(out);
	return r;
}

void sb_auth_config_clear(sb_auth_config *c)
{
	sb_auth_keys_free(c->keys);
	g_strfreev(c->allowed_origins);
	memset(c, 0, sizeof(*c));
}
