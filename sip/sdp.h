/* SDP text <-> sb_media_desc (RFC 4566/8866, offer/answer RFC 3264).
 * Grammar by sofia-sip's sdp_parse(); this module only maps the parsed
 * session onto plain data and writes SDP text back.
 * Thread: any. Every function is pure (no globals, no callbacks). */
#ifndef SB_SIP_SDP_H
#define SB_SIP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "webrtc/media_desc.h"

#define SB_SDP_MAX_MLINES 16
#define SB_SDP_FMTS_LEN 256

/* One m= line as offered, kept so that an answer can mirror it
 * (RFC 3264 §6: same number of m-lines, same order). */
typedef struct sb_sdp_mline {
	char media[32];             /* "audio", "video", "application"... */
	uint16_t port;              /* 0 = rejected/disabled in the SDP */
	char proto[32];             /* as written: "UDP/TLS/RTP/SAVPF" */
	char fmts[SB_SDP_FMTS_LEN]; /* formats, space separated, m= order */
	char first_fmt[32];         /* first format, used to reject the line */
	char mid[64];               /* a=mid, "" if none */
	bool anchored;              /* the line converted to sb_sdp.audio */
} sb_sdp_mline;

/* o= line. The caller keeps one per dialog side and bumps sess_version
 * for every new offer/answer that changes (RFC 3264 §8). */
typedef struct sb_sdp_origin {
	char username[64];          /* "-" or "sipbridge" */
	uint64_t sess_id;
	uint64_t sess_version;
	char addr[64];              /* IP literal; IP6 when it has a ':' */
} sb_sdp_origin;

/* A parsed SDP body. Plain data: no pointers, copy freely; allocated by
 * sb_sdp_parse(), released by sb_sdp_free(). */
typedef struct sb_sdp {
	sb_sdp_origin origin;
	char session_addr[64];      /* session-level c=, "" if none */
	sb_sdp_mline mlines[SB_SDP_MAX_MLINES];
	unsigned n_mlines;
	unsigned audio_index;       /* index in mlines of the anchored line */
	/* The anchored audio line: the first audio m-line with a non-zero
	 * port, else the first audio m-line. Session-level defaults
	 * (direction, ICE credentials, ice-lite, fingerprint) are folded
	 * in. Codecs past SB_MD_MAX_CODECS and candidates past
	 * SB_MD_MAX_CANDS are dropped (m= order is preference order). */
	sb_media_desc audio;
} sb_sdp;

/* Parse an SDP body of len bytes (need not be NUL-terminated; CRLF or
 * LF line ends). Bodies longer than max_len are refused.
 * On success *out is a new sb_sdp owned by the caller (sb_sdp_free).
 * Returns 0, -EMSGSIZE (len > max_len, more than SB_SDP_MAX_MLINES
 * m-lines, a value too long for its sb_media_desc field), -EPROTO
 * (malformed, or no c= for the audio line), -ENOENT (no audio m-line),
 * -EINVAL (NULL arguments). *out is untouched on error. Thread: any. */
int sb_sdp_parse(const char *buf, size_t len, size_t max_len, sb_sdp **out);

/* Free a parsed SDP; NULL is fine. Thread: any. */
void sb_sdp_free(sb_sdp *sdp);

/* Fill an origin with a fresh random session id and version 1
 * (RFC 8866 §5.2: id unique, version increases). Thread: any. */
void sb_sdp_origin_init(sb_sdp_origin *o, const char *username,
			const char *addr);

/* Write an offer with one audio m-line described by d.
 * For UDP/TLS/RTP/SAVP(F) it carries ICE, DTLS, mid, BUNDLE, ssrc and
 * msid; for the other profiles only what a SIP phone understands
 * (rtpmap for every PT, fmtp, ptime, maxptime, rtcp, rtcp-mux if set,
 * direction). On success *out is a NUL-terminated CRLF text owned by the
 * caller (g_free). Returns 0 or -EINVAL (NULL argument, unknown proto,
 * no codec while the port is not 0). Thread: any. */
int sb_sdp_write_offer(const sb_sdp_origin *o, const sb_media_desc *d,
		       char **out);

/* Write the answer to a parsed offer: the same m-lines in the same
 * order; the offer's anchored line is described by d, every other line
 * is rejected with port 0 and its first format (RFC 3264 §6). The
 * anchored line takes the offer's mid (RFC 8843 §7.3.1). Ownership and
 * errors as sb_sdp_write_offer(). Thread: any. */
int sb_sdp_write_answer(const sb_sdp_origin *o, const sb_media_desc *d,
			const sb_sdp *offer, char **out);

/* What answering an offer needs of it: its m-lines and which one is
 * anchored. A gateway keeps each side's last offer for the life of the
 * call, and a parsed sb_sdp is 16 KiB (room for SB_SDP_MAX_MLINES lines
 * and the anchored line's full description); this is 0.4 KiB for a
 * one-line offer. Owned by the caller (g_free). Thread: any. */
typedef struct sb_sdp_lines {
	unsigned n_mlines;
	unsigned audio_index;
	sb_sdp_mline mlines[];      /* n_mlines */
} sb_sdp_lines;
sb_sdp_lines *sb_sdp_lines_keep(const sb_sdp *sdp);

/* sb_sdp_write_answer() to an offer kept as lines. */
int sb_sdp_write_answer_lines(const sb_sdp_origin *o, const sb_media_desc *d,
			      const sb_sdp_lines *offer, char **out);

/* Map between proto enum and the m= text; NULL / SB_MD_PROTO_UNKNOWN
 * for anything else. Thread: any. */
const char *sb_sdp_proto_name(sb_md_proto proto);
sb_md_proto sb_sdp_proto_from_name(const char *name);

#endif
