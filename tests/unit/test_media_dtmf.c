/* sb_media_session_send_dtmf on a relayed RTP <-> RTP session (PCMU +
 * telephone-event/8000 on both sides): the exact RFC 4733 packet
 * sequence seen by the far phone while audio keeps flowing (marker,
 * start timestamp on the audio timeline, durations every ptime, three
 * end packets, one SSRC, no sequence gap, no audio during the event),
 * a queued second digit, the same on a transcoded call (Opus ->
 * PCMU), and the refusals. Sockets on 127.0.0.1, a
 * private GMainContext. */
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
#include "transcoding/telephone_event.h"
#include "webrtc/media_session.h"

#define TE_PT 101
#define MAX_PKTS 256

typedef struct pkt {
	sb_rtp_hdr h;
	sb_tel_event ev;          /* valid when h.pt == TE_PT */
	gint64 at_us;             /* when collect() read it (monotonic) */
} pkt;

typedef struct fixture {
	GMainContext *ctx;
	sb_cert *cert;
	int sock[2];              /* phone 0 (sends audio), phone 1 (far) */
	uint16_t port[2];
	sb_media_session *s;
	sb_media_desc to1, to0;   /* what each phone was told */
	uint16_t in_seq;          /* phone 0's next audio packet */
	sb_codec_enc *opus;       /* owned: phone 0 talks Opus (transcoded) */
	pkt got[MAX_PKTS];        /* what phone 1 received, in order */
	unsigned n_got;
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
	for (int i = 0; i < 2; i++)
		assert_true((f->sock[i] = sbt_udp_socket(&f->port[i])) >= 0);
	f->in_seq = 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_media_session_free(f->s);
	sb_codec_enc_free(f->opus);
	for (int i = 0; i < 2; i++)
		close(f->sock[i]);
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	sb_cert_unref(f->cert);
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static void avp(sb_media_desc *d, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	d->proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(d->addr, "127.0.0.1", sizeof(d->addr));
	d->port = port;
	d->dir = SB_MD_DIR_SENDRECV;
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

/* Phone 0 offers PCMU (+ telephone-event if te0), phone 1 answers
 * PCMU (+ telephone-event if te1): a relay. */
static void negotiate(fixture *f, bool te0, bool te1)
{
	sb_media_params p = { .media_addr = "127.0.0.1", .cert = f->cert,
			      .port_min = 45000, .port_max = 45999,
			      .kind = { SB_LEG_KIND_RTP, SB_LEG_KIND_RTP } };
	int err = 0;
	f->s = sb_media_session_new(&p, f->ctx, NULL, NULL, &err);
	assert_non_null(f->s);

	sb_media_desc offer, ans;
	avp(&offer, f->port[0]);
	add(&offer, 0, "PCMU", 8000);
	if (te0)
		add(&offer, TE_PT, "telephone-event", 8000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer,
						       &f->to1), 0);
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	if (te1)
		add(&ans, TE_PT, "telephone-event", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans,
							&f->to0), 0);
	assert_false(sb_media_session_transcoding(f->s));
}

/* One 20 ms packet from phone 0 toward the gateway: PCMU, or Opus
 * (PT 111) when the call is transcoded. */
static void send_audio(fixture *f)
{
	uint8_t buf[600], pl[400];
	int16_t pcm[960];
	size_t len = 160;
	uint16_t seq = f->in_seq++;
	sb_rtp_hdr h = { .pt = 0, .seq = seq, .ts = seq * 160u,
			 .ssrc = 0x4242 };
	memset(pl, 0xff, sizeof(pl));
	if (f->opus) {
		for (int i = 0; i < 960; i++) /* 1 kHz: real audio to code */
			pcm[i] = (int16_t)(8000 * ((i / 24) % 2 ? 1 : -1));
		ssize_t k = sb_codec_encode(f->opus, pcm, 960, pl, sizeof(pl));
		assert_true(k > 0);
		len = (size_t)k;
		h.pt = 111;
		h.ts = seq * 960u;
	}
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, len);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(f->to0.port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(f->sock[0], buf, (size_t)n, 0, (struct sockaddr *)&to,
	       sizeof(to));
}

static void collect(fixture *f)
{
	uint8_t buf[1500];
	ssize_t n;
	while ((n = recv(f->sock[1], buf, sizeof(buf), 0)) > 0) {
		if (buf[1] >= 192 && buf[1] <= 223)
			continue; /* RTCP */
		pkt *p = &f->got[f->n_got];
		assert_int_equal(sb_rtp_parse(buf, (size_t)n, &p->h), 0);
		p->at_us = g_get_monotonic_time();
		if (p->h.pt == TE_PT)
			assert_int_equal(sb_tel_event_parse(
				buf + p->h.payload_off, p->h.payload_len,
				&p->ev), 0);
		assert_true(++f->n_got < MAX_PKTS);
	}
}

/* Audio at 20 ms pace for `ms`, collecting what phone 1 gets. */
static void talk(fixture *f, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		send_audio(f);
		spin(f, 20);
		collect(f);
	}
}

static void assert_continuous(const fixture *f)
{
	for (unsigned i = 1; i < f->n_got; i++) {
		assert_int_equal(f->got[i].h.seq,
				 (uint16_t)(f->got[i - 1].h.seq + 1));
		assert_int_equal(f->got[i].h.ssrc, f->to1.ssrc);
	}
}

/* The event packets of one digit starting at got[i]: marker first,
 * durations 160, 320, ... then three ends at `total`; returns the
 * index after them. */
static unsigned assert_event(const fixture *f, unsigned i, uint8_t code,
			     uint16_t total)
{
	const pkt *first = &f->got[i];
	unsigned updates = 0, ends = 0;
	assert_int_equal(first->h.pt, TE_PT);
	assert_true(first->h.marker);
	for (; i < f->n_got && f->got[i].h.pt == TE_PT &&
	       f->got[i].h.ts == first->h.ts; i++) {
		const pkt *p = &f->got[i];
		assert_int_equal(p->ev.event, code);
		assert_int_equal(p->ev.volume, SB_MEDIA_DTMF_VOLUME);
		if (p != first)
			assert_false(p->h.marker);
		if (p->ev.end) {
			assert_int_equal(p->ev.duration, total);
			ends++;
			continue;
		}
		assert_int_equal(ends, 0); /* no update after an end */
		assert_int_equal(p->ev.duration, 160 * ++updates);
	}
	assert_int_equal(updates, (total - 1) / 160);
	assert_int_equal(ends, 3);
	return i;
}

static unsigned first_event(const fixture *f, unsigned from)
{
	for (unsigned i = from; i < f->n_got; i++)
		if (f->got[i].h.pt == TE_PT)
			return i;
	fail_msg("no telephone-event packet");
	return 0;
}

static void test_relay_sequence(void **state)
{
	fixture *f = *state;
	negotiate(f, true, true);
	talk(f, 200);
	assert_true(f->n_got >= 5);
	unsigned before = f->n_got;
	const pkt *last_audio = &f->got[before - 1];
	uint32_t audio_ts = last_audio->h.ts;

	assert_int_equal(sb_media_session_send_dtmf(f->s, 1, '5', 100), 0);
	talk(f, 400);
	assert_continuous(f);
	unsigned i = first_event(f, 0);
	assert_int_equal(i, before); /* nothing held back before it */
	/* RFC 4733 §2.5.1.1: the start on the audio timeline ("now"): after
	 * the last audio packet, within a few packets of it */
	uint32_t ev_ts = f->got[i].h.ts;
	assert_true(ev_ts - audio_ts > 0 && ev_ts - audio_ts <= 4 * 160);
	unsigned after = assert_event(f, i, 5, 800);
	/* audio resumes after the event, on its own timeline, past the end */
	assert_true(after < f->n_got);
	for (unsigned k = after; k < f->n_got; k++) {
		assert_int_equal(f->got[k].h.pt, 0);
		assert_true((int32_t)(f->got[k].h.ts - ev_ts) >= 800 - 160);
	}
	assert_int_equal(sb_media_session_dtmf_sent(f->s, 1), 1);
	assert_int_equal(sb_media_session_dtmf_sent(f->s, 0), 0);
}

/* A digit before any audio went out (right after the answer, or a muted
 * browser): the audio that follows continues the event's numbering
 * instead of jumping to the relayed stream's own. */
static void test_digit_before_audio(void **state)
{
	fixture *f = *state;
	negotiate(f, true, true);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 1, '7', 60), 0);
	talk(f, 300);
	assert_int_equal(first_event(f, 0), 0);
	unsigned after = assert_event(f, 0, 7, 480);
	assert_true(after < f->n_got);
	assert_int_equal(f->got[after].h.pt, 0);
	assert_continuous(f);
}

static void test_queued_digits(void **state)
{
	fixture *f = *state;
	negotiate(f, true, true);
	talk(f, 100);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 1, '#', 60), 0);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 1, 'D', 40), 0);
	talk(f, 500);
	assert_continuous(f);
	unsigned i = first_event(f, 0);
	uint32_t ts1 = f->got[i].h.ts;
	unsigned j = assert_event(f, i, 11, 480);
	assert_int_equal(f->got[j].h.pt, TE_PT); /* right after, no audio */
	uint32_t ts2 = f->got[j].h.ts;
	/* the second event starts after the first one ended */
	assert_true((int32_t)(ts2 - ts1) >= 480);
	assert_event(f, j, 15, 320);
	assert_int_equal(sb_media_session_dtmf_sent(f->s, 1), 2);
}

/* Phone 0 offers Opus + telephone-event/48000, phone 1 answers PCMU +
 * telephone-event/8000: transcoded both ways. */
static void negotiate_xcode(fixture *f)
{
	sb_media_params p = { .media_addr = "127.0.0.1", .cert = f->cert,
			      .port_min = 45000, .port_max = 45999,
			      .kind = { SB_LEG_KIND_RTP, SB_LEG_KIND_RTP } };
	sb_codec_params cp;
	int err = 0;
	sb_codec_params_init(&cp);
	cp.pcm_rate = 48000;
	assert_int_equal(sb_codec_enc_new(&sb_codec_opus, &cp, &f->opus), 0);
	f->s = sb_media_session_new(&p, f->ctx, NULL, NULL, &err);
	assert_non_null(f->s);
	sb_media_desc offer, ans;
	avp(&offer, f->port[0]);
	add(&offer, 111, "opus", 48000);
	offer.codecs[0].channels = 2;
	add(&offer, 110, "telephone-event", 48000);
	assert_int_equal(sb_media_session_remote_offer(f->s, 0, &offer,
						       &f->to1), 0);
	avp(&ans, f->port[1]);
	add(&ans, 0, "PCMU", 8000);
	add(&ans, TE_PT, "telephone-event", 8000);
	assert_int_equal(sb_media_session_remote_answer(f->s, 1, &ans,
							&f->to0), 0);
	assert_true(sb_media_session_transcoding(f->s));
}

/* The same sequence when the audio toward the trunk is transcoded
 * (Opus -> PCMU): the events join the transcoder's output stream. */
static void test_xcode_sequence(void **state)
{
	fixture *f = *state;
	negotiate_xcode(f);
	talk(f, 300);
	unsigned before = f->n_got;
	assert_true(before >= 3);
	assert_int_equal(f->got[before - 1].h.pt, 0);
	uint32_t audio_ts = f->got[before - 1].h.ts;
	assert_int_equal(sb_media_session_send_dtmf(f->s, 1, '7', 100), 0);
	talk(f, 400);
	assert_continuous(f);
	unsigned i = first_event(f, 0);
	assert_int_equal(i, before);
	uint32_t ev_ts = f->got[i].h.ts;
	/* The transcoder's output timeline follows its playout clock, which
	 * keeps running (and skips missed periods) when this test or the
	 * loop is descheduled on a loaded machine: allow the gap the wall
	 * clock saw between the two packets' arrivals, plus four packets. */
	gint64 wall_ms = (f->got[i].at_us - f->got[before - 1].at_us) / 1000;
	assert_true(ev_ts - audio_ts > 0);
	assert_true(ev_ts - audio_ts <= 4 * 160 + 8 * (uint32_t)MAX(wall_ms, 0));
	unsigned after = assert_event(f, i, 7, 800);
	assert_true(after < f->n_got);
	for (unsigned k = after; k < f->n_got; k++) {
		assert_int_equal(f->got[k].h.pt, 0);
		assert_true((int32_t)(f->got[k].h.ts - ev_ts) >= 800 - 160);
	}
}

static void test_refusals(void **state)
{
	fixture *f = *state;
	negotiate(f, true, false);
	/* the answer took no telephone-event: neither side has it */
	assert_int_equal(sb_media_session_send_dtmf(f->s, 1, '1', 100),
			 -ENOTSUP);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 0, '1', 100),
			 -ENOTSUP);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 0, 'x', 100),
			 -EINVAL);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 2, '1', 100),
			 -EINVAL);
}

static void test_queue_full_and_closed(void **state)
{
	fixture *f = *state;
	negotiate(f, true, true);
	/* one playing + 16 waiting (SB_MS_DTMF_QUEUE) */
	for (int k = 0; k < 17; k++)
		assert_int_equal(sb_media_session_send_dtmf(f->s, 0, '1', 100),
				 0);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 0, '1', 100),
			 -EBUSY);
	sb_media_session_close(f->s);
	assert_int_equal(sb_media_session_send_dtmf(f->s, 0, '1', 100),
			 -ENOTCONN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_sequence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_digit_before_audio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_queued_digits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xcode_sequence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_and_closed,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
