/* libFuzzer target: WebSocket payloads through the proxy as a browser
 * would send them — sofia's parser, the checks, the routing decision, the
 * Path/Contact/Record-Route rewriting, local replies and services, and
 * the teardown when the connection closes. One input holds up to four
 * messages separated by NUL bytes, all on one connection, so dialogs
 * (INVITE, then ACK/BYE/CANCEL) are reached.
 *
 * Run it only inside a network namespace with nothing but lo (test.sh
 * does): a fuzzed Route or Request-URI may name any host, and NTA will
 * try to send there. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "sip/proxy.h"
#include "sip/sip_stack.h"
#include "sip/ws_transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GMainContext *ctx;
static sb_sip_stack *stack;
static sb_proxy *proxy;

static void sink(const char *buf, size_t len, void *user_data)
{
	/* What the browser would receive is a keep-alive answer or a SIP
	 * message. */
	if (len == 2 && !memcmp(buf, "\r\n", 2))
		return;
	if (len < 8 || (memcmp(buf, "SIP/2.0 ", 8) && !memchr(buf, ' ', len)))
		__builtin_trap();
}

static void quiet_log(const gchar *d, GLogLevelFlags l, const gchar *m, gpointer u)
{
}

static void setup(void)
{
	g_log_set_default_handler(quiet_log, NULL);
	ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	sb_sip_listen_spec l = { "udp", "127.0.0.1", 0 };
	stack = sb_sip_stack_new(ctx, &l, 1, NULL, NULL, NULL, NULL);
	if (!stack)
		__builtin_trap();
	sb_proxy_config cfg = {
		.outbound_proxy = "sip:127.0.0.1:9;transport=udp",
		.sip = &l, .n_sip = 1,
		.ws_host = "127.0.0.1:8080",
		.svc_echo = "echo", .svc_conf_prefix = "conf-",
	};
	proxy = sb_proxy_new(sb_sip_stack_agent(stack), &cfg);
	sb_sip_stack_set_handler(stack, sb_proxy_sip_message, proxy);
}

/* A few non-blocking iterations, not "until idle": sofia's GLib source
 * reports ready while a timer is less than 1 ms away, so draining would
 * spin on every pending NTA timer. */
static void pump(void)
{
	for (int i = 0; i < 4; i++)
		g_main_context_iteration(ctx, FALSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!proxy)
		setup();
	if (size > 65536)
		return 0;
	sb_ws_conn *c = sb_ws_conn_new_detached(sink, NULL);
	sb_proxy_ws_open(c, proxy);
	size_t off = 0;
	for (int n = 0; n < 4 && off < size; n++) {
		const uint8_t *end = memchr(data + off, 0, size - off);
		size_t len = end ? (size_t)(end - (data + off)) : size - off;
		if (len)
			sb_proxy_ws_message(c, (const char *)data + off, len, proxy);
		off += len + 1;
		pump();
	}
	sb_ws_conn_detach_close(c);
	sb_proxy_ws_close(c, proxy);
	sb_ws_conn_unref(c);
	pump();
	return 0;
}
