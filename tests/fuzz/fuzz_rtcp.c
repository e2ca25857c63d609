/* libFuzzer: RTCP compound parse; when it succeeds, rebuild a report from
 * what was parsed and check that it parses back to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc/rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_rtcp_info in, back;
	uint8_t buf[1500];

	if (sb_rtcp_parse(data, size, &in) < 0)
		return 0;
	if (!in.has_cname || in.cname[0] == '\0' || in.n_blocks > 31)
		return 0;
	if (strlen(in.cname) > SB_RTCP_CNAME_MAX)
		abort();
	ssize_t n = sb_rtcp_build_report(buf, sizeof(buf), in.cname_ssrc,
					 in.has_sr ? &in.sr : NULL,
					 in.blocks, in.n_blocks, in.cname);
	if (n < 0)
		abort();
	if (sb_rtcp_parse(buf, (size_t)n, &back) < 0 ||
	    back.n_blocks != in.n_blocks ||
	    strcmp(back.cname, in.cname) != 0)
		abort();
	for (unsigned i = 0; i < in.n_blocks; i++) {
		/* cum_lost is 24-bit on the wire: compare what survives */
		if (back.blocks[i].ssrc != in.blocks[i].ssrc ||
		    back.blocks[i].cum_lost != in.blocks[i].cum_lost)
			abort();
	}
	return 0;
}
