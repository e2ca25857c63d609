/* Binding answers and consent requests on a selected pair (see
 * stun_pair.h). Everything about the wire format is libnice's STUN
 * library; this file decides what to accept and when to ask. */
#include "webrtc/stun_pair.h"

#include <string.h>
#include <stun/usages/ice.h>

/* The attributes ICE checks carry (RFC 8445 §16.1, RFC 5389); anything
 * else that is comprehension-required makes the request invalid. */
static const uint16_t known_attrs[] = {
	STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
	STUN_ATTRIBUTE_ERROR_CODE, STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
	STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_FINGERPRINT,
	STUN_ATTRIBUTE_PRIORITY, STUN_ATTRIBUTE_USE_CANDIDATE,
	STUN_ATTRIBUTE_ICE_CONTROLLED, STUN_ATTRIBUTE_ICE_CONTROLLING, 0
};

void sb_stun_agent_init(StunAgent *agent)
{
	stun_agent_init(agent, known_attrs, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
				STUN_AGENT_USAGE_USE_FINGERPRINT);
}

/* RFC 8445 §5.1.2.1 priority of a peer-reflexive candidate (type
 * preference 110), component 1: what our checks announce. */
#define PRFLX_PRIORITY ((110u << 24) | (65535u << 8) | 255u)

static gint64 jittered(const sb_stun_pair *p)
{
	/* RFC 7675 §5.1: uniformly within 0.8..1.2 of the interval */
	gint64 span = p->interval_us * 2 / 5;
	return p->interval_us * 4 / 5 +
	       (span ? (gint64)g_random_int_range(0, (gint32)MIN(span, G_MAXINT32))
		     : 0);
}

void sb_stun_pair_init(sb_stun_pair *p, StunAgent *agent,
		       const char *lufrag, const char *lpwd,
		       const char *rufrag, const char *rpwd,
		       bool controlling, gint64 now)
{
	*p = (sb_stun_pair){
		.agent = agent,
		.lufrag = g_strdup(lufrag),
		.lpwd = g_strdup(lpwd),
		.rufrag = g_strdup(rufrag),
		.rpwd = g_strdup(rpwd),
		.controlling = controlling,
		.tie = ((uint64_t)g_random_int() << 32) | g_random_int(),
		.priority = PRFLX_PRIORITY,
		.last_consent = now,
		.interval_us = SB_STUN_CONSENT_INTERVAL_US,
		.timeout_us = SB_STUN_CONSENT_TIMEOUT_US,
	};
	p->next_request = now + jittered(p);
}

static void forget_pending(sb_stun_pair *p)
{
	if (p->pending)
		stun_agent_forget_transaction(p->agent, p->pending_id);
	p->pending = false;
}

void sb_stun_pair_clear(sb_stun_pair *p)
{
	forget_pending(p);
	g_free(p->lufrag);
	g_free(p->lpwd);
	g_free(p->rufrag);
	g_free(p->rpwd);
	memset(p, 0, sizeof(*p));
}

/* A request's USERNAME is "<our ufrag>:<theirs>" (RFC 8445 §7.2.2);
 * its MESSAGE-INTEGRITY is keyed with our password. */
static bool check_username(StunAgent *agent, StunMessage *msg,
			   uint8_t *user, uint16_t user_len, uint8_t **key,
			   size_t *key_len, void *data)
{
	sb_stun_pair *p = data;
	size_t n = strlen(p->lufrag);
	(void)agent;
	(void)msg;

	if (user_len <= n || memcmp(user, p->lufrag, n) != 0 || user[n] != ':')
		return false;
	*key = (uint8_t *)p->lpwd;
	*key_len = strlen(p->lpwd);
	return true;
}

static sb_stun_result answer(sb_stun_pair *p, StunMessage *req,
			     const struct sockaddr *src, socklen_t srclen,
			     uint8_t *out, size_t *out_len,
			     bool *use_candidate)
{
	StunMessage reply;
	size_t len = SB_STUN_OUT_MAX;
	bool control = p->controlling;
	struct sockaddr_storage from;

	if (srclen > sizeof(from))
		return SB_STUN_DROP;
	memcpy(&from, src, srclen);
	StunUsageIceReturn r = stun_usage_ice_conncheck_create_reply(
		p->agent, req, &reply, out, &len, &from, srclen, &control,
		p->tie, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
	if ((r != STUN_USAGE_ICE_RETURN_SUCCESS &&
	     r != STUN_USAGE_ICE_RETURN_ROLE_CONFLICT) || len == 0)
		return SB_STUN_DROP;
	/* A role conflict this late would be a confused peer: answer as
	 * the library says but keep the role ICE settled on. */
	*out_len = len;
	*use_candidate = stun_usage_ice_conncheck_use_candidate(req);
	return SB_STUN_REPLY;
}

static sb_stun_result take_response(sb_stun_pair *p, StunMessage *msg,
				    gint64 now)
{
	StunTransactionId id;
	struct sockaddr_storage mapped;
	socklen_t mapped_len = sizeof(mapped);

	stun_message_id(msg, id);
	if (!p->pending || memcmp(id, p->pending_id, sizeof(id)) != 0)
		return SB_STUN_DROP;
	if (stun_usage_ice_conncheck_process(
		    msg, &mapped, &mapped_len,
		    STUN_USAGE_ICE_COMPATIBILITY_RFC5245) !=
	    STUN_USAGE_ICE_RETURN_SUCCESS)
		return SB_STUN_DROP;
	p->pending = false; /* validation released the agent's slot */
	p->last_consent = now;
	return SB_STUN_CONSENT;
}

sb_stun_result sb_stun_pair_input(sb_stun_pair *p, const uint8_t *buf,
				  size_t len, const struct sockaddr *src,
				  socklen_t srclen, gint64 now, uint8_t *out,
				  size_t *out_len, bool *use_candidate)
{
	StunMessage msg;

	*out_len = 0;
	*use_candidate = false;
	/* A response is matched on its transaction id before the agent
	 * looks at it: the agent is shared, and only this pair's own
	 * request may refresh this pair's consent. */
	if (len >= STUN_MESSAGE_HEADER_LENGTH && (buf[0] & 0x01) &&
	    (!p->pending ||
	     memcmp(buf + STUN_MESSAGE_TRANS_ID_POS, p->pending_id,
		    sizeof(p->pending_id)) != 0))
		return SB_STUN_DROP;
	StunValidationStatus v = stun_agent_validate(
		p->agent, &msg, buf, len, check_username, p);
	if (v != STUN_VALIDATION_SUCCESS)
		return SB_STUN_DROP;
	if (stun_message_get_method(&msg) != STUN_BINDING)
		return SB_STUN_DROP;
	switch (stun_message_get_class(&msg)) {
	case STUN_REQUEST:
		return answer(p, &msg, src, srclen, out, out_len,
			      use_candidate);
	case STUN_RESPONSE:
		return take_response(p, &msg, now);
	default:
		return SB_STUN_DROP;
	}
}

size_t sb_stun_pair_poll(sb_stun_pair *p, gint64 now, uint8_t *out)
{
	StunMessage msg;

	if (now < p->next_request)
		return 0;
	p->next_request = now + jittered(p);
	/* at most one outstanding: an unanswered one is simply lost
	 * (RFC 7675 §5.1 does not retransmit consent requests) */
	forget_pending(p);
	char *user = g_strconcat(p->rufrag, ":", p->lufrag, NULL);
	size_t len = stun_usage_ice_conncheck_create(
		p->agent, &msg, out, SB_STUN_OUT_MAX, (const uint8_t *)user,
		strlen(user), (const uint8_t *)p->rpwd, strlen(p->rpwd), false,
		p->controlling, p->priority, p->tie, NULL,
		STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
	g_free(user);
	if (len == 0)
		return 0;
	stun_message_id(&msg, p->pending_id);
	p->pending = true;
	return len;
}

bool sb_stun_pair_expired(const sb_stun_pair *p, gint64 now)
{
	return now - p->last_consent > p->timeout_us;
}
