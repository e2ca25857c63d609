/* RTCP (RFC 3550 §6): parse compound packets (SR, RR, SDES CNAME, BYE;
 * other types are counted and skipped), keep receiver statistics per
 * RFC 3550 A.1/A.3/A.8 and build compound SR/RR + SDES reports from a
 * leg's own counters. Pure: time is passed in by the caller. No
 * allocation; stats objects belong to their leg (media worker thread). */
#ifndef SB_WEBRTC_RTCP_H
#define SB_WEBRTC_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SB_RTCP_SR 200
#define SB_RTCP_RR 201
#define SB_RTCP_SDES 202
#define SB_RTCP_BYE 203
#define SB_RTCP_APP 204

#define SB_RTCP_MAX_BLOCKS 31
#define SB_RTCP_MAX_BYE 31
#define SB_RTCP_CNAME_MAX 255

/* One report block (RFC 3550 §6.4.1). */
typedef struct sb_rtcp_block {
	uint32_t ssrc;          /* source this block reports on */
	uint8_t fraction_lost;  /* 8-bit fixed point */
	int32_t cum_lost;       /* 24-bit signed on the wire */
	uint32_t ext_max_seq;   /* cycles << 16 | highest seq */
	uint32_t jitter;        /* timestamp units */
	uint32_t lsr;           /* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;          /* 1/65536 s since that SR */
} sb_rtcp_block;

/* Sender info of an SR (RFC 3550 §6.4.1). */
typedef struct sb_rtcp_sender_info {
	uint64_t ntp;           /* 32.32 fixed point NTP time */
	uint32_t rtp_ts;
	uint32_t packets;
	uint32_t octets;
} sb_rtcp_sender_info;

/* Everything sb_rtcp_parse extracts from one compound packet. Blocks from
 * all SR/RR packets are appended in order (up to SB_RTCP_MAX_BLOCKS). */
typedef struct sb_rtcp_info {
	unsigned n_packets;     /* RTCP packets in the compound */
	unsigned n_other;       /* packets of types not parsed here */
	bool has_sr;
	uint32_t sr_ssrc;
	sb_rtcp_sender_info sr;
	bool has_rr;
	uint32_t rr_ssrc;
	sb_rtcp_block blocks[SB_RTCP_MAX_BLOCKS];
	unsigned n_blocks;
	bool has_cname;
	uint32_t cname_ssrc;
	char cname[SB_RTCP_CNAME_MAX + 1];
	uint32_t bye_ssrc[SB_RTCP_MAX_BYE];
	unsigned n_bye;
} sb_rtcp_info;

/* Parse a compound RTCP packet. Returns 0, or -EBADMSG if any packet is
 * not version 2 or its length field runs past len (RFC 3550 §6.1 header
 * validity checks; the padding bit is honoured only on the last packet).
 * Never reads past len. */
int sb_rtcp_parse(const uint8_t *buf, size_t len, sb_rtcp_info *info);

/* Receiver statistics for one incoming source (RFC 3550 A.1, A.3, A.8).
 * Owned by value by a leg; worker thread only. */
typedef struct sb_rtcp_rx {
	bool active;            /* at least one packet seen */
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles;        /* shifted count of seq wraparounds */
	uint32_t base_seq;
	uint32_t bad_seq;
	uint32_t received;
	uint32_t expected_prior;
	uint32_t received_prior;
	uint32_t transit;
	uint32_t jitter_q4;     /* jitter * 16 (A.8 integer form) */
	uint32_t lsr;           /* middle 32 bits of the last SR received */
	uint64_t lsr_time_us;   /* caller's monotonic clock at that SR */
} sb_rtcp_rx;

void sb_rtcp_rx_init(sb_rtcp_rx *rx);

/* Account one valid RTP packet. arrival is the arrival time converted to
 * the stream's RTP clock (any fixed origin). A new SSRC restarts the
 * statistics. */
void sb_rtcp_rx_packet(sb_rtcp_rx *rx, uint32_t ssrc, uint16_t seq,
		       uint32_t rtp_ts, uint32_t arrival);

/* Remember an SR from the remote sender for LSR/DLSR. */
void sb_rtcp_rx_sr(sb_rtcp_rx *rx, uint64_t ntp, uint64_t now_us);

/* Fill a report block for the interval since the previous call (fraction
 * lost is per interval, A.3). Returns false (block untouched) when no
 * packet has been received yet. */
bool sb_rtcp_rx_block(sb_rtcp_rx *rx, uint64_t now_us, sb_rtcp_block *b);

/* Build a compound packet: an SR when si != NULL (else an RR) from ssrc
 * with n blocks (max SB_RTCP_MAX_BLOCKS), then SDES with a CNAME item
 * (RFC 3550 §6.1: every compound carries a CNAME). Returns the length,
 * -ENOSPC if cap is too small or -EINVAL for a bad argument. */
ssize_t sb_rtcp_build_report(uint8_t *buf, size_t cap, uint32_t ssrc,
			     const sb_rtcp_sender_info *si,
			     const sb_rtcp_block *blocks, unsigned n,
			     const char *cname);

/* Round-trip time from a report block about our own stream (RFC 3550
 * §6.4.1: A - LSR - DLSR, with A the middle 32 bits of our NTP time when
 * the block arrived, ntp_now). False when the block has no SR reference
 * (LSR 0), the result is more than 10 ms below zero (a clock step;
 * less is a peer's rounding of DLSR, taken as 0) or over 60 s. The
 * caller checks that LSR names an SR it sent. */
bool sb_rtcp_rtt_us(const sb_rtcp_block *b, uint64_t ntp_now,
		    uint32_t *rtt_us);

/* Convert a wall-clock time in microseconds since the Unix epoch to the
 * 64-bit NTP format used in SRs. */
uint64_t sb_rtcp_ntp_from_unix_us(uint64_t unix_us);

#endif
