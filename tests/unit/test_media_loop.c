/* End-to-end media loop in one process on 127.0.0.1: a gateway-side
 * session (WebRTC leg answering + RTP leg) and a client-role WebRTC leg
 * built from the same code (ICE controlling, offerer; the load generator
 * uses exactly this), plus a plain UDP socket acting as the SIP phone.
 * Checks: what the client sends reaches the phone as plain RTP with the
 * negotiated PT, the SSRC the gateway announced and the same payload;
 * what the phone sends reaches the client decrypted likewise; DTMF PT
 * mapping; both DTLS role assignments; fingerprint mismatch reported.
 * Private GMainContext, port 0 / high ports, watchdog-bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <glib.h>
#include <glib-unix.h>

#include "webrtc/media_session.h"
#include "webrtc/srtp.h"

#define N_PKTS 20

typedef struct fixture {
	GMainContext *ctx;
	sb_cert *gw_cert, *client_cert;
	sb_media_session *s;
	sb_leg *client;
	int phone_fd;
	GSource *phone_src;
	uint16_t phone_port;
	bool expired;
	/* what arrived */
	bool client_connected;
	char failed_reason[128];
	int failed_side;
	unsigned ev_connected[2], ev_started[2], ev_dtls_failed;
	unsigned client_rx, phone_rx;
	sb_rtp_hdr client_last, phone_last;
	uint8_t client_payload[64], phone_payload[64];
	unsigned phone_te_rx, client_te_rx;
	/* negotiated */
	sb_media_desc offer_sip, answer_browser;
} fixture;

static gboolean expire(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

static bool run_until(fixture *f, bool (*done)(fixture *f), unsigned ms)
{
	GSource *w = g_timeout_source_new(ms);
	f->expired = false;
	g_source_set_callback(w, expire, &f->expired, NULL);
	g_source_attach(w, f->ctx);
	while (!f->expired && !done(f))
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	return done(f);
}

static void on_session_event(sb_media_session *s, int side,
			     sb_media_event ev, const char *reason, void *ud)
{
	fixture *f = ud;
	(void)s;
	if (ev == SB_MEDIA_EV_CONNECTED)
		f->ev_connected[side]++;
	if (ev == SB_MEDIA_EV_MEDIA_STARTED)
		f->ev_started[side]++;
	if (ev == SB_MEDIA_EV_DTLS_FAILED) {
		f->ev_dtls_failed++;
		f->failed_side = side;
		g_strlcpy(f->failed_reason, reason ? reason : "",
			  sizeof(f->failed_reason));
	}
}

static void on_client_recv(sb_leg *leg, uint8_t *buf, size_t len,
			   size_t cap, const sb_rtp_hdr *h, void *ud)
{
	fixture *f = ud;
	(void)leg;
	(void)cap;
	if (h->pt == 126) {
		f->client_te_rx++;
		return;
	}
	f->client_rx++;
	f->client_last = *h;
	size_t n = h->payload_len < 64 ? h->payload_len : 64;
	memcpy(f->client_payload, buf + h->payload_off, n);
	(void)len;
}

static void on_client_event(sb_leg *leg, sb_leg_event ev,
			    const char *reason, void *ud)
{
	fixture *f = ud;
	(void)leg;
	(void)reason;
	if (ev == SB_LEG_EV_CONNECTED)
		f->client_connected = true;
}

static gboolean on_phone_readable(gint fd, GIOCondition c, gpointer ud)
{
	fixture *f = ud;
	uint8_t buf[1500];
	(void)c;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	sb_rtp_hdr h;
	if (n <= 0 || sb_rtp_parse(buf, (size_t)n, &h) < 0)
		return G_SOURCE_CONTINUE; /* RTCP or junk */
	if (h.pt == 101) {
		f->phone_te_rx++;
		return G_SOURCE_CONTINUE;
	}
	f->phone_rx++;
	f->phone_last = h;
	memcpy(f->phone_payload, buf + h.payload_off,
	       h.payload_len < 64 ? h.payload_len : 64);
	return G_SOURCE_CONTINUE;
}

static void open_phone(fixture *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->phone_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(f->phone_fd >= 0);
	assert_int_equal(bind(f->phone_fd, (struct sockaddr *)&a,
			      sizeof(a)), 0);
	getsockname(f->phone_fd, (struct sockaddr *)&a, &len);
	f->phone_port = ntohs(a.sin_port);
	f->phone_src = g_unix_fd_source_new(f->phone_fd, G_IO_IN);
	g_source_set_callback(f->phone_src, G_SOURCE_FUNC(on_phone_readable),
			      f, NULL);
	g_source_attach(f->phone_src, f->ctx);
}

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	assert_int_equal(sb_cert_new("gw", &f->gw_cert), 0);
	assert_int_equal(sb_cert_new("client", &f->client_cert), 0);
	open_phone(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_media_session_free(f->s);
	sb_leg_free(f->client);
	g_source_destroy(f->phone_src);
	g_source_unref(f->phone_src);
	close(f->phone_fd);
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	sb_cert_unref(f->gw_cert);
	sb_cert_unref(f->client_cert);
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static void add(sb_media_desc *d, uint8_t pt, const char *name,
		uint32_t clock, uint8_t ch)
{
	sb_md_codec *c = &d->codecs[d->n_codecs++];
	c->pt = pt;
	g_strlcpy(c->name, name, sizeof(c->name));
	c->clock = clock;
	c->channels = ch;
}

static void make_gateway(fixture *f)
{
	sb_media_params p = {
		.media_addr = "127.0.0.1",
		.port_min = 42000, .port_max = 42999,
		.cert = f->gw_cert,
		.kind = { SB_LEG_KIND_WEBRTC, SB_LEG_KIND_RTP },
	};
	int err = 0;
	f->s = sb_media_session_new(&p, f->ctx, on_session_event, f, &err);
	assert_non_null(f->s);
	assert_int_equal(err, 0);
}

static void make_client(fixture *f, sb_md_setup setup)
{
	sb_leg_params p = {
		.ctx = f->ctx, .media_addr = "127.0.0.1",
		.cert = f->client_cert, .offer_setup = setup,
	};
	assert_int_equal(sb_webrtc_leg_new(&p, &f->client), 0);
	sb_leg_set_callbacks(f->client, on_client_recv, on_client_event, f);
}

/* Browser offer -> SIP offer -> phone answer -> browser answer. */
static void negotiate(fixture *f, const char *bad_fp)
{
	sb_media_desc offer;
	memset(&offer, 0, sizeof(offer));
	assert_int_equal(sb_leg_get_local(f->client, true, &offer), 0);
	add(&offer, 111, "opus", 48000, 2);
	add(&offer, 0, "PCMU", 8000, 1);
	add(&offer, 13, "CN", 8000, 1);
	add(&offer, 126, "telephone-event", 8000, 1);
	g_strlcpy(offer.mid, "0", sizeof(offer.mid));
	offer.bundled = true;
	if (bad_fp)
		g_strlcpy(offer.fingerprint, bad_fp, sizeof(offer.fingerprint));

	sb_media_desc *o = &f->offer_sip;
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, o), 0);
	assert_int_equal(o->proto, SB_MD_PROTO_RTP_AVP);
	assert_string_equal(o->addr, "127.0.0.1");
	assert_true(o->port >= 42000 && o->port <= 42998);
	assert_int_equal(o->port % 2, 0);
	assert_true(o->rtcp_mux);
	/* CN is not relayed; PCMA is added for G.711-only trunks */
	assert_int_equal(o->n_codecs, 4);
	assert_string_equal(o->codecs[0].name, "opus");
	assert_int_equal(o->codecs[0].pt, 111);
	assert_int_equal(o->codecs[1].pt, 0);
	assert_int_equal(o->codecs[2].pt, 126);
	assert_int_equal(o->codecs[3].pt, 8);
	assert_true(o->ssrc != 0);

	sb_media_desc ans;
	memset(&ans, 0, sizeof(ans));
	ans.proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(ans.addr, "127.0.0.1", sizeof(ans.addr));
	ans.port = f->phone_port;
	ans.rtcp_mux = true;
	add(&ans, 0, "PCMU", 8000, 1);
	add(&ans, 101, "telephone-event", 8000, 1);
	sb_media_desc *b = &f->answer_browser;
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans, b), 0);
	assert_int_equal(b->proto, SB_MD_PROTO_DTLS_SAVPF);
	assert_true(b->rtcp_mux);
	assert_true(b->end_of_candidates);
	assert_true(b->n_cands >= 1);
	assert_true(b->ice_ufrag[0] && b->ice_pwd[0]);
	assert_string_equal(b->fp_hash, "sha-256");
	assert_string_equal(b->fingerprint, sb_cert_fingerprint(f->gw_cert));
	assert_string_equal(b->mid, "0");
	assert_true(b->bundled);
	assert_int_equal(b->n_codecs, 2);
	assert_string_equal(b->codecs[0].name, "PCMU");
	assert_int_equal(b->codecs[0].pt, 0);
	assert_int_equal(b->codecs[1].pt, 126);
	assert_true(b->ssrc != 0 && b->cname[0]);
	assert_int_equal(sb_leg_set_remote(f->client, false, b), 0);
}

static bool both_connected(fixture *f)
{
	return f->client_connected && f->ev_connected[0] > 0;
}

static bool got_all(fixture *f)
{
	return f->phone_rx == N_PKTS && f->client_rx == N_PKTS &&
	       f->phone_te_rx == 1;
}

static void send_client(fixture *f, uint8_t pt, uint16_t seq)
{
	uint8_t buf[SB_LEG_BUF], pl[160];
	memset(pl, 0xa0 + (seq & 0xf), sizeof(pl));
	sb_rtp_hdr h = { .pt = pt, .seq = seq, .ts = seq * 160u,
			 .ssrc = f->client->ssrc };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, sizeof(pl));
	assert_int_equal(sb_leg_send_rtp(f->client, buf, (size_t)n,
					 sizeof(buf)), 0);
}

static void send_phone(fixture *f, uint16_t seq)
{
	uint8_t buf[200], pl[160];
	memset(pl, 0x50 + (seq & 0xf), sizeof(pl));
	sb_rtp_hdr h = { .pt = 0, .seq = seq, .ts = seq * 160u,
			 .ssrc = 0x0badcafe };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, sizeof(pl));
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(f->offer_sip.port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(f->phone_fd, buf, (size_t)n, 0,
				(struct sockaddr *)&to, sizeof(to)), n);
}

static void loop(fixture *f, sb_md_setup client_setup,
		 sb_md_setup want_gw_setup)
{
	make_gateway(f);
	make_client(f, client_setup);
	negotiate(f, NULL);
	assert_int_equal(f->answer_browser.setup, want_gw_setup);
	assert_true(run_until(f, both_connected, 10000));

	/* sending before keys would have been refused; now it flows */
	for (uint16_t i = 1; i <= N_PKTS; i++) {
		send_client(f, 0, i);
		send_phone(f, (uint16_t)(1000 + i));
	}
	send_client(f, 126, N_PKTS + 1);
	assert_true(run_until(f, got_all, 5000));

	/* client -> phone: plain RTP, SIP-side PT and announced SSRC */
	assert_int_equal(f->phone_last.pt, 0);
	assert_int_equal(f->phone_last.ssrc, f->offer_sip.ssrc);
	assert_int_equal(f->phone_last.payload_len, 160);
	assert_int_equal(f->phone_payload[0], 0xa0 + (N_PKTS & 0xf));
	/* phone -> client: decrypted, browser-side SSRC */
	assert_int_equal(f->client_last.pt, 0);
	assert_int_equal(f->client_last.ssrc, f->answer_browser.ssrc);
	assert_int_equal(f->client_last.payload_len, 160);
	assert_int_equal(f->client_payload[0], 0x50 + ((1000 + N_PKTS) & 0xf));
	assert_int_equal(f->ev_started[0], 1);
	assert_int_equal(f->ev_started[1], 1);
	const sb_leg_stats *st = sb_media_session_stats(f->s, 1);
	assert_int_equal(st->rx_packets, N_PKTS);
	assert_int_equal(st->tx_packets, N_PKTS + 1);
}

/* Browser offers actpass: the gateway answers active (DTLS client). */
static void test_loop_gateway_dtls_client(void **state)
{
	loop(*state, SB_MD_SETUP_ACTPASS, SB_MD_SETUP_ACTIVE);
}

/* Client offers active (DTLS client, as the load generator does): the
 * gateway is DTLS server and meets the ClientHello-before-CONNECTED
 * race that the ICE send queue fixes. */
static void test_loop_gateway_dtls_server(void **state)
{
	loop(*state, SB_MD_SETUP_ACTIVE, SB_MD_SETUP_PASSIVE);
}

static bool dtls_failed(fixture *f)
{
	return f->ev_dtls_failed > 0;
}

static void test_loop_fingerprint_mismatch(void **state)
{
	fixture *f = *state;
	make_gateway(f);
	make_client(f, SB_MD_SETUP_ACTPASS);
	negotiate(f, sb_cert_fingerprint(f->gw_cert)); /* not the client's */
	assert_true(run_until(f, dtls_failed, 10000));
	assert_int_equal(f->failed_side, 0);
	assert_string_equal(f->failed_reason, "fingerprint mismatch");
	assert_int_equal(f->ev_connected[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loop_gateway_dtls_client,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_gateway_dtls_server,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_fingerprint_mismatch,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
