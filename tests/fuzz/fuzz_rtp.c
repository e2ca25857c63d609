/* libFuzzer: RTP parse, then rewrite the accepted packet in place and
 * re-parse it: a rewrite must never break a packet the parser accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_rtp_hdr h, h2;

	if (sb_rtp_parse(data, size, &h) < 0)
		return 0;
	if (h.header_len + h.payload_len + h.pad_len != size)
		abort();
	uint8_t *copy = malloc(size);
	memcpy(copy, data, size);
	sb_rtp_rewrite rw;
	sb_rtp_rewrite_init(&rw, 0x1234, 160);
	sb_rtp_rewrite_apply(&rw, copy, &h, 96);
	if (sb_rtp_parse(copy, size, &h2) < 0 || h2.pt != 96 ||
	    h2.ssrc != 0x1234 || h2.payload_len != h.payload_len)
		abort();
	free(copy);
	return 0;
}
