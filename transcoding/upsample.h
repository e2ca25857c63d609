/* Interpolation of mono 16-bit PCM to 48 kHz by a whole factor, for
 * libopus's CELT encoder in its custom API, which takes 48 kHz only (see
 * transcoding/opus.c). A polyphase FIR: SB_UPSAMPLE_TAPS input samples
 * per output sample, its cut-off a little above the input's Nyquist
 * frequency. Above that frequency the encoder codes nothing (its last
 * band ends there), so the filter need not remove the images between
 * that frequency and the stop band: it is short.
 *
 * The taps are built once per factor and shared (read-only after
 * sb_upsample_init). A state belongs to its encoder: one thread. */
#ifndef SB_TRANSCODING_UPSAMPLE_H
#define SB_TRANSCODING_UPSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_UPSAMPLE_TAPS 8
#define SB_UPSAMPLE_RATE 48000
#define SB_UPSAMPLE_MAX_OUT 960            /* 20 ms: CELT's longest frame */

typedef struct sb_upsample {
	unsigned factor;                   /* SB_UPSAMPLE_RATE / input rate */
	const float *taps;                 /* shared: factor × TAPS */
	float hist[SB_UPSAMPLE_TAPS - 1];  /* the last inputs, oldest first */
} sb_upsample;

/* rate: 8000, 16000, 24000 or 48000 (factor 1: a copy). False for any
 * other rate. */
bool sb_upsample_init(sb_upsample *u, uint32_t rate);

/* n input samples to n × factor (at most SB_UPSAMPLE_MAX_OUT) outputs
 * in [-1, 1] scale (the float API of libopus), continuing the previous
 * call's signal. */
void sb_upsample_run(sb_upsample *u, const int16_t *in, size_t n, float *out);

#endif
