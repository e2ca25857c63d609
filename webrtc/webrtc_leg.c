/* The browser leg: ICE -> RFC 7983 demux -> DTLS -> SRTP -> RTP, one
 * component (BUNDLE + rtcp-mux). No media leaves before the SRTP keys
 * exist; what we send carries the SSRC we announce. Roles follow
 * RFC 8842 §5 (setup) and RFC 8445 §6.1.1 (offerer controls).
 * Media worker thread only. */
#include "webrtc/leg.h"

#include <errno.h>
#include <string.h>

#include "webrtc/demux.h"
#include "webrtc/dtls.h"
#include "webrtc/ice.h"
#include "webrtc/srtp.h"

/* RFC 7675 §5.1: consent expires 30 s after the last response. */
#define SB_WEBRTC_CONSENT_MS 30000

typedef struct webrtc_leg {
	sb_leg base;                 /* first: sb_leg * casts to this */
	sb_ice *ice;                 /* owned, created at first offer/answer */
	/* owned: the peer's offer, applied to ICE when we answer it */
	sb_media_desc *offer_ice;
	sb_dtls *dtls;               /* owned, created once roles are known */
	sb_srtp *srtp;               /* owned, created at DTLS connected */
	sb_cert *cert;               /* ref */
	char media_addr[64];
	char public_addr[64];
	char srflx_addr[64];
	char srtp_profiles[128];
	uint16_t port_min, port_max;
	sb_md_setup offer_setup;
	sb_dtls_role role;
	char remote_fp[SB_CERT_FP_LEN];
	bool ice_connected;
	unsigned consent_ms;         /* silence that means consent is lost */
	gint64 last_rx;              /* monotonic µs of the last datagram */
	sb_tick *consent_tick;       /* from ICE connected on (base.ticker) */
	bool consent_lost;
	bool dtls_retired;           /* sb_dtls_retire done */
} webrtc_leg;

static webrtc_leg *W(sb_leg *leg)
{
	return (webrtc_leg *)leg;
}

static void on_dtls_send(void *ud, const uint8_t *buf, size_t len)
{
	webrtc_leg *w = ud;
	if (w->ice)
		sb_ice_send(w->ice, buf, len);
}

static void send_rtcp(sb_leg *leg)
{
	webrtc_leg *w = W(leg);
	if (!w->srtp)
		return;
	uint8_t *rtcp = sb_leg_scratch(SB_LEG_SCRATCH_RTCP);
	ssize_t n = sb_leg_build_rtcp(leg, rtcp, SB_LEG_MTU);
	if (n < 0)
		return;
	n = sb_srtp_protect_rtcp(w->srtp, rtcp, (size_t)n, SB_LEG_BUF);
	if (n > 0 && sb_ice_send(w->ice, rtcp, (size_t)n) == 0)
		leg->stats.rtcp_tx++;
}

static void on_dtls_connected(void *ud, const sb_dtls_keys *k)
{
	webrtc_leg *w = ud;
	sb_srtp_free(w->srtp);
	w->srtp = NULL;
	int err = sb_srtp_new(k->profile, k->local, k->remote, k->len,
			      &w->srtp);
	if (err < 0) {
		sb_leg_emit(&w->base, SB_LEG_EV_DTLS_FAILED,
			    "SRTP context creation failed");
		return;
	}
	sb_leg_start_rtcp(&w->base, send_rtcp);
	sb_leg_emit(&w->base, SB_LEG_EV_CONNECTED, NULL);
}

static void on_dtls_failed(void *ud, int err, const char *reason)
{
	webrtc_leg *w = ud;
	(void)err;
	sb_leg_emit(&w->base, SB_LEG_EV_DTLS_FAILED, reason);
}

static void on_dtls_closed(void *ud)
{
	webrtc_leg *w = ud;
	sb_leg_emit(&w->base, SB_LEG_EV_PEER_CLOSED, "close_notify");
}

static const sb_dtls_ops dtls_ops = {
	.send = on_dtls_send,
	.connected = on_dtls_connected,
	.failed = on_dtls_failed,
	.closed = on_dtls_closed,
};

/* The peer sent something under the new keys, so it has finished the
 * handshake: DTLS state is no longer needed (sb_dtls_retire). */
static void retire_dtls(webrtc_leg *w)
{
	if (w->dtls) {
		sb_dtls_retire(w->dtls);
		w->dtls_retired = sb_dtls_is_retired(w->dtls);
	}
}

static void recv_srtp(webrtc_leg *w, const uint8_t *buf, size_t len)
{
	if (!w->srtp || len > SB_LEG_MTU) {
		w->base.stats.rx_dropped++;
		return;
	}
	uint8_t *rx = sb_leg_scratch(SB_LEG_SCRATCH_RX);
	memcpy(rx, buf, len);
	ssize_t n = sb_srtp_unprotect_rtp(w->srtp, rx, len);
	sb_rtp_hdr h;
	if (n < 0 || sb_rtp_parse(rx, (size_t)n, &h) < 0) {
		w->base.stats.rx_dropped++;
		w->base.stats.rx_replayed += n == -EALREADY;
		return;
	}
	if (!w->dtls_retired)
		retire_dtls(w);
	sb_leg_deliver_rtp(&w->base, rx, (size_t)n, SB_LEG_BUF, &h);
}

static void recv_srtcp(webrtc_leg *w, const uint8_t *buf, size_t len)
{
	if (!w->srtp || len > SB_LEG_MTU) {
		w->base.stats.rx_dropped++;
		return;
	}
	uint8_t *rtcp = sb_leg_scratch(SB_LEG_SCRATCH_RTCP);
	memcpy(rtcp, buf, len);
	ssize_t n = sb_srtp_unprotect_rtcp(w->srtp, rtcp, len);
	if (n < 0) {
		w->base.stats.rx_dropped++;
		return;
	}
	if (!w->dtls_retired)
		retire_dtls(w);
	sb_leg_handle_rtcp(&w->base, rtcp, (size_t)n);
}

static void on_ice_recv(void *ud, const uint8_t *buf, size_t len)
{
	webrtc_leg *w = ud;

	w->last_rx = g_get_monotonic_time();
	switch (sb_demux_classify(buf, len)) {
	case SB_DEMUX_DTLS:
		if (w->dtls)
			sb_dtls_handle_datagram(w->dtls, buf, len);
		break;
	case SB_DEMUX_RTP:
		recv_srtp(w, buf, len);
		break;
	case SB_DEMUX_RTCP:
		recv_srtcp(w, buf, len);
		break;
	default:
		w->base.stats.rx_dropped++;
		break;
	}
}

/* notes §2 "Role and start": a client starts its handshake at CONNECTED
 * (not READY); earlier, nice_agent_send would refuse the ClientHello. */
static void start_client(webrtc_leg *w)
{
	if (w->dtls && w->ice_connected && w->role == SB_DTLS_CLIENT &&
	    sb_dtls_get_state(w->dtls) == SB_DTLS_STATE_NEW)
		sb_dtls_start(w->dtls);
}

/* RFC 7675 §5.1 on our side too: libnice checks that the browser still
 * answers STUN; this checks that it still sends anything at all (SRTP,
 * SRTCP or DTLS: a browser sends RTCP every few seconds even on hold).
 * Either one failing ends the call with ICE_FAILED, once. */
static void check_consent(gint64 now, void *data)
{
	webrtc_leg *w = data;
	gint64 idle = now - w->last_rx;

	if (!w->consent_lost && !w->base.closed &&
	    idle > (gint64)w->consent_ms * 1000) {
		w->consent_lost = true;
		sb_leg_emit(&w->base, SB_LEG_EV_ICE_FAILED,
			    "consent expired: nothing received from the peer");
	}
}

static void start_consent(webrtc_leg *w)
{
	if (w->consent_tick || w->base.closed)
		return;
	w->last_rx = g_get_monotonic_time();
	w->consent_tick = sb_leg_add_tick(&w->base, MIN(w->consent_ms / 4, 1000u),
					  check_consent, w);
}

static void on_ice_state(void *ud, sb_ice_state st)
{
	webrtc_leg *w = ud;

	if (st == SB_ICE_STATE_CONNECTED || st == SB_ICE_STATE_READY) {
		w->ice_connected = true;
		sb_ice_describe_pair(w->ice, w->base.remote,
				     sizeof(w->base.remote));
		start_consent(w);
		start_client(w);
	} else if (st == SB_ICE_STATE_FAILED && !w->consent_lost) {
		w->consent_lost = true;
		sb_leg_emit(&w->base, SB_LEG_EV_ICE_FAILED,
			    sb_ice_failure(w->ice));
	}
}

static void on_ice_stun(void *ud, bool consent)
{
	webrtc_leg *w = ud;
	if (consent)
		w->base.stats.consent_ok++;
	else
		w->base.stats.stun_rx++;
}

static const sb_ice_ops ice_ops = {
	.recv = on_ice_recv,
	.state = on_ice_state,
	.stun = on_ice_stun,
};

static int ensure_ice(webrtc_leg *w, bool controlling)
{
	if (w->ice)
		return 0;
	sb_ice_params p = {
		.local_addr = w->media_addr,
		.public_addr = w->public_addr,
		.port_min = w->port_min,
		.port_max = w->port_max,
		.srflx_addr = w->srflx_addr,
		.controlling = controlling,
		.consent_timeout_ms = w->consent_ms,
	};
	return sb_ice_new(w->base.ctx, &p, &ice_ops, w, &w->ice);
}

static sb_md_setup our_setup(const webrtc_leg *w, bool offer)
{
	if (offer)
		return w->offer_setup;
	return w->role == SB_DTLS_CLIENT ? SB_MD_SETUP_ACTIVE :
					   SB_MD_SETUP_PASSIVE;
}

static int apply_ice(webrtc_leg *w, const sb_media_desc *d)
{
	if (sb_ice_is_restart(w->ice, d))
		w->ice_connected = false;
	return sb_ice_set_remote(w->ice, d);
}

/* The browser's offer reaches ICE only with our answer. Before it has
 * that answer the browser cannot answer our checks, and a phone that
 * rings for more than a few seconds before its 200 would otherwise have
 * exhausted them: libnice declares FAILED and the call ends before
 * anyone answers. From the answer on, the checks start afresh, as the
 * browser's own do. An ICE restart in a re-offer likewise takes effect
 * when it is answered (RFC 8445 §9). */
static int apply_offer_ice(webrtc_leg *w)
{
	if (!w->offer_ice)
		return 0;
	g_autofree sb_media_desc *d = w->offer_ice;
	w->offer_ice = NULL;
	return apply_ice(w, d);
}

static int wl_get_local(sb_leg *leg, bool offer, sb_media_desc *d)
{
	webrtc_leg *w = W(leg);
	int err = ensure_ice(w, offer);
	if (err < 0)
		return err;
	if (!offer && (err = apply_offer_ice(w)) < 0)
		return err;
	d->proto = SB_MD_PROTO_DTLS_SAVPF;
	d->rtcp_mux = true;
	d->rtcp_port = 0;
	err = sb_ice_get_local(w->ice, d);
	if (err < 0)
		return err;
	g_strlcpy(d->fp_hash, "sha-256", sizeof(d->fp_hash));
	g_strlcpy(d->fingerprint, sb_cert_fingerprint(w->cert),
		  sizeof(d->fingerprint));
	d->setup = our_setup(w, offer);
	d->ssrc = leg->ssrc;
	g_strlcpy(d->cname, leg->cname, sizeof(d->cname));
	return 0;
}

/* RFC 8842 §5.3 / RFC 4145 §4: derive our DTLS role from the peer's
 * a=setup. An absent attribute means active in an offer and in an
 * answer alike (RFC 4145 §4 default). */
static sb_dtls_role role_from(bool offer, sb_md_setup remote)
{
	switch (remote) {
	case SB_MD_SETUP_ACTPASS:
		/* RFC 5763 §5: the answerer should take active */
		return offer ? SB_DTLS_CLIENT : SB_DTLS_SERVER;
	case SB_MD_SETUP_PASSIVE:
		return SB_DTLS_CLIENT;
	case SB_MD_SETUP_ACTIVE:
	default:
		return SB_DTLS_SERVER;
	}
}

static int make_dtls(webrtc_leg *w)
{
	sb_dtls_params p = {
		.role = w->role,
		.remote_fp = w->remote_fp,
		.srtp_profiles = w->srtp_profiles[0] ? w->srtp_profiles : NULL,
	};
	sb_dtls_free(w->dtls);
	w->dtls = NULL;
	w->dtls_retired = false;
	sb_srtp_free(w->srtp);
	w->srtp = NULL;
	int err = sb_dtls_new(w->cert, &p, w->base.ctx, &dtls_ops, w,
			      &w->dtls);
	if (err < 0)
		return err;
	if (w->role == SB_DTLS_SERVER)
		return sb_dtls_start(w->dtls);
	start_client(w);
	return 0;
}

static int wl_set_remote(sb_leg *leg, bool offer, const sb_media_desc *d)
{
	webrtc_leg *w = W(leg);

	if (d->proto != SB_MD_PROTO_DTLS_SAVPF &&
	    d->proto != SB_MD_PROTO_DTLS_SAVP)
		return -EPROTO;
	if (!d->fingerprint[0] || g_ascii_strcasecmp(d->fp_hash, "sha-256"))
		return -EPROTO; /* we verify sha-256 only */
	if (!d->ice_ufrag[0] || !d->ice_pwd[0])
		return -EINVAL;
	int err = ensure_ice(w, !offer);
	if (err < 0)
		return err;
	if (offer) {
		g_free(w->offer_ice);
		w->offer_ice = g_memdup2(d, sizeof(*d));
	} else if ((err = apply_ice(w, d)) < 0) {
		return err;
	}
	/* a re-offer keeps the DTLS association unless the peer's
	 * certificate changed (RFC 8842 §5.5) */
	if (w->dtls && !g_ascii_strcasecmp(w->remote_fp, d->fingerprint))
		return 0;
	g_strlcpy(w->remote_fp, d->fingerprint, sizeof(w->remote_fp));
	w->role = role_from(offer, d->setup);
	return make_dtls(w);
}

static int wl_send_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
	webrtc_leg *w = W(leg);

	if (!w->srtp || leg->closed) {
		leg->stats.tx_dropped++;
		return -EAGAIN;
	}
	sb_leg_account_tx(leg, buf, len);
	ssize_t n = sb_srtp_protect_rtp(w->srtp, buf, len, cap);
	if (n < 0 || sb_ice_send(w->ice, buf, (size_t)n) < 0) {
		leg->stats.tx_dropped++;
		return n < 0 ? (int)n : -EAGAIN;
	}
	return 0;
}

static void wl_close(sb_leg *leg)
{
	webrtc_leg *w = W(leg);
	if (leg->closed)
		return;
	sb_leg_base_close(leg);
	sb_leg_remove_tick(leg, &w->consent_tick);
	/* close_notify goes out through ICE before ICE closes */
	if (w->dtls)
		sb_dtls_close(w->dtls);
	if (w->ice)
		sb_ice_close(w->ice);
}

static void wl_free(sb_leg *leg)
{
	webrtc_leg *w = W(leg);
	sb_dtls_free(w->dtls);
	sb_srtp_free(w->srtp);
	sb_ice_free(w->ice);
	g_free(w->offer_ice);
	sb_cert_unref(w->cert);
	sb_leg_base_clear(leg);
	g_free(w);
}

static const sb_leg_ops webrtc_ops = {
	.name = "webrtc",
	.get_local = wl_get_local,
	.set_remote = wl_set_remote,
	.send_rtp = wl_send_rtp,
	.close = wl_close,
	.free = wl_free,
};

int sb_webrtc_leg_new(const sb_leg_params *p, sb_leg **out)
{
	if (!p->ctx || !p->cert || !p->media_addr)
		return -EINVAL;
	int err = sb_srtp_global_init();
	if (err < 0)
		return err;
	webrtc_leg *w = g_new0(webrtc_leg, 1);
	sb_leg_base_init(&w->base, &webrtc_ops, p);
	w->cert = sb_cert_ref(p->cert);
	g_strlcpy(w->media_addr, p->media_addr, sizeof(w->media_addr));
	if (p->public_addr)
		g_strlcpy(w->public_addr, p->public_addr,
			  sizeof(w->public_addr));
	if (p->srflx_addr)
		g_strlcpy(w->srflx_addr, p->srflx_addr,
			  sizeof(w->srflx_addr));
	if (p->srtp_profiles)
		g_strlcpy(w->srtp_profiles, p->srtp_profiles,
			  sizeof(w->srtp_profiles));
	w->port_min = p->port_min;
	w->port_max = p->port_max;
	w->consent_ms = p->consent_timeout_ms ? p->consent_timeout_ms :
						SB_WEBRTC_CONSENT_MS;
	w->offer_setup = p->offer_setup == SB_MD_SETUP_NONE ?
		SB_MD_SETUP_ACTPASS : p->offer_setup;
	*out = &w->base;
	return 0;
}
