/* Telephone-event (RFC 4733) forwarding for sb_xcode: input event packets
 * are mapped to the output clock (durations scaled, each event re-based
 * on the output audio timeline) and queued for sending, 1:1 with the
 * input packets, duplicates and stale packets removed. If an event's end
 * packets are all lost, three end packets are made up after a timeout
 * (§2.5.1.4) so the far end does not hold the digit forever.
 * Internal to transcoding/: a plain struct embedded in its sb_xcode,
 * used from that object's worker thread. */
#ifndef SB_TRANSCODING_XCODE_EVENT_H
#define SB_TRANSCODING_XCODE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Events with redundancy blocks are cut to this many bytes. */
#define SB_XCODE_EV_MAX 16
#define SB_XCODE_EV_QUEUE 8
#define SB_XCODE_EV_SEQS 16
/* An event with no packet for this long is over (end packets lost). */
#define SB_XCODE_EV_TIMEOUT_US 250000ull

typedef struct sb_xcode_ev_pkt {
	uint8_t payload[SB_XCODE_EV_MAX];
	uint8_t len;
	uint32_t ts;   /* output timestamp: the event start */
	bool marker;   /* first packet of the event */
} sb_xcode_ev_pkt;

typedef struct sb_xcode_ev {
	uint32_t in_clock, out_clock;
	bool have_event;          /* in_ts/out_ts describe the last event */
	bool active;              /* started, end not yet forwarded */
	uint32_t in_ts, out_ts;   /* its start on both sides */
	uint8_t last[4];          /* its newest block (for made-up ends) */
	uint16_t out_dur;         /* its longest duration, output units */
	uint64_t last_us;         /* arrival of its newest packet */
	uint16_t seqs[SB_XCODE_EV_SEQS]; /* recent input seqs (duplicates) */
	unsigned n_seqs;
	sb_xcode_ev_pkt q[SB_XCODE_EV_QUEUE];
	unsigned q_head, q_len;
	uint64_t events, dropped;
} sb_xcode_ev;

/* Clocks 8000..96000. 0 or -EINVAL. */
int sb_xcode_ev_init(sb_xcode_ev *e, uint32_t in_clock, uint32_t out_clock);
/* One input event packet. out_now_ts: the output timestamp of "now" (the
 * next audio slot), where a new event starts. 0 queued; -EEXIST
 * duplicate; -ETIME stale (older event, or an update after its end);
 * -EBADMSG too short; -ENOBUFS queue full. */
int sb_xcode_ev_push(sb_xcode_ev *e, const uint8_t *payload, size_t len,
		     uint16_t seq, uint32_t ts, uint32_t out_now_ts,
		     uint64_t now_us);
/* Ends an event whose end packets never came (queues three). */
void sb_xcode_ev_tick(sb_xcode_ev *e, uint64_t now_us);
/* Next packet to send: true with *out filled. */
bool sb_xcode_ev_pop(sb_xcode_ev *e, sb_xcode_ev_pkt *out);
/* An event is being sent: output audio must pause. */
bool sb_xcode_ev_active(const sb_xcode_ev *e);
/* True while output timestamp ts (on the output event clock) falls
 * inside the last event: audio there would overlap it. */
bool sb_xcode_ev_covers(const sb_xcode_ev *e, uint32_t ts);

#endif
