/* Log macros shared by every layer (header only, GLib only). Lines about
 * a call carry its tag (a short form of the Call-ID, plus the leg), which
 * the writer in gateway/log.c prints as "[tag]". Any thread. */
#ifndef SB_COMMON_LOG_H
#define SB_COMMON_LOG_H

#include <glib.h>

/* Field name of the call tag in structured log records. */
#define SB_LOG_FIELD_TAG "SB_TAG"

#define SB_LOG_TAGGED(level, tag, ...)                                       \
	g_log_structured(G_LOG_DOMAIN, (level), SB_LOG_FIELD_TAG, (tag),      \
			 "MESSAGE", __VA_ARGS__)

#define SB_ERR(tag, ...) SB_LOG_TAGGED(G_LOG_LEVEL_CRITICAL, tag, __VA_ARGS__)
#define SB_WARN(tag, ...) SB_LOG_TAGGED(G_LOG_LEVEL_WARNING, tag, __VA_ARGS__)
#define SB_NOTICE(tag, ...) SB_LOG_TAGGED(G_LOG_LEVEL_MESSAGE, tag, __VA_ARGS__)
#define SB_INFO(tag, ...) SB_LOG_TAGGED(G_LOG_LEVEL_INFO, tag, __VA_ARGS__)
/* Debug lines are filtered by the writer; never log per packet. */
#define SB_DEBUG(tag, ...) SB_LOG_TAGGED(G_LOG_LEVEL_DEBUG, tag, __VA_ARGS__)

/* Short stable tag for a Call-ID (8 hex chars) for the macros above:
 * FNV-1a, so the same call has the same tag in every log. buf holds at
 * least 9 bytes. Pure. */
static inline const char *sb_log_call_tag(const char *call_id, char *buf)
{
	guint32 h = 2166136261u;
	for (const char *p = call_id ? call_id : ""; *p; p++)
		h = (h ^ (guint8)*p) * 16777619u;
	g_snprintf(buf, 9, "%08x", h);
	return buf;
}

#endif
