/* G.711 conversion: exhaustive checks over all 65536 inputs and all 256
 * codes against the ITU-T G.711 quantiser definition. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "transcoding/g711.h"

/* Reference points from G.711 Tables 1a/2a (16-bit scale). */
static void test_ulaw_known_values(void **state)
{
	(void)state;
	assert_int_equal(sb_g711_ulaw_decode(0xff), 0);
	assert_int_equal(sb_g711_ulaw_decode(0x7f), 0);
	assert_int_equal(sb_g711_ulaw_decode(0xfe), 8);
	assert_int_equal(sb_g711_ulaw_decode(0x7e), -8);
	assert_int_equal(sb_g711_ulaw_decode(0x80), 32124);
	assert_int_equal(sb_g711_ulaw_decode(0x00), -32124);
	/* First code of segment 1 (0xef): 16-bit 132. */
	assert_int_equal(sb_g711_ulaw_decode(0xef), 132);
	assert_int_equal(sb_g711_ulaw_encode(0), 0xff);
	assert_int_equal(sb_g711_ulaw_encode(-1), 0x7f);
	assert_int_equal(sb_g711_ulaw_encode(32767), 0x80);
	assert_int_equal(sb_g711_ulaw_encode(-32768), 0x00);
	/* Segment 0 ends at 16-bit 123 (14-bit magnitude 30 + 33 = 63). */
	assert_int_equal(sb_g711_ulaw_encode(123), 0xf0);
	assert_int_equal(sb_g711_ulaw_encode(124), 0xef);
}

static void test_alaw_known_values(void **state)
{
	(void)state;
	assert_int_equal(sb_g711_alaw_decode(0xd5), 8);
	assert_int_equal(sb_g711_alaw_decode(0x55), -8);
	assert_int_equal(sb_g711_alaw_decode(0xaa), 32256);
	assert_int_equal(sb_g711_alaw_decode(0x2a), -32256);
	assert_int_equal(sb_g711_alaw_encode(0), 0xd5);
	assert_int_equal(sb_g711_alaw_encode(-1), 0x55);
	assert_int_equal(sb_g711_alaw_encode(32767), 0xaa);
	assert_int_equal(sb_g711_alaw_encode(-32768), 0x2a);
	/* Segments 0 and 1 both have step 16; segment 2 starts at 512. */
	assert_int_equal(sb_g711_alaw_decode(sb_g711_alaw_encode(511)), 504);
	assert_int_equal(sb_g711_alaw_decode(sb_g711_alaw_encode(512)), 528);
}

/* decode(encode(decode(c))) is the identity on codes, except mu-law's
 * negative zero (0x7f), which re-encodes as positive zero. */
static void test_ulaw_code_roundtrip(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		int16_t v = sb_g711_ulaw_decode((uint8_t)c);
		uint8_t back = sb_g711_ulaw_encode(v);
		if (c == 0x7f)
			assert_int_equal(back, 0xff);
		else
			assert_int_equal(back, c);
	}
}

static void test_alaw_code_roundtrip(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++)
		assert_int_equal(sb_g711_alaw_encode(sb_g711_alaw_decode(
					 (uint8_t)c)), c);
}

/* Quantiser step (16-bit scale) of the interval a decoded value lies in. */
static int ulaw_step(int16_t v)
{
	int inv = (uint8_t)~sb_g711_ulaw_encode(v);
	return 8 << ((inv >> 4) & 7);
}

static int alaw_step(int16_t v)
{
	int seg = ((sb_g711_alaw_encode(v) ^ 0x55) >> 4) & 7;
	return seg <= 1 ? 16 : 16 << (seg - 1);
}

typedef uint8_t (*enc_fn)(int16_t);
typedef int16_t (*dec_fn)(uint8_t);
typedef int (*step_fn)(int16_t);

/* Every input: the error is at most half a step (inside the clip range),
 * the law is odd-symmetric around -0.5, and decoded output never
 * decreases as the input grows. */
static void check_law(enc_fn enc, dec_fn dec, step_fn step, int top)
{
	int prev = -32768 - 1;
	for (int x = -32768; x <= 32767; x++) {
		int y = dec(enc((int16_t)x));
		int err = abs(y - x);
		int half = step((int16_t)y) / 2;
		/* negative inputs are covered through the mirror below */
		if (x > top + half)
			assert_int_equal(y, top);
		else if (x >= 0)
			assert_true(err <= half);
		assert_true(y >= prev);
		prev = y;
		/* one's complement symmetry: x and -x-1 mirror */
		assert_int_equal(dec(enc((int16_t)(-x - 1))), -y);
	}
}

static void test_ulaw_all_inputs(void **state)
{
	(void)state;
	check_law(sb_g711_ulaw_encode, sb_g711_ulaw_decode, ulaw_step, 32124);
}

static void test_alaw_all_inputs(void **state)
{
	(void)state;
	check_law(sb_g711_alaw_encode, sb_g711_alaw_decode, alaw_step, 32256);
}

static void test_buffers(void **state)
{
	(void)state;
	int16_t in[256], out[256];
	uint8_t code[256];
	for (int i = 0; i < 256; i++)
		in[i] = (int16_t)((i - 128) * 250);
	sb_g711_ulaw_encode_buf(code, in, 256);
	sb_g711_ulaw_decode_buf(out, code, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(out[i],
				 sb_g711_ulaw_decode(sb_g711_ulaw_encode(in[i])));
	sb_g711_alaw_encode_buf(code, in, 256);
	sb_g711_alaw_decode_buf(out, code, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(out[i],
				 sb_g711_alaw_decode(sb_g711_alaw_encode(in[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ulaw_known_values),
		cmocka_unit_test(test_alaw_known_values),
		cmocka_unit_test(test_ulaw_code_roundtrip),
		cmocka_unit_test(test_alaw_code_roundtrip),
		cmocka_unit_test(test_ulaw_all_inputs),
		cmocka_unit_test(test_alaw_all_inputs),
		cmocka_unit_test(test_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
