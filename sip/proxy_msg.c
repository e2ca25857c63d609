/* SIP message editing for the proxy. Signalling thread. */
#include "sip/proxy_msg.h"

#include <errno.h>
#include <glib.h>
#include <openssl/rand.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>

msg_t *sb_pmsg_parse(const char *buf, size_t len, const char **why)
{
	msg_t *msg = msg_make(sip_default_mclass(), 0, buf, len);
	sip_t *sip = msg ? sip_object(msg) : NULL;
	*why = NULL;
	/* Three ways to fail (notes/signalling.md §3): total failure, a
	 * malformed header, or a missing mandatory one. */
	if (!sip || msg_has_error(msg) || (!sip->sip_request && !sip->sip_status))
		*why = "Malformed message";
	else if (sip->sip_error)
		*why = "Malformed header";
	else if (!sip->sip_via || !sip->sip_from || !sip->sip_to ||
		 !sip->sip_call_id || !sip->sip_cseq)
		*why = "Missing mandatory header";
	else if (sip->sip_content_length &&
		 sip->sip_content_length->l_length !=
			 (sip->sip_payload ? sip->sip_payload->pl_len : 0))
		*why = "Content-Length mismatch";
	else if (sip->sip_request && sip->sip_cseq->cs_method != sip->sip_request->rq_method)
		*why = "CSeq method does not match";
	if (*why) {
		if (msg)
			msg_destroy(msg);
		return NULL;
	}
	return msg;
}

char *sb_pmsg_to_string(msg_t *msg, size_t *len)
{
	su_home_t *home = msg_home(msg);
	size_t n = 0;
	msg_serialize(msg, NULL);
	char *s = msg_as_string(home, msg, NULL, 0, &n);
	if (!s)
		return NULL;
	char *r = g_strndup(s, (gsize)n);
	su_free(home, s);
	if (len)
		*len = (size_t)n;
	return r;
}

int sb_pmsg_max_forwards(msg_t *msg, sip_t *sip)
{
	if (!sip->sip_max_forwards)
		return sip_add_make(msg, sip, sip_max_forwards_class, "70") < 0 ? -ENOMEM : 0;
	if (sip->sip_max_forwards->mf_count == 0)
		return -ELOOP;
	sip->sip_max_forwards->mf_count--;
	msg_fragment_clear(sip->sip_max_forwards->mf_common);
	return 0;
}

void sb_pmsg_pop_via(msg_t *msg, sip_t *sip)
{
	if (sip->sip_via)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_via);
}

int sb_pmsg_push_via(msg_t *msg, sip_t *sip, const char *proto,
		     const char *host, const char *branch)
{
	sip_via_t *v = sip_via_format(msg_home(msg), "SIP/2.0/%s %s;branch=%s",
				      proto, host, branch);
	if (!v)
		return -ENOMEM;
	return msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)v) < 0
		? -ENOMEM : 0;
}

bool sb_pmsg_url_token(const url_t *url, char *buf, size_t size)
{
	if (!url || !url->url_params)
		return false;
	char tmp[64];
	isize_t n = url_param(url->url_params, SB_FLOW_PARAM, tmp, sizeof(tmp));
	if (n <= 0 || (size_t)n >= size)
		return false;
	g_strlcpy(buf, tmp, size);
	return true;
}

bool sb_pmsg_pop_own_routes(msg_t *msg, sip_t *sip, char *buf, size_t size)
{
	bool found = false;
	char tok[64];
	while (sip->sip_route && sb_pmsg_url_token(sip->sip_route->r_url, tok, sizeof(tok))) {
		if (!found)
			g_strlcpy(buf, tok, size);
		found = true;
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_route);
	}
	return found;
}

int sb_pmsg_push_record_route(msg_t *msg, sip_t *sip, const char *uri)
{
	sip_record_route_t *rr = sip_record_route_make(msg_home(msg), uri);
	if (!rr)
		return -EINVAL;
	return msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)rr) < 0
		? -ENOMEM : 0;
}

int sb_pmsg_set_request_uri(msg_t *msg, sip_t *sip, const char *uri)
{
	sip_request_t *old = sip->sip_request;
	sip_request_t *rq = sip_request_create(msg_home(msg), old->rq_method,
					       old->rq_method_name,
					       (url_string_t const *)uri, NULL);
	if (!rq)
		return -EINVAL;
	return msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)old,
				  (msg_header_t *)rq) < 0 ? -ENOMEM : 0;
}

int sb_pmsg_set_body(msg_t *msg, sip_t *sip, const char *body, size_t len)
{
	su_home_t *home = msg_home(msg);
	if (sip->sip_payload)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_payload);
	if (sip->sip_content_length)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_content_length);
	if (body && len) {
		sip_payload_t *pl = sip_payload_create(home, body, (isize_t)len);
		if (!pl || sip_header_insert(msg, sip, (sip_header_t *)pl) < 0)
			return -ENOMEM;
	}
	sip_content_length_t *cl = sip_content_length_create(home, (uint32_t)len);
	return sip_header_insert(msg, sip, (sip_header_t *)cl) < 0 ? -ENOMEM : 0;
}

bool sb_pmsg_has_sdp(const sip_t *sip)
{
	return sip->sip_payload && sip->sip_payload->pl_len > 0 &&
	       sip->sip_content_type && sip->sip_content_type->c_type &&
	       !g_ascii_strcasecmp(sip->sip_content_type->c_type, "application/sdp");
}

static void append_hdr(GString *s, su_home_t *home, const char *name,
		       const sip_header_t *h)
{
	char *v = sip_header_as_string(home, h);
	g_string_append_printf(s, "%s: %s\r\n", name, v ? v : "");
}

char *sb_pmsg_response_text(const sip_t *req, int status, const char *phrase,
			    const char *to_tag, const char *extra)
{
	return sb_pmsg_response_text_body(req, status, phrase, to_tag, extra, NULL);
}

char *sb_pmsg_response_text_body(const sip_t *req, int status, const char *phrase,
				 const char *to_tag, const char *extra,
				 const char *sdp)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "SIP/2.0 %d %s\r\n", status,
			       phrase ? phrase : sip_status_phrase(status));
	for (const sip_via_t *v = req->sip_via; v; v = v->v_next) {
		char *vs = sip_header_as_string(home, (const sip_header_t *)v);
		g_string_append_printf(s, "Via: %s\r\n", vs);
	}
	append_hdr(s, home, "From", (const sip_header_t *)req->sip_from);
	char *to = sip_header_as_string(home, (const sip_header_t *)req->sip_to);
	g_string_append_printf(s, "To: %s", to);
	if (status > 100 && !req->sip_to->a_tag)
		g_string_append_printf(s, ";tag=%s", to_tag ? to_tag : "sb-local");
	g_string_append(s, "\r\n");
	append_hdr(s, home, "Call-ID", (const sip_header_t *)req->sip_call_id);
	append_hdr(s, home, "CSeq", (const sip_header_t *)req->sip_cseq);
	if (extra)
		g_string_append(s, extra);
	g_string_append(s, "Server: sipbridge/" PACKAGE_VERSION "\r\n");
	if (sdp)
		g_string_append_printf(s, "Content-Type: application/sdp\r\n"
				       "Content-Length: %zu\r\n\r\n%s", strlen(sdp), sdp);
	else
		g_string_append(s, "Content-Length: 0\r\n\r\n");
	su_home_deinit(home);
	return g_string_free(s, FALSE);
}

void sb_pmsg_branch(char *buf, size_t size)
{
	unsigned char r[10];
	RAND_bytes(r, sizeof(r));
	g_snprintf(buf, size, "z9hG4bKsb%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
		   r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]);
}
