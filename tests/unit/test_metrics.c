/* gateway/metrics: registry semantics, the exact exposition text (HELP/
 * TYPE lines, label escaping, histogram buckets), worker samples and the
 * daemon families. */
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <glib.h>

#include "gateway/metrics.h"
#include "webrtc/residence.h"

static int setup_reg(void **state)
{
	*state = sb_metrics_registry_new();
	return 0;
}

static int teardown_reg(void **state)
{
	sb_metrics_registry_free(*state);
	return 0;
}

static void test_counter_gauge_text(void **state)
{
	sb_metrics_registry *r = *state;
	sb_metric *c = sb_metrics_counter(r, "calls_total", "Calls seen", NULL);
	sb_metric *g = sb_metrics_gauge(r, "load", "Load", NULL);
	assert_non_null(c);
	assert_non_null(g);
	sb_metric_add(c, NULL, 2);
	sb_metric_add(c, NULL, -5);          /* counters never go down */
	sb_metric_set(g, NULL, 1.5);
	sb_metric_add(g, NULL, -3);
	g_autofree char *t = sb_metrics_registry_render(r);
	assert_string_equal(t,
		"# HELP sipbridge_calls_total Calls seen\n"
		"# TYPE sipbridge_calls_total counter\n"
		"sipbridge_calls_total 2\n"
		"# HELP sipbridge_load Load\n"
		"# TYPE sipbridge_load gauge\n"
		"sipbridge_load -1.5\n");
}

static void test_label_escaping(void **state)
{
	sb_metrics_registry *r = *state;
	sb_metric *c = sb_metrics_counter(r, "fail_total",
		"Failures\nby \\reason", (const char *const[]){ "reason", NULL });
	sb_metric_add(c, SB_LABELS("say \"hi\"\\now\nplease"), 1);
	sb_metric_add(c, SB_LABELS("plain"), 3);
	sb_metric_add(c, SB_LABELS("plain"), 1);
	g_autofree char *t = sb_metrics_registry_render(r);
	assert_string_equal(t,
		"# HELP sipbridge_fail_total Failures\\nby \\\\reason\n"
		"# TYPE sipbridge_fail_total counter\n"
		"sipbridge_fail_total{reason=\"say \\\"hi\\\"\\\\now\\nplease\"} 1\n"
		"sipbridge_fail_total{reason=\"plain\"} 4\n");
	assert_true(sb_metric_value(c, SB_LABELS("plain")) == 4);
	assert_true(sb_metric_value(c, SB_LABELS("absent")) == 0);
}

static void test_histogram_text(void **state)
{
	sb_metrics_registry *r = *state;
	static const double b[] = { 0.1, 0.5, 2 };
	sb_metric *h = sb_metrics_histogram(r, "setup_seconds", "Setup",
		(const char *const[]){ "kind", NULL }, b, 3);
	assert_non_null(h);
	sb_metric_observe(h, SB_LABELS("a"), 0.1);   /* le is inclusive */
	sb_metric_observe(h, SB_LABELS("a"), 0.3);
	sb_metric_observe(h, SB_LABELS("a"), 7);
	sb_metric_add(h, SB_LABELS("a"), 1);         /* wrong type: ignored */
	g_autofree char *t = sb_metrics_registry_render(r);
	assert_string_equal(t,
		"# HELP sipbridge_setup_seconds Setup\n"
		"# TYPE sipbridge_setup_seconds histogram\n"
		"sipbridge_setup_seconds_bucket{kind=\"a\",le=\"0.1\"} 1\n"
		"sipbridge_setup_seconds_bucket{kind=\"a\",le=\"0.5\"} 2\n"
		"sipbridge_setup_seconds_bucket{kind=\"a\",le=\"2\"} 2\n"
		"sipbridge_setup_seconds_bucket{kind=\"a\",le=\"+Inf\"} 3\n"
		"sipbridge_setup_seconds_sum{kind=\"a\"} 7.4\n"
		"sipbridge_setup_seconds_count{kind=\"a\"} 3\n");
	assert_true(sb_metric_value(h, SB_LABELS("a")) == 3);
}

static void test_unlabelled_histogram_zero(void **state)
{
	sb_metrics_registry *r = *state;
	static const double b[] = { 1 };
	sb_metrics_histogram(r, "h", "H", NULL, b, 1);
	g_autofree char *t = sb_metrics_registry_render(r);
	assert_string_equal(t,
		"# HELP sipbridge_h H\n# TYPE sipbridge_h histogram\n"
		"sipbridge_h_bucket{le=\"1\"} 0\nsipbridge_h_bucket{le=\"+Inf\"} 0\n"
		"sipbridge_h_sum 0\nsipbridge_h_count 0\n");
}

static void test_invalid_declarations(void **state)
{
	sb_metrics_registry *r = *state;
	static const double bad[] = { 1, 1 };
	static const double ok[] = { 1 };
	assert_null(sb_metrics_counter(r, "9lives", "", NULL));
	assert_null(sb_metrics_counter(r, "has-dash", "", NULL));
	assert_null(sb_metrics_counter(r, "x", "", (const char *const[]){ "le", NULL }));
	assert_null(sb_metrics_counter(r, "x", "", (const char *const[]){ "__r", NULL }));
	assert_null(sb_metrics_counter(r, "x", "", (const char *const[]){ "a:b", NULL }));
	assert_null(sb_metrics_histogram(r, "h", "", NULL, bad, 2));
	assert_null(sb_metrics_histogram(r, "h", "", NULL, ok, 0));
	assert_non_null(sb_metrics_counter(r, "x", "", NULL));
	assert_null(sb_metrics_gauge(r, "x", "", NULL));      /* duplicate */
}

static void test_cardinality_cap(void **state)
{
	sb_metrics_registry *r = *state;
	sb_metric *c = sb_metrics_counter(r, "r_total", "",
		(const char *const[]){ "reason", NULL });
	for (int i = 0; i < 3 * SB_METRIC_MAX_CHILDREN; i++) {
		char v[16];
		g_snprintf(v, sizeof(v), "r%d", i);
		sb_metric_add(c, SB_LABELS(v), 1);
	}
	g_autofree char *t = sb_metrics_registry_render(r);
	unsigned lines = 0;
	for (const char *p = t; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 2 + SB_METRIC_MAX_CHILDREN);
	assert_true(sb_metric_value(c, SB_LABELS("other")) ==
		    3 * SB_METRIC_MAX_CHILDREN - (SB_METRIC_MAX_CHILDREN - 1));
}

static void test_gauge_clear(void **state)
{
	sb_metrics_registry *r = *state;
	sb_metric *g = sb_metrics_gauge(r, "g", "G",
		(const char *const[]){ "k", NULL });
	sb_metric_set(g, SB_LABELS("a"), 1);
	sb_metric_clear(g);
	sb_metric_set(g, SB_LABELS("b"), 2);
	g_autofree char *t = sb_metrics_registry_render(r);
	assert_string_equal(t, "# HELP sipbridge_g G\n# TYPE sipbridge_g gauge\n"
			    "sipbridge_g{k=\"b\"} 2\n");
}

static void test_status_class(void **state)
{
	assert_string_equal(sb_metrics_status_class(180), "1xx");
	assert_string_equal(sb_metrics_status_class(200), "2xx");
	assert_string_equal(sb_metrics_status_class(486), "4xx");
	assert_string_equal(sb_metrics_status_class(699), "6xx");
	assert_string_equal(sb_metrics_status_class(0), "none");
	assert_string_equal(sb_metrics_status_class(700), "none");
	assert_string_equal(sb_metrics_status_class(99), "none");
}

static void test_rtcp_lost(void **state)
{
	sb_rtcp_rx rx;
	sb_rtcp_rx_init(&rx);
	assert_int_equal(sb_metrics_rtcp_lost(&rx), 0);
	/* 10 packets sent with seq 100..109, 3 missing */
	for (uint16_t s = 100; s < 110; s++)
		if (s != 102 && s != 105 && s != 106)
			sb_rtcp_rx_packet(&rx, 42, s, s * 160u, s * 160u);
	assert_int_equal(sb_metrics_rtcp_lost(&rx), 3);
	/* across a sequence wrap */
	sb_rtcp_rx_init(&rx);
	for (uint32_t i = 0; i < 20; i++)
		if (i != 10)
			sb_rtcp_rx_packet(&rx, 7, (uint16_t)(65530 + i),
					  i * 160, i * 160);
	assert_int_equal(sb_metrics_rtcp_lost(&rx), 1);
}

static void test_sample_pairs(void **state)
{
	sb_metrics_media_sample s = { 0 };
	sb_metrics_sample_add_xcode(&s, "opus", "PCMU");
	sb_metrics_sample_add_xcode(&s, "PCMU", "opus");
	sb_metrics_sample_add_xcode(&s, "opus", "G722");
	assert_int_equal(s.n_xcode, 2);
	assert_string_equal(s.xcode[0].a, "opus");
	assert_string_equal(s.xcode[0].b, "pcmu");
	assert_int_equal(s.xcode[0].sessions, 2);
	assert_string_equal(s.xcode[1].a, "g722");
	for (int i = 0; i < 20; i++) {
		char c[16];
		g_snprintf(c, sizeof(c), "c%02d", i);
		sb_metrics_sample_add_xcode(&s, "opus", c);
	}
	assert_int_equal(s.n_xcode, SB_METRICS_MAX_XCODE_PAIRS);
	sb_metrics_xcode_pair *o = &s.xcode[SB_METRICS_MAX_XCODE_PAIRS - 1];
	assert_string_equal(o->a, "other");
	assert_int_equal(o->sessions, 20 - (SB_METRICS_MAX_XCODE_PAIRS - 3));
	unsigned total = 0;
	for (unsigned i = 0; i < s.n_xcode; i++)
		total += s.xcode[i].sessions;
	assert_int_equal(total, 23);
}

static void test_sample_pkt_hist(void **state)
{
	sb_metrics_media_sample s = { 0 };
	sb_metrics_sample_observe_pkt(&s, 3e-6);
	sb_metrics_sample_observe_pkt(&s, 5e-6);
	sb_metrics_sample_observe_pkt(&s, 60e-6);
	sb_metrics_sample_observe_pkt(&s, 2e-3);
	assert_int_equal(s.pkt_time[0], 2);
	assert_int_equal(s.pkt_time[4], 1);
	assert_int_equal(s.pkt_time[SB_METRICS_PKT_BUCKETS], 1);
}

static int setup_default(void **state)
{
	sb_metrics_init();
	return 0;
}

static int teardown_default(void **state)
{
	sb_metrics_shutdown();
	return 0;
}

static bool has_line(const char *text, const char *line)
{
	g_autofree char *l = g_strconcat("\n", line, "\n", NULL);
	return strstr(text, l) != NULL;
}

static void test_daemon_families(void **state)
{
	sb_metrics_call_started();
	sb_metrics_call_started();
	sb_metrics_call_finished(SB_CALL_ANSWERED, 200);
	sb_metrics_call_finished(SB_CALL_REJECTED, 486);
	sb_metrics_call_setup_time(0.3);
	sb_metrics_set_active(1, 4, 3, 2, 1);
	sb_metrics_registration(200);
	sb_metrics_registration(401);
	sb_metrics_ws_opened();
	sb_metrics_transaction("ws_to_sip");
	sb_metrics_ice_failure("timeout");
	sb_metrics_dtls_failure("fingerprint mismatch");
	sb_metrics_worker_load(1, 7);
	g_autofree char *t = sb_metrics_render();
	assert_true(has_line(t, "sipbridge_calls_started_total 2"));
	assert_true(has_line(t,
		"sipbridge_calls_finished_total{outcome=\"answered\",status_class=\"2xx\"} 1"));
	assert_true(has_line(t,
		"sipbridge_calls_finished_total{outcome=\"rejected\",status_class=\"4xx\"} 1"));
	assert_true(has_line(t, "sipbridge_call_setup_seconds_bucket{le=\"0.5\"} 1"));
	assert_true(has_line(t, "sipbridge_call_setup_seconds_bucket{le=\"0.25\"} 0"));
	assert_true(has_line(t, "sipbridge_calls_active 1"));
	assert_true(has_line(t, "sipbridge_transactions_active 4"));
	assert_true(has_line(t, "sipbridge_websocket_connections 3"));
	assert_true(has_line(t, "sipbridge_registrations_active 2"));
	assert_true(has_line(t, "sipbridge_registrations_total{status_class=\"4xx\"} 1"));
	assert_true(has_line(t, "sipbridge_websocket_connections_total 1"));
	assert_true(has_line(t, "sipbridge_transactions_total{direction=\"ws_to_sip\"} 1"));
	assert_true(has_line(t, "sipbridge_ice_failures_total{reason=\"timeout\"} 1"));
	assert_true(has_line(t,
		"sipbridge_dtls_failures_total{reason=\"fingerprint mismatch\"} 1"));
	assert_true(has_line(t, "sipbridge_worker_sessions{worker=\"1\"} 7"));
	assert_true(has_line(t, "# TYPE sipbridge_media_packets_total counter"));
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"rtp\",direction=\"tx\"} 0"));
	assert_true(has_line(t, "sipbridge_build_info{version=\"" PACKAGE_VERSION "\"} 1"));
}

/* A leg's processing-time counts land in the same buckets. */
static void test_leg_proc_time(void **state)
{
	(void)state;
	for (unsigned i = 0; i < SB_METRICS_PKT_BUCKETS; i++)
		assert_true(fabs(sb_leg_proc_bounds_ns[i] / 1e9 - sb_metrics_pkt_bounds[i]) < 1e-12);
	sb_leg_proc_time p = { 0 };
	sb_leg_proc_add(&p, 5000);      /* on the bound: le=5e-6 */
	sb_leg_proc_add(&p, 5001);
	sb_leg_proc_add(&p, 999999);
	sb_leg_proc_add(&p, 2000000);   /* above 1 ms */
	assert_int_equal(p.count[0], 1);
	assert_int_equal(p.count[1], 1);
	assert_int_equal(p.count[7], 1);
	assert_int_equal(p.count[8], 1);
	assert_int_equal(p.sum_ns, 5000 + 5001 + 999999 + 2000000);
	sb_metrics_media_sample s = { 0 };
	sb_metrics_sample_add_proc(&s, &p);
	sb_metrics_sample_add_proc(&s, &p);
	assert_int_equal(s.pkt_time[0], 2);
	assert_int_equal(s.pkt_time[8], 2);
	assert_true(fabs(s.pkt_time_sum - 2 * 3010000e-9) < 1e-12);
}

/* Deltas from the proxy's cumulative counters; media failure labels. */
static void test_counts_and_failure_labels(void **state)
{
	sb_metrics_transactions_add("sip_to_ws", 3);
	sb_metrics_transactions_add("sip_to_ws", 0);
	sb_metrics_transactions_add("sip_to_ws", -2);   /* ignored */
	sb_metrics_registrations_add(200, 2);
	sb_metrics_registrations_add(503, 1);
	g_autofree char *t = sb_metrics_render();
	assert_true(has_line(t, "sipbridge_transactions_total{direction=\"sip_to_ws\"} 3"));
	assert_true(has_line(t, "sipbridge_registrations_total{status_class=\"2xx\"} 2"));
	assert_true(has_line(t, "sipbridge_registrations_total{status_class=\"5xx\"} 1"));

	bool ice = false;
	assert_string_equal(sb_metrics_media_failure("ICE failed on the browser leg: "
		"consent expired: nothing received from the peer", &ice), "consent_expired");
	assert_true(ice);
	assert_string_equal(sb_metrics_media_failure("ICE failed on the browser leg: ICE failed",
						     &ice), "checks_failed");
	assert_string_equal(sb_metrics_media_failure("DTLS failed on the browser leg: "
		"fingerprint mismatch", &ice), "fingerprint_mismatch");
	assert_false(ice);
	assert_string_equal(sb_metrics_media_failure("DTLS failed on the browser leg: "
		"handshake timed out", &ice), "timeout");
	assert_string_equal(sb_metrics_media_failure("DTLS failed on the browser leg: "
		"SRTP context creation failed", &ice), "srtp");
	assert_string_equal(sb_metrics_media_failure("DTLS failed on the browser leg: "
		"error:0A000418:SSL routines::tlsv1 alert unknown ca", &ice), "handshake");
	assert_null(sb_metrics_media_failure("RTP timeout on the SIP leg", &ice));
	assert_null(sb_metrics_media_failure(NULL, &ice));
}

static void fill_worker(sb_metrics_media_sample *s, uint64_t base)
{
	sb_leg_stats web = { .rx_packets = base, .rx_octets = base * 160,
			     .tx_packets = base + 1, .tx_octets = (base + 1) * 160,
			     .rx_dropped = 2 };
	sb_leg_stats rtp = { .rx_packets = base * 2, .tx_packets = base * 3,
			     .tx_dropped = 1 };
	sb_metrics_sample_add_leg(s, SB_METRICS_LEG_WEBRTC, &web, 5, 1);
	sb_metrics_sample_add_leg(s, SB_METRICS_LEG_RTP, &rtp, 0, 0);
	sb_metrics_sample_add_leg(s, SB_METRICS_LEG_ECHO, &rtp, 0, 0);
	sb_metrics_sample_add_leg(s, SB_METRICS_LEG_KINDS, &web, 9, 9); /* ignored */
	sb_metrics_sample_add_xcode(s, "opus", "pcmu");
	sb_metrics_sample_observe_pkt(s, 40e-6);
	s->sessions = 1;
}

static void test_media_samples_summed(void **state)
{
	sb_metrics_media_sample a = { 0 }, b = { 0 };
	fill_worker(&a, 100);
	fill_worker(&b, 10);
	sb_metrics_media_update(0, &a);
	sb_metrics_media_update(3, &b);
	g_autofree char *t = sb_metrics_render();
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"webrtc\",direction=\"rx\"} 110"));
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"webrtc\",direction=\"tx\"} 112"));
	assert_true(has_line(t,
		"sipbridge_media_bytes_total{leg=\"webrtc\",direction=\"rx\"} 17600"));
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"rtp\",direction=\"tx\"} 330"));
	assert_true(has_line(t,
		"sipbridge_media_packets_dropped_total{leg=\"webrtc\",direction=\"rx\"} 4"));
	assert_true(has_line(t,
		"sipbridge_media_packets_dropped_total{leg=\"rtp\",direction=\"tx\"} 2"));
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"echo\",direction=\"tx\"} 330"));
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"conf\",direction=\"rx\"} 0"));
	assert_true(has_line(t, "sipbridge_media_packets_lost_total{leg=\"webrtc\"} 10"));
	assert_true(has_line(t, "sipbridge_media_packets_late_total{leg=\"webrtc\"} 2"));
	assert_true(has_line(t,
		"sipbridge_transcoding_sessions{codec_a=\"opus\",codec_b=\"pcmu\"} 2"));
	assert_true(has_line(t,
		"sipbridge_packet_processing_seconds_bucket{le=\"2e-05\"} 0"));
	assert_true(has_line(t,
		"sipbridge_packet_processing_seconds_bucket{le=\"5e-05\"} 2"));
	assert_true(has_line(t, "sipbridge_packet_processing_seconds_count 2"));
	/* the workers' residence histograms, read at scrape time: this
	 * thread reports two datagrams, 40 us and 1.2 ms after arrival */
	sb_residence_hist h0;
	sb_residence_snapshot(&h0);
	int64_t arr[3] = { 1000000000, 0, 1000000000 - 1160000 };
	sb_residence_report(arr, 3, 1000000000 + 40000);
	g_free(t);
	t = sb_metrics_render();
	char line[160];
	g_snprintf(line, sizeof(line),
		   "sipbridge_media_residence_seconds_bucket{le=\"5e-05\"} %"
		   G_GUINT64_FORMAT, h0.count[0] + h0.count[1] + 1);
	assert_true(has_line(t, line));
	uint64_t n0 = 0;
	for (unsigned i = 0; i <= SB_RESIDENCE_BUCKETS; i++)
		n0 += h0.count[i];
	g_snprintf(line, sizeof(line),
		   "sipbridge_media_residence_seconds_count %" G_GUINT64_FORMAT,
		   n0 + 2);
	assert_true(has_line(t, line));
	/* a newer sample from worker 3 replaces the old one; nothing is
	 * counted twice */
	fill_worker(&b, 10);
	b.n_xcode = 0;
	sb_metrics_media_update(3, &b);
	g_free(t);
	t = sb_metrics_render();
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"webrtc\",direction=\"rx\"} 120"));
	assert_true(has_line(t,
		"sipbridge_transcoding_sessions{codec_a=\"opus\",codec_b=\"pcmu\"} 1"));
	/* a smaller sample (an ended call's figures still on their way)
	 * does not take a counter down; a larger one moves it up */
	sb_metrics_media_sample dip = b;
	dip.packets[SB_METRICS_LEG_WEBRTC][SB_METRICS_RX] = 3;
	dip.lost[SB_METRICS_LEG_WEBRTC] = 0;
	sb_metrics_media_update(3, &dip);
	g_free(t);
	t = sb_metrics_render();
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"webrtc\",direction=\"rx\"} 120"));
	dip.packets[SB_METRICS_LEG_WEBRTC][SB_METRICS_RX] = 50;
	sb_metrics_media_update(3, &dip);
	g_free(t);
	t = sb_metrics_render();
	assert_true(has_line(t,
		"sipbridge_media_packets_total{leg=\"webrtc\",direction=\"rx\"} 150"));
}

static unsigned collected;

static void collector(sb_metrics_registry *r, void *user_data)
{
	collected++;
	sb_metrics_set_active(*(unsigned *)user_data, 0, 0, 0, 0);
}

static void test_collector_runs_at_render(void **state)
{
	unsigned calls = 9;
	collected = 0;
	sb_metrics_set_collector(collector, &calls);
	g_autofree char *t = sb_metrics_render();
	assert_int_equal(collected, 1);
	assert_true(has_line(t, "sipbridge_calls_active 9"));
}

static void test_no_registry_is_noop(void **state)
{
	sb_metrics_call_started();
	sb_metrics_ice_failure("x");
	g_autofree char *t = sb_metrics_render();
	assert_string_equal(t, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counter_gauge_text, setup_reg, teardown_reg),
		cmocka_unit_test_setup_teardown(test_label_escaping, setup_reg, teardown_reg),
		cmocka_unit_test_setup_teardown(test_histogram_text, setup_reg, teardown_reg),
		cmocka_unit_test_setup_teardown(test_unlabelled_histogram_zero, setup_reg, teardown_reg),
		cmocka_unit_test_setup_teardown(test_invalid_declarations, setup_reg, teardown_reg),
		cmocka_unit_test_setup_teardown(test_cardinality_cap, setup_reg, teardown_reg),
		cmocka_unit_test_setup_teardown(test_gauge_clear, setup_reg, teardown_reg),
		cmocka_unit_test(test_status_class),
		cmocka_unit_test(test_rtcp_lost),
		cmocka_unit_test(test_sample_pairs),
		cmocka_unit_test(test_sample_pkt_hist),
		cmocka_unit_test_setup_teardown(test_daemon_families, setup_default, teardown_default),
		cmocka_unit_test_setup_teardown(test_media_samples_summed, setup_default, teardown_default),
		cmocka_unit_test_setup_teardown(test_collector_runs_at_render, setup_default, teardown_default),
		cmocka_unit_test_setup_teardown(test_counts_and_failure_labels, setup_default, teardown_default),
		cmocka_unit_test(test_leg_proc_time),
		cmocka_unit_test(test_no_registry_is_noop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
