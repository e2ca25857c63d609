/* Configuration loading and validation (libconfig). Every key the daemon
 * knows is in one schema table; anything else in the file is an error
 * with its line number, because a misspelt key that is silently ignored
 * is how a gateway ends up listening on the wrong address. Signalling
 * thread (load); the result is immutable. */
#include "gateway/config.h"
#include "common/ip.h"
#include "webrtc/leg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* T_SECTION: a group whose own parser (elsewhere) checks its keys. */
typedef enum { T_STRING, T_INT, T_LIST_STRING, T_PORT_RANGE, T_GROUP, T_BOOL,
	       T_SECTION } key_type;

/* Checks one value; returns NULL or a static error message. */
typedef const char *(*check_fn)(const config_setting_t *s);

typedef struct schema_key {
	const char *path;
	key_type type;
	check_fn check;
} schema_key;

static const char *check_hostport(const config_setting_t *s);
static const char *check_hostport_opt(const config_setting_t *s);
static const char *check_sip_listen(const config_setting_t *s);
static const char *check_ip(const config_setting_t *s);
static const char *check_sip_uri_opt(const config_setting_t *s);
static const char *check_port_range(const config_setting_t *s);
static const char *check_nonneg(const config_setting_t *s);
static const char *check_positive(const config_setting_t *s);
static const char *check_echo_delay(const config_setting_t *s);
static const char *check_reachable_ip(const config_setting_t *s);
static const char *check_reachable_ip_opt(const config_setting_t *s);
static const char *check_stun_server(const config_setting_t *s);
/* route.dtmf: the form DTMF from the browser takes toward SIP. */
static int dtmf_mode_of(const char *v, sb_dtmf_mode *out)
{
	static const struct { const char *n; sb_dtmf_mode m; } md[] = {
		{ "auto", SB_DTMF_AUTO }, { "rfc4733", SB_DTMF_RFC4733 },
		{ "info", SB_DTMF_INFO },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(md); i++) {
		if (!g_ascii_strcasecmp(v, md[i].n)) {
			*out = md[i].m;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *check_dtmf(const config_setting_t *s)
{
	sb_dtmf_mode m;
	if (dtmf_mode_of(config_setting_get_string(s), &m) < 0)
		return "expected one of auto, rfc4733, info";
	return NULL;
}

static const char *check_log_level(const config_setting_t *s);
static const char *check_user(const config_setting_t *s);
static const char *check_dtmf(const config_setting_t *s);

static const schema_key schema[] = {
	{ "listen", T_GROUP, NULL },
	{ "listen.http", T_STRING, check_hostport_opt },
	{ "listen.https", T_STRING, check_hostport_opt },
	{ "listen.sip", T_LIST_STRING, check_sip_listen },
	{ "listen.admin", T_STRING, check_hostport_opt },
	{ "tls", T_GROUP, NULL },
	{ "tls.cert", T_STRING, NULL },
	{ "tls.key", T_STRING, NULL },
	{ "tls.verify_server", T_BOOL, NULL },
	{ "tls.ca_file", T_STRING, NULL },
	{ "route", T_GROUP, NULL },
	{ "route.outbound_proxy", T_STRING, check_sip_uri_opt },
	{ "route.dtmf", T_STRING, check_dtmf },
	{ "media", T_GROUP, NULL },
	{ "media.address", T_STRING, check_reachable_ip },
	{ "media.public_address", T_STRING, check_reachable_ip_opt },
	{ "media.rtp_ports", T_PORT_RANGE, check_port_range },
	{ "media.stun_server", T_STRING, check_stun_server },
	{ "media.rtp_timeout", T_INT, check_nonneg },
	{ "media.workers", T_INT, check_nonneg },
	{ "media.prefer_opus", T_BOOL, NULL },
	{ "media.max_transcoded", T_INT, check_nonneg },
	{ "media.jitter_buffer", T_BOOL, NULL },
	{ "media.opus_low_delay", T_BOOL, NULL },
	{ "services", T_GROUP, NULL },
	{ "services.echo", T_STRING, check_user },
	{ "services.conference_prefix", T_STRING, check_user },
	{ "services.conference_max_participants", T_INT, check_positive },
	{ "services.echo_delay_ms", T_INT, check_echo_delay },
	{ "web", T_GROUP, NULL },
	{ "web.root", T_STRING, NULL },
	{ "web.ws_max_message", T_INT, check_nonneg },
	{ "log", T_GROUP, NULL },
	{ "log.level", T_STRING, check_log_level },
	{ "cdr", T_GROUP, NULL },
	{ "cdr.path", T_STRING, NULL },
	{ "security", T_GROUP, NULL },
	{ "security.open_relay", T_BOOL, NULL },
	{ "auth", T_SECTION, NULL },
	{ "limits", T_SECTION, NULL },
	{ "dialplan", T_SECTION, NULL },
};

int sb_config_parse_hostport(const char *s, sb_hostport *out)
{
	const char *colon;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(out->host))
		return -EINVAL;
	memcpy(out->host, s, hlen);

	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -EINVAL;
	out->port = (uint16_t)port;

	unsigned char buf[16];
	if (strcmp(out->host, "*") && inet_pton(AF_INET, out->host, buf) != 1 &&
	    inet_pton(AF_INET6, out->host, buf) != 1)
		return -EINVAL;
	return 0;
}

static const char *check_hostport(const config_setting_t *s)
{
	sb_hostport hp;
	if (sb_config_parse_hostport(config_setting_get_string(s), &hp) < 0)
		return "expected \"IP:PORT\" (IPv6 as \"[::1]:PORT\")";
	return NULL;
}

static const char *check_hostport_opt(const config_setting_t *s)
{
	return *config_setting_get_string(s) ? check_hostport(s) : NULL;
}

static int parse_sip_listen(const char *v, sb_sip_listen *out)
{
	static const struct { const char *p; sb_sip_transport t; } tp[] = {
		{ "udp:", SB_SIP_TRANSPORT_UDP },
		{ "tcp:", SB_SIP_TRANSPORT_TCP },
		{ "tls:", SB_SIP_TRANSPORT_TLS },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(tp); i++) {
		if (g_ascii_strncasecmp(v, tp[i].p, 4) == 0) {
			out->transport = tp[i].t;
			return sb_config_parse_hostport(v + 4, &out->addr);
		}
	}
	return -EINVAL;
}

static const char *check_sip_listen(const config_setting_t *s)
{
	sb_sip_listen l;
	if (parse_sip_listen(config_setting_get_string(s), &l) < 0)
		return "expected \"udp:IP:PORT\", \"tcp:IP:PORT\" or \"tls:IP:PORT\"";
	return NULL;
}

static const char *check_ip(const config_setting_t *s)
{
	unsigned char buf[16];
	const char *v = config_setting_get_string(s);
	if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
		return "expected an IP address";
	return NULL;
}

/* An address others are told to send to (ICE candidate, SDP c=): a
 * wildcard would reach nobody. */
static const char *check_reachable_ip(const config_setting_t *s)
{
	const char *e = check_ip(s);
	if (e)
		return e;
	if (sb_ip_is_wildcard(config_setting_get_string(s)))
		return "must be an address browsers and phones can reach, not a wildcard";
	return NULL;
}

static const char *check_reachable_ip_opt(const config_setting_t *s)
{
	return *config_setting_get_string(s) ? check_reachable_ip(s) : NULL;
}

static const char *check_stun_server(const config_setting_t *s)
{
	sb_hostport hp;
	const char *v = config_setting_get_string(s);
	if (!*v)
		return NULL;
	if (sb_config_parse_hostport(v, &hp) < 0 || sb_ip_is_wildcard(hp.host))
		return "expected \"IP:PORT\" of a STUN server (IPv6 as \"[::1]:PORT\")";
	return NULL;
}

static const char *check_sip_uri_opt(const config_setting_t *s)
{
	const char *v = config_setting_get_string(s);
	if (!*v)
		return NULL;
	if (g_ascii_strncasecmp(v, "sip:", 4) && g_ascii_strncasecmp(v, "sips:", 5))
		return "expected a SIP URI (\"sip:HOST[:PORT][;transport=udp|tcp|tls]\")";
	if (strpbrk(v, " \t\r\n<>\""))
		return "SIP URI contains a forbidden character";
	return NULL;
}

static const char *check_port_range(const config_setting_t *s)
{
	if (config_setting_length(s) != 2)
		return "expected [ MIN, MAX ]";
	int lo = config_setting_get_int_elem(s, 0);
	int hi = config_setting_get_int_elem(s, 1);
	if (config_setting_type(config_setting_get_elem(s, 0)) != CONFIG_TYPE_INT ||
	    config_setting_type(config_setting_get_elem(s, 1)) != CONFIG_TYPE_INT)
		return "expected two integers";
	if (lo < 1024 || hi > 65535 || lo > hi || hi - lo < 3)
		return "expected 1024 <= MIN < MAX <= 65535 with at least 4 ports";
	return NULL;
}

static const char *check_nonneg(const config_setting_t *s)
{
	return config_setting_get_int(s) < 0 ? "must not be negative" : NULL;
}

static const char *check_positive(const config_setting_t *s)
{
	return config_setting_get_int(s) < 1 ? "must be at least 1" : NULL;
}

static const char *check_echo_delay(const config_setting_t *s)
{
	int v = config_setting_get_int(s);
	return v < 0 || v > SB_ECHO_MAX_DELAY_MS ? "must be 0 to 2000 (ms)" : NULL;
}

static const char *check_user(const config_setting_t *s)
{
	const char *v = config_setting_get_string(s);
	for (const char *p = v; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("-_.!~*'+", *p))
			return "must be a plain SIP user part (letters, digits, -_.!~*'+)";
	return NULL;
}

static GLogLevelFlags log_level_of(const char *v)
{
	static const struct { const char *n; GLogLevelFlags l; } lv[] = {
		{ "error", G_LOG_LEVEL_CRITICAL }, { "warning", G_LOG_LEVEL_WARNING },
		{ "notice", G_LOG_LEVEL_MESSAGE }, { "info", G_LOG_LEVEL_INFO },
		{ "debug", G_LOG_LEVEL_DEBUG },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(lv); i++)
		if (!g_ascii_strcasecmp(v, lv[i].n))
			return lv[i].l;
	return 0;
}

static const char *check_log_level(const config_setting_t *s)
{
	if (!log_level_of(config_setting_get_string(s)))
		return "expected one of error, warning, notice, info, debug";
	return NULL;
}

static const schema_key *schema_find(const char *path)
{
	for (size_t i = 0; i < G_N_ELEMENTS(schema); i++)
		if (!strcmp(schema[i].path, path))
			return &schema[i];
	return NULL;
}

static bool type_ok(const config_setting_t *s, key_type t)
{
	int ct = config_setting_type(s);
	switch (t) {
	case T_STRING: return ct == CONFIG_TYPE_STRING;
	case T_INT: return ct == CONFIG_TYPE_INT || ct == CONFIG_TYPE_INT64;
	case T_GROUP:
	case T_SECTION: return ct == CONFIG_TYPE_GROUP;
	case T_BOOL: return ct == CONFIG_TYPE_BOOL;
	case T_PORT_RANGE: return ct == CONFIG_TYPE_ARRAY || ct == CONFIG_TYPE_LIST;
	case T_LIST_STRING:
		if (ct != CONFIG_TYPE_ARRAY && ct != CONFIG_TYPE_LIST)
			return false;
		for (int i = 0; i < config_setting_length(s); i++)
			if (config_setting_type(config_setting_get_elem(s, i)) !=
			    CONFIG_TYPE_STRING)
				return false;
		return true;
	}
	return false;
}

static const char *type_name(key_type t)
{
	static const char *const n[] = { "a string", "an integer",
		"a list of strings", "[ MIN, MAX ]", "a group { ... }",
		"true or false", "a group { ... }" };
	return n[t];
}

static int fail(GError **err, const char *file, const config_setting_t *s,
		const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static int fail(GError **err, const char *file, const config_setting_t *s,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s", file,
		    s ? (int)config_setting_source_line(s) : 0, msg);
	return -EINVAL;
}

/* Walk the whole tree: every setting must be in the schema, with the
 * right type and a valid value. */
static int validate(const config_setting_t *grp, const char *prefix,
		    const char *file, GError **err)
{
	for (int i = 0; i < config_setting_length(grp); i++) {
		config_setting_t *s = config_setting_get_elem(grp, i);
		const char *name = config_setting_name(s);
		g_autofree char *path = *prefix ? g_strdup_printf("%s.%s", prefix, name)
						 : g_strdup(name);
		const schema_key *k = schema_find(path);
		if (!k)
			return fail(err, file, s, "unknown key '%s'", path);
		if (!type_ok(s, k->type))
			return fail(err, file, s, "'%s' must be %s", path,
				    type_name(k->type));
		if (k->type == T_SECTION)
			continue;
		if (k->type == T_GROUP) {
			int r = validate(s, path, file, err);
			if (r < 0)
				return r;
			continue;
		}
		if (k->type == T_LIST_STRING) {
			for (int j = 0; j < config_setting_length(s); j++) {
				config_setting_t *e = config_setting_get_elem(s, j);
				const char *m = k->check ? k->check(e) : NULL;
				if (m)
					return fail(err, file, e, "'%s': %s", path, m);
			}
			continue;
		}
		const char *m = k->check ? k->check(s) : NULL;
		if (m)
			return fail(err, file, s, "'%s': %s", path, m);
	}
	return 0;
}

static char *get_str(const config_t *cf, const char *path, const char *def)
{
	const char *v;
	return g_strdup(config_lookup_string(cf, path, &v) ? v : def);
}

static unsigned get_uint(const config_t *cf, const char *path, unsigned def)
{
	int v;
	return config_lookup_int(cf, path, &v) ? (unsigned)v : def;
}

static void get_hostport(const config_t *cf, const char *path,
			 const char *def, bool *has, sb_hostport *hp)
{
	g_autofree char *v = get_str(cf, path, def);
	*has = *v && sb_config_parse_hostport(v, hp) == 0;
}

static void load_sip_listen(const config_t *cf, sb_config *c)
{
	config_setting_t *l = config_lookup(cf, "listen.sip");
	if (!l) {
		c->n_sip = 2;
		c->sip = g_new0(sb_sip_listen, 2);
		parse_sip_listen("udp:127.0.0.1:5060", &c->sip[0]);
		parse_sip_listen("tcp:127.0.0.1:5060", &c->sip[1]);
		return;
	}
	c->n_sip = (unsigned)config_setting_length(l);
	c->sip = g_new0(sb_sip_listen, c->n_sip ? c->n_sip : 1);
	for (unsigned i = 0; i < c->n_sip; i++)
		parse_sip_listen(config_setting_get_string_elem(l, (int)i), &c->sip[i]);
}

/* sb_config.media_address_alt: the SIP listener's own address in the
 * family media.address lacks, where SIP peers of that family already
 * reach us. */
static char *alt_media_address(const sb_config *c)
{
	int fam = sb_ip_family(c->media_address);
	for (unsigned i = 0; fam && i < c->n_sip; i++) {
		const char *h = c->sip[i].addr.host;
		int f = sb_ip_family(h);
		if (f && f != fam && !sb_ip_is_wildcard(h))
			return g_strdup(h);
	}
	return g_strdup("");
}

static void extract(const config_t *cf, sb_config *c)
{
	get_hostport(cf, "listen.http", "127.0.0.1:8080", &c->has_http, &c->http);
	get_hostport(cf, "listen.https", "", &c->has_https, &c->https);
	get_hostport(cf, "listen.admin", "127.0.0.1:8081", &c->has_admin, &c->admin);
	load_sip_listen(cf, c);
	c->tls_cert = get_str(cf, "tls.cert", "");
	c->tls_key = get_str(cf, "tls.key", "");
	int vs;
	c->tls_verify_server = config_lookup_bool(cf, "tls.verify_server", &vs) && vs;
	c->tls_ca_file = get_str(cf, "tls.ca_file", "");
	c->outbound_proxy = get_str(cf, "route.outbound_proxy", "");
	g_autofree char *dm = get_str(cf, "route.dtmf", "auto");
	dtmf_mode_of(dm, &c->route_dtmf);
	c->media_address = get_str(cf, "media.address", "127.0.0.1");
	c->media_public_address = get_str(cf, "media.public_address", "");
	c->media_address_alt = alt_media_address(c);
	c->stun_server = get_str(cf, "media.stun_server", "");
	config_setting_t *r = config_lookup(cf, "media.rtp_ports");
	c->rtp_port_min = r ? (uint16_t)config_setting_get_int_elem(r, 0) : 20000;
	c->rtp_port_max = r ? (uint16_t)config_setting_get_int_elem(r, 1) : 29999;
	c->rtp_timeout_s = get_uint(cf, "media.rtp_timeout", 60);
	c->workers = get_uint(cf, "media.workers", 0);
	int po = 0;
	c->prefer_opus = config_lookup_bool(cf, "media.prefer_opus", &po) && po;
	c->max_transcoded = get_uint(cf, "media.max_transcoded", 0);
	int jb = 0;
	c->jitter_buffer = config_lookup_bool(cf, "media.jitter_buffer", &jb) && jb;
	int ld = 1;
	config_lookup_bool(cf, "media.opus_low_delay", &ld);
	c->opus_low_delay = ld;
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n > 0 ? (unsigned)n : 1;
	}
	c->svc_echo = get_str(cf, "services.echo", "echo");
	c->svc_conference_prefix = get_str(cf, "services.conference_prefix", "conf-");
	c->conference_max_participants =
		get_uint(cf, "services.conference_max_participants", 16);
	c->echo_delay_ms = get_uint(cf, "services.echo_delay_ms", 0);
	c->www_root = get_str(cf, "web.root", "");
	c->cdr_path = get_str(cf, "cdr.path", "");
	c->ws_max_message = get_uint(cf, "web.ws_max_message", 65536);
	g_autofree char *lv = get_str(cf, "log.level", "info");
	c->log_level = log_level_of(lv);
}

/* The sections whose keys belong to the security modules. */
static int load_security(const config_t *cf, sb_config *c, const char *file,
			 GError **err)
{
	int v;
	c->open_relay = config_lookup_bool(cf, "security.open_relay", &v) && v;
	if (sb_auth_config_from_setting(config_lookup(cf, "auth"), file, &c->auth, err) < 0)
		return -EINVAL;
	sb_limits_config_defaults(&c->limits);
	if (sb_limits_from_setting(config_lookup(cf, "limits"), file, &c->limits, err) < 0)
		return -EINVAL;
	c->limits.sip_max_size = c->ws_max_message;
	if (sb_dialplan_from_setting(config_lookup(cf, "dialplan"), file, &c->dialplan, err) < 0)
		return -EINVAL;
	if (c->dialplan) {
		sb_dialplan_add_service(c->dialplan, c->svc_echo, false);
		sb_dialplan_add_service(c->dialplan, c->svc_conference_prefix, true);
	}
	return 0;
}

bool sb_config_host_is_loopback(const char *host)
{
	return g_str_has_prefix(host, "127.") || !strcmp(host, "::1") ||
	       !g_ascii_strcasecmp(host, "localhost");
}

bool sb_config_is_open_relay(const sb_config *c, const char **which)
{
	if (c->open_relay || c->auth.keys || c->dialplan)
		return false;
	if (c->has_http && !sb_config_host_is_loopback(c->http.host)) {
		*which = "listen.http";
		return true;
	}
	if (c->has_https && !sb_config_host_is_loopback(c->https.host)) {
		*which = "listen.https";
		return true;
	}
	return false;
}

char *sb_config_startup_error(const sb_config *c)
{
	const char *which;
	if (sb_config_is_open_relay(c, &which))
		return g_strdup_printf(
			"%s binds beyond loopback with neither auth.token_secrets nor a "
			"dialplan: anyone could call any number through this gateway. "
			"Configure one, or set security.open_relay = true", which);
	const char *files[] = { c->tls_cert, c->tls_key, c->tls_ca_file };
	const char *names[] = { "tls.cert", "tls.key", "tls.ca_file" };
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
		if (*files[i] && access(files[i], R_OK) < 0)
			return g_strdup_printf("%s %s: %s", names[i],
					       files[i], g_strerror(errno));
	return NULL;
}

static int cross_check(const config_t *cf, sb_config *c, const char *file,
		       GError **err)
{
	if (c->has_https && (!*c->tls_cert || !*c->tls_key))
		return fail(err, file, config_lookup(cf, "listen.https"),
			    "'listen.https' needs tls.cert and tls.key");
	for (unsigned i = 0; i < c->n_sip; i++)
		if (c->sip[i].transport == SB_SIP_TRANSPORT_TLS &&
		    (!*c->tls_cert || !*c->tls_key))
			return fail(err, file, config_lookup(cf, "listen.sip"),
				    "a tls: SIP listener needs tls.cert and tls.key");
	if (c->ws_max_message < 1024 || c->ws_max_message > 1048576)
		return fail(err, file, config_lookup(cf, "web.ws_max_message"),
			    "'web.ws_max_message' must be 1024..1048576");
	if (c->workers > 256)
		return fail(err, file, config_lookup(cf, "media.workers"),
			    "'media.workers' must be 0..256");
	return 0;
}

sb_config *sb_config_load(const char *path, GError **err)
{
	config_t cf;
	config_init(&cf);
	if (!config_read_file(&cf, path)) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
				    "%s:0: cannot read file", path);
		else
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s",
				    path, config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return NULL;
	}
	sb_config *c = g_new0(sb_config, 1);
	g_atomic_ref_count_init(&c->ref);
	c->path = g_strdup(path);
	if (validate(config_root_setting(&cf), "", path, err) < 0) {
		config_destroy(&cf);
		sb_config_unref(c);
		return NULL;
	}
	extract(&cf, c);
	int r = cross_check(&cf, c, path, err);
	if (r == 0)
		r = load_security(&cf, c, path, err);
	config_destroy(&cf);
	if (r < 0) {
		sb_config_unref(c);
		return NULL;
	}
	return c;
}

sb_config *sb_config_ref(sb_config *c)
{
	g_atomic_ref_count_inc(&c->ref);
	return c;
}

void sb_config_unref(sb_config *c)
{
	if (!c || !g_atomic_ref_count_dec(&c->ref))
		return;
	g_free(c->path);
	g_free(c->sip);
	g_free(c->tls_cert);
	g_free(c->tls_key);
	g_free(c->tls_ca_file);
	g_free(c->outbound_proxy);
	g_free(c->media_address);
	g_free(c->media_public_address);
	g_free(c->media_address_alt);
	g_free(c->stun_server);
	g_free(c->svc_echo);
	g_free(c->svc_conference_prefix);
	g_free(c->www_root);
	g_free(c->cdr_path);
	sb_auth_config_clear(&c->auth);
	sb_dialplan_free(c->dialplan);
	g_free(c);
}
