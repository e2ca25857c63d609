/* Destination policy against toll fraud: which numbers (or SIP URI user
 * parts) a browser user may call through the gateway. A stolen browser
 * login that can dial premium-rate or international numbers costs real
 * money within hours, so once a dial plan is configured anything not
 * explicitly allowed is refused.
 *
 * Model. Named rule sets, each an ordered list of rules; the first rule
 * whose pattern matches the dialled target decides; no match = deny.
 * The caller (the identity from the WebSocket token, see
 * sip/auth_token.h) is mapped to a set by name; unmapped callers use the
 * set "default". Local services (the echo test, conference rooms) are
 * always allowed, whatever the set says, when dialled exactly as the
 * proxy answers them itself (sb_dialplan_add_service).
 *
 * Rules: "allow:PATTERN" or "deny:PATTERN". PATTERN is matched against
 * the whole normalised target, character by character:
 *   X        any one digit 0-9 (upper case only)
 *   [...]    any one character of the set; ranges allowed: [1-9], [2-9#*]
 *   *        any run of characters, including none
 *   other    itself (case-sensitive, as SIP user parts are): 0-9 + # and
 *            A-Z a-z - _ . ! ~ ' (write a literal 'X' or '*' as [X], [*])
 * Examples: "+44*" (UK), "+1900*" (US premium), "0[1-9]XXXXXXXX" (a
 * national number of 10 digits), "1XXX" (4-digit extensions), "*".
 * Patterns hold no visual separators: write "+442071234567".
 *
 * Normalising the dialled target (the Request-URI user part):
 *  1. percent-decode (%2B -> '+'); an invalid escape is refused;
 *  2. drop user parameters (";phone-context=...", ";isub=...");
 *  3. if what is left looks like a phone number (only digits, * # and
 *     visual separators - . ( ) space /, with '+' only in front), remove
 *     the separators, and replace the international prefix (default
 *     "00"; "011" in North America; "" for none) in front by '+':
 *     "00 44 (20) 7946-0958" -> "+442079460958";
 *  4. anything else (a name like "alice" or "conf-42") is kept as is.
 *
 * Configuration (libconfig), parsed by sb_dialplan_from_setting():
 *
 *   dialplan: {
 *     international_prefix = "00";
 *     # Every list is a rule set named by its key; "default" is required.
 *     default    = [ "deny:+1900*", "deny:+1976*", "allow:+44*",
 *                    "deny:+*", "allow:*" ];
 *     local-only = [ "allow:0[1-9]XXXXXXXX", "allow:1XXX", "deny:*" ];
 *     # Caller -> rule set. A group (names that are libconfig
 *     # identifiers) or a list of "USER=SET" strings (any user).
 *     users = [ "alice=local-only", "1001=local-only" ];
 *   };
 *
 * No "dialplan" group = no dial plan: the gateway lets everything
 * through and the PBX decides. The echo and conference names come from
 * the "services" group: add them with sb_dialplan_add_service().
 *
 * Threads: built on one thread (the signalling thread at config load),
 * immutable afterwards and then readable from any thread. Pure: no I/O. */
#ifndef SB_SIP_DIALPLAN_H
#define SB_SIP_DIALPLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <libconfig.h>

#define SB_DIALPLAN_TARGET_MAX 128     /* normalised target, with NUL */
#define SB_DIALPLAN_PATTERN_MAX 64     /* characters of one pattern */
#define SB_DIALPLAN_DEFAULT_SET "default"

typedef struct sb_dialplan sb_dialplan;

typedef struct sb_dialplan_verdict {
	bool allow;
	/* Borrowed from the dial plan (valid while it lives): the rule that
	 * decided ("deny:+1900*"), or "service:NAME" / "service:PREFIX*",
	 * "default-deny" (no rule matched), "no-rule-set",
	 * "malformed-target" (undecodable or too long). */
	const char *rule;
	const char *rule_set;             /* borrowed; NULL for services */
	char target[SB_DIALPLAN_TARGET_MAX]; /* normalised ("" if malformed) */
} sb_dialplan_verdict;

/* An empty dial plan (no sets: every non-service target is denied).
 * Owned by the caller. */
sb_dialplan *sb_dialplan_new(void);
void sb_dialplan_free(sb_dialplan *dp);

/* Builders (before the dial plan is shared). 0 or -EINVAL. */
/* "00" by default; up to 7 digits, "" = none. */
int sb_dialplan_set_international_prefix(sb_dialplan *dp, const char *prefix);
/* Append "allow:PATTERN" / "deny:PATTERN" to set (created on first use;
 * set names: 1..64 of [A-Za-z0-9-_*]). -EINVAL for bad syntax. */
int sb_dialplan_add_rule(sb_dialplan *dp, const char *set, const char *rule);
/* Map caller user (1..64 chars) to set; a later mapping replaces an
 * earlier one. The set need not exist yet: see sb_dialplan_validate(). */
int sb_dialplan_map_user(sb_dialplan *dp, const char *user, const char *set);
/* Always allow dialling name (prefix=false), or name followed by a room
 * name (prefix=true, e.g. "conf-": sb_dialplan_room_name_ok), as
 * dialled, before normalisation. "" is ignored (service disabled). */
int sb_dialplan_add_service(sb_dialplan *dp, const char *name, bool prefix);

/* A conference room's name: 1 or more of [A-Za-z0-9._-]. */
bool sb_dialplan_room_name_ok(const char *s);

/* NULL when the plan is complete ("default" exists, every mapped set
 * exists), else a message; *detail (may be NULL) gets the offending set
 * name (borrowed). */
const char *sb_dialplan_validate(const sb_dialplan *dp, const char **detail);

/* Parse the "dialplan" group above. grp NULL: *out = NULL, 0 (no dial
 * plan). Errors: -EINVAL and *err = "FILE:LINE: message". The caller owns
 * *out. */
int sb_dialplan_from_setting(const config_setting_t *grp, const char *file,
			     sb_dialplan **out, GError **err);

/* Decide whether caller (NULL/"" = unknown, uses "default") may call the
 * Request-URI user part dialled (NULL = no user part, e.g. sip:host).
 * Returns v->allow; v is always filled. */
bool sb_dialplan_decide(const sb_dialplan *dp, const char *caller,
			const char *dialled, sb_dialplan_verdict *v);

/* Normalise as described above into out (n bytes, n > 0). 0, or -EINVAL
 * for a bad percent escape or an encoded NUL, -ENOSPC when too long.
 * intl_prefix: "00", "011", "" (none). */
int sb_dialplan_normalise(const char *dialled, const char *intl_prefix,
			  char *out, size_t n);

/* True when the pattern (without "allow:"/"deny:") is valid. */
bool sb_dialplan_pattern_valid(const char *pattern);

/* Match a valid pattern against a normalised target. */
bool sb_dialplan_pattern_match(const char *pattern, const char *target);

#endif
