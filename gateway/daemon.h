/* The running daemon: owns the signalling GMainContext and everything on
 * it (lws, sofia, the proxy), the worker pool and the live config.
 * Created, run and freed by main() on the main thread, which is the
 * signalling thread. */
#ifndef SB_GATEWAY_DAEMON_H
#define SB_GATEWAY_DAEMON_H

#include <glib.h>

#include "gateway/config.h"

/* Run until SIGTERM/SIGINT. Returns the process exit code. Takes a
 * reference to cfg. */
int sb_daemon_run(sb_config *cfg);

#endif
