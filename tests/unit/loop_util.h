/* Helpers shared by the media unit tests (header only; test thread). */
#ifndef SB_TESTS_LOOP_UTIL_H
#define SB_TESTS_LOOP_UTIL_H

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "webrtc/txq.h"

static inline gboolean sbt_expire(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

/* Send what the worker made in its last loop pass now: it would leave
 * only at the start of the next pass (txq.h), and a test that reads
 * the peers' sockets after a spin must see everything sent so far. */
static inline void sbt_flush_sends(GMainContext *ctx)
{
	sb_txq *q = sb_txq_get(ctx);
	sb_txq_flush(q);
	sb_txq_unref(q);
}

/* Run ctx for ms milliseconds (its sources dispatch meanwhile), then
 * flush its send queue. */
static inline void sbt_spin(GMainContext *ctx, unsigned ms)
{
	bool expired = false;
	GSource *w = g_timeout_source_new(ms);
	g_source_set_callback(w, sbt_expire, &expired, NULL);
	g_source_attach(w, ctx);
	while (!expired)
		g_main_context_iteration(ctx, TRUE);
	g_source_destroy(w);
	g_source_unref(w);
	sbt_flush_sends(ctx);
}

/* A non-blocking UDP socket on 127.0.0.1, any port: the fd (-1 on
 * failure) and its port in *port. */
static inline int sbt_udp_socket(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

#endif
