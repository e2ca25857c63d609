/* End-to-end media loop in one process on 127.0.0.1: a gateway-side
 * session (WebRTC leg answering + RTP leg) and a client-role WebRTC leg
 * built from the same code (ICE controlling, offerer; the load generator
 * uses exactly this), plus a plain UDP socket acting as the SIP phone.
 * Checks: what the client sends reaches the phone as plain RTP with the
 * negotiated PT, the SSRC the gateway announced and the same payload;
 * what the phone sends reaches the client decrypted likewise; DTMF PT
 * mapping; both DTLS role assignments; fingerprint mismatch reported.
 * Transcoding: a client offering only Opus and a phone answering PCMU
 * (and the phone offering PCMU, the client answering Opus): a 1 kHz
 * Opus tone reaches the phone as PCMU carrying 1 kHz, a 700 Hz PCMU
 * tone reaches the client as Opus carrying 700 Hz, DTMF crosses 48000
 * <-> 8000 both ways. SB_DUMP=1 writes the decoded audio to
 * /tmp/sb_phone.raw and /tmp/sb_client.raw (s16le, 8000/48000 Hz).
 * Private GMainContext, port 0 / high ports, watchdog-bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

#include <math.h>

#include "transcoding/codec.h"
#include "webrtc/media_session.h"
#include "webrtc/srtp.h"

#define N_PKTS 20
/* transcoding: 2 s of 20 ms packets each way, analysed over the last 1 s */
#define XC_TICKS 100
#define CLIENT_HZ 1000.0
#define PHONE_HZ 700.0
#define TONE_AMP 8000.0
#define PCM_MAX (48000 * 3)

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
	unsigned ev_ice_failed;
	char ice_reason[128];
	unsigned client_rx, phone_rx;
	sb_rtp_hdr client_last, phone_last;
	uint8_t client_payload[64], phone_payload[64];
	unsigned phone_te_rx, client_te_rx;
	/* negotiated */
	sb_media_desc offer_sip, answer_browser;
	/* transcoding: decoded audio as each end heard it */
	bool decode;
	sb_codec_dec *client_dec, *phone_dec;
	sb_codec_enc *client_enc, *phone_enc;
	int16_t *client_pcm, *phone_pcm;
	size_t client_n, phone_n;
	unsigned ticks;
	uint16_t phone_dst;          /* the gateway's RTP port */
	uint8_t phone_te_event;
	uint16_t phone_te_maxdur, client_te_maxdur;
	uint8_t client_te_event;
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
	if (ev == SB_MEDIA_EV_ICE_FAILED) {
		f->ev_ice_failed++;
		f->failed_side = side;
		g_strlcpy(f->ice_reason, reason ? reason : "",
			  sizeof(f->ice_reason));
	}
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
	if (h->pt == 126 || (f->decode && h->pt == 110)) {
		f->client_te_rx++;
		f->client_te_event = buf[h->payload_off];
		uint16_t d = (uint16_t)(buf[h->payload_off + 2] << 8 |
					buf[h->payload_off + 3]);
		if (d > f->client_te_maxdur)
			f->client_te_maxdur = d;
		return;
	}
	f->client_rx++;
	if (f->decode && f->client_n + 5760 <= PCM_MAX) {
		ssize_t k = sb_codec_decode(f->client_dec,
					    buf + h->payload_off,
					    h->payload_len,
					    f->client_pcm + f->client_n, 5760);
		if (k > 0)
			f->client_n += (size_t)k;
	}
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
		f->phone_te_event = buf[h.payload_off];
		uint16_t d = (uint16_t)(buf[h.payload_off + 2] << 8 |
					buf[h.payload_off + 3]);
		if (d > f->phone_te_maxdur)
			f->phone_te_maxdur = d;
		return G_SOURCE_CONTINUE;
	}
	f->phone_rx++;
	if (f->decode && f->phone_n + 1000 <= PCM_MAX) {
		ssize_t k = sb_codec_decode(f->phone_dec, buf + h.payload_off,
					    h.payload_len,
					    f->phone_pcm + f->phone_n, 1000);
		if (k > 0)
			f->phone_n += (size_t)k;
	}
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
	sb_codec_dec_free(f->client_dec);
	sb_codec_dec_free(f->phone_dec);
	sb_codec_enc_free(f->client_enc);
	sb_codec_enc_free(f->phone_enc);
	g_free(f->client_pcm);
	g_free(f->phone_pcm);
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

/* An empty description of the phone's side: RTP/AVP at its socket. */
static void phone_desc(const fixture *f, sb_media_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(d->addr, "127.0.0.1", sizeof(d->addr));
	d->port = f->phone_port;
}

static void make_gateway_opts(fixture *f, unsigned consent_ms,
			      bool prefer_opus)
{
	sb_media_params p = {
		.media_addr = "127.0.0.1",
		.port_min = 42000, .port_max = 42999,
		.cert = f->gw_cert,
		.kind = { SB_LEG_KIND_WEBRTC, SB_LEG_KIND_RTP },
		.consent_timeout_ms = consent_ms,
		.prefer_opus = prefer_opus,
	};
	int err = 0;
	f->s = sb_media_session_new(&p, f->ctx, on_session_event, f, &err);
	assert_non_null(f->s);
	assert_int_equal(err, 0);
}

static void make_gateway_consent(fixture *f, unsigned consent_ms)
{
	make_gateway_opts(f, consent_ms, false);
}

static void make_gateway(fixture *f)
{
	make_gateway_consent(f, 0);
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
	phone_desc(f, &ans);
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
	assert_false(sb_media_session_transcoding(f->s));
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

/* --- transcoding: Opus (client) <-> PCMU (phone) --------------------- */

static void tone(int16_t *pcm, size_t n, uint32_t rate, double hz,
		 size_t off)
{
	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(TONE_AMP * sin(2 * M_PI * hz *
						       (double)(off + i) / rate));
}

/* Share of the signal's energy at `hz` (1.0 for a pure tone there). */
static double tone_share(const int16_t *pcm, size_t n, uint32_t rate,
			 double hz)
{
	double w = 2 * M_PI * hz / rate, c = 2 * cos(w);
	double s1 = 0, s2 = 0, energy = 0;
	for (size_t i = 0; i < n; i++) {
		double s0 = pcm[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
		energy += (double)pcm[i] * pcm[i];
	}
	double power = s1 * s1 + s2 * s2 - c * s1 * s2;
	return energy > 0 ? 2 * power / ((double)n * energy) : 0;
}

/* Fraction of 40 ms blocks whose energy is >= 90 % at `hz`: a glitch
 * (a frame concealed when the loaded test machine delays a packet past
 * the jitter buffer) costs only its own few blocks. */
static double block_share(const int16_t *pcm, size_t n, uint32_t rate,
			  double hz)
{
	size_t b = rate / 25, k = 0, good = 0;
	for (size_t i = 0; i + b <= n; i += b, k++)
		good += tone_share(pcm + i, b, rate, hz) >= 0.9;
	return k ? (double)good / (double)k : 0;
}

static double rms(const int16_t *pcm, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	return sqrt(e / (double)n);
}

static void send_event(fixture *f, bool from_client, uint8_t pt,
		       uint16_t seq, uint32_t ts, uint16_t dur, bool end)
{
	uint8_t buf[SB_LEG_BUF], pl[4] = { 5, end ? 0x80 | 10 : 10,
					   (uint8_t)(dur >> 8),
					   (uint8_t)dur };
	sb_rtp_hdr h = { .pt = pt, .seq = seq, .ts = ts,
			 .marker = dur <= 960 && !end,
			 .ssrc = from_client ? f->client->ssrc : 0x0badcafe };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, sizeof(pl));
	if (from_client) {
		sb_leg_send_rtp(f->client, buf, (size_t)n, sizeof(buf));
		return;
	}
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(f->phone_dst) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(f->phone_fd, buf, (size_t)n, 0, (struct sockaddr *)&to,
	       sizeof(to));
}

typedef struct xc_src {
	fixture *f;
	uint16_t seq;
	gint64 start;                /* sending is paced on absolute time */
} xc_src;

/* One 20 ms tick: a tone frame each way; at tick 20 a DTMF '5' each
 * way (three updates and an end, RFC 4733 §2.5) in place of audio. */
static void xc_send(xc_src *x)
{
	fixture *f = x->f;
	int16_t pcm[960];
	uint8_t pl[1500], buf[SB_LEG_BUF];
	unsigned t = f->ticks++;
	uint16_t seq = x->seq++;

	if (t >= 20 && t < 24) {
		uint16_t k = (uint16_t)(t - 19);
		send_event(f, true, 110, seq, 20 * 960u, (uint16_t)(k * 960),
			   k == 4);
		send_event(f, false, 101, seq, 20 * 160u, (uint16_t)(k * 160),
			   k == 4);
		return;
	}
	tone(pcm, 960, 48000, CLIENT_HZ, t * 960u);
	ssize_t n = sb_codec_encode(f->client_enc, pcm, 960, pl, sizeof(pl));
	assert_true(n > 0);
	sb_rtp_hdr h = { .pt = 111, .seq = seq, .ts = t * 960u,
			 .ssrc = f->client->ssrc, .marker = t == 0 };
	ssize_t len = sb_rtp_build(buf, sizeof(buf), &h, pl, (size_t)n);
	sb_leg_send_rtp(f->client, buf, (size_t)len, sizeof(buf));

	tone(pcm, 160, 8000, PHONE_HZ, t * 160u);
	n = sb_codec_encode(f->phone_enc, pcm, 160, pl, sizeof(pl));
	h = (sb_rtp_hdr){ .pt = 0, .seq = seq, .ts = t * 160u,
			  .ssrc = 0x0badcafe, .marker = t == 0 };
	len = sb_rtp_build(buf, sizeof(buf), &h, pl, (size_t)n);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(f->phone_dst) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(f->phone_fd, buf, (size_t)len, 0, (struct sockaddr *)&to,
	       sizeof(to));
}

/* A browser and a phone send on their own sample clocks: exactly one
 * packet per 20 ms on average, whatever the timer's wake-up latency. */
static gboolean xc_tick(gpointer data)
{
	xc_src *x = data;
	gint64 now = g_get_monotonic_time();
	if (!x->start)
		x->start = now;
	while (x->f->ticks < XC_TICKS &&
	       now >= x->start + (gint64)x->f->ticks * 20000)
		xc_send(x);
	return x->f->ticks < XC_TICKS ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static bool xc_done(fixture *f)
{
	return f->ticks >= XC_TICKS;
}

static void open_codecs(fixture *f, xc_src *x)
{
	sb_codec_params p;
	sb_codec_params_init(&p);
	p.pcm_rate = 48000;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &p, &f->client_enc), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_opus, &p,
					  &f->client_dec), 0);
	sb_codec_params_init(&p);
	assert_int_equal(sb_codec_enc_new(&sb_codec_pcmu, &p, &f->phone_enc), 0);
	assert_int_equal(sb_codec_dec_new(&sb_codec_pcmu, &p, &f->phone_dec),
			 0);
	f->client_pcm = g_new0(int16_t, PCM_MAX);
	f->phone_pcm = g_new0(int16_t, PCM_MAX);
	f->decode = true;
}

/* Browser offers Opus only (+ DTMF at 48000); the phone answers PCMU. */
static void negotiate_browser_offers(fixture *f)
{
	sb_media_desc offer, ans;
	memset(&offer, 0, sizeof(offer));
	assert_int_equal(sb_leg_get_local(f->client, true, &offer), 0);
	add(&offer, 111, "opus", 48000, 2);
	add(&offer, 110, "telephone-event", 48000, 1);
	g_strlcpy(offer.mid, "0", sizeof(offer.mid));
	offer.bundled = true;
	sb_media_desc *o = &f->offer_sip;
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, o), 0);
	assert_int_equal(o->n_codecs, 5);
	assert_string_equal(o->codecs[2].name, "PCMU");
	assert_string_equal(o->codecs[3].name, "PCMA");
	assert_int_equal(o->codecs[4].pt, 101);
	f->phone_dst = o->port;

	phone_desc(f, &ans);
	add(&ans, 0, "PCMU", 8000, 1);
	add(&ans, 101, "telephone-event", 8000, 1);
	sb_media_desc *b = &f->answer_browser;
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans, b), 0);
	assert_int_equal(b->n_codecs, 2);
	assert_string_equal(b->codecs[0].name, "opus");
	assert_int_equal(b->codecs[0].pt, 111);
	assert_int_equal(b->codecs[1].pt, 110);
	assert_int_equal(sb_leg_set_remote(f->client, false, b), 0);
}

/* The phone offers PCMU (+ DTMF at 8000); the browser answers Opus
 * (the offer lists the phone's PCMU first, but the browser may choose). */
static void negotiate_phone_offers(fixture *f)
{
	sb_media_desc offer, to_browser, ans, to_phone;
	phone_desc(f, &offer);
	add(&offer, 0, "PCMU", 8000, 1);
	add(&offer, 101, "telephone-event", 8000, 1);
	assert_int_equal(sb_media_session_remote_offer(f->s, 1, &offer,
						       &to_browser), 0);
	assert_int_equal(to_browser.n_codecs, 4);
	assert_string_equal(to_browser.codecs[0].name, "PCMU");
	assert_string_equal(to_browser.codecs[1].name, "opus");
	assert_int_equal(to_browser.codecs[1].pt, 111);
	assert_non_null(strstr(to_browser.codecs[1].fmtp,
			       "sprop-maxcapturerate=8000"));
	assert_int_equal(to_browser.codecs[3].pt, 110);
	assert_int_equal(sb_leg_set_remote(f->client, true, &to_browser), 0);
	memset(&ans, 0, sizeof(ans));
	assert_int_equal(sb_leg_get_local(f->client, false, &ans), 0);
	add(&ans, 111, "opus", 48000, 2);
	add(&ans, 110, "telephone-event", 48000, 1);
	g_strlcpy(ans.mid, "0", sizeof(ans.mid));
	assert_int_equal(sb_media_session_remote_answer(f->s, 0, &ans,
							&to_phone), 0);
	assert_int_equal(to_phone.n_codecs, 2);
	assert_int_equal(to_phone.codecs[0].pt, 0);
	assert_int_equal(to_phone.codecs[1].pt, 101);
	f->phone_dst = to_phone.port;
	f->offer_sip = to_phone; /* the SSRC the phone will see */
	f->answer_browser = to_browser;
}

static void xcode_flow(fixture *f, bool phone_offers)
{
	xc_src x = { .f = f, .seq = 1 };
	make_gateway(f);
	make_client(f, SB_MD_SETUP_ACTPASS);
	open_codecs(f, &x);
	if (phone_offers)
		negotiate_phone_offers(f);
	else
		negotiate_browser_offers(f);
	assert_true(sb_media_session_transcoding(f->s));
	assert_true(run_until(f, both_connected, 10000));

	GSource *t = g_timeout_source_new(2);
	g_source_set_callback(t, xc_tick, &x, NULL);
	g_source_attach(t, f->ctx);
	f->ticks = 0;
	/* ticks stop at XC_TICKS; 200 ms more lets the tail drain */
	run_until(f, xc_done, (XC_TICKS + 10) * 20 + 5000);
	GSource *w = g_timeout_source_new(200);
	f->expired = false;
	g_source_set_callback(w, expire, &f->expired, NULL);
	g_source_attach(w, f->ctx);
	while (!f->expired)
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	g_source_destroy(t);
	g_source_unref(t);

	/* phone: PCMU 20 ms packets from the SSRC the gateway announced */
	assert_true(f->phone_rx >= XC_TICKS - 20);
	assert_int_equal(f->phone_last.pt, 0);
	assert_int_equal(f->phone_last.payload_len, 160);
	assert_int_equal(f->phone_last.ssrc, f->offer_sip.ssrc);
	/* client: Opus from the SSRC announced to it */
	assert_true(f->client_rx >= XC_TICKS - 20);
	assert_int_equal(f->client_last.pt, 111);
	assert_int_equal(f->client_last.ssrc, f->answer_browser.ssrc);

	sb_xcode_stats st;
	assert_int_equal(sb_media_session_xcode_stats(f->s, 0, &st), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sb_media_session_xcode_stats(f->s, i, &st), 0);
		print_message("%s: in %" PRIu64 " out %" PRIu64 " lost %"
			      PRIu64 " concealed %" PRIu64 " late %" PRIu64
			      " delay %u ms jitter %.1f ms\n",
			      i ? "phone->client" : "client->phone",
			      st.packets_in, st.packets_out, st.lost,
			      st.concealed, st.late, st.delay_ms,
			      st.jitter_ms);
	}
	assert_int_equal(sb_media_session_xcode_stats(f->s, 0, &st), 0);
	/* the tones made it through decode/encode: 1 s ending 300 ms
	 * before the end (after the sources stop, concealment fades out) */
	assert_true(f->phone_n >= 8000 + 2400);
	const int16_t *pp = f->phone_pcm + f->phone_n - 2400 - 8000;
	if (getenv("SB_DUMP")) {
		FILE *fp = fopen("/tmp/sb_phone.raw", "wb");
		fwrite(f->phone_pcm, 2, f->phone_n, fp);
		fclose(fp);
		fp = fopen("/tmp/sb_client.raw", "wb");
		fwrite(f->client_pcm, 2, f->client_n, fp);
		fclose(fp);
	}
	double share = block_share(pp, 8000, 8000, CLIENT_HZ);
	print_message("phone hears %.0f Hz: %.2f of 40 ms blocks clean, rms %.0f\n",
		      CLIENT_HZ, share, rms(pp, 8000));
	assert_true(share >= 0.6);
	assert_true(block_share(pp, 8000, 8000, PHONE_HZ) < 0.05);
	assert_true(rms(pp, 8000) > TONE_AMP / 2 / sqrt(2));
	assert_true(f->client_n >= 48000 + 14400);
	const int16_t *cp = f->client_pcm + f->client_n - 14400 - 48000;
	share = block_share(cp, 48000, 48000, PHONE_HZ);
	print_message("client hears %.0f Hz: %.2f of 40 ms blocks clean, rms %.0f\n",
		      PHONE_HZ, share, rms(cp, 48000));
	assert_true(share >= 0.6);
	assert_true(block_share(cp, 48000, 48000, CLIENT_HZ) < 0.05);
	assert_true(rms(cp, 48000) > TONE_AMP / 2 / sqrt(2));

	/* DTMF '5' crossed clocks both ways: 4 x 960 at 48 kHz is 4 x 160
	 * at 8 kHz and back */
	assert_true(f->phone_te_rx >= 4);
	assert_int_equal(f->phone_te_event, 5);
	assert_int_equal(f->phone_te_maxdur, 640);
	assert_true(f->client_te_rx >= 4);
	assert_int_equal(f->client_te_event, 5);
	assert_int_equal(f->client_te_maxdur, 3840);

	assert_int_equal(st.dtmf_events, 1);
}

static void test_loop_transcode_browser_offers(void **state)
{
	xcode_flow(*state, false);
}

static void test_loop_transcode_phone_offers(void **state)
{
	xcode_flow(*state, true);
}

/* --- codec choice: relay a shared G.711 unless media.prefer_opus ------ */

/* The browser offers Opus and PCMU, the phone answers PCMU: the browser
 * gets PCMU (relayed) by default, Opus (transcoded) with prefer_opus. */
static void browser_offers_both(fixture *f, bool prefer, const char *want)
{
	sb_media_desc offer, ans, to_browser;
	make_gateway_opts(f, 0, prefer);
	make_client(f, SB_MD_SETUP_ACTPASS);
	memset(&offer, 0, sizeof(offer));
	assert_int_equal(sb_leg_get_local(f->client, true, &offer), 0);
	add(&offer, 111, "opus", 48000, 2);
	add(&offer, 0, "PCMU", 8000, 1);
	g_strlcpy(offer.mid, "0", sizeof(offer.mid));
	sb_media_desc to_sip;
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, &to_sip), 0);
	phone_desc(f, &ans);
	add(&ans, 0, "PCMU", 8000, 1);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans,
							&to_browser), 0);
	assert_int_equal(to_browser.n_codecs, 1);
	assert_string_equal(to_browser.codecs[0].name, want);
	assert_int_equal(sb_media_session_transcoding(f->s), prefer);
}

static void test_relay_shared_g711(void **state)
{
	browser_offers_both(*state, false, "PCMU");
}

static void test_prefer_opus_browser_offers(void **state)
{
	browser_offers_both(*state, true, "opus");
}

/* With prefer_opus a phone's offer reaches the browser with Opus first. */
static void test_prefer_opus_phone_offers(void **state)
{
	fixture *f = *state;
	sb_media_desc offer, to_browser;
	make_gateway_opts(f, 0, true);
	phone_desc(f, &offer);
	add(&offer, 8, "PCMA", 8000, 1);
	assert_int_equal(sb_media_session_remote_offer(f->s, 1, &offer,
						       &to_browser), 0);
	assert_int_equal(to_browser.n_codecs, 2);
	assert_string_equal(to_browser.codecs[0].name, "opus");
	assert_string_equal(to_browser.codecs[1].name, "PCMA");
}

/* --- echo service ----------------------------------------------------- */

static bool echo_done(fixture *f)
{
	return f->client_rx >= N_PKTS;
}

/* A client calls the echo (sip:echo@): the session answers locally with
 * the first codec the client offered among Opus/G722/PCMU/PCMA, and the
 * client gets its own packets back after the configured delay. */
static void test_loop_echo(void **state)
{
	fixture *f = *state;
	sb_media_params p = {
		.media_addr = "127.0.0.1",
		.port_min = 42000, .port_max = 42999,
		.cert = f->gw_cert,
		.kind = { SB_LEG_KIND_WEBRTC, SB_LEG_KIND_ECHO },
		.echo_delay_ms = 200,
	};
	int err = 0;
	f->s = sb_media_session_new(&p, f->ctx, on_session_event, f, &err);
	assert_non_null(f->s);
	make_client(f, SB_MD_SETUP_ACTPASS);

	sb_media_desc offer, ans, fwd;
	memset(&offer, 0, sizeof(offer));
	assert_int_equal(sb_leg_get_local(f->client, true, &offer), 0);
	add(&offer, 13, "CN", 8000, 1);
	add(&offer, 9, "G722", 8000, 1);
	add(&offer, 0, "PCMU", 8000, 1);
	add(&offer, 126, "telephone-event", 8000, 1);
	g_strlcpy(offer.mid, "0", sizeof(offer.mid));
	offer.bundled = true;
	/* the echo is not a peer to forward offers to */
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, &fwd),
			 -EINVAL);
	assert_int_equal(sb_media_session_answer_locally(f->s, 1, &offer,
							 &ans), -EINVAL);
	assert_int_equal(sb_media_session_answer_locally(f->s, 0, &offer,
							 &ans), 0);
	assert_int_equal(ans.proto, SB_MD_PROTO_DTLS_SAVPF);
	assert_string_equal(ans.mid, "0");
	assert_int_equal(ans.n_codecs, 2);
	assert_string_equal(ans.codecs[0].name, "G722"); /* first usable */
	assert_int_equal(ans.codecs[1].pt, 126);
	assert_int_equal(ans.dir, SB_MD_DIR_SENDRECV);
	assert_false(sb_media_session_transcoding(f->s));
	assert_int_equal(sb_leg_set_remote(f->client, false, &ans), 0);
	assert_true(run_until(f, both_connected, 10000));

	gint64 t0 = g_get_monotonic_time();
	for (uint16_t i = 1; i <= N_PKTS; i++)
		send_client(f, 9, i);
	assert_true(run_until(f, echo_done, 5000));
	gint64 took = g_get_monotonic_time() - t0;
	print_message("echo: %u packets back after %" G_GINT64_FORMAT
		      " ms\n", f->client_rx, took / 1000);
	assert_true(took >= 200 * 1000);
	/* our own payload, in our codec, from the SSRC announced to us */
	assert_int_equal(f->client_last.pt, 9);
	assert_int_equal(f->client_last.ssrc, ans.ssrc);
	assert_int_equal(f->client_last.payload_len, 160);
	assert_int_equal(f->client_payload[0], 0xa0 + (N_PKTS & 0xf));
	const sb_leg_stats *st = sb_media_session_stats(f->s, 0);
	assert_int_equal(st->rx_packets, N_PKTS);
	assert_int_equal(st->tx_packets, N_PKTS);
}

/* --- consent freshness (RFC 7675) ------------------------------------- */

static bool ice_failed(fixture *f)
{
	return f->ev_ice_failed > 0;
}

typedef struct keep_alive {
	fixture *f;
	uint16_t seq;
} keep_alive;

static gboolean client_talks(gpointer data)
{
	keep_alive *k = data;
	send_client(k->f, 0, k->seq++);
	return G_SOURCE_CONTINUE;
}

/* The browser goes quiet (tab frozen, network gone, no BYE): after the
 * consent timeout the session reports ICE_FAILED on the browser side,
 * once; while it talks, nothing is reported. */
static void test_loop_consent_expires(void **state)
{
	fixture *f = *state;
	make_gateway_consent(f, 1500);
	make_client(f, SB_MD_SETUP_ACTPASS);
	negotiate(f, NULL);
	assert_true(run_until(f, both_connected, 10000));

	keep_alive k = { f, 1 };
	GSource *t = g_timeout_source_new(20);
	g_source_set_callback(t, client_talks, &k, NULL);
	g_source_attach(t, f->ctx);
	assert_false(run_until(f, ice_failed, 2500));
	g_source_destroy(t);
	g_source_unref(t);
	assert_true(f->phone_rx > 50);

	gint64 quiet = g_get_monotonic_time();
	assert_true(run_until(f, ice_failed, 5000));
	gint64 after = (g_get_monotonic_time() - quiet) / 1000;
	print_message("consent lost %" G_GINT64_FORMAT " ms after the last "
		      "packet: %s\n", after, f->ice_reason);
	assert_true(after >= 1500 && after < 3000);
	assert_int_equal(f->failed_side, 0);
	assert_non_null(strstr(f->ice_reason, "consent"));
	/* reported once */
	GSource *w = g_timeout_source_new(1000);
	f->expired = false;
	g_source_set_callback(w, expire, &f->expired, NULL);
	g_source_attach(w, f->ctx);
	while (!f->expired)
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	assert_int_equal(f->ev_ice_failed, 1);
}

/* --- strangers on the browser leg ---------------------------------- */

static uint16_t cand_port(const char *cand)
{
	/* candidate:<f> <c> <proto> <prio> <addr> <port> typ ... */
	char addr[64];
	unsigned port = 0;
	if (sscanf(cand, "candidate:%*s %*u %*s %*u %63s %u", addr,
		   &port) != 2)
		return 0;
	return (uint16_t)port;
}

static bool client_got_all(fixture *f)
{
	return f->client_rx >= N_PKTS;
}

/* Datagrams to the gateway's ICE port from an address that is not the
 * ICE-selected pair never reach the leg or the relay; the phone's RTP
 * still flows to the client. */
static void test_loop_stranger_dropped(void **state)
{
	fixture *f = *state;
	make_gateway(f);
	make_client(f, SB_MD_SETUP_ACTPASS);
	negotiate(f, NULL);
	assert_true(run_until(f, both_connected, 10000));
	uint16_t port = cand_port(f->answer_browser.cands[0]);
	assert_true(port != 0);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	uint8_t junk[120];
	memset(junk, 0x5a, sizeof(junk));
	junk[0] = 0x80; /* looks like (S)RTP to the demux */
	junk[1] = 0;
	for (int i = 0; i < 10; i++)
		sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&to,
		       sizeof(to));
	close(fd);
	for (uint16_t i = 1; i <= N_PKTS; i++)
		send_phone(f, (uint16_t)(2000 + i));
	assert_true(run_until(f, client_got_all, 5000));
	const sb_leg_stats *st = sb_media_session_stats(f->s, 0);
	print_message("browser leg: rx %" PRIu64 " dropped %" PRIu64
		      " strangers %" PRIu64 "\n", st->rx_packets,
		      st->rx_dropped, st->rx_strangers);
	assert_int_equal(st->rx_packets, 0);
	assert_int_equal(f->phone_rx, 0);
	/* libnice 0.1.21 discards non-STUN datagrams from addresses that
	 * are no remote candidate before they reach us: nothing to count */
	assert_int_equal(st->rx_dropped, 0);
	assert_int_equal(st->rx_strangers, 0);
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
		cmocka_unit_test_setup_teardown(
			test_loop_transcode_browser_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_loop_transcode_phone_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_shared_g711, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prefer_opus_browser_offers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefer_opus_phone_offers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_echo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_loop_consent_expires,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_stranger_dropped,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
