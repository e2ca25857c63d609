/* libFuzzer target for sip/sdp.c: parse untrusted SDP, then write an
 * offer and an answer from what was parsed (the answer mirrors every
 * m-line of the input). Must neither crash nor leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "sip/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_sdp *sdp = NULL;
	sb_sdp_origin o = { .username = "-", .sess_id = 1,
			    .sess_version = 2, .addr = "127.0.0.1" };
	char *text = NULL;

	if (sb_sdp_parse((const char *)data, size, 65536, &sdp) < 0)
		return 0;
	if (sb_sdp_write_answer(&o, &sdp->audio, sdp, &text) == 0)
		g_free(text);
	text = NULL;
	if (sb_sdp_write_offer(&o, &sdp->audio, &text) == 0) {
		sb_sdp *again = NULL;

		/* What we write must parse again. */
		if (sb_sdp_parse(text, strlen(text), 65536, &again) < 0)
			__builtin_trap();
		sb_sdp_free(again);
		g_free(text);
	}
	sb_sdp_free(sdp);
	return 0;
}
