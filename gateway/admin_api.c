/* Admin API: a route table over sb_admin_provider, JSON built with
 * jansson, and the pure media diagnosis. Signalling thread only. */
#include "gateway/admin_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/metrics.h"

#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* ---- diagnosis (pure) ----------------------------------------------------- */

static const char *const verdict_texts[SB_VERDICT_COUNT] = {
	[SB_VERDICT_OK] = "media flowing both ways",
	[SB_VERDICT_NOT_ANSWERED] = "not answered yet",
	[SB_VERDICT_WAITING] = "waiting for media",
	[SB_VERDICT_ICE_FAILED] = "ICE never connected",
	[SB_VERDICT_DTLS_INCOMPLETE] = "DTLS never completed",
	[SB_VERDICT_PRIVATE_ADDR] = "private address in the peer's SDP",
	[SB_VERDICT_PT_MISMATCH] = "payload type mismatch",
	[SB_VERDICT_NO_RTP_SIP] = "no RTP from the SIP side",
	[SB_VERDICT_NO_RTP_BROWSER] = "no RTP from the browser",
};

const char *sb_verdict_text(sb_verdict v)
{
	return (unsigned)v < SB_VERDICT_COUNT ? verdict_texts[v] : "unknown";
}

static bool v4_private(uint32_t a)
{
	return (a >> 24) == 10 ||                       /* 10/8 */
	       (a >> 20) == ((172u << 4) | 1) ||        /* 172.16/12 */
	       (a >> 16) == ((192u << 8) | 168) ||      /* 192.168/16 */
	       (a >> 22) == ((100u << 2) | 1) ||        /* 100.64/10 */
	       (a >> 16) == ((169u << 8) | 254);        /* 169.254/16 */
}

bool sb_admin_addr_is_private(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (!ip || !*ip)
		return false;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return v4_private(ntohl(a4.s_addr));
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		uint32_t v;
		memcpy(&v, &a6.s6_addr[12], 4);
		return v4_private(ntohl(v));
	}
	return (a6.s6_addr[0] & 0xfe) == 0xfc ||                          /* fc00::/7 */
	       (a6.s6_addr[0] == 0xfe && (a6.s6_addr[1] & 0xc0) == 0x80); /* fe80::/10 */
}

void sb_media_timeline_init(sb_media_timeline *t)
{
	memset(t, 0, sizeof(*t));
	t->answered_at = t->ice_connected_at = t->dtls_done_at = SB_ADMIN_NEVER;
	for (int i = 0; i < 2; i++)
		t->first_rtp_in[i] = t->first_rtp_out[i] = SB_ADMIN_NEVER;
}

#define BIT(v) (1u << (v))

/* ICE/DTLS problems of the WebRTC side(s); true when the transport is
 * the explanation for anything missing after it. */
static bool transport_problems(const sb_media_timeline *t, bool late,
			       uint32_t *mask)
{
	if (!t->webrtc[0] && !t->webrtc[1])
		return false;
	if (t->ice_failed || (late && t->ice_connected_at == SB_ADMIN_NEVER)) {
		*mask |= BIT(SB_VERDICT_ICE_FAILED);
		return true;
	}
	if (t->dtls_failed || (late && t->dtls_done_at == SB_ADMIN_NEVER)) {
		*mask |= BIT(SB_VERDICT_DTLS_INCOMPLETE);
		return true;
	}
	return false;
}

/* Our address is private or loopback: a private peer is then likely on
 * our own network, and reachable. */
static bool unreachable_private(const sb_media_timeline *t, int side)
{
	if (!sb_admin_addr_is_private(t->sdp_addr[side]))
		return false;
	const char *l = t->local_addr;
	return *l && !sb_admin_addr_is_private(l) && strncmp(l, "127.", 4) &&
	       strcmp(l, "::1");
}

static void missing_rtp(const sb_media_timeline *t, bool transport_bad,
			uint32_t *mask)
{
	for (int side = 0; side < 2; side++) {
		if (t->first_rtp_in[side] != SB_ADMIN_NEVER)
			continue;
		if (t->webrtc[side] && transport_bad)
			continue;
		*mask |= BIT(side == SB_ADMIN_SIP ? SB_VERDICT_NO_RTP_SIP
					: SB_VERDICT_NO_RTP_BROWSER);
		if (unreachable_private(t, side))
			*mask |= BIT(SB_VERDICT_PRIVATE_ADDR);
	}
}

uint32_t sb_media_diagnose(const sb_media_timeline *t, gint64 now_ms,
			   sb_verdict *primary)
{
	bool answered = t->answered_at != SB_ADMIN_NEVER;
	bool late = answered && now_ms - t->answered_at >= SB_MEDIA_GRACE_MS;
	uint32_t mask = 0;
	bool transport_bad = transport_problems(t, late, &mask);
	for (int side = 0; side < 2; side++)
		if (t->pt_mismatch[side])
			mask |= BIT(SB_VERDICT_PT_MISMATCH);
	if (late)
		missing_rtp(t, transport_bad, &mask);

	sb_verdict v = !answered ? SB_VERDICT_NOT_ANSWERED
		       : !late ? SB_VERDICT_WAITING : SB_VERDICT_OK;
	for (int i = SB_VERDICT_ICE_FAILED; i < SB_VERDICT_COUNT; i++)
		if (mask & BIT(i)) {
			v = (sb_verdict)i;
			break;
		}
	if (primary)
		*primary = v;
	return mask;
}

/* ---- data objects ------------------------------------------------------- */

sb_admin_call *sb_admin_call_new(const char *call_id, const char *from,
				 const char *to)
{
	sb_admin_call *c = g_new0(sb_admin_call, 1);
	c->call_id = g_strdup(call_id ? call_id : "");
	c->from = g_strdup(from ? from : "");
	c->to = g_strdup(to ? to : "");
	c->worker = -1;
	c->stats_age_ms = -1;
	sb_media_timeline_init(&c->timeline);
	return c;
}

void sb_admin_call_free(sb_admin_call *c)
{
	if (!c)
		return;
	g_free(c->call_id);
	g_free(c->from);
	g_free(c->to);
	g_free(c);
}

sb_admin_registration *sb_admin_registration_new(const char *aor,
	const char *contact, const char *source, const char *user_agent,
	gint64 expires_in_s)
{
	sb_admin_registration *r = g_new0(sb_admin_registration, 1);
	r->aor = g_strdup(aor ? aor : "");
	r->contact = g_strdup(contact ? contact : "");
	r->source = g_strdup(source ? source : "");
	r->user_agent = g_strdup(user_agent ? user_agent : "");
	r->expires_in_s = expires_in_s;
	return r;
}

void sb_admin_registration_free(sb_admin_registration *r)
{
	if (!r)
		return;
	g_free(r->aor);
	g_free(r->contact);
	g_free(r->source);
	g_free(r->user_agent);
	g_free(r->registrar_contact);
	g_free(r->registrar);
	g_free(r);
}

/* ---- JSON --------------------------------------------------------------- */

static const char *const side_names[2] = { "browser", "sip" };

/* Call-IDs, URIs and User-Agents come off the wire: jansson refuses
 * invalid UTF-8, so repair it instead of losing the whole object. */
static json_t *jstr(const char *s)
{
	if (!s)
		return json_string("");
	if (g_utf8_validate(s, -1, NULL))
		return json_string(s);
	g_autofree char *v = g_utf8_make_valid(s, -1);
	return json_string(v);
}

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, jstr(v));
}

static void set_int(json_t *o, const char *key, gint64 v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *ms_or_null(gint64 v)
{
	return v == SB_ADMIN_NEVER ? json_null() : json_integer(v);
}

static json_t *leg_json(const sb_admin_leg *l)
{
	const sb_leg_stats *s = &l->stats;
	json_t *o = json_object();
	set_str(o, "codec", l->codec);
	set_str(o, "remote", l->remote);
	set_int(o, "rx_packets", (gint64)s->rx_packets);
	set_int(o, "rx_bytes", (gint64)s->rx_octets);
	set_int(o, "tx_packets", (gint64)s->tx_packets);
	set_int(o, "tx_bytes", (gint64)s->tx_octets);
	set_int(o, "rx_dropped", (gint64)s->rx_dropped);
	set_int(o, "tx_dropped", (gint64)s->tx_dropped);
	set_int(o, "rtcp_rx", (gint64)s->rtcp_rx);
	set_int(o, "rtcp_tx", (gint64)s->rtcp_tx);
	set_int(o, "stun_rx", (gint64)s->stun_rx);
	set_int(o, "consent_ok", (gint64)s->consent_ok);
	set_int(o, "lost", (gint64)l->lost);
	json_object_set_new(o, "jitter_ms", json_real(l->jitter_ms));
	/* null until the peer has answered one of our SRs */
	json_object_set_new(o, "rtt_ms", s->rtt_us ?
			    json_real(s->rtt_us / 1000.0) : json_null());
	return o;
}

static json_t *timeline_json(const sb_media_timeline *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "answered_ms", ms_or_null(t->answered_at));
	json_object_set_new(o, "ice_connected_ms", ms_or_null(t->ice_connected_at));
	json_object_set_new(o, "dtls_done_ms", ms_or_null(t->dtls_done_at));
	json_t *in = json_object(), *out = json_object(), *addr = json_object();
	json_t *pt = json_object();
	for (int i = 0; i < 2; i++) {
		json_object_set_new(in, side_names[i], ms_or_null(t->first_rtp_in[i]));
		json_object_set_new(out, side_names[i], ms_or_null(t->first_rtp_out[i]));
		set_str(addr, side_names[i], t->sdp_addr[i]);
		set_int(pt, side_names[i], (gint64)t->pt_mismatch[i]);
	}
	json_object_set_new(o, "first_rtp_from", in);
	json_object_set_new(o, "first_rtp_to", out);
	json_object_set_new(o, "sdp_address", addr);
	set_str(o, "local_address", t->local_addr);
	json_object_set_new(o, "payload_type_mismatch", pt);
	json_object_set_new(o, "ice_failed", json_boolean(t->ice_failed));
	json_object_set_new(o, "dtls_failed", json_boolean(t->dtls_failed));
	return o;
}

/* Summary fields, plus verdict: what GET /api/calls lists. */
static json_t *call_summary(const sb_admin_call *c)
{
	sb_verdict v;
	sb_media_diagnose(&c->timeline, c->age_ms, &v);
	json_t *o = json_object();
	set_str(o, "call_id", c->call_id);
	set_str(o, "from", c->from);
	set_str(o, "to", c->to);
	set_str(o, "state", c->state);
	set_str(o, "direction", c->direction);
	set_int(o, "start_ms", c->start_unix_ms);
	set_int(o, "age_ms", c->age_ms);
	json_object_set_new(o, "worker", c->worker < 0 ? json_null()
						      : json_integer(c->worker));
	json_object_set_new(o, "transcoded", json_boolean(c->transcoded));
	json_object_set_new(o, "stats_age_ms", c->stats_age_ms < 0 ? json_null()
			    : json_integer((json_int_t)c->stats_age_ms));
	/* the codecs belong in the list: "which calls transcode, which run
	 * G.711" is the first question when CPU or quality goes bad */
	json_t *codecs = json_object();
	for (int i = 0; i < 2; i++)
		set_str(codecs, side_names[i], c->leg[i].codec);
	json_object_set_new(o, "codecs", codecs);
	set_str(o, "verdict", sb_verdict_text(v));
	return o;
}

static json_t *call_detail(const sb_admin_call *c)
{
	json_t *o = call_summary(c);
	json_t *legs = json_object();
	for (int i = 0; i < 2; i++)
		json_object_set_new(legs, side_names[i], leg_json(&c->leg[i]));
	json_object_set_new(o, "legs", legs);
	json_object_set_new(o, "timeline", timeline_json(&c->timeline));
	uint32_t mask = sb_media_diagnose(&c->timeline, c->age_ms, NULL);
	json_t *problems = json_array();
	for (int i = SB_VERDICT_ICE_FAILED; i < SB_VERDICT_COUNT; i++)
		if (mask & BIT(i))
			json_array_append_new(problems,
					      json_string(sb_verdict_text(i)));
	json_object_set_new(o, "problems", problems);
	return o;
}

static json_t *registration_json(const sb_admin_registration *r)
{
	json_t *o = json_object();
	set_str(o, "aor", r->aor);
	set_str(o, "contact", r->contact);
	set_str(o, "source", r->source);
	set_str(o, "user_agent", r->user_agent);
	set_int(o, "expires_in_s", r->expires_in_s);
	set_str(o, "registrar_contact", r->registrar_contact ? r->registrar_contact : "");
	set_str(o, "registrar", r->registrar ? r->registrar : "");
	set_int(o, "connection_id", (gint64)r->connection_id);
	set_int(o, "expires_s", r->expires_s);
	set_int(o, "registered_unix_ms", r->registered_unix_ms);
	return o;
}

/* ---- responses ---------------------------------------------------------- */

typedef struct reply {
	int status;
	char *body;
	const char *ctype;
} reply;

/* Takes o. Strings from jansson are malloc'd: copy into GLib memory. */
static int send_json(reply *r, int status, json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	r->status = status;
	r->ctype = CT_JSON;
	r->body = g_strdup_printf("%s\n", s ? s : "{}");
	free(s);
	return status;
}

static int send_error(reply *r, int status, const char *msg)
{
	json_t *o = json_object();
	set_str(o, "error", msg);   /* may quote a config file line */
	return send_json(r, status, o);
}

static int not_provided(reply *r)
{
	return send_error(r, 501, "not available in this daemon");
}

/* ---- handlers ----------------------------------------------------------- */

typedef int (*handler)(const sb_admin_provider *p, const char *arg, reply *r);

static int h_metrics(const sb_admin_provider *p, const char *arg, reply *r)
{
	r->status = 200;
	r->ctype = CT_METRICS;
	r->body = p->metrics ? p->metrics(p->user_data) : sb_metrics_render();
	if (!r->body)
		r->body = g_strdup("");
	return 200;
}

static int h_calls(const sb_admin_provider *p, const char *arg, reply *r)
{
	if (!p->list_calls)
		return not_provided(r);
	g_autoptr(GPtrArray) calls =
		g_ptr_array_new_with_free_func((GDestroyNotify)sb_admin_call_free);
	int rc = p->list_calls(calls, p->user_data);
	if (rc < 0)
		return send_error(r, 500, g_strerror(-rc));
	json_t *arr = json_array();
	for (guint i = 0; i < calls->len; i++)
		json_array_append_new(arr, call_summary(calls->pdata[i]));
	return send_json(r, 200, json_pack("{s:I, s:o}", "count",
		(json_int_t)calls->len, "calls", arr));
}

static int h_call(const sb_admin_provider *p, const char *id, reply *r)
{
	if (!p->get_call)
		return not_provided(r);
	sb_admin_call *c = p->get_call(id, p->user_data);
	if (!c)
		return send_error(r, 404, "no such call");
	json_t *o = call_detail(c);
	sb_admin_call_free(c);
	return send_json(r, 200, o);
}

static int h_hang_up(const sb_admin_provider *p, const char *id, reply *r)
{
	if (!p->hang_up)
		return not_provided(r);
	int rc = p->hang_up(id, p->user_data);
	if (rc == -ENOENT)
		return send_error(r, 404, "no such call");
	if (rc < 0)
		return send_error(r, 500, g_strerror(-rc));
	json_t *o = json_object();
	set_str(o, "hung_up", id);
	return send_json(r, 200, o);
}

static int h_registrations(const sb_admin_provider *p, const char *arg,
			   reply *r)
{
	if (!p->list_registrations)
		return not_provided(r);
	g_autoptr(GPtrArray) regs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)sb_admin_registration_free);
	int rc = p->list_registrations(regs, p->user_data);
	if (rc < 0)
		return send_error(r, 500, g_strerror(-rc));
	json_t *arr = json_array();
	for (guint i = 0; i < regs->len; i++)
		json_array_append_new(arr, registration_json(regs->pdata[i]));
	return send_json(r, 200, json_pack("{s:I, s:o}", "count",
		(json_int_t)regs->len, "registrations", arr));
}

static int h_drain(const sb_admin_provider *p, const char *arg, reply *r)
{
	if (!p->drain)
		return not_provided(r);
	int rc = p->drain(p->user_data);
	if (rc < 0 && rc != -EALREADY)
		return send_error(r, 500, g_strerror(-rc));
	return send_json(r, rc ? 200 : 202, json_pack("{s:b}", "draining", 1));
}

static int h_reload(const sb_admin_provider *p, const char *arg, reply *r)
{
	if (!p->reload)
		return not_provided(r);
	g_autofree char *error = NULL;
	int rc = p->reload(&error, p->user_data);
	if (rc < 0)
		return send_error(r, rc == -EINVAL ? 400 : 500,
				  error ? error : g_strerror(-rc));
	return send_json(r, 200, json_pack("{s:b}", "reloaded", 1));
}

/* ---- routing ------------------------------------------------------------ */

typedef struct route {
	const char *method;
	const char *path;      /* exact, or a prefix followed by {call-id} */
	bool with_id;
	handler fn;
} route;

static const route routes[] = {
	{ "GET", "/metrics", false, h_metrics },
	{ "GET", "/api/calls", false, h_calls },
	{ "GET", "/api/calls/", true, h_call },
	{ "DELETE", "/api/calls/", true, h_hang_up },
	{ "GET", "/api/registrations", false, h_registrations },
	{ "POST", "/api/drain", false, h_drain },
	{ "POST", "/api/reload", false, h_reload },
};

/* The {call-id} part, or NULL when path does not match rt. */
static const char *match(const route *rt, const char *path)
{
	if (!rt->with_id)
		return strcmp(path, rt->path) ? NULL : "";
	size_t n = strlen(rt->path);
	if (strncmp(path, rt->path, n) || !path[n])
		return NULL;
	return path + n;
}

/* "/api/calls/" is "/api/calls"; but "/api/calls/x/" keeps its slash,
 * which may belong to a Call-ID. */
static void strip_slash(char *path)
{
	size_t n = strlen(path);
	if (n < 2 || path[n - 1] != '/')
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(routes); i++)
		if (!routes[i].with_id && strlen(routes[i].path) == n - 1 &&
		    !strncmp(routes[i].path, path, n - 1))
			path[n - 1] = '\0';
}

static int dispatch(const sb_admin_provider *p, const char *method,
		    const char *path, reply *r)
{
	GString *allow = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(routes); i++) {
		const char *arg = match(&routes[i], path);
		if (!arg)
			continue;
		if (!strcmp(method, routes[i].method)) {
			if (allow)
				g_string_free(allow, TRUE);
			return routes[i].fn(p, arg, r);
		}
		if (!allow)
			allow = g_string_new(routes[i].method);
		else
			g_string_append_printf(allow, ", %s", routes[i].method);
	}
	if (!allow)
		return send_error(r, 404, "not found");
	int st = send_json(r, 405, json_pack("{s:s, s:s}", "error",
				"method not allowed", "allow", allow->str));
	g_string_free(allow, TRUE);
	return st;
}

int sb_admin_handle(const sb_admin_provider *p, const char *method,
		    const char *path, char **body, const char **content_type)
{
	reply r = { 0 };
	if (!p || !method || !path) {
		send_error(&r, 500, "admin API not configured");
	} else {
		/* ignore a query string */
		g_autofree char *clean = g_strndup(path, strcspn(path, "?"));
		strip_slash(clean);
		dispatch(p, method, clean, &r);
	}
	*body = r.body;
	*content_type = r.ctype;
	return r.status;
}

int sb_admin_http_cb(const char *method, const char *path, char **body,
		     const char **content_type, void *user_data)
{
	return sb_admin_handle(user_data, method, path, body, content_type);
}
