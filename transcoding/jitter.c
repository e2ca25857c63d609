/* Adaptive jitter buffer (see jitter.h). Slot i holds the packet whose
 * sequence number is congruent to i modulo the ring size; while playing,
 * only sequence numbers in [next_seq, next_seq + slots) are accepted, so
 * a slot can never hold two live packets. Worker thread only. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "transcoding/jitter.h"

typedef struct jb_slot {
	bool used;
	uint16_t seq;
	uint32_t ts;
	size_t len;
	uint8_t *data; /* borrowed: points into sb_jitter.store */
} jb_slot;

struct sb_jitter {
	sb_jitter_cfg cfg;
	jb_slot *slot;        /* owned, cfg.slots entries */
	uint8_t *store;       /* owned, slots * max_payload bytes */
	unsigned count;       /* used slots */
	bool started;         /* playout running */
	uint16_t next_seq;    /* next sequence number to play */
	uint16_t hi_seq;      /* newest sequence number buffered */
	bool have_played;
	uint16_t last_played; /* newest seq handed out (late detection) */
	uint64_t first_us;    /* arrival of the first packet buffered */
	unsigned empty_ticks; /* consecutive ticks with nothing buffered */
	/* RFC 3550 §6.4.1 / A.8 */
	bool have_transit;
	uint32_t last_transit;
	double jitter;        /* timestamp units */
	sb_jitter_stats stats;
};

sb_jitter *sb_jitter_new(const sb_jitter_cfg *cfg)
{
	if (cfg == NULL || cfg->clock_rate < 8000 ||
	    cfg->clock_rate > 96000 || cfg->ptime_ms == 0 ||
	    cfg->min_ms > cfg->max_ms || cfg->max_ms > 2000 ||
	    cfg->slots < 2 || cfg->slots > 256 || cfg->max_payload == 0 ||
	    cfg->max_payload > 1500)
		return NULL;
	sb_jitter *jb = g_new0(sb_jitter, 1);
	jb->cfg = *cfg;
	jb->slot = g_new0(jb_slot, cfg->slots);
	jb->store = g_malloc(cfg->slots * cfg->max_payload);
	for (unsigned i = 0; i < cfg->slots; i++)
		jb->slot[i].data = jb->store + i * cfg->max_payload;
	return jb;
}

void sb_jitter_free(sb_jitter *jb)
{
	if (jb == NULL)
		return;
	g_free(jb->store);
	g_free(jb->slot);
	g_free(jb);
}

/* Signed distance a - b on the 16-bit sequence circle. */
static int seq_diff(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b);
}

static jb_slot *slot_of(sb_jitter *jb, uint16_t seq)
{
	return &jb->slot[seq % jb->cfg.slots];
}

static void update_jitter(sb_jitter *jb, uint32_t ts, uint64_t now_us)
{
	/* Arrival time in timestamp units; only differences matter, so
	 * the uint32 wrap is harmless. */
	uint32_t arrival = (uint32_t)(now_us * jb->cfg.clock_rate / 1000000);
	uint32_t transit = arrival - ts;

	if (jb->have_transit) {
		int32_t d = (int32_t)(transit - jb->last_transit);
		jb->jitter += (fabs((double)d) - jb->jitter) / 16.0;
	}
	jb->last_transit = transit;
	jb->have_transit = true;
}

static void reset(sb_jitter *jb)
{
	for (unsigned i = 0; i < jb->cfg.slots; i++)
		jb->slot[i].used = false;
	jb->count = 0;
	jb->started = false;
	jb->empty_ticks = 0;
}

/* Where a packet may go: 0 to accept, or -errno. */
static int admit(sb_jitter *jb, uint16_t seq, uint64_t now_us)
{
	if (jb->have_played && seq_diff(seq, jb->last_played) <= 0)
		return -ETIME;
	if (jb->count == 0 && !jb->started) {
		jb->next_seq = seq;
		jb->hi_seq = seq;
		jb->first_us = now_us;
		return 0;
	}
	int ahead = seq_diff(seq, jb->next_seq);
	if (ahead < 0 && !jb->started &&
	    seq_diff(jb->hi_seq, seq) < (int)jb->cfg.slots) {
		/* Reordered before playout began: start earlier. */
		jb->next_seq = seq;
		return 0;
	}
	if (ahead < 0)
		return -ETIME;
	if (ahead >= (int)jb->cfg.slots) {
		/* Far jump (restarted sender, long gap): start over. */
		reset(jb);
		jb->have_played = false;
		jb->stats.resync++;
		jb->next_seq = seq;
		jb->hi_seq = seq;
		jb->first_us = now_us;
	}
	return 0;
}

int sb_jitter_put(sb_jitter *jb, uint16_t seq, uint32_t ts,
		  const uint8_t *payload, size_t len, uint64_t now_us)
{
	if (len > jb->cfg.max_payload)
		return -EMSGSIZE;
	int err = admit(jb, seq, now_us);
	if (err == -ETIME)
		jb->stats.late++;
	if (err < 0)
		return err;
	jb_slot *s = slot_of(jb, seq);
	if (s->used) {
		/* Same seq: admit keeps the window within the ring. */
		jb->stats.duplicate++;
		return -EEXIST;
	}
	update_jitter(jb, ts, now_us);
	if (jb->count == 0 || seq_diff(seq, jb->hi_seq) > 0)
		jb->hi_seq = seq;
	s->used = true;
	s->seq = seq;
	s->ts = ts;
	s->len = len;
	if (len > 0)
		memcpy(s->data, payload, len);
	jb->count++;
	return 0;
}

unsigned sb_jitter_target_ms(const sb_jitter *jb)
{
	/* One frame plus four mean deviations covers most of a roughly
	 * exponential jitter distribution. */
	double t = jb->cfg.ptime_ms + 4 * sb_jitter_jitter_ms(jb);
	if (t < jb->cfg.min_ms)
		t = jb->cfg.min_ms;
	if (t > jb->cfg.max_ms)
		t = jb->cfg.max_ms;
	return (unsigned)t;
}

static jb_slot *take(sb_jitter *jb)
{
	jb_slot *s = slot_of(jb, jb->next_seq);
	if (!s->used || s->seq != jb->next_seq)
		return NULL;
	s->used = false;
	jb->count--;
	jb->have_played = true;
	jb->last_played = jb->next_seq;
	jb->next_seq++;
	return s;
}

/* Too much buffered (a burst arrived): drop the oldest frame so the
 * delay comes back to the target. */
static void shrink(sb_jitter *jb)
{
	unsigned have = jb->count * jb->cfg.ptime_ms;
	if (have <= sb_jitter_target_ms(jb) + 2 * jb->cfg.ptime_ms)
		return;
	if (take(jb) != NULL)
		jb->stats.discarded++;
}

sb_jitter_result sb_jitter_get(sb_jitter *jb, uint64_t now_us,
			       const uint8_t **payload, size_t *len,
			       uint32_t *ts)
{
	*payload = NULL;
	*len = 0;
	if (!jb->started) {
		if (jb->count == 0 ||
		    now_us - jb->first_us < sb_jitter_target_ms(jb) * 1000ull)
			return SB_JITTER_WAIT;
		jb->started = true;
	}
	shrink(jb);
	jb_slot *s = take(jb);
	if (s != NULL) {
		jb->empty_ticks = 0;
		jb->stats.played++;
		*payload = s->data;
		*len = s->len;
		*ts = s->ts;
		return SB_JITTER_FRAME;
	}
	if (jb->count == 0) {
		/* Underrun: the packet may still come, so do not skip it;
		 * after max_ms of nothing the stream paused: rebuffer. */
		if (++jb->empty_ticks * jb->cfg.ptime_ms > jb->cfg.max_ms)
			reset(jb);
		return SB_JITTER_LOST;
	}
	/* Newer packets exist, so this one is lost: skip it and offer the
	 * next packet for FEC. */
	jb->stats.lost++;
	jb->next_seq++;
	jb_slot *n = slot_of(jb, jb->next_seq);
	if (n->used && n->seq == jb->next_seq) {
		*payload = n->data;
		*len = n->len;
		*ts = n->ts;
	}
	return SB_JITTER_LOST;
}

double sb_jitter_jitter_ms(const sb_jitter *jb)
{
	return jb->jitter * 1000.0 / jb->cfg.clock_rate;
}

unsigned sb_jitter_count(const sb_jitter *jb)
{
	return jb->count;
}

void sb_jitter_get_stats(const sb_jitter *jb, sb_jitter_stats *out)
{
	*out = jb->stats;
}
