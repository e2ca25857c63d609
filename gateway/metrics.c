/* Prometheus registry and text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), plus
 * the pure helpers workers use to fill their media samples, plus the
 * daemon's own families (last part of the file). The registry is
 * signalling-thread only (see metrics.h). */
#include "gateway/metrics.h"

#include <math.h>
#include <string.h>

#include "webrtc/media_session.h"
#include "webrtc/residence.h"

#define SB_METRICS_PREFIX "sipbridge_"

/* Samples are indexed by sb_leg_kind. */
G_STATIC_ASSERT(SB_METRICS_LEG_WEBRTC == SB_LEG_KIND_WEBRTC);
G_STATIC_ASSERT(SB_METRICS_LEG_RTP == SB_LEG_KIND_RTP);
G_STATIC_ASSERT(SB_METRICS_LEG_ECHO == SB_LEG_KIND_ECHO);
G_STATIC_ASSERT(SB_METRICS_LEG_CONF == SB_LEG_KIND_CONF);

typedef struct child {
	char **values;            /* owned, n_labels strings */
	double value;             /* counter, gauge */
	uint64_t buckets[SB_METRIC_MAX_BUCKETS + 1]; /* non-cumulative */
	uint64_t count;
	double sum;
} child;

struct sb_metric {
	sb_metric_type type;
	char *name;                 /* owned, without prefix */
	char *help;                 /* owned */
	char *labels[SB_METRIC_MAX_LABELS];   /* owned */
	unsigned n_labels;
	double bounds[SB_METRIC_MAX_BUCKETS];
	size_t n_bounds;
	GPtrArray *children;        /* owned child *, insertion order */
	GHashTable *index;          /* key -> child (borrowed) */
};

struct sb_metrics_registry {
	GPtrArray *families;        /* owned sb_metric *, declaration order */
	GHashTable *by_name;        /* name -> family (borrowed) */
	sb_metrics_collect_cb collect;
	void *collect_data;
};

/* ---- families and children ------------------------------------------- */

static void child_free(gpointer p)
{
	child *c = p;
	g_strfreev(c->values);
	g_free(c);
}

static void metric_free(gpointer p)
{
	sb_metric *m = p;
	g_hash_table_destroy(m->index);
	g_ptr_array_free(m->children, TRUE);
	for (unsigned i = 0; i < m->n_labels; i++)
		g_free(m->labels[i]);
	g_free(m->name);
	g_free(m->help);
	g_free(m);
}

sb_metrics_registry *sb_metrics_registry_new(void)
{
	sb_metrics_registry *r = g_new0(sb_metrics_registry, 1);
	r->families = g_ptr_array_new_with_free_func(metric_free);
	r->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	return r;
}

void sb_metrics_registry_free(sb_metrics_registry *r)
{
	if (!r)
		return;
	g_hash_table_destroy(r->by_name);
	g_ptr_array_free(r->families, TRUE);
	g_free(r);
}

void sb_metrics_registry_set_collector(sb_metrics_registry *r,
				       sb_metrics_collect_cb cb, void *user_data)
{
	r->collect = cb;
	r->collect_data = user_data;
}

/* Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':'),
 * and label names starting with "__" are reserved. */
static bool valid_name(const char *s, bool label)
{
	if (!s || !*s || g_ascii_isdigit(*s))
		return false;
	if (label && g_str_has_prefix(s, "__"))
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '_' && (label || *s != ':'))
			return false;
	return true;
}

static bool valid_labels(const char *const *labels, unsigned *n)
{
	*n = 0;
	for (; labels && labels[*n]; (*n)++)
		if (*n >= SB_METRIC_MAX_LABELS || !valid_name(labels[*n], true) ||
		    !strcmp(labels[*n], "le"))
			return false;
	return true;
}

static sb_metric *declare(sb_metrics_registry *r, sb_metric_type type,
			  const char *name, const char *help,
			  const char *const *labels)
{
	unsigned n;
	g_return_val_if_fail(r != NULL, NULL);
	if (!valid_name(name, false) || !valid_labels(labels, &n) ||
	    g_hash_table_contains(r->by_name, name))
		return NULL;
	sb_metric *m = g_new0(sb_metric, 1);
	m->type = type;
	m->name = g_strdup(name);
	m->help = g_strdup(help ? help : "");
	m->n_labels = n;
	for (unsigned i = 0; i < n; i++)
		m->labels[i] = g_strdup(labels[i]);
	m->children = g_ptr_array_new_with_free_func(child_free);
	m->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_ptr_array_add(r->families, m);
	g_hash_table_insert(r->by_name, m->name, m);
	return m;
}

static child *get_child(sb_metric *m, const char *const *values, bool create);

sb_metric *sb_metrics_counter(sb_metrics_registry *r, const char *name,
			      const char *help, const char *const *labels)
{
	sb_metric *m = declare(r, SB_METRIC_COUNTER, name, help, labels);
	if (m && !m->n_labels)
		get_child(m, NULL, true);   /* an unlabelled series shows 0 */
	return m;
}

sb_metric *sb_metrics_gauge(sb_metrics_registry *r, const char *name,
			    const char *help, const char *const *labels)
{
	sb_metric *m = declare(r, SB_METRIC_GAUGE, name, help, labels);
	if (m && !m->n_labels)
		get_child(m, NULL, true);
	return m;
}

sb_metric *sb_metrics_histogram(sb_metrics_registry *r, const char *name,
				const char *help, const char *const *labels,
				const double *bounds, size_t n_bounds)
{
	if (!bounds || !n_bounds || n_bounds > SB_METRIC_MAX_BUCKETS)
		return NULL;
	for (size_t i = 0; i < n_bounds; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return NULL;
	sb_metric *m = declare(r, SB_METRIC_HISTOGRAM, name, help, labels);
	if (!m)
		return NULL;
	memcpy(m->bounds, bounds, n_bounds * sizeof(*bounds));
	m->n_bounds = n_bounds;
	if (!m->n_labels)
		get_child(m, NULL, true);
	return m;
}

/* Length-prefixed so that no value can imitate a separator. */
static char *child_key(const sb_metric *m, const char *const *values)
{
	GString *k = g_string_new(NULL);
	for (unsigned i = 0; i < m->n_labels; i++) {
		const char *v = values[i] ? values[i] : "";
		g_string_append_printf(k, "%zu:%s", strlen(v), v);
	}
	return g_string_free(k, FALSE);
}

static const char *const other_values[SB_METRIC_MAX_LABELS] = {
	"other", "other", "other", "other"
};

static child *get_child(sb_metric *m, const char *const *values, bool create)
{
	if (m->n_labels && !values)
		return NULL;
	char *key = child_key(m, values);
	child *c = g_hash_table_lookup(m->index, key);
	if (c || !create) {
		g_free(key);
		return c;
	}
	if (m->children->len >= SB_METRIC_MAX_CHILDREN - 1 &&
	    values != other_values) {
		g_free(key);
		return get_child(m, other_values, true);
	}
	c = g_new0(child, 1);
	c->values = g_new0(char *, m->n_labels + 1);
	for (unsigned i = 0; i < m->n_labels; i++)
		/* the exposition format is UTF-8; a peer's reason may not be */
		c->values[i] = g_utf8_make_valid(values[i] ? values[i] : "", -1);
	g_ptr_array_add(m->children, c);
	g_hash_table_insert(m->index, key, c);
	return c;
}

void sb_metric_add(sb_metric *m, const char *const *values, double v)
{
	if (!m || m->type == SB_METRIC_HISTOGRAM || isnan(v) ||
	    (m->type == SB_METRIC_COUNTER && v < 0))
		return;
	child *c = get_child(m, values, true);
	if (c)
		c->value += v;
}

void sb_metric_set(sb_metric *m, const char *const *values, double v)
{
	if (!m || m->type != SB_METRIC_GAUGE)
		return;
	child *c = get_child(m, values, true);
	if (c)
		c->value = v;
}

static size_t bucket_of(const double *bounds, size_t n, double v)
{
	size_t i = 0;
	while (i < n && v > bounds[i])   /* le: v <= bound */
		i++;
	return i;
}

void sb_metric_observe(sb_metric *m, const char *const *values, double v)
{
	if (!m || m->type != SB_METRIC_HISTOGRAM || isnan(v))
		return;
	child *c = get_child(m, values, true);
	if (!c)
		return;
	c->buckets[bucket_of(m->bounds, m->n_bounds, v)]++;
	c->count++;
	c->sum += v;
}

double sb_metric_value(const sb_metric *m, const char *const *values)
{
	if (!m)
		return 0;
	child *c = get_child((sb_metric *)m, values, false);
	if (!c)
		return 0;
	return m->type == SB_METRIC_HISTOGRAM ? (double)c->count : c->value;
}

void sb_metric_clear(sb_metric *m)
{
	if (!m || m->type != SB_METRIC_GAUGE || !m->n_labels)
		return;
	g_hash_table_remove_all(m->index);
	g_ptr_array_set_size(m->children, 0);
}

/* Counters fed from worker samples hold totals computed elsewhere. */
static void counter_set(sb_metric *m, const char *const *values, double v)
{
	child *c = m ? get_child(m, values, true) : NULL;
	if (c)
		c->value = v;
}

/* A histogram whose counts are kept elsewhere (a worker's sample):
 * n non-cumulative counts, the last one above every bound. */
static void histogram_set(sb_metric *m, const uint64_t *counts, unsigned n,
			  double sum)
{
	child *c = m ? get_child(m, NULL, true) : NULL;
	if (!c)
		return;
	c->count = 0;
	for (unsigned i = 0; i < n; i++) {
		c->buckets[i] = counts[i];
		c->count += counts[i];
	}
	c->sum = sum;
}

/* ---- exposition -------------------------------------------------------- */

static void append_escaped(GString *s, const char *v, bool quote)
{
	for (; *v; v++) {
		if (*v == '\\')
			g_string_append(s, "\\\\");
		else if (*v == '\n')
			g_string_append(s, "\\n");
		else if (quote && *v == '"')
			g_string_append(s, "\\\"");
		else
			g_string_append_c(s, *v);
	}
}

static void append_number(GString *s, double v)
{
	if (isnan(v)) {
		g_string_append(s, "NaN");
	} else if (isinf(v)) {
		g_string_append(s, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		g_string_append_printf(s, "%" G_GINT64_FORMAT, (gint64)v);
	} else {
		char buf[G_ASCII_DTOSTR_BUF_SIZE];
		g_string_append(s, g_ascii_formatd(buf, sizeof(buf), "%.12g", v));
	}
}

/* name{l1="v1",...[,le="x"]} value */
static void append_sample(GString *s, const sb_metric *m, const char *suffix,
			  const child *c, const char *le, double v)
{
	g_string_append_printf(s, SB_METRICS_PREFIX "%s%s", m->name, suffix);
	if (m->n_labels || le) {
		g_string_append_c(s, '{');
		for (unsigned i = 0; i < m->n_labels; i++) {
			g_string_append_printf(s, "%s%s=\"", i ? "," : "",
					       m->labels[i]);
			append_escaped(s, c->values[i], true);
			g_string_append_c(s, '"');
		}
		if (le)
			g_string_append_printf(s, "%sle=\"%s\"",
					       m->n_labels ? "," : "", le);
		g_string_append_c(s, '}');
	}
	g_string_append_c(s, ' ');
	append_number(s, v);
	g_string_append_c(s, '\n');
}

static void render_histogram(GString *s, const sb_metric *m, const child *c)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < m->n_bounds; i++) {
		char le[G_ASCII_DTOSTR_BUF_SIZE];
		g_ascii_formatd(le, sizeof(le), "%.12g", m->bounds[i]);
		cum += c->buckets[i];
		append_sample(s, m, "_bucket", c, le, (double)cum);
	}
	append_sample(s, m, "_bucket", c, "+Inf", (double)c->count);
	append_sample(s, m, "_sum", c, NULL, c->sum);
	append_sample(s, m, "_count", c, NULL, (double)c->count);
}

static const char *type_name(sb_metric_type t)
{
	return t == SB_METRIC_COUNTER ? "counter"
	       : t == SB_METRIC_GAUGE ? "gauge" : "histogram";
}

static void render_family(GString *s, const sb_metric *m)
{
	g_string_append_printf(s, "# HELP " SB_METRICS_PREFIX "%s ", m->name);
	append_escaped(s, m->help, false);
	g_string_append_printf(s, "\n# TYPE " SB_METRICS_PREFIX "%s %s\n",
			       m->name, type_name(m->type));
	for (guint i = 0; i < m->children->len; i++) {
		const child *c = m->children->pdata[i];
		if (m->type == SB_METRIC_HISTOGRAM)
			render_histogram(s, m, c);
		else
			append_sample(s, m, "", c, NULL, c->value);
	}
}

char *sb_metrics_registry_render(sb_metrics_registry *r)
{
	if (r->collect)
		r->collect(r, r->collect_data);
	GString *s = g_string_sized_new(4096);
	for (guint i = 0; i < r->families->len; i++)
		render_family(s, r->families->pdata[i]);
	return g_string_free(s, FALSE);
}

/* ---- worker samples (pure) --------------------------------------------- */

const double sb_metrics_pkt_bounds[SB_METRICS_PKT_BUCKETS] = {
	5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3
};

uint64_t sb_metrics_rtcp_lost(const sb_rtcp_rx *rx)
{
	if (!rx->active)
		return 0;
	/* RFC 3550 A.3: expected = extended max - base + 1 */
	uint64_t ext_max = (uint64_t)rx->cycles + rx->max_seq;
	uint64_t expected = ext_max + 1 - rx->base_seq;
	return expected > rx->received ? expected - rx->received : 0;
}

void sb_metrics_sample_add_leg(sb_metrics_media_sample *s, unsigned kind,
			       const sb_leg_stats *st, uint64_t lost,
			       uint64_t late)
{
	if (kind >= SB_METRICS_LEG_KINDS)
		return;
	s->packets[kind][SB_METRICS_RX] += st->rx_packets;
	s->packets[kind][SB_METRICS_TX] += st->tx_packets;
	s->bytes[kind][SB_METRICS_RX] += st->rx_octets;
	s->bytes[kind][SB_METRICS_TX] += st->tx_octets;
	s->dropped[kind][SB_METRICS_RX] += st->rx_dropped;
	s->dropped[kind][SB_METRICS_TX] += st->tx_dropped;
	s->lost[kind] += lost;
	s->late[kind] += late;
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
	g_strlcpy(dst, src ? src : "", cap);
	for (char *p = dst; *p; p++)
		*p = g_ascii_tolower(*p);
}

static int find_pair(const sb_metrics_media_sample *s, const char *x,
		     const char *y)
{
	for (unsigned i = 0; i < s->n_xcode; i++)
		if (!strcmp(s->xcode[i].a, x) && !strcmp(s->xcode[i].b, y))
			return (int)i;
	return -1;
}

static void add_pair(sb_metrics_media_sample *s, const char *a, const char *b,
		     unsigned n)
{
	char x[16], y[16];
	lower_copy(x, sizeof(x), a);
	lower_copy(y, sizeof(y), b);
	if (strcmp(x, y) > 0) {     /* opus/pcmu and pcmu/opus are one pair */
		lower_copy(x, sizeof(x), b);
		lower_copy(y, sizeof(y), a);
	}
	int i = find_pair(s, x, y);
	if (i < 0) {
		bool other = !strcmp(x, "other") && !strcmp(y, "other");
		/* the last slot is kept for other/other */
		if (!other && s->n_xcode >= SB_METRICS_MAX_XCODE_PAIRS - 1) {
			add_pair(s, "other", "other", n);
			return;
		}
		if (s->n_xcode >= SB_METRICS_MAX_XCODE_PAIRS)
			return;
		i = (int)s->n_xcode++;
		memcpy(s->xcode[i].a, x, sizeof(x));
		memcpy(s->xcode[i].b, y, sizeof(y));
		s->xcode[i].sessions = 0;
	}
	s->xcode[i].sessions += n;
}

void sb_metrics_sample_add_xcode(sb_metrics_media_sample *s, const char *a,
				 const char *b)
{
	add_pair(s, a, b, 1);
}

void sb_metrics_sample_observe_pkt(sb_metrics_media_sample *s, double seconds)
{
	if (isnan(seconds))
		return;
	s->pkt_time[bucket_of(sb_metrics_pkt_bounds, SB_METRICS_PKT_BUCKETS,
			      seconds)]++;
	s->pkt_time_sum += seconds;
}

void sb_metrics_sample_add_proc(sb_metrics_media_sample *s, const sb_leg_proc_time *p)
{
	G_STATIC_ASSERT(SB_LEG_PROC_BUCKETS == SB_METRICS_PKT_BUCKETS);
	for (unsigned i = 0; i <= SB_METRICS_PKT_BUCKETS; i++)
		s->pkt_time[i] += p->count[i];
	s->pkt_time_sum += (double)p->sum_ns / 1e9;
}

void sb_metrics_sample_merge(sb_metrics_media_sample *dst,
			     const sb_metrics_media_sample *src)
{
	for (unsigned k = 0; k < SB_METRICS_LEG_KINDS; k++) {
		for (unsigned d = 0; d < 2; d++) {
			dst->packets[k][d] += src->packets[k][d];
			dst->bytes[k][d] += src->bytes[k][d];
			dst->dropped[k][d] += src->dropped[k][d];
		}
		dst->lost[k] += src->lost[k];
		dst->late[k] += src->late[k];
	}
	for (unsigned i = 0; i <= SB_METRICS_PKT_BUCKETS; i++)
		dst->pkt_time[i] += src->pkt_time[i];
	dst->pkt_time_sum += src->pkt_time_sum;
	dst->sessions += src->sessions;
	for (unsigned i = 0; i < src->n_xcode; i++)
		add_pair(dst, src->xcode[i].a, src->xcode[i].b,
			 src->xcode[i].sessions);
}

/* ---- the daemon's families --------------------------------------------- */

/* Call set-up (INVITE to 2xx) buckets, seconds. */
static const double setup_bounds[] = { 0.1, 0.25, 0.5, 1, 2, 5, 10, 30 };

typedef struct families {
	sb_metrics_registry *reg;
	GThread *owner;             /* the signalling thread */
	sb_metric *calls_active, *calls_started, *calls_finished, *call_setup;
	sb_metric *transactions_active, *transactions;
	sb_metric *ws_active, *ws_opened, *ws_refused;
	sb_metric *registrations_active, *registrations;
	sb_metric *media_sessions, *worker_sessions;
	sb_metric *packets, *bytes, *dropped, *lost, *late, *pkt_time;
	sb_metric *residence;
	sb_metric *xcode;
	sb_metric *ice_fail, *dtls_fail;
	GArray *samples;            /* sb_metrics_media_sample per worker */
	double finished_n;          /* calls_finished_total over all labels */
	bool started_counted;       /* sb_metrics_call_started was called */
	sb_metrics_collect_cb collect;
	void *collect_data;
} families;

static families *fam;   /* signalling thread only; NULL before init */

static const char *const L_OUTCOME[] = { "outcome", "status_class", NULL };
static const char *const L_CLASS[] = { "status_class", NULL };
static const char *const L_DIR[] = { "direction", NULL };
static const char *const L_REASON[] = { "reason", NULL };
static const char *const L_WORKER[] = { "worker", NULL };
static const char *const L_LEG_DIR[] = { "leg", "direction", NULL };
static const char *const L_LEG[] = { "leg", NULL };
static const char *const L_PAIR[] = { "codec_a", "codec_b", NULL };

/* NULL (after a g_critical) when called off the signalling thread. */
static families *fam_get(void)
{
	if (!fam)
		return NULL;
	g_return_val_if_fail(g_thread_self() == fam->owner, NULL);
	return fam;
}

static void declare_calls(families *f)
{
	sb_metrics_registry *r = f->reg;
	f->calls_active = sb_metrics_gauge(r, "calls_active",
		"Calls (INVITE dialogs) in progress", NULL);
	f->calls_started = sb_metrics_counter(r, "calls_started_total",
		"Calls started (initial INVITEs from either side)", NULL);
	f->calls_finished = sb_metrics_counter(r, "calls_finished_total",
		"Calls finished, by outcome and final SIP status class",
		L_OUTCOME);
	f->call_setup = sb_metrics_histogram(r, "call_setup_seconds",
		"Time from INVITE to 2xx", NULL, setup_bounds,
		G_N_ELEMENTS(setup_bounds));
	f->transactions_active = sb_metrics_gauge(r, "transactions_active",
		"SIP transactions in progress", NULL);
	f->transactions = sb_metrics_counter(r, "transactions_total",
		"SIP transactions created, by direction", L_DIR);
	f->ws_active = sb_metrics_gauge(r, "websocket_connections",
		"Open SIP WebSocket connections", NULL);
	f->ws_opened = sb_metrics_counter(r, "websocket_connections_total",
		"SIP WebSocket connections accepted", NULL);
	f->ws_refused = sb_metrics_counter(r, "websocket_refused_total",
		"WebSocket upgrades refused, by reason", L_REASON);
	f->registrations_active = sb_metrics_gauge(r, "registrations_active",
		"Browser registrations currently bound", NULL);
	f->registrations = sb_metrics_counter(r, "registrations_total",
		"REGISTER transactions finished, by status class", L_CLASS);
}

static void declare_media(families *f)
{
	sb_metrics_registry *r = f->reg;
	f->media_sessions = sb_metrics_gauge(r, "media_sessions",
		"Media sessions anchored", NULL);
	f->worker_sessions = sb_metrics_gauge(r, "worker_sessions",
		"Media sessions placed on each worker", L_WORKER);
	f->packets = sb_metrics_counter(r, "media_packets_total",
		"RTP packets, by leg kind and direction", L_LEG_DIR);
	f->bytes = sb_metrics_counter(r, "media_bytes_total",
		"RTP payload bytes, by leg kind and direction", L_LEG_DIR);
	f->dropped = sb_metrics_counter(r, "media_packets_dropped_total",
		"RTP packets dropped (rx: failed auth, malformed, strangers; "
		"tx: transport not ready)", L_LEG_DIR);
	f->lost = sb_metrics_counter(r, "media_packets_lost_total",
		"RTP packets lost on the way to us (RFC 3550 A.3)", L_LEG);
	f->late = sb_metrics_counter(r, "media_packets_late_total",
		"RTP packets that arrived too late for playout", L_LEG);
	f->pkt_time = sb_metrics_histogram(r, "packet_processing_seconds",
		"Time from receiving an RTP packet to sending it on", NULL,
		sb_metrics_pkt_bounds, SB_METRICS_PKT_BUCKETS);
	double res_bounds[SB_RESIDENCE_BUCKETS];
	for (unsigned i = 0; i < SB_RESIDENCE_BUCKETS; i++)
		res_bounds[i] = sb_residence_bounds_ns[i] / 1e9;
	f->residence = sb_metrics_histogram(r, "media_residence_seconds",
		"Time a received media datagram's product waited in the "
		"gateway: kernel arrival stamp to hand-over for sending",
		NULL, res_bounds, SB_RESIDENCE_BUCKETS);
	f->xcode = sb_metrics_gauge(r, "transcoding_sessions",
		"Media sessions transcoding, by codec pair", L_PAIR);
	f->ice_fail = sb_metrics_counter(r, "ice_failures_total",
		"WebRTC legs whose ICE failed, by reason", L_REASON);
	f->dtls_fail = sb_metrics_counter(r, "dtls_failures_total",
		"WebRTC legs whose DTLS handshake failed, by reason", L_REASON);
}

static void collect_all(sb_metrics_registry *r, void *user_data);

void sb_metrics_init(void)
{
	if (fam)
		return;
	families *f = g_new0(families, 1);
	f->reg = sb_metrics_registry_new();
	f->owner = g_thread_self();
	f->samples = g_array_new(FALSE, TRUE, sizeof(sb_metrics_media_sample));
	sb_metric *info = sb_metrics_gauge(f->reg, "build_info",
		"Always 1; the version is in the label",
		(const char *const[]){ "version", NULL });
	sb_metric_set(info, SB_LABELS(PACKAGE_VERSION), 1);
	declare_calls(f);
	declare_media(f);
	sb_metrics_registry_set_collector(f->reg, collect_all, f);
	fam = f;
}

void sb_metrics_shutdown(void)
{
	if (!fam)
		return;
	sb_metrics_registry_free(fam->reg);
	g_array_free(fam->samples, TRUE);
	g_clear_pointer(&fam, g_free);
}

sb_metrics_registry *sb_metrics_default(void)
{
	return fam ? fam->reg : NULL;
}

void sb_metrics_set_collector(sb_metrics_collect_cb cb, void *user_data)
{
	families *f = fam_get();
	if (!f)
		return;
	f->collect = cb;
	f->collect_data = user_data;
}

const char *sb_metrics_outcome_name(sb_call_outcome o)
{
	static const char *const names[SB_CALL_OUTCOMES] = {
		"answered", "rejected", "cancelled", "failed"
	};
	return (unsigned)o < SB_CALL_OUTCOMES ? names[o] : "failed";
}

const char *sb_metrics_status_class(int status)
{
	static const char *const cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx", "6xx" };
	return status >= 100 && status <= 699 ? cls[status / 100 - 1] : "none";
}

void sb_metrics_call_started(void)
{
	families *f = fam_get();
	if (!f)
		return;
	f->started_counted = true;
	sb_metric_add(f->calls_started, NULL, 1);
}

void sb_metrics_call_finished(sb_call_outcome o, int final_status)
{
	families *f = fam_get();
	if (!f)
		return;
	sb_metric_add(f->calls_finished, SB_LABELS(sb_metrics_outcome_name(o),
		      sb_metrics_status_class(final_status)), 1);
	f->finished_n++;
}

void sb_metrics_call_setup_time(double seconds)
{
	families *f = fam_get();
	if (f)
		sb_metric_observe(f->call_setup, NULL, seconds);
}

void sb_metrics_set_active(unsigned calls, unsigned transactions,
			   unsigned ws_connections, unsigned registrations,
			   unsigned media_sessions)
{
	families *f = fam_get();
	if (!f)
		return;
	sb_metric_set(f->calls_active, NULL, calls);
	/* The proxy reports only the ends of calls, so until something
	 * counts the starts themselves they are derived: every call is
	 * either still active or finished. Never lets the counter go down. */
	child *st = get_child(f->calls_started, NULL, true);
	if (!f->started_counted && st && st->value < f->finished_n + calls)
		st->value = f->finished_n + calls;
	sb_metric_set(f->transactions_active, NULL, transactions);
	sb_metric_set(f->ws_active, NULL, ws_connections);
	sb_metric_set(f->registrations_active, NULL, registrations);
	sb_metric_set(f->media_sessions, NULL, media_sessions);
}

void sb_metrics_registration(int status)
{
	sb_metrics_registrations_add(status, 1);
}

void sb_metrics_ws_opened(void)
{
	families *f = fam_get();
	if (f)
		sb_metric_add(f->ws_opened, NULL, 1);
}

void sb_metrics_ws_refused(const char *reason)
{
	families *f = fam_get();
	if (f)
		sb_metric_add(f->ws_refused, SB_LABELS(reason ? reason : ""), 1);
}

void sb_metrics_transaction(const char *direction)
{
	sb_metrics_transactions_add(direction, 1);
}

void sb_metrics_transactions_add(const char *direction, double n)
{
	families *f = fam_get();
	if (f && n > 0)
		sb_metric_add(f->transactions,
			      SB_LABELS(direction ? direction : ""), n);
}

void sb_metrics_registrations_add(int status, double n)
{
	families *f = fam_get();
	if (f && n > 0)
		sb_metric_add(f->registrations,
			      SB_LABELS(sb_metrics_status_class(status)), n);
}

const char *sb_metrics_media_failure(const char *reason, bool *ice)
{
	if (!reason)
		return NULL;
	if (g_str_has_prefix(reason, "ICE failed")) {
		*ice = true;
		return strstr(reason, "consent") ? "consent_expired" : "checks_failed";
	}
	if (!g_str_has_prefix(reason, "DTLS failed"))
		return NULL;
	*ice = false;
	if (strstr(reason, "fingerprint"))
		return "fingerprint_mismatch";
	if (strstr(reason, "timed out"))
		return "timeout";
	if (strstr(reason, "SRTP") || strstr(reason, "keying"))
		return "srtp";
	return "handshake";
}

void sb_metrics_ice_failure(const char *reason)
{
	families *f = fam_get();
	if (f)
		sb_metric_add(f->ice_fail, SB_LABELS(reason ? reason : ""), 1);
}

void sb_metrics_dtls_failure(const char *reason)
{
	families *f = fam_get();
	if (f)
		sb_metric_add(f->dtls_fail, SB_LABELS(reason ? reason : ""), 1);
}

void sb_metrics_worker_load(unsigned worker, int sessions)
{
	families *f = fam_get();
	if (!f)
		return;
	char idx[16];
	g_snprintf(idx, sizeof(idx), "%u", worker);
	sb_metric_set(f->worker_sessions, SB_LABELS(idx), sessions);
}

void sb_metrics_media_update(unsigned worker, const sb_metrics_media_sample *s)
{
	families *f = fam_get();
	if (!f || worker > 4096)
		return;
	if (worker >= f->samples->len)
		g_array_set_size(f->samples, worker + 1);
	sb_metrics_media_sample *o = &g_array_index(f->samples, sb_metrics_media_sample, worker);
	sb_metrics_media_sample n = *s;
	for (unsigned k = 0; k < SB_METRICS_LEG_KINDS; k++) {
		for (unsigned d = 0; d < 2; d++) {
			n.packets[k][d] = MAX(n.packets[k][d], o->packets[k][d]);
			n.bytes[k][d] = MAX(n.bytes[k][d], o->bytes[k][d]);
			n.dropped[k][d] = MAX(n.dropped[k][d], o->dropped[k][d]);
		}
		n.lost[k] = MAX(n.lost[k], o->lost[k]);
		n.late[k] = MAX(n.late[k], o->late[k]);
	}
	for (unsigned b = 0; b <= SB_METRICS_PKT_BUCKETS; b++)
		n.pkt_time[b] = MAX(n.pkt_time[b], o->pkt_time[b]);
	n.pkt_time_sum = MAX(n.pkt_time_sum, o->pkt_time_sum);
	*o = n;
}

static const char *const leg_names[SB_METRICS_LEG_KINDS] = {
	"webrtc", "rtp", "echo", "conf"
};
static const char *const dir_names[2] = { "rx", "tx" };

static void render_media(families *f, const sb_metrics_media_sample *t)
{
	for (unsigned k = 0; k < SB_METRICS_LEG_KINDS; k++) {
		for (unsigned d = 0; d < 2; d++) {
			const char *const *l = SB_LABELS(leg_names[k], dir_names[d]);
			counter_set(f->packets, l, (double)t->packets[k][d]);
			counter_set(f->bytes, l, (double)t->bytes[k][d]);
			counter_set(f->dropped, l, (double)t->dropped[k][d]);
		}
		counter_set(f->lost, SB_LABELS(leg_names[k]), (double)t->lost[k]);
		counter_set(f->late, SB_LABELS(leg_names[k]), (double)t->late[k]);
	}
	histogram_set(f->pkt_time, t->pkt_time, SB_METRICS_PKT_BUCKETS + 1,
		      t->pkt_time_sum);
	sb_metric_clear(f->xcode);
	for (unsigned i = 0; i < t->n_xcode; i++)
		sb_metric_set(f->xcode, SB_LABELS(t->xcode[i].a, t->xcode[i].b),
			      t->xcode[i].sessions);
}

/* Read from the workers' own histograms at scrape time (residence.h). */
static void render_residence(families *f)
{
	sb_residence_hist h;
	sb_residence_snapshot(&h);
	histogram_set(f->residence, h.count, SB_RESIDENCE_BUCKETS + 1,
		      (double)h.sum_ns / 1e9);
}

static void collect_all(sb_metrics_registry *r, void *user_data)
{
	families *f = user_data;
	if (f->collect)
		f->collect(r, f->collect_data);
	sb_metrics_media_sample total = { 0 };
	for (guint i = 0; i < f->samples->len; i++)
		sb_metrics_sample_merge(&total, &g_array_index(f->samples,
					sb_metrics_media_sample, i));
	render_media(f, &total);
	render_residence(f);
}

char *sb_metrics_render(void)
{
	families *f = fam_get();
	return f ? sb_metrics_registry_render(f->reg) : g_strdup("");
}
