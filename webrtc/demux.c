/* RFC 7983 §7 first-byte demultiplexing, refined by RFC 5761 §4 to tell
 * RTCP from RTP on a muxed port. Pure; any thread. */
#include "webrtc/demux.h"

sb_demux_kind sb_demux_classify(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return SB_DEMUX_UNKNOWN;
	uint8_t b = buf[0];

	/* RFC 7983: 0..3 STUN, 20..63 DTLS, 128..191 RTP/RTCP. */
	if (b <= 3)
		return len >= 20 ? SB_DEMUX_STUN : SB_DEMUX_UNKNOWN;
	if (b >= 20 && b <= 63)
		return len >= 13 ? SB_DEMUX_DTLS : SB_DEMUX_UNKNOWN;
	if (b >= 128 && b <= 191) {
		if (len < 8)
			return SB_DEMUX_UNKNOWN;
		/* RFC 5761 §4: payload types 64..95 (with the marker bit
		 * folded in: 192..223) are RTCP packet types. */
		uint8_t pt = buf[1];
		if (pt >= 192 && pt <= 223)
			return SB_DEMUX_RTCP;
		return len >= 12 ? SB_DEMUX_RTP : SB_DEMUX_UNKNOWN;
	}
	return SB_DEMUX_UNKNOWN;
}
