/* Security event log lines (see security_log.h). Any thread. */
#include "sip/security_log.h"

#include <string.h>

#define VALUE_MAX 200

/* A bare value: printable ASCII without space, quote, backslash or '=',
 * so that "key=value" splits on the first '=' and the next space. */
static gboolean bare_ok(const char *v)
{
	if (!*v || strlen(v) > VALUE_MAX)
		return FALSE;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '=')
			return FALSE;
	return TRUE;
}

/* Spaces are escaped too: then no value contains "security: event=",
 * and a filter anchored on that text cannot be fed a fake line through
 * a user name or a target (the classic fail2ban injection). */
static void append_quoted(GString *s, const char *v)
{
	size_t n = 0;
	g_string_append_c(s, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++, n++) {
		if (n == VALUE_MAX) {
			g_string_append(s, "...");
			break;
		}
		if (*p == '"' || *p == '\\')
			g_string_append_printf(s, "\\%c", *p);
		else if (*p <= 0x20 || *p >= 0x7f)
			g_string_append_printf(s, "\\x%02X", *p);
		else
			g_string_append_c(s, (char)*p);
	}
	g_string_append_c(s, '"');
}

static void append_field(GString *s, const char *key, const char *v,
			 gboolean text)
{
	g_string_append_printf(s, " %s=", key);
	if (!text && bare_ok(v))
		g_string_append(s, v);
	else
		append_quoted(s, v);
}

char *sb_seclog_format(const char *event, const char *ip,
		       const sb_seclog_field *fields, size_t n)
{
	GString *s = g_string_new("security:");
	append_field(s, "event", event, FALSE);
	append_field(s, "ip", ip && *ip ? ip : "-", FALSE);
	for (size_t i = 0; i < n; i++)
		if (fields[i].value)
			append_field(s, fields[i].key, fields[i].value, fields[i].text);
	return g_string_free(s, FALSE);
}

static void emit(const char *event, const char *ip,
		 const sb_seclog_field *fields, size_t n)
{
	g_autofree char *line = sb_seclog_format(event, ip, fields, n);
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE", "%s", line);
}

#define EMIT(event, ip, ...)                                                 \
	do {                                                                  \
		const sb_seclog_field f_[] = { __VA_ARGS__ };                 \
		emit(event, ip, f_, G_N_ELEMENTS(f_));                        \
	} while (0)

void sb_seclog_ws_refused(const char *ip, const char *reason,
			  const char *origin, const char *user)
{
	EMIT("ws-refused", ip, { "reason", reason, FALSE },
	     { "origin", origin, TRUE }, { "user", user, TRUE });
}

void sb_seclog_ws_closed(const char *ip, const char *reason,
			 const char *user, uint64_t conn_id)
{
	char conn[24];
	g_snprintf(conn, sizeof(conn), "%" G_GUINT64_FORMAT, conn_id);
	EMIT("ws-closed", ip, { "reason", reason, FALSE },
	     { "user", user, TRUE }, { "conn", conn, FALSE });
}

void sb_seclog_rate_limited(const char *ip, const char *user,
			    uint64_t conn_id)
{
	char conn[24];
	g_snprintf(conn, sizeof(conn), "%" G_GUINT64_FORMAT, conn_id);
	EMIT("rate-limited", ip, { "limit", "msg-rate", FALSE },
	     { "user", user, TRUE }, { "conn", conn, FALSE });
}

void sb_seclog_bad_message(const char *ip, const char *reason,
			   const char *user, uint64_t conn_id)
{
	char conn[24];
	g_snprintf(conn, sizeof(conn), "%" G_GUINT64_FORMAT, conn_id);
	EMIT("bad-message", ip, { "reason", reason, FALSE },
	     { "user", user, TRUE }, { "conn", conn, FALSE });
}

void sb_seclog_call_denied(const char *ip, const char *user,
			   const char *target, const char *rule)
{
	EMIT("call-denied", ip, { "user", user ? user : "", TRUE },
	     { "target", target ? target : "", TRUE },
	     { "rule", rule ? rule : "", TRUE });
}

void sb_seclog_limit_hit(const char *ip, const char *limit, const char *user,
			 unsigned max)
{
	char m[16];
	g_snprintf(m, sizeof(m), "%u", max);
	EMIT("limit-hit", ip, { "limit", limit, FALSE }, { "user", user, TRUE },
	     { "max", m, FALSE });
}

void sb_seclog_auth_failed(const char *ip, int status, const char *user,
			   const char *method, const char *realm)
{
	char st[16];
	g_snprintf(st, sizeof(st), "%d", status);
	EMIT("auth-failed", ip, { "status", st, FALSE },
	     { "user", user ? user : "", TRUE }, { "method", method, FALSE },
	     { "realm", realm, TRUE });
}

void sb_seclog_open_relay_refused(const char *ip, const char *target,
				  const char *reason, const char *user)
{
	EMIT("open-relay-refused", ip, { "target", target ? target : "", TRUE },
	     { "reason", reason, FALSE }, { "user", user, TRUE });
}
