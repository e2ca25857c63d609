/* Telephone-event forwarding between clock rates (see xcode_event.h).
 * Worker thread of the owning sb_xcode. */
#include <errno.h>
#include <string.h>

#include "transcoding/telephone_event.h"
#include "transcoding/xcode_event.h"

int sb_xcode_ev_init(sb_xcode_ev *e, uint32_t in_clock, uint32_t out_clock)
{
	if (e == NULL || in_clock < 8000 || in_clock > 96000 ||
	    out_clock < 8000 || out_clock > 96000)
		return -EINVAL;
	*e = (sb_xcode_ev){ .in_clock = in_clock, .out_clock = out_clock };
	return 0;
}

static bool seen_seq(sb_xcode_ev *e, uint16_t seq)
{
	unsigned n = e->n_seqs < SB_XCODE_EV_SEQS ? e->n_seqs
						   : SB_XCODE_EV_SEQS;
	for (unsigned i = 0; i < n; i++) {
		if (e->seqs[i] == seq)
			return true;
	}
	e->seqs[e->n_seqs++ % SB_XCODE_EV_SEQS] = seq;
	return false;
}

static int enqueue(sb_xcode_ev *e, const uint8_t *payload, size_t len,
		   bool marker)
{
	if (e->q_len == SB_XCODE_EV_QUEUE) {
		e->dropped++;
		return -ENOBUFS;
	}
	sb_xcode_ev_pkt *p = &e->q[(e->q_head + e->q_len++) %
				   SB_XCODE_EV_QUEUE];
	memcpy(p->payload, payload, len);
	p->len = (uint8_t)len;
	p->ts = e->out_ts;
	p->marker = marker;
	return 0;
}

/* Where the packet stands against the last event: 1 starts a new event,
 * 0 belongs to the current one, -ETIME is stale. */
static int classify(const sb_xcode_ev *e, uint32_t ts, bool end)
{
	if (!e->have_event)
		return 1;
	int32_t d = (int32_t)(ts - e->in_ts);
	if (d > 0)
		return 1;
	if (d < 0)
		return -ETIME;
	/* Same event: after its end only the end retransmissions pass. */
	return e->active || end ? 0 : -ETIME;
}

int sb_xcode_ev_push(sb_xcode_ev *e, const uint8_t *payload, size_t len,
		     uint16_t seq, uint32_t ts, uint32_t out_now_ts,
		     uint64_t now_us)
{
	uint8_t buf[SB_XCODE_EV_MAX];
	sb_tel_event ev;

	if (sb_tel_event_parse(payload, len, &ev) < 0)
		return -EBADMSG;
	if (seen_seq(e, seq))
		return -EEXIST;
	int c = classify(e, ts, ev.end);
	if (c < 0)
		return c;
	if (c == 1) {
		if (e->active)
			sb_xcode_ev_tick(e, UINT64_MAX); /* close it first */
		e->have_event = true;
		e->in_ts = ts;
		e->out_ts = out_now_ts;
		e->out_dur = 0;
		e->events++;
	}
	bool marker = c == 1;
	e->active = !ev.end;
	e->last_us = now_us;
	/* Whole 4-byte blocks only; extra redundancy blocks are cut. */
	len = len > SB_XCODE_EV_MAX ? SB_XCODE_EV_MAX : len & ~(size_t)3;
	memcpy(buf, payload, len);
	memcpy(e->last, payload, 4);
	sb_tel_event_map_payload(buf, len, e->in_clock, e->out_clock);
	uint16_t dur = (uint16_t)(buf[2] << 8 | buf[3]);
	if (dur > e->out_dur)
		e->out_dur = dur;
	return enqueue(e, buf, len, marker);
}

void sb_xcode_ev_tick(sb_xcode_ev *e, uint64_t now_us)
{
	if (!e->active || now_us - e->last_us < SB_XCODE_EV_TIMEOUT_US)
		return;
	uint8_t buf[4];
	memcpy(buf, e->last, 4);
	buf[1] |= 0x80; /* E bit */
	sb_tel_event_map_payload(buf, 4, e->in_clock, e->out_clock);
	for (int i = 0; i < 3; i++)
		enqueue(e, buf, 4, false);
	e->active = false;
}

bool sb_xcode_ev_pop(sb_xcode_ev *e, sb_xcode_ev_pkt *out)
{
	if (e->q_len == 0)
		return false;
	*out = e->q[e->q_head];
	e->q_head = (e->q_head + 1) % SB_XCODE_EV_QUEUE;
	e->q_len--;
	return true;
}

bool sb_xcode_ev_active(const sb_xcode_ev *e)
{
	return e->active;
}

bool sb_xcode_ev_covers(const sb_xcode_ev *e, uint32_t ts)
{
	if (e->active)
		return true;
	return e->have_event && (int32_t)(ts - e->out_ts) >= 0 &&
	       (int32_t)(ts - e->out_ts) < (int32_t)e->out_dur;
}
