/* SIP over WebSocket client connections for sbload: libwebsockets client
 * on the main GLib loop (LWS_SERVER_OPTION_GLIB, as the daemon does),
 * subprotocol "sip", one text frame per SIP message (RFC 7118).
 * Main thread only. */
#include "tests/bench/sbload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <libwebsockets.h>

struct sbl_ws {
	struct lws *wsi;
	unsigned id;
	bool up;
	bool closing;
	GQueue tx;                /* of GBytes: LWS_PRE + payload */
	GByteArray *rx;           /* fragments of the message being read */
};

static struct {
	struct lws_context *ctx;
	sbl_ws_msg_cb msg_cb;
	sbl_ws_state_cb state_cb;
	void *user_data;
} g;

static void conn_free(sbl_ws *c)
{
	GBytes *b;
	while ((b = g_queue_pop_head(&c->tx)))
		g_bytes_unref(b);
	g_byte_array_unref(c->rx);
	g_free(c);
}

static void on_receive(sbl_ws *c, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi))
		g_byte_array_set_size(c->rx, 0);
	g_byte_array_append(c->rx, in, (guint)len);
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	g.msg_cb(c, (const char *)c->rx->data, c->rx->len, g.user_data);
}

static int on_writeable(sbl_ws *c, struct lws *wsi)
{
	if (c->closing) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	GBytes *b = g_queue_pop_head(&c->tx);
	if (!b)
		return 0;
	gsize sz;
	guint8 *p = (guint8 *)g_bytes_get_data(b, &sz);
	int n = lws_write(wsi, p + LWS_PRE, sz - LWS_PRE, LWS_WRITE_TEXT);
	g_bytes_unref(b);
	if (n < 0)
		return -1;
	if (!g_queue_is_empty(&c->tx))
		lws_callback_on_writable(wsi);
	return 0;
}

static void on_gone(sbl_ws *c, struct lws *wsi)
{
	lws_set_opaque_user_data(wsi, NULL);
	c->wsi = NULL;
	bool was_closing = c->closing;
	c->up = false;
	if (was_closing) {
		conn_free(c);
		return;
	}
	g.state_cb(c, false, g.user_data);
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason,
		 void *user, void *in, size_t len)
{
	sbl_ws *c = lws_get_opaque_user_data(wsi);
	(void)user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c) {
			c->up = true;
			g.state_cb(c, true, g.user_data);
			if (!g_queue_is_empty(&c->tx))
				lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c && !c->closing)
			on_receive(c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return c ? on_writeable(c, wsi) : -1;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c) {
			fprintf(stderr, "sbload: ws %u: connection error: %s\n",
				c->id, in ? (const char *)in : "?");
			on_gone(c, wsi);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c)
			on_gone(c, wsi);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ .name = "sip", .callback = ws_cb, .rx_buffer_size = 65536 },
	{ 0 }
};

int sbl_ws_init(GMainLoop *loop, sbl_ws_msg_cb msg_cb,
		sbl_ws_state_cb state_cb, void *user_data)
{
	void *foreign[1] = { loop };
	struct lws_context_creation_info ci;

	memset(&ci, 0, sizeof(ci));
	g.msg_cb = msg_cb;
	g.state_cb = state_cb;
	g.user_data = user_data;
	lws_set_log_level(LLL_ERR, NULL);
	ci.port = CONTEXT_PORT_NO_LISTEN;
	ci.protocols = protocols;
	ci.options = LWS_SERVER_OPTION_GLIB;
	ci.foreign_loops = foreign;
	g.ctx = lws_create_context(&ci);
	return g.ctx ? 0 : -EIO;
}

void sbl_ws_deinit(void)
{
	if (g.ctx)
		lws_context_destroy(g.ctx);
	g.ctx = NULL;
}

sbl_ws *sbl_ws_connect(const char *host, int port, const char *path,
		       unsigned id)
{
	sbl_ws *c = g_new0(sbl_ws, 1);
	struct lws_client_connect_info ci;

	c->id = id;
	c->rx = g_byte_array_new();
	g_queue_init(&c->tx);
	memset(&ci, 0, sizeof(ci));
	ci.context = g.ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = host;
	ci.origin = host;
	ci.protocol = "sip";
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	if (!lws_client_connect_via_info(&ci)) {
		conn_free(c);
		return NULL;
	}
	return c;
}

unsigned sbl_ws_id(const sbl_ws *c)
{
	return c->id;
}

int sbl_ws_send(sbl_ws *c, const char *buf, size_t len)
{
	if (!c->up || !c->wsi)
		return -ENOTCONN;
	guint8 *frame = g_malloc(LWS_PRE + len);
	memcpy(frame + LWS_PRE, buf, len);
	g_queue_push_tail(&c->tx, g_bytes_new_take(frame, LWS_PRE + len));
	lws_callback_on_writable(c->wsi);
	return 0;
}

void sbl_ws_close(sbl_ws *c)
{
	if (!c)
		return;
	if (!c->wsi) {
		conn_free(c);
		return;
	}
	c->closing = true;
	lws_callback_on_writable(c->wsi);
}

void sbl_ws_abort(sbl_ws *c)
{
	if (!c)
		return;
	if (!c->wsi) {
		conn_free(c);
		return;
	}
	/* no close frame: the TCP connection just ends (FIN), as when a
	 * browser tab dies or the network goes; lws sees the hang-up and
	 * frees through on_gone */
	c->closing = true;
	lws_sockfd_type fd = lws_get_socket_fd(c->wsi);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	lws_callback_on_writable(c->wsi);
}
