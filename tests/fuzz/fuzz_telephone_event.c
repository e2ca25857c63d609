/* libFuzzer target for the untrusted DTMF inputs: RFC 4733 payload
 * streams (through parse, clock mapping and the receiver) and SIP INFO
 * bodies. The first byte picks the mode. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "transcoding/dtmf_info.h"
#include "transcoding/telephone_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Records of 4-byte timestamp + 4-byte payload; the tail (if any) is one
 * short payload. */
static void fuzz_rtp(const uint8_t *data, size_t size)
{
	sb_dtmf_rx rx;
	sb_dtmf_digit out[2];
	sb_tel_event ev;
	uint8_t pl[8];

	sb_dtmf_rx_init(&rx, 8000);
	while (size > 0) {
		size_t take = size < 8 ? size : 8;
		uint32_t ts = 0;
		memcpy(&ts, data, take < 4 ? take : 4);
		size_t pl_len = take > 4 ? take - 4 : 0;
		if (pl_len > 0)
			memcpy(pl, data + 4, pl_len);
		if (sb_tel_event_parse(pl, pl_len, &ev) == 0) {
			uint8_t back[4];
			sb_tel_event_build(&ev, back, sizeof(back));
		}
		sb_tel_event_map_payload(pl, pl_len, 48000, 8000);
		(void)sb_tel_event_map_ts(ts, 0x12345678u, 99, 48000, 8000);
		int n = sb_dtmf_rx_packet(&rx, ts, pl, pl_len, out);
		if (n > 2)
			__builtin_trap();
		for (int i = 0; i < n; i++)
			if (out[i].digit == 0)
				__builtin_trap();
		data += take;
		size -= take;
	}
	sb_dtmf_rx_expire(&rx, out);
}

static void fuzz_info(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"application/dtmf-relay", "application/dtmf",
		"Application/DTMF-Relay; x=y", "text/plain",
	};
	char digit;
	unsigned ms;

	if (size == 0)
		return;
	const char *type = types[data[0] % 4];
	if (sb_dtmf_info_parse(type, (const char *)data + 1, size - 1, &digit,
			       &ms) == 0) {
		char body[64];
		if (ms == 0 || ms > SB_DTMF_INFO_MAX_MS ||
		    sb_dtmf_info_build(digit, ms, body, sizeof(body)) < 0)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_info(data + 1, size - 1);
	else
		fuzz_rtp(data + 1, size - 1);
	return 0;
}
