/* One direction of a transcoded call (e.g. browser Opus 48 kHz -> SIP
 * PCMU), sans-I/O: the media session hands in received RTP payloads with
 * their parsed header fields and pulls the packets to send, passing the
 * time in as now_us (any monotonic clock, microseconds). No sockets, no
 * main loop, no allocation after sb_xcode_new.
 *
 * Audio: adaptive jitter buffer (optional, see use_jitter) -> decode
 * at the narrow side's PCM rate
 * (Opus is decoded/encoded directly at 8 or 16 kHz, no resampler) with
 * Opus in-band FEC for a lost frame when the next packet is there and
 * codec PLC otherwise -> repacketiser to the output ptime -> encode.
 * RFC 4733 telephone-events bypass the audio path: their timestamps and
 * durations are mapped to the output clock and they are forwarded as
 * events, never decoded; output audio pauses while an event is sent.
 *
 * Ownership: the media session owns each sb_xcode. Thread: every call on
 * one object must come from the media worker that owns the call. */
#ifndef SB_TRANSCODING_XCODE_H
#define SB_TRANSCODING_XCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transcoding/codec.h"

typedef struct sb_xcode sb_xcode;

/* Start from sb_xcode_cfg_init() and fill in the codecs and PTs. */
typedef struct sb_xcode_cfg {
	const sb_codec *in_codec;  /* borrowed static descriptor (audio) */
	uint8_t in_pt;             /* its RTP payload type */
	int in_te_pt;              /* input telephone-event PT, -1 none */
	uint32_t in_te_clock;      /* its RTP clock; 0 = in_codec's */
	unsigned in_ptime_ms;      /* expected input ptime (SDP), 0 = 20 */

	const sb_codec *out_codec; /* borrowed static descriptor (audio) */
	uint8_t out_pt;
	int out_te_pt;             /* output telephone-event PT, -1 none:
				    * input events are then dropped */
	uint32_t out_te_clock;     /* 0 = out_codec's clock */
	unsigned out_ptime_ms;     /* 10..60 and supported by out_codec */
	uint32_t out_ssrc;         /* copied to every sb_xcode_out */
	uint16_t out_seq0;         /* first output sequence number */
	uint32_t out_ts0;          /* first output timestamp */

	uint32_t pcm_rate;         /* internal rate; 0 = narrow side's
				    * (8000 G.711, 16000 G.722) */
	int opus_complexity;       /* 0..10, default 5 */
	bool opus_fec;             /* in-band FEC, default on: the encoder
				    * adds it, the decoder uses it */
	bool opus_dtx;             /* default off */
	int opus_loss_perc;        /* encoder loss hint %, default 10 */
	int opus_bitrate;          /* bit/s, 0 = automatic */
	bool opus_low_delay;       /* CELT only until DTX or a loss hint
				    * above 0 needs SILK (sb_codec_params.
				    * low_delay), default on */

	/* Default on. Off (direct mode): each input frame is decoded as it
	 * arrives and an output frame is due as soon as it is complete, so
	 * the direction adds no delay of its own; losses are seen as
	 * sequence gaps (FEC from the packet after, else PLC), a packet
	 * older than one already played is dropped, and smoothing jitter is
	 * left to the receiving endpoint's own buffer. */
	bool use_jitter;
	unsigned jitter_min_ms;    /* default 20 */
	unsigned jitter_max_ms;    /* default 200 */
	size_t jitter_max_payload; /* bytes per packet; 0 = by codec */
} sb_xcode_cfg;

/* One packet to send. payload points into a buffer the thread's
 * transcoders share: it stays valid until the next sb_xcode_push, pull
 * or free on this thread, whichever transcoder. */
typedef struct sb_xcode_out {
	const uint8_t *payload;
	size_t len;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	bool marker;
	bool event;                /* a telephone-event packet */
} sb_xcode_out;

typedef struct sb_xcode_stats {
	uint64_t packets_in;       /* audio + event packets accepted */
	uint64_t packets_out;      /* audio + event packets produced */
	uint64_t lost;             /* input frames that never came */
	uint64_t concealed;        /* frames made by PLC (loss, underrun) */
	uint64_t fec_recovered;    /* lost frames rebuilt from Opus FEC */
	uint64_t dtmf_events;      /* distinct telephone-events forwarded */
	uint64_t events_out;       /* telephone-event packets produced */
	uint64_t late, duplicate;  /* input packets refused */
	uint64_t bad;              /* unknown PT, undecodable payloads */
	double jitter_ms;          /* RFC 3550 interarrival jitter */
	int loss_hint;             /* % loss the encoder's FEC plans for
				    * (0 for codecs without FEC) */
	unsigned delay_ms;         /* current jitter-buffer target */
} sb_xcode_stats;

/* Defaults: ptimes 20 ms, no telephone-event, PCM rate automatic, Opus
 * complexity 5, FEC on, DTX off, loss hint 10 %, jitter buffer on,
 * 20..200 ms. Any thread. */
void sb_xcode_cfg_init(sb_xcode_cfg *cfg);

/* Returns an owned object (sb_xcode_free), or NULL with *err set:
 * -EINVAL bad configuration, -ENOTSUP codecs at different fixed rates
 * (would need a resampler), -ENOMEM. err may be NULL. Worker thread. */
sb_xcode *sb_xcode_new(const sb_xcode_cfg *cfg, int *err);
void sb_xcode_free(sb_xcode *x);

/* One received RTP packet (decrypted; header parsed by the caller).
 * 0 accepted; -EEXIST duplicate; -ETIME too late; -EMSGSIZE too big;
 * -ENOMSG unknown payload type; -EBADMSG empty audio or malformed
 * telephone-event; -ENOBUFS event queue full (pull more often);
 * -EINVAL NULL payload with len > 0. Refusals are counted in stats. */
int sb_xcode_push(sb_xcode *x, const uint8_t *payload, size_t len,
		  uint8_t pt, uint16_t seq, uint32_t ts, bool marker,
		  uint64_t now_us);

/* Call every output ptime (more often is fine) and repeat while it
 * returns 0: each 0 fills *out with one packet to send; -EAGAIN when
 * nothing is due. Telephone-events are due as soon as pushed; audio
 * once per output ptime with a jitter buffer, as soon as an output
 * frame is complete without (pull right after each push then).
 * Output seq/ts are continuous on the output RTP clock (Opus: 48000
 * whatever the PCM rate); ts keeps advancing across silences (without
 * a jitter buffer: as far as the input's did); marker on the first
 * packet and every talkspurt. */
int sb_xcode_pull(sb_xcode *x, uint64_t now_us, sb_xcode_out *out);

void sb_xcode_get_stats(const sb_xcode *x, sb_xcode_stats *out);

/* The receiver of the output reported losing loss_perc % (RTCP): the
 * encoder's FEC follows it (replaces cfg.opus_loss_perc). 0 or
 * -EINVAL. */
int sb_xcode_set_loss(sb_xcode *x, int loss_perc);

#endif
