/* Repacketiser for ptime changes on the transcoding path: decoded PCM
 * frames of any size (10/20/30/40 ms...) go in, frames of one fixed ptime
 * come out with continuous RTP timestamps. Fixed buffer allocated at
 * creation; no allocation per packet. Owned by its bridge; worker thread
 * only. */
#ifndef SB_TRANSCODING_REPACKETIZER_H
#define SB_TRANSCODING_REPACKETIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_repack sb_repack;

/* pcm_rate: PCM sample rate; out_ms: output ptime (10..120);
 * clock_rate: RTP clock of the output codec (timestamps advance by
 * out_ms * clock_rate / 1000 per frame); ts0: first output timestamp.
 * Returns an owned object (free with sb_repack_free) or NULL for bad
 * arguments. It holds up to 120 ms of input plus one output frame. */
sb_repack *sb_repack_new(uint32_t pcm_rate, unsigned out_ms,
			 uint32_t clock_rate, uint32_t ts0);
void sb_repack_free(sb_repack *r);
/* Append n samples. 0, or -ENOSPC if they do not fit (caller pops
 * first), -EINVAL for n == 0. */
int sb_repack_push(sb_repack *r, const int16_t *pcm, size_t n);
/* When a full output frame is buffered: copy it to out (frame_samples
 * long), set *ts to its RTP timestamp and return 1; else return 0. */
int sb_repack_pop(sb_repack *r, int16_t *out, uint32_t *ts);
size_t sb_repack_frame_samples(const sb_repack *r);
/* Samples currently buffered. */
size_t sb_repack_pending(const sb_repack *r);

#endif
