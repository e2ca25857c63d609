/* Plain RTP leg and media session negotiation without browsers:
 * symmetric latching and strangers, the leg following an IPv6 peer
 * (dual stack), RTP inactivity timeout, SR/RR built
 * from the leg's own counters, offer/answer errors (no shared codec,
 * wrong transport, answer without offer, double offer), hold and resume
 * with seq/ts continuity, a late offer, and transcoding admission
 * (per-worker capacity, -EBUSY). RTP<->RTP sessions on
 * 127.0.0.1 with a private GMainContext and watchdogs. */
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

#include "tests/unit/loop_util.h"
#include "transcoding/codec.h"
#include "webrtc/media_session.h"

typedef struct fixture {
	GMainContext *ctx;
	sb_cert *cert;
	int sock[3];              /* phones */
	uint16_t port[3];
	sb_leg *leg;
	sb_media_session *s;
	unsigned leg_rx, timeouts, started;
	sb_rtp_hdr last;
} fixture;

static void spin(fixture *f, unsigned ms)
{
	sbt_spin(f->ctx, ms);
}

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	assert_int_equal(sb_cert_new(NULL, &f->cert), 0);
	for (int i = 0; i < 3; i++)
		assert_true((f->sock[i] = sbt_udp_socket(&f->port[i])) >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_leg_free(f->leg);
	sb_media_session_free(f->s);
	for (int i = 0; i < 3; i++)
		close(f->sock[i]);
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	sb_cert_unref(f->cert);
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static void send_rtp(fixture *f, int from, uint16_t to_port, uint8_t pt,
		     uint16_t seq, uint32_t ssrc)
{
	uint8_t buf[200], pl[20] = { 0 };
	sb_rtp_hdr h = { .pt = pt, .seq = seq, .ts = seq * 160u,
			 .ssrc = ssrc };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, sizeof(pl));
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(to_port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(f->sock[from], buf, (size_t)n, 0, (struct sockaddr *)&to,
	       sizeof(to));
}

/* Read everything pending on a phone socket; return the RTP count and
 * the last RTP header seen. */
static unsigned drain(fixture *f, int i, sb_rtp_hdr *last)
{
	uint8_t buf[1500];
	unsigned n_rtp = 0;
	ssize_t n;
	while ((n = recv(f->sock[i], buf, sizeof(buf), 0)) > 0) {
		sb_rtp_hdr h;
		if (buf[1] >= 192 && buf[1] <= 223)
			continue; /* RTCP */
		if (sb_rtp_parse(buf, (size_t)n, &h) == 0) {
			n_rtp++;
			if (last)
				*last = h;
		}
	}
	return n_rtp;
}

static void on_recv(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
		    const sb_rtp_hdr *h, void *ud)
{
	fixture *f = ud;
	(void)leg;
	(void)buf;
	(void)len;
	(void)cap;
	f->leg_rx++;
	f->last = *h;
}

static void on_event(sb_leg *leg, sb_leg_event ev, const char *r, void *ud)
{
	fixture *f = ud;
	(void)leg;
	(void)r;
	if (ev == SB_LEG_EV_RTP_TIMEOUT)
		f->timeouts++;
	if (ev == SB_LEG_EV_MEDIA_STARTED)
		f->started++;
}

static void make_leg(fixture *f, unsigned timeout_ms)
{
	sb_leg_params p = { .ctx = f->ctx, .media_addr = "127.0.0.1",
			    .port_min = 43000, .port_max = 43999,
			    .rtp_timeout_ms = timeout_ms, .ssrc = 0x1111 };
	assert_int_equal(sb_rtp_leg_new(&p, &f->leg), 0);
	sb_leg_set_callbacks(f->leg, on_recv, on_event, f);
}

static void avp(sb_media_desc *d, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	d->proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(d->addr, "127.0.0.1", sizeof(d->addr));
	d->port = port;
}

static void add(sb_media_desc *d, uint8_t pt, const char *name,
		uint32_t clock)
{
	sb_md_codec *c = &d->codecs[d->n_codecs++];
	c->pt = pt;
	g_strlcpy(c->name, name, sizeof(c->name));
	c->clock = clock;
	c->channels = 1;
}

static void test_latching(void **state)
{
	fixture *f = *state;
	sb_media_desc local, remote;
	make_leg(f, 0);
	memset(&local, 0, sizeof(local));
	assert_int_equal(sb_leg_get_local(f->leg, true, &local), 0);
	assert_int_equal(local.port % 2, 0);
	assert_true(local.port >= 43000 && local.port < 43999);
	assert_int_equal(local.ssrc, 0x1111);
	/* the SDP names phone 0, but phone 1 sends first: latch to 1 */
	avp(&remote, f->port[0]);
	assert_int_equal(sb_leg_set_remote(f->leg, false, &remote), 0);
	send_rtp(f, 1, local.port, 0, 1, 0xaaaa);
	spin(f, 100);
	assert_int_equal(f->leg_rx, 1);
	assert_int_equal(f->started, 1);
	send_rtp(f, 0, local.port, 0, 2, 0xbbbb); /* stranger */
	send_rtp(f, 2, local.port, 0, 3, 0xcccc); /* stranger */
	send_rtp(f, 1, local.port, 0, 2, 0xaaaa);
	spin(f, 100);
	assert_int_equal(f->leg_rx, 2);
	assert_int_equal(f->last.ssrc, 0xaaaa);
	assert_int_equal(sb_leg_get_stats(f->leg)->rx_dropped, 2);

	/* symmetric: we answer to where the media came from */
	uint8_t buf[SB_LEG_BUF];
	sb_rtp_hdr h = { .pt = 8, .seq = 7, .ssrc = 0x1111 };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, NULL, 0);
	assert_int_equal(sb_leg_send_rtp(f->leg, buf, (size_t)n, sizeof(buf)),
			 0);
	spin(f, 50);
	assert_int_equal(drain(f, 0, NULL), 0);
	sb_rtp_hdr got;
	assert_int_equal(drain(f, 1, &got), 1);
	assert_int_equal(got.pt, 8);

	/* SR/RR from the leg's own counters */
	uint8_t rtcp[512];
	ssize_t rn = sb_leg_build_rtcp(f->leg, rtcp, sizeof(rtcp));
	assert_true(rn > 0);
	sb_rtcp_info in;
	assert_int_equal(sb_rtcp_parse(rtcp, (size_t)rn, &in), 0);
	assert_true(in.has_sr);
	assert_int_equal(in.sr_ssrc, 0x1111);
	assert_int_equal(in.sr.packets, 1);
	assert_int_equal(in.n_blocks, 1);
	assert_int_equal(in.blocks[0].ssrc, 0xaaaa);
	assert_int_equal(in.blocks[0].ext_max_seq, 2);
	assert_int_equal(in.blocks[0].cum_lost, 0);
	assert_true(in.has_cname);
	/* nothing sent since: an RR next time */
	rn = sb_leg_build_rtcp(f->leg, rtcp, sizeof(rtcp));
	assert_int_equal(sb_rtcp_parse(rtcp, (size_t)rn, &in), 0);
	assert_false(in.has_sr);
	assert_true(in.has_rr);

	/* the phone's reports on our stream: the newest loss is kept (the
	 * transcoder's FEC follows it); blocks on other sources are not */
	sb_rtcp_block blk[2] = {
		{ .ssrc = 0x9999, .fraction_lost = 200 },
		{ .ssrc = 0x1111, .fraction_lost = 64 },
	};
	rn = sb_rtcp_build_report(rtcp, sizeof(rtcp), 0xaaaa, NULL, blk, 2,
				  "phone");
	assert_true(rn > 0);
	sb_leg_handle_rtcp(f->leg, rtcp, (size_t)rn);
	assert_int_equal(sb_leg_get_stats(f->leg)->peer_reports, 1);
	assert_int_equal(sb_leg_get_stats(f->leg)->peer_fraction_lost, 64);
	blk[1].fraction_lost = 0;
	rn = sb_rtcp_build_report(rtcp, sizeof(rtcp), 0xaaaa, NULL, &blk[1],
				  1, "phone");
	sb_leg_handle_rtcp(f->leg, rtcp, (size_t)rn);
	assert_int_equal(sb_leg_get_stats(f->leg)->peer_reports, 2);
	assert_int_equal(sb_leg_get_stats(f->leg)->peer_fraction_lost, 0);
}

static int udp6_socket(uint16_t *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin6_port);
	return fd;
}

/* media.address IPv4, a SIP listener on ::1 (alt_addr): an IPv6 peer's
 * offer moves the leg to ::1 and the media flows there both ways; an
 * IPv6 answer to our IPv4 offer, or an IPv6 offer with no address of
 * that family, is refused (-EAFNOSUPPORT: 488); and a leg told where
 * the INVITE goes (family) starts on ::1. */
static void test_dual_stack(void **state)
{
	fixture *f = *state;
	uint16_t phone_port;
	int phone = udp6_socket(&phone_port);
	if (phone < 0)
		skip();
	sb_leg_params p = { .ctx = f->ctx, .media_addr = "127.0.0.1",
			    .alt_addr = "::1", .port_min = 43000,
			    .port_max = 43999, .ssrc = 0x2222 };
	assert_int_equal(sb_rtp_leg_new(&p, &f->leg), 0);
	sb_leg_set_callbacks(f->leg, on_recv, on_event, f);
	sb_media_desc local, remote;
	avp(&remote, phone_port);
	g_strlcpy(remote.addr, "::1", sizeof(remote.addr));
	assert_int_equal(sb_leg_set_remote(f->leg, false, &remote),
			 -EAFNOSUPPORT);
	assert_int_equal(sb_leg_set_remote(f->leg, true, &remote), 0);
	memset(&local, 0, sizeof(local));
	assert_int_equal(sb_leg_get_local(f->leg, false, &local), 0);
	assert_string_equal(local.addr, "::1");

	uint8_t buf[SB_LEG_BUF];
	sb_rtp_hdr h = { .pt = 0, .seq = 5, .ssrc = 0x3333 };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, NULL, 0);
	struct sockaddr_in6 to = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				   .sin6_port = htons(local.port) };
	assert_int_equal(sendto(phone, buf, (size_t)n, 0,
				(struct sockaddr *)&to, sizeof(to)), n);
	spin(f, 100);
	assert_int_equal(f->leg_rx, 1);
	assert_int_equal(f->last.ssrc, 0x3333);
	h.ssrc = 0x2222;
	n = sb_rtp_build(buf, sizeof(buf), &h, NULL, 0);
	assert_int_equal(sb_leg_send_rtp(f->leg, buf, (size_t)n, sizeof(buf)),
			 0);
	spin(f, 50);
	uint8_t in[1500];
	ssize_t got = recv(phone, in, sizeof(in), 0);
	assert_true(got >= 12);
	assert_int_equal(in[8], 0); /* our SSRC, 0x00002222 */
	assert_int_equal(in[11], 0x22);
	close(phone);
	sb_leg_free(f->leg);

	/* no address of the peer's family */
	p.alt_addr = NULL;
	assert_int_equal(sb_rtp_leg_new(&p, &f->leg), 0);
	assert_int_equal(sb_leg_set_remote(f->leg, true, &remote),
			 -EAFNOSUPPORT);
	sb_leg_free(f->leg);

	/* the INVITE goes to an IPv6 literal: our offer is on ::1 */
	p.alt_addr = "::1";
	p.family = AF_INET6;
	assert_int_equal(sb_rtp_leg_new(&p, &f->leg), 0);
	memset(&local, 0, sizeof(local));
	assert_int_equal(sb_leg_get_local(f->leg, true, &local), 0);
	assert_string_equal(local.addr, "::1");
}

static void test_hold_sends_nothing(void **state)
{
	fixture *f = *state;
	sb_media_desc remote;
	make_leg(f, 0);
	avp(&remote, f->port[0]);
	g_strlcpy(remote.addr, "0.0.0.0", sizeof(remote.addr));
	assert_int_equal(sb_leg_set_remote(f->leg, true, &remote), 0);
	uint8_t buf[SB_LEG_BUF];
	sb_rtp_hdr h = { .pt = 0, .seq = 1, .ssrc = 0x1111 };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, NULL, 0);
	assert_int_equal(sb_leg_send_rtp(f->leg, buf, (size_t)n, sizeof(buf)),
			 -EAGAIN);
	remote.proto = SB_MD_PROTO_DTLS_SAVPF;
	assert_int_equal(sb_leg_set_remote(f->leg, true, &remote), -EPROTO);
}

static void test_rtp_timeout(void **state)
{
	fixture *f = *state;
	sb_media_desc local, remote;
	make_leg(f, 300);
	memset(&local, 0, sizeof(local));
	sb_leg_get_local(f->leg, false, &local);
	avp(&remote, f->port[0]);
	assert_int_equal(sb_leg_set_remote(f->leg, false, &remote), 0);
	/* media keeps it alive */
	for (int i = 0; i < 6; i++) {
		send_rtp(f, 0, local.port, 0, (uint16_t)i, 5);
		spin(f, 100);
	}
	assert_int_equal(f->timeouts, 0);
	spin(f, 1200);
	assert_int_equal(f->timeouts, 1); /* once */
}

/* The peer offered: nothing is due from it before it has our answer
 * (a browser still ringing), so the timer waits for that answer. */
static void test_rtp_timeout_after_answer(void **state)
{
	fixture *f = *state;
	sb_media_desc local, remote;
	make_leg(f, 300);
	avp(&remote, f->port[0]);
	assert_int_equal(sb_leg_set_remote(f->leg, true, &remote), 0);
	spin(f, 1000);
	assert_int_equal(f->timeouts, 0);
	memset(&local, 0, sizeof(local));
	assert_int_equal(sb_leg_get_local(f->leg, false, &local), 0);
	spin(f, 200);
	assert_int_equal(f->timeouts, 0); /* a full period from the answer */
	spin(f, 1000);
	assert_int_equal(f->timeouts, 1);
	/* held by the peer (sendonly, sending nothing): no timeout */
	remote.dir = SB_MD_DIR_SENDONLY;
	assert_int_equal(sb_leg_set_remote(f->leg, true, &remote), 0);
	assert_int_equal(sb_leg_get_local(f->leg, false, &local), 0);
	spin(f, 1300);
	assert_int_equal(f->timeouts, 1);
}

/* --- sessions ------------------------------------------------------ */

static void make_session(fixture *f, sb_leg_kind k0, sb_leg_kind k1)
{
	sb_media_params p = { .media_addr = "127.0.0.1", .cert = f->cert,
			      .port_min = 44000, .port_max = 44999,
			      .kind = { k0, k1 } };
	int err = 0;
	f->s = sb_media_session_new(&p, f->ctx, NULL, NULL, &err);
	assert_non_null(f->s);
}

static void test_negotiation_errors(void **state)
{
	fixture *f = *state;
	sb_media_desc offer, out, ans;
	make_session(f, SB_LEG_KIND_WEBRTC, SB_LEG_KIND_RTP);

	/* nothing pending */
	avp(&ans, f->port[0]);
	add(&ans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans, &out),
			 -ENOENT);
	/* plain RTP offered on the WebRTC side */
	avp(&offer, 5000);
	add(&offer, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, &out),
			 -EPROTO);
	/* no codec we relay */
	avp(&offer, 5000);
	add(&offer, 18, "G729", 8000);
	add(&offer, 101, "telephone-event", 8000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 1, &offer, &out),
			 -ENOTSUP);
	/* a good offer from the SIP side toward the browser */
	avp(&offer, f->port[0]);
	add(&offer, 18, "G729", 8000);
	add(&offer, 8, "PCMA", 8000);
	add(&offer, 101, "telephone-event", 8000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 1, &offer, &out),
			 0);
	assert_int_equal(out.proto, SB_MD_PROTO_DTLS_SAVPF);
	assert_int_equal(out.setup, SB_MD_SETUP_ACTPASS);
	assert_string_equal(out.mid, "0");
	/* what the phone offered first (a browser relays PCMA), then Opus
	 * (transcodable to PCMA), DTMF at both clocks */
	assert_int_equal(out.n_codecs, 4);
	assert_int_equal(out.codecs[0].pt, 8);
	assert_string_equal(out.codecs[1].name, "opus");
	assert_int_equal(out.codecs[1].pt, 111);
	assert_non_null(strstr(out.codecs[1].fmtp, "maxplaybackrate=8000"));
	assert_non_null(strstr(out.codecs[1].fmtp, "useinbandfec=1"));
	assert_int_equal(out.codecs[2].pt, 101);
	assert_int_equal(out.codecs[3].pt, 110);
	assert_int_equal(out.codecs[3].clock, 48000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 1, &offer, &out),
			 -EBUSY);
	/* the browser answers with a codec we never offered */
	sb_media_desc bans;
	memset(&bans, 0, sizeof(bans));
	bans.proto = SB_MD_PROTO_DTLS_SAVPF;
	g_strlcpy(bans.ice_ufrag, "abcd", sizeof(bans.ice_ufrag));
	g_strlcpy(bans.ice_pwd, "0123456789012345678901",
		  sizeof(bans.ice_pwd));
	g_strlcpy(bans.fp_hash, "sha-256", sizeof(bans.fp_hash));
	g_strlcpy(bans.fingerprint, sb_cert_fingerprint(f->cert),
		  sizeof(bans.fingerprint));
	bans.setup = SB_MD_SETUP_ACTIVE;
	add(&bans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 0, &bans, &out),
			 -ENOTSUP);
	/* the exchange is over: a new offer is accepted */
	assert_int_equal(sb_media_session_remote_offer(f->s, 1, &offer, &out),
			 0);
	bans.n_codecs = 0;
	add(&bans, 8, "PCMA", 8000);
	add(&bans, 101, "telephone-event", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 0, &bans, &out),
			 0);
	assert_int_equal(out.proto, SB_MD_PROTO_RTP_AVP);
	assert_int_equal(out.n_codecs, 2);
	assert_int_equal(out.codecs[0].pt, 8);
	assert_int_equal(out.codecs[1].pt, 101);
}

static void rtp_offer_answer(fixture *f, sb_md_dir dir0, const char *addr0,
			     sb_media_desc *to1, sb_media_desc *to0)
{
	sb_media_desc offer, ans;
	avp(&offer, f->port[0]);
	g_strlcpy(offer.addr, addr0, sizeof(offer.addr));
	offer.dir = dir0;
	add(&offer, 96, "opus", 48000);
	offer.codecs[0].channels = 2;
	add(&offer, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, to1),
			 0);
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans, to0),
			 0);
}

static void test_relay_hold_resume_continuity(void **state)
{
	fixture *f = *state;
	sb_media_desc to1, to0;
	sb_rtp_hdr h;
	make_session(f, SB_LEG_KIND_RTP, SB_LEG_KIND_RTP);
	rtp_offer_answer(f, SB_MD_DIR_SENDRECV, "127.0.0.1", &to1, &to0);
	/* PCMA added so a G.711-only peer could answer (transcoded) */
	assert_int_equal(to1.n_codecs, 3);
	assert_string_equal(to1.codecs[2].name, "PCMA");
	assert_false(sb_media_session_transcoding(f->s));
	assert_int_equal(to0.n_codecs, 1);
	assert_int_equal(to0.codecs[0].pt, 0);

	/* phone 0 -> gateway(to0.port) -> phone 1 */
	for (uint16_t i = 0; i < 5; i++)
		send_rtp(f, 0, to0.port, 0, (uint16_t)(100 + i), 0x77);
	spin(f, 100);
	assert_int_equal(drain(f, 1, &h), 5);
	assert_int_equal(h.ssrc, to1.ssrc);
	uint16_t last_seq = h.seq;
	uint32_t last_ts = h.ts;

	/* phone 0 puts the call on hold: nothing reaches it any more */
	rtp_offer_answer(f, SB_MD_DIR_SENDONLY, "0.0.0.0", &to1, &to0);
	assert_int_equal(to1.dir, SB_MD_DIR_SENDONLY);
	send_rtp(f, 1, to1.port, 0, 1, 0x99);
	spin(f, 100);
	assert_int_equal(drain(f, 0, NULL), 0);

	/* resume with a new SSRC and unrelated seq/ts: continuous output */
	rtp_offer_answer(f, SB_MD_DIR_SENDRECV, "127.0.0.1", &to1, &to0);
	send_rtp(f, 0, to0.port, 0, 5000, 0x78);
	spin(f, 100);
	assert_int_equal(drain(f, 1, &h), 1);
	assert_int_equal(h.ssrc, to1.ssrc);
	assert_int_equal(h.seq, (uint16_t)(last_seq + 1));
	assert_int_equal(h.ts, last_ts + 160);
	/* unnegotiated PT is not forwarded */
	send_rtp(f, 0, to0.port, 96, 5001, 0x78);
	spin(f, 100);
	assert_int_equal(drain(f, 1, NULL), 0);
}

/* A 2xx answer unlike the early one (another branch of a forked call):
 * the side's media moves there, the codec chosen stays. */
static void test_update_answer(void **state)
{
	fixture *f = *state;
	sb_media_desc offer, to1, ans, to0;
	make_session(f, SB_LEG_KIND_RTP, SB_LEG_KIND_RTP);
	avp(&offer, f->port[0]);
	add(&offer, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, &to1), 0);
	avp(&ans, 9);   /* branch A, nobody there */
	add(&ans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans, &to0), 0);
	send_rtp(f, 0, to0.port, 0, 1, 0x55);
	spin(f, 100);
	assert_int_equal(drain(f, 1, NULL), 0);
	/* branch B: lacks the codec, then right */
	avp(&ans, f->port[1]);
	add(&ans, 8, "PCMA", 8000);
	assert_int_equal(sb_media_session_update_answer(f->s, 1, &ans), -EPROTO);
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_update_answer(f->s, 1, &ans), 0);
	send_rtp(f, 0, to0.port, 0, 2, 0x55);
	spin(f, 100);
	assert_int_equal(drain(f, 1, NULL), 1);
	send_rtp(f, 1, to1.port, 0, 1, 0x66);
	spin(f, 100);
	assert_int_equal(drain(f, 0, NULL), 1);
	/* not while an offer is pending */
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer, &to1), 0);
	assert_int_equal(sb_media_session_update_answer(f->s, 1, &ans), -EBUSY);
}

static sb_media_session *new_session_with(fixture *f, unsigned max_xcode,
					  bool jitter_buffer, bool low_delay)
{
	sb_media_params p = { .media_addr = "127.0.0.1", .cert = f->cert,
			      .port_min = 44000, .port_max = 44999,
			      .kind = { SB_LEG_KIND_RTP, SB_LEG_KIND_RTP },
			      .max_transcoded = max_xcode,
			      .jitter_buffer = jitter_buffer,
			      .opus_low_delay = low_delay };
	int err = 0;
	sb_media_session *s = sb_media_session_new(&p, f->ctx, NULL, NULL,
						   &err);
	assert_non_null(s);
	return s;
}

static sb_media_session *new_session_jb(fixture *f, unsigned max_xcode,
					bool jitter_buffer)
{
	return new_session_with(f, max_xcode, jitter_buffer, false);
}

static sb_media_session *new_session(fixture *f, unsigned max_xcode)
{
	return new_session_jb(f, max_xcode, false);
}

/* Opus-only offer; PCMU answer: transcoding (0) or the error. */
static int opus_to_pcmu(fixture *f, sb_media_session *s, int want_offer)
{
	sb_media_desc offer, to1, ans, to0;
	avp(&offer, f->port[0]);
	add(&offer, 111, "opus", 48000);
	offer.codecs[0].channels = 2;
	add(&offer, 110, "telephone-event", 48000);
	int err = sb_media_session_remote_offer(s, 0, &offer, &to1);
	assert_int_equal(err, want_offer);
	if (err < 0)
		return err;
	/* opus, te/48000, then PCMU, PCMA, te/8000 for the SIP side */
	assert_int_equal(to1.n_codecs, 5);
	assert_string_equal(to1.codecs[2].name, "PCMU");
	assert_string_equal(to1.codecs[3].name, "PCMA");
	assert_int_equal(to1.codecs[4].clock, 8000);
	assert_int_equal(to1.codecs[4].pt, 101);
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	add(&ans, 101, "telephone-event", 8000);
	err = sb_media_session_remote_answer(s, 1, &ans, &to0);
	if (err < 0)
		return err;
	/* the offerer only hears about what it offered */
	assert_int_equal(to0.n_codecs, 2);
	assert_string_equal(to0.codecs[0].name, "opus");
	assert_int_equal(to0.codecs[0].pt, 111);
	assert_non_null(strstr(to0.codecs[0].fmtp, "maxplaybackrate=8000"));
	assert_int_equal(to0.codecs[1].pt, 110);
	assert_true(sb_media_session_transcoding(s));
	return 0;
}

/* Per-worker capacity: a full worker refuses what needs a transcoder
 * (-EBUSY, 503) and still relays what does not. */
static void test_xcode_admission(void **state)
{
	fixture *f = *state;
	sb_media_desc offer, to1, ans, to0;
	sb_media_session *a = new_session(f, 1);
	sb_media_session *b = new_session(f, 1);
	assert_int_equal(opus_to_pcmu(f, a, 0), 0);
	/* worker full: Opus alone cannot reach a SIP trunk */
	assert_int_equal(opus_to_pcmu(f, b, -EBUSY), -EBUSY);
	/* a relayable offer passes without the transcoding-only codecs */
	avp(&offer, f->port[0]);
	add(&offer, 111, "opus", 48000);
	offer.codecs[0].channels = 2;
	add(&offer, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_offer(b, 0, &offer, &to1), 0);
	assert_int_equal(to1.n_codecs, 2);
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(b, 1, &ans, &to0), 0);
	assert_false(sb_media_session_transcoding(b));
	sb_media_session_free(b);
	/* the slot comes back when the session goes */
	sb_media_session_free(a);
	b = new_session(f, 1);
	assert_int_equal(opus_to_pcmu(f, b, 0), 0);
	/* a second session offered while b holds the slot, answered in a
	 * way that needs transcoding: -EBUSY and nothing set up */
	sb_media_session *c = new_session(f, 2);
	assert_int_equal(sb_media_session_remote_offer(c, 0, &offer, &to1), 0);
	assert_int_equal(to1.n_codecs, 3); /* room left when offered */
	a = new_session(f, 2);
	assert_int_equal(opus_to_pcmu(f, a, 0), 0); /* now full */
	ans.n_codecs = 0;
	add(&ans, 8, "PCMA", 8000);
	assert_int_equal(sb_media_session_remote_answer(c, 1, &ans, &to0),
			 -EBUSY);
	assert_false(sb_media_session_transcoding(c));
	sb_media_session_free(a);
	sb_media_session_free(b);
	sb_media_session_free(c);
}

/* Re-offers keep the slot a transcoded session holds (a full worker
 * does not refuse its own hold/resume); switching to relay frees it. */
static void test_xcode_reoffer(void **state)
{
	fixture *f = *state;
	sb_media_desc offer, to1, ans, to0;
	sb_media_session *a = new_session(f, 1);
	sb_media_session *b = new_session(f, 1);
	assert_int_equal(opus_to_pcmu(f, a, 0), 0);
	assert_int_equal(opus_to_pcmu(f, a, 0), 0);      /* re-offer */
	assert_int_equal(opus_to_pcmu(f, b, -EBUSY), -EBUSY);
	/* a re-offer answered with Opus: relay, the slot goes back */
	avp(&offer, f->port[0]);
	add(&offer, 111, "opus", 48000);
	offer.codecs[0].channels = 2;
	assert_int_equal(sb_media_session_remote_offer(a, 0, &offer, &to1), 0);
	avp(&ans, f->port[1]);
	add(&ans, 111, "opus", 48000);
	ans.codecs[0].channels = 2;
	assert_int_equal(sb_media_session_remote_answer(a, 1, &ans, &to0), 0);
	assert_false(sb_media_session_transcoding(a));
	assert_int_equal(to0.codecs[0].pt, 111);
	assert_int_equal(opus_to_pcmu(f, b, 0), 0);
	/* our own refresh offer toward the SIP side while transcoding:
	 * the negotiated codec only; the answer keeps transcoding */
	assert_int_equal(sb_media_session_local_offer(b, 1, &offer), 0);
	assert_int_equal(offer.n_codecs, 2);
	assert_string_equal(offer.codecs[0].name, "PCMU");
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(b, 1, &ans, NULL), 0);
	assert_true(sb_media_session_transcoding(b));
	sb_media_session_free(a);
	sb_media_session_free(b);
}

/* Phone 0 sends one Opus packet to the gateway. */
static void send_opus_one(fixture *f, sb_codec_enc *enc, uint16_t to_port,
			  uint16_t seq)
{
	int16_t pcm[960] = { 0 };
	uint8_t pl[400], buf[500];
	ssize_t len = sb_codec_encode(enc, pcm, 960, pl, sizeof(pl));
	assert_true(len > 0);
	sb_rtp_hdr h = { .pt = 111, .seq = seq, .ts = seq * 960u,
			 .ssrc = 0x2222 };
	ssize_t k = sb_rtp_build(buf, sizeof(buf), &h, pl, (size_t)len);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(to_port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(f->sock[0], buf, (size_t)k, 0, (struct sockaddr *)&to,
	       sizeof(to));
}

/* Phone 0 sends n Opus packets (20 ms apart, paced) to the gateway. */
static void send_opus(fixture *f, sb_codec_enc *enc, uint16_t to_port,
		      uint16_t *seq, unsigned n)
{
	for (unsigned i = 0; i < n; i++, (*seq)++) {
		send_opus_one(f, enc, to_port, *seq);
		spin(f, 20);
	}
}

/* Opus from phone 0 transcoded to PCMU for phone 1; returns the
 * gateway's port toward phone 0 and an encoder for phone 0. */
static uint16_t xcode_call(fixture *f, bool jitter_buffer,
			   sb_codec_enc **enc)
{
	sb_codec_params cp;
	sb_codec_params_init(&cp);
	cp.pcm_rate = 48000;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &cp, enc), 0);
	f->s = new_session_jb(f, 0, jitter_buffer);
	assert_int_equal(opus_to_pcmu(f, f->s, 0), 0);
	/* a refresh offer of ours toward phone 0 tells us the gateway's
	 * port there; answered with Opus: still transcoding */
	sb_media_desc mine, back;
	assert_int_equal(sb_media_session_local_offer(f->s, 0, &mine), 0);
	avp(&back, f->port[0]);
	add(&back, 111, "opus", 48000);
	back.codecs[0].channels = 2;
	assert_int_equal(sb_media_session_remote_answer(f->s, 0, &back, NULL),
			 0);
	assert_true(sb_media_session_transcoding(f->s));
	return mine.port;
}

/* Milliseconds from phone 0's Opus packet to phone 1's PCMU one. */
static double first_packet_ms(bool jitter_buffer)
{
	fixture *f;
	setup((void **)&f);
	sb_codec_enc *enc = NULL;
	uint16_t port = xcode_call(f, jitter_buffer, &enc);
	gint64 t0 = g_get_monotonic_time(), t = 0;
	send_opus_one(f, enc, port, 1);
	while (!t && g_get_monotonic_time() - t0 < 500000) {
		spin(f, 1);
		if (drain(f, 1, NULL))
			t = g_get_monotonic_time();
	}
	sb_codec_enc_free(enc);
	teardown((void **)&f);
	assert_true(t > 0);
	return (double)(t - t0) / 1000;
}

/* Without media.jitter_buffer (the default) a transcoded frame goes out
 * as soon as it is decoded; with it, only once the buffer plays it out,
 * 20 ms (its least delay) after it came. */
static void test_xcode_direct_latency(void **state)
{
	(void)state;
	double direct = first_packet_ms(false);
	double buffered = first_packet_ms(true);
	print_message("first transcoded packet: %.1f ms direct, %.1f ms "
		      "buffered\n", direct, buffered);
	assert_true(direct < 15);
	assert_true(buffered >= 19);
}

/* The phone receiving Opus reports 20 % loss on the gateway's stream
 * (an RTCP RR to the gateway's RTCP port): the encoder toward it starts
 * adding FEC; it had none while nothing was reported. */
static void test_xcode_fec_follows_rr(void **state)
{
	fixture *f = *state;
	sb_codec_enc *enc = NULL;
	sb_xcode_stats st;
	uint16_t port = xcode_call(f, false, &enc);
	spin(f, 50);
	assert_int_equal(sb_media_session_xcode_stats(f->s, 1, &st), 0);
	assert_int_equal(st.loss_hint, 0);
	sb_rtcp_block blk = {
		.ssrc = sb_media_session_leg(f->s, 0)->ssrc,
		.fraction_lost = 51,               /* 51/256 = 19.9 % */
	};
	uint8_t rtcp[256];
	ssize_t n = sb_rtcp_build_report(rtcp, sizeof(rtcp), 0x2222, NULL,
					 &blk, 1, "phone0");
	assert_true(n > 0);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)(port + 1)) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(f->sock[0], rtcp, (size_t)n, 0,
				(struct sockaddr *)&to, sizeof(to)), n);
	spin(f, 60);   /* the playout tick passes the report on */
	assert_int_equal(sb_media_session_xcode_stats(f->s, 1, &st), 0);
	assert_int_equal(st.loss_hint, 20);
	/* the Opus -> PCMU direction has no encoder that cares */
	assert_int_equal(sb_media_session_xcode_stats(f->s, 0, &st), 0);
	assert_int_equal(st.loss_hint, 0);
	sb_codec_enc_free(enc);
}

/* Phone 1's PCMU transcoded to Opus for phone 0: with
 * media.opus_low_delay every packet is CELT only (TOC configuration 16
 * or above, RFC 6716 §3.1), without it SILK (below 12). Returns how
 * many Opus packets arrived and counts each kind. */
static unsigned opus_modes(bool low_delay, unsigned *celt, unsigned *silk)
{
	fixture *f;
	setup((void **)&f);
	f->s = new_session_with(f, 0, false, low_delay);
	assert_int_equal(opus_to_pcmu(f, f->s, 0), 0);
	/* a refresh offer toward phone 1 tells us the gateway's port there */
	sb_media_desc mine, back;
	assert_int_equal(sb_media_session_local_offer(f->s, 1, &mine), 0);
	avp(&back, f->port[1]);
	add(&back, 0, "PCMU", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &back, NULL),
			 0);
	assert_true(sb_media_session_transcoding(f->s));
	uint8_t pcmu[160], buf[1500];
	memset(pcmu, 0xd5, sizeof(pcmu)); /* a quiet square wave */
	for (unsigned i = 0; i < sizeof(pcmu); i += 8)
		pcmu[i] = pcmu[i + 1] = 0x55;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(mine.port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned got = 0;
	*celt = *silk = 0;
	for (uint16_t seq = 1; seq <= 10; seq++) {
		sb_rtp_hdr h = { .pt = 0, .seq = seq, .ts = seq * 160u,
				 .ssrc = 0x3333 };
		ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pcmu,
					 sizeof(pcmu));
		sendto(f->sock[1], buf, (size_t)n, 0, (struct sockaddr *)&to,
		       sizeof(to));
		spin(f, 20);
		while ((n = recv(f->sock[0], buf, sizeof(buf), 0)) > 0) {
			if (buf[1] >= 192 && buf[1] <= 223)
				continue; /* RTCP */
			if (sb_rtp_parse(buf, (size_t)n, &h) < 0 ||
			    h.payload_len == 0)
				continue;
			uint8_t config = buf[h.payload_off] >> 3;
			got++;
			*celt += config >= 16;
			*silk += config < 12;
		}
	}
	teardown((void **)&f);
	return got;
}

static void test_xcode_opus_low_delay(void **state)
{
	unsigned celt, silk, n;
	(void)state;
	n = opus_modes(true, &celt, &silk);
	print_message("low delay: %u Opus packets, %u CELT\n", n, celt);
	assert_true(n >= 8);
	assert_int_equal(celt, n);
	n = opus_modes(false, &celt, &silk);
	print_message("without: %u Opus packets, %u SILK\n", n, silk);
	assert_true(n >= 8);
	assert_int_equal(silk, n);
}

/* Transcoded output stays one stream across a re-offer: same SSRC, the
 * next sequence number, timestamps moving on. */
static void test_xcode_reoffer_continuity(void **state)
{
	fixture *f = *state;
	sb_codec_enc *enc = NULL;
	sb_rtp_hdr h;
	uint16_t seq = 1;
	uint16_t port = xcode_call(f, false, &enc);
	send_opus(f, enc, port, &seq, 15);
	spin(f, 100);
	unsigned got = drain(f, 1, &h);
	assert_true(got >= 10);
	assert_int_equal(h.pt, 0);
	uint32_t ssrc = h.ssrc;
	uint16_t last_seq = h.seq;
	uint32_t last_ts = h.ts;
	/* re-offer from phone 0, answered PCMU again */
	assert_int_equal(opus_to_pcmu(f, f->s, 0), 0);
	sb_rtp_hdr first;
	bool have_first = false;
	for (int i = 0; i < 10 && !have_first; i++) {
		send_opus(f, enc, port, &seq, 1);
		uint8_t buf[1500];
		ssize_t n;
		while ((n = recv(f->sock[1], buf, sizeof(buf), 0)) > 0)
			if (!have_first && buf[1] < 192 &&
			    sb_rtp_parse(buf, (size_t)n, &first) == 0)
				have_first = true;
	}
	assert_true(have_first);
	print_message("before %u/%u, after %u/%u\n", last_seq, last_ts,
		      first.seq, first.ts);
	assert_int_equal(first.ssrc, ssrc);
	assert_int_equal(first.seq, (uint16_t)(last_seq + 1));
	assert_true(first.ts - last_ts >= 160 && first.ts - last_ts < 8000);
	sb_codec_enc_free(enc);
}

static void test_late_offer(void **state)
{
	fixture *f = *state;
	sb_media_desc offer, ans;
	make_session(f, SB_LEG_KIND_WEBRTC, SB_LEG_KIND_RTP);
	assert_int_equal(sb_media_session_local_offer(f->s, 1, &offer), 0);
	assert_int_equal(offer.proto, SB_MD_PROTO_RTP_AVP);
	assert_true(offer.n_codecs >= 4);
	assert_string_equal(offer.codecs[0].name, "PCMU");
	assert_int_equal(sb_media_session_local_offer(f->s, 1, &offer),
			 -EBUSY);
	avp(&ans, f->port[0]);
	add(&ans, 8, "PCMA", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans, NULL),
			 0);
	/* a refresh offer now carries only the negotiated codec */
	assert_int_equal(sb_media_session_local_offer(f->s, 1, &offer), 0);
	assert_int_equal(offer.n_codecs, 1);
	assert_string_equal(offer.codecs[0].name, "PCMA");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_latching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_sends_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtp_timeout_after_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtp_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_negotiation_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_relay_hold_resume_continuity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xcode_admission, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xcode_reoffer, setup,
						teardown),
		cmocka_unit_test(test_xcode_direct_latency),
		cmocka_unit_test_setup_teardown(test_xcode_fec_follows_rr,
						setup, teardown),
		cmocka_unit_test(test_xcode_opus_low_delay),
		cmocka_unit_test_setup_teardown(test_xcode_reoffer_continuity,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_offer, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
