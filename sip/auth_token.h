/* Time-limited tokens for WebSocket clients, in the style of the TURN
 * REST API (draft-uberti-behave-turn-rest): a web application that knows
 * a shared secret hands its logged-in user a token, and the gateway
 * checks it at the WebSocket upgrade without any database or callback.
 *
 *   user part  = "EXPIRY:USER"   EXPIRY: Unix time in seconds (decimal),
 *                                USER: 1..64 chars of [A-Za-z0-9-_.!~*'+]
 *   token      = base64(HMAC-SHA256(secret, user part))   (32-byte MAC)
 *
 * The client presents both in the query of the WebSocket URL:
 *
 *   wss://HOST:PORT/ANY/PATH?user=1767225600:alice&token=BASE64
 *
 * Standard base64 ("+/", "=" padding, which should be percent-encoded in
 * a URL as %2B %2F %3D) and URL-safe base64 ("-_", padding optional) are
 * both accepted; a literal space in the token is read as "+" because form
 * decoding turns an unencoded "+" into a space; the same holds for a '+'
 * in USER. The ':' may be sent as %3A. Other query parameters are
 * ignored; a repeated user= or token= is refused (parameter pollution).
 * conf/make-token.sh makes a token.
 *
 * Verification tries every configured secret (rotation: put the new one
 * first, keep the old one until the tokens it signed have expired), with a
 * constant-time compare, then checks the validity window against the
 * clock the caller passes in: EXPIRY must not be in the past and not more
 * than max_lifetime seconds in the future (a leaked long-lived token is
 * the usual mistake of token issuers). The MAC is checked before the
 * time, so FORGED always means "not made with our secrets" (an attack or
 * a misconfigured issuer) and EXPIRED means "genuine but out of its
 * window" (a stale page): the two want different log handling.
 *
 * The user named by a valid token is the identity the gateway uses for
 * the dial plan (sip/dialplan.h) and the per-user call limit.
 *
 * The upgrade may also be bound to the pages allowed to open it, by
 * their Origin header (sb_auth_origin_allowed): this stops another web
 * site from using the gateway from its visitors' browsers. A request
 * without Origin is not a browser and is allowed: a non-browser client
 * can send any Origin it likes, so refusing a missing one adds nothing
 * (tokens are the control for those).
 *
 * Proposed configuration (libconfig, parsed by sb_auth_config_from_setting):
 *
 *   auth: {
 *     # Shared secrets, newest first; "" or [] = no token required.
 *     # At least 16 characters each.
 *     token_secrets = [ "7fd3...new", "a01c...old" ];
 *     token_max_lifetime = 86400;   # seconds a token may be valid ahead
 *     # Pages allowed to open the WebSocket: "https://host[:port]"
 *     # (host may be "*.example.com": any subdomain), or "*" for any.
 *     # [] = any origin.
 *     allowed_origins = [ "https://app.example.com" ];
 *   };
 *
 * Pure: no I/O, no clock, no global state. An sb_auth_keys is immutable
 * after creation and may be read from any thread; its owner frees it. */
#ifndef SB_SIP_AUTH_TOKEN_H
#define SB_SIP_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <libconfig.h>

#define SB_AUTH_USER_MAX 64           /* longest USER, bytes */
#define SB_AUTH_SECRET_MIN 16         /* shortest accepted secret, bytes */
#define SB_AUTH_DEFAULT_MAX_LIFETIME 86400

typedef enum sb_auth_token_result {
	SB_AUTH_TOKEN_OK,
	SB_AUTH_TOKEN_MISSING,    /* no user= or no token= */
	SB_AUTH_TOKEN_MALFORMED,  /* bad syntax, bad base64, bad user */
	SB_AUTH_TOKEN_EXPIRED,    /* genuine, but past EXPIRY or too far ahead */
	SB_AUTH_TOKEN_FORGED,     /* MAC matches none of the secrets */
} sb_auth_token_result;

/* Who a valid token names. */
typedef struct sb_auth_identity {
	char user[SB_AUTH_USER_MAX + 1];
	int64_t expiry;           /* Unix seconds */
	unsigned key_index;       /* which secret matched (0 = newest) */
} sb_auth_identity;

typedef struct sb_auth_keys sb_auth_keys;

/* Copy n secrets (n >= 1, each >= SB_AUTH_SECRET_MIN bytes) and the
 * lifetime bound (seconds, > 0). 0 and *out, or -EINVAL. The caller owns
 * *out (sb_auth_keys_free wipes the secrets). */
int sb_auth_keys_new(const char *const *secrets, unsigned n,
		     unsigned max_lifetime_s, sb_auth_keys **out);
void sb_auth_keys_free(sb_auth_keys *k);

/* The "auth" group, parsed. Owned by whoever filled it (clear). */
typedef struct sb_auth_config {
	sb_auth_keys *keys;        /* owned; NULL = no token required */
	char **allowed_origins;    /* owned, NULL-terminated (g_strfreev),
				      lower-cased; NULL = any origin */
} sb_auth_config;

/* Fill *out from the "auth" group above (grp may be NULL: no group, all
 * open). On a bad value returns -EINVAL with *err = "FILE:LINE: message"
 * and *out cleared. */
int sb_auth_config_from_setting(const config_setting_t *grp, const char *file,
				sb_auth_config *out, GError **err);
void sb_auth_config_clear(sb_auth_config *c);

/* True when a page of origin (the Origin header, NULL when absent) may
 * open the WebSocket: allowed NULL or empty, origin NULL, or origin
 * equal to an entry (scheme and host case-insensitive, default ports
 * 80/443 implied) or under an entry whose host is "*.domain" (a wildcard). "null" (opaque
 * origins: file://, sandboxed frames) matches only "*". */
bool sb_auth_origin_allowed(const char *const *allowed, const char *origin);

/* True when s is a valid allowed_origins entry. */
bool sb_auth_origin_pattern_valid(const char *s);

/* Check a user part and a token that are already percent-decoded (e.g.
 * from lws_get_urlarg_by_name() minus the "name=" part). NULL or "" for
 * either gives MISSING. now: Unix seconds. On OK fills *id (may be NULL);
 * otherwise *id is left zeroed. */
sb_auth_token_result sb_auth_token_verify(const sb_auth_keys *k,
					  const char *user_part,
					  const char *token, int64_t now,
					  sb_auth_identity *id);

/* Same from a raw URL query ("a=1&user=...&token=...", without '?'),
 * percent-decoding user= and token= itself. query may be NULL. */
sb_auth_token_result sb_auth_token_check_query(const sb_auth_keys *k,
					       const char *query, int64_t now,
					       sb_auth_identity *id);

/* Make a token (tests, an admin API): *user_part = "EXPIRY:USER" and
 * *token = standard base64 with padding, both newly allocated (g_free).
 * 0, or -EINVAL for a bad user or an empty secret. */
int sb_auth_token_make(const char *secret, const char *user, int64_t expiry,
		       char **user_part, char **token);

/* True when s is a valid USER (length and character set). */
bool sb_auth_user_valid(const char *s);

/* Stable lower-case name for logs: "ok", "token-missing",
 * "token-malformed", "token-expired", "token-forged". Static string. */
const char *sb_auth_token_result_str(sb_auth_token_result r);

#endif
