/* Conference mixer: mix-minus (never your own voice), silence for
 * participants without a frame, the soft limiter, join/leave. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "transcoding/mixer.h"

#define FRAME 320 /* 20 ms at 16 kHz */

static void fill(int16_t *pcm, int16_t v)
{
	for (int i = 0; i < FRAME; i++)
		pcm[i] = v;
}

static void assert_all(const int16_t *pcm, int v)
{
	assert_non_null(pcm);
	for (int i = 0; i < FRAME; i++)
		assert_int_equal(pcm[i], v);
}

static void test_mix_minus(void **state)
{
	(void)state;
	sb_mixer *m = sb_mixer_new(16000, 20, 4);
	int16_t a[FRAME], b[FRAME], c[FRAME];
	assert_int_equal(sb_mixer_frame_samples(m), FRAME);
	int ia = sb_mixer_join(m), ib = sb_mixer_join(m);
	int ic = sb_mixer_join(m), id = sb_mixer_join(m);
	assert_true(ia >= 0 && ib >= 0 && ic >= 0 && id >= 0);
	fill(a, 100);
	fill(b, 2000);
	fill(c, -30);
	assert_int_equal(sb_mixer_put(m, ia, a, FRAME), 0);
	assert_int_equal(sb_mixer_put(m, ib, b, FRAME), 0);
	assert_int_equal(sb_mixer_put(m, ic, c, FRAME), 0);
	/* d sends nothing this tick (muted / lost): silent, hears all */
	sb_mixer_mix(m);
	assert_all(sb_mixer_output(m, ia), 2000 - 30);
	assert_all(sb_mixer_output(m, ib), 100 - 30);
	assert_all(sb_mixer_output(m, ic), 100 + 2000);
	assert_all(sb_mixer_output(m, id), 100 + 2000 - 30);
	/* inputs are cleared by mix: next tick without puts is silence */
	sb_mixer_mix(m);
	assert_all(sb_mixer_output(m, ia), 0);
	assert_all(sb_mixer_output(m, id), 0);
	sb_mixer_free(m);
}

/* A lone participant talking hears silence, not an echo. */
static void test_alone(void **state)
{
	(void)state;
	sb_mixer *m = sb_mixer_new(16000, 20, 2);
	int16_t a[FRAME];
	int ia = sb_mixer_join(m);
	fill(a, 12345);
	sb_mixer_put(m, ia, a, FRAME);
	sb_mixer_mix(m);
	assert_all(sb_mixer_output(m, ia), 0);
	sb_mixer_free(m);
}

/* A waveform below the knee passes bit-exact to the others. */
static void test_tone_exact(void **state)
{
	(void)state;
	sb_mixer *m = sb_mixer_new(16000, 20, 3);
	int16_t a[FRAME];
	int ia = sb_mixer_join(m), ib = sb_mixer_join(m);
	for (int i = 0; i < FRAME; i++)
		a[i] = (int16_t)lrint(20000 * sin(2 * M_PI * 1000 * i / 16000.0));
	sb_mixer_put(m, ia, a, FRAME);
	sb_mixer_mix(m);
	const int16_t *o = sb_mixer_output(m, ib);
	for (int i = 0; i < FRAME; i++)
		assert_int_equal(o[i], a[i]);
	sb_mixer_free(m);
}

static void test_soft_clip(void **state)
{
	(void)state;
	assert_int_equal(sb_mixer_soft_clip(0), 0);
	assert_int_equal(sb_mixer_soft_clip(24576), 24576);
	assert_int_equal(sb_mixer_soft_clip(-24576), -24576);
	int prev = sb_mixer_soft_clip(-40 * 32768);
	assert_true(prev >= -32767);
	/* monotonic, bounded, and symmetric over the whole range */
	for (int32_t v = -40 * 32768; v <= 40 * 32768; v += 7) {
		int y = sb_mixer_soft_clip(v);
		assert_true(y >= prev);
		assert_true(y <= 32767 && y >= -32767);
		assert_int_equal(sb_mixer_soft_clip(-v), -y);
		prev = y;
	}
	/* the knee compresses: 2x full scale is not flat-topped at once */
	assert_true(sb_mixer_soft_clip(30000) < 30000);
	assert_true(sb_mixer_soft_clip(30000) > 27000);
	assert_true(sb_mixer_soft_clip(65534) > sb_mixer_soft_clip(40000));
}

static void test_clipping_in_mix(void **state)
{
	(void)state;
	sb_mixer *m = sb_mixer_new(16000, 20, 3);
	int16_t a[FRAME], b[FRAME];
	int ia = sb_mixer_join(m), ib = sb_mixer_join(m);
	int ic = sb_mixer_join(m);
	fill(a, 30000);
	fill(b, 30000);
	sb_mixer_put(m, ia, a, FRAME);
	sb_mixer_put(m, ib, b, FRAME);
	sb_mixer_mix(m);
	/* c hears 60000 limited, not wrapped to a negative value */
	const int16_t *o = sb_mixer_output(m, ic);
	assert_true(o[0] > 30000 && o[0] <= 32767);
	/* a hears b alone, above the knee: limited the same way */
	assert_all(sb_mixer_output(m, ia), sb_mixer_soft_clip(30000));
	fill(a, -32768);
	fill(b, -32768);
	sb_mixer_put(m, ia, a, FRAME);
	sb_mixer_put(m, ib, b, FRAME);
	sb_mixer_mix(m);
	o = sb_mixer_output(m, ic);
	assert_true(o[0] < -30000 && o[0] >= -32767);
	sb_mixer_free(m);
}

static void test_join_leave(void **state)
{
	(void)state;
	sb_mixer *m = sb_mixer_new(16000, 20, 2);
	int16_t a[FRAME];
	fill(a, 1);
	int ia = sb_mixer_join(m), ib = sb_mixer_join(m);
	assert_int_equal(sb_mixer_join(m), -EBUSY);
	assert_int_equal(sb_mixer_count(m), 2);
	sb_mixer_leave(m, ia);
	sb_mixer_leave(m, ia); /* idempotent */
	sb_mixer_leave(m, 99);
	assert_int_equal(sb_mixer_count(m), 1);
	assert_null(sb_mixer_output(m, ia));
	assert_int_equal(sb_mixer_put(m, ia, a, FRAME), -ENOENT);
	assert_int_equal(sb_mixer_put(m, ib, a, FRAME - 1), -EINVAL);
	assert_int_equal(sb_mixer_put(m, -1, a, FRAME), -ENOENT);
	int ic = sb_mixer_join(m);
	assert_true(ic >= 0);
	/* the reused slot starts clean: hears nothing until a mix */
	assert_all(sb_mixer_output(m, ic), 0);
	assert_null(sb_mixer_new(16000, 20, 0));
	assert_null(sb_mixer_new(44, 20, 2));
	sb_mixer_free(m);
	sb_mixer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mix_minus),
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_tone_exact),
		cmocka_unit_test(test_soft_clip),
		cmocka_unit_test(test_clipping_in_mix),
		cmocka_unit_test(test_join_leave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
