/* Internals of a media session shared by media_session.c (offer/answer,
 * lifecycle) and session_media.c (the packet path: relay or transcode,
 * the per-session transcoding timer, admission). Not a public header.
 * Thread: the session's media worker only. */
#ifndef SB_WEBRTC_SESSION_INT_H
#define SB_WEBRTC_SESSION_INT_H

#include "transcoding/telephone_event.h"
#include "transcoding/xcode.h"
#include "webrtc/media_session.h"
#include "webrtc/ticker.h"

#define SB_MS_MAX_MAP 2   /* the audio codec + telephone-event */

/* One direction: packets from side `from` to side 1 - from. */
typedef struct sb_ms_dir {
	sb_rtp_rewrite rw;          /* relay: SSRC/seq/ts toward the other side */
	bool rw_init;
	uint8_t in_pt[SB_MS_MAX_MAP];
	uint8_t out_pt[SB_MS_MAX_MAP];
	unsigned n;
	sb_xcode *xc;               /* owned; non-NULL when transcoding */
	unsigned out_ptime;         /* transcoding: output ptime (ms) */
	uint64_t loss_reports;      /* receiver's reports applied to xc */
	bool fec_logged;            /* xc's first FEC turn-on was logged */
	bool have_out;              /* a packet went out: continue seq/ts */
	uint16_t next_seq;
	uint32_t next_ts;
} sb_ms_dir;

/* Digits queued for sb_media_session_send_dtmf on one side. */
#define SB_MS_DTMF_QUEUE 16

/* DTMF injected toward one side (RFC 4733 events made by the gateway,
 * e.g. from a browser's SIP INFO) and the last stage of every packet
 * going out on that side: it shares the leg's SSRC and sequence space
 * with the relayed or transcoded audio, and the audio waits while an
 * event plays (RFC 4733 §2.5.1.3). */
typedef struct sb_ms_dtmf {
	sb_dtmf_gen gen;            /* the event being sent */
	GSource *timer;             /* owned: one tick per ptime while busy */
	char digit[SB_MS_DTMF_QUEUE];
	unsigned ms[SB_MS_DTMF_QUEUE];
	unsigned q_head, q_len;
	uint16_t seq_adj;           /* added to the seq of regular packets */
	bool have_seq;
	uint16_t last_seq;          /* newest seq that went out */
	bool injected;              /* an event went out on this side */
	bool unanchored;            /* ... before any regular packet: the
				     * first one sets seq_adj to follow it */
	bool have_audio;
	uint32_t audio_ts;          /* RTP ts of the newest audio sent ... */
	gint64 audio_us;            /* ... and when (monotonic µs) */
	uint64_t events;            /* digits sent */
} sb_ms_dtmf;

struct sb_media_session {
	GMainContext *ctx;          /* ref */
	sb_leg *leg[2];             /* owned */
	sb_leg_kind kind[2];
	sb_media_event_cb cb;
	void *user_data;
	bool closed;
	unsigned max_xcode;         /* per-worker transcoding capacity */
	bool prefer_opus;           /* sb_media_params.prefer_opus */
	bool jitter_buffer;         /* sb_media_params.jitter_buffer */
	bool opus_low_delay;        /* sb_media_params.opus_low_delay */
	int pending;                /* side an offer went to; -1 = none */
	bool pending_local;         /* that offer was ours (local_offer) */
	sb_media_desc *offer;       /* owned: the pending offer as received */
	sb_media_desc *sent;        /* owned: the pending offer as forwarded */
	sb_md_dir dir[2];           /* what each side's peer said it does */
	unsigned ptime[2];          /* a=ptime each side's peer asked for */
	bool chosen[2];             /* codec[i] valid */
	sb_md_codec codec[2];       /* negotiated codec, as each side numbers it */
	bool have_te[2];
	sb_md_codec te[2];          /* telephone-event of each side */
	bool xcoding;               /* codec[0] and codec[1] differ */
	bool holds_slot;            /* counted in the worker's capacity */
	sb_ms_dir d[2];             /* d[i]: from side i to side 1 - i */
	sb_ticker *ticker;          /* ref: the worker's shared ticks */
	sb_tick *tick;              /* owned by ticker: transcoding pull */
	unsigned tick_ms;
	sb_ms_dtmf tx[2];           /* tx[i]: what goes out on side i */
};

/* session_media.c */
void sb_ms_on_leg_recv(sb_leg *leg, uint8_t *buf, size_t len, size_t cap,
		       const sb_rtp_hdr *h, void *ud);
/* Rebuild both directions from the negotiated codecs (relay or
 * transcode). 0, or -errno from the transcoder. */
int sb_ms_setup_media(sb_media_session *s);
/* Stop transcoding and give the capacity slot back. */
void sb_ms_stop_media(sb_media_session *s);
/* Whether this worker can take one more transcoded session. */
bool sb_ms_can_xcode(const sb_media_session *s);
/* Take a capacity slot (no-op when held); -EBUSY when full. */
int sb_ms_take_slot(sb_media_session *s);
void sb_ms_release_slot(sb_media_session *s);
/* Stop injected DTMF (timers) on both sides: on close. */
void sb_ms_dtmf_stop(sb_media_session *s);

#endif
