/* libFuzzer: a datagram the demux called STUN, on a pair the gateway
 * reads itself (stun_pair.h): a peer's binding request to answer, or a
 * response to our consent request. Responses carry the transaction id
 * of the request just made, so the fuzzer reaches the response checks
 * (integrity, XOR-MAPPED-ADDRESS) and not only the id match. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc/stun_pair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static StunAgent agent;
static sb_stun_pair pair;
static gint64 now;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t req[SB_STUN_OUT_MAX], out[SB_STUN_OUT_MAX];
	size_t out_len;
	bool nominate;

	if (!ready) {
		sb_stun_agent_init(&agent);
		sb_stun_pair_init(&pair, &agent, "LFRG", "lpwd0123456789012345678",
				  "RFRG", "rpwd0123456789012345678", false, 0);
		ready = 1;
	}
	if (size > 2048)
		return 0;
	now += pair.interval_us * 2;
	(void)sb_stun_pair_poll(&pair, now, req);
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	if (size >= 20 && (buf[0] & 0x01) && pair.pending)
		memcpy(buf + 4, pair.pending_id, sizeof(pair.pending_id));
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_port = htons(40000),
				   .sin_addr.s_addr = htonl(0x7f000001) };
	sb_stun_result r = sb_stun_pair_input(&pair, buf, size,
					      (struct sockaddr *)&src,
					      sizeof(src), now, out, &out_len,
					      &nominate);
	if (r == SB_STUN_REPLY && (out_len == 0 || out_len > sizeof(out)))
		abort();
	if (r != SB_STUN_REPLY && out_len != 0)
		abort();
	free(buf);
	return 0;
}
