/* Repacketiser: every in/out ptime pair among 10/20/30/40 ms keeps the
 * sample stream intact and the timestamps continuous. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "transcoding/repacketizer.h"

/* Push a counting ramp in in_ms frames, pop out_ms frames, check every
 * sample and timestamp. */
static void run_pair(unsigned in_ms, unsigned out_ms, uint32_t rate,
		     uint32_t clock, uint32_t ts0)
{
	sb_repack *r = sb_repack_new(rate, out_ms, clock, ts0);
	assert_non_null(r);
	size_t in_n = rate / 1000 * in_ms;
	size_t out_n = sb_repack_frame_samples(r);
	assert_int_equal(out_n, rate / 1000 * out_ms);
	int16_t in[2000], out[2000];
	uint32_t ts, expect_ts = ts0;
	int16_t next_in = 0, next_out = 0;
	int frames = 0;

	for (int k = 0; k < 60; k++) {
		for (size_t i = 0; i < in_n; i++)
			in[i] = next_in++;
		assert_int_equal(sb_repack_push(r, in, in_n), 0);
		while (sb_repack_pop(r, out, &ts) == 1) {
			assert_int_equal(ts, expect_ts);
			expect_ts += clock / 1000 * out_ms;
			for (size_t i = 0; i < out_n; i++)
				assert_int_equal(out[i], next_out++);
			frames++;
		}
		assert_true(sb_repack_pending(r) < out_n);
	}
	/* all input accounted for: popped + still pending */
	assert_int_equal((size_t)frames * out_n + sb_repack_pending(r),
			 60 * in_n);
	sb_repack_free(r);
}

static void test_all_pairs(void **state)
{
	(void)state;
	const unsigned ms[] = { 10, 20, 30, 40 };
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			run_pair(ms[i], ms[j], 8000, 8000, 1000);
			/* Opus decoded at 8 kHz, RTP clock 48 kHz */
			run_pair(ms[i], ms[j], 8000, 48000, 0xffffff00u);
			/* G.722: 16 kHz audio, 8 kHz clock */
			run_pair(ms[i], ms[j], 16000, 8000, 5);
		}
}

static void test_bounds(void **state)
{
	(void)state;
	int16_t big[2000] = { 0 };
	assert_null(sb_repack_new(8000, 5, 8000, 0));
	assert_null(sb_repack_new(44, 20, 8000, 0));
	sb_repack *r = sb_repack_new(8000, 20, 8000, 0);
	/* 120 ms + one 20 ms frame fit, more does not */
	assert_int_equal(sb_repack_push(r, big, 1120), 0);
	assert_int_equal(sb_repack_push(r, big, 1), -ENOSPC);
	assert_int_equal(sb_repack_push(r, big, 0), -EINVAL);
	sb_repack_free(r);
	sb_repack_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pairs),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
