/* RTP header parse/build/rewrite: table-driven parse cases incl. CSRC,
 * extension, padding and truncation; rewrite continuity across sources. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "webrtc/rtp.h"

struct parse_case {
	const char *name;
	uint8_t bytes[64];
	size_t len;
	int ret;
	uint8_t pt;  /* fields below only checked when ret == 0 */
	uint16_t seq;
	uint32_t ssrc;
	uint8_t cc;
	size_t hdr_len;
	size_t payload_len;
};

static const struct parse_case cases[] = {
	{ "minimal", { 0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0xa0,
		       0x11, 0x22, 0x33, 0x44, 0xde, 0xad },
	  14, 0, 0, 1, 0x11223344, 0, 12, 2 },
	{ "marker pt 111", { 0x80, 0xef, 0xff, 0xff, 0, 0, 0, 0,
			     0, 0, 0, 1 },
	  12, 0, 111, 0xffff, 1, 0, 12, 0 },
	{ "2 csrc", { 0x82, 0x08, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2,
		      0, 0, 0, 3, 0, 0, 0, 4, 0xaa },
	  21, 0, 8, 5, 2, 2, 20, 1 },
	{ "csrc truncated", { 0x82, 0x08, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2,
			      0, 0, 0, 3 },
	  16, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "extension 1 word", { 0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9,
				0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0, 0,
				0x55, 0x66 },
	  22, 0, 0, 1, 9, 0, 20, 2 },
	{ "extension truncated", { 0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9,
				   0xbe, 0xde, 0x00, 0x02, 0x10, 0xff, 0, 0 },
	  20, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "extension head truncated", { 0x90, 0, 0, 1, 0, 0, 0, 0,
					0, 0, 0, 9, 0xbe, 0xde },
	  14, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "padding 2", { 0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7,
			 0x01, 0x02, 0x00, 0x02 },
	  16, 0, 0, 1, 7, 0, 12, 2 },
	{ "padding too long", { 0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7,
				0x01, 0x09 },
	  14, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "padding zero", { 0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7,
			    0x01, 0x00 },
	  14, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "version 1", { 0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7 },
	  12, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "11 bytes", { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 }, 11, -EBADMSG, 0, 0, 0, 0, 0, 0 },
	{ "empty", { 0 }, 0, -EBADMSG, 0, 0, 0, 0, 0, 0 },
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		sb_rtp_hdr h;
		int ret = sb_rtp_parse(c->bytes, c->len, &h);
		if (ret != c->ret)
			fail_msg("%s: ret %d want %d", c->name, ret, c->ret);
		if (ret < 0)
			continue;
		assert_int_equal(h.pt, c->pt);
		assert_int_equal(h.seq, c->seq);
		assert_int_equal(h.ssrc, c->ssrc);
		assert_int_equal(h.cc, c->cc);
		assert_int_equal(h.header_len, c->hdr_len);
		assert_int_equal(h.payload_len, c->payload_len);
	}
}

static void test_parse_fields(void **state)
{
	(void)state;
	const uint8_t *b = cases[2].bytes;
	sb_rtp_hdr h;
	assert_int_equal(sb_rtp_parse(b, cases[2].len, &h), 0);
	assert_int_equal(h.csrc[0], 3);
	assert_int_equal(h.csrc[1], 4);
	assert_int_equal(sb_rtp_parse(cases[4].bytes, cases[4].len, &h), 0);
	assert_true(h.extension);
	assert_int_equal(h.ext_profile, 0xbede);
	assert_int_equal(h.ext_len, 4);
	assert_int_equal(sb_rtp_parse(cases[1].bytes, 12, &h), 0);
	assert_true(h.marker);
}

/* Every truncation of a valid packet with CSRCs and an extension must be
 * refused without reading past the end (ASan checks the latter). */
static void test_truncations(void **state)
{
	(void)state;
	const struct parse_case *c = &cases[4];
	for (size_t n = 0; n < 20; n++) {
		uint8_t *copy = test_malloc(n ? n : 1);
		memcpy(copy, c->bytes, n);
		sb_rtp_hdr h;
		assert_int_equal(sb_rtp_parse(copy, n, &h), -EBADMSG);
		test_free(copy);
	}
}

static void test_build_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[64];
	uint8_t pl[5] = { 1, 2, 3, 4, 5 };
	sb_rtp_hdr h = { .marker = true, .pt = 96, .seq = 65000,
			 .ts = 0xfffffff0, .ssrc = 0xcafebabe, .cc = 1,
			 .csrc = { 77 } };
	ssize_t n = sb_rtp_build(buf, sizeof(buf), &h, pl, sizeof(pl));
	assert_int_equal(n, 12 + 4 + 5);
	sb_rtp_hdr p;
	assert_int_equal(sb_rtp_parse(buf, (size_t)n, &p), 0);
	assert_true(p.marker);
	assert_int_equal(p.pt, 96);
	assert_int_equal(p.seq, 65000);
	assert_int_equal(p.ts, 0xfffffff0);
	assert_int_equal(p.ssrc, 0xcafebabe);
	assert_int_equal(p.csrc[0], 77);
	assert_memory_equal(buf + p.payload_off, pl, 5);
	assert_int_equal(sb_rtp_build(buf, 20, &h, pl, 5), -ENOSPC);
	assert_int_equal(sb_rtp_build(buf, 10, &h, NULL, 0), -ENOSPC);
}

static void test_setters_keep_marker(void **state)
{
	(void)state;
	uint8_t buf[12] = { 0x80, 0x80 | 8 };
	sb_rtp_set_pt(buf, 0);
	sb_rtp_set_seq(buf, 0x1234);
	sb_rtp_set_ts(buf, 0x01020304);
	sb_rtp_set_ssrc(buf, 0xa1b2c3d4);
	sb_rtp_hdr h;
	assert_int_equal(sb_rtp_parse(buf, 12, &h), 0);
	assert_true(h.marker);
	assert_int_equal(h.pt, 0);
	assert_int_equal(h.seq, 0x1234);
	assert_int_equal(h.ts, 0x01020304);
	assert_int_equal(h.ssrc, 0xa1b2c3d4);
}

static void send_through(sb_rtp_rewrite *rw, uint32_t ssrc, uint16_t seq,
			 uint32_t ts, sb_rtp_hdr *out)
{
	uint8_t buf[12];
	sb_rtp_hdr h = { .pt = 0, .seq = seq, .ts = ts, .ssrc = ssrc };
	assert_int_equal(sb_rtp_build(buf, sizeof(buf), &h, NULL, 0), 12);
	assert_int_equal(sb_rtp_parse(buf, 12, &h), 0);
	sb_rtp_rewrite_apply(rw, buf, &h, 111);
	assert_int_equal(sb_rtp_parse(buf, 12, out), 0);
}

static void test_rewrite_continuity(void **state)
{
	(void)state;
	sb_rtp_rewrite rw;
	sb_rtp_hdr o;
	sb_rtp_rewrite_init(&rw, 0x5555, 160);

	send_through(&rw, 1, 100, 1000, &o);
	assert_int_equal(o.ssrc, 0x5555);
	assert_int_equal(o.pt, 111);
	assert_int_equal(o.seq, 100);
	assert_int_equal(o.ts, 1000);
	send_through(&rw, 1, 101, 1960, &o);
	assert_int_equal(o.seq, 101);
	assert_int_equal(o.ts, 1960);

	/* new source: continues at seq+1, ts + learned step (960) */
	send_through(&rw, 2, 40000, 7, &o);
	assert_int_equal(o.ssrc, 0x5555);
	assert_int_equal(o.seq, 102);
	assert_int_equal(o.ts, 1960 + 960);
	send_through(&rw, 2, 40001, 967, &o);
	assert_int_equal(o.seq, 103);
	assert_int_equal(o.ts, 1960 + 1920);

	/* explicit reset with the same SSRC also re-anchors */
	sb_rtp_rewrite_reset_source(&rw);
	send_through(&rw, 2, 5, 100000, &o);
	assert_int_equal(o.seq, 104);
	assert_int_equal(o.ts, 1960 + 2880);

	/* a late (reordered) packet maps back and does not move the anchor */
	send_through(&rw, 2, 4, 100000 - 960, &o);
	assert_int_equal(o.seq, 103);
	send_through(&rw, 2, 6, 100960, &o);
	assert_int_equal(o.seq, 105);
}

static void test_rewrite_seq_wrap(void **state)
{
	(void)state;
	sb_rtp_rewrite rw;
	sb_rtp_hdr o;
	sb_rtp_rewrite_init(&rw, 9, 160);
	send_through(&rw, 1, 65535, 0xffffff60, &o);
	send_through(&rw, 2, 10, 10, &o);
	assert_int_equal(o.seq, 0);
	assert_int_equal(o.ts, 0); /* 0xffffff60 + 160 wraps to 0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_setters_keep_marker),
		cmocka_unit_test(test_rewrite_continuity),
		cmocka_unit_test(test_rewrite_seq_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
