/* Log writer shared by GLib (and so libnice), sofia-sip and lws. Any
 * thread: the level is an atomic int and each line goes out in one
 * fputs(), which stdio locks. */
#include "gateway/log.h"

#include <libwebsockets.h>
#include <sofia-sip/su_log.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static gint max_level = G_LOG_LEVEL_INFO;

static const char *level_name(GLogLevelFlags l)
{
	if (l & G_LOG_LEVEL_ERROR) return "FATAL";
	if (l & G_LOG_LEVEL_CRITICAL) return "ERROR";
	if (l & G_LOG_LEVEL_WARNING) return "WARN ";
	if (l & G_LOG_LEVEL_MESSAGE) return "NOTE ";
	if (l & G_LOG_LEVEL_INFO) return "INFO ";
	return "DEBUG";
}

static bool level_enabled(GLogLevelFlags level)
{
	/* GLib's level bits grow with verbosity: ERROR=4 ... DEBUG=128. */
	return (gint)(level & G_LOG_LEVEL_MASK) <= g_atomic_int_get(&max_level);
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields,
			       gsize n_fields, gpointer user_data)
{
	if (!level_enabled(level))
		return G_LOG_WRITER_HANDLED;
	const char *msg = "", *domain = "sipbridge", *tag = NULL;
	for (gsize i = 0; i < n_fields; i++) {
		const GLogField *f = &fields[i];
		if (f->length != -1)
			continue; /* binary fields: none we use */
		if (!strcmp(f->key, "MESSAGE"))
			msg = f->value;
		else if (!strcmp(f->key, "GLIB_DOMAIN"))
			domain = f->value;
		else if (!strcmp(f->key, SB_LOG_FIELD_TAG))
			tag = f->value;
	}
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
	g_autofree char *line = g_strdup_printf(
		"%s.%03dZ %s %s %s%s%s%s\n", ts,
		g_date_time_get_microsecond(now) / 1000, level_name(level),
		domain, tag ? "[" : "", tag ? tag : "", tag ? "] " : "", msg);
	fputs(line, stderr);
	return G_LOG_WRITER_HANDLED;
}

/* sofia-sip logs in fragments ("nta: " then the rest); assemble lines.
 * Sofia runs on the signalling thread only, so one buffer is enough, but
 * keep it per thread so a stray call from elsewhere cannot interleave. */
static void free_gstring(gpointer s)
{
	g_string_free(s, TRUE);
}

/* sofia's printf-style log hook: the format comes from sofia itself */
static void su_logger(void *stream, char const *fmt, va_list ap)
	G_GNUC_PRINTF(2, 0);
static void su_logger(void *stream, char const *fmt, va_list ap)
{
	static GPrivate buf_key = G_PRIVATE_INIT(free_gstring);
	GString *buf = g_private_get(&buf_key);
	if (!buf) {
		buf = g_string_new(NULL);
		g_private_set(&buf_key, buf);
	}
	g_string_append_vprintf(buf, fmt, ap);
	char *nl;
	while ((nl = strchr(buf->str, '\n'))) {
		*nl = '\0';
		if (*buf->str)
			g_log_structured("sofia", G_LOG_LEVEL_INFO, "MESSAGE", "%s",
					 buf->str);
		g_string_erase(buf, 0, nl - buf->str + 1);
	}
}

static void lws_logger(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	GLogLevelFlags l = level == LLL_ERR ? G_LOG_LEVEL_WARNING
		: level == LLL_WARN ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_DEBUG;
	g_log_structured("lws", l, "MESSAGE", "%.*s", (int)n, line);
}

void sb_log_set_level(GLogLevelFlags most_verbose)
{
	g_atomic_int_set(&max_level, most_verbose);
	bool debug = most_verbose >= G_LOG_LEVEL_DEBUG;
	if (!g_getenv("SU_DEBUG"))
		su_log_set_level(su_log_default, debug ? 3 : 2);
	lws_set_log_level(LLL_ERR | LLL_WARN | (debug ? LLL_NOTICE : 0), lws_logger);
}

void sb_log_init(void)
{
	g_log_set_writer_func(writer, NULL, NULL);
	su_log_redirect(su_log_default, su_logger, NULL);
	sb_log_set_level(G_LOG_LEVEL_INFO);
}
