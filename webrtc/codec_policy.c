/* Codec lists of a media session: see codec_policy.h. */
#include "webrtc/codec_policy.h"

#include <string.h>
#include <glib.h>

bool sb_cp_is_te(const sb_md_codec *c)
{
	return !g_ascii_strcasecmp(c->name, "telephone-event");
}

bool sb_cp_is_opus(const sb_md_codec *c)
{
	return !g_ascii_strcasecmp(c->name, "opus") && c->clock == 48000;
}

bool sb_cp_is_narrow(const sb_md_codec *c)
{
	return c->clock == 8000 && (!g_ascii_strcasecmp(c->name, "PCMU") ||
				    !g_ascii_strcasecmp(c->name, "PCMA") ||
				    !g_ascii_strcasecmp(c->name, "G722"));
}

bool sb_cp_relayable(const sb_md_codec *c)
{
	return sb_cp_is_te(c) || sb_cp_is_opus(c) || sb_cp_is_narrow(c);
}

bool sb_cp_same(const sb_md_codec *a, const sb_md_codec *b)
{
	unsigned ca = a->channels ? a->channels : 1;
	unsigned cb = b->channels ? b->channels : 1;
	return !g_ascii_strcasecmp(a->name, b->name) && a->clock == b->clock &&
	       ca == cb;
}

const sb_md_codec *sb_cp_find(const sb_media_desc *d,
			      const sb_md_codec *like)
{
	for (unsigned i = 0; i < d->n_codecs && i < SB_MD_MAX_CODECS; i++)
		if (sb_cp_same(&d->codecs[i], like))
			return &d->codecs[i];
	return NULL;
}

const sb_md_codec *sb_cp_find_te(const sb_media_desc *d, uint32_t clock)
{
	for (unsigned i = 0; i < d->n_codecs && i < SB_MD_MAX_CODECS; i++)
		if (sb_cp_is_te(&d->codecs[i]) &&
		    (clock == 0 || d->codecs[i].clock == clock))
			return &d->codecs[i];
	return NULL;
}

const sb_md_codec *sb_cp_first(const sb_media_desc *d,
			       bool (*pred)(const sb_md_codec *c))
{
	for (unsigned i = 0; i < d->n_codecs && i < SB_MD_MAX_CODECS; i++)
		if (!sb_cp_is_te(&d->codecs[i]) && pred(&d->codecs[i]))
			return &d->codecs[i];
	return NULL;
}

void sb_cp_add(sb_media_desc *d, uint8_t pt, const char *name,
	       uint32_t clock, uint8_t ch, const char *fmtp)
{
	if (d->n_codecs >= SB_MD_MAX_CODECS)
		return;
	sb_md_codec *c = &d->codecs[d->n_codecs++];
	memset(c, 0, sizeof(*c));
	c->pt = pt;
	g_strlcpy(c->name, name, sizeof(c->name));
	c->clock = clock;
	c->channels = ch;
	g_strlcpy(c->fmtp, fmtp, sizeof(c->fmtp));
}

static bool pt_used(const sb_media_desc *d, int pt)
{
	for (unsigned i = 0; i < d->n_codecs && i < SB_MD_MAX_CODECS; i++)
		if (d->codecs[i].pt == pt)
			return true;
	return false;
}

int sb_cp_free_pt(const sb_media_desc *d, int prefer)
{
	if (prefer >= 0 && !pt_used(d, prefer))
		return prefer;
	for (int pt = 96; pt <= 127; pt++)
		if (!pt_used(d, pt))
			return pt;
	return -1;
}

const sb_codec *sb_cp_xcodec(const sb_md_codec *c)
{
	return sb_codec_find(c->name, c->clock, c->channels);
}

uint32_t sb_cp_narrow_rate(const sb_md_codec *c)
{
	return !g_ascii_strcasecmp(c->name, "G722") ? 16000 : 8000;
}

void sb_cp_opus_fmtp(char *buf, size_t cap, uint32_t rate)
{
	/* RFC 7587 §6.1: we decode and encode at the narrow side's rate,
	 * so more bandwidth would be wasted; mono, in-band FEC. */
	g_snprintf(buf, cap, "minptime=10;useinbandfec=1;stereo=0;"
		   "sprop-stereo=0;maxplaybackrate=%u;"
		   "sprop-maxcapturerate=%u", rate, rate);
}

unsigned sb_cp_filter(const sb_media_desc *src, sb_media_desc *dst)
{
	unsigned audio = 0;
	dst->n_codecs = 0;
	for (unsigned i = 0; i < src->n_codecs && i < SB_MD_MAX_CODECS; i++) {
		if (!sb_cp_relayable(&src->codecs[i]))
			continue;
		dst->codecs[dst->n_codecs++] = src->codecs[i];
		audio += !sb_cp_is_te(&src->codecs[i]);
	}
	return audio;
}

void sb_cp_default_codecs(sb_media_desc *d, bool webrtc)
{
	d->n_codecs = 0;
	if (webrtc)
		sb_cp_add(d, 111, "opus", 48000, 2,
			  "minptime=10;useinbandfec=1");
	sb_cp_add(d, 0, "PCMU", 8000, 1, "");
	sb_cp_add(d, 8, "PCMA", 8000, 1, "");
	sb_cp_add(d, 9, "G722", 8000, 1, "");
	if (!webrtc)
		sb_cp_add(d, 111, "opus", 48000, 2, "useinbandfec=1");
	if (webrtc)
		sb_cp_add(d, 110, "telephone-event", 48000, 1, "0-16");
	sb_cp_add(d, 101, "telephone-event", 8000, 1, "0-16");
}

static bool add_named(sb_media_desc *d, int prefer, const char *name,
		      uint32_t clock, uint8_t ch, const char *fmtp)
{
	sb_md_codec like = { .clock = clock, .channels = ch };
	g_strlcpy(like.name, name, sizeof(like.name));
	if (sb_cp_find(d, &like))
		return false;
	int pt = sb_cp_free_pt(d, prefer);
	if (pt < 0 || d->n_codecs >= SB_MD_MAX_CODECS)
		return false;
	sb_cp_add(d, (uint8_t)pt, name, clock, ch, fmtp);
	return true;
}

/* Toward SIP: G.711 so any trunk can answer, DTMF at 8000. */
static bool widen_for_rtp(sb_media_desc *d)
{
	bool had_te = sb_cp_find_te(d, 0) != NULL;
	bool added = false;

	if (!sb_cp_first(d, sb_cp_is_opus))
		return false; /* nothing we could transcode from */
	added |= add_named(d, 0, "PCMU", 8000, 1, "");
	added |= add_named(d, 8, "PCMA", 8000, 1, "");
	if (had_te && !sb_cp_find_te(d, 8000))
		add_named(d, 101, "telephone-event", 8000, 1, "0-16");
	return added;
}

/* Toward a browser: Opus (first, or after the phone's audio codecs and
 * before DTMF), telephone-event at its clock too. */
static bool widen_for_webrtc(sb_media_desc *d, bool opus_first)
{
	const sb_md_codec *narrow = sb_cp_first(d, sb_cp_is_narrow);
	char fmtp[SB_MD_FMTP_LEN];

	if (!narrow || sb_cp_first(d, sb_cp_is_opus) ||
	    d->n_codecs >= SB_MD_MAX_CODECS)
		return false;
	int pt = sb_cp_free_pt(d, 111);
	if (pt < 0)
		return false;
	sb_cp_opus_fmtp(fmtp, sizeof(fmtp), sb_cp_narrow_rate(narrow));
	unsigned at = 0;
	if (!opus_first)
		while (at < d->n_codecs && !sb_cp_is_te(&d->codecs[at]))
			at++;
	memmove(&d->codecs[at + 1], &d->codecs[at],
		(d->n_codecs - at) * sizeof(d->codecs[0]));
	d->n_codecs++;
	sb_md_codec *o = &d->codecs[at];
	memset(o, 0, sizeof(*o));
	o->pt = (uint8_t)pt;
	g_strlcpy(o->name, "opus", sizeof(o->name));
	o->clock = 48000;
	o->channels = 2;
	g_strlcpy(o->fmtp, fmtp, sizeof(o->fmtp));
	if (sb_cp_find_te(d, 0) && !sb_cp_find_te(d, 48000))
		add_named(d, 110, "telephone-event", 48000, 1, "0-16");
	return true;
}

bool sb_cp_widen(sb_media_desc *dst, bool to_webrtc, bool opus_first)
{
	return to_webrtc ? widen_for_webrtc(dst, opus_first) :
			   widen_for_rtp(dst);
}
