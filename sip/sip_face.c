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

/* host may be an IPv6 literal in brackets, as in a URL; anything else
 * leaves ss_family 0 (unknown) */
static void set_addr(struct sockaddr_storage *ss, const char *host, unsigned port)
{
	socklen_t len;
	sb_ip_sockaddr(host, port, ss, &len);
}

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
	set_addr(&out->addr, next->url_host, port);
}

void sb_sip_peer_from_msg(msg_t *msg, const sip_t *sip, sb_sip_peer *out)
{
	memset(out, 0, sizeof(*out));
	g_strlcpy(out->transport, "udp", sizeof(out->transport));
	const char *proto = sip && sip->sip_via ? sip->sip_via->v_protocol : NULL;
	const char *slash = proto ? strrchr(proto, '/') : NULL;
	if (slash && slash[1] && strlen(slash + 1) < sizeof(out->transport))
		for (size_t i = 0; i <= strlen(slash + 1); i++)
			out->transport[i] = g_ascii_tolower(slash[1 + i]);
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

/* The source address the kernel picks toward peer, if it has a route. */
static bool route_source(const struct sockaddr_storage *peer, char *buf, size_t size)
{
	struct sockaddr_storage to = *peer, me;
	socklen_t len = sizeof(me);
	socklen_t to_len = to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : sizeof(struct sockaddr_in);
	/* connect() refuses port 0 on some kernels: any port does */
	if (to.ss_family == AF_INET && !((struct sockaddr_in *)&to)->sin_port)
		((struct sockaddr_in *)&to)->sin_port = htons(5060);
	if (to.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&to)->sin6_port)
		((struct sockaddr_in6 *)&to)->sin6_port = htons(5060);
	int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&to, to_len) == 0 &&
		  getsockname(fd, (struct sockaddr *)&me, &len) == 0;
	close(fd);
	if (!ok)
		return false;
	const void *a = me.ss_family == AF_INET6
		? (const void *)&((struct sockaddr_in6 *)&me)->sin6_addr
		: (const void *)&((struct sockaddr_in *)&me)->sin_addr;
	return inet_ntop(me.ss_family, a, buf, (socklen_t)size) != NULL;
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

/* An address is this machine's when a socket can bind to it. */
static bool is_local_address(const struct sockaddr_storage *ss)
{
	if (!ss->ss_family)
		return false;
	struct sockaddr_storage a = *ss;
	socklen_t len = a.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						: sizeof(struct sockaddr_in);
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = bind(fd, (struct sockaddr *)&a, len) == 0;
	close(fd);
	return ok;
}

bool sb_sip_face_is_ours(const sb_sip_listen_spec *ls, unsigned n, const char *host)
{
	struct sockaddr_storage h;
	bool wildcard = false;
	set_addr(&h, host, 0);
	for (unsigned i = 0; i < n; i++) {
		if (!g_ascii_strcasecmp(host, ls[i].host))
			return true;
		struct sockaddr_storage l;
		set_addr(&l, ls[i].host, 0);
		/* the same address spelled differently ("[::1]" in a URL) */
		if (h.ss_family && h.ss_family == l.ss_family &&
		    !memcmp(&h, &l, sizeof(h)))
			return true;
		wildcard |= sb_ip_is_wildcard(ls[i].host);
	}
	return wildcard && is_local_address(&h);
}
