/* sbload: drive calls through a running sipbridge and measure it.
 * See sbload.h for the structure and doc/BENCHMARKS.md for how it is run
 * (tests/bench/run_relay.sh, tests/bench/run_sig.sh).
 *
 * Media mode, per call: a WebSocket connection (or a share of one), a
 * client-role WebRTC leg (ICE controlling, DTLS client: offer_setup
 * ACTIVE, SRTP), INVITE with the leg's offer (PCMU), 200, ACK; once the
 * leg is CONNECTED it sends 50 packets/s of pre-encoded PCMU whose first
 * 28 payload bytes carry a magic, the call index, a packet counter and
 * the send time (monotonic, and realtime for the echo: sbload.h,
 * SBL_MARK_*); the in-process UAS echoes them, and on the way back the
 * payload gives the round-trip time and tells lost and late packets.
 * The echo also times each packet's arrival (one-way latency, "down_*"),
 * and with --metrics the daemon's own residence histogram is scraped at
 * both ends of the window ("gw_res_*").
 * Timeline: connect, set-ups (at most --window in flight), warm-up,
 * measurement window (--duration), grace, BYE, exit.
 * Main thread (GLib default context) only, except the UAS thread. */
#include "tests/bench/sbload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <glib-unix.h>

#include <opus/opus.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#include "sip/sdp.h"
#include "transcoding/g711.h"
#include "webrtc/residence.h"
#include "webrtc/cert.h"

#define PAYLOAD 160           /* 20 ms of PCMU */
#define OPUS_FRAMES 50        /* 1 s of pre-encoded Opus, looped */
#define OPUS_LOUD 5           /* its first 100 ms are the loud marker */
#define LOUD_RMS 4000         /* decoded RMS above this is the marker */
#define OPUS_MAX 400
#define RESIDENCE "sipbridge_media_residence_seconds"
#define SCRAPE_MS 2000
#define SETUP_TIMEOUT_US (15 * G_USEC_PER_SEC)

typedef enum {
	C_IDLE = 0, C_INVITING, C_ANSWERED, C_UP, C_BYE_SENT, C_DONE, C_FAILED,
	C_CONNECTING              /* chaos: its own WebSocket is opening */
} cstate;

/* chaos: how a call ends, drawn when it starts */
typedef enum {
	F_CALLER_BYE = 0,  /* we hang up after the hold */
	F_UAS_BYE,         /* the SIP side hangs up */
	F_BOTH_BYE,        /* both at about the same time */
	F_DROP_UP,         /* WebSocket dropped mid-call, no BYE */
	F_DROP_EARLY,      /* WebSocket dropped while the INVITE is pending */
	F_CANCEL,          /* CANCEL racing a delayed 200 */
	F_BUSY,            /* the SIP side answers 486 */
} fate;

typedef enum {
	P_CONNECT = 0, P_SETUP, P_WARMUP, P_WINDOW, P_GRACE, P_BYE, P_END
} phase;

typedef struct call {
	unsigned idx;
	cstate st;
	sbl_ws *ws;
	sb_leg *leg;
	char call_id[48];
	char from[160];
	char *to;                  /* To of the 2xx, with the tag */
	char *target;              /* Contact of the 2xx */
	GPtrArray *routes;         /* route set, UAC order */
	unsigned cseq;
	int64_t t_start;           /* INVITE or REGISTER sent */
	int64_t next_send;
	uint32_t pkt;              /* our packet counter */
	uint16_t rtp_seq;
	uint32_t rtp_ts;
	bool in_window;            /* sig modes: started inside the window */
	/* Opus: the marker burst's round trip, from the decoded audio */
	OpusDecoder *dec;
	bool loud;                 /* last packet back was loud */
	bool burst_pending;        /* a burst went out, not yet back */
	int64_t burst_sent;        /* send time of its first frame */
	/* chaos */
	unsigned slot;             /* index in A.calls, the WebSocket's id */
	fate fate;
	char ruri[128];            /* Request-URI of the INVITE */
	char inv_branch[17];       /* INVITE's branch, for CANCEL and ACK */
	int64_t t_act;             /* next scripted action */
	int64_t t_state;           /* when the state was entered */
	bool cancel_sent;
} call;

static struct app {
	sbl_opts o;
	GMainLoop *loop;
	sb_cert *cert;
	sbl_uas *uas;
	sbl_ng *ng;                /* --ng: rtpengine's control socket */
	call *calls;
	unsigned n_calls;
	sbl_ws **conns;
	unsigned n_conns, conns_up, conns_lost;
	GHashTable *by_cid;        /* Call-ID -> call */
	char via_host[16];
	uint8_t tone[PAYLOAD];
	uint8_t opus[OPUS_FRAMES][OPUS_MAX];
	int opus_len[OPUS_FRAMES];
	phase ph;
	int64_t t_phase;
	unsigned next_call, in_flight, n_up, n_failed, n_done;
	int64_t t_first_invite, t_last_up;
	/* measurement window */
	int64_t w_start, w_end;
	double gw_cpu0, gw_cpu1, self_cpu0, self_cpu1;
	double gw_media0, gw_media1;   /* the daemon's sb-media-* threads */
	long rss_before, rss_after;
	uint64_t uas_rx0, uas_rx1;
	/* counters */
	uint64_t sent, sent_w, recv, recv_w, late_w, bad, crosstalk;
	uint64_t skipped, send_err, sig_ok_w, sig_fail;
	uint64_t markers_w, markers_missed_w;   /* Opus bursts timed / lost */
	uint64_t client_rx0, client_rx1;
	int64_t last_tick, max_tick_gap;   /* our own loop stalls */
	uint64_t tick_gaps_20ms;
	sbl_hist lat, setup;
	sbl_hist down;             /* one-way, copied from the UAS at the end */
	/* --metrics: the daemon's residence histogram at both ends */
	sbl_prom_hist res0, res1;
	int res0_rc, res1_rc;
	const char *fail_reason;
	/* chaos */
	GRand *rnd;
	GHashTable *fails;         /* reason -> count (GUINT_TO_POINTER) */
	int64_t t_begin;
	unsigned attempted, answered, cancelled, cancel_2xx, busy, uas_bye,
		 dropped_up, dropped_early, bye_ok, bye_other;
} A;

static void set_phase(phase p);
static void chaos_on_up(call *c);
static void chaos_peer_bye(call *c);

/* ---------------------------------------------------------------- SIP */

static void send_text(call *c, GString *s)
{
	if ((!c->ws || sbl_ws_send(c->ws, s->str, s->len) < 0) && A.o.verbose)
		fprintf(stderr, "sbload: call %u: ws down\n", c->idx);
	g_string_free(s, TRUE);
}

/* same_branch: the INVITE's transaction (CANCEL, ACK of a non-2xx). */
static GString *request_head_br(call *c, const char *method, const char *ruri,
				const char *to, unsigned cseq, bool same_branch)
{
	char branch[17];
	GString *s = g_string_sized_new(2048);
	if (same_branch)
		memcpy(branch, c->inv_branch, sizeof(branch));
	else
		sbl_token(branch, 16);
	if (!strcmp(method, "INVITE"))
		memcpy(c->inv_branch, branch, sizeof(branch));
	g_string_append_printf(s, "%s %s SIP/2.0\r\n"
			       "Via: SIP/2.0/WS %s.invalid;branch=z9hG4bK%s\r\n"
			       "Max-Forwards: 70\r\n", method, ruri,
			       A.via_host, branch);
	for (guint i = 0; c->routes && i < c->routes->len; i++)
		g_string_append_printf(s, "Route: %s\r\n",
				       (char *)c->routes->pdata[i]);
	g_string_append_printf(s, "To: %s\r\nFrom: %s\r\nCall-ID: %s\r\n"
			       "CSeq: %u %s\r\n", to, c->from, c->call_id,
			       cseq, method);
	return s;
}

static GString *request_head(call *c, const char *method, const char *ruri,
			     const char *to, unsigned cseq)
{
	return request_head_br(c, method, ruri, to, cseq, false);
}

static void new_dialog_ids(call *c, const char *user)
{
	char tag[11], cid[25];
	if (c->call_id[0])
		g_hash_table_remove(A.by_cid, c->call_id);
	sbl_token(tag, 10);
	sbl_token(cid, 24);
	snprintf(c->call_id, sizeof(c->call_id), "%s", cid);
	snprintf(c->from, sizeof(c->from), "<sip:%s%u@%s>;tag=%s", user,
		 c->idx, A.o.domain, tag);
	g_hash_table_insert(A.by_cid, c->call_id, c);
	g_clear_pointer(&c->to, g_free);
	g_clear_pointer(&c->target, g_free);
	if (c->routes)
		g_ptr_array_set_size(c->routes, 0);
}

static void send_invite(call *c, const char *sdp)
{
	const char *ruri = c->ruri[0] ? c->ruri : A.o.target;
	g_autofree char *to = g_strdup_printf("<%s>", ruri);
	new_dialog_ids(c, "load");
	GString *s = request_head(c, "INVITE", ruri, to, 1);
	g_string_append_printf(s, "Contact: <sip:load%u@%s.invalid;transport=ws;ob>\r\n"
			       "Allow: INVITE,ACK,BYE,CANCEL,OPTIONS\r\n",
			       c->idx, A.via_host);
	if (sdp)
		g_string_append_printf(s, "Content-Type: application/sdp\r\n"
				       "Content-Length: %zu\r\n\r\n%s",
				       strlen(sdp), sdp);
	else
		g_string_append(s, "Content-Length: 0\r\n\r\n");
	c->cseq = 1;
	c->t_start = sbl_now_us();
	if (!A.t_first_invite)
		A.t_first_invite = c->t_start;
	send_text(c, s);
}

static void send_in_dialog(call *c, const char *method, unsigned cseq)
{
	GString *s = request_head(c, method, c->target, c->to, cseq);
	g_string_append(s, "Content-Length: 0\r\n\r\n");
	send_text(c, s);
}

static void send_register(call *c)
{
	g_autofree char *ruri = g_strdup_printf("sip:%s", A.o.domain);
	g_autofree char *to = NULL;
	new_dialog_ids(c, "user");
	to = g_strdup_printf("<sip:user%u@%s>", c->idx, A.o.domain);
	GString *s = request_head(c, "REGISTER", ruri, to, 1);
	g_string_append_printf(s, "Contact: <sip:user%u@%s.invalid;transport=ws>;expires=600\r\n"
			       "Expires: 600\r\nContent-Length: 0\r\n\r\n",
			       c->idx, A.via_host);
	c->t_start = sbl_now_us();
	send_text(c, s);
}

/* Keep what in-dialog requests need from a 2xx: To (with tag), remote
 * target, route set (Record-Route reversed, RFC 3261 §12.1.2). */
static void take_dialog(call *c, su_home_t *home, const sip_t *sip)
{
	c->to = g_strdup(sip_header_as_string(home, (const sip_header_t *)sip->sip_to));
	c->target = sip->sip_contact
		? g_strdup(url_as_string(home, sip->sip_contact->m_url))
		: g_strdup(A.o.target);
	if (!c->routes)
		c->routes = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_set_size(c->routes, 0);
	for (const sip_record_route_t *r = sip->sip_record_route; r; r = r->r_next)
		g_ptr_array_insert(c->routes, 0, g_strdup(
			sip_header_as_string(home, (const sip_header_t *)r)));
}

/* ---------------------------------------------------------------- media */

static void call_fail(call *c, const char *why)
{
	if (c->st == C_FAILED || c->st == C_DONE)
		return;
	if (A.o.verbose || A.n_failed < 5)
		fprintf(stderr, "sbload: call %u failed: %s\n", c->idx, why);
	if (A.fails) {
		gpointer n = g_hash_table_lookup(A.fails, why);
		g_hash_table_replace(A.fails, g_strdup(why),
				     GUINT_TO_POINTER(GPOINTER_TO_UINT(n) + 1));
	}
	c->t_state = sbl_now_us();
	if (c->st == C_INVITING || c->st == C_ANSWERED)
		A.in_flight--;
	c->st = C_FAILED;
	A.n_failed++;
	if (!A.fail_reason)
		A.fail_reason = why;
}

/* The transcoder rewrites the payload, so Opus runs cannot carry a
 * marker in it; instead the audio does. Each second of what we send
 * starts with 100 ms of a loud tone (the rest is the same tone 24 dB
 * quieter); we decode what comes back and time the first loud packet
 * against the send time of the burst's first frame. One sample per call
 * per second, robust to packets a transcoder drops or adds (matching the
 * n-th packet back with the n-th sent was not: one packet dropped at
 * set-up shifted every later sample by 20 ms). Resolution ±20 ms (frame
 * alignment); includes both jitter buffers. A late burst counts its
 * second's OPUS_FRAMES packets as late, so "late %" keeps its meaning.
 * Loss is packets sent vs received over the same wall-clock window. */
static void on_opus(call *c, const sb_rtp_hdr *h, const uint8_t *pl)
{
	int64_t now = sbl_now_us();
	opus_int16 pcm[960];
	if (h->pt != 111)
		A.bad++;
	if (A.ph == P_WINDOW)
		A.recv_w++;
	if (A.ph < P_WARMUP || !c->dec)
		return;
	int n = opus_decode(c->dec, pl, (opus_int32)h->payload_len, pcm, 960, 0);
	if (n <= 0) {
		A.bad++;
		return;
	}
	double e = 0;
	for (int i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	bool loud = sqrt(e / n) > LOUD_RMS;
	if (loud && !c->loud && c->burst_pending) {
		int64_t lat = now - c->burst_sent;
		c->burst_pending = false;
		if (c->burst_sent >= A.w_start && c->burst_sent < A.w_end &&
		    A.w_start) {
			A.markers_w++;
			sbl_hist_add(&A.lat, lat);
			if (lat > (int64_t)A.o.late_ms * 1000)
				A.late_w += OPUS_FRAMES;
		}
	}
	c->loud = loud;
}

static void on_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
		   const sb_rtp_hdr *h, void *ud)
{
	call *c = ud;
	const uint8_t *p = buf + h->payload_off;
	uint32_t idx;
	int64_t t;
	(void)leg, (void)len, (void)cap;

	A.recv++;
	if (A.o.opus) {
		on_opus(c, h, p);
		return;
	}
	if (h->payload_len < SBL_MARK_LEN ||
	    memcmp(p, SBL_MARK_MAGIC, 4) != 0) {
		A.bad++;
		return;
	}
	memcpy(&idx, p + SBL_MARK_IDX, 4);
	memcpy(&t, p + SBL_MARK_MONO, 8);
	if (idx != c->idx) {
		A.crosstalk++;
		return;
	}
	if (t < A.w_start || t >= A.w_end || !A.w_start)
		return;
	int64_t lat = sbl_now_us() - t;
	A.recv_w++;
	sbl_hist_add(&A.lat, lat);
	if (lat > (int64_t)A.o.late_ms * 1000)
		A.late_w++;
}

static void send_opus(call *c, int64_t now)
{
	uint8_t buf[SB_LEG_BUF];
	unsigned f = c->pkt % OPUS_FRAMES;
	sb_rtp_hdr h = { .pt = 111, .seq = c->rtp_seq++, .ts = c->rtp_ts,
			 .ssrc = c->leg->ssrc };
	c->rtp_ts += 960;
	if (f == 0) {
		/* the previous burst never came back loud */
		if (c->burst_pending && c->burst_sent >= A.w_start &&
		    c->burst_sent < A.w_end && A.w_start)
			A.markers_missed_w++;
		c->burst_pending = true;
		c->burst_sent = now;
	}
	c->pkt++;
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, A.opus[f],
				 (size_t)A.opus_len[f]);
	if (n < 0 || sb_leg_send_rtp(c->leg, buf, (size_t)n, sizeof(buf)) < 0) {
		A.send_err++;
		return;
	}
	A.sent++;
	if (A.ph == P_WINDOW)
		A.sent_w++;
}

static void send_one(call *c, int64_t now)
{
	uint8_t buf[SB_LEG_BUF], pl[PAYLOAD];
	if (A.o.opus) {
		send_opus(c, now);
		return;
	}
	memcpy(pl, A.tone, PAYLOAD);
	memcpy(pl, SBL_MARK_MAGIC, 4);
	memcpy(pl + SBL_MARK_IDX, &c->idx, 4);
	memcpy(pl + SBL_MARK_PKT, &c->pkt, 4);
	memcpy(pl + SBL_MARK_MONO, &now, 8);
	sb_rtp_hdr h = { .pt = 0, .seq = c->rtp_seq++, .ts = c->rtp_ts,
			 .ssrc = c->leg->ssrc };
	c->rtp_ts += PAYLOAD;
	c->pkt++;
	/* taken last (now is the tick's time): the one-way figure should
	 * start when this packet goes to the leg, not at the tick. The
	 * leg's SRTP and its send queue (sent at the end of the loop pass)
	 * still count in it. */
	int64_t real = sb_residence_now_ns();
	memcpy(pl + SBL_MARK_REAL, &real, 8);
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, PAYLOAD);
	if (n < 0 || sb_leg_send_rtp(c->leg, buf, (size_t)n, sizeof(buf)) < 0) {
		A.send_err++;
		return;
	}
	A.sent++;
	if (A.ph == P_WINDOW)
		A.sent_w++;
}

static gboolean on_tick(gpointer ud)
{
	int64_t now = sbl_now_us();
	(void)ud;
	if (A.ph >= P_BYE)
		return G_SOURCE_REMOVE;
	if (A.ph == P_WINDOW && A.last_tick) {
		int64_t gap = now - A.last_tick;
		A.max_tick_gap = MAX(A.max_tick_gap, gap);
		A.tick_gaps_20ms += gap > 20000;
	}
	A.last_tick = now;
	for (unsigned i = 0; i < A.n_calls; i++) {
		call *c = &A.calls[i];
		if (c->st != C_UP)
			continue;
		if (now - c->next_send > 100000) {
			/* more than 5 packets behind: the generator is
			 * saturated; count it rather than burst */
			A.skipped += (uint64_t)(now - c->next_send) / 20000;
			c->next_send = now;
		}
		while (c->next_send <= now) {
			send_one(c, now);
			c->next_send += 20000;
		}
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_tick_fd(gint fd, GIOCondition cond, gpointer ud)
{
	uint64_t expirations;
	(void)cond;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return G_SOURCE_REMOVE;
	if (on_tick(ud) == G_SOURCE_REMOVE) {
		close(fd);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* GLib's timeouts count in milliseconds; a shorter period needs a
 * timerfd. Each tick sends what is due, so a shorter one spreads a
 * millisecond's packets over smaller bursts, closer to what independent
 * senders make. */
static void start_send_timer(void)
{
	if (A.o.tick_us >= 1000 && A.o.tick_us % 1000 == 0) {
		g_timeout_add(A.o.tick_us / 1000, on_tick, NULL);
		return;
	}
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = {
		.it_interval = { 0, (long)A.o.tick_us * 1000 },
		.it_value = { 0, (long)A.o.tick_us * 1000 },
	};
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0) {
		perror("sbload: timerfd");
		exit(2);
	}
	g_unix_fd_add(fd, G_IO_IN, on_tick_fd, NULL);
}

static void on_leg_event(sb_leg *leg, sb_leg_event ev, const char *reason,
			 void *ud)
{
	call *c = ud;
	(void)leg;
	if (ev == SB_LEG_EV_CONNECTED && c->st == C_ANSWERED) {
		int64_t now = sbl_now_us();
		c->st = C_UP;
		A.in_flight--;
		A.n_up++;
		A.t_last_up = now;
		sbl_hist_add(&A.setup, now - c->t_start);
		c->next_send = now + g_random_int_range(0, 20000);
		if (A.o.chaos)
			chaos_on_up(c);
		return;
	}
	if (ev == SB_LEG_EV_ICE_FAILED || ev == SB_LEG_EV_DTLS_FAILED)
		call_fail(c, ev == SB_LEG_EV_ICE_FAILED ? "ICE failed"
			  : (reason ? reason : "DTLS failed"));
	else if (ev == SB_LEG_EV_PEER_CLOSED && c->st == C_UP &&
		 !(A.o.chaos && (c->fate == F_UAS_BYE || c->fate == F_BOTH_BYE)))
		call_fail(c, "gateway closed DTLS");
}

/* --ng: the call through rtpengine. offer (the leg's WebRTC SDP) ->
 * rtpengine's RTP/AVP offer -> the UAS's answer (an echo socket) ->
 * answer -> rtpengine's WebRTC answer for the leg; then ICE + DTLS with
 * rtpengine as with the gateway. ud is the call's index. */
static void ng_on_answer(const char *result, const char *sdp,
			 const char *error, void *ud)
{
	call *c = &A.calls[GPOINTER_TO_UINT(ud)];
	sb_sdp *ans = NULL;
	if (c->st != C_INVITING)
		return;
	if (strcmp(result, "ok") || !sdp) {
		if (A.o.verbose || A.n_failed < 5)
			fprintf(stderr, "sbload: ng answer: %s %s\n", result,
				error ? error : "");
		call_fail(c, "rtpengine refused the answer");
		return;
	}
	c->st = C_ANSWERED;
	if (sb_sdp_parse(sdp, strlen(sdp), 65536, &ans) < 0) {
		call_fail(c, "rtpengine's answer does not parse");
		return;
	}
	if (sb_leg_set_remote(c->leg, false, &ans->audio) < 0)
		call_fail(c, "answer refused by the WebRTC leg");
	sb_sdp_free(ans);
}

static void ng_on_offer(const char *result, const char *sdp,
			const char *error, void *ud)
{
	call *c = &A.calls[GPOINTER_TO_UINT(ud)];
	char ftag[16], ttag[16];
	if (c->st != C_INVITING)
		return;
	if (strcmp(result, "ok") || !sdp) {
		if (A.o.verbose || A.n_failed < 5)
			fprintf(stderr, "sbload: ng offer: %s %s\n", result,
				error ? error : "");
		call_fail(c, "rtpengine refused the offer");
		return;
	}
	g_autofree char *plain = sbl_uas_answer(A.uas, sdp, strlen(sdp));
	if (!plain) {
		if (A.o.verbose)
			fprintf(stderr, "sbload: rtpengine offer:\n%s\n", sdp);
		call_fail(c, "rtpengine's offer has no PCMU for the echo");
		return;
	}
	snprintf(ftag, sizeof(ftag), "f%u", c->idx);
	snprintf(ttag, sizeof(ttag), "t%u", c->idx);
	sbl_ng_answer(A.ng, c->call_id, ftag, ttag, plain, ng_on_answer,
		      GUINT_TO_POINTER(c->idx));
}

static int ng_start(call *c, const char *sdp)
{
	char ftag[16];
	new_dialog_ids(c, "load");
	snprintf(ftag, sizeof(ftag), "f%u", c->idx);
	c->t_start = sbl_now_us();
	if (!A.t_first_invite)
		A.t_first_invite = c->t_start;
	return sbl_ng_offer(A.ng, c->call_id, ftag, sdp, A.o.opus,
			    ng_on_offer, GUINT_TO_POINTER(c->idx));
}

static void ng_on_delete(const char *result, const char *sdp,
			 const char *error, void *ud)
{
	call *c = &A.calls[GPOINTER_TO_UINT(ud)];
	(void)sdp, (void)error;
	if (c->st != C_BYE_SENT)
		return;
	c->st = C_DONE;
	A.n_done += !strcmp(result, "ok");
}

static int start_media_call(call *c)
{
	sb_leg_params p = { .ctx = g_main_context_default(),
			    .media_addr = "127.0.0.1", .cert = A.cert,
			    .offer_setup = SB_MD_SETUP_ACTIVE };
	sb_media_desc d;
	sb_sdp_origin o;
	g_autofree char *sdp = NULL;
	int err = sb_webrtc_leg_new(&p, &c->leg);
	if (err < 0)
		return err;
	if (A.o.opus && !c->dec) {   /* 8 kHz: we only need the level */
		int oe;
		c->dec = opus_decoder_create(8000, 1, &oe);
		if (!c->dec)
			return -ENOMEM;
	}
	sb_leg_set_callbacks(c->leg, on_rtp, on_leg_event, c);
	memset(&d, 0, sizeof(d));
	if ((err = sb_leg_get_local(c->leg, true, &d)) < 0)
		return err;
	if (A.o.opus)
		d.codecs[0] = (sb_md_codec){ .pt = 111, .name = "opus",
					     .clock = 48000, .channels = 2,
					     .fmtp = "minptime=10;useinbandfec=1" };
	else
		d.codecs[0] = (sb_md_codec){ .pt = 0, .name = "PCMU",
					     .clock = 8000, .channels = 1 };
	d.n_codecs = 1;
	d.dir = SB_MD_DIR_SENDRECV;
	d.ptime = 20;
	g_strlcpy(d.mid, "0", sizeof(d.mid));
	d.bundled = true;
	sb_sdp_origin_init(&o, "-", "127.0.0.1");
	if ((err = sb_sdp_write_offer(&o, &d, &sdp)) < 0)
		return err;
	c->st = C_INVITING;
	A.in_flight++;
	if (A.ng)
		return ng_start(c, sdp);
	send_invite(c, sdp);
	return 0;
}

static void pump_setups(void)
{
	while (A.ph == P_SETUP && A.in_flight < A.o.setup_window &&
	       A.next_call < A.n_calls) {
		call *c = &A.calls[A.next_call++];
		int err = start_media_call(c);
		if (err < 0) {
			if (c->st == C_IDLE)
				c->st = C_INVITING, A.in_flight++;
			call_fail(c, "could not create the WebRTC leg/offer");
		}
	}
}

static void on_invite_2xx(call *c, su_home_t *home, const sip_t *sip)
{
	sb_sdp *ans = NULL;
	take_dialog(c, home, sip);
	send_in_dialog(c, "ACK", 1);
	c->st = C_ANSWERED;
	if (!sip->sip_payload ||
	    sb_sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len,
			 65536, &ans) < 0) {
		call_fail(c, "2xx without a usable SDP answer");
		return;
	}
	if (sb_leg_set_remote(c->leg, false, &ans->audio) < 0)
		call_fail(c, "answer refused by the WebRTC leg");
	sb_sdp_free(ans);
}

/* ------------------------------------------------------- sig modes */

static void sig_next(call *c)
{
	if (A.ph != P_WARMUP && A.ph != P_WINDOW) {
		c->st = C_DONE;
		return;
	}
	c->in_window = A.ph == P_WINDOW;
	c->st = C_INVITING;
	if (A.o.mode == SBL_MODE_REGISTER)
		send_register(c);
	else
		send_invite(c, NULL);
}

static void sig_done(call *c, bool ok)
{
	if (!ok)
		A.sig_fail++;
	else if (c->in_window && A.ph == P_WINDOW)
		A.sig_ok_w++;
	sig_next(c);
}

static void sig_response(call *c, su_home_t *home, const sip_t *sip)
{
	int st = sip->sip_status->st_status;
	sip_method_t m = sip->sip_cseq->cs_method;
	if (st < 200)
		return;
	if (m == sip_method_register) {
		if (c->in_window && A.ph == P_WINDOW)
			sbl_hist_add(&A.lat, sbl_now_us() - c->t_start);
		sig_done(c, st < 300);
	} else if (m == sip_method_invite && c->st == C_INVITING) {
		if (st >= 300) {
			sig_done(c, false);
			return;
		}
		if (c->in_window && A.ph == P_WINDOW)
			sbl_hist_add(&A.lat, sbl_now_us() - c->t_start);
		take_dialog(c, home, sip);
		send_in_dialog(c, "ACK", 1);
		send_in_dialog(c, "BYE", 2);
		c->st = C_BYE_SENT;
	} else if (m == sip_method_bye && c->st == C_BYE_SENT) {
		sig_done(c, st < 300);
	}
}

/* ------------------------------------------------------- dispatch */

static void media_response(call *c, su_home_t *home, const sip_t *sip)
{
	int st = sip->sip_status->st_status;
	sip_method_t m = sip->sip_cseq->cs_method;
	if (st < 200)
		return;
	if (m == sip_method_invite) {
		if (st >= 300) {
			call_fail(c, st == 488 ? "INVITE rejected: 488"
				  : st == 503 ? "INVITE rejected: 503"
				  : "INVITE rejected");
			return;
		}
		if (c->st == C_INVITING)
			on_invite_2xx(c, home, sip);
		else if (c->to)
			send_in_dialog(c, "ACK", 1); /* retransmitted 2xx */
	} else if (m == sip_method_bye && c->st == C_BYE_SENT) {
		c->st = C_DONE;
		A.n_done++;
	}
}

/* ------------------------------------------------------- chaos
 * --chaos SEED: --calls slots, each running media calls one after the
 * other, each with its own WebSocket, until --total calls were tried or
 * --max-time passed. Every call draws a fate (enum fate); the UAS learns
 * its part from the Request-URI user (sbload_uas.c). The outcome of each
 * call is counted; anything unexpected is a failure, by kind. */

static int64_t rnd_ms(unsigned lo, unsigned hi)
{
	return (int64_t)g_rand_int_range(A.rnd, (gint32)lo, (gint32)hi + 1) * 1000;
}

static void chaos_start(call *c)
{
	double p = g_rand_double(A.rnd);
	char user[32] = "bench";
	int64_t now = sbl_now_us();
	unsigned uas_ms = (unsigned)g_rand_int_range(A.rnd, 200, (gint32)A.o.hold_ms + 1);

	memset(c->ruri, 0, sizeof(c->ruri));
	c->idx = A.attempted++;
	c->cancel_sent = false;
	c->pkt = 0;
	if ((p -= A.o.p_cancel) < 0)
		c->fate = F_CANCEL;
	else if ((p -= A.o.p_drop / 2) < 0)
		c->fate = F_DROP_EARLY;
	else if ((p -= A.o.p_drop / 2) < 0)
		c->fate = F_DROP_UP;
	else if ((p -= A.o.p_uas_bye * 3 / 4) < 0)
		c->fate = F_UAS_BYE;
	else if ((p -= A.o.p_uas_bye / 4) < 0)
		c->fate = F_BOTH_BYE;
	else if ((p -= A.o.p_busy) < 0)
		c->fate = F_BUSY;
	else
		c->fate = F_CALLER_BYE;
	switch (c->fate) {
	case F_CANCEL:
	case F_DROP_EARLY:   /* the 200 comes 0..300 ms after the INVITE */
		snprintf(user, sizeof(user), "delay-%u",
			 (unsigned)g_rand_int_range(A.rnd, 0, 301));
		break;
	case F_UAS_BYE:
	case F_BOTH_BYE:
		snprintf(user, sizeof(user), "bye-%u", uas_ms);
		break;
	case F_BUSY:
		g_strlcpy(user, "busy", sizeof(user));
		break;
	default:
		break;
	}
	/* both sides hang up within ±40 ms of each other */
	c->t_act = c->fate == F_BOTH_BYE ? (int64_t)uas_ms * 1000 + rnd_ms(0, 80) - 40000
		: c->fate == F_UAS_BYE ? (int64_t)uas_ms * 1000 + 10 * G_USEC_PER_SEC
		: rnd_ms(100, A.o.hold_ms);   /* relative until the call is up */
	snprintf(c->ruri, sizeof(c->ruri), "sip:%s@127.0.0.1:%d", user, A.o.uas_port);
	c->st = C_CONNECTING;
	c->t_state = now;
	c->ws = sbl_ws_connect(A.o.ws_host, A.o.ws_port, A.o.ws_path, c->slot);
	if (!c->ws)
		call_fail(c, "WebSocket connect failed");
}

static void chaos_end(call *c, unsigned *counter)
{
	if (counter)
		(*counter)++;
	if (c->st == C_INVITING || c->st == C_ANSWERED)
		A.in_flight--;
	c->st = C_DONE;
	c->t_state = sbl_now_us();
}

/* WebSocket up: send the INVITE; down (the gateway closed it): the call
 * is over, a failure unless we are ending it anyway. */
static void chaos_ws_state(sbl_ws *ws, bool up)
{
	call *c = &A.calls[sbl_ws_id(ws)];
	if (c->ws != ws)
		return;
	if (!up) {
		c->ws = NULL;
		sbl_ws_close(ws);
		call_fail(c, "WebSocket closed by the gateway");
		return;
	}
	if (c->st != C_CONNECTING)
		return;
	if (start_media_call(c) < 0) {
		call_fail(c, "could not create the WebRTC leg/offer");
		return;
	}
	c->t_state = sbl_now_us();
	if (c->fate == F_CANCEL || c->fate == F_DROP_EARLY)
		c->t_act = c->t_state + rnd_ms(0, 300);
}

/* The leg is up: the hold starts now (t_act was relative). A CANCEL or
 * an early drop that came too late: the call is hung up / dropped. */
static void chaos_on_up(call *c)
{
	c->t_state = sbl_now_us();
	if (c->fate == F_CANCEL)
		c->t_act = c->t_state + rnd_ms(100, A.o.hold_ms);
	else if (c->fate == F_DROP_EARLY)
		c->t_act = c->t_state;
	else
		c->t_act += c->t_state;
}

static void send_ack_non2xx(call *c, su_home_t *home, const sip_t *sip)
{
	GString *s = request_head_br(c, "ACK", c->ruri,
		sip_header_as_string(home, (const sip_header_t *)sip->sip_to),
		1, true);
	g_string_append(s, "Content-Length: 0\r\n\r\n");
	send_text(c, s);
}

static void chaos_bye(call *c)
{
	send_in_dialog(c, "BYE", 2);
	c->st = C_BYE_SENT;
	c->t_state = sbl_now_us();
}

static void chaos_invite_final(call *c, su_home_t *home, const sip_t *sip)
{
	int st = sip->sip_status->st_status;
	if (st >= 300) {
		send_ack_non2xx(c, home, sip);
		if (c->st != C_INVITING)
			return;
		if (st == 487 && c->cancel_sent)
			chaos_end(c, &A.cancelled);
		else if (st == 486 && c->fate == F_BUSY)
			chaos_end(c, &A.busy);
		else
			call_fail(c, st == 487 ? "487 without a CANCEL"
				  : st == 503 ? "INVITE rejected: 503"
				  : st == 486 ? "INVITE rejected: 486"
				  : st == 488 ? "INVITE rejected: 488"
				  : st == 408 ? "INVITE rejected: 408"
				  : st == 480 ? "INVITE rejected: 480"
				  : st == 500 ? "INVITE rejected: 500"
				  : "INVITE rejected: other");
		return;
	}
	if (c->st != C_INVITING) {
		if (c->to)
			send_in_dialog(c, "ACK", 1);   /* retransmitted 2xx */
		return;
	}
	A.answered++;
	if (c->cancel_sent) {        /* the 200 won the race: ACK, BYE */
		A.cancel_2xx++;
		A.in_flight--;
		take_dialog(c, home, sip);
		send_in_dialog(c, "ACK", 1);
		chaos_bye(c);
		return;
	}
	on_invite_2xx(c, home, sip);
}

static void chaos_response(call *c, su_home_t *home, const sip_t *sip)
{
	sip_method_t m = sip->sip_cseq->cs_method;
	if (sip->sip_status->st_status < 200)
		return;
	if (m == sip_method_invite)
		chaos_invite_final(c, home, sip);
	else if (m == sip_method_bye && c->st == C_BYE_SENT)
		chaos_end(c, sip->sip_status->st_status == 200 ? &A.bye_ok
			  : &A.bye_other);
}

/* A BYE from the gateway: the SIP side hung up. */
static void chaos_peer_bye(call *c)
{
	if (c->st == C_DONE || c->st == C_FAILED)
		return;
	if (c->fate == F_UAS_BYE || c->fate == F_BOTH_BYE)
		chaos_end(c, &A.uas_bye);
	else
		call_fail(c, "unexpected BYE from the gateway");
}

static void chaos_drop(call *c, unsigned *counter)
{
	sbl_ws_abort(c->ws);
	c->ws = NULL;
	chaos_end(c, counter);
}

/* The call's scripted action and time limits, every 20 ms. */
static void chaos_step(call *c, int64_t now)
{
	int64_t in = now - c->t_state;
	switch (c->st) {
	case C_CONNECTING:
		if (in > 10 * G_USEC_PER_SEC)
			call_fail(c, "WebSocket did not open");
		break;
	case C_INVITING:
		if (c->fate == F_CANCEL && !c->cancel_sent && now >= c->t_act) {
			g_autofree char *to = g_strdup_printf("<%s>", c->ruri);
			GString *s = request_head_br(c, "CANCEL", c->ruri, to, 1,
						     true);
			g_string_append(s, "Content-Length: 0\r\n\r\n");
			send_text(c, s);
			c->cancel_sent = true;
		}
		if (c->fate == F_DROP_EARLY && now >= c->t_act)
			chaos_drop(c, &A.dropped_early);
		else if (in > SETUP_TIMEOUT_US)
			call_fail(c, c->cancel_sent ? "no final response after CANCEL"
				  : "no final response");
		break;
	case C_ANSWERED:
		if (c->fate == F_DROP_EARLY && now >= c->t_act)
			chaos_drop(c, &A.dropped_early);   /* during ICE/DTLS */
		else if (in > SETUP_TIMEOUT_US)
			call_fail(c, "ICE/DTLS did not complete");
		break;
	case C_UP:
		if (now < c->t_act)
			break;
		if (c->fate == F_DROP_UP || c->fate == F_DROP_EARLY)
			chaos_drop(c, &A.dropped_up);
		else if (c->fate == F_UAS_BYE) {
			call_fail(c, "BYE of the SIP side never came");
		} else
			chaos_bye(c);
		break;
	case C_BYE_SENT:
		if (in > 10 * G_USEC_PER_SEC)
			call_fail(c, "no response to BYE");
		break;
	default:
		break;
	}
}

/* A finished call leaves its slot: leg freed, WebSocket closed. */
static void chaos_recycle(call *c)
{
	g_clear_pointer(&c->leg, sb_leg_free);
	if (c->ws)
		sbl_ws_close(c->ws);
	c->ws = NULL;
	if (c->call_id[0])
		g_hash_table_remove(A.by_cid, c->call_id);
	c->call_id[0] = 0;
	g_clear_pointer(&c->to, g_free);
	g_clear_pointer(&c->target, g_free);
	if (c->routes)
		g_ptr_array_set_size(c->routes, 0);
	c->st = C_IDLE;
}

static gboolean on_chaos_timer(gpointer ud)
{
	int64_t now = sbl_now_us(), in = now - A.t_begin;
	bool more = A.attempted < A.o.total && in < A.o.max_time_s * G_USEC_PER_SEC;
	unsigned busy_slots = 0;
	(void)ud;
	for (unsigned i = 0; i < A.n_calls; i++) {
		call *c = &A.calls[i];
		chaos_step(c, now);
		/* the DTLS alert / close frame of a finished call goes out
		 * before its slot is reused */
		if ((c->st == C_DONE || c->st == C_FAILED) &&
		    now - c->t_state > 50000)
			chaos_recycle(c);
		if (c->st == C_IDLE && more && A.attempted < A.o.total)
			chaos_start(c);
		busy_slots += c->st != C_IDLE;
	}
	if ((!more && !busy_slots) ||
	    in > (A.o.max_time_s + 30) * G_USEC_PER_SEC) {
		A.ph = P_END;
		g_main_loop_quit(A.loop);
	}
	return G_SOURCE_CONTINUE;
}

static void chaos_report(double wall_s)
{
	unsigned unfinished = 0;
	for (unsigned i = 0; i < A.n_calls; i++)
		unfinished += A.calls[i].st != C_IDLE && A.calls[i].st != C_DONE &&
			      A.calls[i].st != C_FAILED;
	printf("RESULT mode=chaos ok=%d seed=%" G_GINT64_FORMAT " attempted=%u"
	       " answered=%u up=%u bye_ok=%u bye_other=%u cancelled=%u"
	       " cancel_lost_race_2xx=%u busy=%u uas_bye=%u ws_dropped_up=%u"
	       " ws_dropped_early=%u failed=%u unfinished=%u"
	       " rtp_sent=%" G_GUINT64_FORMAT " rtp_recv=%" G_GUINT64_FORMAT
	       " crosstalk=%" G_GUINT64_FORMAT " bad=%" G_GUINT64_FORMAT
	       " wall_s=%.1f\n", unfinished == 0, A.o.chaos_seed, A.attempted,
	       A.answered, A.n_up, A.bye_ok, A.bye_other, A.cancelled,
	       A.cancel_2xx, A.busy, A.uas_bye, A.dropped_up, A.dropped_early,
	       A.n_failed, unfinished, A.sent, A.recv, A.crosstalk, A.bad, wall_s);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, A.fails);
	while (g_hash_table_iter_next(&it, &k, &v))
		printf("FAILURES kind=\"%s\" count=%u\n", (const char *)k,
		       GPOINTER_TO_UINT(v));
}

/* A request from the gateway (a BYE or OPTIONS toward "the browser"):
 * answer 200 so nothing retransmits; a BYE ends that call. */
static void answer_request(sbl_ws *ws, su_home_t *home, const sip_t *sip)
{
	GString *s = g_string_new("SIP/2.0 200 OK\r\n");
	for (const sip_via_t *v = sip->sip_via; v; v = v->v_next)
		g_string_append_printf(s, "Via: %s\r\n",
			sip_header_as_string(home, (const sip_header_t *)v));
	g_string_append_printf(s, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
			       "CSeq: %s\r\nContent-Length: 0\r\n\r\n",
			       sip_header_as_string(home, (const sip_header_t *)sip->sip_from),
			       sip_header_as_string(home, (const sip_header_t *)sip->sip_to),
			       sip->sip_call_id->i_id,
			       sip_header_as_string(home, (const sip_header_t *)sip->sip_cseq));
	sbl_ws_send(ws, s->str, s->len);
	g_string_free(s, TRUE);
	call *c = g_hash_table_lookup(A.by_cid, sip->sip_call_id->i_id);
	if (c && sip->sip_request->rq_method == sip_method_bye) {
		if (A.o.chaos)
			chaos_peer_bye(c);
		else
			call_fail(c, "BYE from the gateway");
	}
}

static void on_ws_msg(sbl_ws *ws, const char *buf, size_t len, void *ud)
{
	msg_t *m = msg_make(sip_default_mclass(), 0, buf, len);
	sip_t *sip = m ? sip_object(m) : NULL;
	(void)ud;
	if (!sip || msg_has_error(m) || !sip->sip_call_id || !sip->sip_cseq ||
	    !sip->sip_from || !sip->sip_to || !sip->sip_via) {
		A.bad++;
		goto out;
	}
	if (sip->sip_request) {
		if (sip->sip_request->rq_method != sip_method_ack)
			answer_request(ws, msg_home(m), sip);
		goto out;
	}
	call *c = g_hash_table_lookup(A.by_cid, sip->sip_call_id->i_id);
	if (!c || !sip->sip_status)
		goto out;
	if (A.o.chaos)
		chaos_response(c, msg_home(m), sip);
	else if (A.o.mode == SBL_MODE_MEDIA)
		media_response(c, msg_home(m), sip);
	else
		sig_response(c, msg_home(m), sip);
out:
	if (m)
		msg_destroy(m);
}

static void on_ws_state(sbl_ws *ws, bool up, void *ud)
{
	(void)ud;
	if (A.o.chaos) {
		chaos_ws_state(ws, up);
		return;
	}
	if (up) {
		A.conns_up++;
		return;
	}
	A.conns_lost++;
	unsigned id = sbl_ws_id(ws);
	A.conns[id] = NULL;
	sbl_ws_close(ws);
	if (A.ph < P_BYE)
		fprintf(stderr, "sbload: ws %u closed early\n", id);
	for (unsigned i = 0; i < A.n_calls; i++)
		if (A.calls[i].ws == ws) {
			A.calls[i].ws = NULL;
			call_fail(&A.calls[i], "WebSocket closed");
		}
}

/* ------------------------------------------------------- phases */

static bool setups_finished(void)
{
	return A.next_call == A.n_calls && A.in_flight == 0;
}

/* --metrics: the daemon's residence histogram, media mode only. Blocking
 * (the admin endpoint answers within ms), hence called just outside the
 * window: before its start, after its end. */
static void scrape_residence(sbl_prom_hist *h, int *rc)
{
	if (!A.o.metrics[0] || A.o.mode != SBL_MODE_MEDIA) {
		*rc = -ENOENT;
		return;
	}
	*rc = sbl_prom_scrape(A.o.metrics, RESIDENCE, SCRAPE_MS, h);
	if (*rc < 0)
		fprintf(stderr, "sbload: %s: %s\n", A.o.metrics, g_strerror(-*rc));
}

static void window_open(void)
{
	scrape_residence(&A.res0, &A.res0_rc);
	/* the scrape's stall is ours and before the window: not a gap */
	A.last_tick = 0;
	A.w_start = sbl_now_us();
	/* the marker (and so the one-way figure) survives relaying only */
	if (!A.o.opus)
		sbl_uas_set_window(A.uas, A.w_start, INT64_MAX);
	A.w_end = INT64_MAX;
	A.self_cpu0 = sbl_self_cpu_s();
	A.gw_cpu0 = A.o.gw_pid ? sbl_proc_cpu_s(A.o.gw_pid) : -1;
	A.gw_media0 = A.o.gw_pid ? sbl_proc_threads_cpu_s(A.o.gw_pid, "sb-media") : -1;
	A.uas_rx0 = A.uas ? sbl_uas_counters_get(A.uas)->rtp_rx : 0;
	A.client_rx0 = A.recv;
}

static void window_close(void)
{
	A.w_end = sbl_now_us();
	if (!A.o.opus)
		sbl_uas_set_window(A.uas, A.w_start, A.w_end);
	A.self_cpu1 = sbl_self_cpu_s();
	A.gw_cpu1 = A.o.gw_pid ? sbl_proc_cpu_s(A.o.gw_pid) : -1;
	A.gw_media1 = A.o.gw_pid ? sbl_proc_threads_cpu_s(A.o.gw_pid, "sb-media") : -1;
	A.uas_rx1 = A.uas ? __atomic_load_n(&sbl_uas_counters_get(A.uas)->rtp_rx,
					    __ATOMIC_RELAXED) : 0;
	A.client_rx1 = A.recv;
	A.rss_after = A.o.gw_pid ? sbl_proc_rss_kb(A.o.gw_pid) : -1;
	scrape_residence(&A.res1, &A.res1_rc);
}

static void send_byes(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < A.n_calls; i++) {
		call *c = &A.calls[i];
		if (c->st == C_UP && A.ng) {
			char ftag[16];
			snprintf(ftag, sizeof(ftag), "f%u", c->idx);
			c->st = C_BYE_SENT;
			sbl_ng_delete(A.ng, c->call_id, ftag, ng_on_delete,
				      GUINT_TO_POINTER(c->idx));
			n++;
		} else if (c->st == C_UP) {
			send_in_dialog(c, "BYE", 2);
			c->st = C_BYE_SENT;
			n++;
		}
	}
	if (A.o.verbose)
		fprintf(stderr, "sbload: %u BYEs sent\n", n);
}

static bool all_ended(void)
{
	for (unsigned i = 0; i < A.n_calls; i++)
		if (A.calls[i].st != C_DONE && A.calls[i].st != C_FAILED &&
		    A.calls[i].st != C_IDLE)
			return false;
	return true;
}

static void set_phase(phase p)
{
	A.ph = p;
	A.t_phase = sbl_now_us();
	if (A.o.verbose)
		fprintf(stderr, "sbload: phase %d at %.3f s (up %u, failed %u)\n",
			p, (A.t_phase - A.t_first_invite) / 1e6, A.n_up,
			A.n_failed);
	if (p == P_SETUP)
		pump_setups();
	if (p == P_WARMUP && A.o.mode != SBL_MODE_MEDIA)
		for (unsigned i = 0; i < A.n_calls; i++)
			sig_next(&A.calls[i]);
	if (p == P_WINDOW)
		window_open();
	if (p == P_GRACE)
		window_close();
	if (p == P_BYE && A.o.mode == SBL_MODE_MEDIA)
		send_byes();
	if (p == P_END)
		g_main_loop_quit(A.loop);
}

static void check_setup_timeouts(int64_t now)
{
	for (unsigned i = 0; i < A.n_calls; i++) {
		call *c = &A.calls[i];
		if ((c->st == C_INVITING || c->st == C_ANSWERED) &&
		    now - c->t_start > SETUP_TIMEOUT_US)
			call_fail(c, c->st == C_INVITING ? "no final response"
				  : "ICE/DTLS did not complete");
	}
}

/* The run's clock: every 20 ms, move on when a phase is over. */
static gboolean on_phase_timer(gpointer ud)
{
	int64_t now = sbl_now_us(), in = now - A.t_phase;
	(void)ud;
	switch (A.ph) {
	case P_CONNECT:
		if (A.conns_up + A.conns_lost == A.n_conns) {
			A.rss_before = A.o.gw_pid ? sbl_proc_rss_kb(A.o.gw_pid) : -1;
			set_phase(A.o.mode == SBL_MODE_MEDIA ? P_SETUP : P_WARMUP);
		} else if (in > 20 * G_USEC_PER_SEC) {
			A.fail_reason = "WebSocket connections did not open";
			set_phase(P_END);
		}
		break;
	case P_SETUP:
		check_setup_timeouts(now);
		pump_setups();
		if (setups_finished())
			set_phase(P_WARMUP);
		break;
	case P_WARMUP:
		if (in >= A.o.warmup_s * G_USEC_PER_SEC)
			set_phase(P_WINDOW);
		break;
	case P_WINDOW:
		if (in >= A.o.duration_s * G_USEC_PER_SEC)
			set_phase(P_GRACE);
		break;
	case P_GRACE:
		/* packets of the window still in flight, and sig
		 * transactions finishing */
		if (in >= 500000 && (A.o.mode == SBL_MODE_MEDIA || all_ended()))
			set_phase(P_BYE);
		else if (in >= 10 * G_USEC_PER_SEC)
			set_phase(P_BYE);
		break;
	case P_BYE:
		if (all_ended() || in >= 10 * G_USEC_PER_SEC)
			set_phase(P_END);
		break;
	case P_END:
		break;
	}
	return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------- report */

/* " key=VALUE" in µs: "-" without a value, ">BOUND" for a quantile
 * beyond the last finite bound of the daemon's histogram. */
static void print_us(const char *key, double us, bool have, bool beyond)
{
	if (!have || isnan(us))
		printf(" %s=-", key);
	else
		printf(" %s=%s%.1f", key, beyond ? ">" : "", us);
}

/* down_*: generator -> daemon -> echo, from the echo's histogram (the
 * UAS thread still runs until teardown: a copy under its lock). "-" in
 * Opus runs, which carry no marker. */
static void report_down(void)
{
	bool measured = A.uas && !A.o.opus;
	if (measured)
		sbl_uas_down_get(A.uas, &A.down);
	bool have = A.down.n > 0;
	print_us("down_p50_us", sbl_hist_quantile(&A.down, .5), have, false);
	print_us("down_p99_us", sbl_hist_quantile(&A.down, .99), have, false);
	if (measured)
		printf(" down_n=%" G_GUINT64_FORMAT, A.down.n);
	else
		printf(" down_n=-");
}

/* gw_res_*: the daemon's residence histogram, end scrape minus start
 * scrape; "-" without --metrics, after a failed scrape, or when the
 * daemon does not expose the family. */
static void report_residence(void)
{
	sbl_prom_hist d;
	bool b50 = false, b99 = false;
	bool have = A.res0_rc == 0 && A.res1_rc == 0 && A.res1.n > 0;
	if (have)
		sbl_prom_diff(&A.res0, &A.res1, &d);
	double p50 = have ? sbl_prom_quantile(&d, .5, &b50) * 1e6 : NAN;
	double p99 = have ? sbl_prom_quantile(&d, .99, &b99) * 1e6 : NAN;
	print_us("gw_res_p50_us", p50, have, b50);
	print_us("gw_res_p99_us", p99, have, b99);
	if (have)
		printf(" gw_res_n=%.0f", sbl_prom_count(&d));
	else
		printf(" gw_res_n=-");
}

static void report(double wall_s)
{
	double w = (A.w_end - A.w_start) / 1e6;
	double gw = A.gw_cpu0 >= 0 && A.gw_cpu1 >= 0
		? 100.0 * (A.gw_cpu1 - A.gw_cpu0) / w : -1;
	double self = 100.0 * (A.self_cpu1 - A.self_cpu0) / w;
	double media = A.gw_media0 >= 0 && A.gw_media1 >= 0
		? 100.0 * (A.gw_media1 - A.gw_media0) / w : -1;
	const char *mode = A.o.mode == SBL_MODE_MEDIA ? "media"
		: A.o.mode == SBL_MODE_REGISTER ? "register" : "call-nosdp";

	if (!A.w_start || !(w > 0)) {
		printf("RESULT mode=%s ok=0 reason=\"%s\"\n", mode,
		       A.fail_reason ? A.fail_reason : "no measurement window");
		return;
	}
	if (A.o.mode != SBL_MODE_MEDIA) {
		printf("RESULT mode=%s ok=1 clients=%u window_s=%.2f done=%" G_GUINT64_FORMAT
		       " per_s=%.1f fail=%" G_GUINT64_FORMAT
		       " lat_p50_ms=%.3f lat_p99_ms=%.3f gw_cpu_pct=%.1f gen_cpu_pct=%.1f"
		       " gw_rss_kb=%ld\n", mode, A.n_calls, w, A.sig_ok_w,
		       A.sig_ok_w / w, A.sig_fail, sbl_hist_quantile(&A.lat, .5) / 1e3,
		       sbl_hist_quantile(&A.lat, .99) / 1e3, gw, self, A.rss_after);
		return;
	}
	/* Opus: a late marker stands for its second's packets; under heavy
	 * loss that could exceed what arrived */
	A.late_w = MIN(A.late_w, A.recv_w);
	double loss = A.sent_w ? 100.0 * (double)(A.sent_w - MIN(A.recv_w, A.sent_w)) /
			(double)A.sent_w : 100.0;
	double setup_s = A.t_last_up > A.t_first_invite
		? (A.t_last_up - A.t_first_invite) / 1e6 : 0;
	uint64_t uas = A.uas_rx1 - A.uas_rx0, cli = A.client_rx1 - A.client_rx0;
	long rss_per_call = A.n_up && A.rss_after > 0 && A.rss_before > 0
		? (A.rss_after - A.rss_before) / (long)A.n_up : -1;
	printf("RESULT mode=media ok=1 codec=%s calls=%u up=%u failed=%u"
	       " setup_s=%.3f setups_per_s=%.1f setup_p50_ms=%.2f setup_p99_ms=%.2f"
	       " window_s=%.2f sent=%" G_GUINT64_FORMAT " recv=%" G_GUINT64_FORMAT
	       " loss_pct=%.3f late=%" G_GUINT64_FORMAT
	       " rtt_p50_ms=%.3f rtt_p99_ms=%.3f rtt_max_ms=%.3f"
	       " relayed_pps=%.0f gw_cpu_pct=%.1f gw_media_cpu_pct=%.1f gen_cpu_pct=%.1f"
	       " gw_rss_before_kb=%ld gw_rss_kb=%ld rss_per_call_kb=%ld"
	       " skipped=%" G_GUINT64_FORMAT " send_err=%" G_GUINT64_FORMAT
	       " crosstalk=%" G_GUINT64_FORMAT " bad=%" G_GUINT64_FORMAT
	       " tick_gap_max_ms=%.1f tick_gaps_20ms=%" G_GUINT64_FORMAT
	       " bye_ok=%u markers=%" G_GUINT64_FORMAT " markers_missed=%" G_GUINT64_FORMAT
	       " wall_s=%.1f",
	       A.o.opus ? "opus" : "pcmu", A.n_calls, A.n_up, A.n_failed, setup_s,
	       setup_s > 0 ? A.n_up / setup_s : 0,
	       sbl_hist_quantile(&A.setup, .5) / 1e3,
	       sbl_hist_quantile(&A.setup, .99) / 1e3, w, A.sent_w, A.recv_w,
	       loss, A.late_w, sbl_hist_quantile(&A.lat, .5) / 1e3,
	       sbl_hist_quantile(&A.lat, .99) / 1e3, A.lat.max_us / 1e3,
	       (uas + cli) / w, gw, media, self, A.rss_before, A.rss_after, rss_per_call,
	       A.skipped, A.send_err, A.crosstalk, A.bad,
	       A.max_tick_gap / 1e3, A.tick_gaps_20ms, A.n_done, A.markers_w,
	       A.markers_missed_w, wall_s);
	report_down();
	report_residence();
	putchar('\n');
}

/* ------------------------------------------------------- main */

static gboolean parse_mode(const char *n, const char *v, gpointer d,
			   GError **e)
{
	(void)n, (void)d;
	if (!strcmp(v, "media"))
		A.o.mode = SBL_MODE_MEDIA;
	else if (!strcmp(v, "register"))
		A.o.mode = SBL_MODE_REGISTER;
	else if (!strcmp(v, "call"))
		A.o.mode = SBL_MODE_CALL_NOSDP;
	else {
		g_set_error(e, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--mode: media, register or call");
		return FALSE;
	}
	return TRUE;
}

static int parse_args(int argc, char **argv)
{
	/* GOption overwrites string options without freeing what was there:
	 * defaults are applied after parsing */
	g_autofree char *ws = NULL;
	g_autofree char *target = NULL;
	g_autofree char *domain = NULL;
	g_autofree char *codec = NULL;
	g_autofree char *ng = NULL;
	g_autofree char *metrics = NULL;
	int calls = 100, per_ws = 1, window = 50, late = 60, echo = 8, tick = 1000;
	int total = 300, hold = 3000;
	gint64 seed = -1;
	double dur = 10, warm = 1, max_time = 150;
	double p_cancel = 0.15, p_drop = 0.15, p_uas_bye = 0.2, p_busy = 0.05;
	GOptionEntry ent[] = {
		{ "ws", 0, 0, G_OPTION_ARG_STRING, &ws, "gateway WebSocket URL (ws://IP:PORT/PATH)", "URL" },
		{ "target", 0, 0, G_OPTION_ARG_STRING, &target, "Request-URI of the INVITEs (default sip:bench@127.0.0.1:UAS_PORT)", "URI" },
		{ "domain", 0, 0, G_OPTION_ARG_STRING, &domain, "From/To/REGISTER domain", "D" },
		{ "mode", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)parse_mode, "media (default), register, call (INVITE without SDP)", "M" },
		{ "codec", 0, 0, G_OPTION_ARG_STRING, &codec, "media: pcmu (relay, default) or opus (Opus only offered: the gateway transcodes to the UAS's PCMU)", "C" },
		{ "calls", 'n', 0, G_OPTION_ARG_INT, &calls, "media: concurrent calls; register/call: WebSocket clients (default 100)", "N" },
		{ "calls-per-ws", 0, 0, G_OPTION_ARG_INT, &per_ws, "media: calls sharing one WebSocket (default 1)", "K" },
		{ "tick-us", 0, 0, G_OPTION_ARG_INT, &tick, "media: send timer period, µs (default 1000; below, a timerfd: smaller bursts)", "US" },
		{ "window", 0, 0, G_OPTION_ARG_INT, &window, "media: call set-ups in flight at most (default 50)", "W" },
		{ "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &dur, "measurement window, seconds (default 10)", "S" },
		{ "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &warm, "seconds between the last set-up and the window (default 1)", "S" },
		{ "late-ms", 0, 0, G_OPTION_ARG_INT, &late, "round trip above which a packet is late (default 60)", "MS" },
		{ "uas-port", 0, 0, G_OPTION_ARG_INT, &A.o.uas_port, "run the SIP UAS + RTP echo on 127.0.0.1:PORT (0 = none)", "PORT" },
		{ "echo-socks", 0, 0, G_OPTION_ARG_INT, &echo, "RTP echo sockets shared by the calls (default 8)", "N" },
		{ "ng", 0, 0, G_OPTION_ARG_STRING, &ng, "media: no SIP; rtpengine's NG control socket at IP:PORT bridges each WebRTC leg to the RTP echo (offer/answer/delete)", "IP:PORT" },
		{ "gw-pid", 0, 0, G_OPTION_ARG_INT, &A.o.gw_pid, "daemon PID: CPU and RSS from /proc", "PID" },
		{ "metrics", 0, 0, G_OPTION_ARG_STRING, &metrics, "media: the daemon's Prometheus endpoint (http://127.0.0.1:PORT/metrics), scraped at both ends of the window for its " RESIDENCE " histogram (gw_res_*)", "URL" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &A.o.verbose, "progress on stderr", NULL },
		{ "chaos", 0, 0, G_OPTION_ARG_INT64, &seed, "media calls one after the other on --calls slots, each ending at random (seed of the draws; needs --uas-port)", "SEED" },
		{ "total", 0, 0, G_OPTION_ARG_INT, &total, "chaos: calls in all (default 300)", "N" },
		{ "max-time", 0, 0, G_OPTION_ARG_DOUBLE, &max_time, "chaos: no new call after S seconds; gives up 30 s later (default 150)", "S" },
		{ "hold-ms", 0, 0, G_OPTION_ARG_INT, &hold, "chaos: longest hold before a hang-up (default 3000)", "MS" },
		{ "p-cancel", 0, 0, G_OPTION_ARG_DOUBLE, &p_cancel, "chaos: share of calls CANCELled 0..300 ms after the INVITE, racing a 200 held 0..300 ms (0.15)", "P" },
		{ "p-drop", 0, 0, G_OPTION_ARG_DOUBLE, &p_drop, "chaos: share whose WebSocket drops without BYE, half during set-up, half mid-call (0.15)", "P" },
		{ "p-uas-bye", 0, 0, G_OPTION_ARG_DOUBLE, &p_uas_bye, "chaos: share hung up by the SIP side, a quarter of them with our BYE crossing it (0.2)", "P" },
		{ "p-busy", 0, 0, G_OPTION_ARG_DOUBLE, &p_busy, "chaos: share answered 486 by the SIP side (0.05)", "P" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	g_autoptr(GOptionContext) oc = g_option_context_new("- sipbridge load generator");
	g_autoptr(GError) err = NULL;
	g_option_context_add_main_entries(oc, ent, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, "sbload: %s\n", err->message);
		return -EINVAL;
	}
	if (codec && strcmp(codec, "pcmu") && strcmp(codec, "opus")) {
		fprintf(stderr, "sbload: --codec pcmu or opus\n");
		return -EINVAL;
	}
	A.o.opus = codec && !strcmp(codec, "opus");
	if (ng) {
		if (A.o.mode != SBL_MODE_MEDIA || seed >= 0) {
			fprintf(stderr, "sbload: --ng works in media mode without --chaos\n");
			return -EINVAL;
		}
		g_strlcpy(A.o.ng, ng, sizeof(A.o.ng));
	}
	if (metrics && strncmp(metrics, "http://", 7)) {
		fprintf(stderr, "sbload: --metrics http://IP:PORT/PATH\n");
		return -EINVAL;
	}
	if (metrics)
		g_strlcpy(A.o.metrics, metrics, sizeof(A.o.metrics));
	if (!ws)
		ws = g_strdup("ws://127.0.0.1:8080/");
	if (!domain)
		domain = g_strdup("sipbridge.test");
	if (sscanf(ws, "ws://%63[^:/]:%d%127s", A.o.ws_host, &A.o.ws_port,
		   A.o.ws_path) < 2 || calls < 1 || per_ws < 1 || window < 1 ||
	    dur <= 0 || echo < 1 || (A.o.mode == SBL_MODE_MEDIA && !A.o.uas_port && !target && !ng)) {
		fprintf(stderr, "sbload: bad arguments (see --help)\n");
		return -EINVAL;
	}
	if (!A.o.ws_path[0])
		strcpy(A.o.ws_path, "/");
	if (target)
		g_strlcpy(A.o.target, target, sizeof(A.o.target));
	else
		snprintf(A.o.target, sizeof(A.o.target), "sip:bench@127.0.0.1:%d",
			 A.o.uas_port);
	g_strlcpy(A.o.domain, domain, sizeof(A.o.domain));
	A.o.calls = (unsigned)calls;
	A.o.calls_per_ws = A.o.mode == SBL_MODE_MEDIA ? (unsigned)per_ws : 1;
	A.o.tick_us = (unsigned)CLAMP(tick, 50, 20000);
	A.o.setup_window = (unsigned)window;
	A.o.duration_s = dur;
	A.o.warmup_s = warm;
	A.o.late_ms = (unsigned)late;
	A.o.echo_socks = (unsigned)echo;
	A.o.chaos = seed >= 0;
	A.o.chaos_seed = seed;
	A.o.total = total > 0 ? (unsigned)total : 1;
	A.o.max_time_s = max_time;
	A.o.hold_ms = hold >= 200 ? (unsigned)hold : 200;
	A.o.p_cancel = p_cancel, A.o.p_drop = p_drop;
	A.o.p_uas_bye = p_uas_bye, A.o.p_busy = p_busy;
	if (A.o.chaos && (A.o.mode != SBL_MODE_MEDIA || !A.o.uas_port ||
			  p_cancel + p_drop + p_uas_bye + p_busy > 1)) {
		fprintf(stderr, "sbload: --chaos needs --mode media, --uas-port and probabilities summing to at most 1\n");
		return -EINVAL;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void make_tone(void)
{
	int16_t pcm[PAYLOAD];
	for (unsigned i = 0; i < PAYLOAD; i++)   /* 400 Hz, 8 cycles */
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 400 * i / 8000.0));
	sb_g711_ulaw_encode_buf(A.tone, pcm, PAYLOAD);
}

/* 1 s of a 400 Hz tone as 20 ms Opus frames, encoded once: the
 * generator must not spend its CPU on encoding. */
static int make_opus(void)
{
	int err;
	int16_t pcm[960];
	OpusEncoder *e = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP,
					     &err);
	if (!e)
		return -EIO;
	opus_encoder_ctl(e, OPUS_SET_BITRATE(24000));
	for (unsigned f = 0; f < OPUS_FRAMES; f++) {
		double amp = f < OPUS_LOUD ? 16000 : 1000;
		for (unsigned i = 0; i < 960; i++)
			pcm[i] = (int16_t)(amp * sin(2 * M_PI * 400 *
					   (f * 960 + i) / 48000.0));
		A.opus_len[f] = opus_encode(e, pcm, 960, A.opus[f], OPUS_MAX);
		if (A.opus_len[f] < 0) {
			opus_encoder_destroy(e);
			return -EIO;
		}
	}
	opus_encoder_destroy(e);
	return 0;
}

static void teardown(void)
{
	for (unsigned i = 0; i < A.n_calls; i++) {
		sb_leg_free(A.calls[i].leg);
		if (A.calls[i].dec)
			opus_decoder_destroy(A.calls[i].dec);
		g_free(A.calls[i].to);
		g_free(A.calls[i].target);
		if (A.calls[i].routes)
			g_ptr_array_unref(A.calls[i].routes);
	}
	for (unsigned i = 0; i < A.n_conns; i++)
		sbl_ws_close(A.conns[i]);
	for (unsigned i = 0; A.o.chaos && i < A.n_calls; i++)
		sbl_ws_close(A.calls[i].ws);
	/* let the close frames and DTLS alerts go out */
	int64_t until = sbl_now_us() + 200000;
	while (sbl_now_us() < until)
		g_main_context_iteration(NULL, FALSE);
	sbl_ws_deinit();
	sbl_ng_close(A.ng);
	sbl_uas_stop(A.uas);
	g_hash_table_unref(A.by_cid);
	g_free(A.calls);
	g_free(A.conns);
	sb_cert_unref(A.cert);
	g_main_loop_unref(A.loop);
	if (A.rnd)
		g_rand_free(A.rnd);
	if (A.fails)
		g_hash_table_unref(A.fails);
}

static int run_chaos(int64_t t0)
{
	A.rnd = g_rand_new_with_seed((guint32)A.o.chaos_seed);
	A.fails = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (unsigned i = 0; i < A.n_calls; i++)
		A.calls[i].slot = i;
	A.t_begin = sbl_now_us();
	A.ph = P_WINDOW;
	g_timeout_add(20, on_chaos_timer, NULL);
	start_send_timer();
	g_main_loop_run(A.loop);
	unsigned unfinished = 0;
	for (unsigned i = 0; i < A.n_calls; i++)
		unfinished += A.calls[i].st != C_IDLE && A.calls[i].st != C_DONE &&
			      A.calls[i].st != C_FAILED;
	chaos_report((sbl_now_us() - t0) / 1e6);
	fflush(stdout);
	teardown();
	return unfinished ? 1 : 0;
}

int main(int argc, char **argv)
{
	int64_t t0 = sbl_now_us();
	if (parse_args(argc, argv) < 0)
		return 2;
	raise_nofile();
	make_tone();
	if (A.o.opus && make_opus() < 0) {
		fprintf(stderr, "sbload: Opus encoder failed\n");
		return 1;
	}
	sbl_token(A.via_host, 12);
	A.loop = g_main_loop_new(NULL, FALSE);
	A.by_cid = g_hash_table_new(g_str_hash, g_str_equal);
	A.n_calls = A.o.calls;
	A.calls = g_new0(call, A.n_calls);
	for (unsigned i = 0; i < A.n_calls; i++)
		A.calls[i].idx = i;
	if (sb_cert_new("sbload", &A.cert) < 0 ||
	    ((A.o.uas_port || A.o.ng[0]) &&
	     sbl_uas_start(A.o.uas_port, A.o.echo_socks, &A.uas) < 0) ||
	    (A.o.ng[0] && sbl_ng_open(A.o.ng, &A.ng) < 0) ||
	    sbl_ws_init(A.loop, on_ws_msg, on_ws_state, NULL) < 0) {
		fprintf(stderr, "sbload: initialisation failed\n");
		return 1;
	}
	if (A.o.chaos)
		return run_chaos(t0);
	/* --ng: no WebSocket at all; P_CONNECT ends at once */
	A.n_conns = A.ng ? 0 : (A.n_calls + A.o.calls_per_ws - 1) / A.o.calls_per_ws;
	A.conns = g_new0(sbl_ws *, A.n_conns);
	for (unsigned i = 0; i < A.n_conns; i++) {
		A.conns[i] = sbl_ws_connect(A.o.ws_host, A.o.ws_port,
					    A.o.ws_path, i);
		if (!A.conns[i])
			A.conns_lost++;
	}
	for (unsigned i = 0; i < A.n_calls && !A.ng; i++)
		A.calls[i].ws = A.conns[i / A.o.calls_per_ws];
	set_phase(P_CONNECT);
	g_timeout_add(20, on_phase_timer, NULL);
	if (A.o.mode == SBL_MODE_MEDIA)
		start_send_timer();
	g_main_loop_run(A.loop);
	report((sbl_now_us() - t0) / 1e6);
	fflush(stdout);   /* before a sanitizer's exit path can skip it */
	int ok = A.w_start && A.w_end > A.w_start;
	teardown();
	return ok ? 0 : 1;
}
