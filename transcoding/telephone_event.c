/* RFC 4733 telephone-event payloads, sender and receiver (see
 * telephone_event.h). Sans-I/O; state objects belong to one worker. */
#include <errno.h>

#include <glib.h>

#include "transcoding/telephone_event.h"

static const char dtmf_chars[] = "0123456789*#ABCD";

int sb_tel_event_parse(const uint8_t *buf, size_t len, sb_tel_event *ev)
{
	if (buf == NULL || ev == NULL || len < SB_TEL_EVENT_SIZE)
		return -EBADMSG;
	/* RFC 4733 §2.3: event | E R volume(6) | duration(16) */
	ev->event = buf[0];
	ev->end = (buf[1] & 0x80) != 0;
	ev->volume = buf[1] & 0x3f;
	ev->duration = (uint16_t)(buf[2] << 8 | buf[3]);
	return 0;
}

ssize_t sb_tel_event_build(const sb_tel_event *ev, uint8_t *buf, size_t cap)
{
	if (ev == NULL || buf == NULL || ev->volume > 63)
		return -EINVAL;
	if (cap < SB_TEL_EVENT_SIZE)
		return -ENOSPC;
	buf[0] = ev->event;
	/* R bit is reserved: sent as zero. */
	buf[1] = (uint8_t)((ev->end ? 0x80 : 0) | ev->volume);
	buf[2] = (uint8_t)(ev->duration >> 8);
	buf[3] = (uint8_t)ev->duration;
	return SB_TEL_EVENT_SIZE;
}

char sb_tel_event_to_char(uint8_t event)
{
	return event <= SB_TEL_EVENT_DTMF_MAX ? dtmf_chars[event] : 0;
}

int sb_tel_event_from_char(char c)
{
	c = g_ascii_toupper(c);
	for (int i = 0; i <= SB_TEL_EVENT_DTMF_MAX; i++) {
		if (dtmf_chars[i] == c)
			return i;
	}
	return -EINVAL;
}

/* ---- clock-rate mapping ---------------------------------------------- */

uint16_t sb_tel_event_map_duration(uint16_t dur, uint32_t from, uint32_t to)
{
	if (from == 0)
		return 0;
	uint64_t v = ((uint64_t)dur * to + from / 2) / from;
	return v > 0xffff ? 0xffff : (uint16_t)v;
}

uint32_t sb_tel_event_map_ts(uint32_t ts, uint32_t in_base,
			     uint32_t out_base, uint32_t from, uint32_t to)
{
	if (from == 0)
		return out_base;
	/* Signed distance so a timestamp just before the base (reordered
	 * packet) maps before out_base instead of 2^32 units ahead. */
	int64_t delta = (int32_t)(ts - in_base);
	int64_t scaled = delta * (int64_t)to / (int64_t)from;
	return out_base + (uint32_t)scaled;
}

int sb_tel_event_map_payload(uint8_t *buf, size_t len, uint32_t from,
			     uint32_t to)
{
	if (buf == NULL || len < SB_TEL_EVENT_SIZE || from == 0 || to == 0)
		return -EBADMSG;
	for (size_t off = 0; off + SB_TEL_EVENT_SIZE <= len;
	     off += SB_TEL_EVENT_SIZE) {
		uint16_t d = (uint16_t)(buf[off + 2] << 8 | buf[off + 3]);
		d = sb_tel_event_map_duration(d, from, to);
		buf[off + 2] = (uint8_t)(d >> 8);
		buf[off + 3] = (uint8_t)d;
	}
	return 0;
}

/* ---- sender ------------------------------------------------------------- */

static bool clock_ok(uint32_t rate)
{
	return rate >= 8000 && rate <= 48000 && rate % 1000 == 0;
}

int sb_dtmf_gen_init(sb_dtmf_gen *g, uint32_t clock_rate, unsigned ptime_ms)
{
	if (g == NULL || !clock_ok(clock_rate) || ptime_ms < 10 ||
	    ptime_ms > 100)
		return -EINVAL;
	*g = (sb_dtmf_gen){
		.clock_rate = clock_rate,
		.step = clock_rate / 1000 * ptime_ms,
	};
	return 0;
}

int sb_dtmf_gen_start(sb_dtmf_gen *g, char digit, unsigned duration_ms,
		      uint8_t volume, uint32_t ts)
{
	int ev = sb_tel_event_from_char(digit);

	if (ev < 0 || volume > 63)
		return -EINVAL;
	if (g->active)
		return -EBUSY;
	/* Receivers need ~40 ms to detect a digit (ITU-T Q.24). */
	if (duration_ms < 40)
		duration_ms = 40;
	uint64_t total = (uint64_t)duration_ms * (g->clock_rate / 1000);
	/* Longer events would need §2.5.1.3 segments; a DTMF key press
	 * never lasts 1.3 s at 48 kHz, so clamp instead. */
	g->total = total > 0xffff ? 0xffff : (uint32_t)total;
	g->timestamp = ts;
	g->event = (uint8_t)ev;
	g->volume = volume;
	g->sent = 0;
	g->ends_left = 3;
	g->active = true;
	return 0;
}

int sb_dtmf_gen_next(sb_dtmf_gen *g, sb_dtmf_pkt *out)
{
	sb_tel_event ev;

	if (!g->active)
		return 0;
	out->marker = g->sent == 0 && g->ends_left == 3;
	out->timestamp = g->timestamp;
	ev = (sb_tel_event){ .event = g->event, .volume = g->volume };
	if (g->sent + g->step < g->total) {
		g->sent += g->step;
	} else {
		g->sent = g->total;
		ev.end = true;
		if (--g->ends_left == 0)
			g->active = false;
	}
	ev.duration = (uint16_t)g->sent;
	sb_tel_event_build(&ev, out->payload, sizeof(out->payload));
	return 1;
}

bool sb_dtmf_gen_busy(const sb_dtmf_gen *g)
{
	return g->active;
}

/* ---- receiver ----------------------------------------------------------- */

int sb_dtmf_rx_init(sb_dtmf_rx *rx, uint32_t clock_rate)
{
	if (rx == NULL || !clock_ok(clock_rate))
		return -EINVAL;
	*rx = (sb_dtmf_rx){ .clock_rate = clock_rate };
	return 0;
}

static bool rx_already_done(const sb_dtmf_rx *rx, uint32_t ts)
{
	unsigned n = MIN(rx->n_done, SB_DTMF_RX_HISTORY);

	for (unsigned i = 0; i < n; i++) {
		if (rx->done[i] == ts)
			return true;
	}
	if (rx->n_done == 0)
		return false;
	/* Older than the newest finished event: a stray late packet. */
	uint32_t newest = rx->done[(rx->n_done - 1) % SB_DTMF_RX_HISTORY];
	return (int32_t)(ts - newest) < 0;
}

static void rx_close(sb_dtmf_rx *rx, bool end_seen, sb_dtmf_digit *out)
{
	out->digit = sb_tel_event_to_char(rx->event);
	out->timestamp = rx->ts;
	out->duration_ms = (uint32_t)((uint64_t)rx->duration * 1000 /
				      rx->clock_rate);
	out->end_seen = end_seen;
	rx->done[rx->n_done % SB_DTMF_RX_HISTORY] = rx->ts;
	rx->n_done++;
	rx->open = false;
}

int sb_dtmf_rx_packet(sb_dtmf_rx *rx, uint32_t ts, const uint8_t *payload,
		      size_t len, sb_dtmf_digit out[2])
{
	sb_tel_event ev;
	int n = 0;

	if (sb_tel_event_parse(payload, len, &ev) < 0)
		return -EBADMSG;
	if (ev.event > SB_TEL_EVENT_DTMF_MAX || rx_already_done(rx, ts))
		return 0;
	if (rx->open && ts != rx->ts) {
		/* Older than the open event: stray, ignore. */
		if ((int32_t)(ts - rx->ts) < 0)
			return 0;
		/* A newer event started: the open one ended unseen. */
		rx_close(rx, false, &out[n++]);
	}
	if (!rx->open) {
		/* Start (or a lost start: any packet opens the event). */
		rx->open = true;
		rx->ts = ts;
		rx->event = ev.event;
		rx->duration = ev.duration;
	} else if (ev.duration > rx->duration) {
		rx->duration = ev.duration;
	}
	if (ev.end)
		rx_close(rx, true, &out[n++]);
	return n;
}

int sb_dtmf_rx_expire(sb_dtmf_rx *rx, sb_dtmf_digit *out)
{
	if (!rx->open)
		return 0;
	rx_close(rx, false, out);
	return 1;
}
