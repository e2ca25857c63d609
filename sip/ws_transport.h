/* SIP over WebSocket (RFC 7118) transport: the lws protocol "sip", one
 * connection object per WebSocket, whole messages in and out. Signalling
 * thread only (lws runs on the signalling GMainContext).
 *
 * A connection is a flow (RFC 5626 sense): whatever arrives on it, the
 * answers and in-dialog requests go back on the same connection. The
 * sb_ws_conn outlives its socket: holders keep a reference, and after
 * close sb_ws_conn_send() fails with -ENOTCONN. */
#ifndef SB_SIP_WS_TRANSPORT_H
#define SB_SIP_WS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws_protocols;

typedef struct sb_ws_conn sb_ws_conn;

/* What an upgrade request shows before it is accepted. Borrowed. */
typedef struct sb_ws_upgrade {
	const char *ip;            /* client address */
	const char *origin;        /* Origin header, NULL when absent */
	const char *user_arg;      /* URL argument user=, NULL when absent */
	const char *token_arg;     /* URL argument token=, NULL when absent */
} sb_ws_upgrade;

typedef struct sb_ws_handlers {
	/* Decide an upgrade: NULL to accept (optionally writing the
	 * authenticated user name into user[65]), or a short reason to
	 * refuse (the handler logs it). NULL handler = accept all. */
	const char *(*on_upgrade)(const sb_ws_upgrade *up, char *user,
				  void *user_data);
	/* A new connection passed the upgrade checks. */
	void (*on_open)(sb_ws_conn *c, void *user_data);
	/* A message over the size limit: its first bytes (borrowed), so that
	 * the layer above can answer 513; the rest of it is dropped. */
	void (*on_too_large)(sb_ws_conn *c, const char *head, size_t len,
			     void *user_data);
	/* One complete message (frame), not NUL-terminated, borrowed. */
	void (*on_message)(sb_ws_conn *c, const char *buf, size_t len,
			   void *user_data);
	/* The socket is gone (either side closed). Called once. */
	void (*on_close)(sb_ws_conn *c, void *user_data);
} sb_ws_handlers;

typedef struct sb_ws_settings {
	size_t max_message;        /* larger messages are refused */
	size_t max_queued_bytes;   /* output queue bound per connection */
	unsigned first_message_ms; /* close when nothing came by then; 0 = no limit */
} sb_ws_settings;

/* Install handlers and limits; call before lws creates the vhosts. */
void sb_ws_transport_init(const sb_ws_handlers *h, void *user_data,
			  const sb_ws_settings *s);

/* The "sip" protocol entry for the vhost's protocol table. Static. */
const struct lws_protocols *sb_ws_transport_protocol(void);

/* Queue one message for sending as a text frame. 0, -ENOTCONN after
 * close, -ENOBUFS when the output queue is over its bound. */
int sb_ws_conn_send(sb_ws_conn *c, const char *buf, size_t len);

/* Close with a WebSocket status code (1000 normal, 1001 going away).
 * Idempotent; on_close follows from the event loop. */
void sb_ws_conn_close(sb_ws_conn *c, int status, const char *reason);

sb_ws_conn *sb_ws_conn_ref(sb_ws_conn *c);
void sb_ws_conn_unref(sb_ws_conn *c);

/* Stable id (never reused in a process) and peer "ip:port", borrowed. */
uint64_t sb_ws_conn_id(const sb_ws_conn *c);
const char *sb_ws_conn_peer(const sb_ws_conn *c);
const char *sb_ws_conn_peer_ip(const sb_ws_conn *c);
bool sb_ws_conn_is_open(const sb_ws_conn *c);
bool sb_ws_conn_secure(const sb_ws_conn *c);
/* The user the upgrade authenticated (token), "" when none. */
const char *sb_ws_conn_user(const sb_ws_conn *c);

/* Per-connection slot for the layer above (the proxy). Borrowed. */
void sb_ws_conn_set_data(sb_ws_conn *c, void *data);
void *sb_ws_conn_get_data(const sb_ws_conn *c);

/* A connection with no socket behind it, for tests and fuzzing: what is
 * sent on it goes to sink (borrowed buffer). Open until
 * sb_ws_conn_detach_close(), which does not call on_close. */
typedef void (*sb_ws_sink_cb)(const char *buf, size_t len, void *user_data);
sb_ws_conn *sb_ws_conn_new_detached(sb_ws_sink_cb sink, void *user_data);
void sb_ws_conn_detach_close(sb_ws_conn *c);

/* Connections currently open. */
unsigned sb_ws_transport_count(void);

/* Close every open connection with the given status (shutdown). */
void sb_ws_transport_close_all(int status, const char *reason);

#endif
