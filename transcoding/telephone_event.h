/* RFC 4733 telephone-event: payload parse/build, a DTMF sender state
 * machine, a receiver that reports each digit exactly once, and mapping of
 * timestamps/durations between clock rates (48000 <-> 8000). Sans-I/O:
 * callers give and take RTP fields. Plain structs owned by the caller,
 * each used from one thread (the media worker); pure functions: any
 * thread. */
#ifndef SB_TRANSCODING_TELEPHONE_EVENT_H
#define SB_TRANSCODING_TELEPHONE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* RFC 4733 §2.3: one event is 4 bytes. */
#define SB_TEL_EVENT_SIZE 4
/* Highest DTMF event code (§3.2: 0-9, * = 10, # = 11, A-D = 12-15). */
#define SB_TEL_EVENT_DTMF_MAX 15

typedef struct sb_tel_event {
	uint8_t event;     /* event code 0..255 */
	bool end;          /* E bit: last packet(s) of the event */
	uint8_t volume;    /* 0..63, in -dBm0 */
	uint16_t duration; /* in RTP timestamp units since event start */
} sb_tel_event;

/* Parse the first event of a payload. 0, or -EBADMSG when len < 4.
 * (Further events in the payload are redundancy and are ignored.) */
int sb_tel_event_parse(const uint8_t *buf, size_t len, sb_tel_event *ev);
/* Write 4 bytes; returns 4 or -ENOSPC / -EINVAL (volume > 63). */
ssize_t sb_tel_event_build(const sb_tel_event *ev, uint8_t *buf, size_t cap);
/* '0'-'9', '*', '#', 'A'-'D' for DTMF codes 0-15; 0 otherwise. */
char sb_tel_event_to_char(uint8_t event);
/* Inverse (case-insensitive letters); -EINVAL for other characters. */
int sb_tel_event_from_char(char c);

/* ---- clock-rate mapping ------------------------------------------- */

/* Duration in units of `from` Hz expressed in `to` Hz, rounded to the
 * nearest unit and saturated at 0xffff. */
uint16_t sb_tel_event_map_duration(uint16_t dur, uint32_t from, uint32_t to);
/* An RTP timestamp of the `from` stream expressed in the `to` stream,
 * where in_base and out_base are one instant in both. Wrap-safe for
 * distances up to 2^31 units. */
uint32_t sb_tel_event_map_ts(uint32_t ts, uint32_t in_base,
			     uint32_t out_base, uint32_t from, uint32_t to);
/* Rewrite the duration of every event in a payload in place.
 * 0 or -EBADMSG. */
int sb_tel_event_map_payload(uint8_t *buf, size_t len, uint32_t from,
			     uint32_t to);

/* ---- sender ----------------------------------------------------------- */

/* One RTP packet to send: payload, RTP timestamp and marker bit. */
typedef struct sb_dtmf_pkt {
	uint8_t payload[SB_TEL_EVENT_SIZE];
	uint32_t timestamp; /* the event's start timestamp (RFC 4733 §2.5.1.1) */
	bool marker;        /* first packet of the event */
} sb_dtmf_pkt;

/* RFC 4733 §2.5.1: first packet with marker, an update every ptime
 * (duration growing), then the final packet with E set three times
 * (§2.5.1.4), all with the start timestamp. */
typedef struct sb_dtmf_gen {
	uint32_t clock_rate;
	uint32_t step;      /* timestamp units per ptime */
	uint32_t total;     /* event duration in units (<= 0xffff) */
	uint32_t timestamp; /* event start */
	uint32_t sent;      /* duration of the last packet made */
	uint8_t event;
	uint8_t volume;
	uint8_t ends_left;  /* final packets still to send */
	bool active;
} sb_dtmf_gen;

/* clock_rate 8000..48000, ptime_ms 10..100. 0 or -EINVAL. */
int sb_dtmf_gen_init(sb_dtmf_gen *g, uint32_t clock_rate,
		     unsigned ptime_ms);
/* Start a digit lasting duration_ms (clamped to 40 ms .. 0xffff units)
 * at RTP timestamp ts. -EINVAL for a non-DTMF digit, -EBUSY while the
 * previous one is still being sent. */
int sb_dtmf_gen_start(sb_dtmf_gen *g, char digit, unsigned duration_ms,
		      uint8_t volume, uint32_t ts);
/* Next packet to send, one call per ptime: 1 with *out filled, 0 when
 * the event is over. */
int sb_dtmf_gen_next(sb_dtmf_gen *g, sb_dtmf_pkt *out);
bool sb_dtmf_gen_busy(const sb_dtmf_gen *g);

/* ---- receiver ----------------------------------------------------------- */

typedef struct sb_dtmf_digit {
	char digit;           /* '0'-'9', '*', '#', 'A'-'D' */
	uint32_t timestamp;   /* event start (RTP timestamp) */
	uint32_t duration_ms; /* as last reported by the sender */
	bool end_seen;        /* false when the end was lost and inferred */
} sb_dtmf_digit;

#define SB_DTMF_RX_HISTORY 4

/* Reports each event once, when it ends: at its first E packet, or, if
 * all E packets were lost, when a newer event starts or the caller
 * expires it. Retransmitted/reordered packets of finished events are
 * recognised by their timestamp and dropped. */
typedef struct sb_dtmf_rx {
	uint32_t clock_rate;
	bool open;             /* an event is in progress */
	uint32_t ts;           /* its start timestamp */
	uint8_t event;
	uint16_t duration;     /* longest duration seen for it */
	uint32_t done[SB_DTMF_RX_HISTORY]; /* timestamps already reported */
	unsigned n_done;       /* valid entries (ring, newest at n_done-1) */
} sb_dtmf_rx;

/* 0 or -EINVAL (clock rate 8000..48000). */
int sb_dtmf_rx_init(sb_dtmf_rx *rx, uint32_t clock_rate);
/* Feed one telephone-event packet (RTP timestamp + payload). Writes up to
 * two finished digits to out[] and returns how many, or -EBADMSG.
 * Non-DTMF event codes are ignored. */
int sb_dtmf_rx_packet(sb_dtmf_rx *rx, uint32_t ts, const uint8_t *payload,
		      size_t len, sb_dtmf_digit out[2]);
/* Close an open event whose end packets never came (call when no event
 * packet arrived for a while, e.g. 3 ptimes past its last duration).
 * Returns 1 with *out filled, or 0. */
int sb_dtmf_rx_expire(sb_dtmf_rx *rx, sb_dtmf_digit *out);

#endif
