/* sb_upsample: flat over the telephone band (within 0.1 dB to 3.4 kHz
 * from 8 kHz, 0.25 dB to 3.8 kHz), a whole number of input
 * samples late, continuous across calls, and never past CELT's input
 * clip (2.0 in float scale) for any 16-bit input. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transcoding/upsample.h"

#define SECONDS 1

/* Gain in dB of a tone of hz through the interpolator from rate,
 * by projection on the tone at 48 kHz after 100 ms. */
static double gain_db(uint32_t rate, double hz)
{
	static int16_t in[48000 * SECONDS];
	static float out[48000 * SECONDS];
	sb_upsample u;
	assert_true(sb_upsample_init(&u, rate));
	size_t n = rate * SECONDS, frame = rate / 50;
	for (size_t i = 0; i < n; i++)
		in[i] = (int16_t)lrint(10000 * sin(2 * M_PI * hz * i / rate));
	for (size_t i = 0; i < n; i += frame)
		sb_upsample_run(&u, in + i, frame, out + i * u.factor);
	double re = 0, im = 0;
	size_t from = 4800, to = 48000 * SECONDS;
	for (size_t i = from; i < to; i++) {
		re += out[i] * 32768 * cos(2 * M_PI * hz * i / 48000);
		im += out[i] * 32768 * sin(2 * M_PI * hz * i / 48000);
	}
	return 20 * log10(2 * sqrt(re * re + im * im) / (to - from) / 10000);
}

static void test_flat(void **state)
{
	(void)state;
	static const double hz[] = { 100, 300, 1000, 2000, 3000, 3400, 3800 };
	for (size_t i = 0; i < sizeof(hz) / sizeof(hz[0]); i++) {
		double g8 = gain_db(8000, hz[i]), g16 = gain_db(16000, 2 * hz[i]);
		print_message("    %.0f Hz from 8 kHz %+.3f dB, %.0f Hz from 16 kHz %+.3f dB\n",
			      hz[i], g8, 2 * hz[i], g16);
		double tol = hz[i] <= 3400 ? 0.1 : 0.25;
		assert_true(fabs(g8) < tol);
		assert_true(fabs(g16) < tol);
	}
}

/* An impulse comes out centred on output sample (TAPS / 2) × factor:
 * the delay is whole input samples, so the encoder's frames stay
 * aligned with the 8 kHz ones (a fractional delay costs SNR). Split
 * over two calls. */
static void test_delay(void **state)
{
	(void)state;
	int16_t in[160] = { 0 };
	float out[960];
	sb_upsample u;
	assert_true(sb_upsample_init(&u, 8000));
	in[0] = 16384;
	sb_upsample_run(&u, in, 80, out);
	sb_upsample_run(&u, in + 80, 80, out + 480);
	size_t peak = 0;
	for (size_t i = 0; i < 960; i++)
		if (fabsf(out[i]) > fabsf(out[peak]))
			peak = i;
	assert_int_equal(peak, (SB_UPSAMPLE_TAPS / 2) * 6);
	assert_true(out[peak] > 0.5f);
	/* symmetric around it: linear phase */
	for (size_t k = 1; k < 24; k++)
		assert_true(fabsf(out[peak - k] - out[peak + k]) < 1e-4f);
}

/* The worst input for each output phase is full scale with the signs
 * of that phase's taps; fed with every such pattern in turn, the
 * output stays under 2.0, where libopus's CELT clips its input. */
static void test_bounded(void **state)
{
	(void)state;
	static const uint32_t rates[] = { 8000, 16000, 24000 };
	for (size_t r = 0; r < 3; r++) {
		sb_upsample u;
		assert_true(sb_upsample_init(&u, rates[r]));
		float peak = 0;
		for (unsigned p = 0; p < u.factor; p++) {
			int16_t in[SB_UPSAMPLE_TAPS];
			float out[SB_UPSAMPLE_TAPS * 6];
			for (unsigned j = 0; j < SB_UPSAMPLE_TAPS; j++) {
				/* in[TAPS-1] is the newest: tap 0 */
				float t = u.taps[p * SB_UPSAMPLE_TAPS +
						 (SB_UPSAMPLE_TAPS - 1 - j)];
				in[j] = t < 0 ? -32768 : 32767;
			}
			sb_upsample_run(&u, in, SB_UPSAMPLE_TAPS, out);
			for (size_t i = 0; i < SB_UPSAMPLE_TAPS * u.factor; i++)
				peak = fmaxf(peak, fabsf(out[i]));
		}
		print_message("    from %u Hz: peak %.3f\n", rates[r], peak);
		assert_true(peak > 1.0f);
		assert_true(peak < 2.0f);
	}
}

static void test_rates(void **state)
{
	(void)state;
	sb_upsample u;
	assert_false(sb_upsample_init(&u, 12000));
	assert_false(sb_upsample_init(&u, 44100));
	assert_true(sb_upsample_init(&u, 48000));
	int16_t in[4] = { 0, 16384, -16384, 32767 };
	float out[4];
	sb_upsample_run(&u, in, 4, out);
	assert_true(out[1] == 0.5f && out[2] == -0.5f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flat),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
