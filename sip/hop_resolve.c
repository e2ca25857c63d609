/* route.outbound_proxy by name: see hop_resolve.h for why and how. */
#include "config.h"

#include "sip/hop_resolve.h"

#include <gio/gio.h>
#include <string.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "common/ip.h"
#include "sip/sip_face.h"

struct sb_hop_resolve {
	char *uri;                 /* as configured */
	char *host;                /* its host name */
	sb_sip_peer peer;          /* its transport (address unknown) */
	bool has_port;
	sb_sip_listen_spec *ls;    /* copies: hosts and transports owned */
	unsigned n;
	char *last;                /* the last hop handed out, or NULL */
	bool failing;              /* the last lookup failed (warned once) */
	sb_hop_resolve_cb cb;
	void *user_data;
	GResolver *resolver;
	GCancellable *cancel;
	GSource *timer;
};

char *sb_hop_resolve_with_ip(const char *uri, const char *ip)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	url_t *u = uri ? url_hdup(home, URL_STRING_MAKE(uri)->us_url) : NULL;
	char *out = NULL;
	if (u && u->url_host && ip) {
		char h[INET6_ADDRSTRLEN + 2];
		g_snprintf(h, sizeof(h), sb_ip_family(ip) == AF_INET6 ? "[%s]" : "%s", ip);
		u->url_host = h;
		char *s = url_as_string(home, u);
		out = s ? g_strdup(s) : NULL;
	}
	su_home_deinit(home);
	return out;
}

static void lookup_start(sb_hop_resolve *r);

static gboolean on_timer(gpointer data)
{
	sb_hop_resolve *r = data;
	g_clear_pointer(&r->timer, g_source_unref);
	lookup_start(r);
	return G_SOURCE_REMOVE;
}

static void schedule(sb_hop_resolve *r)
{
	r->timer = g_timeout_source_new_seconds(SB_HOP_RESOLVE_INTERVAL_S);
	g_source_set_callback(r->timer, on_timer, r, NULL);
	g_source_attach(r->timer, g_main_context_get_thread_default());
}

/* The first address a listener of the hop's transport can reach. */
static GInetAddress *pick(const sb_hop_resolve *r, GList *addrs)
{
	for (GList *l = addrs; l; l = l->next) {
		int fam = g_inet_address_get_family(l->data) == G_SOCKET_FAMILY_IPV6
			? AF_INET6 : AF_INET;
		if (sb_sip_face_has_family(r->ls, r->n, r->peer.transport, fam))
			return l->data;
	}
	return NULL;
}

static void use(sb_hop_resolve *r, const char *hop, const char *how)
{
	if (r->failing)
		g_message("route.outbound_proxy %s resolves again", r->uri);
	r->failing = false;
	if (!r->last || strcmp(r->last, hop)) {
		g_message("route.outbound_proxy %s: next hop %s (%s)", r->uri, hop, how);
		g_free(r->last);
		r->last = g_strdup(hop);
		r->cb(hop, r->user_data);
	}
	schedule(r);
}

static void fail(sb_hop_resolve *r, const char *why)
{
	if (!r->failing)
		g_warning("route.outbound_proxy %s: cannot resolve %s (%s); %s", r->uri,
			  r->host, why, r->last ? "keeping the last address"
			  : "requests go to sofia-sip's DNS lookup");
	r->failing = true;
	schedule(r);
}

/* Signalling thread. A cancelled lookup's r may be gone. */
static void by_name_done(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) err = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, &err);
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	sb_hop_resolve *r = data;
	GInetAddress *a = addrs ? pick(r, addrs) : NULL;
	if (!a) {
		fail(r, err ? err->message : "no address of a family the gateway listens on");
	} else {
		g_autofree char *ip = g_inet_address_to_string(a);
		g_autofree char *hop = sb_hop_resolve_with_ip(r->uri, ip);
		use(r, hop, "system resolver");
	}
	g_resolver_free_addresses(addrs);
}

static void by_name(sb_hop_resolve *r)
{
	g_resolver_lookup_by_name_async(r->resolver, r->host, r->cancel, by_name_done, r);
}

/* An SRV record for the name: RFC 3263's lookup is sofia's to do. */
static void srv_done(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) err = NULL;
	GList *targets = g_resolver_lookup_service_finish(G_RESOLVER(src), res, &err);
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	sb_hop_resolve *r = data;
	if (targets) {
		g_resolver_free_targets(targets);
		use(r, r->uri, "DNS SRV, sofia-sip's RFC 3263 lookup");
		return;
	}
	by_name(r);
}

static void lookup_start(sb_hop_resolve *r)
{
	if (r->has_port) {
		by_name(r);
		return;
	}
	bool tls = !strcmp(r->peer.transport, "tls");
	g_resolver_lookup_service_async(r->resolver, tls ? "sips" : "sip",
		!strcmp(r->peer.transport, "udp") ? "udp" : "tcp", r->host,
		r->cancel, srv_done, r);
}

sb_hop_resolve *sb_hop_resolve_new(const char *uri, const sb_sip_listen_spec *ls,
				   unsigned n, sb_hop_resolve_cb cb, void *user_data)
{
	if (!uri || !*uri || !cb)
		return NULL;
	su_home_t home[1] = { SU_HOME_INIT(home) };
	url_t *u = url_hdup(home, URL_STRING_MAKE(uri)->us_url);
	sb_hop_resolve *r = NULL;
	struct sockaddr_storage ss;
	socklen_t len;
	if (u && u->url_host && *u->url_host && sb_ip_sockaddr(u->url_host, 0, &ss, &len) < 0) {
		r = g_new0(sb_hop_resolve, 1);
		r->uri = g_strdup(uri);
		r->host = g_strdup(u->url_host);
		r->has_port = u->url_port && *u->url_port;
		sb_sip_peer_from_url(u, &r->peer);
		r->ls = g_new0(sb_sip_listen_spec, n ? n : 1);
		for (unsigned i = 0; i < n; i++)
			r->ls[i] = (sb_sip_listen_spec){ g_strdup(ls[i].transport),
				g_strdup(ls[i].host), ls[i].port };
		r->n = n;
		r->cb = cb;
		r->user_data = user_data;
		r->resolver = g_resolver_get_default();
		r->cancel = g_cancellable_new();
		lookup_start(r);
	}
	su_home_deinit(home);
	return r;
}

void sb_hop_resolve_free(sb_hop_resolve *r)
{
	if (!r)
		return;
	g_cancellable_cancel(r->cancel);
	g_object_unref(r->cancel);
	g_object_unref(r->resolver);
	if (r->timer) {
		g_source_destroy(r->timer);
		g_source_unref(r->timer);
	}
	for (unsigned i = 0; i < r->n; i++) {
		g_free((char *)r->ls[i].transport);
		g_free((char *)r->ls[i].host);
	}
	g_free(r->ls);
	g_free(r->uri);
	g_free(r->host);
	g_free(r->last);
	g_free(r);
}
