/* The one log writer: GLib structured logging, sofia-sip's su_log and
 * libwebsockets' logger all end up here, one line per record:
 *   2026-11-26T23:59:59.123Z INFO  sb-sip [a1b2c3d4/ws] message
 * Call sb_log_init() first thing in main(); safe from any thread after. */
#ifndef SB_GATEWAY_LOG_H
#define SB_GATEWAY_LOG_H

#include <glib.h>

#include "common/log.h"

void sb_log_init(void);

/* Most verbose level printed (G_LOG_LEVEL_INFO by default). Also sets the
 * sofia-sip and lws levels to match. Any thread. */
void sb_log_set_level(GLogLevelFlags most_verbose);

#endif
