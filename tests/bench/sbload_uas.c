/* The SIP side of sbload: a minimal UAS over UDP that answers INVITE with
 * 200 + an RTP/AVP PCMU answer pointing at one of a few shared echo
 * sockets, answers BYE/REGISTER/OPTIONS with 200 and ignores ACK, and an
 * RTP echo that sends every packet back to its source. One epoll thread;
 * RTP in and out in batches (recvmmsg/sendmmsg) so this side costs little
 * next to the gateway it measures. SIP text is parsed by sofia-sip and
 * SDP through sip/sdp.h. Stateless: the To-tag is a hash of the Call-ID.
 *
 * Chaos (sbload --chaos): the user part of the Request-URI asks for a
 * behaviour: "busy" answers 486; "delay-N" rings (180), holds the 200 for N ms and
 * answers 487 instead if a CANCEL comes first; "bye-N" answers at once
 * and sends a BYE N ms later (the SIP side hangs up). The pending 200s
 * and BYEs are the only state, kept on the UAS thread.
 *
 * One-way latency: every echo socket has SO_TIMESTAMPNS, so each datagram
 * comes with the kernel's realtime stamp of its arrival. On loopback the
 * kernel stamps it while the sender's sendmsg hands it over, so arrival
 * minus the payload's realtime send stamp (sbload.h, SBL_MARK_REAL) is
 * generator send -> daemon -> the daemon's send toward us, without our
 * own wake-up delay. */
#include "tests/bench/sbload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#include "sip/sdp.h"
#include "webrtc/residence.h"

#define BATCH 64
#define PKT 1600
#define CTL CMSG_SPACE(sizeof(struct timespec))

/* A reply or request due later (chaos), UAS thread only. */
typedef struct pending {
	int64_t due_us;
	char *call_id;            /* to match a CANCEL (delayed 200 only) */
	GString *msg;             /* sent when due */
	GString *alt;             /* 487 sent instead on CANCEL, or NULL */
	struct sockaddr_in to;
} pending;

typedef struct echo_sock {
	int fd;
	uint16_t port;
} echo_sock;

struct sbl_uas {
	int sip_fd;
	uint16_t sip_port;
	int ep;
	echo_sock *echo;
	unsigned n_echo;
	unsigned next_echo;
	pthread_t th;
	volatile int stop;
	sbl_uas_counters c;
	GPtrArray *pend;          /* of pending, UAS thread only */
	/* batch buffers, UAS thread only */
	uint8_t bufs[BATCH][PKT];
	struct sockaddr_in src[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr in[BATCH], out[BATCH];
	union {                   /* SCM_TIMESTAMPNS of each datagram */
		char buf[CTL];
		struct cmsghdr align;
	} ctl[BATCH];
	/* one-way latency: the window (set by the main thread, atomic)
	 * and the histogram (written by the UAS thread, read by others:
	 * under down_mu) */
	int64_t win_start, win_end;
	pthread_mutex_t down_mu;
	sbl_hist down;
};

static void add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static int udp_bind(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int sz = 8 << 20;

	if (fd < 0)
		return -errno;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* FORCE needs CAP_NET_ADMIN; fall back to the rmem_max-capped one. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

/* ---------------------------------------------------------------- SIP */

static const char *hdr(su_home_t *home, const void *h)
{
	return h ? sip_header_as_string(home, (const sip_header_t *)h) : "";
}

/* The answer: PCMU on a shared echo socket, rtcp-mux if offered. Also
 * used by the main thread in --ng mode (sbl_uas_answer), hence the atomic
 * round-robin counter. */
static char *make_answer_sdp(sbl_uas *u, const char *sdp, size_t len,
			     int *status)
{
	sb_sdp *offer = NULL;
	char *out = NULL;

	*status = 488;
	if (sb_sdp_parse(sdp, len, 65536, &offer) < 0)
		return NULL;
	bool pcmu = false;
	for (unsigned i = 0; i < offer->audio.n_codecs; i++)
		pcmu |= offer->audio.codecs[i].pt == 0;
	if (pcmu) {
		sb_media_desc d;
		sb_sdp_origin o;
		unsigned k = __atomic_fetch_add(&u->next_echo, 1,
						__ATOMIC_RELAXED);
		memset(&d, 0, sizeof(d));
		d.proto = SB_MD_PROTO_RTP_AVP;
		g_strlcpy(d.addr, "127.0.0.1", sizeof(d.addr));
		d.port = u->echo[k % u->n_echo].port;
		d.rtcp_mux = offer->audio.rtcp_mux;
		d.ptime = 20;
		d.codecs[0] = (sb_md_codec){ .pt = 0, .name = "PCMU",
					     .clock = 8000, .channels = 1 };
		d.n_codecs = 1;
		sb_sdp_origin_init(&o, "sbload", "127.0.0.1");
		if (sb_sdp_write_answer(&o, &d, offer, &out) == 0)
			*status = 200;
	}
	sb_sdp_free(offer);
	return out;
}

static char *make_answer(sbl_uas *u, const sip_t *sip, int *status)
{
	return make_answer_sdp(u, sip->sip_payload->pl_data,
			       sip->sip_payload->pl_len, status);
}

char *sbl_uas_answer(sbl_uas *u, const char *offer, size_t len)
{
	int status;
	return make_answer_sdp(u, offer, len, &status);
}

static const char *phrase_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 180: return "Ringing";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	default: return "Not Acceptable Here";
	}
}

static GString *build_reply(sbl_uas *u, su_home_t *home, const sip_t *sip,
			    int status, const char *body)
{
	GString *s = g_string_sized_new(1024);

	g_string_append_printf(s, "SIP/2.0 %d %s\r\n", status, phrase_of(status));
	for (const sip_via_t *v = sip->sip_via; v; v = v->v_next)
		g_string_append_printf(s, "Via: %s\r\n", hdr(home, v));
	for (const sip_record_route_t *r = sip->sip_record_route; r;
	     r = r->r_next)
		g_string_append_printf(s, "Record-Route: %s\r\n", hdr(home, r));
	g_string_append_printf(s, "From: %s\r\nTo: %s", hdr(home, sip->sip_from),
			       hdr(home, sip->sip_to));
	if (!sip->sip_to->a_tag)
		g_string_append_printf(s, ";tag=u%08x",
				       g_str_hash(sip->sip_call_id->i_id));
	g_string_append_printf(s, "\r\nCall-ID: %s\r\nCSeq: %s\r\n",
			       sip->sip_call_id->i_id, hdr(home, sip->sip_cseq));
	if (sip->sip_request->rq_method == sip_method_register &&
	    sip->sip_contact)
		g_string_append_printf(s, "Contact: %s\r\n",
				       hdr(home, sip->sip_contact));
	else
		g_string_append_printf(s, "Contact: <sip:uas@127.0.0.1:%u>\r\n",
				       u->sip_port);
	if (body)
		g_string_append_printf(s, "Content-Type: application/sdp\r\n"
				       "Content-Length: %zu\r\n\r\n%s",
				       strlen(body), body);
	else
		g_string_append(s, "Content-Length: 0\r\n\r\n");
	return s;
}

static void send_msg(sbl_uas *u, const GString *s, const struct sockaddr_in *to)
{
	sendto(u->sip_fd, s->str, s->len, 0, (const struct sockaddr *)to,
	       sizeof(*to));
}

static void reply(sbl_uas *u, su_home_t *home, const sip_t *sip,
		  const struct sockaddr_in *to, int status, const char *body)
{
	GString *s = build_reply(u, home, sip, status, body);
	send_msg(u, s, to);
	g_string_free(s, TRUE);
}

/* ---------------------------------------------------------------- chaos */

static void pending_free(gpointer p)
{
	pending *q = p;
	g_free(q->call_id);
	g_string_free(q->msg, TRUE);
	if (q->alt)
		g_string_free(q->alt, TRUE);
	g_free(q);
}

static void add_pending(sbl_uas *u, unsigned ms, const char *call_id,
			GString *msg, GString *alt, const struct sockaddr_in *to)
{
	pending *q = g_new0(pending, 1);
	q->due_us = sbl_now_us() + (int64_t)ms * 1000;
	q->call_id = call_id ? g_strdup(call_id) : NULL;
	q->msg = msg;
	q->alt = alt;
	q->to = *to;
	g_ptr_array_add(u->pend, q);
}

/* The BYE of the SIP side for the dialog the 2xx to this INVITE makes:
 * to the INVITE's Contact, through its Record-Route (UAS order), sent to
 * where the INVITE came from. */
static GString *build_bye(sbl_uas *u, su_home_t *home, const sip_t *sip)
{
	GString *s = g_string_sized_new(1024);
	char branch[17];
	sbl_token(branch, 16);
	g_string_append_printf(s, "BYE %s SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s\r\n"
			       "Max-Forwards: 70\r\n",
			       sip->sip_contact
			       ? url_as_string(home, sip->sip_contact->m_url)
			       : url_as_string(home, sip->sip_request->rq_url),
			       u->sip_port, branch);
	for (const sip_record_route_t *r = sip->sip_record_route; r;
	     r = r->r_next)
		g_string_append_printf(s, "Route: %s\r\n", hdr(home, r));
	g_string_append_printf(s, "From: %s;tag=u%08x\r\nTo: %s\r\n"
			       "Call-ID: %s\r\nCSeq: 1 BYE\r\n"
			       "Content-Length: 0\r\n\r\n",
			       hdr(home, sip->sip_to),
			       g_str_hash(sip->sip_call_id->i_id),
			       hdr(home, sip->sip_from), sip->sip_call_id->i_id);
	return s;
}

/* A chaos INVITE: what the Request-URI's user asks for. true = handled. */
static bool chaos_invite(sbl_uas *u, su_home_t *home, const sip_t *sip,
			 const struct sockaddr_in *from, int status,
			 const char *sdp)
{
	const char *user = sip->sip_request->rq_url->url_user;
	unsigned ms;
	if (!user)
		return false;
	if (!strcmp(user, "busy")) {
		reply(u, home, sip, from, 486, NULL);
		return true;
	}
	if (sscanf(user, "delay-%u", &ms) == 1 && status == 200) {
		/* 180 first: the gateway CANCELs only what has rung
		 * (RFC 3261 §9.1) */
		reply(u, home, sip, from, 180, NULL);
		add_pending(u, ms, sip->sip_call_id->i_id,
			    build_reply(u, home, sip, 200, sdp),
			    build_reply(u, home, sip, 487, NULL), from);
		return true;
	}
	if (sscanf(user, "bye-%u", &ms) == 1 && status == 200) {
		reply(u, home, sip, from, 200, sdp);
		add_pending(u, ms, NULL, build_bye(u, home, sip), NULL, from);
		return true;
	}
	return false;
}

/* A CANCEL: if its INVITE's 200 is still held, answer 487 instead. */
static void chaos_cancel(sbl_uas *u, const sip_t *sip)
{
	for (guint i = 0; i < u->pend->len; i++) {
		pending *q = u->pend->pdata[i];
		if (q->alt && q->call_id &&
		    !strcmp(q->call_id, sip->sip_call_id->i_id)) {
			send_msg(u, q->alt, &q->to);
			g_ptr_array_remove_index_fast(u->pend, i);
			return;
		}
	}
}

static void run_pending(sbl_uas *u)
{
	int64_t now = sbl_now_us();
	for (guint i = 0; i < u->pend->len;) {
		pending *q = u->pend->pdata[i];
		if (q->due_us > now) {
			i++;
			continue;
		}
		send_msg(u, q->msg, &q->to);
		g_ptr_array_remove_index_fast(u->pend, i);
	}
}

static void handle_sip(sbl_uas *u, const char *buf, size_t len,
		       const struct sockaddr_in *from)
{
	msg_t *m = msg_make(sip_default_mclass(), 0, buf, len);
	sip_t *sip = m ? sip_object(m) : NULL;

	if (!sip || msg_has_error(m) || !sip->sip_request || !sip->sip_via ||
	    !sip->sip_from || !sip->sip_to || !sip->sip_call_id ||
	    !sip->sip_cseq)
		goto out;
	add(&u->c.sip_rx, 1);
	sip_method_t meth = sip->sip_request->rq_method;
	if (meth == sip_method_ack)
		goto out;
	if (meth == sip_method_invite) {
		add(&u->c.invites, 1);
		int status = 200;
		g_autofree char *sdp = NULL;
		if (sip->sip_payload && sip->sip_payload->pl_len)
			sdp = make_answer(u, sip, &status);
		if (!chaos_invite(u, msg_home(m), sip, from, status, sdp))
			reply(u, msg_home(m), sip, from, status, sdp);
		goto out;
	}
	if (meth == sip_method_bye)
		add(&u->c.byes, 1);
	reply(u, msg_home(m), sip, from, 200, NULL);
	if (meth == sip_method_cancel)
		chaos_cancel(u, sip);
out:
	if (m)
		msg_destroy(m);
}

static void sip_readable(sbl_uas *u)
{
	char buf[8192];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(u->sip_fd, buf, sizeof(buf) - 1, 0,
			     (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return;
		buf[n] = 0;
		handle_sip(u, buf, (size_t)n, &from);
	}
}

/* ---------------------------------------------------------------- echo */

static bool is_rtcp(const uint8_t *b)
{
	uint8_t pt = b[1] & 0x7f;   /* RTCP 200..204 seen through an RTP lens */
	return pt >= 72 && pt <= 76;
}

/* Where the payload of an RTP packet of len bytes starts and how long it
 * is (after CSRCs, header extension; without padding). false when the
 * header does not fit. */
static bool rtp_payload(const uint8_t *b, unsigned len, unsigned *off,
			unsigned *plen)
{
	unsigned o = 12 + 4u * (b[0] & 0x0f);
	if (b[0] & 0x10) {            /* extension: 4-byte head + words */
		if (o + 4 > len)
			return false;
		o += 4 + 4u * ((unsigned)b[o + 2] << 8 | b[o + 3]);
	}
	if (b[0] & 0x20)              /* padding: its length is the last byte */
		len = b[len - 1] <= len ? len - b[len - 1] : 0;
	if (o > len)
		return false;
	*off = o;
	*plen = len - o;
	return true;
}

/* One-way latency (µs) of received RTP packet i when it carries the
 * marker and was sent inside the window; -1 otherwise. */
static int64_t one_way_us(sbl_uas *u, unsigned i, int64_t w_start,
			  int64_t w_end)
{
	const uint8_t *b = u->bufs[i];
	unsigned off, plen;
	int64_t mono, real, at;
	if (!w_start || !rtp_payload(b, u->in[i].msg_len, &off, &plen) ||
	    plen < SBL_MARK_LEN || memcmp(b + off, SBL_MARK_MAGIC, 4) != 0)
		return -1;
	memcpy(&mono, b + off + SBL_MARK_MONO, 8);
	memcpy(&real, b + off + SBL_MARK_REAL, 8);
	/* the kernel's realtime arrival stamp, read as the gateway reads it */
	if (mono < w_start || mono >= w_end ||
	    !(at = sb_residence_from_msg(&u->in[i].msg_hdr)))
		return -1;
	return at > real ? (at - real) / 1000 : 0;
}

static void down_add(sbl_uas *u, const int64_t *us, unsigned n)
{
	if (!n)
		return;
	pthread_mutex_lock(&u->down_mu);
	for (unsigned i = 0; i < n; i++)
		sbl_hist_add(&u->down, us[i]);
	pthread_mutex_unlock(&u->down_mu);
}

static void echo_readable(sbl_uas *u, int fd)
{
	int64_t lat[BATCH];
	for (;;) {
		for (unsigned i = 0; i < BATCH; i++) {
			u->iov[i] = (struct iovec){ u->bufs[i], PKT };
			u->in[i].msg_hdr = (struct msghdr){
				.msg_name = &u->src[i],
				.msg_namelen = sizeof(u->src[i]),
				.msg_iov = &u->iov[i], .msg_iovlen = 1,
				.msg_control = u->ctl[i].buf,
				.msg_controllen = CTL };
		}
		int n = recvmmsg(fd, u->in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		add(&u->c.batches, 1);
		/* read once per batch: the main thread moves it twice a run */
		int64_t w_start = __atomic_load_n(&u->win_start, __ATOMIC_ACQUIRE);
		int64_t w_end = __atomic_load_n(&u->win_end, __ATOMIC_ACQUIRE);
		unsigned k = 0, rtcp = 0, nl = 0;
		for (int i = 0; i < n; i++) {
			unsigned len = u->in[i].msg_len;
			if (len < 12 || (u->bufs[i][0] & 0xc0) != 0x80 ||
			    is_rtcp(u->bufs[i])) {
				rtcp++;
				continue;
			}
			int64_t us = one_way_us(u, (unsigned)i, w_start, w_end);
			if (us >= 0)
				lat[nl++] = us;
			u->iov[i].iov_len = len;
			u->out[k++].msg_hdr = (struct msghdr){
				.msg_name = &u->src[i],
				.msg_namelen = u->in[i].msg_hdr.msg_namelen,
				.msg_iov = &u->iov[i], .msg_iovlen = 1 };
		}
		if (k)
			sendmmsg(fd, u->out, k, MSG_DONTWAIT);
		down_add(u, lat, nl);   /* after the echo: it is not delayed */
		add(&u->c.rtp_rx, k);
		add(&u->c.rtcp_rx, rtcp);
		if (n < BATCH)
			return;
	}
}

static void *uas_thread(void *arg)
{
	sbl_uas *u = arg;
	struct epoll_event ev[64];

	while (!u->stop) {
		int n = epoll_wait(u->ep, ev, 64, u->pend->len ? 5 : 50);
		run_pending(u);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == u->sip_fd)
				sip_readable(u);
			else
				echo_readable(u, fd);
		}
	}
	return NULL;
}

static int watch(sbl_uas *u, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(u->ep, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

int sbl_uas_start(int port, unsigned n_echo, sbl_uas **out)
{
	sbl_uas *u = g_new0(sbl_uas, 1);
	int err;

	u->sip_fd = u->ep = -1;
	pthread_mutex_init(&u->down_mu, NULL);
	u->pend = g_ptr_array_new_with_free_func(pending_free);
	u->echo = g_new0(echo_sock, n_echo ? n_echo : 1);
	u->n_echo = n_echo ? n_echo : 1;
	for (unsigned i = 0; i < u->n_echo; i++)
		u->echo[i].fd = -1;
	u->ep = epoll_create1(EPOLL_CLOEXEC);
	err = u->sip_fd = udp_bind((uint16_t)port, &u->sip_port);
	if (err < 0 || u->ep < 0 || (err = watch(u, u->sip_fd)) < 0)
		goto fail;
	for (unsigned i = 0; i < u->n_echo; i++) {
		err = u->echo[i].fd = udp_bind(0, &u->echo[i].port);
		if (err < 0 || (err = watch(u, u->echo[i].fd)) < 0)
			goto fail;
		/* without it the one-way latency has no samples (down_n=0),
		 * the echo itself works: not fatal */
		int on = 1;
		if (setsockopt(u->echo[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &on,
			       sizeof(on)) < 0)
			fprintf(stderr, "sbload: SO_TIMESTAMPNS: %s\n",
				g_strerror(errno));
	}
	err = -pthread_create(&u->th, NULL, uas_thread, u);
	if (err < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	fprintf(stderr, "sbload: UAS on 127.0.0.1:%d: %s\n", port,
		g_strerror(-err));
	u->th = 0;
	sbl_uas_stop(u);
	return err < 0 ? err : -EIO;
}

void sbl_uas_set_window(sbl_uas *u, int64_t start_us, int64_t end_us)
{
	if (!u)
		return;
	/* end first, start last: the echo thread loads start, then end,
	 * so once it sees a new start it sees its end too */
	__atomic_store_n(&u->win_end, end_us, __ATOMIC_RELEASE);
	__atomic_store_n(&u->win_start, start_us, __ATOMIC_RELEASE);
}

void sbl_uas_down_get(sbl_uas *u, sbl_hist *out)
{
	pthread_mutex_lock(&u->down_mu);
	memcpy(out, &u->down, sizeof(*out));
	pthread_mutex_unlock(&u->down_mu);
}

const sbl_uas_counters *sbl_uas_counters_get(const sbl_uas *u)
{
	return &u->c;
}

void sbl_uas_stop(sbl_uas *u)
{
	if (!u)
		return;
	u->stop = 1;
	if (u->th)
		pthread_join(u->th, NULL);
	for (unsigned i = 0; i < u->n_echo; i++)
		if (u->echo[i].fd >= 0)
			close(u->echo[i].fd);
	if (u->sip_fd >= 0)
		close(u->sip_fd);
	if (u->ep >= 0)
		close(u->ep);
	g_ptr_array_unref(u->pend);
	pthread_mutex_destroy(&u->down_mu);
	g_free(u->echo);
	g_free(u);
}
