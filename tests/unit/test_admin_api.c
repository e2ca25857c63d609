/* gateway/admin_api: the router over a fake provider (every endpoint,
 * status codes, JSON read back with jansson), and the media diagnosis
 * table-driven over timelines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "gateway/admin_api.h"
#include "gateway/metrics.h"

/* ---- fake provider ------------------------------------------------------ */

typedef struct fake {
	char *hung_up;
	int drains;
	int reload_rc;
	bool broken_list;
} fake;

#define CALL_ID "f81d4fae-7dec/11d0@a765.example.org"

static sb_admin_call *make_call(const char *id)
{
	sb_admin_call *c = sb_admin_call_new(id, "sip:alice@example.org",
					     "sip:bob@example.com");
	g_strlcpy(c->state, "answered", sizeof(c->state));
	g_strlcpy(c->direction, "from_browser", sizeof(c->direction));
	c->start_unix_ms = 1764201600123;
	c->age_ms = 10000;
	c->worker = 1;
	c->transcoded = true;
	c->stats_age_ms = 400;
	g_strlcpy(c->leg[SB_ADMIN_BROWSER].codec, "opus/48000/2", 32);
	g_strlcpy(c->leg[SB_ADMIN_SIP].codec, "PCMU/8000", 32);
	g_strlcpy(c->leg[SB_ADMIN_SIP].remote, "203.0.113.5:4000", 64);
	c->leg[SB_ADMIN_BROWSER].stats.rx_packets = 480;
	c->leg[SB_ADMIN_BROWSER].stats.tx_packets = 0;
	c->leg[SB_ADMIN_BROWSER].jitter_ms = 2.5;
	sb_media_timeline *t = &c->timeline;
	t->webrtc[SB_ADMIN_BROWSER] = true;
	t->answered_at = 900;
	t->ice_connected_at = 120;
	t->dtls_done_at = 180;
	t->first_rtp_in[SB_ADMIN_BROWSER] = 200;
	t->first_rtp_out[SB_ADMIN_SIP] = 200;
	g_strlcpy(t->sdp_addr[SB_ADMIN_SIP], "192.168.1.20", 64);
	g_strlcpy(t->local_addr, "198.51.100.7", 64);
	return c;
}

static int f_list_calls(GPtrArray *out, void *ud)
{
	fake *f = ud;
	if (f->broken_list)
		return -EIO;
	g_ptr_array_add(out, make_call(CALL_ID));
	sb_admin_call *c = sb_admin_call_new("second\xff", "sip:c@x", "sip:d@y");
	g_strlcpy(c->state, "calling", sizeof(c->state));
	g_ptr_array_add(out, c);
	return 0;
}

static sb_admin_call *f_get_call(const char *id, void *ud)
{
	return strcmp(id, CALL_ID) ? NULL : make_call(id);
}

static int f_hang_up(const char *id, void *ud)
{
	fake *f = ud;
	if (strcmp(id, CALL_ID))
		return -ENOENT;
	g_free(f->hung_up);
	f->hung_up = g_strdup(id);
	return 0;
}

static int f_list_regs(GPtrArray *out, void *ud)
{
	sb_admin_registration *r = sb_admin_registration_new("sip:alice@example.org",
		"<sip:alice@127.0.0.1:5060;transport=ws;ob>", "127.0.0.1:40000",
		"JsSIP 3.10", 599);
	r->registrar = g_strdup("sip:example.org");
	r->connection_id = 42;
	r->expires_s = 600;
	r->registered_unix_ms = 1764200000123;
	g_ptr_array_add(out, r);
	return 0;
}

static int f_drain(void *ud)
{
	fake *f = ud;
	return f->drains++ ? -EALREADY : 0;
}

static int f_reload(char **error, void *ud)
{
	fake *f = ud;
	if (f->reload_rc)
		*error = g_strdup("/etc/sipbridge.conf:12: unknown key \"x\"");
	return f->reload_rc;
}

static char *f_metrics(void *ud)
{
	return g_strdup("# fake\n");
}

typedef struct fixture {
	fake f;
	sb_admin_provider p;
} fixture;

static int setup(void **state)
{
	fixture *x = g_new0(fixture, 1);
	x->p = (sb_admin_provider){
		.list_calls = f_list_calls, .get_call = f_get_call,
		.hang_up = f_hang_up, .list_registrations = f_list_regs,
		.drain = f_drain, .reload = f_reload, .metrics = f_metrics,
		.user_data = &x->f,
	};
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	fixture *x = *state;
	g_free(x->f.hung_up);
	g_free(x);
	return 0;
}

/* Run a request; parse a JSON body into *json (when asked). */
static int req(const sb_admin_provider *p, const char *method, const char *path,
	       json_t **json, char **text)
{
	char *body = (char *)0x1;
	const char *ct = NULL;
	int st = sb_admin_handle(p, method, path, &body, &ct);
	assert_non_null(body);
	assert_non_null(ct);
	if (json) {
		assert_string_equal(ct, "application/json");
		json_error_t e;
		*json = json_loads(body, 0, &e);
		assert_non_null(*json);
	}
	if (text)
		*text = body;
	else
		g_free(body);
	return st;
}

static const char *jget_s(json_t *o, const char *path)
{
	json_t *v = o;
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	for (int i = 0; parts[i] && v; i++)
		v = json_object_get(v, parts[i]);
	assert_non_null(v);
	return json_string_value(v);
}

static json_int_t jget_i(json_t *o, const char *path)
{
	json_t *v = o;
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	for (int i = 0; parts[i] && v; i++)
		v = json_object_get(v, parts[i]);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static bool jis_null(json_t *o, const char *path)
{
	json_t *v = o;
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	for (int i = 0; parts[i] && v; i++)
		v = json_object_get(v, parts[i]);
	return v && json_is_null(v);
}

/* ---- router tests ------------------------------------------------------- */

static void test_list_calls(void **state)
{
	fixture *x = *state;
	json_t *j;
	assert_int_equal(req(&x->p, "GET", "/api/calls", &j, NULL), 200);
	assert_int_equal(jget_i(j, "count"), 2);
	json_t *calls = json_object_get(j, "calls");
	json_t *c0 = json_array_get(calls, 0), *c1 = json_array_get(calls, 1);
	assert_string_equal(jget_s(c0, "call_id"), CALL_ID);
	assert_string_equal(jget_s(c0, "from"), "sip:alice@example.org");
	assert_string_equal(jget_s(c0, "state"), "answered");
	assert_int_equal(jget_i(c0, "start_ms"), 1764201600123);
	assert_int_equal(jget_i(c0, "worker"), 1);
	assert_true(json_is_true(json_object_get(c0, "transcoded")));
	assert_int_equal(jget_i(c0, "stats_age_ms"), 400);
	assert_true(json_is_null(json_object_get(c1, "stats_age_ms")));   /* never read */
	assert_string_equal(jget_s(c0, "verdict"),
			    "private address in the peer's SDP");
	/* invalid UTF-8 from the wire is repaired, not lost */
	assert_string_equal(jget_s(c1, "call_id"), "second\xef\xbf\xbd");
	assert_true(jis_null(c1, "worker"));
	assert_string_equal(jget_s(c1, "verdict"), "not answered yet");
	json_decref(j);
	/* a trailing slash is the same list */
	assert_int_equal(req(&x->p, "GET", "/api/calls/", &j, NULL), 200);
	assert_int_equal(jget_i(j, "count"), 2);
	json_decref(j);
	x->f.broken_list = true;
	assert_int_equal(req(&x->p, "GET", "/api/calls", &j, NULL), 500);
	json_decref(j);
}

static void test_get_call(void **state)
{
	fixture *x = *state;
	json_t *j;
	assert_int_equal(req(&x->p, "GET", "/api/calls/" CALL_ID, &j, NULL), 200);
	assert_string_equal(jget_s(j, "call_id"), CALL_ID);
	assert_string_equal(jget_s(j, "legs.browser.codec"), "opus/48000/2");
	assert_string_equal(jget_s(j, "legs.sip.codec"), "PCMU/8000");
	assert_string_equal(jget_s(j, "legs.sip.remote"), "203.0.113.5:4000");
	assert_int_equal(jget_i(j, "legs.browser.rx_packets"), 480);
	assert_int_equal(jget_i(j, "timeline.ice_connected_ms"), 120);
	assert_int_equal(jget_i(j, "timeline.dtls_done_ms"), 180);
	assert_int_equal(jget_i(j, "timeline.first_rtp_from.browser"), 200);
	assert_true(jis_null(j, "timeline.first_rtp_from.sip"));
	assert_true(jis_null(j, "timeline.first_rtp_to.browser"));
	assert_string_equal(jget_s(j, "timeline.sdp_address.sip"), "192.168.1.20");
	assert_string_equal(jget_s(j, "verdict"), "private address in the peer's SDP");
	json_t *pr = json_object_get(j, "problems");
	assert_int_equal(json_array_size(pr), 2);
	assert_string_equal(json_string_value(json_array_get(pr, 0)),
			    "private address in the peer's SDP");
	assert_string_equal(json_string_value(json_array_get(pr, 1)),
			    "no RTP from the SIP side");
	json_decref(j);

	assert_int_equal(req(&x->p, "GET", "/api/calls/nope", &j, NULL), 404);
	assert_string_equal(jget_s(j, "error"), "no such call");
	json_decref(j);
}

static void test_hang_up(void **state)
{
	fixture *x = *state;
	json_t *j;
	assert_int_equal(req(&x->p, "DELETE", "/api/calls/" CALL_ID, &j, NULL), 200);
	assert_string_equal(jget_s(j, "hung_up"), CALL_ID);
	assert_string_equal(x->f.hung_up, CALL_ID);
	json_decref(j);
	assert_int_equal(req(&x->p, "DELETE", "/api/calls/other", &j, NULL), 404);
	json_decref(j);
}

static void test_registrations(void **state)
{
	fixture *x = *state;
	json_t *j;
	assert_int_equal(req(&x->p, "GET", "/api/registrations", &j, NULL), 200);
	assert_int_equal(jget_i(j, "count"), 1);
	json_t *r = json_array_get(json_object_get(j, "registrations"), 0);
	assert_string_equal(jget_s(r, "aor"), "sip:alice@example.org");
	assert_string_equal(jget_s(r, "source"), "127.0.0.1:40000");
	assert_string_equal(jget_s(r, "user_agent"), "JsSIP 3.10");
	assert_int_equal(jget_i(r, "expires_in_s"), 599);
	assert_string_equal(jget_s(r, "registrar"), "sip:example.org");
	assert_string_equal(jget_s(r, "registrar_contact"), "");   /* unset */
	assert_int_equal(jget_i(r, "connection_id"), 42);
	assert_int_equal(jget_i(r, "expires_s"), 600);
	assert_int_equal(jget_i(r, "registered_unix_ms"), 1764200000123);
	json_decref(j);
}

static void test_drain_reload(void **state)
{
	fixture *x = *state;
	json_t *j;
	assert_int_equal(req(&x->p, "POST", "/api/drain", &j, NULL), 202);
	assert_true(json_is_true(json_object_get(j, "draining")));
	json_decref(j);
	assert_int_equal(req(&x->p, "POST", "/api/drain", &j, NULL), 200);
	json_decref(j);
	assert_int_equal(x->f.drains, 2);

	assert_int_equal(req(&x->p, "POST", "/api/reload", &j, NULL), 200);
	json_decref(j);
	x->f.reload_rc = -EINVAL;
	assert_int_equal(req(&x->p, "POST", "/api/reload", &j, NULL), 400);
	assert_string_equal(jget_s(j, "error"),
			    "/etc/sipbridge.conf:12: unknown key \"x\"");
	json_decref(j);
	x->f.reload_rc = -EIO;
	assert_int_equal(req(&x->p, "POST", "/api/reload", &j, NULL), 500);
	json_decref(j);
}

static void test_routing_errors(void **state)
{
	fixture *x = *state;
	json_t *j;
	assert_int_equal(req(&x->p, "GET", "/api/nothing", &j, NULL), 404);
	json_decref(j);
	assert_int_equal(req(&x->p, "GET", "/api/drain", &j, NULL), 405);
	assert_string_equal(jget_s(j, "allow"), "POST");
	json_decref(j);
	assert_int_equal(req(&x->p, "POST", "/api/calls/" CALL_ID, &j, NULL), 405);
	assert_string_equal(jget_s(j, "allow"), "GET, DELETE");
	json_decref(j);
	/* the query string is not part of the route */
	assert_int_equal(req(&x->p, "POST", "/api/reload?now=1", &j, NULL), 200);
	json_decref(j);
	/* a provider without the callback */
	sb_admin_provider empty = { 0 };
	assert_int_equal(req(&empty, "GET", "/api/calls", &j, NULL), 501);
	json_decref(j);
	assert_int_equal(req(&empty, "DELETE", "/api/calls/x", &j, NULL), 501);
	json_decref(j);
}

static void test_metrics_endpoint(void **state)
{
	fixture *x = *state;
	char *text;
	char *body;
	const char *ct;
	assert_int_equal(req(&x->p, "GET", "/metrics", NULL, &text), 200);
	assert_string_equal(text, "# fake\n");
	g_free(text);
	/* without a provider callback: the default registry */
	sb_metrics_init();
	sb_metrics_call_started();
	sb_admin_provider empty = { 0 };
	assert_int_equal(sb_admin_http_cb("GET", "/metrics", &body, &ct, &empty), 200);
	assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(body, "\nsipbridge_calls_started_total 1\n"));
	g_free(body);
	sb_metrics_shutdown();
}

/* ---- diagnosis, table driven ------------------------------------------- */

typedef struct diag_case {
	const char *name;
	void (*edit)(sb_media_timeline *t);
	gint64 now;
	sb_verdict primary;
	uint32_t mask;
} diag_case;

#define B(v) (1u << (v))
#define BR SB_ADMIN_BROWSER
#define SP SB_ADMIN_SIP

/* A healthy browser -> SIP call answered at 1000 ms. */
static void healthy(sb_media_timeline *t)
{
	sb_media_timeline_init(t);
	t->webrtc[BR] = true;
	t->answered_at = 1000;
	t->ice_connected_at = 300;
	t->dtls_done_at = 350;
	t->first_rtp_in[BR] = 400;
	t->first_rtp_out[SP] = 400;
	t->first_rtp_in[SP] = 1050;
	t->first_rtp_out[BR] = 1050;
	g_strlcpy(t->sdp_addr[SP], "203.0.113.5", 64);
	g_strlcpy(t->local_addr, "198.51.100.7", 64);
}

static void e_none(sb_media_timeline *t) { }
static void e_unanswered(sb_media_timeline *t)
{
	t->answered_at = SB_ADMIN_NEVER;
	t->first_rtp_in[SP] = t->first_rtp_out[BR] = SB_ADMIN_NEVER;
}
static void e_no_ice(sb_media_timeline *t)
{
	t->ice_connected_at = t->dtls_done_at = SB_ADMIN_NEVER;
	t->first_rtp_in[BR] = t->first_rtp_out[BR] = SB_ADMIN_NEVER;
	t->first_rtp_out[SP] = SB_ADMIN_NEVER;
}
static void e_ice_failed_early(sb_media_timeline *t)
{
	e_unanswered(t);
	e_no_ice(t);
	t->ice_failed = true;
}
static void e_no_dtls(sb_media_timeline *t)
{
	t->dtls_done_at = SB_ADMIN_NEVER;
	t->first_rtp_in[BR] = t->first_rtp_out[BR] = SB_ADMIN_NEVER;
	t->first_rtp_out[SP] = SB_ADMIN_NEVER;
}
static void e_dtls_failed(sb_media_timeline *t)
{
	e_no_dtls(t);
	t->dtls_failed = true;
}
static void e_no_sip_rtp(sb_media_timeline *t)
{
	t->first_rtp_in[SP] = t->first_rtp_out[BR] = SB_ADMIN_NEVER;
}
static void e_private_sip(sb_media_timeline *t)
{
	e_no_sip_rtp(t);
	g_strlcpy(t->sdp_addr[SP], "10.1.2.3", 64);
}
static void e_private_but_flowing(sb_media_timeline *t)
{
	g_strlcpy(t->sdp_addr[SP], "10.1.2.3", 64);   /* latched: harmless */
}
static void e_private_both(sb_media_timeline *t)
{
	e_private_sip(t);
	g_strlcpy(t->local_addr, "10.0.0.1", 64);     /* same kind of network */
}
static void e_pt(sb_media_timeline *t)
{
	t->pt_mismatch[SP] = 25;
}
static void e_pt_no_rtp(sb_media_timeline *t)
{
	e_no_sip_rtp(t);
	t->pt_mismatch[SP] = 25;
}
static void e_no_browser_rtp(sb_media_timeline *t)
{
	t->first_rtp_in[BR] = t->first_rtp_out[SP] = SB_ADMIN_NEVER;
}
static void e_both_rtp(sb_media_timeline *t)
{
	t->webrtc[BR] = false;        /* SIP to SIP over plain RTP */
	t->ice_connected_at = t->dtls_done_at = SB_ADMIN_NEVER;
	t->first_rtp_in[BR] = t->first_rtp_in[SP] = SB_ADMIN_NEVER;
}

static const diag_case diag_cases[] = {
	{ "healthy", e_none, 5000, SB_VERDICT_OK, 0 },
	{ "healthy, early look", e_none, 1500, SB_VERDICT_WAITING, 0 },
	{ "unanswered", e_unanswered, 60000, SB_VERDICT_NOT_ANSWERED, 0 },
	{ "no sip rtp within grace", e_no_sip_rtp, 1000 + SB_MEDIA_GRACE_MS - 1,
	  SB_VERDICT_WAITING, 0 },
	{ "no sip rtp after grace", e_no_sip_rtp, 1000 + SB_MEDIA_GRACE_MS,
	  SB_VERDICT_NO_RTP_SIP, B(SB_VERDICT_NO_RTP_SIP) },
	{ "ice never", e_no_ice, 9000, SB_VERDICT_ICE_FAILED,
	  B(SB_VERDICT_ICE_FAILED) },
	{ "ice failed before answer", e_ice_failed_early, 2000,
	  SB_VERDICT_ICE_FAILED, B(SB_VERDICT_ICE_FAILED) },
	{ "dtls never", e_no_dtls, 9000, SB_VERDICT_DTLS_INCOMPLETE,
	  B(SB_VERDICT_DTLS_INCOMPLETE) },
	{ "dtls failed early", e_dtls_failed, 1100, SB_VERDICT_DTLS_INCOMPLETE,
	  B(SB_VERDICT_DTLS_INCOMPLETE) },
	{ "private sip address", e_private_sip, 9000, SB_VERDICT_PRIVATE_ADDR,
	  B(SB_VERDICT_PRIVATE_ADDR) | B(SB_VERDICT_NO_RTP_SIP) },
	{ "private but latched", e_private_but_flowing, 9000, SB_VERDICT_OK, 0 },
	{ "private on a private gateway", e_private_both, 9000,
	  SB_VERDICT_NO_RTP_SIP, B(SB_VERDICT_NO_RTP_SIP) },
	{ "pt mismatch", e_pt, 9000, SB_VERDICT_PT_MISMATCH,
	  B(SB_VERDICT_PT_MISMATCH) },
	{ "pt mismatch explains no rtp", e_pt_no_rtp, 9000, SB_VERDICT_PT_MISMATCH,
	  B(SB_VERDICT_PT_MISMATCH) | B(SB_VERDICT_NO_RTP_SIP) },
	{ "no browser rtp", e_no_browser_rtp, 9000, SB_VERDICT_NO_RTP_BROWSER,
	  B(SB_VERDICT_NO_RTP_BROWSER) },
	{ "plain rtp both sides silent", e_both_rtp, 9000, SB_VERDICT_NO_RTP_SIP,
	  B(SB_VERDICT_NO_RTP_SIP) | B(SB_VERDICT_NO_RTP_BROWSER) },
};

static void test_diagnose_table(void **state)
{
	for (size_t i = 0; i < G_N_ELEMENTS(diag_cases); i++) {
		const diag_case *c = &diag_cases[i];
		sb_media_timeline t;
		healthy(&t);
		c->edit(&t);
		sb_verdict v = SB_VERDICT_COUNT;
		uint32_t mask = sb_media_diagnose(&t, c->now, &v);
		if (v != c->primary || mask != c->mask)
			fail_msg("case '%s': got %s (mask %#x), want %s (mask %#x)",
				 c->name, sb_verdict_text(v), mask,
				 sb_verdict_text(c->primary), c->mask);
	}
}

static void test_verdict_texts(void **state)
{
	assert_string_equal(sb_verdict_text(SB_VERDICT_NO_RTP_SIP),
			    "no RTP from the SIP side");
	assert_string_equal(sb_verdict_text(SB_VERDICT_DTLS_INCOMPLETE),
			    "DTLS never completed");
	assert_string_equal(sb_verdict_text(SB_VERDICT_PRIVATE_ADDR),
			    "private address in the peer's SDP");
	assert_string_equal(sb_verdict_text(SB_VERDICT_PT_MISMATCH),
			    "payload type mismatch");
	assert_string_equal(sb_verdict_text(SB_VERDICT_COUNT), "unknown");
}

static void test_private_addresses(void **state)
{
	static const struct { const char *ip; bool priv; } t[] = {
		{ "10.0.0.1", true }, { "172.16.0.1", true }, { "172.31.255.255", true },
		{ "172.32.0.1", false }, { "172.15.255.255", false },
		{ "192.168.0.10", true }, { "192.169.0.1", false },
		{ "100.64.0.1", true }, { "100.127.255.254", true }, { "100.128.0.1", false },
		{ "169.254.1.1", true }, { "127.0.0.1", false }, { "8.8.8.8", false },
		{ "fd00::1", true }, { "fc12::1", true }, { "fe80::1", true },
		{ "febf::1", true }, { "fec0::1", false }, { "2001:db8::1", false },
		{ "::1", false }, { "::ffff:192.168.1.1", true }, { "::ffff:1.2.3.4", false },
		{ "pbx.example.com", false }, { "", false }, { "10.0.0.256", false },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (sb_admin_addr_is_private(t[i].ip) != t[i].priv)
			fail_msg("%s: expected %s", t[i].ip,
				 t[i].priv ? "private" : "not private");
	assert_false(sb_admin_addr_is_private(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routing_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_endpoint, setup, teardown),
		cmocka_unit_test(test_diagnose_table),
		cmocka_unit_test(test_verdict_texts),
		cmocka_unit_test(test_private_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
