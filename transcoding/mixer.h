/* Conference mixer: N participants' PCM frames at one internal rate
 * (16 kHz in conference rooms); each participant gets the sum of the
 * others, never its own voice (mix-minus), soft-clipped to int16. All
 * buffers are allocated at creation for max_parts participants; nothing
 * is allocated per frame. A mixer is owned by its conference leg and used
 * from that leg's worker thread only. */
#ifndef SB_TRANSCODING_MIXER_H
#define SB_TRANSCODING_MIXER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_mixer sb_mixer;

/* rate 8000..48000, ptime_ms 10..60, max_parts 1..256. Returns an owned
 * mixer (sb_mixer_free, NULL-safe) or NULL for bad arguments. */
sb_mixer *sb_mixer_new(uint32_t rate, unsigned ptime_ms, unsigned max_parts);
void sb_mixer_free(sb_mixer *m);
/* Add a participant; returns its id (>= 0) or -EBUSY when full. */
int sb_mixer_join(sb_mixer *m);
/* Remove a participant; unknown ids are ignored. */
void sb_mixer_leave(sb_mixer *m, int id);
/* Give participant id's frame for this tick (exactly frame_samples
 * samples; copied). A participant without a frame is silent this tick.
 * 0, -ENOENT (unknown id), -EINVAL (wrong length). */
int sb_mixer_put(sb_mixer *m, int id, const int16_t *pcm, size_t n);
/* Mix this tick: computes every participant's output and clears the
 * inputs for the next tick. */
void sb_mixer_mix(sb_mixer *m);
/* Participant id's output of the last sb_mixer_mix (frame_samples long,
 * valid until the next mix), or NULL for an unknown id. */
const int16_t *sb_mixer_output(const sb_mixer *m, int id);
size_t sb_mixer_frame_samples(const sb_mixer *m);
unsigned sb_mixer_count(const sb_mixer *m);
/* The limiter: identity up to |v| = 24576, then a tanh knee that
 * approaches but never passes the int16 range. */
int16_t sb_mixer_soft_clip(int32_t v);

#endif
