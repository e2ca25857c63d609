/* Adaptive jitter buffer for the transcoding path (a relayed stream needs
 * none: the far end has its own). Packets are ordered by RTP sequence
 * number in a fixed ring allocated at creation (no allocation per
 * packet); the playout delay follows the RFC 3550 §6.4.1 interarrival
 * jitter estimate between a minimum and a maximum. The caller's playout
 * clock calls sb_jitter_get once per ptime. Owned by its bridge; worker
 * thread only. */
#ifndef SB_TRANSCODING_JITTER_H
#define SB_TRANSCODING_JITTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_jitter sb_jitter;

typedef struct sb_jitter_cfg {
	uint32_t clock_rate; /* RTP clock of the stream, Hz */
	unsigned ptime_ms;   /* frame duration the playout clock ticks at */
	unsigned min_ms;     /* smallest playout delay */
	unsigned max_ms;     /* largest playout delay */
	unsigned slots;      /* ring capacity in packets (2..256) */
	size_t max_payload;  /* bytes per slot */
} sb_jitter_cfg;

typedef enum sb_jitter_result {
	SB_JITTER_WAIT = 0,  /* still buffering: play nothing / comfort */
	SB_JITTER_FRAME = 1, /* *payload is the next frame */
	SB_JITTER_LOST = 2,  /* next frame missing: conceal one frame;
			      * *payload is the packet after it if present
			      * (for FEC), else NULL */
} sb_jitter_result;

typedef struct sb_jitter_stats {
	uint64_t played, lost, late, duplicate, discarded, resync;
} sb_jitter_stats;

/* Returns an owned buffer (sb_jitter_free, NULL-safe) or NULL for an
 * invalid configuration. */
sb_jitter *sb_jitter_new(const sb_jitter_cfg *cfg);
void sb_jitter_free(sb_jitter *jb);
/* Store a received packet; now_us is its arrival time on any monotonic
 * clock. 0, -EEXIST (duplicate), -ETIME (its time has passed),
 * -EMSGSIZE (larger than max_payload). A sequence jump beyond the ring
 * restarts buffering. */
int sb_jitter_put(sb_jitter *jb, uint16_t seq, uint32_t ts,
		  const uint8_t *payload, size_t len, uint64_t now_us);
/* One playout tick. Payload pointers stay valid until the next put. */
sb_jitter_result sb_jitter_get(sb_jitter *jb, uint64_t now_us,
			       const uint8_t **payload, size_t *len,
			       uint32_t *ts);
/* RFC 3550 interarrival jitter, in ms, and the current target delay. */
double sb_jitter_jitter_ms(const sb_jitter *jb);
unsigned sb_jitter_target_ms(const sb_jitter *jb);
/* Packets buffered now. */
unsigned sb_jitter_count(const sb_jitter *jb);
void sb_jitter_get_stats(const sb_jitter *jb, sb_jitter_stats *out);

#endif
