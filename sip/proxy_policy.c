/* Who may connect and where calls may go: the WebSocket upgrade gate
 * (Origin allow-list, HMAC tokens, connections per address), message
 * rate per connection, the dial plan against toll fraud, and concurrent
 * call limits. The rules live in sip/auth_token.c, sip/dialplan.c and
 * sip/limits.c; this file applies them and logs refusals through
 * sip/security_log.c. Signalling thread only. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip_header.h>

#include "common/log.h"
#include "sip/proxy_internal.h"
#include "sip/security_log.h"

void sb_proxy_set_security(sb_proxy *p, const sb_auth_config *auth,
			   const sb_limits_config *limits, const sb_dialplan *dialplan)
{
	p->auth = auth;
	p->dialplan = dialplan;
	if (!p->limits)
		p->limits = sb_limits_new(limits);
	else
		sb_limits_set_config(p->limits, limits);
}

const char *sb_proxy_ws_upgrade(const sb_ws_upgrade *up, char *user, void *proxy)
{
	sb_proxy *p = proxy;
	if (p->auth && !sb_auth_origin_allowed((const char *const *)p->auth->allowed_origins,
					       up->origin)) {
		sb_seclog_ws_refused(up->ip, "origin-not-allowed", up->origin, NULL);
		return "origin-not-allowed";
	}
	if (p->auth && p->auth->keys) {
		sb_auth_identity id;
		sb_auth_token_result r = SB_AUTH_TOKEN_MISSING;
		if (up->user_arg && up->token_arg)
			r = sb_auth_token_verify(p->auth->keys, up->user_arg, up->token_arg,
						 (int64_t)time(NULL), &id);
		if (r != SB_AUTH_TOKEN_OK) {
			const char *why = sb_auth_token_result_str(r);
			sb_seclog_ws_refused(up->ip, why, up->origin, NULL);
			return why;
		}
		g_strlcpy(user, id.user, 65);
	}
	if (p->limits && sb_limits_ws_open(p->limits, up->ip) != SB_LIMIT_NONE) {
		sb_seclog_ws_refused(up->ip, "ws-per-ip", up->origin, user[0] ? user : NULL);
		return "ws-per-ip";
	}
	return NULL;
}

void sb_proxy_policy_ws_closed(sb_proxy *p, sb_flow *f)
{
	if (p->limits)
		sb_limits_ws_close(p->limits, sb_ws_conn_peer_ip(f->conn));
}

bool sb_proxy_policy_rate(sb_proxy *p, sb_flow *f)
{
	if (!p->limits)
		return true;
	gint64 now = g_get_monotonic_time();
	if (!f->rate_init) {
		sb_rate_init(&f->rate, p->limits, now);
		f->rate_init = true;
	}
	if (sb_rate_take(&f->rate, p->limits, now) == SB_LIMIT_NONE)
		return true;
	/* One line per second at most: the log must not become the flood. */
	if (now - f->rate_logged_us > G_USEC_PER_SEC) {
		f->rate_logged_us = now;
		const char *u = sb_ws_conn_user(f->conn);
		sb_seclog_rate_limited(sb_ws_conn_peer_ip(f->conn), *u ? u : NULL,
				       sb_ws_conn_id(f->conn));
	}
	return false;
}

/* The key calls are counted under: the token's user, else the address. */
static char *call_key(const sb_flow *f)
{
	if (!f)
		return NULL;
	const char *u = sb_ws_conn_user(f->conn);
	return *u ? g_strdup(u) : g_strdup_printf("ip:%s", sb_ws_conn_peer_ip(f->conn));
}

int sb_proxy_policy_call(sb_proxy *p, sb_flow *f, const sip_t *sip, char **key,
			 const char **phrase)
{
	*key = NULL;
	const char *ip = f ? sb_ws_conn_peer_ip(f->conn) : NULL;
	const char *user = f && *sb_ws_conn_user(f->conn) ? sb_ws_conn_user(f->conn) : NULL;
	if (f && p->dialplan) {
		const char *dialled = sip->sip_request->rq_url->url_user;
		sb_dialplan_verdict v;
		sb_dialplan_decide(p->dialplan, user, dialled ? dialled : "", &v);
		if (!v.allow) {
			sb_seclog_call_denied(ip, user, v.target, v.rule);
			*phrase = "Forbidden (destination not allowed by the dial plan)";
			return 403;
		}
	}
	if (!p->limits)
		return 0;
	g_autofree char *k = call_key(f);
	sb_limit l = sb_limits_call_acquire(p->limits, k);
	if (l != SB_LIMIT_NONE) {
		const sb_limits_config *lc = sb_limits_config_of(p->limits);
		sb_seclog_limit_hit(ip, sb_limit_name(l), user,
				    l == SB_LIMIT_CALLS_USER ? lc->calls_per_user :
				    l == SB_LIMIT_CALLS_IP ? lc->calls_per_ip : lc->calls_total);
		*phrase = l == SB_LIMIT_CALLS_USER ? "Service Unavailable (too many calls for this user)" :
			  l == SB_LIMIT_CALLS_IP ? "Service Unavailable (too many calls from this address)" :
						   "Service Unavailable (gateway at its call limit)";
		return 503;
	}
	*key = g_steal_pointer(&k);
	if (!*key)
		*key = g_strdup("");
	return 0;
}

void sb_proxy_policy_call_end(sb_proxy *p, sb_dialog *d)
{
	if (p->limits && d->limit_key) {
		sb_limits_call_release(p->limits, *d->limit_key ? d->limit_key : NULL);
		g_clear_pointer(&d->limit_key, g_free);
	}
}

/* A refused SDP is a security event only when a browser sent it in a
 * request (top Via over WS/WSS): an oversized answer from the PBX must
 * not get the PBX banned by fail2ban. */
static void log_bad_sdp(const sb_proxy *p, const sip_t *sip, const char *why)
{
	const char *proto = sip->sip_via ? sip->sip_via->v_protocol : NULL;
	if (!sip->sip_request || !proto || g_ascii_strncasecmp(proto, "SIP/2.0/WS", 10))
		return;
	const sb_dialog *d = sip->sip_call_id
		? g_hash_table_lookup(p->dialogs, sip->sip_call_id->i_id) : NULL;
	if (!d || !d->flow)
		return;
	const char *u = sb_ws_conn_user(d->flow->conn);
	sb_seclog_bad_message(sb_ws_conn_peer_ip(d->flow->conn), why, *u ? u : NULL,
			      sb_ws_conn_id(d->flow->conn));
}

bool sb_proxy_policy_sdp(const sb_proxy *p, const sip_t *sip, const char **why)
{
	if (!p->limits || !sip->sip_payload)
		return true;
	if (sb_limits_check_sdp(sb_limits_config_of(p->limits), sip->sip_payload->pl_data,
				sip->sip_payload->pl_len, why))
		return true;
	log_bad_sdp(p, sip, *why);
	return false;
}

/* An upstream 401/407 to a request that carried credentials is a failed
 * login (the first challenge of every REGISTER is not). */
void sb_proxy_policy_auth_failed(const sb_ctxn *t, const sip_t *resp)
{
	int st = resp->sip_status->st_status;
	if ((st != 401 && st != 407) || !t->had_credentials)
		return;
	const char *realm = NULL;
	if (resp->sip_www_authenticate)
		realm = msg_params_find(resp->sip_www_authenticate->au_params, "realm=");
	else if (resp->sip_proxy_authenticate)
		realm = msg_params_find(resp->sip_proxy_authenticate->au_params, "realm=");
	sb_seclog_auth_failed(sb_ws_conn_peer_ip(t->flow->conn), st, t->auth_user,
			      sip_method_name(t->method, "?"), realm);
}
