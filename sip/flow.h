/* A flow is the proxy's view of one WebSocket connection: a random token
 * that names it in the URIs the gateway hands out (Record-Route, Path,
 * Contact aliases), and the Contacts the browser registered through it.
 * The token is unguessable so that a SIP peer cannot steer requests into
 * another user's WebSocket. Signalling thread only. */
#ifndef SB_SIP_FLOW_H
#define SB_SIP_FLOW_H

#include <glib.h>
#include <stdbool.h>

#include "sip/limits.h"
#include "sip/ws_transport.h"

#define SB_FLOW_TOKEN_LEN 16

typedef struct sb_flow {
	grefcount ref;
	char token[SB_FLOW_TOKEN_LEN + 1];
	sb_ws_conn *conn;          /* owned ref; closed when the socket is */
	GHashTable *contacts;      /* contact user -> original Contact URI
				      (both owned strings) */
	GHashTable *dialogs;       /* sb_dialog* -> NULL (borrowed; the
				      dialog table owns them) */
	sb_rate rate;              /* messages per second (sip/limits.h) */
	bool rate_init;
	gint64 rate_logged_us;     /* last rate-limited log line */
} sb_flow;

/* New flow for an open connection; registered in the token table. */
sb_flow *sb_flow_new(sb_ws_conn *conn);

/* The socket is gone: the token stops resolving. Idempotent. */
void sb_flow_close(sb_flow *f);

sb_flow *sb_flow_ref(sb_flow *f);
void sb_flow_unref(sb_flow *f);

/* Flow by token, NULL if unknown or closed. Borrowed. */
sb_flow *sb_flow_lookup(const char *token);

/* Remember / look up the browser's own Contact URI behind an alias. */
void sb_flow_set_contact(sb_flow *f, const char *user, const char *uri);
const char *sb_flow_get_contact(const sb_flow *f, const char *user);

unsigned sb_flow_count(void);

#endif
