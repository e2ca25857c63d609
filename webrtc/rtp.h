/* RTP fixed header (RFC 3550 §5.1): parse, build, in-place rewrite of
 * payload type, sequence number, timestamp and SSRC, and the relay-side
 * rewriter that keeps seq/ts continuous when the source changes.
 * Pure functions on caller buffers; no allocation; any thread (an
 * sb_rtp_rewrite belongs to the thread of its owner, the media worker). */
#ifndef SB_WEBRTC_RTP_H
#define SB_WEBRTC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SB_RTP_HDR_MIN 12
#define SB_RTP_MAX_CSRC 15

/* A parsed view of one RTP packet. Offsets refer to the parsed buffer. */
typedef struct sb_rtp_hdr {
	bool padding;
	bool extension;
	bool marker;
	uint8_t cc;                      /* CSRC count */
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint32_t csrc[SB_RTP_MAX_CSRC];
	uint16_t ext_profile;            /* RFC 3550 §5.3.1, 0 if no X */
	size_t ext_len;                  /* extension data bytes (not the 4-byte head) */
	size_t header_len;               /* fixed + CSRC + extension */
	size_t payload_off;              /* == header_len */
	size_t payload_len;              /* without padding */
	uint8_t pad_len;
} sb_rtp_hdr;

/* Parse an RTP packet. Returns 0, or -EBADMSG for anything that is not a
 * well-formed version-2 packet (truncated, bad padding, bad extension
 * length). Never reads past len. h is written only on success. */
int sb_rtp_parse(const uint8_t *buf, size_t len, sb_rtp_hdr *h);

/* Write a header (version 2, no padding, no extension; h->cc CSRCs) and
 * copy plen payload bytes after it (payload may be NULL when plen is 0).
 * Returns the packet length, or -ENOSPC if cap is too small. */
ssize_t sb_rtp_build(uint8_t *buf, size_t cap, const sb_rtp_hdr *h,
		     const uint8_t *payload, size_t plen);

/* In-place field writers; buf must hold at least SB_RTP_HDR_MIN bytes of a
 * packet that sb_rtp_parse accepted. The marker bit is preserved. */
void sb_rtp_set_pt(uint8_t *buf, uint8_t pt);
void sb_rtp_set_seq(uint8_t *buf, uint16_t seq);
void sb_rtp_set_ts(uint8_t *buf, uint32_t ts);
void sb_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc);

/* Relay rewriter for one direction: everything leaving has out_ssrc and
 * a sequence/timestamp space that stays continuous when the incoming
 * source changes (a re-INVITE, a new SSRC from the phone, an ICE restart).
 * Owned by value by its direction; worker thread only. */
typedef struct sb_rtp_rewrite {
	uint32_t out_ssrc;
	bool have_in;          /* in_ssrc and offsets are valid */
	uint32_t in_ssrc;
	uint16_t seq_off;      /* out_seq = in_seq + seq_off */
	uint32_t ts_off;       /* out_ts = in_ts + ts_off */
	bool have_out;
	uint16_t last_seq;     /* last sequence number written */
	uint32_t last_ts;      /* last timestamp written */
	uint32_t ts_step;      /* last positive ts delta seen; gap on re-anchor */
} sb_rtp_rewrite;

/* default_step: timestamp units of one packet before any was seen (e.g.
 * 160 for 20 ms at 8 kHz, 960 at 48 kHz). */
void sb_rtp_rewrite_init(sb_rtp_rewrite *rw, uint32_t out_ssrc,
			 uint32_t default_step);

/* Forget the incoming source so the next packet re-anchors, continuing
 * one step after the last packet written (used on re-offers). */
void sb_rtp_rewrite_reset_source(sb_rtp_rewrite *rw);

/* Rewrite one parsed packet in place: PT := out_pt, SSRC := out_ssrc,
 * seq/ts shifted. A packet with a new SSRC re-anchors automatically. */
void sb_rtp_rewrite_apply(sb_rtp_rewrite *rw, uint8_t *buf,
			  const sb_rtp_hdr *h, uint8_t out_pt);

#endif
