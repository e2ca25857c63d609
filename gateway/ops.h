/* Operator glue: the Prometheus metrics collector, the JSON admin API's
 * data provider, and call records (CDRs) written when a call ends. It
 * reads the proxy's dialogs and the media anchor's per-call media facts;
 * it owns the CDR writer. Signalling thread only. */
#ifndef SB_GATEWAY_OPS_H
#define SB_GATEWAY_OPS_H

#include <glib.h>

#include "gateway/media_anchor.h"
#include "gateway/worker.h"
#include "sip/proxy.h"

typedef struct sb_ops sb_ops;

/* Reload the configuration: 0, or -EINVAL with *error (g_free). */
typedef int (*sb_ops_reload_fn)(char **error, void *user_data);

typedef struct sb_ops_deps {
	sb_proxy *proxy;              /* borrowed; outlives ops */
	sb_media_anchor *media;       /* borrowed; outlives ops */
	sb_worker_pool *workers;      /* borrowed */
	const char *cdr_path;         /* "" = no CDRs */
	const char *media_addr;       /* the address our SDP advertises (copied) */
	sb_ops_reload_fn reload;
	void *reload_data;
} sb_ops_deps;

/* Installs itself as the proxy's call observer and the anchor's final
 * callback, and starts the metrics registry. NULL + *err when the CDR
 * database cannot be opened. */
sb_ops *sb_ops_new(const sb_ops_deps *deps, GError **err);

/* Flushes queued CDRs; call after the proxy and the workers stopped. */
void sb_ops_free(sb_ops *o);

/* The admin listener's request handler (sb_http_admin_cb). */
int sb_ops_admin(const char *method, const char *path, char **body,
		 const char **content_type, void *ops);

/* WebSocket connections for the metrics (from the transport layer). */
void sb_ops_ws_opened(sb_ops *o);

/* The proxy's WebSocket handlers wrapped so that accepted and refused
 * upgrades are counted (websocket_connections_total,
 * websocket_refused_total{reason}). Install with the ops as user_data.
 * Upgrades the transport refuses itself (no "sip" subprotocol) never
 * reach these handlers and are not counted. */
sb_ws_handlers sb_ops_ws_handlers(void);

/* A media session asked to end its call for reason (the media anchor's
 * end callback): ICE and DTLS failures are counted by kind. */
void sb_ops_media_failed(sb_ops *o, const char *reason);

#endif
