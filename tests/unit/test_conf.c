/* Conference rooms through media sessions: three plain-RTP phones
 * answered locally by SB_LEG_KIND_CONF sessions in one room (PCMU, PCMA
 * and G722, so the 8 kHz <-> 16 kHz paths are crossed). Phone 0 talks
 * (1 kHz), the others are silent: phones 1 and 2 hear 1 kHz in their own
 * codec, phone 0 hears no 1 kHz (mix-minus) but the join tone (880 Hz)
 * that starts the call; the room empties when the sessions go. 127.0.0.1, private
 * GMainContext, real time (20 ms packets), watchdog-bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
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

#define N_PHONES 3
#define TICKS 75               /* 1.5 s */
#define PCM_MAX (16000 * 3)

typedef struct phone {
	int fd;
	uint16_t port, gw_port;
	const sb_codec *codec;
	uint8_t pt;
	sb_codec_enc *enc;
	sb_codec_dec *dec;
	int16_t *pcm;          /* what it heard, at the codec's rate */
	size_t n;
	unsigned rx;
} phone;

typedef struct fixture {
	GMainContext *ctx;
	sb_cert *cert;
	phone ph[N_PHONES];
	sb_media_session *s[N_PHONES];
	unsigned ticks;
	gint64 start;
} fixture;

static void spin(fixture *f, unsigned ms)
{
	sbt_spin(f->ctx, ms);
}

static void drain(phone *p)
{
	uint8_t buf[1500];
	ssize_t n;
	while ((n = recv(p->fd, buf, sizeof(buf), 0)) > 0) {
		sb_rtp_hdr h;
		if (sb_rtp_parse(buf, (size_t)n, &h) < 0 || h.pt != p->pt)
			continue;
		p->rx++;
		if (p->n + 960 > PCM_MAX)
			continue;
		ssize_t k = sb_codec_decode(p->dec, buf + h.payload_off,
					    h.payload_len, p->pcm + p->n, 960);
		if (k > 0)
			p->n += (size_t)k;
	}
}

static void send_frame(fixture *f, int i, unsigned t)
{
	phone *p = &f->ph[i];
	uint32_t rate = p->dec->pcm_rate;
	size_t n = rate / 50;
	int16_t pcm[320];
	uint8_t pl[400], buf[600];
	for (size_t k = 0; k < n; k++)
		pcm[k] = i == 0 ? (int16_t)lrint(8000 * sin(2 * M_PI * 1000 *
				  (double)(t * n + k) / rate)) : 0;
	ssize_t len = sb_codec_encode(p->enc, pcm, n, pl, sizeof(pl));
	assert_true(len > 0);
	sb_rtp_hdr h = { .pt = p->pt, .seq = (uint16_t)t,
			 .ts = t * sb_codec_ts_units(p->codec, 20),
			 .ssrc = 0x1000u + (uint32_t)i };
	ssize_t k = sb_rtp_build(buf, sizeof(buf), &h, pl, (size_t)len);
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(p->gw_port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(p->fd, buf, (size_t)k, 0, (struct sockaddr *)&to, sizeof(to));
}

static gboolean tick(gpointer data)
{
	fixture *f = data;
	gint64 now = g_get_monotonic_time();
	while (f->ticks < TICKS && now >= f->start + f->ticks * 20000ll) {
		for (int i = 0; i < N_PHONES; i++)
			send_frame(f, i, f->ticks);
		f->ticks++;
	}
	for (int i = 0; i < N_PHONES; i++)
		drain(&f->ph[i]);
	return G_SOURCE_CONTINUE;
}

static int setup(void **state)
{
	static const sb_codec *codecs[N_PHONES] = {
		&sb_codec_pcmu, &sb_codec_pcma, &sb_codec_g722 };
	fixture *f = g_new0(fixture, 1);
	f->ctx = g_main_context_new();
	g_main_context_push_thread_default(f->ctx);
	assert_int_equal(sb_cert_new(NULL, &f->cert), 0);
	for (int i = 0; i < N_PHONES; i++) {
		phone *p = &f->ph[i];
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_int_equal(bind(p->fd, (struct sockaddr *)&a,
				      sizeof(a)), 0);
		getsockname(p->fd, (struct sockaddr *)&a, &len);
		p->port = ntohs(a.sin_port);
		p->codec = codecs[i];
		p->pt = (uint8_t)codecs[i]->static_pt;
		sb_codec_params cp;
		sb_codec_params_init(&cp);
		assert_int_equal(sb_codec_enc_new(p->codec, &cp, &p->enc), 0);
		assert_int_equal(sb_codec_dec_new(p->codec, &cp, &p->dec), 0);
		p->pcm = g_new0(int16_t, PCM_MAX);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < N_PHONES; i++) {
		sb_media_session_free(f->s[i]);
		close(f->ph[i].fd);
		sb_codec_enc_free(f->ph[i].enc);
		sb_codec_dec_free(f->ph[i].dec);
		g_free(f->ph[i].pcm);
	}
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	sb_cert_unref(f->cert);
	g_main_context_pop_thread_default(f->ctx);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static double share(const int16_t *pcm, size_t n, uint32_t rate, double hz)
{
	double w = 2 * M_PI * hz / rate, c = 2 * cos(w);
	double s1 = 0, s2 = 0, e = 0;
	for (size_t i = 0; i < n; i++) {
		double s0 = pcm[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
		e += (double)pcm[i] * pcm[i];
	}
	double pw = s1 * s1 + s2 * s2 - c * s1 * s2;
	return e > 0 ? 2 * pw / ((double)n * e) : 0;
}

static double rms(const int16_t *pcm, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	return sqrt(e / (double)n);
}

static void join(fixture *f, int i)
{
	phone *p = &f->ph[i];
	sb_media_params mp = { .media_addr = "127.0.0.1", .cert = f->cert,
			       .port_min = 46000, .port_max = 46999,
			       .kind = { SB_LEG_KIND_RTP, SB_LEG_KIND_CONF },
			       .conf_room = "room1" };
	int err = 0;
	f->s[i] = sb_media_session_new(&mp, f->ctx, NULL, NULL, &err);
	assert_non_null(f->s[i]);
	sb_media_desc offer, ans;
	memset(&offer, 0, sizeof(offer));
	offer.proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(offer.addr, "127.0.0.1", sizeof(offer.addr));
	offer.port = p->port;
	sb_md_codec *c = &offer.codecs[offer.n_codecs++];
	c->pt = p->pt;
	g_strlcpy(c->name, p->codec->name, sizeof(c->name));
	c->clock = p->codec->clock_rate;
	c->channels = 1;
	assert_int_equal(sb_media_session_answer_locally(f->s[i], 0, &offer,
							 &ans), 0);
	assert_int_equal(ans.n_codecs, 1);
	assert_int_equal(ans.codecs[0].pt, p->pt);
	assert_int_equal(ans.proto, SB_MD_PROTO_RTP_AVP);
	p->gw_port = ans.port;
}

static void test_conf_three_codecs(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < N_PHONES; i++)
		join(f, i);
	assert_int_equal(sb_conf_room_count("room1"), N_PHONES);
	assert_int_equal(sb_conf_room_count("other"), 0);

	GSource *t = g_timeout_source_new(2);
	g_source_set_callback(t, tick, f, NULL);
	g_source_attach(t, f->ctx);
	f->start = g_get_monotonic_time();
	spin(f, TICKS * 20 + 100);
	g_source_destroy(t);
	g_source_unref(t);

	for (int i = 0; i < N_PHONES; i++) {
		phone *p = &f->ph[i];
		uint32_t rate = p->dec->pcm_rate;
		/* the join tone plays first: 880 Hz in the first 200 ms */
		double tone = share(p->pcm + rate / 50, rate / 10, rate, 880);
		/* then 500 ms from 0.5 s on */
		assert_true(p->n >= rate * 6 / 5);
		const int16_t *w = p->pcm + rate / 2;
		double s = share(w, rate / 2, rate, 1000);
		print_message("phone %d (%s): %u packets, join tone %.2f, "
			      "1 kHz share %.2f rms %.0f\n", i, p->codec->name,
			      p->rx, tone, s, rms(w, rate / 2));
		assert_true(p->rx >= TICKS / 2); /* loaded machines skip ticks */
		if (i == 0) {
			/* only the tone: the others are silent */
			assert_true(tone > 0.5);
			/* mix-minus: its own voice does not come back */
			assert_true(rms(w, rate / 2) < 200);
		} else {
			assert_true(s > 0.8);
			assert_true(rms(w, rate / 2) > 2000);
		}
	}
	/* leaving: the room empties and goes away with the last one */
	sb_media_session_free(f->s[0]);
	f->s[0] = NULL;
	assert_int_equal(sb_conf_room_count("room1"), N_PHONES - 1);
	for (int i = 1; i < N_PHONES; i++) {
		sb_media_session_free(f->s[i]);
		f->s[i] = NULL;
	}
	assert_int_equal(sb_conf_room_count("room1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conf_three_codecs, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
