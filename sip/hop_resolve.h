/* route.outbound_proxy given by a host name, resolved the way the rest of
 * the machine resolves names. sofia-sip's resolver speaks DNS only: it
 * never reads /etc/hosts, so "sip:localhost:5080" (a PBX on the same
 * host) or a name that only the hosts file knows (a container's
 * hostAliases, a lab's "pbx.local") failed every call with 503.
 *
 * A name DNS knows stays sofia's: the lookup RFC 3263 asks for (an SRV
 * record for the URI's transport when it has no port, else A or AAAA)
 * is made of DNS itself (res_query), and when it answers, sofia does
 * the whole procedure with its failover between servers and addresses.
 * Otherwise (and always for "localhost", RFC 6761) getaddrinfo resolves
 * it: the hosts file and whatever else the system's resolver reads. Of
 * its addresses, the first of a family that the gateway has a listener
 * of that transport for is taken, and the next hop becomes the same URI
 * with that IP in place of the name (no port: the default port).
 *
 * Looked up again every SB_HOP_RESOLVE_INTERVAL_S; a failed lookup keeps
 * the last good answer. The callback is called when the hop changes;
 * until the first answer the name is the hop.
 *
 * Thread: create, free and the callback on the signalling thread (the
 * thread-default context when created); the lookups on GIO's pool. */
#ifndef SB_SIP_HOP_RESOLVE_H
#define SB_SIP_HOP_RESOLVE_H

#include "sip/sip_stack.h"

#define SB_HOP_RESOLVE_INTERVAL_S 60

typedef struct sb_hop_resolve sb_hop_resolve;

/* hop: the URI to use as the next hop from now on. */
typedef void (*sb_hop_resolve_cb)(const char *hop, void *user_data);

/* uri: a SIP URI. NULL when it is empty, unparsable or its host is
 * already an IP literal (nothing to resolve). ls[0..n-1] is copied. */
sb_hop_resolve *sb_hop_resolve_new(const char *uri, const sb_sip_listen_spec *ls,
				   unsigned n, sb_hop_resolve_cb cb, void *user_data);
void sb_hop_resolve_free(sb_hop_resolve *r);

/* uri with host replaced by the IP literal ip (bracketed when IPv6);
 * NULL if uri does not parse. Exposed for the unit test. */
char *sb_hop_resolve_with_ip(const char *uri, const char *ip);

#endif
