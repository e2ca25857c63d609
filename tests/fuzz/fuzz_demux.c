/* libFuzzer: RFC 7983 demux, then the parser the leg would use for that
 * class (RTP or RTCP): the path an untrusted datagram takes before SRTP. */
#include <stdint.h>
#include <stdlib.h>

#include "webrtc/demux.h"
#include "webrtc/rtcp.h"
#include "webrtc/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_rtp_hdr h;
	sb_rtcp_info in;

	switch (sb_demux_classify(data, size)) {
	case SB_DEMUX_RTP:
		if (size < 12)
			abort();
		(void)sb_rtp_parse(data, size, &h);
		break;
	case SB_DEMUX_RTCP:
		(void)sb_rtcp_parse(data, size, &in);
		break;
	case SB_DEMUX_DTLS:
		if (size < 13 || data[0] < 20 || data[0] > 63)
			abort();
		break;
	default:
		break;
	}
	return 0;
}
