/* The listener and address facing a SIP-side peer (see sip_face.h). */
#include "sip/sip_face.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/su.h>

#include "common/ip.h"

void sb_sip_peer_from_url(const url_t *next, sb_sip_peer *out)
{
	memset(out, 0, sizeof(*out));
	g_strlcpy(out->transport, "udp", sizeof(out->transport));
	if (!next)
		return;
	if (next->url_type == url_sips)
		g_strlcpy(out->transport, "tls", sizeof(out->transport));
	if (next->url_params)
		url_param(next->url_params, "transport", out->transport,
			  sizeof(out->transport));
	unsigned port = next->url_port ? (unsigned)atoi(next->url_port) : 5060;
	socklen_t len;
	sb_ip_sockaddr(next->url_host, port, &out->addr, &len); /* a name: family 0 */
}

void sb_sip_peer_from_msg(msg_t *msg, const sip_t *sip, sb_sip_peer *out)
{
	memset(out, 0, sizeof(*out));
	g_strlcpy(out->transport, "udp", sizeof(out->transport));
	const char *proto = sip && sip->sip_via ? sip->sip_via->v_protocol : NULL;
	const char *slash = proto ? strrchr(proto, '/') : NULL;
	if (slash && slash[1] && strlen(slash + 1) < sizeof(out->transport)) {
		g_strlcpy(out->transport, slash + 1, sizeof(out->transport));
		for (char *c = out->transport; *c; c++)
			*c = g_ascii_tolower(*c);
	}
	su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
	if (ai && ai->ai_addr && ai->ai_addrlen <= sizeof(out->addr) &&
	    (ai->ai_family == AF_INET || ai->ai_family == AF_INET6))
		memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
}

static int host_family(const char *host)
{
	if (!strcmp(host, "*"))
		return 0;
	return sb_ip_family(host);
}

const sb_sip_listen_spec *sb_sip_face_listener(const sb_sip_listen_spec *ls,
						 unsigned n, const sb_sip_peer *peer)
{
	const sb_sip_listen_spec *same_tp = NULL;
	int fam = peer->addr.ss_family;
	for (unsigned i = 0; i < n; i++) {
		if (g_ascii_strcasecmp(ls[i].transport, peer->transport))
			continue;
		int lf = host_family(ls[i].host);
		if (!fam || !lf || lf == fam)
			return &ls[i];
		if (!same_tp)
			same_tp = &ls[i];
	}
	return same_tp ? same_tp : n ? &ls[0] : NULL;
}

bool sb_sip_face_has_family(const sb_sip_listen_spec *ls, unsigned n,
			    const char *transport, int family)
{
	for (unsigned i = 0; i < n; i++) {
		int lf = host_family(ls[i].host);
		if (!g_ascii_strcasecmp(ls[i].transport, transport) && (!lf || lf == family))
			return true;
	}
	return false;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in);
}

/* The source address the kernel picks toward peer (which has a port:
 * a URL's or 5060, or where a request came from), if it has a route. */
static bool route_source(const struct sockaddr_storage *peer, char *buf, size_t size)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);
	int fd = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (const struct sockaddr *)peer, addr_len(peer)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&me, &len) == 0;
	close(fd);
	return ok && sb_ip_ntop(&me, buf, size);
}

void sb_sip_face_host(const sb_sip_listen_spec *l, const sb_sip_peer *peer,
		      const sb_sip_face_fallback *fb, char *buf, size_t size)
{
	g_strlcpy(buf, l->host, size);
	if (!sb_ip_is_wildcard(l->host))
		return;
	int lf = host_family(l->host), pf = peer->addr.ss_family;
	/* an IPv4 socket cannot reach an IPv6 peer: then only the fallback */
	if (pf && (!lf || lf == pf || lf == AF_INET6) &&
	    route_source(&peer->addr, buf, size))
		return;
	int fam = lf ? lf : pf ? pf : AF_INET;
	const char *f = fb ? (fam == AF_INET6 ? fb->v6 : fb->v4) : NULL;
	if (f && *f)
		g_strlcpy(buf, f, size);
	else
		g_strlcpy(buf, l->host, size);
}

/* An address (port 0) is this machine's when a socket can bind to it. */
static bool is_local_address(const struct sockaddr_storage *ss)
{
	if (!ss->ss_family)
		return false;
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = bind(fd, (const struct sockaddr *)ss, addr_len(ss)) == 0;
	close(fd);
	return ok;
}

bool sb_sip_face_is_ours(const sb_sip_listen_spec *ls, unsigned n, const char *host)
{
	struct sockaddr_storage h, l;
	socklen_t len;
	bool wildcard = false;
	sb_ip_sockaddr(host, 0, &h, &len);     /* a name: family 0 */
	for (unsigned i = 0; i < n; i++) {
		if (!g_ascii_strcasecmp(host, ls[i].host))
			return true;
		sb_ip_sockaddr(ls[i].host, 0, &l, &len);
		/* the same address spelled differently ("[::1]" in a URL) */
		if (h.ss_family && h.ss_family == l.ss_family &&
		    !memcmp(&h, &l, sizeof(h)))
			return true;
		wildcard |= sb_ip_is_wildcard(ls[i].host);
	}
	return wildcard && is_local_address(&h);
}
