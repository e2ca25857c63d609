/* The sofia-sip side of the signalling thread: su root on the signalling
 * GMainContext (su_glib), one NTA agent in proxy mode bound to every
 * listen.sip entry. Signalling thread only; create it on that thread
 * (the su root belongs to its creating thread). */
#ifndef SB_SIP_SIP_STACK_H
#define SB_SIP_SIP_STACK_H

#include <glib.h>
#include <sofia-sip/nta.h>

typedef struct sb_sip_stack sb_sip_stack;

typedef struct sb_sip_listen_spec {
	const char *transport;   /* "udp", "tcp", "tls" */
	const char *host;        /* IP literal */
	unsigned port;
} sb_sip_listen_spec;

/* Handler for every request or stray response NTA does not absorb. Owns
 * msg (see nta_message_f). */
typedef int (*sb_sip_message_cb)(void *user_data, nta_agent_t *agent,
				 msg_t *msg, sip_t *sip);

/* Bind and attach to ctx. tls_cert_dir: directory with agent.pem (sofia's
 * convention) or NULL. NULL + *err on failure (names the listener). */
sb_sip_stack *sb_sip_stack_new(GMainContext *ctx,
			       const sb_sip_listen_spec *listen, unsigned n,
			       const char *tls_cert_dir,
			       sb_sip_message_cb cb, void *user_data,
			       GError **err);
void sb_sip_stack_free(sb_sip_stack *s);

/* Borrowed. */
nta_agent_t *sb_sip_stack_agent(sb_sip_stack *s);
su_root_t *sb_sip_stack_root(sb_sip_stack *s);
su_home_t *sb_sip_stack_home(sb_sip_stack *s);

/* Change the message handler (the proxy installs itself after creation). */
void sb_sip_stack_set_handler(sb_sip_stack *s, sb_sip_message_cb cb,
			      void *user_data);

#endif
