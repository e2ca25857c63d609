/* Two in-memory DTLS peers on a private GMainContext: handshake with both
 * SRTP profiles and both key directions agreeing, wrong fingerprint, no
 * common profile, MTU packetisation, lost flight recovered by the timer,
 * close_notify. Also the certificate fingerprint format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "webrtc/cert.h"
#include "webrtc/dtls.h"

typedef struct peer peer;

struct peer {
	sb_dtls *d;
	peer *other;
	GQueue inbox;         /* GBytes datagrams waiting for this peer */
	bool connected, failed, closed;
	char reason[256];
	sb_dtls_keys keys;
	unsigned sent, max_dgram;
	unsigned drop_next;   /* drop this many outgoing datagrams */
};

typedef struct fixture {
	GMainContext *ctx;
	sb_cert *ca, *cb;
	peer a, b;            /* a = client, b = server */
} fixture;

static void on_send(void *ud, const uint8_t *buf, size_t len)
{
	peer *p = ud;
	p->sent++;
	if (len > p->max_dgram)
		p->max_dgram = (unsigned)len;
	if (p->drop_next) {
		p->drop_next--;
		return;
	}
	g_queue_push_tail(&p->other->inbox, g_bytes_new(buf, len));
}

static void on_connected(void *ud, const sb_dtls_keys *k)
{
	peer *p = ud;
	p->connected = true;
	p->keys = *k;
}

static void on_failed(void *ud, int err, const char *reason)
{
	peer *p = ud;
	(void)err;
	p->failed = true;
	g_strlcpy(p->reason, reason, sizeof(p->reason));
}

static void on_closed(void *ud)
{
	((peer *)ud)->closed = true;
}

static const sb_dtls_ops ops = {
	.send = on_send, .connected = on_connected,
	.failed = on_failed, .closed = on_closed,
};

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	assert_int_equal(sb_cert_new("a", &f->ca), 0);
	assert_int_equal(sb_cert_new(NULL, &f->cb), 0);
	f->a.other = &f->b;
	f->b.other = &f->a;
	g_queue_init(&f->a.inbox);
	g_queue_init(&f->b.inbox);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_dtls_free(f->a.d);
	sb_dtls_free(f->b.d);
	g_queue_clear_full(&f->a.inbox, (GDestroyNotify)g_bytes_unref);
	g_queue_clear_full(&f->b.inbox, (GDestroyNotify)g_bytes_unref);
	sb_cert_unref(f->ca);
	sb_cert_unref(f->cb);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static void make(fixture *f, const char *client_prof,
		 const char *server_prof, const char *fp_seen_by_client,
		 unsigned mtu)
{
	sb_dtls_params pa = { .role = SB_DTLS_CLIENT,
			      .remote_fp = fp_seen_by_client ?
				      fp_seen_by_client :
				      sb_cert_fingerprint(f->cb),
			      .srtp_profiles = client_prof, .mtu = mtu };
	sb_dtls_params pb = { .role = SB_DTLS_SERVER,
			      .remote_fp = sb_cert_fingerprint(f->ca),
			      .srtp_profiles = server_prof, .mtu = mtu };
	assert_int_equal(sb_dtls_new(f->ca, &pa, f->ctx, &ops, &f->a,
				     &f->a.d), 0);
	assert_int_equal(sb_dtls_new(f->cb, &pb, f->ctx, &ops, &f->b,
				     &f->b.d), 0);
}

static bool deliver_one(peer *p)
{
	GBytes *g = g_queue_pop_head(&p->inbox);
	if (!g)
		return false;
	gsize n;
	const uint8_t *d = g_bytes_get_data(g, &n);
	sb_dtls_handle_datagram(p->d, d, n);
	g_bytes_unref(g);
	return true;
}

static void pump(fixture *f)
{
	while (deliver_one(&f->a) || deliver_one(&f->b))
		;
}

static gboolean watchdog(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

/* Deliver queued datagrams and run timers until both ends settle or the
 * 5 s watchdog fires. */
static void run(fixture *f)
{
	bool expired = false;
	GSource *w = g_timeout_source_new(5000);
	g_source_set_callback(w, watchdog, &expired, NULL);
	g_source_attach(w, f->ctx);
	for (;;) {
		pump(f);
		bool a_done = f->a.connected || f->a.failed;
		bool b_done = f->b.connected || f->b.failed;
		if ((a_done && b_done) || expired)
			break;
		if ((f->a.failed || f->b.failed) && !g_queue_get_length(
			    &f->a.inbox) && !g_queue_get_length(&f->b.inbox))
			break;
		g_main_context_iteration(f->ctx, TRUE);
	}
	g_source_destroy(w);
	g_source_unref(w);
	assert_false(expired);
}

static void check_keys(fixture *f, int profile, size_t len)
{
	assert_true(f->a.connected);
	assert_true(f->b.connected);
	assert_int_equal(f->a.keys.profile, profile);
	assert_int_equal(f->b.keys.profile, profile);
	assert_int_equal(f->a.keys.len, len);
	assert_int_equal(f->b.keys.len, len);
	assert_memory_equal(f->a.keys.local, f->b.keys.remote, len);
	assert_memory_equal(f->a.keys.remote, f->b.keys.local, len);
	assert_memory_not_equal(f->a.keys.local, f->a.keys.remote, len);
	assert_int_equal(sb_dtls_get_state(f->a.d), SB_DTLS_STATE_CONNECTED);
	assert_int_equal(sb_dtls_get_state(f->b.d), SB_DTLS_STATE_CONNECTED);
}

static void test_cert_fingerprint(void **state)
{
	fixture *f = *state;
	const char *fp = sb_cert_fingerprint(f->ca);
	assert_int_equal(strlen(fp), 95);
	for (size_t i = 0; i < 95; i++) {
		if (i % 3 == 2)
			assert_int_equal(fp[i], ':');
		else
			assert_true(g_ascii_isxdigit(fp[i]) &&
				    !g_ascii_islower(fp[i]));
	}
	assert_string_not_equal(fp, sb_cert_fingerprint(f->cb));
	char again[SB_CERT_FP_LEN];
	assert_int_equal(sb_cert_fingerprint_of(sb_cert_x509(f->ca), again,
						sizeof(again)), 0);
	assert_string_equal(fp, again);
}

static void test_handshake_gcm(void **state)
{
	fixture *f = *state;
	make(f, NULL, NULL, NULL, 0);
	assert_int_equal(sb_dtls_start(f->b.d), 0);
	assert_int_equal(sb_dtls_start(f->a.d), 0);
	assert_int_equal(sb_dtls_start(f->a.d), -EALREADY);
	run(f);
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
	assert_true(f->a.max_dgram <= SB_DTLS_DEFAULT_MTU);
	assert_true(f->b.max_dgram <= SB_DTLS_DEFAULT_MTU);
}

static void test_handshake_cm(void **state)
{
	fixture *f = *state;
	make(f, "SRTP_AES128_CM_SHA1_80", NULL, NULL, 0);
	sb_dtls_start(f->a.d);
	run(f);
	check_keys(f, SB_SRTP_AES128_CM_SHA1_80, 30);
}

/* lowercase fingerprint from a peer's SDP still matches */
static void test_fingerprint_case(void **state)
{
	fixture *f = *state;
	char *lower = g_ascii_strdown(sb_cert_fingerprint(f->cb), -1);
	make(f, NULL, NULL, lower, 0);
	g_free(lower);
	sb_dtls_start(f->a.d);
	run(f);
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
}

static void test_wrong_fingerprint(void **state)
{
	fixture *f = *state;
	make(f, NULL, NULL, sb_cert_fingerprint(f->ca), 0);
	sb_dtls_start(f->a.d);
	run(f);
	assert_true(f->a.failed);
	assert_false(f->a.connected);
	assert_string_equal(f->a.reason, "fingerprint mismatch");
	assert_int_equal(sb_dtls_get_state(f->a.d), SB_DTLS_STATE_FAILED);
	/* the alert reached the server, which must not report success */
	assert_false(f->b.connected);
	assert_true(f->b.failed);
	uint8_t junk[20] = { 22, 0xfe, 0xfd };
	assert_int_equal(sb_dtls_handle_datagram(f->a.d, junk, 20),
			 -ESHUTDOWN);
}

static void test_no_common_profile(void **state)
{
	fixture *f = *state;
	make(f, "SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80", NULL, 0);
	sb_dtls_start(f->a.d);
	run(f);
	assert_true(f->a.failed || f->b.failed);
	assert_false(f->a.connected && f->b.connected);
	peer *p = f->a.failed ? &f->a : &f->b;
	assert_string_equal(p->reason, "no SRTP profile");
}

static void test_small_mtu(void **state)
{
	fixture *f = *state;
	make(f, NULL, NULL, NULL, 300);
	sb_dtls_start(f->a.d);
	run(f);
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
	assert_true(f->a.max_dgram <= 300);
	assert_true(f->b.max_dgram <= 300);
	assert_true(f->b.sent >= 3); /* the server flight had to be split */
}

/* Lose the ClientHello and then the server's first flight: the 100 ms
 * doubling timer must recover well before OpenSSL's default 1 s + 2 s. */
static void test_lost_flights(void **state)
{
	fixture *f = *state;
	make(f, NULL, NULL, NULL, 0);
	f->a.drop_next = 1;
	f->b.drop_next = 1;
	gint64 t0 = g_get_monotonic_time();
	sb_dtls_start(f->a.d);
	run(f);
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
	assert_true(ms >= 100);
	assert_true(ms < 1000);
}

static void test_close_notify(void **state)
{
	fixture *f = *state;
	make(f, NULL, NULL, NULL, 0);
	sb_dtls_start(f->a.d);
	run(f);
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
	unsigned before = f->a.sent;
	sb_dtls_close(f->a.d);
	assert_int_equal(f->a.sent, before + 1); /* one close_notify */
	assert_int_equal(sb_dtls_get_state(f->a.d), SB_DTLS_STATE_CLOSED);
	sb_dtls_close(f->a.d); /* idempotent, and silent now */
	assert_int_equal(f->a.sent, before + 1);
	assert_false(f->b.closed);
	pump(f);
	assert_true(f->b.closed);
	assert_int_equal(sb_dtls_get_state(f->b.d), SB_DTLS_STATE_CLOSED);
}

/* Retired after the handshake: state stays CONNECTED, nothing is sent
 * on close, later datagrams are ignored; the other end (not retired)
 * still works; a second endpoint on the same certificate shares its
 * SSL_CTX and still handshakes. Not retired before CONNECTED. */
static void test_retire(void **state)
{
	fixture *f = *state;
	make(f, NULL, NULL, NULL, 0);
	sb_dtls_retire(f->a.d); /* too early: a no-op */
	assert_false(sb_dtls_is_retired(f->a.d));
	sb_dtls_start(f->a.d);
	run(f);
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
	sb_dtls_retire(f->a.d);
	sb_dtls_retire(f->a.d); /* idempotent */
	assert_true(sb_dtls_is_retired(f->a.d));
	assert_int_equal(sb_dtls_get_state(f->a.d), SB_DTLS_STATE_CONNECTED);
	unsigned before = f->a.sent;
	const uint8_t junk[] = { 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 1, 7 };
	assert_int_equal(sb_dtls_handle_datagram(f->a.d, junk, sizeof(junk)), 0);
	sb_dtls_close(f->b.d); /* b's close_notify reaches a: ignored */
	pump(f);
	assert_false(f->a.closed);
	sb_dtls_close(f->a.d);
	assert_int_equal(f->a.sent, before); /* no close_notify */

	/* the shared context still serves new handshakes on this cert */
	sb_dtls_free(f->a.d);
	sb_dtls_free(f->b.d);
	for (peer *p = &f->a; p; p = p == &f->a ? &f->b : NULL) {
		g_queue_clear_full(&p->inbox, (GDestroyNotify)g_bytes_unref);
		p->d = NULL;
		p->connected = p->failed = p->closed = false;
	}
	make(f, NULL, NULL, NULL, 0);
	sb_dtls_start(f->a.d);
	run(f);
	check_keys(f, SB_SRTP_AEAD_AES_128_GCM, 28);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cert_fingerprint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handshake_gcm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handshake_cm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint_case, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_fingerprint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_common_profile, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_small_mtu, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lost_flights, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_notify, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
