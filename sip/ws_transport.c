/* RFC 7118 WebSocket transport on libwebsockets. Signalling thread only.
 * lws hands us frames in fragments; we reassemble one message per frame
 * (RFC 7118 §4: one SIP message per WebSocket message) and bound its size
 * before buffering more. Output goes through a per-connection queue that
 * lws drains one frame per writable callback. */
#include "sip/ws_transport.h"

#include <errno.h>
#include <glib.h>
#include <libwebsockets.h>
#include <string.h>

#include "common/log.h"
#include "sip/security_log.h"

struct sb_ws_conn {
	grefcount ref;
	uint64_t id;
	struct lws *wsi;          /* NULL once the socket is closed */
	char peer[80];
	char peer_ip[64];
	bool secure;
	bool closing;             /* close requested, sent at next writable */
	int close_status;
	char close_reason[64];
	GByteArray *rx;           /* message being reassembled */
	GQueue tx;                /* of GBytes: LWS_PRE + payload */
	size_t tx_bytes;
	void *data;               /* borrowed: the proxy's per-flow state */
	char user[65];            /* authenticated at the upgrade, or "" */
	GSource *first_timer;     /* owned: no message yet by the deadline */
	bool got_message;
	bool rx_overflow;         /* dropping the rest of an oversized frame */
	sb_ws_sink_cb sink;       /* detached test connections only */
	void *sink_data;
	bool detached_open;
};

/* Per-session storage lws allocates for each wsi. */
typedef struct ws_pss {
	sb_ws_conn *conn;         /* owned reference */
	char user[65];            /* from the upgrade decision */
} ws_pss;

static sb_ws_handlers handlers;
static void *handlers_data;
static sb_ws_settings settings = { 65536, 1 << 20, 0 };
static GHashTable *open_conns;   /* id -> sb_ws_conn (borrowed) */
static uint64_t next_id = 1;

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
		       void *user, void *in, size_t len);

/* lws gives every WebSocket a receive buffer of rx_buffer_size for the
 * connection's life: 64 KiB was the largest per-call allocation of a
 * browser's call (one WebSocket per browser). A longer frame arrives in
 * pieces, which on_receive joins (lws_remaining_packet_payload). Sends
 * stay whole up to 64 KiB (tx_packet_size; 0 would mean rx_buffer_size). */
#define RX_CHUNK 4096
#define TX_PACKET 65536

static const struct lws_protocols sip_protocol = {
	.name = "sip",
	.callback = ws_callback,
	.per_session_data_size = sizeof(ws_pss),
	.rx_buffer_size = RX_CHUNK,
	.tx_packet_size = TX_PACKET,
};

void sb_ws_transport_init(const sb_ws_handlers *h, void *user_data,
			  const sb_ws_settings *s)
{
	handlers = *h;
	handlers_data = user_data;
	if (s)
		settings = *s;
	if (!open_conns)
		open_conns = g_hash_table_new(g_int64_hash, g_int64_equal);
}

const struct lws_protocols *sb_ws_transport_protocol(void)
{
	return &sip_protocol;
}

static void tx_clear(sb_ws_conn *c)
{
	GBytes *b;
	while ((b = g_queue_pop_head(&c->tx)))
		g_bytes_unref(b);
	c->tx_bytes = 0;
}

sb_ws_conn *sb_ws_conn_ref(sb_ws_conn *c)
{
	g_ref_count_inc(&c->ref);
	return c;
}

void sb_ws_conn_unref(sb_ws_conn *c)
{
	if (!c || !g_ref_count_dec(&c->ref))
		return;
	tx_clear(c);
	if (c->first_timer) {
		g_source_destroy(c->first_timer);
		g_source_unref(c->first_timer);
	}
	g_byte_array_unref(c->rx);
	g_free(c);
}

uint64_t sb_ws_conn_id(const sb_ws_conn *c) { return c->id; }
const char *sb_ws_conn_peer(const sb_ws_conn *c) { return c->peer; }
const char *sb_ws_conn_peer_ip(const sb_ws_conn *c) { return c->peer_ip; }
bool sb_ws_conn_is_open(const sb_ws_conn *c)
{
	return (c->wsi && !c->closing) || c->detached_open;
}
bool sb_ws_conn_secure(const sb_ws_conn *c) { return c->secure; }
const char *sb_ws_conn_user(const sb_ws_conn *c) { return c->user; }
void sb_ws_conn_set_data(sb_ws_conn *c, void *data) { c->data = data; }
void *sb_ws_conn_get_data(const sb_ws_conn *c) { return c->data; }

unsigned sb_ws_transport_count(void)
{
	return open_conns ? g_hash_table_size(open_conns) : 0;
}

int sb_ws_conn_send(sb_ws_conn *c, const char *buf, size_t len)
{
	if (!sb_ws_conn_is_open(c))
		return -ENOTCONN;
	if (c->sink) {
		c->sink(buf, len, c->sink_data);
		return 0;
	}
	if (c->tx_bytes + len > settings.max_queued_bytes)
		return -ENOBUFS;
	guint8 *frame = g_malloc(LWS_PRE + len);
	memcpy(frame + LWS_PRE, buf, len);
	g_queue_push_tail(&c->tx, g_bytes_new_take(frame, LWS_PRE + len));
	c->tx_bytes += len;
	lws_callback_on_writable(c->wsi);
	return 0;
}

sb_ws_conn *sb_ws_conn_new_detached(sb_ws_sink_cb sink, void *user_data)
{
	sb_ws_conn *c = g_new0(sb_ws_conn, 1);
	g_ref_count_init(&c->ref);
	c->id = next_id++;
	c->rx = g_byte_array_new();
	g_queue_init(&c->tx);
	g_strlcpy(c->peer, "detached", sizeof(c->peer));
	g_strlcpy(c->peer_ip, "127.0.0.1", sizeof(c->peer_ip));
	c->sink = sink;
	c->sink_data = user_data;
	c->detached_open = true;
	return c;
}

void sb_ws_conn_detach_close(sb_ws_conn *c)
{
	c->detached_open = false;
}

void sb_ws_conn_close(sb_ws_conn *c, int status, const char *reason)
{
	if (!c->wsi || c->closing)
		return;
	c->closing = true;
	c->close_status = status;
	g_strlcpy(c->close_reason, reason ? reason : "", sizeof(c->close_reason));
	lws_callback_on_writable(c->wsi);
}

void sb_ws_transport_close_all(int status, const char *reason)
{
	if (!open_conns)
		return;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, open_conns);
	while (g_hash_table_iter_next(&it, NULL, &v))
		sb_ws_conn_close(v, status, reason);
}

/* RFC 7118 §4: the client must offer "sip"; lws would otherwise accept an
 * upgrade with no subprotocol at all. */
static bool offers_sip(struct lws *wsi)
{
	char hdr[256];
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_PROTOCOL) <= 0)
		return false;
	char *save = NULL;
	for (char *t = strtok_r(hdr, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (!strcmp(t, "sip"))
			return true;
	return false;
}

static const char *header(struct lws *wsi, enum lws_token_indexes t, char *buf,
			  size_t size)
{
	return lws_hdr_copy(wsi, buf, (int)size, t) > 0 ? buf : NULL;
}

static const char *url_arg(struct lws *wsi, const char *name, char *buf, size_t size)
{
	return lws_get_urlarg_by_name(wsi, name, buf, (int)size);
}

/* RFC 7118 §4 subprotocol, then the layer above's policy (Origin, token,
 * connections per address). 0 accepts. */
static int filter_upgrade(struct lws *wsi, ws_pss *pss)
{
	char ip[64] = "";
	lws_get_peer_simple(wsi, ip, sizeof(ip));
	if (g_str_has_prefix(ip, "::ffff:") && strchr(ip, '.'))
		memmove(ip, ip + 7, strlen(ip + 7) + 1);
	if (!offers_sip(wsi)) {
		sb_seclog_ws_refused(ip, "no-subprotocol", NULL, NULL);
		return 1;
	}
	if (!handlers.on_upgrade)
		return 0;
	char origin[256], user[128], token[256];
	sb_ws_upgrade up = {
		.ip = ip,
		.origin = header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)),
		.user_arg = url_arg(wsi, "user=", user, sizeof(user)),
		.token_arg = url_arg(wsi, "token=", token, sizeof(token)),
	};
	pss->user[0] = '\0';
	const char *why = handlers.on_upgrade(&up, pss->user, handlers_data);
	if (!why)
		return 0;
	lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, why);
	return 1;
}

static gboolean first_message_due(gpointer data)
{
	sb_ws_conn *c = data;
	g_clear_pointer(&c->first_timer, g_source_unref);
	if (!c->got_message) {
		g_warning("security: event=ws-closed ip=%s reason=first-message-timeout conn=%"
			  G_GUINT64_FORMAT, c->peer_ip, c->id);
		sb_ws_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "no message in time");
	}
	return G_SOURCE_REMOVE;
}

static void on_established(struct lws *wsi, ws_pss *pss)
{
	sb_ws_conn *c = g_new0(sb_ws_conn, 1);
	g_ref_count_init(&c->ref);
	c->id = next_id++;
	c->wsi = wsi;
	c->rx = g_byte_array_new();
	g_queue_init(&c->tx);
	c->secure = lws_is_ssl(wsi);
	lws_get_peer_simple(wsi, c->peer_ip, sizeof(c->peer_ip));
	/* An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d. */
	if (g_str_has_prefix(c->peer_ip, "::ffff:") && strchr(c->peer_ip, '.'))
		memmove(c->peer_ip, c->peer_ip + 7, strlen(c->peer_ip + 7) + 1);
	int port = 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET6
			? ((struct sockaddr_in6 *)&ss)->sin6_port
			: ((struct sockaddr_in *)&ss)->sin_port);
	g_snprintf(c->peer, sizeof(c->peer), strchr(c->peer_ip, ':') ? "[%s]:%d" : "%s:%d",
		   c->peer_ip, port);
	g_strlcpy(c->user, pss->user, sizeof(c->user));
	pss->conn = c;
	g_hash_table_insert(open_conns, &c->id, c);
	if (settings.first_message_ms) {
		c->first_timer = g_timeout_source_new(settings.first_message_ms);
		g_source_set_callback(c->first_timer, first_message_due, c, NULL);
		g_source_attach(c->first_timer, g_main_context_get_thread_default());
	}
	g_info("ws %" G_GUINT64_FORMAT " open from %s%s", c->id, c->peer,
	       c->secure ? " (wss)" : "");
	if (handlers.on_open)
		handlers.on_open(c, handlers_data);
}

/* Empties the message buffer; an INVITE's few KiB (or an oversized
 * message's head) need not stay allocated for the call's life. */
static void rx_reset(sb_ws_conn *c)
{
	if (c->rx->len > RX_CHUNK) {
		g_byte_array_unref(c->rx);
		c->rx = g_byte_array_new();
	} else {
		g_byte_array_set_size(c->rx, 0);
	}
}

static int on_receive(struct lws *wsi, sb_ws_conn *c, const void *in, size_t len)
{
	bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	if (lws_is_first_fragment(wsi)) {
		g_byte_array_set_size(c->rx, 0);
		c->rx_overflow = false;
	}
	c->got_message = true;
	if (c->rx_overflow) {            /* drop the rest of an oversized one */
		if (last)
			c->rx_overflow = false;
		return 0;
	}
	if (c->rx->len + len > settings.max_message) {
		/* Keep the head: it holds the headers a 513 is built from. */
		size_t room = settings.max_message - c->rx->len;
		g_byte_array_append(c->rx, in, (guint)MIN(room, len));
		g_warning("security: event=bad-message ip=%s reason=sip-too-large conn=%"
			  G_GUINT64_FORMAT, c->peer_ip, c->id);
		if (handlers.on_too_large)
			handlers.on_too_large(c, (const char *)c->rx->data, c->rx->len,
					      handlers_data);
		rx_reset(c);
		c->rx_overflow = !last;
		return 0;
	}
	g_byte_array_append(c->rx, in, (guint)len);
	if (!last)
		return 0;
	if (handlers.on_message && c->rx->len)
		handlers.on_message(c, (const char *)c->rx->data, c->rx->len,
				    handlers_data);
	rx_reset(c);
	return 0;
}

static int on_writable(struct lws *wsi, sb_ws_conn *c)
{
	GBytes *b = g_queue_pop_head(&c->tx);
	if (b) {
		gsize sz;
		guint8 *p = (guint8 *)g_bytes_get_data(b, &sz);
		size_t len = sz - LWS_PRE;
		c->tx_bytes -= len;
		int n = lws_write(wsi, p + LWS_PRE, len, LWS_WRITE_TEXT);
		g_bytes_unref(b);
		if (n < (int)len) {
			g_warning("ws %" G_GUINT64_FORMAT ": lws_write() failed", c->id);
			return -1;
		}
		if (!g_queue_is_empty(&c->tx) || c->closing)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->closing) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_status,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

static void on_closed(ws_pss *pss)
{
	sb_ws_conn *c = pss->conn;
	if (!c)
		return;
	pss->conn = NULL;
	c->wsi = NULL;
	tx_clear(c);
	g_hash_table_remove(open_conns, &c->id);
	g_info("ws %" G_GUINT64_FORMAT " closed (%s)", c->id, c->peer);
	if (handlers.on_close)
		handlers.on_close(c, handlers_data);
	sb_ws_conn_unref(c);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
		       void *user, void *in, size_t len)
{
	ws_pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return filter_upgrade(wsi, pss);
	case LWS_CALLBACK_ESTABLISHED:
		on_established(wsi, pss);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return pss->conn ? on_receive(wsi, pss->conn, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->conn ? on_writable(wsi, pss->conn) : -1;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return 0;
	case LWS_CALLBACK_CLOSED:
		on_closed(pss);
		return 0;
	default:
		return 0;
	}
}
