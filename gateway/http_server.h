/* The libwebsockets context of the signalling thread: the public vhost
 * (listen.http, and listen.https with TLS) serving the webphone page,
 * GET /health and the "sip" WebSocket upgrade; the admin vhost
 * (listen.admin) serving /health and the operator endpoints. lws runs on
 * the signalling GMainLoop (LWS_SERVER_OPTION_GLIB, foreign loop).
 * Signalling thread only. */
#ifndef SB_GATEWAY_HTTP_SERVER_H
#define SB_GATEWAY_HTTP_SERVER_H

#include <glib.h>
#include <jansson.h>

#include "gateway/config.h"

typedef struct sb_http_server sb_http_server;

/* Fills the /health object with the daemon's live counters. */
typedef void (*sb_http_health_cb)(json_t *obj, void *user_data);

/* Answers an admin request (method, path, body) with a status and a body;
 * returns the HTTP status, sets *body (owned by caller, g_free) and
 * *content_type (static). NULL callback = only /health on admin. */
typedef int (*sb_http_admin_cb)(const char *method, const char *path,
				char **body, const char **content_type,
				void *user_data);

typedef struct sb_http_hooks {
	sb_http_health_cb health;
	sb_http_admin_cb admin;
	void *user_data;
} sb_http_hooks;

/* Create the context and the listeners of cfg on loop. NULL on failure,
 * with *err set (e.g. "listen.http 127.0.0.1:8080: cannot bind"). */
sb_http_server *sb_http_server_new(const sb_config *cfg, GMainLoop *loop,
				   const sb_http_hooks *hooks, GError **err);
void sb_http_server_free(sb_http_server *s);

/* Load the certificate and key at these paths again into the vhosts that
 * use them (a renewed certificate, on SIGHUP). 0 or -EIO. */
int sb_http_server_reload_cert(sb_http_server *s, const char *cert, const char *key);

/* Directory the static files come from (for logs). Borrowed. */
const char *sb_http_server_www_root(const sb_http_server *s);

#endif
