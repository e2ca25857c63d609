/* Security events, one log line each, in a stable format that grep,
 * fail2ban and log shippers can rely on. Changing a key or an event name
 * breaks users' filters: add, never rename.
 *
 * Format (the log writer adds its own timestamp/level/domain prefix):
 *
 *   security: event=EVENT ip=IP KEY=VALUE ...
 *
 * event and ip always come first, in that order; ip is the client's
 * address as the transport saw it ("-" when unknown). Then, per event:
 *
 *   event=ws-refused          reason=R [origin="..."] [user="..."]
 *       a WebSocket upgrade was refused. R: origin-not-allowed,
 *       no-subprotocol, token-missing, token-malformed, token-expired,
 *       token-forged, ws-per-ip
 *   event=ws-closed           reason=R [user="..."] conn=N
 *       an open WebSocket was closed for cause. R: first-message-timeout,
 *       msg-rate, sip-too-large
 *   event=rate-limited        limit=msg-rate [user="..."] conn=N
 *       a message was dropped by the per-connection rate limit
 *   event=bad-message         reason=R [user="..."] conn=N
 *       a message was refused by a size check. R: sip-too-large,
 *       sdp-too-large, sdp-too-many-media
 *   event=call-denied         user="..." target="..." rule="..."
 *       the dial plan refused a call (rule: the deciding rule, e.g.
 *       "deny:+1900*", or "default-deny")
 *   event=limit-hit           limit=L [user="..."] max=N
 *       L: calls-per-user, calls-total (ws-per-ip is a ws-refused)
 *   event=auth-failed         status=401|407 user="..." method=M
 *       [realm="..."]   upstream refused credentials: log it only
 *       when the request carried Authorization/Proxy-Authorization (the
 *       first 401/407 of every REGISTER and INVITE is the normal digest
 *       challenge, and fail2ban would ban every user). user: the
 *       Authorization username, else the From user.
 *   event=open-relay-refused  target="..." reason=R [user="..."]
 *       a request toward a destination the gateway does not serve
 *
 * Values: fields shown with quotes ("...") are free text and are always
 * quoted; the others are bare tokens. Inside quotes, '"' and '\' are
 * backslash-escaped and space and any byte outside printable ASCII (CR,
 * LF, TAB, other controls, DEL, non-ASCII) become \xHH, so a value never
 * contains a space: it cannot start a new line, fake another key, or
 * carry a fake "security: event=... ip=..." for fail2ban to ban. A bare
 * value that would need escaping is quoted. Values are cut at 200
 * bytes ("..." appended inside the quotes). Secrets are never logged: no function takes a token, a
 * password or an Authorization header.
 *
 * The lines go through GLib structured logging (domain of the caller's
 * library, level WARNING). conf/fail2ban-sipbridge.conf matches them
 * (checked with fail2ban-regex 1.0.2). Log rate-limited once per
 * connection and burst, not per dropped message.
 *
 * Any thread (GLib logging is thread-safe); no state. */
#ifndef SB_SIP_SECURITY_LOG_H
#define SB_SIP_SECURITY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef struct sb_seclog_field {
	const char *key;      /* a fixed [a-z-] name */
	const char *value;    /* NULL: the field is left out */
	gboolean text;        /* free text: always quoted */
} sb_seclog_field;

/* The line without prefix or newline, e.g.
 * "security: event=ws-refused ip=192.0.2.1 reason=token-forged user=\"bob\"".
 * Caller owns the result (g_free). ip NULL or "" is written "-". */
char *sb_seclog_format(const char *event, const char *ip,
		       const sb_seclog_field *fields, size_t n);

/* One function per event; NULL optional arguments are left out. */
void sb_seclog_ws_refused(const char *ip, const char *reason,
			  const char *origin, const char *user);
void sb_seclog_ws_closed(const char *ip, const char *reason,
			 const char *user, uint64_t conn_id);
void sb_seclog_rate_limited(const char *ip, const char *user,
			    uint64_t conn_id);
void sb_seclog_bad_message(const char *ip, const char *reason,
			   const char *user, uint64_t conn_id);
void sb_seclog_call_denied(const char *ip, const char *user,
			   const char *target, const char *rule);
void sb_seclog_limit_hit(const char *ip, const char *limit, const char *user,
			 unsigned max);
void sb_seclog_auth_failed(const char *ip, int status, const char *user,
			   const char *method, const char *realm);
void sb_seclog_open_relay_refused(const char *ip, const char *target,
				  const char *reason, const char *user);

#endif
