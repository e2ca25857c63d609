/* RTCP: compound parse (SR/RR/SDES/BYE, unknown types), malformed and
 * truncated input, report building round trip, and the RFC 3550 A.3/A.8
 * receiver statistics (loss, fraction, wrap, jitter, LSR/DLSR). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "webrtc/rtcp.h"

/* SR (1 block) + SDES CNAME "ab" + BYE, as a browser would send. */
static const uint8_t compound[] = {
	0x81, 200, 0x00, 0x0c,              /* SR, RC=1, 13 words */
	0x11, 0x11, 0x11, 0x11,             /* sender SSRC */
	0xe0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, /* NTP */
	0x00, 0x00, 0x03, 0xe8,             /* RTP ts 1000 */
	0x00, 0x00, 0x00, 0x0a,             /* 10 packets */
	0x00, 0x00, 0x06, 0x40,             /* 1600 octets */
	0x22, 0x22, 0x22, 0x22,             /* block: source */
	0x40, 0xff, 0xff, 0xfe,             /* fraction 64, cum -2 */
	0x00, 0x01, 0x00, 0x05,             /* ext seq */
	0x00, 0x00, 0x00, 0x07,             /* jitter */
	0x12, 0x34, 0x56, 0x78,             /* lsr */
	0x00, 0x01, 0x00, 0x00,             /* dlsr */
	0x81, 202, 0x00, 0x03,              /* SDES, 1 chunk, 4 words */
	0x11, 0x11, 0x11, 0x11,
	0x01, 0x02, 'a', 'b', 0x00, 0x00, 0x00, 0x00,
	0x81, 203, 0x00, 0x01,              /* BYE, 1 SSRC */
	0x11, 0x11, 0x11, 0x11,
	0x80, 206, 0x00, 0x02,              /* PSFB (PLI), skipped */
	0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
};

static void test_parse_compound(void **state)
{
	(void)state;
	sb_rtcp_info in;
	assert_int_equal(sb_rtcp_parse(compound, sizeof(compound), &in), 0);
	assert_int_equal(in.n_packets, 4);
	assert_int_equal(in.n_other, 1);
	assert_true(in.has_sr);
	assert_int_equal(in.sr_ssrc, 0x11111111);
	assert_int_equal(in.sr.ntp, 0xe000000180000000ull);
	assert_int_equal(in.sr.rtp_ts, 1000);
	assert_int_equal(in.sr.packets, 10);
	assert_int_equal(in.sr.octets, 1600);
	assert_int_equal(in.n_blocks, 1);
	assert_int_equal(in.blocks[0].ssrc, 0x22222222);
	assert_int_equal(in.blocks[0].fraction_lost, 64);
	assert_int_equal(in.blocks[0].cum_lost, -2);
	assert_int_equal(in.blocks[0].ext_max_seq, 0x10005);
	assert_int_equal(in.blocks[0].jitter, 7);
	assert_int_equal(in.blocks[0].lsr, 0x12345678);
	assert_int_equal(in.blocks[0].dlsr, 0x10000);
	assert_true(in.has_cname);
	assert_string_equal(in.cname, "ab");
	assert_int_equal(in.n_bye, 1);
	assert_int_equal(in.bye_ssrc[0], 0x11111111);
}

/* Every strict prefix of the compound that cuts a packet must be refused;
 * prefixes ending on a packet boundary are valid compounds. */
static void test_truncations(void **state)
{
	(void)state;
	const size_t bounds[] = { 52, 68, 76 };
	for (size_t n = 0; n < sizeof(compound); n++) {
		uint8_t *copy = test_malloc(n ? n : 1);
		memcpy(copy, compound, n);
		sb_rtcp_info in;
		int ret = sb_rtcp_parse(copy, n, &in);
		test_free(copy);
		bool boundary = false;
		for (size_t b = 0; b < 3; b++)
			boundary |= n == bounds[b];
		if (boundary)
			assert_int_equal(ret, 0);
		else if (ret != -EBADMSG)
			fail_msg("prefix %zu: ret %d", n, ret);
	}
}

struct bad_case {
	const char *name;
	uint8_t bytes[40];
	size_t len;
};

static const struct bad_case bad[] = {
	{ "version 0", { 0x01, 201, 0, 1, 0, 0, 0, 1 }, 8 },
	{ "length past end", { 0x80, 201, 0, 5, 0, 0, 0, 1 }, 8 },
	{ "RR count > body", { 0x81, 201, 0, 1, 0, 0, 0, 1 }, 8 },
	{ "SR too short", { 0x80, 200, 0, 1, 0, 0, 0, 1 }, 8 },
	{ "SDES item past end", { 0x81, 202, 0, 2, 0, 0, 0, 1,
				  1, 9, 'a', 'b', 'c', 'd', 0, 0 }, 12 },
	{ "SDES no terminator", { 0x81, 202, 0, 2, 0, 0, 0, 1,
				  1, 2, 'a', 'b' }, 12 },
	{ "BYE count > body", { 0x82, 203, 0, 1, 0, 0, 0, 1 }, 8 },
	{ "padding not last", { 0xa0, 201, 0, 1, 0, 0, 0, 4,
				0x80, 201, 0, 1, 0, 0, 0, 1 }, 16 },
	{ "padding too big", { 0xa0, 201, 0, 1, 0, 0, 0, 9 }, 8 },
	{ "3 bytes", { 0x80, 201, 0 }, 3 },
};

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_rtcp_info in;
		int ret = sb_rtcp_parse(bad[i].bytes, bad[i].len, &in);
		if (ret != -EBADMSG)
			fail_msg("%s: ret %d", bad[i].name, ret);
	}
}

static void test_padding_last_ok(void **state)
{
	(void)state;
	/* RR with no blocks + 4 bytes of padding */
	const uint8_t rr[] = { 0xa0, 201, 0, 2, 0, 0, 0, 5, 0, 0, 0, 4 };
	sb_rtcp_info in;
	assert_int_equal(sb_rtcp_parse(rr, sizeof(rr), &in), 0);
	assert_true(in.has_rr);
	assert_int_equal(in.rr_ssrc, 5);
}

static void test_build_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[256];
	sb_rtcp_sender_info si = { .ntp = 0x0102030405060708ull,
				   .rtp_ts = 48000, .packets = 50,
				   .octets = 5000 };
	sb_rtcp_block b = { .ssrc = 7, .fraction_lost = 12, .cum_lost = -3,
			    .ext_max_seq = 70000, .jitter = 44,
			    .lsr = 0xabcd, .dlsr = 99 };
	ssize_t n = sb_rtcp_build_report(buf, sizeof(buf), 0x99, &si, &b, 1,
					 "user@host");
	assert_true(n > 0);
	assert_int_equal(n % 4, 0);
	sb_rtcp_info in;
	assert_int_equal(sb_rtcp_parse(buf, (size_t)n, &in), 0);
	assert_int_equal(in.n_packets, 2);
	assert_true(in.has_sr);
	assert_int_equal(in.sr_ssrc, 0x99);
	assert_int_equal(in.sr.ntp, si.ntp);
	assert_int_equal(in.sr.packets, 50);
	assert_int_equal(in.sr.octets, 5000);
	assert_int_equal(in.n_blocks, 1);
	assert_memory_equal(&in.blocks[0], &b, sizeof(b));
	assert_string_equal(in.cname, "user@host");
	assert_int_equal(in.cname_ssrc, 0x99);

	/* RR form, no blocks */
	n = sb_rtcp_build_report(buf, sizeof(buf), 0x42, NULL, NULL, 0, "x");
	assert_int_equal(n, 8 + 12);
	assert_int_equal(sb_rtcp_parse(buf, (size_t)n, &in), 0);
	assert_true(in.has_rr);
	assert_false(in.has_sr);
	assert_int_equal(in.rr_ssrc, 0x42);
	assert_string_equal(in.cname, "x");

	assert_int_equal(sb_rtcp_build_report(buf, 19, 1, NULL, NULL, 0, "x"),
			 -ENOSPC);
	assert_int_equal(sb_rtcp_build_report(buf, 256, 1, NULL, NULL, 0, ""),
			 -EINVAL);
}

static void test_rx_loss_and_fraction(void **state)
{
	(void)state;
	sb_rtcp_rx rx;
	sb_rtcp_block b;
	sb_rtcp_rx_init(&rx);
	assert_false(sb_rtcp_rx_block(&rx, 0, &b));

	/* seq 65530..65535, 0..9 with 2 and 3 lost: wraps once */
	for (uint32_t s = 65530; s < 65536 + 10; s++) {
		if (s == 65536 + 2 || s == 65536 + 3)
			continue;
		sb_rtcp_rx_packet(&rx, 0xabc, (uint16_t)s, s * 160, s * 160);
	}
	assert_true(sb_rtcp_rx_block(&rx, 0, &b));
	assert_int_equal(b.ssrc, 0xabc);
	assert_int_equal(b.ext_max_seq, 65536 + 9);
	assert_int_equal(b.cum_lost, 2);
	assert_int_equal(b.fraction_lost, (2 * 256) / 16);
	assert_int_equal(b.jitter, 0); /* perfectly paced */

	/* next interval: 10 packets, none lost */
	for (uint32_t s = 10; s < 20; s++)
		sb_rtcp_rx_packet(&rx, 0xabc, (uint16_t)s, s * 160, s * 160);
	assert_true(sb_rtcp_rx_block(&rx, 0, &b));
	assert_int_equal(b.fraction_lost, 0);
	assert_int_equal(b.cum_lost, 2);
}

static void test_rx_jitter(void **state)
{
	(void)state;
	sb_rtcp_rx rx;
	sb_rtcp_block b;
	sb_rtcp_rx_init(&rx);
	/* arrivals alternate 0 / +32 units late: |D| = 32 after the first */
	for (uint32_t s = 0; s < 400; s++)
		sb_rtcp_rx_packet(&rx, 1, (uint16_t)s, s * 160,
				  s * 160 + (s & 1) * 32);
	assert_true(sb_rtcp_rx_block(&rx, 0, &b));
	/* J converges to 32 */
	assert_in_range(b.jitter, 30, 32);
}

static void test_rx_lsr_dlsr(void **state)
{
	(void)state;
	sb_rtcp_rx rx;
	sb_rtcp_block b;
	sb_rtcp_rx_init(&rx);
	sb_rtcp_rx_packet(&rx, 1, 1, 0, 0);
	sb_rtcp_rx_sr(&rx, 0x1122334455667788ull, 1000000);
	assert_true(sb_rtcp_rx_block(&rx, 1500000, &b));
	assert_int_equal(b.lsr, 0x33445566);
	assert_int_equal(b.dlsr, 32768); /* 0.5 s in 1/65536 s */
}

static void test_rx_new_ssrc_restarts(void **state)
{
	(void)state;
	sb_rtcp_rx rx;
	sb_rtcp_block b;
	sb_rtcp_rx_init(&rx);
	sb_rtcp_rx_packet(&rx, 1, 100, 0, 0);
	sb_rtcp_rx_packet(&rx, 1, 110, 160, 160); /* 9 lost */
	sb_rtcp_rx_packet(&rx, 2, 5000, 0, 0);
	assert_true(sb_rtcp_rx_block(&rx, 0, &b));
	assert_int_equal(b.ssrc, 2);
	assert_int_equal(b.cum_lost, 0);
	assert_int_equal(b.ext_max_seq, 5000);
}

static void test_ntp(void **state)
{
	(void)state;
	uint64_t ntp = sb_rtcp_ntp_from_unix_us(1500000);
	assert_int_equal(ntp >> 32, 2208988801ull);
	assert_int_equal((uint32_t)ntp, 0x80000000u);
}

/* RFC 3550 §6.4.1's own example: A = 0xb710:8000 (46864.500 s),
 * LSR = 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.250 s):
 * the round trip is 6.125 s. */
static void test_rtt(void **state)
{
	(void)state;
	sb_rtcp_block b = { .lsr = 0xb7052000u, .dlsr = 0x00054000u };
	uint64_t ntp_now = (uint64_t)0xb7108000u << 16;
	uint32_t rtt = 0;
	assert_true(sb_rtcp_rtt_us(&b, ntp_now, &rtt));
	assert_int_equal(rtt, 6125000);
	/* no SR reference yet */
	b.lsr = 0;
	assert_false(sb_rtcp_rtt_us(&b, ntp_now, &rtt));
	/* the reply "arrives" before the SR left: a clock step, ignored */
	b.lsr = 0xb7108000u;
	b.dlsr = 0x00010000u;
	assert_false(sb_rtcp_rtt_us(&b, ntp_now, &rtt));
	/* ... but a millisecond below zero is a peer's DLSR rounding: 0 */
	b.dlsr = 65536 / 1000;
	assert_true(sb_rtcp_rtt_us(&b, ntp_now, &rtt));
	assert_int_equal(rtt, 0);
	/* over a minute: not a round trip (a made-up LSR) */
	b.lsr = 0xb6000000u;
	b.dlsr = 0;
	assert_false(sb_rtcp_rtt_us(&b, ntp_now, &rtt));
	/* across the 16.16 wrap */
	b.lsr = 0xffff8000u;
	b.dlsr = 0;
	assert_true(sb_rtcp_rtt_us(&b, (uint64_t)0x00008000u << 16, &rtt));
	assert_int_equal(rtt, 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_compound),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_padding_last_ok),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_rx_loss_and_fraction),
		cmocka_unit_test(test_rx_jitter),
		cmocka_unit_test(test_rx_lsr_dlsr),
		cmocka_unit_test(test_rx_new_ssrc_restarts),
		cmocka_unit_test(test_ntp),
		cmocka_unit_test(test_rtt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
