/* libnice 0.1.21 wrapper. Recipes and traps from shared/notes/media.md §1:
 * add the local address explicitly (loopback is skipped otherwise),
 * controlling-mode defaults to TRUE, ice-tcp/upnp off, parse candidates
 * one line at a time without CR, queue sends refused in CONNECTING.
 * Media worker thread only. */
#include "webrtc/ice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <agent.h>

#include "webrtc/ctx_local.h"
#include "webrtc/ice_direct.h"

#define QUEUE_SLOTS 16
#define DGRAM_MAX 1500

typedef struct queued {
	uint16_t len;
	uint8_t buf[DGRAM_MAX];
} queued;

/* libnice's own sources (its timers, and its socket until the pair is
 * taken over) are not attached to the worker's context, whose every
 * loop pass would walk them (one keepalive timer per call stays for the
 * life of the call), but to a context of their own per worker, which
 * the worker runs from one timer every PUMP_MS. ICE and DTLS set-up
 * messages wait at most that long; media never passes through it. */
#define PUMP_MS 5

typedef struct ice_pump {
	sb_ctx_local base;        /* first: the per-context registry */
	GMainContext *nice_ctx;   /* owned; only this worker runs it */
	GSource *timer;           /* owned, on the worker's context */
} ice_pump;

static sb_ctx_locals pumps;

static gboolean pump_run(gpointer data)
{
	ice_pump *p = data;
	/* bounded: a busy libnice cannot hold the worker */
	for (int i = 0; i < 16 && g_main_context_iteration(p->nice_ctx, FALSE);
	     i++)
		;
	return G_SOURCE_CONTINUE;
}

static sb_ctx_local *pump_new(GMainContext *ctx)
{
	ice_pump *p = g_new0(ice_pump, 1);
	p->base = (sb_ctx_local){ 1, ctx };
	p->nice_ctx = g_main_context_new();
	p->timer = g_timeout_source_new(PUMP_MS);
	g_source_set_name(p->timer, "sb-ice-pump");
	g_source_set_callback(p->timer, pump_run, p, NULL);
	g_source_attach(p->timer, ctx);
	return &p->base;
}

static ice_pump *pump_get(GMainContext *ctx)
{
	return (ice_pump *)sb_ctx_local_get(&pumps, ctx, pump_new);
}

static void pump_unref(ice_pump *p)
{
	if (!sb_ctx_local_unref(&pumps, &p->base))
		return;
	g_source_destroy(p->timer);
	g_source_unref(p->timer);
	/* let libnice finish what it queued while closing its agents */
	for (int i = 0; i < 100 && g_main_context_iteration(p->nice_ctx, FALSE);
	     i++)
		;
	g_main_context_unref(p->nice_ctx);
	g_free(p);
}

struct sb_ice {
	NiceAgent *agent;        /* owned */
	GMainContext *ctx;       /* ref: the worker's */
	ice_pump *pump;          /* ref: libnice's context */
	guint sid;
	const sb_ice_ops *ops;   /* borrowed; NULL after close */
	void *user_data;
	sb_ice_state state;
	bool gathered;
	bool closed;
	char local_addr[64];
	char public_addr[64];
	char *remote_ufrag;      /* owned: last applied, NULL before the first */
	queued *queue;           /* owned, QUEUE_SLOTS; sends before a pair:
				  * made on first use, freed once flushed
				  * (24 KiB a call would otherwise keep) */
	unsigned n_queued;
	uint16_t port_min, port_max;
	bool controlling;
	char *remote_pwd;        /* owned, as remote_ufrag */
	unsigned consent_interval_ms, consent_timeout_ms;
	const char *failure;     /* static string, why FAILED */
	/* After nomination the pair's socket is read here, not by libnice
	 * (ice_direct.h): */
	GSource *takeover;       /* owned, pending idle; NULL otherwise */
	sb_ice_direct *direct;   /* owned; NULL while libnice reads */
	int direct_fd;           /* owned: our duplicate of the pair's
				  * socket, which outlives the agent; -1 */
	GSList *retired;         /* sb_ice_direct *, stopped, freed with us:
				  * release may run inside their callbacks */
	/* Once the pair is ours the agent is freed (its component, STUN
	 * agent and receive buffers were 34 KiB of every call's resident
	 * memory); what it would still be asked for is kept here, and an
	 * ICE restart makes a new agent from the parameters. */
	bool kept_valid;
	char kept_ufrag[64], kept_pwd[64];
	char *kept_cand;                 /* owned: the selected local candidate */
	char *kept_srflx;                /* owned: its srflx twin, or NULL */
	char kept_addr[64];
	uint16_t kept_port;
	char *kept_pair;                 /* owned: sb_ice_describe_pair's text */
	char srflx_addr[64];     /* our mapped address, "" for none */
};

/* SB_ICE_VIA_LIBNICE=1 leaves every packet to libnice (and its consent
 * checks) for the life of the call: the way before ice_direct.h, kept
 * for comparisons. */
static bool direct_enabled(void)
{
	static gsize once;
	static bool on;
	if (g_once_init_enter(&once)) {
		const char *e = getenv("SB_ICE_VIA_LIBNICE");
		on = !(e && *e && strcmp(e, "0") != 0);
		g_once_init_leave(&once, 1);
	}
	return on;
}

static void schedule_takeover(sb_ice *ice);

static void emit_state(sb_ice *ice, sb_ice_state st)
{
	if (ice->state == st)
		return;
	ice->state = st;
	if (ice->ops && ice->ops->state)
		ice->ops->state(ice->user_data, st);
}

/* notes §0.2: the peer's ClientHello can arrive in CONNECTING, and our
 * reply is refused until a pair exists; send it as soon as one does. */
static void flush_queue(sb_ice *ice)
{
	for (unsigned i = 0; i < ice->n_queued; i++)
		nice_agent_send(ice->agent, ice->sid, 1, ice->queue[i].len,
				(const gchar *)ice->queue[i].buf);
	ice->n_queued = 0;
	g_clear_pointer(&ice->queue, g_free);
}

static void on_state(NiceAgent *agent, guint sid, guint cid, guint state,
		     gpointer data)
{
	sb_ice *ice = data;
	(void)agent;
	(void)cid;
	if (sid != ice->sid || ice->closed)
		return;
	switch (state) {
	case NICE_COMPONENT_STATE_CONNECTING:
		emit_state(ice, SB_ICE_STATE_CONNECTING);
		break;
	case NICE_COMPONENT_STATE_CONNECTED:
		flush_queue(ice);
		emit_state(ice, SB_ICE_STATE_CONNECTED);
		break;
	case NICE_COMPONENT_STATE_READY:
		flush_queue(ice);
		emit_state(ice, SB_ICE_STATE_READY);
		if (!ice->closed)
			schedule_takeover(ice);
		break;
	case NICE_COMPONENT_STATE_FAILED:
		ice->n_queued = 0;
		ice->failure = "ICE failed";
		emit_state(ice, SB_ICE_STATE_FAILED);
		break;
	default:
		break;
	}
}

static void on_gathering_done(NiceAgent *agent, guint sid, gpointer data)
{
	sb_ice *ice = data;
	(void)agent;
	if (sid == ice->sid)
		ice->gathered = true;
}

static void on_recv(NiceAgent *agent, guint sid, guint cid, guint len,
		    gchar *buf, gpointer data)
{
	sb_ice *ice = data;
	(void)agent;
	(void)sid;
	(void)cid;
	/* libnice calls this from the dispatch of its socket's GSource.
	 * GLib blocks a non-recursive source around its dispatch by removing
	 * and re-adding its poll record, and each of the two signals the
	 * context's wakeup eventfd: two write(2)s per received packet, plus
	 * an extra loop iteration to drain them. The worker never runs a
	 * nested loop, so letting the source "recurse" changes nothing else. */
	GSource *src = g_main_current_source();
	if (src && !g_source_get_can_recurse(src))
		g_source_set_can_recurse(src, TRUE);
	if (ice->ops && ice->ops->recv && len > 0)
		ice->ops->recv(ice->user_data, (const uint8_t *)buf, len);
}

static void direct_recv(void *data, const uint8_t *buf, size_t len)
{
	sb_ice *ice = data;
	if (ice->ops && ice->ops->recv)
		ice->ops->recv(ice->user_data, buf, len);
}

static void direct_lost(void *data)
{
	sb_ice *ice = data;
	ice->failure = "consent expired: no STUN answer from the peer";
	emit_state(ice, SB_ICE_STATE_FAILED);
}

static void direct_stun(void *data, bool consent)
{
	sb_ice *ice = data;
	if (ice->ops && ice->ops->stun)
		ice->ops->stun(ice->user_data, consent);
}

static const sb_ice_direct_ops direct_ops = {
	.recv = direct_recv,
	.lost = direct_lost,
	.stun = direct_stun,
};

/* Stop reading the pair's socket ourselves (ICE restart, close). The
 * agent that owned it is gone: the socket closes with our duplicate
 * (sb_ice_direct_stop flushed what was queued for it). */
static void release_socket(sb_ice *ice)
{
	if (ice->takeover) {
		g_source_destroy(ice->takeover);
		g_clear_pointer(&ice->takeover, g_source_unref);
	}
	if (!ice->direct)
		return;
	sb_ice_direct_stop(ice->direct);
	ice->retired = g_slist_prepend(ice->retired, ice->direct);
	ice->direct = NULL;
	if (ice->direct_fd >= 0)
		close(ice->direct_fd);
	ice->direct_fd = -1;
}

/* The agent stops calling us and closes its stream's sockets. */
static void detach_agent(sb_ice *ice)
{
	if (!ice->agent)
		return;
	g_signal_handlers_disconnect_by_data(ice->agent, ice);
	if (ice->sid) {
		nice_agent_attach_recv(ice->agent, ice->sid, 1,
				       ice->pump->nice_ctx, NULL, NULL);
		nice_agent_remove_stream(ice->agent, ice->sid);
	}
	ice->sid = 0;
}

/* Not from inside one of the agent's signals (take_socket runs from
 * an idle source). */
static void drop_agent(sb_ice *ice)
{
	detach_agent(ice);
	g_clear_object(&ice->agent);
}

static void advertise(sb_ice *ice, NiceCandidate *c);
static void add_srflx(sb_ice *ice, sb_media_desc *d, const NiceCandidate *host);

/* What sb_ice_get_local and sb_ice_describe_pair need once the agent
 * is gone: our credentials, the selected local candidate (the only one
 * whose socket stays open) and the pair. */
static bool keep_local(sb_ice *ice, const char *ufrag, const char *pwd)
{
	NiceCandidate *l = NULL, *r = NULL;
	char pair[160];
	if (sb_ice_describe_pair(ice, pair, sizeof(pair)) < 0 ||
	    !nice_agent_get_selected_pair(ice->agent, ice->sid, 1, &l, &r) ||
	    !l)
		return false;
	/* a peer beyond the NAT reached us at the twin: a re-offer must
	 * keep offering it */
	sb_media_desc twin = { .n_cands = 0 };
	add_srflx(ice, &twin, l);
	g_free(ice->kept_srflx);
	ice->kept_srflx = twin.n_cands ? g_strdup(twin.cands[0]) : NULL;
	NiceCandidate *c = nice_candidate_copy(l);
	advertise(ice, c);
	g_autofree gchar *line = nice_agent_generate_local_candidate_sdp(
		ice->agent, c);
	nice_address_to_string(&c->addr, ice->kept_addr);
	ice->kept_port = (uint16_t)nice_address_get_port(&c->addr);
	nice_candidate_free(c);
	if (!line)
		return false;
	g_free(ice->kept_pair);
	ice->kept_pair = g_strdup(pair);
	g_free(ice->kept_cand);
	ice->kept_cand = g_strdup(g_str_has_prefix(line, "a=") ? line + 2 : line);
	g_strlcpy(ice->kept_ufrag, ufrag, sizeof(ice->kept_ufrag));
	g_strlcpy(ice->kept_pwd, pwd, sizeof(ice->kept_pwd));
	return ice->kept_valid = true;
}

static bool direct_params(sb_ice *ice, int fd,
			  struct sockaddr_storage *remote,
			  sb_ice_direct_params *p, gchar **ufrag, gchar **pwd)
{
	NiceCandidate *l = NULL, *r = NULL;
	if (!nice_agent_get_selected_pair(ice->agent, ice->sid, 1, &l, &r) ||
	    !r ||
	    !nice_agent_get_local_credentials(ice->agent, ice->sid, ufrag, pwd))
		return false;
	nice_address_copy_to_sockaddr(&r->addr, (struct sockaddr *)remote);
	*p = (sb_ice_direct_params){
		.fd = fd,
		.remote = (struct sockaddr *)remote,
		.remote_len = remote->ss_family == AF_INET6
				      ? sizeof(struct sockaddr_in6)
				      : sizeof(struct sockaddr_in),
		.local_ufrag = *ufrag,
		.local_pwd = *pwd,
		.remote_ufrag = ice->remote_ufrag ? ice->remote_ufrag : "",
		.remote_pwd = ice->remote_pwd ? ice->remote_pwd : "",
		.controlling = ice->controlling,
		.consent_interval_ms = ice->consent_interval_ms,
		.consent_timeout_ms = ice->consent_timeout_ms,
	};
	return true;
}

/* Idle after READY: libnice has nominated; from now on this worker
 * reads the pair's socket (ice_direct.h). Not done inside the state
 * signal itself, which libnice may emit from its own socket's dispatch. */
static gboolean take_socket(gpointer data)
{
	sb_ice *ice = data;
	g_clear_pointer(&ice->takeover, g_source_unref);
	if (ice->closed || ice->direct || ice->state != SB_ICE_STATE_READY)
		return G_SOURCE_REMOVE;
	/* NULL for TCP or TURN: those stay with libnice */
	GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->sid, 1);
	if (!sock)
		return G_SOURCE_REMOVE;
	struct sockaddr_storage remote;
	sb_ice_direct_params p;
	gchar *ufrag = NULL, *pwd = NULL;
	int fd = fcntl(g_socket_get_fd(sock), F_DUPFD_CLOEXEC, 0);
	g_object_unref(sock);
	if (fd >= 0 && direct_params(ice, fd, &remote, &p, &ufrag, &pwd) &&
	    keep_local(ice, ufrag, pwd))
		ice->direct = sb_ice_direct_new(ice->ctx, &p, &direct_ops, ice);
	g_free(ufrag);
	g_free(pwd);
	if (!ice->direct) {
		if (fd >= 0)
			close(fd);
		return G_SOURCE_REMOVE;
	}
	ice->direct_fd = fd;
	drop_agent(ice);
	return G_SOURCE_REMOVE;
}

static void schedule_takeover(sb_ice *ice)
{
	if (!direct_enabled() || ice->direct || ice->takeover)
		return;
	ice->takeover = g_idle_source_new();
	g_source_set_priority(ice->takeover, G_PRIORITY_DEFAULT);
	g_source_set_callback(ice->takeover, take_socket, ice, NULL);
	g_source_attach(ice->takeover, ice->ctx);
}

/* The one stream (audio, one component), its socket on a port of the
 * range, host candidates gathered (synchronously). */
static int add_stream(sb_ice *ice)
{
	ice->gathered = false;
	ice->sid = nice_agent_add_stream(ice->agent, 1);
	if (ice->sid == 0)
		return -EIO;
	nice_agent_set_stream_name(ice->agent, ice->sid, "audio");
	if (ice->port_min && ice->port_max >= ice->port_min)
		nice_agent_set_port_range(ice->agent, ice->sid, 1,
					  ice->port_min, ice->port_max);
	nice_agent_attach_recv(ice->agent, ice->sid, 1, ice->pump->nice_ctx,
			       on_recv, ice);
	return nice_agent_gather_candidates(ice->agent, ice->sid) ? 0 : -EIO;
}

static int make_agent(sb_ice *ice, const sb_ice_params *p)
{
	NiceAddress addr;

	/* RFC 7675 consent checks on the selected pair, FAILED when the
	 * peer stops answering them for 30 s: ice_direct.c's once it reads
	 * the pair's socket; libnice's only with SB_ICE_VIA_LIBNICE (its
	 * checks would go unanswered once we read the socket). A pair with
	 * no plain socket (TCP, TURN: neither is configured here) has none;
	 * the WebRTC leg's own silence check still ends such a call. */
	ice->agent = nice_agent_new_full(
		ice->pump->nice_ctx, NICE_COMPATIBILITY_RFC5245,
		direct_enabled() ? NICE_AGENT_OPTION_NONE
				 : NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	if (!ice->agent)
		return -EIO;
	g_object_set(ice->agent, "controlling-mode", p->controlling,
		     "ice-tcp", FALSE, "upnp", FALSE, NULL);
	g_signal_connect(ice->agent, "component-state-changed",
			 G_CALLBACK(on_state), ice);
	g_signal_connect(ice->agent, "candidate-gathering-done",
			 G_CALLBACK(on_gathering_done), ice);
	nice_address_init(&addr);
	if (!nice_address_set_from_string(&addr, p->local_addr) ||
	    !nice_agent_add_local_address(ice->agent, &addr))
		return -EINVAL;
	return add_stream(ice);
}

int sb_ice_new(GMainContext *ctx, const sb_ice_params *p,
	       const sb_ice_ops *ops, void *user_data, sb_ice **out)
{
	if (!p->local_addr || !g_hostname_is_ip_address(p->local_addr) ||
	    (p->public_addr && *p->public_addr &&
	     !g_hostname_is_ip_address(p->public_addr)) ||
	    (p->srflx_addr && *p->srflx_addr &&
	     !g_hostname_is_ip_address(p->srflx_addr)))
		return -EINVAL;
	sb_ice *ice = g_new0(sb_ice, 1);
	ice->ctx = g_main_context_ref(ctx);
	ice->pump = pump_get(ctx);
	g_strlcpy(ice->local_addr, p->local_addr, sizeof(ice->local_addr));
	if (p->public_addr)
		g_strlcpy(ice->public_addr, p->public_addr,
			  sizeof(ice->public_addr));
	/* callbacks fire inside gather_candidates already */
	ice->ops = ops;
	ice->user_data = user_data;
	ice->controlling = p->controlling;
	ice->port_min = p->port_min;
	ice->port_max = p->port_max;
	ice->consent_interval_ms = p->consent_interval_ms;
	ice->consent_timeout_ms = p->consent_timeout_ms;
	ice->direct_fd = -1;
	if (p->srflx_addr && (!p->public_addr || !*p->public_addr))
		g_strlcpy(ice->srflx_addr, p->srflx_addr, sizeof(ice->srflx_addr));
	int err = make_agent(ice, p);
	if (err < 0) {
		sb_ice_free(ice);
		return err;
	}
	*out = ice;
	return 0;
}

/* 1:1 NAT: advertise the public address on our host candidates. The
 * peer's checks reach the public address and the NAT maps them to us. */
static void advertise(sb_ice *ice, NiceCandidate *c)
{
	gchar ip[NICE_ADDRESS_STRING_LEN];

	if (!ice->public_addr[0] || c->type != NICE_CANDIDATE_TYPE_HOST)
		return;
	nice_address_to_string(&c->addr, ip);
	if (strcmp(ip, ice->local_addr) != 0)
		return;
	guint port = nice_address_get_port(&c->addr);
	nice_address_set_from_string(&c->addr, ice->public_addr);
	nice_address_set_port(&c->addr, port);
	/* libnice writes "raddr <base>" when addr != base: hide the private
	 * address (this is our copy, not the agent's candidate) */
	c->base_addr = c->addr;
}

static void add_line(sb_ice *ice, sb_media_desc *d, NiceCandidate *c)
{
	if (d->n_cands >= SB_MD_MAX_CANDS)
		return;
	g_autofree gchar *line =
		nice_agent_generate_local_candidate_sdp(ice->agent, c);
	if (!line)
		return;
	const char *v = g_str_has_prefix(line, "a=") ? line + 2 : line;
	g_strlcpy(d->cands[d->n_cands++], v, SB_MD_CAND_LEN);
}

/* media.stun_server: a host candidate's server-reflexive twin at our
 * mapped address, same port (a 1:1 NAT keeps ports), for peers outside
 * the NAT; libnice never learns of it, and needs not: their checks
 * arrive on the host candidate's socket through the NAT. RFC 8445
 * §5.1.2.1 priority with srflx's type preference, 100. */
static void add_srflx(sb_ice *ice, sb_media_desc *d, const NiceCandidate *host)
{
	gchar ip[NICE_ADDRESS_STRING_LEN];
	NiceAddress mapped;
	if (!ice->srflx_addr[0] || host->type != NICE_CANDIDATE_TYPE_HOST)
		return;
	nice_address_to_string(&host->addr, ip);
	nice_address_init(&mapped);
	if (!strcmp(ip, ice->srflx_addr) ||
	    !nice_address_set_from_string(&mapped, ice->srflx_addr) ||
	    mapped.s.addr.sa_family != host->addr.s.addr.sa_family)
		return;
	NiceCandidate *c = nice_candidate_copy(host);
	c->type = NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
	c->base_addr = host->addr;
	c->addr = mapped;
	nice_address_set_port(&c->addr, nice_address_get_port(&host->addr));
	c->priority = (100u << 24) | (host->priority & 0xffffffu);
	g_snprintf(c->foundation, sizeof(c->foundation), "%.8ssrflx", host->foundation);
	add_line(ice, d, c);
	nice_candidate_free(c);
}

static void add_cand(sb_ice *ice, sb_media_desc *d, NiceCandidate *c)
{
	add_srflx(ice, d, c);   /* before advertise() rewrites the copy */
	advertise(ice, c);
	add_line(ice, d, c);
}

/* The c= and m= address (RFC 8839 §4.2.1.2: the default candidate).
 * libnice picks its default among IPv4 candidates only, so an agent on
 * an IPv6 media address has none: then the best of ours (the list of
 * sb_ice_get_local), as it would have chosen among IPv4 ones. */
static void fill_default(sb_ice *ice, GSList *local, sb_media_desc *d)
{
	NiceCandidate *def = nice_agent_get_default_local_candidate(
		ice->agent, ice->sid, 1);
	if (!def && local) {
		NiceCandidate *best = local->data;
		for (GSList *i = local->next; i; i = i->next)
			if (((NiceCandidate *)i->data)->priority > best->priority)
				best = i->data;
		def = nice_candidate_copy(best);
	}
	if (!def)
		return;
	advertise(ice, def);
	nice_address_to_string(&def->addr, d->addr);
	d->port = (uint16_t)nice_address_get_port(&def->addr);
	nice_candidate_free(def);
}

/* The pair is ours and the agent gone: what it said about itself. */
static int get_kept(const sb_ice *ice, sb_media_desc *d)
{
	if (!ice->kept_valid)
		return -EAGAIN;
	g_strlcpy(d->ice_ufrag, ice->kept_ufrag, sizeof(d->ice_ufrag));
	g_strlcpy(d->ice_pwd, ice->kept_pwd, sizeof(d->ice_pwd));
	g_strlcpy(d->cands[0], ice->kept_cand ? ice->kept_cand : "",
		  SB_MD_CAND_LEN);
	d->n_cands = 1;
	if (ice->kept_srflx)
		g_strlcpy(d->cands[d->n_cands++], ice->kept_srflx, SB_MD_CAND_LEN);
	d->end_of_candidates = true;
	g_strlcpy(d->addr, ice->kept_addr, sizeof(d->addr));
	d->port = ice->kept_port;
	return 0;
}

int sb_ice_get_local(sb_ice *ice, sb_media_desc *d)
{
	gchar *ufrag = NULL, *pwd = NULL;

	if (!ice->agent)
		return get_kept(ice, d);
	if (!nice_agent_get_local_credentials(ice->agent, ice->sid, &ufrag,
					      &pwd))
		return -EAGAIN;
	g_strlcpy(d->ice_ufrag, ufrag, sizeof(d->ice_ufrag));
	g_strlcpy(d->ice_pwd, pwd, sizeof(d->ice_pwd));
	g_free(ufrag);
	g_free(pwd);

	GSList *l = nice_agent_get_local_candidates(ice->agent, ice->sid, 1);
	d->n_cands = 0;
	for (GSList *i = l; i; i = i->next)
		add_cand(ice, d, i->data);
	d->end_of_candidates = ice->gathered;
	fill_default(ice, l, d);
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
	return d->n_cands ? 0 : -EAGAIN;
}

/* notes §1 "Parsing the remote side": one line at a time, "a=" prefix,
 * no CR; skip what libnice cannot use rather than failing the call. */
static NiceCandidate *parse_cand(sb_ice *ice, const char *value)
{
	g_autofree char *line = g_strconcat("a=", value, NULL);
	g_strchomp(line);
	char *cr = strpbrk(line, "\r\n");
	if (cr)
		*cr = '\0';
	NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(
		ice->agent, ice->sid, line);
	if (c && (c->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
		  c->component_id != 1)) {
		nice_candidate_free(c);
		return NULL;
	}
	return c;
}

/* A new stream (on a new port, see sb_ice_set_remote) on the agent,
 * or on a new agent when the pair's reading freed the old one. */
static int restart_agent(sb_ice *ice)
{
	if (ice->agent) {
		nice_agent_remove_stream(ice->agent, ice->sid);
		return add_stream(ice);
	}
	ice->kept_valid = false;
	sb_ice_params p = {
		.local_addr = ice->local_addr,
		.controlling = ice->controlling,
	};
	return make_agent(ice, &p);
}

bool sb_ice_is_restart(const sb_ice *ice, const sb_media_desc *remote)
{
	return ice->remote_ufrag &&
	       strcmp(ice->remote_ufrag, remote->ice_ufrag) != 0;
}

int sb_ice_set_remote(sb_ice *ice, const sb_media_desc *remote)
{
	if (!remote->ice_ufrag[0] || !remote->ice_pwd[0])
		return -EINVAL;
	if (ice->closed)
		return -ESHUTDOWN;
	if (sb_ice_is_restart(ice, remote)) {
		/* RFC 8445 §9: new local credentials, checks start over.
		 * On a new stream, so on a new port, not restart_stream:
		 * Chromium pairs its new ports with our old candidate
		 * before our answer arrives and, when the answer names the
		 * same address, keeps pinging it with our old ufrag (the
		 * restart then failed about one time in two). */
		release_socket(ice);
		ice->n_queued = 0;
		ice->state = SB_ICE_STATE_GATHERING;
		int err = restart_agent(ice);
		if (err < 0)
			return err;
	} else if (!ice->agent) {
		/* a re-offer of the same session (hold, resume): the pair is
		 * ours and stays; new candidates have nothing to change */
		return 0;
	}
	g_free(ice->remote_ufrag);
	ice->remote_ufrag = g_strdup(remote->ice_ufrag);
	g_free(ice->remote_pwd);
	ice->remote_pwd = g_strdup(remote->ice_pwd);
	if (!nice_agent_set_remote_credentials(ice->agent, ice->sid,
					       remote->ice_ufrag,
					       remote->ice_pwd))
		return -EINVAL;
	GSList *l = NULL;
	for (unsigned i = 0; i < remote->n_cands && i < SB_MD_MAX_CANDS; i++) {
		NiceCandidate *c = parse_cand(ice, remote->cands[i]);
		if (c)
			l = g_slist_prepend(l, c);
	}
	if (l)
		nice_agent_set_remote_candidates(ice->agent, ice->sid, 1, l);
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
	return 0;
}

int sb_ice_send(sb_ice *ice, const uint8_t *buf, size_t len)
{
	if (ice->closed || ice->state == SB_ICE_STATE_FAILED)
		return -ESHUTDOWN;
	if (len > DGRAM_MAX)
		return -EMSGSIZE;
	if (ice->direct)
		return sb_ice_direct_send(ice->direct, buf, len) == -ESHUTDOWN
			       ? -ESHUTDOWN
			       : 0;
	if (ice->state == SB_ICE_STATE_CONNECTED ||
	    ice->state == SB_ICE_STATE_READY) {
		gint r = nice_agent_send(ice->agent, ice->sid, 1, (guint)len,
					 (const gchar *)buf);
		if (r >= 0)
			return 0;
	}
	if (!ice->queue)
		ice->queue = g_new(queued, QUEUE_SLOTS);
	if (ice->n_queued == QUEUE_SLOTS)
		return -EAGAIN;
	queued *q = &ice->queue[ice->n_queued++];
	q->len = (uint16_t)len;
	memcpy(q->buf, buf, len);
	return 0;
}

static const char *cand_type(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_HOST: return "host";
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return "prflx";
	case NICE_CANDIDATE_TYPE_RELAYED: return "relay";
	}
	return "?";
}

int sb_ice_describe_pair(sb_ice *ice, char *buf, size_t cap)
{
	NiceCandidate *l = NULL, *r = NULL;
	if (!ice->closed && !ice->agent && ice->kept_valid) {
		g_strlcpy(buf, ice->kept_pair ? ice->kept_pair : "", cap);
		return 0;
	}
	if (ice->closed || !ice->agent ||
	    !nice_agent_get_selected_pair(ice->agent, ice->sid, 1, &l, &r) ||
	    !l || !r)
		return -ENOTCONN;
	char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];
	nice_address_to_string(&l->addr, la);
	nice_address_to_string(&r->addr, ra);
	g_snprintf(buf, cap, "%s:%u <-> %s:%u (%s)", la,
		   nice_address_get_port(&l->addr), ra,
		   nice_address_get_port(&r->addr), cand_type(r->type));
	return 0;
}

sb_ice_state sb_ice_get_state(const sb_ice *ice)
{
	return ice->state;
}

const char *sb_ice_failure(const sb_ice *ice)
{
	return ice->failure ? ice->failure : "ICE failed";
}

bool sb_ice_is_direct(const sb_ice *ice)
{
	return ice->direct != NULL;
}

int sb_ice_get_direct_stats(const sb_ice *ice, sb_ice_direct_stats *s)
{
	if (!ice->direct)
		return -ENOTCONN;
	sb_ice_direct_get_stats(ice->direct, s);
	return 0;
}

void sb_ice_close(sb_ice *ice)
{
	if (ice->closed)
		return;
	ice->closed = true;
	ice->ops = NULL;
	ice->user_data = NULL;
	ice->n_queued = 0;
	release_socket(ice);
	/* the agent itself goes in sb_ice_free: close may run inside one
	 * of its signals */
	detach_agent(ice);
}

void sb_ice_free(sb_ice *ice)
{
	if (!ice)
		return;
	sb_ice_close(ice);
	if (ice->agent)
		g_object_unref(ice->agent);
	g_slist_free_full(ice->retired, (GDestroyNotify)sb_ice_direct_free);
	g_free(ice->remote_ufrag);
	g_free(ice->remote_pwd);
	g_free(ice->kept_cand);
	g_free(ice->kept_srflx);
	g_free(ice->kept_pair);
	pump_unref(ice->pump);
	g_main_context_unref(ice->ctx);
	g_free(ice->queue);
	g_free(ice);
}
