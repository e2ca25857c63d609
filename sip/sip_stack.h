/* The sofia-sip side of the signalling thread: su root on the signalling
 * GMainContext (su_glib), one NTA agent in proxy mode bound to every
 * listen.sip entry. Signalling thread only; create it on that thread
 * (the su root belongs to its creating thread). */
#ifndef SB_SIP_SIP_STACK_H
#define SB_SIP_SIP_STACK_H

#include <stdbool.h>
#include <glib.h>
#include <sofia-sip/nta.h>

typedef struct sb_sip_stack sb_sip_stack;

/* sofia's transport selection ignores the address family: with IPv4 and
 * IPv6 listeners of one protocol, every request would leave by the first
 * one, and an IPv6 next hop could not be reached. So each listener is
 * named by its family ("v4", "v6"; NULL for a wildcard "*") and requests
 * to an IP literal ask for the name of its family (TPTAG_IDENT). host may
 * be in brackets, as in a URL. */
const char *sb_sip_stack_tport_ident(const char *host);

typedef struct sb_sip_listen_spec {
	const char *transport;   /* "udp", "tcp", "tls" */
	const char *host;        /* IP literal */
	unsigned port;
} sb_sip_listen_spec;

/* Handler for every request or stray response NTA does not absorb. Owns
 * msg (see nta_message_f). */
typedef int (*sb_sip_message_cb)(void *user_data, nta_agent_t *agent,
				 msg_t *msg, sip_t *sip);

/* The certificate for tls: listeners, as the daemon's tls.cert / tls.key
 * PEM files. Borrowed for the duration of sb_sip_stack_new only. */
typedef struct sb_sip_tls {
	const char *cert;        /* PEM certificate (chain), path */
	const char *key;         /* PEM private key, path */
	/* as a client: verify the server's chain and name (sofia's
	 * TPTLS_VERIFY_SUBJECTS_OUT) against ca_file, NULL/"" = the
	 * system's bundle */
	bool verify_server;
	const char *ca_file;
} sb_sip_tls;

/* Bind and attach to ctx. tls: used only when a listener is "tls"; may be
 * NULL otherwise. sofia wants a directory holding agent.pem (key and
 * certificate in one file): the stack makes a private one (mode 0700,
 * under $TMPDIR, agent.pem mode 0600), hands it to sofia and deletes it
 * in sb_sip_stack_free. NULL + *err on failure (names the listener or
 * the file that could not be read). */
sb_sip_stack *sb_sip_stack_new(GMainContext *ctx,
			       const sb_sip_listen_spec *listen, unsigned n,
			       const sb_sip_tls *tls,
			       sb_sip_message_cb cb, void *user_data,
			       GError **err);

/* The private certificate directory of a running stack, or NULL when no
 * tls: listener was configured. Borrowed. */
const char *sb_sip_stack_tls_dir(const sb_sip_stack *s);
void sb_sip_stack_free(sb_sip_stack *s);

/* Borrowed. */
nta_agent_t *sb_sip_stack_agent(sb_sip_stack *s);
su_root_t *sb_sip_stack_root(sb_sip_stack *s);
su_home_t *sb_sip_stack_home(sb_sip_stack *s);

/* Change the message handler (the proxy installs itself after creation). */
void sb_sip_stack_set_handler(sb_sip_stack *s, sb_sip_message_cb cb,
			      void *user_data);

#endif
