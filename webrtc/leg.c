/* Common part of every leg: dispatch through the ops struct, counters,
 * RTCP receiver statistics and the periodic SR/RR (RFC 3550 §6.4).
 * Media worker thread only. */
#include "webrtc/leg.h"

#include <errno.h>
#include <string.h>
#include <time.h>

const uint32_t sb_leg_proc_bounds_ns[SB_LEG_PROC_BUCKETS] = {
	5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000
};

static _Thread_local uint8_t scratch[SB_LEG_SCRATCHES][SB_LEG_BUF]
	__attribute__((aligned(64)));

uint8_t *sb_leg_scratch(sb_leg_scratch_kind k)
{
	return scratch[k];
}

void sb_leg_proc_add(sb_leg_proc_time *p, uint64_t ns)
{
	unsigned i = 0;
	while (i < SB_LEG_PROC_BUCKETS && ns > sb_leg_proc_bounds_ns[i])
		i++;
	p->count[i]++;
	p->sum_ns += ns;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sb_leg_set_callbacks(sb_leg *leg, sb_leg_recv_cb recv_cb,
			  sb_leg_event_cb event_cb, void *user_data)
{
	leg->recv_cb = recv_cb;
	leg->event_cb = event_cb;
	leg->user_data = user_data;
}

int sb_leg_get_local(sb_leg *leg, bool offer, sb_media_desc *d)
{
	return leg->ops->get_local(leg, offer, d);
}

int sb_leg_set_remote(sb_leg *leg, bool offer, const sb_media_desc *d)
{
	return leg->ops->set_remote(leg, offer, d);
}

int sb_leg_send_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
	return leg->ops->send_rtp(leg, buf, len, cap);
}

void sb_leg_close(sb_leg *leg)
{
	leg->ops->close(leg);
}

void sb_leg_free(sb_leg *leg)
{
	if (!leg)
		return;
	leg->ops->close(leg);
	leg->ops->free(leg);
}

const sb_leg_stats *sb_leg_get_stats(const sb_leg *leg)
{
	return &leg->stats;
}

void sb_leg_base_init(sb_leg *leg, const sb_leg_ops *ops,
		      const sb_leg_params *p)
{
	leg->ops = ops;
	leg->ctx = g_main_context_ref(p->ctx);
	leg->ssrc = p->ssrc;
	while (leg->ssrc == 0)
		leg->ssrc = g_random_int();
	if (p->cname && *p->cname)
		g_strlcpy(leg->cname, p->cname, sizeof(leg->cname));
	else
		g_snprintf(leg->cname, sizeof(leg->cname), "sb-%08x%08x",
			   g_random_int(), g_random_int());
	leg->clock = 8000;
	sb_rtcp_rx_init(&leg->rx);
}

void sb_leg_base_close(sb_leg *leg)
{
	leg->closed = true;
	sb_leg_remove_tick(leg, &leg->rtcp_tick);
	leg->recv_cb = NULL;
	leg->event_cb = NULL;
	leg->user_data = NULL;
}

void sb_leg_base_clear(sb_leg *leg)
{
	sb_leg_base_close(leg);
	g_clear_pointer(&leg->ticker, sb_ticker_unref);
	g_clear_pointer(&leg->ctx, g_main_context_unref);
}

void sb_leg_emit(sb_leg *leg, sb_leg_event ev, const char *reason)
{
	if (!leg->closed && leg->event_cb)
		leg->event_cb(leg, ev, reason, leg->user_data);
}

/* Arrival time in RTP clock units for the A.8 jitter estimate. */
static uint32_t arrival_units(const sb_leg *leg)
{
	return (uint32_t)((uint64_t)g_get_monotonic_time() * leg->clock /
			  1000000);
}

void sb_leg_deliver_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
			const sb_rtp_hdr *h)
{
	leg->stats.rx_packets++;
	leg->stats.rx_octets += h->payload_len;
	sb_rtcp_rx_packet(&leg->rx, h->ssrc, h->seq, h->ts,
			  arrival_units(leg));
	if (!leg->media_started) {
		leg->media_started = true;
		sb_leg_emit(leg, SB_LEG_EV_MEDIA_STARTED, NULL);
	}
	if (!leg->closed && leg->recv_cb) {
		uint64_t t0 = now_ns();
		leg->recv_cb(leg, buf, len, cap, h, leg->user_data);
		sb_leg_proc_add(&leg->proc, now_ns() - t0);
	}
}

void sb_leg_account_tx(sb_leg *leg, const uint8_t *buf, size_t len)
{
	sb_rtp_hdr h;

	if (sb_rtp_parse(buf, len, &h) < 0)
		return;
	if (leg->stats.tx_packets++ == 0)
		leg->first_tx_real = g_get_real_time();
	leg->stats.tx_octets += h.payload_len;
	leg->last_tx_ts = h.ts;
	leg->last_tx_time = g_get_monotonic_time();
}

/* A peer can write any LSR: only one of our own SRs yields an RTT. */
static bool sent_sr(const sb_leg *leg, uint32_t lsr)
{
	unsigned n = MIN(leg->n_sr_sent, G_N_ELEMENTS(leg->sr_sent));
	for (unsigned i = 0; i < n; i++)
		if (leg->sr_sent[i] == lsr && lsr != 0)
			return true;
	return false;
}

void sb_leg_handle_rtcp(sb_leg *leg, const uint8_t *buf, size_t len)
{
	sb_rtcp_info in;

	if (sb_rtcp_parse(buf, len, &in) < 0) {
		leg->stats.rx_dropped++;
		return;
	}
	leg->stats.rtcp_rx++;
	if (in.has_sr)
		sb_rtcp_rx_sr(&leg->rx, in.sr.ntp,
			      (uint64_t)g_get_monotonic_time());
	/* Our SRs carry g_get_real_time(): the same clock measures the
	 * reply. Under 1 µs on loopback still means "measured": keep 1. */
	uint64_t now = sb_rtcp_ntp_from_unix_us((uint64_t)g_get_real_time());
	for (unsigned i = 0; i < in.n_blocks; i++) {
		uint32_t rtt;
		if (in.blocks[i].ssrc == leg->ssrc) {
			leg->stats.peer_reports++;
			leg->stats.peer_fraction_lost =
				in.blocks[i].fraction_lost;
		}
		if (in.blocks[i].ssrc == leg->ssrc &&
		    sent_sr(leg, in.blocks[i].lsr) &&
		    sb_rtcp_rtt_us(&in.blocks[i], now, &rtt))
			leg->stats.rtt_us = rtt ? rtt : 1;
	}
}

/* RFC 3550 §6.4: an SR when we sent since the last report, else an RR;
 * the SR's RTP timestamp is extrapolated from the last packet sent. */
ssize_t sb_leg_build_rtcp(sb_leg *leg, uint8_t *buf, size_t cap)
{
	gint64 now = g_get_monotonic_time();
	sb_rtcp_block blk;
	unsigned n = sb_rtcp_rx_block(&leg->rx, (uint64_t)now, &blk) ? 1 : 0;
	sb_rtcp_sender_info si;
	bool sender = leg->stats.tx_packets > leg->tx_packets_at_report;

	leg->tx_packets_at_report = leg->stats.tx_packets;
	if (sender) {
		si.ntp = sb_rtcp_ntp_from_unix_us((uint64_t)g_get_real_time());
		si.rtp_ts = leg->last_tx_ts +
			    (uint32_t)((uint64_t)(now - leg->last_tx_time) *
				       leg->clock / 1000000);
		si.packets = (uint32_t)leg->stats.tx_packets;
		leg->sr_sent[leg->n_sr_sent++ % G_N_ELEMENTS(leg->sr_sent)] =
			(uint32_t)(si.ntp >> 16);
		si.octets = (uint32_t)leg->stats.tx_octets;
	}
	return sb_rtcp_build_report(buf, cap, leg->ssrc, sender ? &si : NULL,
				    &blk, n, leg->cname);
}

/* The first report goes out SB_LEG_RTCP_FIRST_MS after media start, so
 * the peer's reply (and with it the round-trip time) comes early; then
 * one every SB_LEG_RTCP_INTERVAL_MS. */
static void rtcp_tick(gint64 now, void *data)
{
	sb_leg *leg = data;
	(void)now;
	if (leg->closed)
		return;
	leg->rtcp_send(leg);
	if (!leg->rtcp_first)
		return;
	leg->rtcp_first = false;
	sb_leg_remove_tick(leg, &leg->rtcp_tick);
	leg->rtcp_tick = sb_leg_add_tick(leg, SB_LEG_RTCP_INTERVAL_MS, rtcp_tick, leg);
}

sb_tick *sb_leg_add_tick(sb_leg *leg, unsigned ms, sb_tick_cb cb, void *data)
{
	if (!leg->ticker)
		leg->ticker = sb_ticker_get(leg->ctx);
	return sb_ticker_add(leg->ticker, ms, cb, data);
}

void sb_leg_remove_tick(sb_leg *leg, sb_tick **k)
{
	if (*k) {
		sb_ticker_remove(leg->ticker, *k);
		*k = NULL;
	}
}

void sb_leg_start_rtcp(sb_leg *leg, void (*send)(sb_leg *leg))
{
	if (leg->rtcp_tick || leg->closed)
		return;
	leg->rtcp_send = send;
	leg->rtcp_first = true;
	leg->rtcp_tick = sb_leg_add_tick(leg, SB_LEG_RTCP_FIRST_MS, rtcp_tick, leg);
}
