/* RFC 4733: payload parse/build, sender packet sequence, receiver
 * exactly-once reporting under loss/duplication/reordering, and clock
 * mapping 48000 <-> 8000. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transcoding/telephone_event.h"

static void test_parse_build(void **state)
{
	(void)state;
	/* '5', E=1, volume 10, duration 800 (RFC 4733 §2.3 layout) */
	const uint8_t wire[] = { 0x05, 0x8a, 0x03, 0x20 };
	sb_tel_event ev;
	uint8_t out[8];

	assert_int_equal(sb_tel_event_parse(wire, sizeof(wire), &ev), 0);
	assert_int_equal(ev.event, 5);
	assert_true(ev.end);
	assert_int_equal(ev.volume, 10);
	assert_int_equal(ev.duration, 800);
	assert_int_equal(sb_tel_event_build(&ev, out, sizeof(out)), 4);
	assert_memory_equal(out, wire, 4);

	/* R bit set by a sloppy sender is ignored, not part of volume */
	const uint8_t r_bit[] = { 0x0b, 0x40 | 0x07, 0x00, 0xa0 };
	assert_int_equal(sb_tel_event_parse(r_bit, 4, &ev), 0);
	assert_false(ev.end);
	assert_int_equal(ev.volume, 7);
	assert_int_equal(ev.duration, 160);

	assert_int_equal(sb_tel_event_parse(wire, 3, &ev), -EBADMSG);
	assert_int_equal(sb_tel_event_parse(NULL, 4, &ev), -EBADMSG);
	assert_int_equal(sb_tel_event_build(&ev, out, 3), -ENOSPC);
	ev.volume = 64;
	assert_int_equal(sb_tel_event_build(&ev, out, 4), -EINVAL);
}

static void test_chars(void **state)
{
	(void)state;
	const char *all = "0123456789*#ABCD";
	for (int i = 0; i < 16; i++) {
		assert_int_equal(sb_tel_event_to_char((uint8_t)i), all[i]);
		assert_int_equal(sb_tel_event_from_char(all[i]), i);
	}
	assert_int_equal(sb_tel_event_from_char('d'), 15);
	assert_int_equal(sb_tel_event_to_char(16), 0);
	assert_int_equal(sb_tel_event_from_char('E'), -EINVAL);
	assert_int_equal(sb_tel_event_from_char('\0'), -EINVAL);
}

static void test_map(void **state)
{
	(void)state;
	assert_int_equal(sb_tel_event_map_duration(960, 48000, 8000), 160);
	assert_int_equal(sb_tel_event_map_duration(160, 8000, 48000), 960);
	/* rounding to nearest, and saturation at 16 bits */
	assert_int_equal(sb_tel_event_map_duration(5, 48000, 8000), 1);
	assert_int_equal(sb_tel_event_map_duration(20000, 8000, 48000),
			 0xffff);
	/* timestamps relative to a shared instant, across the wrap */
	assert_int_equal(sb_tel_event_map_ts(1000 + 960, 1000, 50, 48000,
					     8000), 50 + 160);
	assert_int_equal(sb_tel_event_map_ts(0x00000100u, 0xffffff00u,
					     0xfffffff0u, 8000, 48000),
			 (uint32_t)(0xfffffff0u + 512 * 6));
	/* a reordered packet just before the base maps just before */
	assert_int_equal(sb_tel_event_map_ts(1000 - 960, 1000, 5000, 48000,
					     8000), 5000 - 160);

	uint8_t pl[] = { 0x01, 0x0a, 0x03, 0xc0, 0x01, 0x0a, 0x07, 0x80 };
	assert_int_equal(sb_tel_event_map_payload(pl, sizeof(pl), 48000,
						  8000), 0);
	sb_tel_event ev;
	sb_tel_event_parse(pl, 4, &ev);
	assert_int_equal(ev.duration, 160);
	sb_tel_event_parse(pl + 4, 4, &ev);
	assert_int_equal(ev.duration, 320);
	assert_int_equal(sb_tel_event_map_payload(pl, 2, 48000, 8000),
			 -EBADMSG);
}

/* Collects a generator's whole packet sequence. */
static int gen_all(sb_dtmf_gen *g, sb_dtmf_pkt *pk, int max)
{
	int n = 0;
	while (n < max && sb_dtmf_gen_next(g, &pk[n]) == 1)
		n++;
	return n;
}

static void check_sequence(uint32_t rate, unsigned ptime, unsigned ms,
			   uint32_t ts0)
{
	sb_dtmf_gen g;
	sb_dtmf_pkt pk[200];
	sb_tel_event ev;
	uint32_t step = rate / 1000 * ptime;
	uint32_t total = rate / 1000 * ms;

	assert_int_equal(sb_dtmf_gen_init(&g, rate, ptime), 0);
	assert_int_equal(sb_dtmf_gen_start(&g, '#', ms, 10, ts0), 0);
	assert_int_equal(sb_dtmf_gen_start(&g, '1', ms, 10, ts0), -EBUSY);
	int n = gen_all(&g, pk, 200);
	unsigned updates = (total + step - 1) / step - 1;
	assert_int_equal(n, (int)updates + 3);
	for (int i = 0; i < n; i++) {
		assert_int_equal(pk[i].timestamp, ts0);
		assert_int_equal(pk[i].marker, i == 0);
		assert_int_equal(sb_tel_event_parse(pk[i].payload, 4, &ev), 0);
		assert_int_equal(ev.event, 11);
		assert_int_equal(ev.volume, 10);
		if (i < (int)updates) {
			assert_false(ev.end);
			assert_int_equal(ev.duration, (i + 1) * step);
		} else {
			assert_true(ev.end);
			assert_int_equal(ev.duration, total);
		}
	}
	assert_false(sb_dtmf_gen_busy(&g));
	assert_int_equal(sb_dtmf_gen_next(&g, &pk[0]), 0);
}

static void test_gen_8k(void **s)
{
	(void)s;
	check_sequence(8000, 20, 100, 1234);   /* 4 updates + 3 ends */
	check_sequence(8000, 20, 110, 0);      /* partial last step */
}

static void test_gen_48k(void **s)
{
	(void)s;
	check_sequence(48000, 20, 200, 0xfffffff0u);
	check_sequence(48000, 10, 40, 7);
}

static void test_gen_limits(void **state)
{
	(void)state;
	sb_dtmf_gen g;
	sb_dtmf_pkt pk[400];
	sb_tel_event ev;

	assert_int_equal(sb_dtmf_gen_init(&g, 44100, 20), -EINVAL);
	assert_int_equal(sb_dtmf_gen_init(&g, 8000, 5), -EINVAL);
	assert_int_equal(sb_dtmf_gen_init(&g, 48000, 20), 0);
	assert_int_equal(sb_dtmf_gen_start(&g, 'X', 100, 10, 0), -EINVAL);
	assert_int_equal(sb_dtmf_gen_start(&g, '1', 100, 64, 0), -EINVAL);
	/* 5 s at 48 kHz does not fit 16 bits: clamped to 0xffff units */
	assert_int_equal(sb_dtmf_gen_start(&g, '1', 5000, 10, 0), 0);
	int n = gen_all(&g, pk, 400);
	sb_tel_event_parse(pk[n - 1].payload, 4, &ev);
	assert_int_equal(ev.duration, 0xffff);
	/* too short: raised to 40 ms so a receiver can detect it */
	assert_int_equal(sb_dtmf_gen_start(&g, '1', 1, 10, 0), 0);
	n = gen_all(&g, pk, 400);
	sb_tel_event_parse(pk[n - 1].payload, 4, &ev);
	assert_int_equal(ev.duration, 40 * 48);
}

/* Receiver helpers: run a generated sequence through with a drop mask. */
static int feed(sb_dtmf_rx *rx, const sb_dtmf_pkt *pk, int n,
		const char *drop, sb_dtmf_digit *got, int max)
{
	int total = 0;
	for (int i = 0; i < n; i++) {
		sb_dtmf_digit d[2];
		if (drop != NULL && (size_t)i < strlen(drop) && drop[i] == 'x')
			continue;
		int r = sb_dtmf_rx_packet(rx, pk[i].timestamp, pk[i].payload,
					  4, d);
		assert_true(r >= 0 && r <= 2);
		for (int k = 0; k < r && total < max; k++)
			got[total++] = d[k];
	}
	return total;
}

static int make_digit(char c, uint32_t ts, sb_dtmf_pkt *pk)
{
	sb_dtmf_gen g;
	sb_dtmf_gen_init(&g, 8000, 20);
	sb_dtmf_gen_start(&g, c, 100, 10, ts);
	return gen_all(&g, pk, 20);
}

static void test_rx_once(void **state)
{
	(void)state;
	sb_dtmf_rx rx;
	sb_dtmf_pkt pk[20];
	sb_dtmf_digit got[8];

	assert_int_equal(sb_dtmf_rx_init(&rx, 8000), 0);
	int n = make_digit('7', 4000, pk);
	/* three E packets, plus the whole stream replayed: one digit */
	int k = feed(&rx, pk, n, NULL, got, 8);
	k += feed(&rx, pk, n, NULL, got + k, 8 - k);
	assert_int_equal(k, 1);
	assert_int_equal(got[0].digit, '7');
	assert_int_equal(got[0].timestamp, 4000);
	assert_int_equal(got[0].duration_ms, 100);
	assert_true(got[0].end_seen);
	/* the same key pressed again is a new event (new timestamp) */
	n = make_digit('7', 8000, pk);
	k = feed(&rx, pk, n, NULL, got, 8);
	assert_int_equal(k, 1);
	assert_int_equal(got[0].timestamp, 8000);
}

static void test_rx_lost_start(void **state)
{
	(void)state;
	sb_dtmf_rx rx;
	sb_dtmf_pkt pk[20];
	sb_dtmf_digit got[8];

	sb_dtmf_rx_init(&rx, 8000);
	int n = make_digit('*', 100, pk);
	/* start and first update lost */
	assert_int_equal(feed(&rx, pk, n, "xx", got, 8), 1);
	assert_int_equal(got[0].digit, '*');
	assert_int_equal(got[0].duration_ms, 100);
}

static void test_rx_lost_end(void **state)
{
	(void)state;
	sb_dtmf_rx rx;
	sb_dtmf_pkt a[20], b[20];
	sb_dtmf_digit got[8];

	sb_dtmf_rx_init(&rx, 8000);
	int na = make_digit('1', 1000, a);
	int nb = make_digit('2', 3000, b);
	/* all three E packets of '1' lost: reported when '2' starts */
	int k = feed(&rx, a, na, "....xxx", got, 8);
	assert_int_equal(k, 0);
	k = feed(&rx, b, nb, NULL, got, 8);
	assert_int_equal(k, 2);
	assert_int_equal(got[0].digit, '1');
	assert_false(got[0].end_seen);
	assert_int_equal(got[0].duration_ms, 80);
	assert_int_equal(got[1].digit, '2');
	assert_true(got[1].end_seen);
	/* a late E packet of '1' is not reported again */
	k = feed(&rx, a + na - 1, 1, NULL, got, 8);
	assert_int_equal(k, 0);

	/* ends lost and nothing follows: the caller expires it, once */
	int nc = make_digit('3', 5000, a);
	assert_int_equal(feed(&rx, a, nc - 3, NULL, got, 8), 0);
	assert_int_equal(sb_dtmf_rx_expire(&rx, &got[0]), 1);
	assert_int_equal(got[0].digit, '3');
	assert_int_equal(sb_dtmf_rx_expire(&rx, &got[0]), 0);
	assert_int_equal(feed(&rx, a, nc, NULL, got, 8), 0);
}

static void test_rx_reorder_and_junk(void **state)
{
	(void)state;
	sb_dtmf_rx rx;
	sb_dtmf_pkt a[20], b[20];
	sb_dtmf_digit got[8], d[2];
	const uint8_t flash[] = { 16, 0x8a, 0, 160 }; /* hook flash: ignored */

	sb_dtmf_rx_init(&rx, 8000);
	int na = make_digit('4', 1000, a);
	int nb = make_digit('5', 2000, b);
	assert_int_equal(feed(&rx, a, 2, NULL, got, 8), 0);
	/* '5' overtakes the rest of '4' */
	assert_int_equal(feed(&rx, b, nb, NULL, got, 8), 2);
	assert_int_equal(got[0].digit, '4');
	assert_int_equal(got[1].digit, '5');
	/* the delayed tail of '4' is older than '5': dropped */
	assert_int_equal(feed(&rx, a + 2, na - 2, NULL, got, 8), 0);
	assert_int_equal(sb_dtmf_rx_packet(&rx, 9000, flash, 4, d), 0);
	assert_int_equal(sb_dtmf_rx_packet(&rx, 9000, flash, 3, d),
			 -EBADMSG);
	assert_int_equal(sb_dtmf_rx_init(&rx, 0), -EINVAL);
}

/* A 48 kHz stream mapped packet by packet to 8 kHz still yields the
 * same digit and duration. */
static void test_map_stream(void **state)
{
	(void)state;
	sb_dtmf_gen g;
	sb_dtmf_rx rx;
	sb_dtmf_pkt pk[20];
	sb_dtmf_digit got[2];
	int k = 0;

	sb_dtmf_gen_init(&g, 48000, 20);
	sb_dtmf_gen_start(&g, '9', 120, 10, 960000);
	sb_dtmf_rx_init(&rx, 8000);
	int n = gen_all(&g, pk, 20);
	for (int i = 0; i < n; i++) {
		uint32_t ts = sb_tel_event_map_ts(pk[i].timestamp, 960000,
						  777, 48000, 8000);
		assert_int_equal(ts, 777);
		assert_int_equal(sb_tel_event_map_payload(pk[i].payload, 4,
							  48000, 8000), 0);
		int r = sb_dtmf_rx_packet(&rx, ts, pk[i].payload, 4, got + k);
		assert_true(r >= 0);
		k += r;
	}
	assert_int_equal(k, 1);
	assert_int_equal(got[0].digit, '9');
	assert_int_equal(got[0].duration_ms, 120);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_build),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_gen_8k),
		cmocka_unit_test(test_gen_48k),
		cmocka_unit_test(test_gen_limits),
		cmocka_unit_test(test_rx_once),
		cmocka_unit_test(test_rx_lost_start),
		cmocka_unit_test(test_rx_lost_end),
		cmocka_unit_test(test_rx_reorder_and_junk),
		cmocka_unit_test(test_map_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
