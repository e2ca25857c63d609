/* libFuzzer target for sip/auth_token.c. Mode from the first byte:
 * 0 mod 3: the rest is a URL query checked against fixed secrets (must
 * not crash; an OK must name a valid user); 1: the rest is a user name,
 * and a token made for it must verify, and must not verify for a user
 * one byte different; 2: the rest is an Origin header checked against
 * an allow-list (an origin with a '*' never passes an entry without). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "sip/auth_token.h"

#define NOW 1767225600

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sb_auth_keys *keys(void)
{
	static sb_auth_keys *k;
	if (!k) {
		const char *s[] = { "fuzz-secret-number-one", "fuzz-secret-number-two" };
		if (sb_auth_keys_new(s, 2, 86400, &k) < 0)
			__builtin_trap();
	}
	return k;
}

static void check_query(const char *q)
{
	sb_auth_identity id;
	sb_auth_token_result r = sb_auth_token_check_query(keys(), q, NOW, &id);
	if (r == SB_AUTH_TOKEN_OK && !sb_auth_user_valid(id.user))
		__builtin_trap();
	if (r != SB_AUTH_TOKEN_OK && id.user[0])
		__builtin_trap();
	(void)sb_auth_token_result_str(r);
}

static void check_round_trip(const char *user)
{
	char *up, *tok;
	if (sb_auth_token_make("fuzz-secret-number-two", user, NOW + 60, &up,
			       &tok) < 0) {
		if (sb_auth_user_valid(user))
			__builtin_trap();
		return;
	}
	sb_auth_identity id;
	if (sb_auth_token_verify(keys(), up, tok, NOW, &id) != SB_AUTH_TOKEN_OK ||
	    strcmp(id.user, user) || id.key_index != 1)
		__builtin_trap();
	up[strlen(up) - 1] ^= 1;
	if (sb_auth_token_verify(keys(), up, tok, NOW, NULL) == SB_AUTH_TOKEN_OK)
		__builtin_trap();
	g_free(up);
	g_free(tok);
}

static void check_origin(const char *origin)
{
	static const char *const allowed[] = { "https://app.example.com:443",
					       "https://*.example.org:8443", NULL };
	bool ok = sb_auth_origin_allowed(allowed, origin);
	if (ok && strchr(origin, '*'))
		__builtin_trap();
	if (ok && g_ascii_strncasecmp(origin, "https://", 8))
		__builtin_trap();
	(void)sb_auth_origin_pattern_valid(origin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	char *s = g_strndup((const char *)data + 1, size - 1);
	if (data[0] % 3 == 1)
		check_round_trip(s);
	else if (data[0] % 3 == 2)
		check_origin(s);
	else
		check_query(s);
	g_free(s);
	return 0;
}
