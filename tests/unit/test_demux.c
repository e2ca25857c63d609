/* RFC 7983 / RFC 5761 first-byte demultiplexing, table driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "webrtc/demux.h"

struct demux_case {
	uint8_t b0, b1;
	size_t len;
	sb_demux_kind want;
};

static const struct demux_case cases[] = {
	{ 0x00, 0x01, 20, SB_DEMUX_STUN },   /* binding request */
	{ 0x01, 0x01, 20, SB_DEMUX_STUN },
	{ 0x03, 0x00, 100, SB_DEMUX_STUN },
	{ 0x00, 0x01, 19, SB_DEMUX_UNKNOWN }, /* shorter than a STUN header */
	{ 0x04, 0x00, 100, SB_DEMUX_UNKNOWN },
	{ 19, 0xfe, 100, SB_DEMUX_UNKNOWN },
	{ 20, 0xfe, 13, SB_DEMUX_DTLS },     /* change_cipher_spec */
	{ 22, 0xfe, 200, SB_DEMUX_DTLS },    /* handshake */
	{ 23, 0xfe, 50, SB_DEMUX_DTLS },     /* application data */
	{ 63, 0xfe, 13, SB_DEMUX_DTLS },
	{ 22, 0xfe, 12, SB_DEMUX_UNKNOWN },  /* shorter than a record header */
	{ 64, 0, 100, SB_DEMUX_UNKNOWN },    /* TURN channel range */
	{ 127, 0, 100, SB_DEMUX_UNKNOWN },
	{ 0x80, 0, 12, SB_DEMUX_RTP },       /* PCMU */
	{ 0x80, 111, 100, SB_DEMUX_RTP },
	{ 0x80, 0x80 | 111, 100, SB_DEMUX_RTP }, /* marker set */
	{ 0x80, 0x80, 11, SB_DEMUX_UNKNOWN },
	{ 0x80, 200, 28, SB_DEMUX_RTCP },    /* SR */
	{ 0x81, 201, 32, SB_DEMUX_RTCP },    /* RR */
	{ 0x80, 192, 8, SB_DEMUX_RTCP },
	{ 0x80, 223, 8, SB_DEMUX_RTCP },
	{ 0x80, 224, 12, SB_DEMUX_RTP },     /* PT 96 with marker */
	{ 0x80, 191, 12, SB_DEMUX_RTP },     /* PT 63 with marker */
	{ 0x80, 200, 7, SB_DEMUX_UNKNOWN },
	{ 191, 0, 12, SB_DEMUX_RTP },
	{ 192, 0, 100, SB_DEMUX_UNKNOWN },
	{ 0xff, 0, 100, SB_DEMUX_UNKNOWN },
	{ 0x80, 0, 0, SB_DEMUX_UNKNOWN },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct demux_case *c = &cases[i];
		uint8_t *buf = test_malloc(c->len ? c->len : 1);
		memset(buf, 0, c->len ? c->len : 1);
		if (c->len > 0)
			buf[0] = c->b0;
		if (c->len > 1)
			buf[1] = c->b1;
		sb_demux_kind k = sb_demux_classify(buf, c->len);
		test_free(buf);
		if (k != c->want)
			fail_msg("case %zu (%u,%u,len %zu): got %d want %d",
				 i, c->b0, c->b1, c->len, k, c->want);
	}
}

static void test_one_byte(void **state)
{
	(void)state;
	/* a single byte of every value: never a positive classification */
	for (unsigned v = 0; v < 256; v++) {
		uint8_t b = (uint8_t)v;
		assert_int_equal(sb_demux_classify(&b, 1), SB_DEMUX_UNKNOWN);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_one_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
