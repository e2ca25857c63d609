/* libwebsockets context: HTTP (static page, /health), the "sip"
 * WebSocket, and the admin listener. Signalling thread only. */
#include "gateway/http_server.h"

#include <errno.h>
#include <gio/gio.h>
#include <libwebsockets.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "sip/security_log.h"
#include "sip/ws_transport.h"

struct sb_http_server {
	struct lws_context *ctx;
	char *www_root;
	sb_http_hooks hooks;
};

/* One dynamic response being written. */
typedef struct http_pss {
	char *body;
	size_t len;
} http_pss;

/* lws wants one instance for the whole context; it is set in _new. */
static sb_http_server *server;

static const lws_retry_bo_t ws_retry = {
	.secs_since_valid_ping = 30,   /* RFC 6455 ping after 30 s idle */
	.secs_since_valid_hangup = 70, /* and hang up if nothing answers */
};

static const char *mime_of(const char *path)
{
	static const struct { const char *ext, *mime; } m[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript" },
		{ ".css", "text/css" }, { ".svg", "image/svg+xml" },
		{ ".png", "image/png" }, { ".ico", "image/x-icon" },
		{ ".json", "application/json" }, { ".wav", "audio/wav" },
		{ ".map", "application/json" }, { ".txt", "text/plain" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < G_N_ELEMENTS(m); i++)
		if (!strcmp(dot, m[i].ext))
			return m[i].mime;
	return "application/octet-stream";
}

static int respond(struct lws *wsi, http_pss *pss, int status,
		   const char *ctype, char *body)
{
	uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
		*end = buf + sizeof(buf) - 1;
	pss->body = body;
	pss->len = strlen(body);
	if (lws_add_http_common_headers(wsi, (unsigned)status, ctype,
					pss->len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static char *health_json(void)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string("ok"));
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	if (server->hooks.health)
		server->hooks.health(o, server->hooks.user_data);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	char *r = g_strdup_printf("%s\n", s);
	free(s);
	return r;
}

/* Map a URL path to a file under the www root; NULL when it would leave
 * the root or names nothing. */
static char *static_path(const char *url)
{
	if (!url || url[0] != '/' || strstr(url, "..") || strchr(url, '\\'))
		return NULL;
	const char *rel = !strcmp(url, "/") ? "/index.html" : url;
	char *p = g_strconcat(server->www_root, rel, NULL);
	struct stat st;
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *q = g_strconcat(p, "/index.html", NULL);
		g_free(p);
		p = q;
	}
	if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
		g_free(p);
		return NULL;
	}
	return p;
}

static int serve_static(struct lws *wsi, const char *url)
{
	g_autofree char *path = static_path(url);
	if (!path) {
		if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	int n = lws_serve_http_file(wsi, path, mime_of(path), NULL, 0);
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

static int write_body(struct lws *wsi, http_pss *pss)
{
	if (!pss->body)
		return 0;
	size_t n = pss->len;
	uint8_t *buf = g_malloc(LWS_PRE + n + 1);
	memcpy(buf + LWS_PRE, pss->body, n);
	int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
	g_free(buf);
	g_clear_pointer(&pss->body, g_free);
	if (w < (int)n)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_common(struct lws *wsi, enum lws_callback_reasons reason,
		       http_pss *pss, void *in, bool admin)
{
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* A WebSocket upgrade that did not ask for "sip" lands on
		 * protocols[0], which is us: refuse it. */
		{
			char ip[64] = "";
			lws_get_peer_simple(wsi, ip, sizeof(ip));
			sb_seclog_ws_refused(ip, "no-subprotocol", NULL, NULL);
		}
		return 1;
	case LWS_CALLBACK_HTTP: {
		const char *url = in;
		if (!strcmp(url, "/health"))
			return respond(wsi, pss, 200, "application/json", health_json());
		if (admin) {
			if (!server->hooks.admin)
				return respond(wsi, pss, 404, "text/plain",
					       g_strdup("not found\n"));
			char *body = NULL;
			const char *ctype = "application/json";
			const char *method =
				lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) ? "POST"
				: lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) ? "DELETE"
				: "GET";
			int st = server->hooks.admin(method, url, &body, &ctype,
						     server->hooks.user_data);
			return respond(wsi, pss, st, ctype, body ? body : g_strdup(""));
		}
		return serve_static(wsi, url);
	}
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return write_body(wsi, pss);
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* A connection closed before any request has no pss. */
		if (pss)
			g_clear_pointer(&pss->body, g_free);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, pss, in, 0);
	}
}

static int public_cb(struct lws *wsi, enum lws_callback_reasons reason,
		     void *user, void *in, size_t len)
{
	return http_common(wsi, reason, user, in, false);
}

static int admin_cb(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	return http_common(wsi, reason, user, in, true);
}

static struct lws_protocols public_protocols[3];
static const struct lws_protocols admin_protocols[] = {
	{ .name = "http-admin", .callback = admin_cb,
	  .per_session_data_size = sizeof(http_pss) },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static char *pick_www_root(const sb_config *cfg)
{
	if (*cfg->www_root)
		return g_strdup(cfg->www_root);
	const char *cands[] = { SB_SRCDIR "/gateway/www", SB_DATADIR "/www" };
	for (size_t i = 0; i < G_N_ELEMENTS(cands); i++)
		if (g_file_test(cands[i], G_FILE_TEST_IS_DIR))
			return g_strdup(cands[i]);
	return g_strdup(cands[1]);
}

static bool add_vhost(struct lws_context *ctx, const char *name,
		      const sb_hostport *hp, const struct lws_protocols *prot,
		      const sb_config *cfg, bool tls, GError **err)
{
	struct lws_context_creation_info vi = { 0 };
	vi.vhost_name = name;
	vi.port = hp->port;
	vi.iface = strcmp(hp->host, "*") ? hp->host : NULL;
	vi.protocols = prot;
	vi.retry_and_idle_policy = &ws_retry;
	vi.timeout_secs_ah_idle = 10;
	if (tls) {
		vi.ssl_cert_filepath = cfg->tls_cert;
		vi.ssl_private_key_filepath = cfg->tls_key;
		vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	}
	if (!lws_create_vhost(ctx, &vi)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s %s:%u: cannot listen (address in use or not local?)",
			    name, hp->host, hp->port);
		return false;
	}
	g_info("%s listening on %s:%u", name, hp->host, hp->port);
	return true;
}

sb_http_server *sb_http_server_new(const sb_config *cfg, GMainLoop *loop,
				   const sb_http_hooks *hooks, GError **err)
{
	sb_http_server *s = g_new0(sb_http_server, 1);
	server = s;
	s->hooks = *hooks;
	s->www_root = pick_www_root(cfg);

	public_protocols[0] = (struct lws_protocols){
		.name = "http", .callback = public_cb,
		.per_session_data_size = sizeof(http_pss) };
	public_protocols[1] = *sb_ws_transport_protocol();
	public_protocols[2] = (struct lws_protocols){ 0 };

	void *foreign[1] = { loop };
	struct lws_context_creation_info ci = { 0 };
	ci.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (cfg->has_https)
		ci.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	ci.foreign_loops = foreign;
	s->ctx = lws_create_context(&ci);
	if (!s->ctx) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "lws_create_context() failed (is libwebsockets-evlib-glib installed?)");
		goto fail;
	}
	if ((cfg->has_http && !add_vhost(s->ctx, "listen.http", &cfg->http,
					 public_protocols, cfg, false, err)) ||
	    (cfg->has_https && !add_vhost(s->ctx, "listen.https", &cfg->https,
					  public_protocols, cfg, true, err)) ||
	    (cfg->has_admin && !add_vhost(s->ctx, "listen.admin", &cfg->admin,
					  admin_protocols, cfg, false, err)))
		goto fail;
	return s;
fail:
	sb_http_server_free(s);
	return NULL;
}

void sb_http_server_free(sb_http_server *s)
{
	if (!s)
		return;
	if (s->ctx)
		lws_context_destroy(s->ctx);
	g_free(s->www_root);
	g_free(s);
	if (server == s)
		server = NULL;
}

int sb_http_server_reload_cert(sb_http_server *s, const char *cert, const char *key)
{
	if (!s || !s->ctx || !cert || !*cert)
		return 0;
	/* lws matches the vhosts by these paths and loads the copies given
	 * in memory (it does not read the files again itself). */
	g_autofree char *c = NULL, *k = NULL;
	gsize cl = 0, kl = 0;
	if (!g_file_get_contents(cert, &c, &cl, NULL) || !g_file_get_contents(key, &k, &kl, NULL)) {
		g_warning("reload: cannot read %s or %s: keeping the old certificate", cert, key);
		return -EIO;
	}
	int r = lws_tls_cert_updated(s->ctx, cert, key, c, cl, k, kl);
	explicit_bzero(k, kl);
	if (r) {
		g_warning("lws_tls_cert_updated(%s) failed: keeping the old certificate", cert);
		return -EIO;
	}
	g_message("TLS certificate %s reloaded for WSS", cert);
	return 0;
}

const char *sb_http_server_www_root(const sb_http_server *s)
{
	return s->www_root;
}
