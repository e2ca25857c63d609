/* The echo leg: a local service. Every RTP packet the session sends to
 * it comes back as a received packet after the configured delay, so the
 * session's relay returns it to the caller in the caller's own codec
 * (no transcoding). Delay 0 echoes synchronously; otherwise packets wait
 * in a ring sized for the delay (allocated once) and a 10 ms timer
 * releases them. Media worker thread only. */
#include "webrtc/leg.h"

#include <errno.h>
#include <string.h>

#define ECHO_TICK_MS 10

typedef struct echo_slot {
	gint64 due;                 /* monotonic µs */
	size_t len;
} echo_slot;

typedef struct echo_leg {
	sb_leg base;                /* first: sb_leg * casts to this */
	unsigned delay_ms;
	unsigned n_slots;
	echo_slot *slot;            /* owned, n_slots */
	uint8_t *data;              /* owned, n_slots * SB_LEG_BUF */
	unsigned head, count;
	GSource *timer;             /* owned, while packets wait */
	bool announced;
	uint8_t now_buf[SB_LEG_BUF]; /* delay 0: the packet coming back */
} echo_leg;

static echo_leg *E(sb_leg *leg)
{
	return (echo_leg *)leg;
}

static void give_back(echo_leg *e, uint8_t *buf, size_t len)
{
	sb_rtp_hdr h;
	if (sb_rtp_parse(buf, len, &h) < 0) {
		e->base.stats.rx_dropped++;
		return;
	}
	sb_leg_deliver_rtp(&e->base, buf, len, SB_LEG_BUF, &h);
}

static gboolean on_tick(gpointer data)
{
	echo_leg *e = data;
	gint64 now = g_get_monotonic_time();

	while (e->count > 0 && !e->base.closed) {
		echo_slot *sl = &e->slot[e->head];
		if (sl->due > now)
			break;
		uint8_t *buf = e->data + (size_t)e->head * SB_LEG_BUF;
		e->head = (e->head + 1) % e->n_slots;
		e->count--;
		give_back(e, buf, sl->len);
	}
	if (e->count > 0 && !e->base.closed)
		return G_SOURCE_CONTINUE;
	g_clear_pointer(&e->timer, g_source_unref);
	return G_SOURCE_REMOVE;
}

static int el_send_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
	echo_leg *e = E(leg);
	(void)cap;

	if (leg->closed || len > SB_LEG_MTU) {
		leg->stats.tx_dropped++;
		return -EAGAIN;
	}
	sb_leg_account_tx(leg, buf, len);
	if (e->delay_ms == 0) {
		memcpy(e->now_buf, buf, len);
		give_back(e, e->now_buf, len);
		return 0;
	}
	if (e->count == e->n_slots) {
		leg->stats.tx_dropped++;
		return -ENOBUFS;
	}
	unsigned i = (e->head + e->count) % e->n_slots;
	memcpy(e->data + (size_t)i * SB_LEG_BUF, buf, len);
	e->slot[i].len = len;
	e->slot[i].due = g_get_monotonic_time() + e->delay_ms * 1000ll;
	e->count++;
	if (!e->timer) {
		e->timer = g_timeout_source_new(ECHO_TICK_MS);
		g_source_set_callback(e->timer, on_tick, e, NULL);
		g_source_attach(e->timer, leg->ctx);
	}
	return 0;
}

static int el_get_local(sb_leg *leg, bool offer, sb_media_desc *d)
{
	(void)offer;
	d->proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(d->addr, "127.0.0.1", sizeof(d->addr));
	d->ssrc = leg->ssrc;
	g_strlcpy(d->cname, leg->cname, sizeof(d->cname));
	return 0;
}

static int el_set_remote(sb_leg *leg, bool offer, const sb_media_desc *d)
{
	echo_leg *e = E(leg);
	(void)offer;
	(void)d;
	if (!e->announced) {
		e->announced = true;
		sb_leg_emit(leg, SB_LEG_EV_CONNECTED, NULL);
	}
	return 0;
}

static void el_close(sb_leg *leg)
{
	echo_leg *e = E(leg);
	if (leg->closed)
		return;
	sb_leg_base_close(leg);
	if (e->timer) {
		g_source_destroy(e->timer);
		g_clear_pointer(&e->timer, g_source_unref);
	}
}

static void el_free(sb_leg *leg)
{
	echo_leg *e = E(leg);
	g_free(e->slot);
	g_free(e->data);
	sb_leg_base_clear(leg);
	g_free(e);
}

static const sb_leg_ops echo_ops = {
	.name = "echo",
	.get_local = el_get_local,
	.set_remote = el_set_remote,
	.send_rtp = el_send_rtp,
	.close = el_close,
	.free = el_free,
};

int sb_echo_leg_new(const sb_leg_params *p, sb_leg **out)
{
	if (!p->ctx || p->echo_delay_ms > SB_ECHO_MAX_DELAY_MS)
		return -EINVAL;
	echo_leg *e = g_new0(echo_leg, 1);
	sb_leg_base_init(&e->base, &echo_ops, p);
	e->delay_ms = p->echo_delay_ms;
	if (e->delay_ms > 0) {
		/* 10 ms packets for the whole delay, plus slack */
		e->n_slots = MIN(e->delay_ms / 10 + 8, SB_ECHO_RING);
		e->slot = g_new0(echo_slot, e->n_slots);
		e->data = g_malloc((size_t)e->n_slots * SB_LEG_BUF);
	}
	*out = &e->base;
	return 0;
}
