/* DTMF carried in SIP INFO bodies: application/dtmf-relay
 * ("Signal=1\r\nDuration=160\r\n", durations in ms) and application/dtmf
 * ("1"). The body bytes are untrusted. Pure functions; any thread. */
#ifndef SB_TRANSCODING_DTMF_INFO_H
#define SB_TRANSCODING_DTMF_INFO_H

#include <stddef.h>
#include <sys/types.h>

/* Duration assumed when the body carries none. */
#define SB_DTMF_INFO_DEFAULT_MS 250
/* Longest duration accepted (a stuck key, not a digit, beyond this). */
#define SB_DTMF_INFO_MAX_MS 10000

/* content_type is the Content-Type value (parameters allowed, case
 * ignored). On success returns 0 with *digit one of "0-9*#A-D" and
 * *duration_ms in 1..SB_DTMF_INFO_MAX_MS. -ENOTSUP for another content
 * type, -EBADMSG for a malformed body. */
int sb_dtmf_info_parse(const char *content_type, const char *body,
		       size_t len, char *digit, unsigned *duration_ms);
/* Write an application/dtmf-relay body (NUL-terminated); returns its
 * length, -EINVAL for a bad digit, -ENOSPC if cap is too small. */
ssize_t sb_dtmf_info_build(char digit, unsigned duration_ms, char *buf,
			   size_t cap);

#endif
