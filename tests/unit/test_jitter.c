/* Jitter buffer: ordering, loss with FEC look-ahead, duplicates, late
 * packets, the RFC 3550 estimate driving the target delay, bursts and
 * sequence jumps. Time is simulated (microseconds), never slept. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "transcoding/jitter.h"

#define PT_US 20000ull /* 20 ms */

static sb_jitter *make(void)
{
	sb_jitter_cfg cfg = {
		.clock_rate = 8000, .ptime_ms = 20, .min_ms = 40,
		.max_ms = 200, .slots = 16, .max_payload = 200,
	};
	sb_jitter *jb = sb_jitter_new(&cfg);
	assert_non_null(jb);
	return jb;
}

/* Packet k: seq 100+k, ts 160k, payload one byte = k. */
static int put(sb_jitter *jb, int k, uint64_t now)
{
	uint8_t b = (uint8_t)k;
	return sb_jitter_put(jb, (uint16_t)(100 + k), (uint32_t)(160 * k),
			     &b, 1, now);
}

/* One tick; returns the result and the payload byte in *k (-1 none). */
static sb_jitter_result tick(sb_jitter *jb, uint64_t now, int *k)
{
	const uint8_t *p;
	size_t len;
	uint32_t ts = 0;
	sb_jitter_result r = sb_jitter_get(jb, now, &p, &len, &ts);
	*k = p != NULL ? p[0] : -1;
	if (p != NULL)
		assert_int_equal(ts, 160u * (unsigned)p[0]);
	return r;
}

static void test_in_order(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	int k, played = 0;
	/* steady arrivals, ticks 1 ms after each arrival */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(put(jb, i, i * PT_US), 0);
		sb_jitter_result r = tick(jb, i * PT_US + 1000, &k);
		if (i < 2) {
			/* target 40 ms: buffering for the first 2 ticks */
			assert_int_equal(r, SB_JITTER_WAIT);
			continue;
		}
		assert_int_equal(r, SB_JITTER_FRAME);
		assert_int_equal(k, played++);
	}
	assert_true(sb_jitter_jitter_ms(jb) < 0.01);
	assert_int_equal(sb_jitter_target_ms(jb), 40);
	sb_jitter_stats st;
	sb_jitter_get_stats(jb, &st);
	assert_int_equal(st.lost + st.late + st.duplicate + st.discarded, 0);
	sb_jitter_free(jb);
}

static void test_reorder_dup_late(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	int k;
	assert_int_equal(put(jb, 1, 0), 0);
	assert_int_equal(put(jb, 0, 1000), 0); /* before playout: fine */
	assert_int_equal(put(jb, 3, 2000), 0);
	assert_int_equal(put(jb, 2, 3000), 0);
	assert_int_equal(put(jb, 2, 3500), -EEXIST);
	assert_int_equal(tick(jb, 10000, &k), SB_JITTER_WAIT);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(tick(jb, 50000 + i * PT_US, &k),
				 SB_JITTER_FRAME);
		assert_int_equal(k, i);
	}
	/* packet 1 again, after it was played: late */
	assert_int_equal(put(jb, 1, 130000), -ETIME);
	sb_jitter_stats st;
	sb_jitter_get_stats(jb, &st);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.played, 4);
	sb_jitter_free(jb);
}

static void test_loss_offers_next(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	int k;
	put(jb, 0, 0);
	put(jb, 1, PT_US);
	uint64_t t = 2 * PT_US;
	assert_int_equal(tick(jb, t, &k), SB_JITTER_FRAME);
	assert_int_equal(k, 0);
	put(jb, 3, t + PT_US); /* 2 never comes */
	assert_int_equal(tick(jb, t + PT_US, &k), SB_JITTER_FRAME);
	assert_int_equal(k, 1);
	put(jb, 4, t + 2 * PT_US);
	/* 2 is missing but 3 is here: LOST, with 3 offered for FEC */
	assert_int_equal(tick(jb, t + 2 * PT_US, &k), SB_JITTER_LOST);
	assert_int_equal(k, 3);
	/* and 3 is still played normally next */
	assert_int_equal(tick(jb, t + 3 * PT_US, &k), SB_JITTER_FRAME);
	assert_int_equal(k, 3);
	/* the lost packet showing up now is late */
	assert_int_equal(put(jb, 2, t + 3 * PT_US), -ETIME);
	sb_jitter_stats st;
	sb_jitter_get_stats(jb, &st);
	assert_int_equal(st.lost, 1);
	sb_jitter_free(jb);
}

/* Underrun: the tick conceals but does not skip; the packet arriving a
 * little late is still played. */
static void test_underrun_waits(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	int k;
	put(jb, 0, 0);
	put(jb, 1, PT_US);
	assert_int_equal(tick(jb, 40000, &k), SB_JITTER_FRAME);
	assert_int_equal(tick(jb, 60000, &k), SB_JITTER_FRAME);
	assert_int_equal(tick(jb, 80000, &k), SB_JITTER_LOST);
	assert_int_equal(k, -1);
	assert_int_equal(put(jb, 2, 85000), 0);
	assert_int_equal(tick(jb, 100000, &k), SB_JITTER_FRAME);
	assert_int_equal(k, 2);
	sb_jitter_free(jb);
}

static void test_jitter_grows_target(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	/* arrivals alternate 0 and +30 ms late: D alternates +-240 units */
	for (int i = 0; i < 200; i++) {
		uint64_t late = (i % 2) ? 30000 : 0;
		put(jb, i % 10000, i * PT_US + late);
		int k;
		tick(jb, i * PT_US + 45000, &k);
	}
	double j = sb_jitter_jitter_ms(jb);
	print_message("    jitter %.2f ms, target %u ms\n", j,
		      sb_jitter_target_ms(jb));
	/* RFC 3550 estimator converges to mean |D| = 30 ms */
	assert_true(j > 27 && j < 31);
	assert_true(sb_jitter_target_ms(jb) > 120);
	assert_true(sb_jitter_target_ms(jb) <= 200);
	sb_jitter_free(jb);
}

static void test_burst_is_trimmed(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	int k;
	put(jb, 0, 0);
	assert_int_equal(tick(jb, 40000, &k), SB_JITTER_FRAME);
	/* 12 packets arrive at once (a stalled path flushing) */
	for (int i = 1; i <= 12; i++)
		put(jb, i, 41000);
	for (int i = 0; i < 12; i++)
		tick(jb, 60000 + i * PT_US, &k);
	sb_jitter_stats st;
	sb_jitter_get_stats(jb, &st);
	assert_true(st.discarded > 0);
	assert_int_equal(st.played + st.discarded, 13);
	sb_jitter_free(jb);
}

static void test_bounds(void **state)
{
	(void)state;
	sb_jitter *jb = make();
	uint8_t big[201] = { 0 };
	int k;
	assert_int_equal(sb_jitter_put(jb, 1, 0, big, sizeof(big), 0),
			 -EMSGSIZE);
	put(jb, 0, 0);
	put(jb, 1, PT_US);
	/* a jump far beyond the ring restarts buffering at the new seq */
	assert_int_equal(sb_jitter_put(jb, 5000, 0, big, 1, 30000), 0);
	assert_int_equal(sb_jitter_count(jb), 1);
	sb_jitter_stats st;
	sb_jitter_get_stats(jb, &st);
	assert_int_equal(st.resync, 1);
	assert_int_equal(tick(jb, 40000, &k), SB_JITTER_WAIT);
	/* the ring never holds more than its slots */
	for (int i = 0; i < 40; i++)
		sb_jitter_put(jb, (uint16_t)(5001 + i), 0, big, 1, 40000);
	assert_true(sb_jitter_count(jb) <= 16);
	sb_jitter_cfg bad = { .clock_rate = 8000, .ptime_ms = 20,
			      .min_ms = 300, .max_ms = 200, .slots = 16,
			      .max_payload = 100 };
	assert_null(sb_jitter_new(&bad));
	sb_jitter_free(jb);
	sb_jitter_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reorder_dup_late),
		cmocka_unit_test(test_loss_offers_next),
		cmocka_unit_test(test_underrun_waits),
		cmocka_unit_test(test_jitter_grows_target),
		cmocka_unit_test(test_burst_is_trimmed),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
