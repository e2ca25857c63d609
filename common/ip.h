/* IP literals (header only, libc only). Any thread. */
#ifndef SB_COMMON_IP_H
#define SB_COMMON_IP_H

#include <arpa/inet.h>
#include <stdbool.h>
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
