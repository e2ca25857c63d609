/* RTCP parsing, receiver statistics and report building (RFC 3550 §6 and
 * appendix A). Pure; any thread. Input is untrusted: every read is
 * bounds-checked against the packet's own length field. */
#include "webrtc/rtcp.h"

#include <errno.h>
#include <string.h>

#define SDES_CNAME 1
#define RTP_SEQ_MOD (1u << 16)
#define NTP_UNIX_OFFSET 2208988800ull /* seconds 1900-01-01 .. 1970-01-01 */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void parse_blocks(const uint8_t *p, size_t len, unsigned count,
			 sb_rtcp_info *info)
{
	for (unsigned i = 0; i < count && len >= 24; i++, p += 24, len -= 24) {
		if (info->n_blocks == SB_RTCP_MAX_BLOCKS)
			return;
		sb_rtcp_block *b = &info->blocks[info->n_blocks++];
		b->ssrc = rd32(p);
		b->fraction_lost = p[4];
		/* 24-bit two's complement, sign-extended */
		uint32_t cl = rd32(p + 4) & 0xffffff;
		b->cum_lost = (int32_t)(cl & 0x800000 ? cl | 0xff000000u : cl);
		b->ext_max_seq = rd32(p + 8);
		b->jitter = rd32(p + 12);
		b->lsr = rd32(p + 16);
		b->dlsr = rd32(p + 20);
	}
}

static int parse_sr(const uint8_t *p, size_t len, unsigned rc,
		    sb_rtcp_info *info)
{
	if (len < 24 || len - 24 < (size_t)rc * 24)
		return -EBADMSG;
	info->has_sr = true;
	info->sr_ssrc = rd32(p);
	info->sr.ntp = (uint64_t)rd32(p + 4) << 32 | rd32(p + 8);
	info->sr.rtp_ts = rd32(p + 12);
	info->sr.packets = rd32(p + 16);
	info->sr.octets = rd32(p + 20);
	parse_blocks(p + 24, len - 24, rc, info);
	return 0;
}

static int parse_rr(const uint8_t *p, size_t len, unsigned rc,
		    sb_rtcp_info *info)
{
	if (len < 4 || len - 4 < (size_t)rc * 24)
		return -EBADMSG;
	info->has_rr = true;
	info->rr_ssrc = rd32(p);
	parse_blocks(p + 4, len - 4, rc, info);
	return 0;
}

/* RFC 3550 §6.5: chunks of SSRC + items, each chunk ended by a zero item
 * and padded to 32 bits. Only the first CNAME is kept. */
static int parse_sdes(const uint8_t *p, size_t len, unsigned sc,
		      sb_rtcp_info *info)
{
	size_t off = 0;

	for (unsigned c = 0; c < sc; c++) {
		if (len - off < 4)
			return -EBADMSG;
		uint32_t ssrc = rd32(p + off);
		off += 4;
		for (;;) {
			if (off >= len)
				return -EBADMSG;
			uint8_t type = p[off];
			if (type == 0)
				break;
			if (len - off < 2 || len - off - 2 < p[off + 1])
				return -EBADMSG;
			uint8_t ilen = p[off + 1];
			if (type == SDES_CNAME && !info->has_cname) {
				info->has_cname = true;
				info->cname_ssrc = ssrc;
				memcpy(info->cname, p + off + 2, ilen);
				info->cname[ilen] = '\0';
			}
			off += 2 + (size_t)ilen;
		}
		off = (off + 4) & ~(size_t)3; /* the null item + padding */
		if (off > len)
			return -EBADMSG;
	}
	return 0;
}

static int parse_bye(const uint8_t *p, size_t len, unsigned sc,
		     sb_rtcp_info *info)
{
	if (len < (size_t)sc * 4)
		return -EBADMSG;
	for (unsigned i = 0; i < sc && info->n_bye < SB_RTCP_MAX_BYE; i++)
		info->bye_ssrc[info->n_bye++] = rd32(p + 4 * i);
	return 0;
}

static int parse_one(const uint8_t *p, size_t body, unsigned count,
		     uint8_t type, sb_rtcp_info *info)
{
	switch (type) {
	case SB_RTCP_SR:
		return parse_sr(p, body, count, info);
	case SB_RTCP_RR:
		return parse_rr(p, body, count, info);
	case SB_RTCP_SDES:
		return parse_sdes(p, body, count, info);
	case SB_RTCP_BYE:
		return parse_bye(p, body, count, info);
	default:
		info->n_other++;
		return 0;
	}
}

int sb_rtcp_parse(const uint8_t *buf, size_t len, sb_rtcp_info *info)
{
	size_t off = 0;

	memset(info, 0, sizeof(*info));
	if (len < 4)
		return -EBADMSG;
	while (off < len) {
		if (len - off < 4 || (buf[off] >> 6) != 2)
			return -EBADMSG;
		bool pad = buf[off] & 0x20;
		unsigned count = buf[off] & 0x1f;
		uint8_t type = buf[off + 1];
		size_t plen = ((size_t)rd16(buf + off + 2) + 1) * 4;
		if (plen > len - off)
			return -EBADMSG;
		size_t body = plen - 4;
		if (pad) {
			/* RFC 3550 §6.4.1: padding only on the last packet */
			uint8_t n = buf[off + plen - 1];
			if (off + plen != len || n == 0 || n > body)
				return -EBADMSG;
			body -= n;
		}
		int err = parse_one(buf + off + 4, body, count, type, info);
		if (err < 0)
			return err;
		info->n_packets++;
		off += plen;
	}
	return 0;
}

void sb_rtcp_rx_init(sb_rtcp_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

static void rx_restart(sb_rtcp_rx *rx, uint32_t ssrc, uint16_t seq)
{
	memset(rx, 0, sizeof(*rx));
	rx->active = true;
	rx->ssrc = ssrc;
	rx->base_seq = seq;
	rx->max_seq = seq;
	rx->bad_seq = RTP_SEQ_MOD + 1;
}

/* RFC 3550 A.1 update_seq without the probation phase: the legs only
 * count packets that already passed SRTP authentication or latching. */
static void rx_seq(sb_rtcp_rx *rx, uint16_t seq)
{
	const uint16_t max_dropout = 3000;
	const uint16_t max_misorder = 100;
	uint16_t udelta = (uint16_t)(seq - rx->max_seq);

	if (udelta < max_dropout) {
		if (seq < rx->max_seq)
			rx->cycles += RTP_SEQ_MOD;
		rx->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - max_misorder) {
		if (seq == rx->bad_seq) {
			/* two sequential packets: the source restarted */
			uint32_t ssrc = rx->ssrc;
			rx_restart(rx, ssrc, seq);
		} else {
			rx->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return;
		}
	}
	rx->received++;
}

void sb_rtcp_rx_packet(sb_rtcp_rx *rx, uint32_t ssrc, uint16_t seq,
		       uint32_t rtp_ts, uint32_t arrival)
{
	if (!rx->active || rx->ssrc != ssrc) {
		rx_restart(rx, ssrc, seq);
		rx->received = 1;
		rx->transit = arrival - rtp_ts;
		return;
	}
	rx_seq(rx, seq);
	/* RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16 */
	uint32_t transit = arrival - rtp_ts;
	int32_t d = (int32_t)(transit - rx->transit);
	rx->transit = transit;
	if (d < 0)
		d = -d;
	rx->jitter_q4 += (uint32_t)d - ((rx->jitter_q4 + 8) >> 4);
}

void sb_rtcp_rx_sr(sb_rtcp_rx *rx, uint64_t ntp, uint64_t now_us)
{
	rx->lsr = (uint32_t)(ntp >> 16);
	rx->lsr_time_us = now_us;
}

bool sb_rtcp_rx_block(sb_rtcp_rx *rx, uint64_t now_us, sb_rtcp_block *b)
{
	if (!rx->active)
		return false;
	/* RFC 3550 A.3 */
	uint32_t ext_max = rx->cycles + rx->max_seq;
	uint32_t expected = ext_max - rx->base_seq + 1;
	int64_t lost = (int64_t)expected - rx->received;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	else if (lost < -0x800000)
		lost = -0x800000;
	uint32_t exp_int = expected - rx->expected_prior;
	uint32_t rec_int = rx->received - rx->received_prior;
	rx->expected_prior = expected;
	rx->received_prior = rx->received;
	int64_t lost_int = (int64_t)exp_int - rec_int;

	b->ssrc = rx->ssrc;
	b->fraction_lost = (exp_int == 0 || lost_int <= 0) ?
		0 : (uint8_t)((lost_int << 8) / exp_int);
	b->cum_lost = (int32_t)lost;
	b->ext_max_seq = ext_max;
	b->jitter = rx->jitter_q4 >> 4;
	b->lsr = rx->lsr;
	b->dlsr = 0;
	if (rx->lsr_time_us && now_us >= rx->lsr_time_us)
		b->dlsr = (uint32_t)((now_us - rx->lsr_time_us) * 65536 /
				     1000000);
	return true;
}

static uint8_t *put_block(uint8_t *p, const sb_rtcp_block *b)
{
	wr32(p, b->ssrc);
	wr32(p + 4, (uint32_t)b->cum_lost & 0xffffff);
	p[4] = b->fraction_lost;
	wr32(p + 8, b->ext_max_seq);
	wr32(p + 12, b->jitter);
	wr32(p + 16, b->lsr);
	wr32(p + 20, b->dlsr);
	return p + 24;
}

static void put_head(uint8_t *p, unsigned count, uint8_t type, size_t len)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = type;
	p[2] = (uint8_t)((len / 4 - 1) >> 8);
	p[3] = (uint8_t)(len / 4 - 1);
}

static size_t sdes_len(size_t cname_len)
{
	/* header + SSRC + CNAME item + null terminator, padded to 32 bits */
	return 8 + ((2 + cname_len + 1 + 3) & ~(size_t)3);
}

static void put_sdes(uint8_t *p, uint32_t ssrc, const char *cname,
		     size_t clen)
{
	size_t len = sdes_len(clen);

	memset(p, 0, len);
	put_head(p, 1, SB_RTCP_SDES, len);
	wr32(p + 4, ssrc);
	p[8] = SDES_CNAME;
	p[9] = (uint8_t)clen;
	memcpy(p + 10, cname, clen);
}

ssize_t sb_rtcp_build_report(uint8_t *buf, size_t cap, uint32_t ssrc,
			     const sb_rtcp_sender_info *si,
			     const sb_rtcp_block *blocks, unsigned n,
			     const char *cname)
{
	size_t clen = cname ? strlen(cname) : 0;

	if (n > SB_RTCP_MAX_BLOCKS || clen == 0 || clen > SB_RTCP_CNAME_MAX)
		return -EINVAL;
	size_t rlen = (si ? 28 : 8) + (size_t)n * 24;
	size_t total = rlen + sdes_len(clen);
	if (cap < total)
		return -ENOSPC;

	put_head(buf, n, si ? SB_RTCP_SR : SB_RTCP_RR, rlen);
	wr32(buf + 4, ssrc);
	uint8_t *p = buf + 8;
	if (si) {
		wr32(p, (uint32_t)(si->ntp >> 32));
		wr32(p + 4, (uint32_t)si->ntp);
		wr32(p + 8, si->rtp_ts);
		wr32(p + 12, si->packets);
		wr32(p + 16, si->octets);
		p += 20;
	}
	for (unsigned i = 0; i < n; i++)
		p = put_block(p, &blocks[i]);
	put_sdes(p, ssrc, cname, clen);
	return (ssize_t)total;
}

bool sb_rtcp_rtt_us(const sb_rtcp_block *b, uint64_t ntp_now,
		    uint32_t *rtt_us)
{
	if (b->lsr == 0)
		return false;
	uint32_t a = (uint32_t)(ntp_now >> 16);
	uint32_t rtt = a - b->lsr - b->dlsr; /* 1/65536 s, wraps */
	/* A peer that counts DLSR in whole milliseconds (libre, so baresip)
	 * makes a loopback round trip come out a little below zero: that is
	 * 0. Further below: a clock step; over a minute: not a round trip. */
	if ((int32_t)rtt < 0 && (int32_t)rtt >= -(int32_t)(65536 / 100))
		rtt = 0;
	if ((int32_t)rtt < 0 || rtt > 60u * 65536u)
		return false;
	*rtt_us = (uint32_t)((uint64_t)rtt * 1000000 / 65536);
	return true;
}

uint64_t sb_rtcp_ntp_from_unix_us(uint64_t unix_us)
{
	uint64_t sec = unix_us / 1000000 + NTP_UNIX_OFFSET;
	uint64_t frac = ((unix_us % 1000000) << 32) / 1000000;
	return sec << 32 | frac;
}
