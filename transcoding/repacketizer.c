/* Repacketiser (see repacketizer.h): a linear buffer compacted on each
 * pop; frames are at most a few hundred samples, so the memmove is
 * cheaper than ring bookkeeping. Worker thread only. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "transcoding/repacketizer.h"

#define REPACK_MAX_IN_MS 120

struct sb_repack {
	size_t frame;     /* output frame, samples */
	uint32_t ts_step; /* RTP units per output frame */
	uint32_t next_ts; /* timestamp of the next frame popped */
	size_t len;       /* samples buffered */
	size_t cap;       /* samples allocated: grows up to max */
	size_t max;       /* REPACK_MAX_IN_MS of input and one frame */
	int16_t *buf;     /* owned, cap samples */
};

sb_repack *sb_repack_new(uint32_t pcm_rate, unsigned out_ms,
			 uint32_t clock_rate, uint32_t ts0)
{
	if (pcm_rate < 8000 || pcm_rate > 48000 || out_ms < 10 ||
	    out_ms > 120 || clock_rate < 8000 || clock_rate > 48000)
		return NULL;
	sb_repack *r = g_new0(sb_repack, 1);
	r->frame = (size_t)pcm_rate * out_ms / 1000;
	r->ts_step = clock_rate / 1000 * out_ms;
	r->next_ts = ts0;
	r->max = (size_t)pcm_rate * REPACK_MAX_IN_MS / 1000 + r->frame;
	/* equal input and output frames (nearly every call) never need
	 * more than two; longer input frames grow it once, on their
	 * first packet (2.2 KiB at 8 kHz allocated up front otherwise) */
	r->cap = 2 * r->frame;
	r->buf = g_new(int16_t, r->cap);
	return r;
}

void sb_repack_free(sb_repack *r)
{
	if (r == NULL)
		return;
	g_free(r->buf);
	g_free(r);
}

int sb_repack_push(sb_repack *r, const int16_t *pcm, size_t n)
{
	if (n == 0 || pcm == NULL)
		return -EINVAL;
	if (n > r->max - r->len)
		return -ENOSPC;
	if (n > r->cap - r->len) {
		r->cap = MIN(MAX(2 * r->cap, r->len + n), r->max);
		r->buf = g_renew(int16_t, r->buf, r->cap);
	}
	memcpy(r->buf + r->len, pcm, n * sizeof(*pcm));
	r->len += n;
	return 0;
}

int sb_repack_pop(sb_repack *r, int16_t *out, uint32_t *ts)
{
	if (r->len < r->frame)
		return 0;
	memcpy(out, r->buf, r->frame * sizeof(*out));
	r->len -= r->frame;
	memmove(r->buf, r->buf + r->frame, r->len * sizeof(*out));
	*ts = r->next_ts;
	/* Wraps modulo 2^32 as RTP timestamps do. */
	r->next_ts += r->ts_step;
	return 1;
}

size_t sb_repack_frame_samples(const sb_repack *r)
{
	return r->frame;
}

size_t sb_repack_pending(const sb_repack *r)
{
	return r->len;
}
