/* RFC 7983 demultiplexing of one UDP 5-tuple carrying STUN, DTLS and
 * SRTP/SRTCP. Pure function, any thread. */
#ifndef SB_WEBRTC_DEMUX_H
#define SB_WEBRTC_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	SB_DEMUX_UNKNOWN = 0,
	SB_DEMUX_STUN,
	SB_DEMUX_DTLS,
	SB_DEMUX_RTP,
	SB_DEMUX_RTCP,
} sb_demux_kind;

/* Classify a datagram by its first bytes. Never reads past len. */
sb_demux_kind sb_demux_classify(const uint8_t *buf, size_t len);

#endif
