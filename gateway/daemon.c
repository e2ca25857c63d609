/* Daemon lifecycle on the signalling thread: start the layers in order,
 * handle signals, stop in reverse order. Signalling thread only. */
#include "gateway/daemon.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <jansson.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "gateway/heap_trim.h"
#include "gateway/http_server.h"
#include "gateway/log.h"
#include "gateway/media_anchor.h"
#include "gateway/ops.h"
#include "gateway/stun_probe.h"
#include "gateway/worker.h"
#include "common/ip.h"
#include "sip/hop_resolve.h"
#include "sip/proxy.h"
#include "sip/security_log.h"
#include "sip/sip_stack.h"
#include "sip/ws_transport.h"
#include "webrtc/srtp.h"

/* Time allowed between SIGTERM and exit: calls get BYE, sockets close. */
#define SB_STOP_GRACE_MS 1500

typedef struct sb_daemon {
	sb_config *cfg;            /* owned ref; replaced on reload */
	GMainContext *ctx;         /* owned: the signalling context */
	GMainLoop *loop;           /* owned */
	sb_worker_pool *workers;   /* owned */
	sb_sip_stack *sip;         /* owned */
	sb_proxy *proxy;           /* owned */
	sb_cert *cert;             /* owned: DTLS identity of this run */
	sb_media_anchor *media;    /* owned */
	sb_ops *ops;               /* owned: metrics, admin API, CDRs */
	sb_http_server *http;      /* owned */
	sb_stun_probe *stun;       /* owned: media.stun_server, or NULL */
	sb_hop_resolve *hop;       /* owned: route.outbound_proxy by name, or NULL */
	GSource *trim;             /* owned: the periodic heap trim */
	gint64 started_us;
	bool stopping;
	int exit_code;
} sb_daemon;

static void health_cb(json_t *o, void *user_data)
{
	sb_daemon *d = user_data;
	json_int_t up = (g_get_monotonic_time() - d->started_us) / G_USEC_PER_SEC;
	json_object_set_new(o, "uptime", json_integer(up));     /* seconds */
	json_object_set_new(o, "uptime_s", json_integer(up));
	json_object_set_new(o, "workers",
			    json_integer(sb_worker_pool_size(d->workers)));
	json_object_set_new(o, "ws_connections",
			    json_integer(sb_ws_transport_count()));
	sb_proxy_stats st = { 0 };
	if (d->proxy)
		sb_proxy_get_stats(d->proxy, &st);
	json_object_set_new(o, "calls", json_integer(st.dialogs));
	json_object_set_new(o, "transactions", json_integer(st.transactions));
	json_object_set_new(o, "flows", json_integer(st.flows));
	json_object_set_new(o, "media_sessions",
			    json_integer(d->media ? sb_media_anchor_count(d->media) : 0));
	json_object_set_new(o, "draining", json_boolean(d->stopping ||
		(d->proxy && sb_proxy_draining(d->proxy))));
}

static gboolean quit_cb(gpointer data)
{
	sb_daemon *d = data;
	g_main_loop_quit(d->loop);
	return G_SOURCE_REMOVE;
}

static void begin_stop(sb_daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	g_message("%s: stopping (ending calls, closing WebSockets with 1001)", why);
	sb_proxy_end_all(d->proxy, "SIP;cause=503;text=\"gateway shutting down\"");
	sb_ws_transport_close_all(1001, "server shutting down");
	GSource *t = g_timeout_source_new(sb_ws_transport_count() ? 300 : 0);
	g_source_set_callback(t, quit_cb, d, NULL);
	g_source_attach(t, d->ctx);
	g_source_unref(t);
}

static gboolean on_sigterm(gpointer data)
{
	begin_stop(data, "SIGTERM");
	return G_SOURCE_CONTINUE;
}

static gboolean on_sigint(gpointer data)
{
	begin_stop(data, "SIGINT");
	return G_SOURCE_CONTINUE;
}

static const char *transport_name(sb_sip_transport t)
{
	return t == SB_SIP_TRANSPORT_TCP ? "tcp" : t == SB_SIP_TRANSPORT_TLS ? "tls" : "udp";
}

/* The SIP listeners of c as the SIP layer takes them; strings are c's.
 * Free with g_free. */
static sb_sip_listen_spec *listen_specs(const sb_config *c)
{
	sb_sip_listen_spec *ls = g_new0(sb_sip_listen_spec, c->n_sip + 1);
	for (unsigned i = 0; i < c->n_sip; i++)
		ls[i] = (sb_sip_listen_spec){ transport_name(c->sip[i].transport),
			c->sip[i].addr.host, c->sip[i].addr.port };
	return ls;
}

static void on_hop(const char *hop, void *user_data)
{
	sb_daemon *d = user_data;
	sb_proxy_set_outbound(d->proxy, hop);
}

/* route.outbound_proxy for the configuration in force: as written, and
 * when its host is a name, resolved by the system (sip/hop_resolve.h).
 * A reload that keeps the same proxy keeps what was resolved. */
static void hop_apply(sb_daemon *d, const sb_config *old)
{
	if (old && !strcmp(old->outbound_proxy, d->cfg->outbound_proxy))
		return;
	g_clear_pointer(&d->hop, sb_hop_resolve_free);
	sb_proxy_set_outbound(d->proxy, d->cfg->outbound_proxy);
	g_autofree sb_sip_listen_spec *ls = listen_specs(d->cfg);
	d->hop = sb_hop_resolve_new(d->cfg->outbound_proxy, ls, d->cfg->n_sip, on_hop, d);
}

static void on_srflx(const char *addr, void *user_data)
{
	sb_daemon *d = user_data;
	sb_media_anchor_set_srflx(d->media, addr);
}

/* (Re)start learning our mapped address for the configuration in force;
 * an explicit media.public_address needs none. old: the configuration
 * before a reload (NULL at start); when the server and our addresses are
 * the same, what the probe learnt still holds and it goes on. */
static void stun_apply(sb_daemon *d, const sb_config *old)
{
	const sb_config *c = d->cfg;
	if (old && !strcmp(old->stun_server, c->stun_server) &&
	    !strcmp(old->media_address, c->media_address) &&
	    !strcmp(old->media_public_address, c->media_public_address))
		return;
	g_clear_pointer(&d->stun, sb_stun_probe_free);
	sb_media_anchor_set_srflx(d->media, NULL);
	if (*d->cfg->stun_server && !*d->cfg->media_public_address)
		d->stun = sb_stun_probe_new(d->cfg->stun_server, d->cfg->media_address,
					    on_srflx, d);
}

static bool hostport_differs(bool ha, const sb_hostport *a, bool hb, const sb_hostport *b)
{
	return ha != hb || (ha && (strcmp(a->host, b->host) || a->port != b->port));
}

/* What a reload cannot change in a running daemon (bound sockets, the
 * threads, open files): say so, rather than drop it in silence. */
static void warn_not_reloaded(const sb_config *o, const sb_config *n)
{
	g_autoptr(GString) keys = g_string_new(NULL);
	bool sip = o->n_sip != n->n_sip;
	for (unsigned i = 0; !sip && i < n->n_sip; i++)
		sip = o->sip[i].transport != n->sip[i].transport ||
		      hostport_differs(true, &o->sip[i].addr, true, &n->sip[i].addr);
	const struct { bool changed; const char *key; } k[] = {
		{ hostport_differs(o->has_http, &o->http, n->has_http, &n->http), "listen.http" },
		{ hostport_differs(o->has_https, &o->https, n->has_https, &n->https), "listen.https" },
		{ hostport_differs(o->has_admin, &o->admin, n->has_admin, &n->admin), "listen.admin" },
		{ sip, "listen.sip" },
		{ o->workers != n->workers, "media.workers" },
		{ o->ws_max_message != n->ws_max_message, "web.ws_max_message" },
		{ strcmp(o->cdr_path, n->cdr_path) != 0, "cdr.path" },
		{ o->tls_verify_server != n->tls_verify_server ||
		  strcmp(o->tls_ca_file, n->tls_ca_file) != 0, "tls.verify_server/ca_file" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(k); i++)
		if (k[i].changed)
			g_string_append_printf(keys, "%s%s", keys->len ? ", " : "", k[i].key);
	if (keys->len)
		g_warning("reload: %s changed; the running values stay until sipbridge restarts",
			  keys->str);
}

/* Reload the file: what is read per call or per line changes at once
 * (routes, services, security, log level); listeners and workers stay. */
static int reload(char **error, void *user_data)
{
	sb_daemon *d = user_data;
	g_autoptr(GError) err = NULL;
	sb_config *n = sb_config_load(d->cfg->path, &err);
	if (!n) {
		g_warning("reload failed, keeping the running configuration: %s",
			  err->message);
		if (error)
			*error = g_strdup(err->message);
		return -EINVAL;
	}
	/* Listeners and workers stay as they are; what changes at once is
	 * what is read per call or per line (routes, services, log level). */
	warn_not_reloaded(d->cfg, n);
	sb_config *old = d->cfg;
	d->cfg = n;
	sb_log_set_level(n->log_level);
	hop_apply(d, old);
	sb_proxy_set_services(d->proxy, n->svc_echo, n->svc_conference_prefix);
	sb_proxy_set_security(d->proxy, &n->auth, &n->limits, n->dialplan);
	sb_media_anchor_set_config(d->media, n);
	stun_apply(d, old);
	sb_config_unref(old);
	if (n->has_https)
		sb_http_server_reload_cert(d->http, n->tls_cert, n->tls_key);
	g_message("configuration reloaded from %s", n->path);
	return 0;
}

static gboolean on_sighup(gpointer data)
{
	reload(NULL, data);
	return G_SOURCE_CONTINUE;
}

static int admin_cb(const char *method, const char *path, char **body,
		    const char **content_type, void *user_data)
{
	sb_daemon *d = user_data;
	return sb_ops_admin(method, path, body, content_type, d->ops);
}

static void add_signal(sb_daemon *d, int sig, GSourceFunc fn)
{
	GSource *s = g_unix_signal_source_new(sig);
	g_source_set_callback(s, fn, d, NULL);
	g_source_attach(s, d->ctx);
	g_source_unref(s);
}

/* What a wildcard SIP listener advertises toward a peer whose route is
 * unknown: the media address of that family (the host phones reach).
 * Neither is a wildcard (config.c); the other-family one may be "". */
static sb_sip_face_fallback face_fallback(const sb_config *c)
{
	bool v6 = sb_ip_family(c->media_address) == AF_INET6;
	return (sb_sip_face_fallback){
		.v4 = v6 ? c->media_address_alt : c->media_address,
		.v6 = v6 ? c->media_address : c->media_address_alt,
	};
}

static void media_ended(const char *call_id, const char *reason, void *user_data)
{
	sb_daemon *d = user_data;
	sb_ops_media_failed(d->ops, reason);
	sb_proxy_end_call(d->proxy, call_id, reason);
}

/* sofia-sip and libnice both export stun_message_length(); if sofia's is
 * the one bound, libnice builds and checks no STUN at all and ICE never
 * connects. The link order fixes it; this catches a build that lost it. */
static bool stun_symbol_ok(GError **err)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "stun_message_length");
	if (sym && dladdr(sym, &info) && info.dli_fname && !strstr(info.dli_fname, "libnice")) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "stun_message_length() resolves to %s, not libnice: "
			    "link libnice before sofia-sip", info.dli_fname);
		return false;
	}
	return true;
}

static bool start(sb_daemon *d, GError **err)
{
	if (!stun_symbol_ok(err))
		return false;
	const char *which;
	if (sb_config_is_open_relay(d->cfg, &which))
		sb_seclog_open_relay_refused(NULL, which, "no-tokens-no-dialplan", NULL);
	g_autofree char *why = sb_config_startup_error(d->cfg);
	if (why) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", why);
		return false;
	}
	/* allowed (a monitoring network), but it has no authentication */
	if (d->cfg->has_admin && !sb_config_host_is_loopback(d->cfg->admin.host))
		g_warning("listen.admin %s:%u is beyond loopback and has no authentication: "
			  "anyone who reaches it can end calls, drain and reload the gateway",
			  d->cfg->admin.host, d->cfg->admin.port);
	if (sb_cert_new("sipbridge", &d->cert) < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot create the DTLS certificate");
		return false;
	}
	/* at start rather than on the first call: srtp_init takes 10-65 ms */
	if (sb_srtp_global_init() < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "libsrtp2 failed to initialise");
		return false;
	}
	d->workers = sb_worker_pool_new(d->cfg->workers);
	g_info("%u media workers, SRTP crypto: %s",
	       sb_worker_pool_size(d->workers), sb_srtp_crypto_name());

	sb_sip_listen_spec *ls = listen_specs(d->cfg);
	d->sip = sb_sip_stack_new(d->ctx, ls, d->cfg->n_sip,
				  &(sb_sip_tls){ d->cfg->tls_cert, d->cfg->tls_key,
						 d->cfg->tls_verify_server, d->cfg->tls_ca_file },
				  NULL, NULL, err);
	if (!d->sip) {
		g_free(ls);
		return false;
	}
	g_autofree char *ws_host = g_strdup_printf("%s:%u",
		d->cfg->has_http ? d->cfg->http.host : "sipbridge.invalid",
		d->cfg->has_http ? d->cfg->http.port : 0);
	sb_proxy_config pc = {
		.outbound_proxy = d->cfg->outbound_proxy,
		.sip = ls, .n_sip = d->cfg->n_sip,
		.ws_host = ws_host,
		.face_fallback = face_fallback(d->cfg),
		.svc_echo = d->cfg->svc_echo,
		.svc_conf_prefix = d->cfg->svc_conference_prefix,
	};
	d->proxy = sb_proxy_new(sb_sip_stack_agent(d->sip), &pc);
	g_free(ls);
	sb_sip_stack_set_handler(d->sip, sb_proxy_sip_message, d->proxy);
	sb_proxy_set_security(d->proxy, &d->cfg->auth, &d->cfg->limits, d->cfg->dialplan);
	hop_apply(d, NULL);
	d->media = sb_media_anchor_new(d->cfg, d->workers, d->cert, d->ctx,
				       media_ended, d);
	sb_sdp_hook hook = sb_media_anchor_hook(d->media);
	sb_proxy_set_sdp_hook(d->proxy, &hook);
	stun_apply(d, NULL);
	d->ops = sb_ops_new(&(sb_ops_deps){ .proxy = d->proxy, .media = d->media,
		.workers = d->workers, .cdr_path = d->cfg->cdr_path,
		.media_addr = *d->cfg->media_public_address ? d->cfg->media_public_address
							    : d->cfg->media_address,
		.reload = reload, .reload_data = d }, err);
	if (!d->ops)
		return false;

	/* the proxy's handlers, counted by ops for /metrics */
	sb_ws_handlers wh = sb_ops_ws_handlers();
	sb_ws_transport_init(&wh, d->ops, &(sb_ws_settings){
		.max_message = d->cfg->ws_max_message, .max_queued_bytes = 1 << 20,
		.first_message_ms = d->cfg->limits.ws_first_message_ms });
	sb_http_hooks hooks = { .health = health_cb, .admin = admin_cb, .user_data = d };
	d->http = sb_http_server_new(d->cfg, d->loop, &hooks, err);
	if (!d->http)
		return false;
	g_info("web root %s", sb_http_server_www_root(d->http));
	d->trim = sb_heap_trim_start(d->ctx);
	return true;
}

static void drain(GMainContext *ctx)
{
	while (g_main_context_iteration(ctx, FALSE))
		;
}

static void stop(sb_daemon *d)
{
	/* Media first: sessions are destroyed on their workers, the workers
	 * stop, and what they sent back (replies the proxy waits for) is
	 * delivered while the proxy still exists. Then lws before sofia
	 * (notes/signalling.md §1). */
	if (d->trim) {
		g_source_destroy(d->trim);
		g_source_unref(d->trim);
	}
	if (d->media)
		sb_media_anchor_stop(d->media);
	sb_worker_pool_free(d->workers);
	drain(d->ctx);
	sb_http_server_free(d->http);
	g_clear_pointer(&d->stun, sb_stun_probe_free);
	g_clear_pointer(&d->hop, sb_hop_resolve_free);
	drain(d->ctx);
	sb_proxy_free(d->proxy);
	sb_media_anchor_free(d->media);
	sb_ops_free(d->ops);
	sb_sip_stack_free(d->sip);
	sb_cert_unref(d->cert);
}

int sb_daemon_run(sb_config *cfg)
{
	sb_daemon d = { .cfg = sb_config_ref(cfg), .exit_code = 0 };
	d.started_us = g_get_monotonic_time();
	d.ctx = g_main_context_new();
	d.loop = g_main_loop_new(d.ctx, FALSE);
	g_main_context_push_thread_default(d.ctx);
	sb_log_set_level(cfg->log_level);

	add_signal(&d, SIGTERM, on_sigterm);
	add_signal(&d, SIGINT, on_sigint);
	add_signal(&d, SIGHUP, on_sighup);
	signal(SIGPIPE, SIG_IGN);

	g_autoptr(GError) err = NULL;
	if (start(&d, &err)) {
		g_message("sipbridge %s running (config %s)", PACKAGE_VERSION, cfg->path);
		g_main_loop_run(d.loop);
	} else {
		g_critical("startup failed: %s", err->message);
		d.exit_code = 1;
	}
	stop(&d);
	g_main_context_pop_thread_default(d.ctx);
	g_main_loop_unref(d.loop);
	g_main_context_unref(d.ctx);
	sb_config_unref(d.cfg);
	if (!d.exit_code)
		g_message("stopped");
	return d.exit_code;
}
