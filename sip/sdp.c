/* SDP text -> sb_sdp / sb_media_desc. sofia-sip's sdp_parse() does the
 * grammar; this file maps its tree onto plain data, folding session-level
 * attributes into the anchored audio line (RFC 8866 §5, RFC 8839 §5,
 * RFC 8842 §5), and writes sb_media_desc back as SDP text (RFC 3264).
 * Thread: any (pure). */
#include "sip/sdp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

/* mode_manual: keep a=sendrecv & co. as attributes so the session-level
 * default and media-level override are applied here, once (RFC 8866
 * §6.7). c_missing: a rejected m-line may lack c=; the anchored line's
 * c= is required below instead. */
#define SB_SDP_PARSE_FLAGS (sdp_f_mode_manual | sdp_f_c_missing)

/* State while folding attributes into one sb_media_desc. */
typedef struct parse_ctx {
	sb_media_desc *d;
	bool media_level;           /* false while walking session attrs */
	bool fp_media;              /* fingerprint came from media level */
	bool ssrc_set;
} parse_ctx;

static int copy_n(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		return -EMSGSIZE;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int copy_str(char *dst, size_t size, const char *src)
{
	return copy_n(dst, size, src ? src : "", src ? strlen(src) : 0);
}

/* Strict unsigned decimal; the whole token must be digits. */
static bool parse_uint(const char *s, size_t n, unsigned long max,
		       unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!g_ascii_isdigit(s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Leading decimal number of s (ptime "20", rtcp "9 IN IP4 ..."). */
static bool lead_uint(const char *s, unsigned long max, unsigned long *out)
{
	size_t n = s ? strspn(s, "0123456789") : 0;

	return parse_uint(s, n, max, out);
}

sb_md_proto sb_sdp_proto_from_name(const char *name)
{
	static const struct { const char *name; sb_md_proto p; } map[] = {
		{ "RTP/AVP", SB_MD_PROTO_RTP_AVP },
		{ "RTP/AVPF", SB_MD_PROTO_RTP_AVPF },
		{ "RTP/SAVP", SB_MD_PROTO_RTP_SAVP },
		{ "RTP/SAVPF", SB_MD_PROTO_RTP_SAVPF },
		{ "UDP/TLS/RTP/SAVPF", SB_MD_PROTO_DTLS_SAVPF },
		{ "UDP/TLS/RTP/SAVP", SB_MD_PROTO_DTLS_SAVP },
	};

	for (size_t i = 0; name && i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(name, map[i].name) == 0)
			return map[i].p;
	return SB_MD_PROTO_UNKNOWN;
}

const char *sb_sdp_proto_name(sb_md_proto proto)
{
	switch (proto) {
	case SB_MD_PROTO_RTP_AVP: return "RTP/AVP";
	case SB_MD_PROTO_RTP_AVPF: return "RTP/AVPF";
	case SB_MD_PROTO_RTP_SAVP: return "RTP/SAVP";
	case SB_MD_PROTO_RTP_SAVPF: return "RTP/SAVPF";
	case SB_MD_PROTO_DTLS_SAVPF: return "UDP/TLS/RTP/SAVPF";
	case SB_MD_PROTO_DTLS_SAVP: return "UDP/TLS/RTP/SAVP";
	case SB_MD_PROTO_UNKNOWN: break;
	}
	return NULL;
}

/* ---- attribute handlers (one per a= name) ---------------------------- */

typedef int (*attr_fn)(parse_ctx *c, const char *name, const char *v);

static int on_dir(parse_ctx *c, const char *name, const char *v)
{
	(void)v;
	if (strcmp(name, "sendonly") == 0)
		c->d->dir = SB_MD_DIR_SENDONLY;
	else if (strcmp(name, "recvonly") == 0)
		c->d->dir = SB_MD_DIR_RECVONLY;
	else if (strcmp(name, "inactive") == 0)
		c->d->dir = SB_MD_DIR_INACTIVE;
	else
		c->d->dir = SB_MD_DIR_SENDRECV;
	return 0;
}

static int on_ufrag(parse_ctx *c, const char *name, const char *v)
{
	(void)name;
	return copy_str(c->d->ice_ufrag, sizeof(c->d->ice_ufrag), v);
}

static int on_pwd(parse_ctx *c, const char *name, const char *v)
{
	(void)name;
	return copy_str(c->d->ice_pwd, sizeof(c->d->ice_pwd), v);
}

static int on_flag(parse_ctx *c, const char *name, const char *v)
{
	(void)v;
	if (strcmp(name, "ice-lite") == 0)
		c->d->ice_lite = true;
	else if (strcmp(name, "end-of-candidates") == 0)
		c->d->end_of_candidates = true;
	else if (strcmp(name, "rtcp-mux") == 0)
		c->d->rtcp_mux = true;
	else if (strcmp(name, "rtcp-rsize") == 0)
		c->d->rtcp_rsize = true;
	return 0;
}

/* a=fingerprint:<hash> <value>. Several may be given (RFC 8122 §5);
 * keep the first sha-256 one, else the first one. A media-level
 * fingerprint replaces the session-level ones. */
static int on_fingerprint(parse_ctx *c, const char *name, const char *v)
{
	sb_media_desc *d = c->d;
	const char *sp = v ? strchr(v, ' ') : NULL;
	char hash[sizeof(d->fp_hash)];
	int rc;

	(void)name;
	if (!sp)
		return -EPROTO;
	if ((rc = copy_n(hash, sizeof(hash), v, (size_t)(sp - v))) < 0)
		return rc;
	for (char *p = hash; *p; p++)
		*p = g_ascii_tolower(*p);
	if (c->media_level && !c->fp_media)
		d->fingerprint[0] = d->fp_hash[0] = '\0';
	if (d->fingerprint[0] &&
	    (strcmp(d->fp_hash, "sha-256") == 0 ||
	     strcmp(hash, "sha-256") != 0))
		return 0;
	c->fp_media = c->media_level;
	sp += strspn(sp, " \t");
	if ((rc = copy_str(d->fingerprint, sizeof(d->fingerprint), sp)) < 0)
		return rc;
	return copy_str(d->fp_hash, sizeof(d->fp_hash), hash);
}

static int on_setup(parse_ctx *c, const char *name, const char *v)
{
	static const struct { const char *s; sb_md_setup v; } map[] = {
		{ "actpass", SB_MD_SETUP_ACTPASS },
		{ "active", SB_MD_SETUP_ACTIVE },
		{ "passive", SB_MD_SETUP_PASSIVE },
		{ "holdconn", SB_MD_SETUP_HOLDCONN },
	};

	(void)name;
	for (size_t i = 0; v && i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(v, map[i].s) == 0)
			c->d->setup = map[i].v;
	return 0;
}

static int on_mid(parse_ctx *c, const char *name, const char *v)
{
	(void)name;
	return copy_str(c->d->mid, sizeof(c->d->mid), v);
}

/* The desc stores "candidate:..." exactly as the attribute reads. Extra
 * or over-long candidates are dropped, not fatal: ICE works with fewer. */
static int on_candidate(parse_ctx *c, const char *name, const char *v)
{
	sb_media_desc *d = c->d;
	int n;

	(void)name;
	if (!v || d->n_cands >= SB_MD_MAX_CANDS)
		return 0;
	n = snprintf(d->cands[d->n_cands], SB_MD_CAND_LEN, "candidate:%s", v);
	if (n > 0 && n < SB_MD_CAND_LEN)
		d->n_cands++;
	else
		d->cands[d->n_cands][0] = '\0';
	return 0;
}

static int on_rtcp(parse_ctx *c, const char *name, const char *v)
{
	unsigned long port;

	(void)name;
	if (!lead_uint(v, 65535, &port))
		return -EPROTO;
	c->d->rtcp_port = (uint16_t)port;
	return 0;
}

/* Unparsable ptime values (some phones write "20.0") are ignored. */
static int on_ptime(parse_ctx *c, const char *name, const char *v)
{
	unsigned long ms;

	if (!lead_uint(v, 10000, &ms))
		return 0;
	if (strcmp(name, "ptime") == 0)
		c->d->ptime = (unsigned)ms;
	else
		c->d->maxptime = (unsigned)ms;
	return 0;
}

/* a=ssrc:<id> <attr>[:<value>] (RFC 5576). Only the first SSRC is kept,
 * with its cname and (pre-RFC 8830 style) msid. */
static int on_ssrc(parse_ctx *c, const char *name, const char *v)
{
	sb_media_desc *d = c->d;
	size_t n = v ? strspn(v, "0123456789") : 0;
	unsigned long ssrc;
	const char *attr;

	(void)name;
	if (!parse_uint(v, n, 0xffffffffUL, &ssrc))
		return -EPROTO;
	if (!c->ssrc_set) {
		c->ssrc_set = true;
		d->ssrc = (uint32_t)ssrc;
	}
	if (ssrc != d->ssrc)
		return 0;
	attr = v + n + strspn(v + n, " \t");
	if (g_str_has_prefix(attr, "cname:") && !d->cname[0])
		return copy_str(d->cname, sizeof(d->cname), attr + 6);
	if (g_str_has_prefix(attr, "msid:") && !d->msid[0])
		return copy_str(d->msid, sizeof(d->msid), attr + 5);
	return 0;
}

static int on_msid(parse_ctx *c, const char *name, const char *v)
{
	(void)name;
	return copy_str(c->d->msid, sizeof(c->d->msid), v);
}

static const struct attr_entry {
	const char *name;
	attr_fn fn;
	bool session_ok;            /* may appear at session level */
} attr_table[] = {
	{ "sendrecv", on_dir, true },
	{ "sendonly", on_dir, true },
	{ "recvonly", on_dir, true },
	{ "inactive", on_dir, true },
	{ "ice-ufrag", on_ufrag, true },
	{ "ice-pwd", on_pwd, true },
	{ "ice-lite", on_flag, true },
	{ "end-of-candidates", on_flag, true },
	{ "fingerprint", on_fingerprint, true },
	{ "setup", on_setup, true },
	{ "rtcp-mux", on_flag, false },
	{ "rtcp-rsize", on_flag, false },
	{ "candidate", on_candidate, false },
	{ "mid", on_mid, false },
	{ "rtcp", on_rtcp, false },
	{ "ptime", on_ptime, false },
	{ "maxptime", on_ptime, false },
	{ "ssrc", on_ssrc, false },
	{ "msid", on_msid, false },
};

static int fold_attrs(parse_ctx *c, const sdp_attribute_t *a)
{
	int rc;

	for (; a; a = a->a_next) {
		for (size_t i = 0; i < G_N_ELEMENTS(attr_table); i++) {
			const struct attr_entry *e = &attr_table[i];

			if (!a->a_name || strcmp(a->a_name, e->name) != 0)
				continue;
			if (!c->media_level && !e->session_ok)
				break;
			if ((rc = e->fn(c, e->name, a->a_value)) < 0)
				return rc;
			break;
		}
	}
	return 0;
}

/* ---- codecs ---------------------------------------------------------- */

static int add_codec(sb_media_desc *d, unsigned pt, const char *enc,
		     unsigned long rate, const char *params, const char *fmtp)
{
	sb_md_codec *k;
	unsigned long ch = 1;
	int rc;

	/* A dynamic PT without rtpmap, or an rtpmap without clock rate,
	 * cannot be used: skip it rather than refuse the whole SDP. */
	if (!enc || !enc[0] || rate == 0 || rate > UINT32_MAX)
		return 0;
	if (d->n_codecs >= SB_MD_MAX_CODECS)
		return 0;
	/* A bad channel count makes the codec unusable, not the SDP. */
	if (params && params[0] &&
	    !parse_uint(params, strlen(params), 255, &ch))
		return 0;
	k = &d->codecs[d->n_codecs];
	k->pt = (uint8_t)pt;
	k->clock = (uint32_t)rate;
	k->channels = ch ? (uint8_t)ch : 1;
	if ((rc = copy_str(k->name, sizeof(k->name), enc)) < 0 ||
	    (rc = copy_str(k->fmtp, sizeof(k->fmtp), fmtp)) < 0) {
		memset(k, 0, sizeof(*k));
		return rc;
	}
	d->n_codecs++;
	return 0;
}

/* RTP/AVP and RTP/SAVP: sofia already joined rtpmap and fmtp per PT and
 * filled the static PTs from its RFC 3551 table. */
static int codecs_from_rtpmaps(sb_media_desc *d, const sdp_rtpmap_t *rm)
{
	int rc;

	for (; rm; rm = rm->rm_next)
		if ((rc = add_codec(d, rm->rm_pt, rm->rm_encoding, rm->rm_rate,
				    rm->rm_params, rm->rm_fmtp)) < 0)
			return rc;
	return 0;
}

/* Value of the first a=<name>:<pt> ... for this PT, after the PT. */
static const char *find_pt_attr(const sdp_attribute_t *a, const char *name,
				unsigned long pt)
{
	for (; a; a = a->a_next) {
		const char *v = a->a_value;
		size_t n = v ? strspn(v, "0123456789") : 0;
		unsigned long x;

		if (!a->a_name || strcmp(a->a_name, name) != 0 ||
		    !parse_uint(v, n, 127, &x) || x != pt)
			continue;
		return v + n + strspn(v + n, " \t");
	}
	return NULL;
}

/* "opus/48000/2" -> name, rate, channels text. */
static int split_rtpmap(const char *v, char *enc, size_t enc_size,
			unsigned long *rate, char *ch, size_t ch_size)
{
	const char *s1 = strchr(v, '/'), *s2;
	int rc;

	if (!s1)
		return -EPROTO;
	if ((rc = copy_n(enc, enc_size, v, (size_t)(s1 - v))) < 0)
		return rc;
	s2 = strchr(s1 + 1, '/');
	if (!parse_uint(s1 + 1, s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1),
			UINT32_MAX, rate))
		return -EPROTO;
	return copy_str(ch, ch_size, s2 ? s2 + 1 : "");
}

/* Profiles sofia does not know (UDP/TLS/RTP/SAVPF, RTP/AVPF in this
 * sofia version) keep formats as text and rtpmap/fmtp as attributes. */
static int codecs_from_attrs(sb_media_desc *d, const sdp_media_t *m)
{
	for (const sdp_list_t *l = m->m_format; l; l = l->l_next) {
		const char *map, *fmtp;
		char enc[sizeof(d->codecs[0].name)], ch[8] = "";
		unsigned long pt, rate = 0;
		int rc;

		if (!l->l_text ||
		    !parse_uint(l->l_text, strlen(l->l_text), 127, &pt))
			continue;
		map = find_pt_attr(m->m_attributes, "rtpmap", pt);
		fmtp = find_pt_attr(m->m_attributes, "fmtp", pt);
		if (map) {
			rc = split_rtpmap(map, enc, sizeof(enc), &rate,
					  ch, sizeof(ch));
		} else if (sdp_rtpmap_well_known[pt]) {
			const sdp_rtpmap_t *w = sdp_rtpmap_well_known[pt];

			rc = copy_str(enc, sizeof(enc), w->rm_encoding);
			rate = w->rm_rate;
			copy_str(ch, sizeof(ch), w->rm_params);
		} else {
			continue;
		}
		if (rc < 0 ||
		    (rc = add_codec(d, (unsigned)pt, enc, rate, ch, fmtp)) < 0)
			return rc;
	}
	return 0;
}

/* ---- m-lines and session --------------------------------------------- */

static int fmt_append(sb_sdp_mline *ml, const char *fmt)
{
	size_t used = strlen(ml->fmts);
	size_t n = strlen(fmt);

	if (!ml->first_fmt[0] &&
	    copy_str(ml->first_fmt, sizeof(ml->first_fmt), fmt) < 0)
		return -EMSGSIZE;
	if (used + (used ? 1 : 0) + n >= sizeof(ml->fmts))
		return -EMSGSIZE;
	if (used)
		ml->fmts[used++] = ' ';
	memcpy(ml->fmts + used, fmt, n + 1);
	return 0;
}

static int mline_from(sb_sdp_mline *ml, const sdp_media_t *m)
{
	const sdp_attribute_t *mid;
	int rc = 0;

	if (m->m_port > 65535)
		return -EPROTO;
	ml->port = (uint16_t)m->m_port;
	if (copy_str(ml->media, sizeof(ml->media), m->m_type_name) < 0 ||
	    copy_str(ml->proto, sizeof(ml->proto), m->m_proto_name) < 0)
		return -EMSGSIZE;
	for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm && !rc;
	     rm = rm->rm_next) {
		char pt[4];

		snprintf(pt, sizeof(pt), "%u", (unsigned)rm->rm_pt);
		rc = fmt_append(ml, pt);
	}
	for (const sdp_list_t *l = m->m_format; l && !rc; l = l->l_next)
		rc = fmt_append(ml, l->l_text ? l->l_text : "");
	if (rc < 0)
		return rc;
	mid = sdp_attribute_find(m->m_attributes, "mid");
	return mid ? copy_str(ml->mid, sizeof(ml->mid), mid->a_value) : 0;
}

/* RFC 8843 §7.2: a=group:BUNDLE <mid>... at session level. */
static bool in_bundle(const sdp_attribute_t *a, const char *mid)
{
	if (!mid[0])
		return false;
	for (; a; a = a->a_next) {
		gchar **tok;
		bool found = false;

		if (!a->a_name || !a->a_value ||
		    strcmp(a->a_name, "group") != 0)
			continue;
		tok = g_strsplit_set(a->a_value, " \t", -1);
		if (tok[0] && strcmp(tok[0], "BUNDLE") == 0)
			for (gchar **t = tok + 1; *t && !found; t++)
				found = strcmp(*t, mid) == 0;
		g_strfreev(tok);
		if (found)
			return true;
	}
	return false;
}

static int audio_from(sb_media_desc *d, const sdp_session_t *s,
		      const sdp_media_t *m)
{
	const sdp_connection_t *conn = m->m_connections ? m->m_connections
							: s->sdp_connection;
	parse_ctx c = { .d = d };
	int rc;

	if (!conn || !conn->c_address)
		return -EPROTO;
	if ((rc = copy_str(d->addr, sizeof(d->addr), conn->c_address)) < 0)
		return rc;
	d->proto = sb_sdp_proto_from_name(m->m_proto_name);
	d->port = (uint16_t)m->m_port;
	if ((rc = fold_attrs(&c, s->sdp_attributes)) < 0)
		return rc;
	c.media_level = true;
	if ((rc = fold_attrs(&c, m->m_attributes)) < 0)
		return rc;
	d->bundled = in_bundle(s->sdp_attributes, d->mid);
	if (m->m_rtpmaps)
		return codecs_from_rtpmaps(d, m->m_rtpmaps);
	return codecs_from_attrs(d, m);
}

static int origin_from(sb_sdp *out, const sdp_session_t *s)
{
	const sdp_origin_t *o = s->sdp_origin;

	if (!o)
		return -EPROTO;
	out->origin.sess_id = o->o_id;
	out->origin.sess_version = o->o_version;
	if (copy_str(out->origin.username, sizeof(out->origin.username),
		     o->o_username) < 0 ||
	    copy_str(out->origin.addr, sizeof(out->origin.addr),
		     o->o_address ? o->o_address->c_address : "") < 0 ||
	    copy_str(out->session_addr, sizeof(out->session_addr),
		     s->sdp_connection ? s->sdp_connection->c_address : "") < 0)
		return -EMSGSIZE;
	return 0;
}

/* Picks the first audio line with a port, else the first audio line. */
static int pick_audio(const sdp_session_t *s, const sdp_media_t **out)
{
	const sdp_media_t *first = NULL;
	int idx = -1, first_idx = -1, i = 0;

	for (const sdp_media_t *m = s->sdp_media; m; m = m->m_next, i++) {
		if (m->m_type != sdp_media_audio)
			continue;
		if (!first) {
			first = m;
			first_idx = i;
		}
		if (m->m_port != 0) {
			*out = m;
			return i;
		}
	}
	idx = first_idx;
	*out = first;
	return first ? idx : -ENOENT;
}

static int from_session(sb_sdp *out, const sdp_session_t *s)
{
	const sdp_media_t *audio = NULL;
	unsigned n = 0;
	int rc, idx;

	if ((rc = origin_from(out, s)) < 0)
		return rc;
	for (const sdp_media_t *m = s->sdp_media; m; m = m->m_next, n++) {
		if (n >= SB_SDP_MAX_MLINES)
			return -EMSGSIZE;
		if ((rc = mline_from(&out->mlines[n], m)) < 0)
			return rc;
	}
	out->n_mlines = n;
	if ((idx = pick_audio(s, &audio)) < 0)
		return idx;
	out->audio_index = (unsigned)idx;
	out->mlines[idx].anchored = true;
	return audio_from(&out->audio, s, audio);
}

static bool is_token_char(char c)
{
	return g_ascii_isalnum(c) || (c && strchr("-!#$%&'*+.^_`{|}~", c));
}

/* Length of the run of chars at s[0..n) accepted by pred (or '/'). */
static size_t run_len(const char *s, size_t n, bool slash,
		      bool (*pred)(char))
{
	size_t k = 0;

	while (k < n && (pred(s[k]) || (slash && s[k] == '/')))
		k++;
	return k;
}

static bool is_digit_char(char c)
{
	return g_ascii_isdigit(c);
}

/* RFC 8866 allows only SP between m= fields. sofia also loops forever
 * on a proto followed by tabs only ("RTP/SAVPF\t\t"), so tabs are out. */
static size_t blanks(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && s[k] == ' ')
		k++;
	return k;
}

/* RFC 8866 §5.14: media SP port ["/" integer] SP proto 1*(SP fmt). */
static bool mline_grammar_ok(const char *s, size_t n)
{
	size_t k = run_len(s, n, false, is_token_char), b, t;

	if (k == 0 || (b = blanks(s + k, n - k)) == 0)
		return false;
	k += b;
	if ((t = run_len(s + k, n - k, true, is_digit_char)) == 0)
		return false;
	k += t;
	if ((b = blanks(s + k, n - k)) == 0)
		return false;
	k += b;
	if ((t = run_len(s + k, n - k, true, is_token_char)) == 0)
		return false;
	k += t;
	while (k < n) {
		if ((b = blanks(s + k, n - k)) == 0)
			return false;
		k += b;
		k += run_len(s + k, n - k, false, is_token_char);
	}
	return true;
}

/* Debian's sofia-sip (1.12.11+20110422) loops forever, allocating, when
 * an m= format is not a token (parse_media() ignores token() returning
 * NULL): "RTP/AVP 0 \xc2", or a port glued to the proto. Check m= lines
 * against the grammar before sofia sees them, and count them. Lines are
 * split and leading blanks skipped as sofia's next() does. */
static int precheck_mlines(const char *buf, size_t len)
{
	unsigned n = 0;
	size_t i = 0;

	while (i < len) {
		size_t end = i;

		/* buf is not NUL-terminated: scan by hand, not strcspn() */
		while (end < len && buf[end] != '\r' && buf[end] != '\n')
			end++;
		while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i + 1 < end && buf[i] == 'm' && buf[i + 1] == '=') {
			if (++n > SB_SDP_MAX_MLINES)
				return -EMSGSIZE;
			if (!mline_grammar_ok(buf + i + 2, end - i - 2))
				return -EPROTO;
		}
		i = end + 1;
	}
	return 0;
}

int sb_sdp_parse(const char *buf, size_t len, size_t max_len, sb_sdp **out)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	sdp_parser_t *p;
	sdp_session_t *s;
	sb_sdp *sdp;
	int rc;

	if (!out || (!buf && len))
		return -EINVAL;
	if (len > max_len || len > (size_t)INT32_MAX)
		return -EMSGSIZE;
	/* sofia stops at a NUL (it strncpy's the body): refuse instead of
	 * silently parsing a prefix. */
	if (len == 0 || memchr(buf, '\0', len))
		return -EPROTO;
	if ((rc = precheck_mlines(buf, len)) < 0)
		return rc;
	p = sdp_parse(home, buf, (issize_t)len, SB_SDP_PARSE_FLAGS);
	s = sdp_session(p);
	sdp = g_new0(sb_sdp, 1);
	rc = s ? from_session(sdp, s) : -EPROTO;
	sdp_parser_free(p);
	su_home_deinit(home);
	if (rc < 0) {
		g_free(sdp);
		return rc;
	}
	*out = sdp;
	return 0;
}

void sb_sdp_free(sb_sdp *sdp)
{
	g_free(sdp);
}

void sb_sdp_origin_init(sb_sdp_origin *o, const char *username,
			const char *addr)
{
	memset(o, 0, sizeof(*o));
	copy_str(o->username, sizeof(o->username), username);
	copy_str(o->addr, sizeof(o->addr), addr);
	/* 62 random bits: fits the NTP-format suggestion and stays positive
	 * for peers that parse it as a signed 64-bit number. */
	o->sess_id = ((uint64_t)g_random_int() << 30) ^ g_random_int();
	o->sess_version = 1;
}

/* ---- writer ------------------------------------------------------------ */

static const char *const dir_names[] = {
	[SB_MD_DIR_SENDRECV] = "sendrecv",
	[SB_MD_DIR_SENDONLY] = "sendonly",
	[SB_MD_DIR_RECVONLY] = "recvonly",
	[SB_MD_DIR_INACTIVE] = "inactive",
};

static const char *const setup_names[] = {
	[SB_MD_SETUP_NONE] = NULL,
	[SB_MD_SETUP_ACTPASS] = "actpass",
	[SB_MD_SETUP_ACTIVE] = "active",
	[SB_MD_SETUP_PASSIVE] = "passive",
	[SB_MD_SETUP_HOLDCONN] = "holdconn",
};

static bool is_dtls(sb_md_proto p)
{
	return p == SB_MD_PROTO_DTLS_SAVPF || p == SB_MD_PROTO_DTLS_SAVP;
}

/* Text that goes on a line must not end it: a CR or LF in a desc field
 * would inject SDP lines. Empty is fine. */
static bool line_safe(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n < size && strcspn(s, "\r\n") == n;
}

/* One non-empty SDP token: no blank, no line end. */
static bool word_safe(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	return n > 0 && n < size && strcspn(s, " \t\r\n") == n;
}

static bool desc_valid(const sb_media_desc *d)
{
	if (!sb_sdp_proto_name(d->proto) ||
	    !word_safe(d->addr, sizeof(d->addr)) ||
	    (unsigned)d->dir >= G_N_ELEMENTS(dir_names) ||
	    (unsigned)d->setup >= G_N_ELEMENTS(setup_names) ||
	    d->n_codecs > SB_MD_MAX_CODECS || d->n_cands > SB_MD_MAX_CANDS ||
	    (d->port != 0 && d->n_codecs == 0))
		return false;
	for (unsigned i = 0; i < d->n_codecs; i++)
		if (d->codecs[i].pt > 127 ||
		    !word_safe(d->codecs[i].name, sizeof(d->codecs[i].name)) ||
		    !line_safe(d->codecs[i].fmtp, sizeof(d->codecs[i].fmtp)))
			return false;
	for (unsigned i = 0; i < d->n_cands; i++)
		if (!line_safe(d->cands[i], SB_MD_CAND_LEN))
			return false;
	return line_safe(d->ice_ufrag, sizeof(d->ice_ufrag)) &&
	       line_safe(d->ice_pwd, sizeof(d->ice_pwd)) &&
	       line_safe(d->fp_hash, sizeof(d->fp_hash)) &&
	       line_safe(d->fingerprint, sizeof(d->fingerprint)) &&
	       line_safe(d->mid, sizeof(d->mid)) &&
	       line_safe(d->cname, sizeof(d->cname)) &&
	       line_safe(d->msid, sizeof(d->msid));
}

static bool origin_valid(const sb_sdp_origin *o)
{
	return word_safe(o->username, sizeof(o->username)) &&
	       word_safe(o->addr, sizeof(o->addr));
}

static const char *addr_type(const char *addr)
{
	return strchr(addr, ':') ? "IP6" : "IP4";
}

/* v= o= s= c= t= and session attributes (RFC 8866 §5 order). The c= is
 * session level so that it also covers rejected m-lines. */
static void put_session(GString *s, const sb_sdp_origin *o,
			const sb_media_desc *d, const char *bundle_mid)
{
	g_string_append_printf(s, "v=0\r\no=%s %" PRIu64 " %" PRIu64
			       " IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n",
			       o->username, o->sess_id, o->sess_version,
			       addr_type(o->addr), o->addr,
			       addr_type(d->addr), d->addr);
	if (!is_dtls(d->proto))
		return;
	if (d->ice_lite)
		g_string_append(s, "a=ice-lite\r\n");
	if (bundle_mid && bundle_mid[0])
		g_string_append_printf(s, "a=group:BUNDLE %s\r\n", bundle_mid);
}

/* ICE and DTLS (RFC 8839, RFC 8842), only on UDP/TLS/RTP/... lines. */
static void put_ice_dtls(GString *s, const sb_media_desc *d)
{
	if (d->ice_ufrag[0])
		g_string_append_printf(s, "a=ice-ufrag:%s\r\n", d->ice_ufrag);
	if (d->ice_pwd[0])
		g_string_append_printf(s, "a=ice-pwd:%s\r\n", d->ice_pwd);
	if (d->fingerprint[0])
		g_string_append_printf(s, "a=fingerprint:%s %s\r\n",
				       d->fp_hash[0] ? d->fp_hash : "sha-256",
				       d->fingerprint);
	if (setup_names[d->setup])
		g_string_append_printf(s, "a=setup:%s\r\n",
				       setup_names[d->setup]);
}

static void put_codecs(GString *s, const sb_media_desc *d)
{
	for (unsigned i = 0; i < d->n_codecs; i++) {
		const sb_md_codec *k = &d->codecs[i];

		g_string_append_printf(s, "a=rtpmap:%u %s/%" PRIu32,
				       (unsigned)k->pt, k->name, k->clock);
		if (k->channels > 1)
			g_string_append_printf(s, "/%u", (unsigned)k->channels);
		g_string_append(s, "\r\n");
		if (k->fmtp[0])
			g_string_append_printf(s, "a=fmtp:%u %s\r\n",
					       (unsigned)k->pt, k->fmtp);
	}
	if (d->ptime)
		g_string_append_printf(s, "a=ptime:%u\r\n", d->ptime);
	if (d->maxptime)
		g_string_append_printf(s, "a=maxptime:%u\r\n", d->maxptime);
}

static void put_ssrc_cands(GString *s, const sb_media_desc *d)
{
	if (d->ssrc && d->cname[0])
		g_string_append_printf(s, "a=ssrc:%" PRIu32 " cname:%s\r\n",
				       d->ssrc, d->cname);
	if (d->ssrc && d->msid[0])
		g_string_append_printf(s, "a=ssrc:%" PRIu32 " msid:%s\r\n",
				       d->ssrc, d->msid);
	for (unsigned i = 0; i < d->n_cands; i++)
		g_string_append_printf(s, "a=%s\r\n", d->cands[i]);
	if (d->end_of_candidates)
		g_string_append(s, "a=end-of-candidates\r\n");
}

/* The audio m-line described by d; mid overrides d->mid (answers). */
static void put_audio(GString *s, const sb_media_desc *d, const char *mid)
{
	bool webrtc = is_dtls(d->proto);

	g_string_append_printf(s, "m=audio %u %s", (unsigned)d->port,
			       sb_sdp_proto_name(d->proto));
	for (unsigned i = 0; i < d->n_codecs; i++)
		g_string_append_printf(s, " %u", (unsigned)d->codecs[i].pt);
	g_string_append(s, "\r\n");
	if (d->rtcp_port)
		g_string_append_printf(s, "a=rtcp:%u\r\n",
				       (unsigned)d->rtcp_port);
	if (webrtc) {
		put_ice_dtls(s, d);
		if (mid[0])
			g_string_append_printf(s, "a=mid:%s\r\n", mid);
	}
	g_string_append_printf(s, "a=%s\r\n", dir_names[d->dir]);
	if (webrtc && d->msid[0])
		g_string_append_printf(s, "a=msid:%s\r\n", d->msid);
	if (d->rtcp_mux)
		g_string_append(s, "a=rtcp-mux\r\n");
	if (webrtc && d->rtcp_rsize)
		g_string_append(s, "a=rtcp-rsize\r\n");
	put_codecs(s, d);
	if (webrtc)
		put_ssrc_cands(s, d);
}

/* RFC 3264 §6: a rejected stream keeps its media, proto and a format. */
static void put_rejected(GString *s, const sb_sdp_mline *ml)
{
	g_string_append_printf(s, "m=%s 0 %s %s\r\n", ml->media, ml->proto,
			       ml->first_fmt[0] ? ml->first_fmt : "0");
	if (ml->mid[0])
		g_string_append_printf(s, "a=mid:%s\r\n", ml->mid);
}

int sb_sdp_write_offer(const sb_sdp_origin *o, const sb_media_desc *d,
		       char **out)
{
	GString *s;

	if (!o || !d || !out || !origin_valid(o) || !desc_valid(d) ||
	    d->n_codecs == 0)
		return -EINVAL;
	s = g_string_sized_new(1024);
	put_session(s, o, d, d->bundled ? d->mid : NULL);
	put_audio(s, d, d->mid);
	*out = g_string_free(s, FALSE);
	return 0;
}

static bool offer_valid(const sb_sdp_mline *mlines, unsigned n,
			unsigned audio_index)
{
	if (n == 0 || n > SB_SDP_MAX_MLINES || audio_index >= n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		const sb_sdp_mline *ml = &mlines[i];

		if (!word_safe(ml->media, sizeof(ml->media)) ||
		    !word_safe(ml->proto, sizeof(ml->proto)) ||
		    !line_safe(ml->first_fmt, sizeof(ml->first_fmt)) ||
		    !line_safe(ml->mid, sizeof(ml->mid)))
			return false;
	}
	return true;
}

static int write_answer(const sb_sdp_origin *o, const sb_media_desc *d,
			const sb_sdp_mline *mlines, unsigned n,
			unsigned audio_index, char **out)
{
	const sb_sdp_mline *anchored;
	const char *mid;
	GString *s;

	if (!o || !d || !out || !origin_valid(o) || !desc_valid(d) ||
	    !offer_valid(mlines, n, audio_index))
		return -EINVAL;
	anchored = &mlines[audio_index];
	/* RFC 8843 §7.3.1: the answer reuses the offer's mid. */
	mid = anchored->mid[0] ? anchored->mid : d->mid;
	s = g_string_sized_new(1024);
	put_session(s, o, d, d->bundled && d->port ? mid : NULL);
	for (unsigned i = 0; i < n; i++) {
		if (i != audio_index || d->port == 0 || d->n_codecs == 0)
			put_rejected(s, &mlines[i]);
		else
			put_audio(s, d, mid);
	}
	*out = g_string_free(s, FALSE);
	return 0;
}

int sb_sdp_write_answer(const sb_sdp_origin *o, const sb_media_desc *d,
			const sb_sdp *offer, char **out)
{
	if (!offer)
		return -EINVAL;
	return write_answer(o, d, offer->mlines, offer->n_mlines,
			    offer->audio_index, out);
}

int sb_sdp_write_answer_lines(const sb_sdp_origin *o, const sb_media_desc *d,
			      const sb_sdp_lines *offer, char **out)
{
	if (!offer)
		return -EINVAL;
	return write_answer(o, d, offer->mlines, offer->n_mlines,
			    offer->audio_index, out);
}

sb_sdp_lines *sb_sdp_lines_keep(const sb_sdp *sdp)
{
	unsigned n = MIN(sdp->n_mlines, (unsigned)SB_SDP_MAX_MLINES);
	sb_sdp_lines *l = g_malloc(sizeof(*l) + n * sizeof(l->mlines[0]));
	l->n_mlines = n;
	l->audio_index = sdp->audio_index;
	memcpy(l->mlines, sdp->mlines, n * sizeof(l->mlines[0]));
	return l;
}
