/* IP literals (header only, libc only). Any thread. */
#ifndef SB_COMMON_IP_H
#define SB_COMMON_IP_H

#include <arpa/inet.h>
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

#endif
