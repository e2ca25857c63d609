/* Periodic malloc_trim (see heap_trim.h). */
#include "gateway/heap_trim.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

bool sb_heap_trim_now(void)
{
	gint64 t0 = g_get_monotonic_time();
	bool released = malloc_trim(0) != 0;
	gint64 us = g_get_monotonic_time() - t0;
	/* it walks every free chunk of every arena: say when that is slow */
	if (us > 5000)
		g_message("heap trim took %" G_GINT64_FORMAT " ms", us / 1000);
	return released;
}

static gboolean on_timer(gpointer data)
{
	(void)data;
	/* SB_HEAP_TRIM=0: never (comparisons) */
	const char *e = getenv("SB_HEAP_TRIM");
	if (e && !strcmp(e, "0"))
		return G_SOURCE_CONTINUE;
	sb_heap_trim_now();
	return G_SOURCE_CONTINUE;
}

GSource *sb_heap_trim_start(GMainContext *ctx)
{
	GSource *s = g_timeout_source_new_seconds(SB_HEAP_TRIM_PERIOD_S);
	g_source_set_name(s, "sb-heap-trim");
	g_source_set_callback(s, on_timer, NULL, NULL);
	g_source_attach(s, ctx);
	return s;
}
