/* route.outbound_proxy by name: see hop_resolve.h for why and how. */
#include "config.h"

#include "sip/hop_resolve.h"

#include <arpa/nameser.h>
#include <gio/gio.h>
#include <netdb.h>
#include <resolv.h>
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
	bool running;              /* a lookup is on the pool */
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

/* ---- the lookup, on a pool thread ----------------------------------------- */

typedef struct lookup {
	char *host;
	char *srv;        /* "_sip._udp.HOST" ..., or NULL: a port was given */
	bool dns;         /* out: DNS knows the name: sofia's to resolve */
	char **ips;       /* out: the system resolver's addresses, or NULL */
	char *error;      /* out: why there is neither */
} lookup;

static void lookup_free(lookup *l)
{
	g_free(l->host);
	g_free(l->srv);
	g_strfreev(l->ips);
	g_free(l->error);
	g_free(l);
}

/* Whether DNS itself has records of type for name (the lookup sofia's
 * resolver would make). res_query keeps its state per thread. */
static bool in_dns(const char *name, int type)
{
	unsigned char answer[NS_PACKETSZ];
	return res_query(name, ns_c_in, type, answer, sizeof(answer)) > 0;
}

static bool is_localhost(const char *host)
{
	/* RFC 6761 §6.3: never asked of DNS */
	return !g_ascii_strcasecmp(host, "localhost") ||
	       g_str_has_suffix(host, ".localhost");
}

static void lookup_thread(GTask *task, gpointer source, gpointer data,
			  GCancellable *cancel)
{
	lookup *l = data;
	(void)source;
	(void)cancel;
	if (!is_localhost(l->host) &&
	    ((l->srv && in_dns(l->srv, ns_t_srv)) || in_dns(l->host, ns_t_a) ||
	     in_dns(l->host, ns_t_aaaa))) {
		l->dns = true;
		g_task_return_boolean(task, TRUE);
		return;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(l->host, NULL, &hints, &ai);
	if (rc) {
		l->error = g_strdup(gai_strerror(rc));
	} else {
		GPtrArray *ips = g_ptr_array_new();
		for (struct addrinfo *a = ai; a; a = a->ai_next) {
			struct sockaddr_storage ss = { 0 };
			char ip[INET6_ADDRSTRLEN];
			memcpy(&ss, a->ai_addr, MIN((size_t)a->ai_addrlen, sizeof(ss)));
			if (sb_ip_ntop(&ss, ip, sizeof(ip)))
				g_ptr_array_add(ips, g_strdup(ip));
		}
		g_ptr_array_add(ips, NULL);
		l->ips = (char **)g_ptr_array_free(ips, FALSE);
		freeaddrinfo(ai);
	}
	g_task_return_boolean(task, TRUE);
}

/* The first address a listener of the hop's transport can reach. */
static const char *pick(const sb_hop_resolve *r, char **ips)
{
	for (char **ip = ips; ip && *ip; ip++)
		if (sb_sip_face_has_family(r->ls, r->n, r->peer.transport, sb_ip_family(*ip)))
			return *ip;
	return NULL;
}

/* Signalling thread. A cancelled lookup's r may be gone. */
static void lookup_done(GObject *source, GAsyncResult *res, gpointer data)
{
	(void)source;
	if (g_cancellable_is_cancelled(g_task_get_cancellable(G_TASK(res))))
		return;
	sb_hop_resolve *r = data;
	lookup *l = g_task_get_task_data(G_TASK(res));
	r->running = false;
	const char *ip = l->ips ? pick(r, l->ips) : NULL;
	if (l->dns) {
		use(r, r->uri, "in DNS: sofia-sip's RFC 3263 lookup");
	} else if (ip) {
		g_autofree char *hop = sb_hop_resolve_with_ip(r->uri, ip);
		use(r, hop, "system resolver");
	} else {
		fail(r, l->error ? l->error : "no address of a family the gateway listens on");
	}
}

static void lookup_start(sb_hop_resolve *r)
{
	if (r->running)
		return;
	r->running = true;
	lookup *l = g_new0(lookup, 1);
	l->host = g_strdup(r->host);
	if (!r->has_port) {
		bool tls = !strcmp(r->peer.transport, "tls");
		l->srv = g_strdup_printf("_%s._%s.%s", tls ? "sips" : "sip",
					 !strcmp(r->peer.transport, "udp") ? "udp" : "tcp", r->host);
	}
	GTask *t = g_task_new(NULL, r->cancel, lookup_done, r);
	g_task_set_task_data(t, l, (GDestroyNotify)lookup_free);
	g_task_run_in_thread(t, lookup_thread);
	g_object_unref(t);
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
