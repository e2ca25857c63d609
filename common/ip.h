/* IP literals (header only, libc only). Any thread. */
#ifndef SB_COMMON_IP_H
#define SB_COMMON_IP_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* AF_INET or AF_INET6 when s is an IP literal (IPv6 without brackets),
 * else 0. */
static inline int sb_ip_family(const char *s)
{
	unsigned char buf[16];
	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	return inet_pton(AF_INET6, s, buf) == 1 ? AF_INET6 : 0;
}

/* host (an IP literal; IPv6 may be in brackets, as in a URL) and port
 * as a socket address: 0 and *len set, or -1 when host is no literal. */
static inline int sb_ip_sockaddr(const char *host, unsigned port,
				 struct sockaddr_storage *ss, socklen_t *len)
{
	char h[INET6_ADDRSTRLEN + 2];
	size_t n = host ? strlen(host) : 0;
	memset(ss, 0, sizeof(*ss));
	if (!n || n >= sizeof(h))
		return -1;
	memcpy(h, host, n + 1);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* The IP of a socket address as text (no brackets, no port); false if
 * it is neither IPv4 nor IPv6 or buf is too small. */
static inline bool sb_ip_ntop(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const void *a = ss->ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) &&
	       inet_ntop(ss->ss_family, a, buf, (socklen_t)size) != NULL;
}

/* "0.0.0.0", "::" (any spelling) or "*": an address to bind, never one
 * to give a peer. */
static inline bool sb_ip_is_wildcard(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	if (!s)
		return false;
	if (!strcmp(s, "*"))
		return true;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	return inet_pton(AF_INET6, s, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
}

#endif
