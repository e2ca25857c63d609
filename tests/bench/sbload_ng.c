/* sbload --ng: a client of rtpengine's NG control protocol, so the same
 * load (WebRTC client legs on one side, the RTP echo on the other) can be
 * bridged by rtpengine instead of sipbridge (tests/bench/run_compare.sh).
 * Protocol: "COOKIE d...e" over UDP, bencoded dictionaries both ways; the
 * reply carries the request's cookie. Main thread (default GMainContext)
 * only. See sbload.h for the API; the bencode helpers are in bencode.c. */
#include "tests/bench/sbload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib-unix.h>

#define NG_RETRY_US 500000
#define NG_TRIES 6
#define NG_MAX_REPLY 65536

typedef struct ng_req {
	char cookie[24];
	GString *msg;              /* the whole datagram, for resending */
	sbl_ng_cb cb;
	void *ud;
	int64_t t_sent;
	unsigned tries;
} ng_req;

struct sbl_ng {
	int fd;
	guint watch, timer;
	unsigned seq;
	GHashTable *pend;          /* cookie -> ng_req (owned) */
	uint8_t *rx;
};

/* ------------------------------------------------------------ client */

static void req_free(gpointer p)
{
	ng_req *r = p;
	g_string_free(r->msg, TRUE);
	g_free(r);
}

static void req_send(sbl_ng *ng, ng_req *r)
{
	r->t_sent = sbl_now_us();
	r->tries++;
	/* a lost datagram is resent by the timer; nothing to do on error */
	(void)send(ng->fd, r->msg->str, r->msg->len, MSG_DONTWAIT);
}

/* One reply: find its request by cookie, hand over the fields. */
static void on_reply(sbl_ng *ng, const char *buf, size_t len)
{
	const char *sp = memchr(buf, ' ', len);
	char cookie[24];
	if (!sp || (size_t)(sp - buf) >= sizeof(cookie))
		return;
	memcpy(cookie, buf, (size_t)(sp - buf));
	cookie[sp - buf] = '\0';
	ng_req *r = g_hash_table_lookup(ng->pend, cookie);
	if (!r)
		return;   /* a duplicate reply to a resent request */
	g_hash_table_steal(ng->pend, cookie);
	const char *d = sp + 1;
	size_t dl = len - (size_t)(d - buf);
	g_autofree char *result = sbl_benc_dict_str(d, dl, "result");
	g_autofree char *sdp = sbl_benc_dict_str(d, dl, "sdp");
	g_autofree char *err = sbl_benc_dict_str(d, dl, "error-reason");
	r->cb(result ? result : "error", sdp,
	      err ? err : (result ? NULL : "malformed reply"), r->ud);
	req_free(r);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer ud)
{
	sbl_ng *ng = ud;
	(void)cond;
	for (;;) {
		ssize_t n = recv(fd, ng->rx, NG_MAX_REPLY - 1, MSG_DONTWAIT);
		if (n <= 0)
			break;
		on_reply(ng, (const char *)ng->rx, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_retry(gpointer ud)
{
	sbl_ng *ng = ud;
	int64_t now = sbl_now_us();
	GHashTableIter it;
	gpointer k, v;
	GPtrArray *dead = g_ptr_array_new();
	g_hash_table_iter_init(&it, ng->pend);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		ng_req *r = v;
		if (now - r->t_sent < NG_RETRY_US)
			continue;
		if (r->tries < NG_TRIES)
			req_send(ng, r);
		else {
			g_hash_table_iter_steal(&it);
			g_ptr_array_add(dead, r);
		}
	}
	/* callbacks after the walk: they may send new requests */
	for (guint i = 0; i < dead->len; i++) {
		ng_req *r = dead->pdata[i];
		r->cb("timeout", NULL, "no reply from rtpengine", r->ud);
		req_free(r);
	}
	g_ptr_array_free(dead, TRUE);
	return G_SOURCE_CONTINUE;
}

int sbl_ng_open(const char *hostport, sbl_ng **out)
{
	char host[64];
	int port;
	struct sockaddr_in a = { .sin_family = AF_INET };
	if (sscanf(hostport, "%63[^:]:%d", host, &port) != 2 || port <= 0 ||
	    port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	a.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	sbl_ng *ng = g_new0(sbl_ng, 1);
	ng->fd = fd;
	ng->rx = g_malloc(NG_MAX_REPLY);
	ng->pend = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 req_free);
	ng->watch = g_unix_fd_add(fd, G_IO_IN, on_readable, ng);
	ng->timer = g_timeout_add(100, on_retry, ng);
	*out = ng;
	return 0;
}

/* Start a request: "COOKIE d7:command<cmd>" ...; the caller appends
 * its keys, then ng_submit closes the dictionary and sends. */
static ng_req *ng_begin(sbl_ng *ng, const char *cmd, const char *call_id,
			const char *from_tag)
{
	ng_req *r = g_new0(ng_req, 1);
	snprintf(r->cookie, sizeof(r->cookie), "%u_%08x", ++ng->seq,
		 g_random_int());
	r->msg = g_string_sized_new(2048);
	g_string_append_printf(r->msg, "%s d", r->cookie);
	sbl_benc_str(r->msg, "command");
	sbl_benc_str(r->msg, cmd);
	sbl_benc_str(r->msg, "call-id");
	sbl_benc_str(r->msg, call_id);
	sbl_benc_str(r->msg, "from-tag");
	sbl_benc_str(r->msg, from_tag);
	return r;
}

static void kv(GString *m, const char *k, const char *v)
{
	sbl_benc_str(m, k);
	sbl_benc_str(m, v);
}

/* key -> list of strings, NULL-terminated */
static void klist(GString *m, const char *k, const char *const *v)
{
	sbl_benc_str(m, k);
	g_string_append_c(m, 'l');
	for (; *v; v++)
		sbl_benc_str(m, *v);
	g_string_append_c(m, 'e');
}

static int ng_submit(sbl_ng *ng, ng_req *r, sbl_ng_cb cb, void *ud)
{
	g_string_append_c(r->msg, 'e');
	r->cb = cb;
	r->ud = ud;
	g_hash_table_insert(ng->pend, r->cookie, r);
	req_send(ng, r);
	return 0;
}

int sbl_ng_offer(sbl_ng *ng, const char *call_id, const char *from_tag,
		 const char *sdp, bool opus, sbl_ng_cb cb, void *ud)
{
	static const char *const flags[] = { "trust-address", NULL };
	static const char *const replace[] = { "origin", "session-connection",
					       NULL };
	static const char *const mux[] = { "accept", NULL };
	ng_req *r = ng_begin(ng, "offer", call_id, from_tag);
	kv(r->msg, "sdp", sdp);
	kv(r->msg, "transport-protocol", "RTP/AVP");
	kv(r->msg, "ICE", "remove");
	klist(r->msg, "flags", flags);
	klist(r->msg, "replace", replace);
	klist(r->msg, "rtcp-mux", mux);
	if (opus) {
		/* the SIP side is offered PCMU only; Opus stays accepted
		 * from the browser, so rtpengine transcodes both ways */
		static const char *const mask[] = { "opus", NULL };
		static const char *const tc[] = { "PCMU", NULL };
		sbl_benc_str(r->msg, "codec");
		g_string_append_c(r->msg, 'd');
		klist(r->msg, "mask", mask);
		klist(r->msg, "transcode", tc);
		g_string_append_c(r->msg, 'e');
	}
	return ng_submit(ng, r, cb, ud);
}

int sbl_ng_answer(sbl_ng *ng, const char *call_id, const char *from_tag,
		  const char *to_tag, const char *sdp, sbl_ng_cb cb, void *ud)
{
	static const char *const flags[] = { "trust-address", NULL };
	static const char *const replace[] = { "origin", "session-connection",
					       NULL };
	static const char *const mux[] = { "require", NULL };
	static const char *const sdes[] = { "off", NULL };
	ng_req *r = ng_begin(ng, "answer", call_id, from_tag);
	kv(r->msg, "to-tag", to_tag);
	kv(r->msg, "sdp", sdp);
	kv(r->msg, "transport-protocol", "UDP/TLS/RTP/SAVPF");
	kv(r->msg, "ICE", "force");
	kv(r->msg, "DTLS", "passive");
	klist(r->msg, "flags", flags);
	klist(r->msg, "replace", replace);
	klist(r->msg, "rtcp-mux", mux);
	klist(r->msg, "SDES", sdes);
	return ng_submit(ng, r, cb, ud);
}

int sbl_ng_delete(sbl_ng *ng, const char *call_id, const char *from_tag,
		  sbl_ng_cb cb, void *ud)
{
	ng_req *r = ng_begin(ng, "delete", call_id, from_tag);
	return ng_submit(ng, r, cb, ud);
}

unsigned sbl_ng_pending(const sbl_ng *ng)
{
	return g_hash_table_size(ng->pend);
}

void sbl_ng_close(sbl_ng *ng)
{
	if (!ng)
		return;
	g_source_remove(ng->watch);
	g_source_remove(ng->timer);
	g_hash_table_unref(ng->pend);
	close(ng->fd);
	g_free(ng->rx);
	g_free(ng);
}
