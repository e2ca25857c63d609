/* Which of the gateway's SIP listeners faces a SIP-side peer, and the
 * address to put in what that peer will send back to (Record-Route, Path,
 * the Contact alias of a registered browser, a local service's Contact).
 *
 * A listener is chosen by the transport toward the peer and, among those,
 * by the peer's address family: a dual-stack gateway must not hand an
 * IPv6 phone its IPv4 address. A listener bound to a wildcard ("0.0.0.0",
 * "::", "*") has no address of its own to advertise: it gets the source
 * address the kernel would use toward the peer (connect(2) on a UDP
 * socket looks the route up and sends nothing), or when the peer's
 * address is unknown (a host name) the fallback of its family.
 *
 * Signalling thread (no state; the route lookup is one socket(2)). */
#ifndef SB_SIP_SIP_FACE_H
#define SB_SIP_SIP_FACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/url.h>

#include "sip/sip_stack.h"

/* A SIP-side peer as far as it is known. */
typedef struct sb_sip_peer {
	char transport[8];             /* "udp", "tcp", "tls" */
	struct sockaddr_storage addr;  /* ss_family 0: unknown */
} sb_sip_peer;

/* The peer a request to next goes to: transport from its scheme and
 * transport parameter (UDP by default), address when its host is an IP
 * literal. NULL next: UDP, address unknown. */
void sb_sip_peer_from_url(const url_t *next, sb_sip_peer *out);

/* The peer a request came from: transport from its top Via, address from
 * where the datagram or connection came from. */
void sb_sip_peer_from_msg(msg_t *msg, const sip_t *sip, sb_sip_peer *out);

/* The listener toward peer among ls[0..n-1]: the first of its transport
 * and family, else the first of its transport, else ls[0]; NULL if n is
 * 0. A wildcard "*" listener matches either family. */
const sb_sip_listen_spec *sb_sip_face_listener(const sb_sip_listen_spec *ls,
						 unsigned n, const sb_sip_peer *peer);

/* Whether ls[0..n-1] has a listener of transport that can reach a peer
 * of family (AF_INET, AF_INET6): one bound to that family or to "*". */
bool sb_sip_face_has_family(const sb_sip_listen_spec *ls, unsigned n,
			    const char *transport, int family);

/* The fallback addresses of a wildcard listener, by family (NULL or ""
 * when the gateway has none of that family). */
typedef struct sb_sip_face_fallback {
	const char *v4;
	const char *v6;
} sb_sip_face_fallback;

/* The host l is reached at from peer, without brackets, into buf: l's
 * own host, or for a wildcard the route lookup's source address, else
 * the fallback of l's family (of the peer's for "*"), else l's host as
 * written. */
void sb_sip_face_host(const sb_sip_listen_spec *l, const sb_sip_peer *peer,
		      const sb_sip_face_fallback *fb, char *buf, size_t size);

/* Whether host (an IPv6 literal may be in brackets) names this gateway:
 * a listener's own host, or any address of this machine when a listener
 * is a wildcard. */
bool sb_sip_face_is_ours(const sb_sip_listen_spec *ls, unsigned n, const char *host);

#endif
