/* Mix-minus conference mixer (see mixer.h): sum everybody once into an
 * int32 accumulator, then give each participant the sum minus its own
 * frame, so a tick costs O(N * frame) instead of O(N^2 * frame).
 * Worker thread only. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "transcoding/mixer.h"

/* Knee of the limiter: -2.5 dBFS. */
#define CLIP_KNEE 24576
#define CLIP_MAX 32767

typedef struct mix_part {
	bool used;
	bool has_in;   /* a frame was put this tick */
	int16_t *in;   /* borrowed: points into sb_mixer.pcm */
	int16_t *out;  /* borrowed: points into sb_mixer.pcm */
} mix_part;

struct sb_mixer {
	size_t frame;     /* samples per frame */
	unsigned max;     /* capacity */
	unsigned count;   /* participants joined */
	mix_part *part;   /* owned, max entries */
	int16_t *pcm;     /* owned, 2 * max * frame samples */
	int32_t *acc;     /* owned, frame samples */
};

sb_mixer *sb_mixer_new(uint32_t rate, unsigned ptime_ms, unsigned max_parts)
{
	if (rate < 8000 || rate > 48000 || ptime_ms < 10 || ptime_ms > 60 ||
	    max_parts < 1 || max_parts > 256)
		return NULL;
	sb_mixer *m = g_new0(sb_mixer, 1);
	m->frame = (size_t)rate * ptime_ms / 1000;
	m->max = max_parts;
	m->part = g_new0(mix_part, max_parts);
	m->pcm = g_new0(int16_t, 2 * (size_t)max_parts * m->frame);
	m->acc = g_new0(int32_t, m->frame);
	for (unsigned i = 0; i < max_parts; i++) {
		m->part[i].in = m->pcm + 2 * i * m->frame;
		m->part[i].out = m->part[i].in + m->frame;
	}
	return m;
}

void sb_mixer_free(sb_mixer *m)
{
	if (m == NULL)
		return;
	g_free(m->acc);
	g_free(m->pcm);
	g_free(m->part);
	g_free(m);
}

int sb_mixer_join(sb_mixer *m)
{
	for (unsigned i = 0; i < m->max; i++) {
		mix_part *p = &m->part[i];
		if (p->used)
			continue;
		p->used = true;
		p->has_in = false;
		memset(p->out, 0, m->frame * sizeof(*p->out));
		m->count++;
		return (int)i;
	}
	return -EBUSY;
}

static mix_part *part_of(const sb_mixer *m, int id)
{
	if (id < 0 || (unsigned)id >= m->max || !m->part[id].used)
		return NULL;
	return &m->part[id];
}

void sb_mixer_leave(sb_mixer *m, int id)
{
	mix_part *p = part_of(m, id);
	if (p == NULL)
		return;
	p->used = false;
	p->has_in = false;
	m->count--;
}

int sb_mixer_put(sb_mixer *m, int id, const int16_t *pcm, size_t n)
{
	mix_part *p = part_of(m, id);
	if (p == NULL)
		return -ENOENT;
	if (pcm == NULL || n != m->frame)
		return -EINVAL;
	memcpy(p->in, pcm, n * sizeof(*pcm));
	p->has_in = true;
	return 0;
}

int16_t sb_mixer_soft_clip(int32_t v)
{
	int32_t a = v < 0 ? -v : v;
	if (a <= CLIP_KNEE)
		return (int16_t)v;
	/* tanh knee: slope 1 at the knee, asymptote at CLIP_MAX. */
	const double room = CLIP_MAX - CLIP_KNEE;
	double y = CLIP_KNEE + room * tanh((a - CLIP_KNEE) / room);
	int32_t r = (int32_t)y;
	if (r > CLIP_MAX)
		r = CLIP_MAX;
	return (int16_t)(v < 0 ? -r : r);
}

void sb_mixer_mix(sb_mixer *m)
{
	memset(m->acc, 0, m->frame * sizeof(*m->acc));
	for (unsigned i = 0; i < m->max; i++) {
		const mix_part *p = &m->part[i];
		if (!p->used || !p->has_in)
			continue;
		for (size_t s = 0; s < m->frame; s++)
			m->acc[s] += p->in[s];
	}
	for (unsigned i = 0; i < m->max; i++) {
		mix_part *p = &m->part[i];
		if (!p->used)
			continue;
		for (size_t s = 0; s < m->frame; s++) {
			int32_t v = m->acc[s] - (p->has_in ? p->in[s] : 0);
			p->out[s] = sb_mixer_soft_clip(v);
		}
		p->has_in = false;
	}
}

const int16_t *sb_mixer_output(const sb_mixer *m, int id)
{
	const mix_part *p = part_of(m, id);
	return p != NULL ? p->out : NULL;
}

size_t sb_mixer_frame_samples(const sb_mixer *m)
{
	return m->frame;
}

unsigned sb_mixer_count(const sb_mixer *m)
{
	return m->count;
}
