/* The pair's socket read by the gateway after nomination (ice_direct.h),
 * on 127.0.0.1 in one private GMainContext:
 *  - two sb_ice ends take their sockets over, exchange datagrams, keep
 *    consent with each other's STUN, and one notices within the
 *    (shortened) consent timeout that the other has gone;
 *  - against a plain libnice agent with RFC 7675 consent on, our
 *    consent requests are answered by libnice and libnice's checks are
 *    answered by us (so libnice's STUN accepts ours and vice versa), and
 *    data flows both ways;
 *  - that agent restarts ICE: the socket goes back to libnice, new
 *    credentials, READY again, taken over again, data and consent.
 * Watchdog-bounded. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>
#include <agent.h>

#include "webrtc/ice.h"

typedef struct end {
	sb_ice *ice;
	bool ready, failed;
	unsigned n_rx;
	uint8_t rx[64];
	size_t rx_len;
} end;

typedef struct fixture {
	GMainContext *ctx;
	end a, b;
	NiceAgent *peer;        /* the plain libnice end */
	guint peer_sid;
	bool peer_ready, peer_failed;
	unsigned peer_rx;
} fixture;

static void on_recv(void *ud, const uint8_t *buf, size_t len)
{
	end *e = ud;
	e->n_rx++;
	e->rx_len = len < sizeof(e->rx) ? len : sizeof(e->rx);
	memcpy(e->rx, buf, e->rx_len);
}

static void on_state(void *ud, sb_ice_state st)
{
	end *e = ud;
	if (st == SB_ICE_STATE_READY)
		e->ready = true;
	if (st == SB_ICE_STATE_FAILED)
		e->failed = true;
}

static const sb_ice_ops ops = { .recv = on_recv, .state = on_state };

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_ice_free(f->a.ice);
	sb_ice_free(f->b.ice);
	if (f->peer) {
		nice_agent_remove_stream(f->peer, f->peer_sid);
		g_object_unref(f->peer);
	}
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static gboolean expire(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

/* Iterate until cond(f) or ms pass; returns cond(f). */
static bool run_until(fixture *f, bool (*cond)(fixture *), unsigned ms)
{
	bool expired = false;
	GSource *w = g_timeout_source_new(ms);
	g_source_set_callback(w, expire, &expired, NULL);
	g_source_attach(w, f->ctx);
	while (!expired && !cond(f))
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	return cond(f);
}

static void make(fixture *f, end *e, bool controlling)
{
	sb_ice_params p = { .local_addr = "127.0.0.1",
			    .controlling = controlling,
			    .consent_interval_ms = 50,
			    .consent_timeout_ms = 400 };
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, e, &e->ice), 0);
}

static bool both_direct(fixture *f)
{
	return sb_ice_is_direct(f->a.ice) && sb_ice_is_direct(f->b.ice);
}

static bool both_got_20(fixture *f)
{
	return f->a.n_rx >= 20 && f->b.n_rx >= 20;
}

static bool a_failed(fixture *f)
{
	return f->a.failed;
}

static bool consent_flowing(fixture *f)
{
	sb_ice_direct_stats sa, sb;
	return sb_ice_get_direct_stats(f->a.ice, &sa) == 0 &&
	       sb_ice_get_direct_stats(f->b.ice, &sb) == 0 &&
	       sa.consent_ok >= 3 && sb.consent_ok >= 3 &&
	       sa.stun_answered >= 3 && sb.stun_answered >= 3;
}

/* media.stun_server: once the agent is gone, a re-offer still carries
 * the selected candidate's srflx twin (a peer beyond the NAT reached us
 * there). */
static void test_kept_srflx(void **state)
{
	fixture *f = *state;
	sb_media_desc da, db, again;
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	memset(&again, 0, sizeof(again));
	sb_ice_params p = { .local_addr = "127.0.0.1", .srflx_addr = "127.0.0.77",
			    .controlling = true };
	assert_int_equal(sb_ice_new(f->ctx, &p, &ops, &f->a, &f->a.ice), 0);
	make(f, &f->b, false);
	assert_int_equal(sb_ice_get_local(f->a.ice, &da), 0);
	assert_int_equal(sb_ice_get_local(f->b.ice, &db), 0);
	assert_int_equal(da.n_cands, 2);
	assert_int_equal(sb_ice_set_remote(f->a.ice, &db), 0);
	assert_int_equal(sb_ice_set_remote(f->b.ice, &da), 0);
	assert_true(run_until(f, both_direct, 5000));
	assert_int_equal(sb_ice_get_local(f->a.ice, &again), 0);
	assert_int_equal(again.n_cands, 2);
	char want[64];
	g_snprintf(want, sizeof(want), " 127.0.0.77 %u typ srflx", da.port);
	assert_non_null(strstr(again.cands[1], want));
	assert_non_null(strstr(again.cands[0], " typ host"));
}

static void test_two_direct_ends(void **state)
{
	fixture *f = *state;
	sb_media_desc da, db;
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	make(f, &f->a, true);
	make(f, &f->b, false);
	assert_int_equal(sb_ice_get_local(f->a.ice, &da), 0);
	assert_int_equal(sb_ice_get_local(f->b.ice, &db), 0);
	assert_int_equal(sb_ice_set_remote(f->a.ice, &db), 0);
	assert_int_equal(sb_ice_set_remote(f->b.ice, &da), 0);
	assert_true(run_until(f, both_direct, 5000));
	assert_true(f->a.ready && f->b.ready);

	/* the agents are gone (ice.c frees them once the pair is read
	 * directly): a re-offer of the same session still gets the same
	 * credentials and the selected candidate, and changes nothing */
	sb_media_desc again;
	memset(&again, 0, sizeof(again));
	assert_int_equal(sb_ice_get_local(f->a.ice, &again), 0);
	assert_string_equal(again.ice_ufrag, da.ice_ufrag);
	assert_string_equal(again.ice_pwd, da.ice_pwd);
	assert_int_equal(again.n_cands, 1);
	assert_true(again.end_of_candidates);
	assert_int_equal(again.port, da.port);
	char port[16];
	g_snprintf(port, sizeof(port), " %u typ ", da.port);
	assert_non_null(strstr(again.cands[0], port));
	char pair[160];
	assert_int_equal(sb_ice_describe_pair(f->a.ice, pair, sizeof(pair)), 0);
	assert_non_null(strstr(pair, "<->"));
	assert_int_equal(sb_ice_set_remote(f->a.ice, &db), 0);
	assert_true(sb_ice_is_direct(f->a.ice));

	const uint8_t rtp[] = { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9 };
	const uint8_t dtls[] = { 23, 0xfe, 0xfd, 0, 1 };
	for (int i = 0; i < 20; i++) {
		assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), 0);
		assert_int_equal(sb_ice_send(f->b.ice, dtls, sizeof(dtls)), 0);
	}
	assert_true(run_until(f, both_got_20, 3000));
	assert_int_equal(f->b.n_rx, 20);
	assert_int_equal(f->a.n_rx, 20);
	assert_memory_equal(f->b.rx, rtp, sizeof(rtp));
	assert_memory_equal(f->a.rx, dtls, sizeof(dtls));

	/* consent both ways, well inside the 400 ms timeout */
	assert_true(run_until(f, consent_flowing, 3000));
	assert_false(f->a.failed || f->b.failed);

	/* b vanishes: a's requests go unanswered, a fails, saying why */
	sb_ice_free(f->b.ice);
	f->b.ice = NULL;
	gint64 t0 = g_get_monotonic_time();
	assert_true(run_until(f, a_failed, 3000));
	gint64 took = g_get_monotonic_time() - t0;
	assert_true(took >= 300 * 1000); /* not before the timeout */
	assert_non_null(strstr(sb_ice_failure(f->a.ice), "consent"));
	assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), -ESHUTDOWN);
}

/* --- against a plain libnice agent --- */

static void peer_state(NiceAgent *agent, guint sid, guint cid, guint st,
		       gpointer data)
{
	fixture *f = data;
	(void)agent;
	(void)sid;
	(void)cid;
	if (st == NICE_COMPONENT_STATE_READY)
		f->peer_ready = true;
	if (st == NICE_COMPONENT_STATE_FAILED)
		f->peer_failed = true;
}

static void peer_recv(NiceAgent *agent, guint sid, guint cid, guint len,
		      gchar *buf, gpointer data)
{
	fixture *f = data;
	(void)agent;
	(void)sid;
	(void)cid;
	(void)buf;
	if (len > 0)
		f->peer_rx++;
}

static void peer_desc(fixture *f, sb_media_desc *d)
{
	gchar *ufrag = NULL, *pwd = NULL;
	assert_true(nice_agent_get_local_credentials(f->peer, f->peer_sid,
						     &ufrag, &pwd));
	g_strlcpy(d->ice_ufrag, ufrag, sizeof(d->ice_ufrag));
	g_strlcpy(d->ice_pwd, pwd, sizeof(d->ice_pwd));
	g_free(ufrag);
	g_free(pwd);
	GSList *l = nice_agent_get_local_candidates(f->peer, f->peer_sid, 1);
	for (GSList *i = l; i && d->n_cands < SB_MD_MAX_CANDS; i = i->next) {
		gchar *line = nice_agent_generate_local_candidate_sdp(
			f->peer, i->data);
		g_strlcpy(d->cands[d->n_cands++], line + 2, SB_MD_CAND_LEN);
		g_free(line);
	}
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
}

static void peer_apply(fixture *f, const sb_media_desc *d)
{
	assert_true(nice_agent_set_remote_credentials(
		f->peer, f->peer_sid, d->ice_ufrag, d->ice_pwd));
	GSList *l = NULL;
	for (unsigned i = 0; i < d->n_cands; i++) {
		char *line = g_strconcat("a=", d->cands[i], NULL);
		NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(
			f->peer, f->peer_sid, line);
		g_free(line);
		if (c)
			l = g_slist_prepend(l, c);
	}
	assert_non_null(l);
	nice_agent_set_remote_candidates(f->peer, f->peer_sid, 1, l);
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
}

static bool direct_and_peer_ready(fixture *f)
{
	return f->peer_ready && sb_ice_is_direct(f->a.ice);
}

static bool data_both_ways(fixture *f)
{
	return f->peer_rx >= 10 && f->a.n_rx >= 10;
}

/* libnice sends its first consent check within about 5 s (its own
 * timer); ours go every 50 ms. */
static bool libnice_consent_both_ways(fixture *f)
{
	sb_ice_direct_stats s;
	return sb_ice_get_direct_stats(f->a.ice, &s) == 0 &&
	       s.consent_ok >= 3 && s.stun_answered >= 1;
}

/* A plain libnice agent (controlling, RFC 7675 consent on) and the
 * gateway side (controlled, f->a), connected until the gateway reads
 * the pair itself. Fills the two descriptions exchanged. */
static void connect_libnice_peer(fixture *f, sb_media_desc *pd,
				 sb_media_desc *ad)
{
	NiceAddress addr;

	f->peer = nice_agent_new_full(f->ctx, NICE_COMPATIBILITY_RFC5245,
				      NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	g_object_set(f->peer, "controlling-mode", TRUE, "ice-tcp", FALSE,
		     "upnp", FALSE, NULL);
	g_signal_connect(f->peer, "component-state-changed",
			 G_CALLBACK(peer_state), f);
	nice_address_init(&addr);
	nice_address_set_from_string(&addr, "127.0.0.1");
	nice_agent_add_local_address(f->peer, &addr);
	f->peer_sid = nice_agent_add_stream(f->peer, 1);
	nice_agent_attach_recv(f->peer, f->peer_sid, 1, f->ctx, peer_recv, f);
	assert_true(nice_agent_gather_candidates(f->peer, f->peer_sid));

	make(f, &f->a, false);
	memset(pd, 0, sizeof(*pd));
	memset(ad, 0, sizeof(*ad));
	peer_desc(f, pd);
	assert_int_equal(sb_ice_get_local(f->a.ice, ad), 0);
	assert_int_equal(sb_ice_set_remote(f->a.ice, pd), 0);
	peer_apply(f, ad);
	assert_true(run_until(f, direct_and_peer_ready, 5000));
}

static void test_against_libnice(void **state)
{
	fixture *f = *state;
	sb_media_desc pd, ad;
	connect_libnice_peer(f, &pd, &ad);

	const uint8_t rtp[] = { 0x80, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 7 };
	for (int i = 0; i < 10; i++) {
		assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), 0);
		assert_true(nice_agent_send(f->peer, f->peer_sid, 1,
					    sizeof(rtp),
					    (const gchar *)rtp) > 0);
	}
	assert_true(run_until(f, data_both_ways, 3000));

	assert_true(run_until(f, libnice_consent_both_ways, 9000));
	assert_false(f->peer_failed);
	assert_false(f->a.failed);
	sb_ice_direct_stats s;
	assert_int_equal(sb_ice_get_direct_stats(f->a.ice, &s), 0);
	assert_true(s.stun_answered >= 1);
}

static bool peer_ready(fixture *f)
{
	return f->peer_ready;
}

static unsigned a_rx_goal, peer_rx_goal;
static bool both_got_goal(fixture *f)
{
	return f->a.n_rx >= a_rx_goal && f->peer_rx >= peer_rx_goal;
}

/* The peer restarts ICE (new credentials, as a browser's re-offer
 * carries): the gateway side gives the socket back to libnice, checks
 * run again with new credentials on both sides, and after READY the
 * worker reads the socket itself again: data both ways, consent kept. */
static void test_restart_from_peer(void **state)
{
	fixture *f = *state;
	sb_media_desc pd, ad;
	connect_libnice_peer(f, &pd, &ad);
	char ufrag_before[sizeof(ad.ice_ufrag)];
	g_strlcpy(ufrag_before, ad.ice_ufrag, sizeof(ufrag_before));

	/* the peer restarts; its new description reaches the gateway */
	f->peer_ready = false;
	assert_true(nice_agent_restart_stream(f->peer, f->peer_sid));
	memset(&pd, 0, sizeof(pd));
	peer_desc(f, &pd);
	assert_true(sb_ice_is_restart(f->a.ice, &pd));
	assert_int_equal(sb_ice_set_remote(f->a.ice, &pd), 0);
	assert_false(sb_ice_is_direct(f->a.ice)); /* libnice reads again */
	memset(&ad, 0, sizeof(ad));
	assert_int_equal(sb_ice_get_local(f->a.ice, &ad), 0);
	assert_string_not_equal(ad.ice_ufrag, ufrag_before);
	peer_apply(f, &ad);
	assert_true(run_until(f, peer_ready, 5000));
	assert_true(run_until(f, direct_and_peer_ready, 5000));

	const uint8_t rtp[] = { 0x80, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 5 };
	a_rx_goal = f->a.n_rx + 10;
	peer_rx_goal = f->peer_rx + 10;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(sb_ice_send(f->a.ice, rtp, sizeof(rtp)), 0);
		assert_true(nice_agent_send(f->peer, f->peer_sid, 1,
					    sizeof(rtp),
					    (const gchar *)rtp) > 0);
	}
	assert_true(run_until(f, both_got_goal, 3000));
	/* our consent requests carry the new credentials: still answered */
	sb_ice_direct_stats s;
	assert_int_equal(sb_ice_get_direct_stats(f->a.ice, &s), 0);
	unsigned ok0 = (unsigned)s.consent_ok;
	gint64 until = g_get_monotonic_time() + 500 * 1000;
	while (g_get_monotonic_time() < until)
		g_main_context_iteration(f->ctx, FALSE) || (g_usleep(1000), 0);
	assert_int_equal(sb_ice_get_direct_stats(f->a.ice, &s), 0);
	assert_true(s.consent_ok > ok0);
	assert_false(f->a.failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_direct_ends, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kept_srflx, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_against_libnice, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_from_peer, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
