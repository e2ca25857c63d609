/* RTP header parse/build and relay rewriting (RFC 3550 §5.1, §5.3.1).
 * Pure; any thread. Input is untrusted: every read is bounds-checked. */
#include "webrtc/rtp.h"

#include <errno.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Skips the header extension (RFC 3550 §5.3.1; RFC 8285 one- and two-byte
 * forms share this outer layout). */
static int parse_ext(const uint8_t *buf, size_t len, size_t *off,
		     sb_rtp_hdr *h)
{
	if (len - *off < 4)
		return -EBADMSG;
	h->ext_profile = rd16(buf + *off);
	h->ext_len = (size_t)rd16(buf + *off + 2) * 4;
	*off += 4;
	if (len - *off < h->ext_len)
		return -EBADMSG;
	*off += h->ext_len;
	return 0;
}

int sb_rtp_parse(const uint8_t *buf, size_t len, sb_rtp_hdr *out)
{
	sb_rtp_hdr h = { 0 };

	if (len < SB_RTP_HDR_MIN || (buf[0] >> 6) != 2)
		return -EBADMSG;
	h.padding = buf[0] & 0x20;
	h.extension = buf[0] & 0x10;
	h.cc = buf[0] & 0x0f;
	h.marker = buf[1] & 0x80;
	h.pt = buf[1] & 0x7f;
	h.seq = rd16(buf + 2);
	h.ts = rd32(buf + 4);
	h.ssrc = rd32(buf + 8);

	size_t off = SB_RTP_HDR_MIN;
	if (len - off < (size_t)h.cc * 4)
		return -EBADMSG;
	for (unsigned i = 0; i < h.cc; i++, off += 4)
		h.csrc[i] = rd32(buf + off);
	if (h.extension && parse_ext(buf, len, &off, &h) < 0)
		return -EBADMSG;

	size_t body = len - off;
	if (h.padding) {
		/* RFC 3550 §5.1: last octet counts padding, itself included. */
		h.pad_len = buf[len - 1];
		if (h.pad_len == 0 || h.pad_len > body)
			return -EBADMSG;
	}
	h.header_len = off;
	h.payload_off = off;
	h.payload_len = body - h.pad_len;
	*out = h;
	return 0;
}

ssize_t sb_rtp_build(uint8_t *buf, size_t cap, const sb_rtp_hdr *h,
		     const uint8_t *payload, size_t plen)
{
	unsigned cc = h->cc > SB_RTP_MAX_CSRC ? SB_RTP_MAX_CSRC : h->cc;
	size_t hl = SB_RTP_HDR_MIN + cc * 4;

	if (cap < hl || cap - hl < plen)
		return -ENOSPC;
	buf[0] = (uint8_t)(0x80 | cc);
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	wr16(buf + 2, h->seq);
	wr32(buf + 4, h->ts);
	wr32(buf + 8, h->ssrc);
	for (unsigned i = 0; i < cc; i++)
		wr32(buf + SB_RTP_HDR_MIN + i * 4, h->csrc[i]);
	if (plen)
		memcpy(buf + hl, payload, plen);
	return (ssize_t)(hl + plen);
}

void sb_rtp_set_pt(uint8_t *buf, uint8_t pt)
{
	buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7f));
}

void sb_rtp_set_seq(uint8_t *buf, uint16_t seq)
{
	wr16(buf + 2, seq);
}

void sb_rtp_set_ts(uint8_t *buf, uint32_t ts)
{
	wr32(buf + 4, ts);
}

void sb_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc)
{
	wr32(buf + 8, ssrc);
}

void sb_rtp_rewrite_init(sb_rtp_rewrite *rw, uint32_t out_ssrc,
			 uint32_t default_step)
{
	memset(rw, 0, sizeof(*rw));
	rw->out_ssrc = out_ssrc;
	rw->ts_step = default_step;
}

void sb_rtp_rewrite_reset_source(sb_rtp_rewrite *rw)
{
	rw->have_in = false;
}

/* A new source continues the output one packet after the last one written,
 * so the receiver sees no sequence jump and no timestamp jump (it would
 * otherwise treat the new stream as massive loss or a clock glitch). */
static void anchor(sb_rtp_rewrite *rw, const sb_rtp_hdr *h)
{
	rw->have_in = true;
	rw->in_ssrc = h->ssrc;
	if (!rw->have_out) {
		rw->seq_off = 0;
		rw->ts_off = 0;
		return;
	}
	rw->seq_off = (uint16_t)(rw->last_seq + 1 - h->seq);
	rw->ts_off = rw->last_ts + rw->ts_step - h->ts;
}

void sb_rtp_rewrite_apply(sb_rtp_rewrite *rw, uint8_t *buf,
			  const sb_rtp_hdr *h, uint8_t out_pt)
{
	if (!rw->have_in || rw->in_ssrc != h->ssrc)
		anchor(rw, h);

	uint16_t seq = (uint16_t)(h->seq + rw->seq_off);
	uint32_t ts = h->ts + rw->ts_off;

	if (rw->have_out) {
		uint32_t d = ts - rw->last_ts;
		/* Only forward steps under 1 s at 48 kHz teach the step size;
		 * reordering and DTMF events (same ts) must not. */
		if (d > 0 && d < 48000 && (uint16_t)(seq - rw->last_seq) == 1)
			rw->ts_step = d;
	}
	/* Only a packet newer than the last one moves the anchor point. */
	if (!rw->have_out || (int16_t)(seq - rw->last_seq) > 0) {
		rw->last_seq = seq;
		rw->last_ts = ts;
		rw->have_out = true;
	}
	sb_rtp_set_pt(buf, out_pt);
	sb_rtp_set_seq(buf, seq);
	sb_rtp_set_ts(buf, ts);
	sb_rtp_set_ssrc(buf, rw->out_ssrc);
}
