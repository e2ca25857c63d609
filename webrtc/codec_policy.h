/* Codec lists of a media session (internal to webrtc/): which codecs we
 * relay, which we can transcode, and how an offer is widened so the two
 * sides can always meet. Pure functions on sb_media_desc values; no
 * state, any thread (used by the media worker that owns the session).
 *
 * Policy (zero config):
 *  - relay when the offerer's codecs and what the answerer takes share
 *    one (PCMU, PCMA, G722, opus, telephone-event);
 *  - toward a plain-RTP side, an offer holding Opus also carries PCMU and
 *    PCMA (so a G.711-only trunk can answer; we transcode then);
 *  - toward a WebRTC side, an offer without Opus gets Opus (mono,
 *    in-band FEC, maxplaybackrate = the narrow codec's rate) after the
 *    phone's codecs, so a browser that has them relays; first instead
 *    with media.prefer_opus (the browser then picks Opus: transcoded);
 *  - telephone-event is added at 8000 toward RTP and at 48000 next to
 *    the Opus we add, so DTMF maps across clocks (RFC 4733). */
#ifndef SB_WEBRTC_CODEC_POLICY_H
#define SB_WEBRTC_CODEC_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "transcoding/codec.h"
#include "webrtc/media_desc.h"

bool sb_cp_is_te(const sb_md_codec *c);
bool sb_cp_is_opus(const sb_md_codec *c);
/* What the relay can carry without transcoding. */
bool sb_cp_relayable(const sb_md_codec *c);
/* PCMU, PCMA or G722: the narrow side of a transcoded call. */
bool sb_cp_is_narrow(const sb_md_codec *c);
bool sb_cp_same(const sb_md_codec *a, const sb_md_codec *b);
/* First codec of d like `like` (name, clock, channels), or NULL. */
const sb_md_codec *sb_cp_find(const sb_media_desc *d,
			      const sb_md_codec *like);
/* First telephone-event of d at `clock` (0 = any clock), or NULL. */
const sb_md_codec *sb_cp_find_te(const sb_media_desc *d, uint32_t clock);
/* First audio codec of d for which pred is true, or NULL. */
const sb_md_codec *sb_cp_first(const sb_media_desc *d,
			       bool (*pred)(const sb_md_codec *c));
/* Append a codec (no-op when d is full). */
void sb_cp_add(sb_media_desc *d, uint8_t pt, const char *name,
	       uint32_t clock, uint8_t ch, const char *fmtp);
/* A payload type unused in d: `prefer` if free, else a free dynamic one
 * (96..127), else -1. */
int sb_cp_free_pt(const sb_media_desc *d, int prefer);
/* The transcoding descriptor of a negotiated codec, or NULL. */
const sb_codec *sb_cp_xcodec(const sb_md_codec *c);
/* PCM rate of the narrow codec (8000 G.711, 16000 G.722). */
uint32_t sb_cp_narrow_rate(const sb_md_codec *c);
/* Our Opus fmtp when the other side is narrow at `rate` Hz. */
void sb_cp_opus_fmtp(char *buf, size_t cap, uint32_t rate);

/* Copy the relayable codecs of src into dst (order and PTs kept).
 * Returns the number of audio (non-DTMF) codecs copied. */
unsigned sb_cp_filter(const sb_media_desc *src, sb_media_desc *dst);

/* Our own codec list when nothing is negotiated yet (late offer). */
void sb_cp_default_codecs(sb_media_desc *d, bool webrtc);

/* Widen dst (already filtered from the offer) for an answerer of kind
 * `to_webrtc` (true: browser, false: plain RTP) as the policy above
 * says; opus_first puts the added Opus before the phone's codecs.
 * Returns true when codecs were added that only transcoding can serve. */
bool sb_cp_widen(sb_media_desc *dst, bool to_webrtc, bool opus_first);

#endif
