/* stun_pair (sans-I/O), against a peer made with libnice's STUN library
 * directly: the peer's checks are answered with a response the peer
 * accepts (integrity with our password, XOR-MAPPED-ADDRESS = its source)
 * and USE-CANDIDATE is reported; wrong credentials get nothing; our
 * consent request is one the peer accepts, its answer refreshes consent,
 * a response to anything else does not; consent expires after the
 * timeout; one request per interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stun/usages/ice.h>

#include "webrtc/stun_pair.h"

#define LUFRAG "LFRG"
#define LPWD "lpwd0123456789012345678"
#define RUFRAG "RFRG"
#define RPWD "rpwd0123456789012345678"

static const uint16_t known[] = {
	STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
	STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_FINGERPRINT,
	STUN_ATTRIBUTE_PRIORITY, STUN_ATTRIBUTE_USE_CANDIDATE,
	STUN_ATTRIBUTE_ICE_CONTROLLED, STUN_ATTRIBUTE_ICE_CONTROLLING,
	STUN_ATTRIBUTE_ERROR_CODE, 0
};

typedef struct fixture {
	StunAgent ours, peer;
	sb_stun_pair p;
	struct sockaddr_in src;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	sb_stun_agent_init(&f->ours);
	stun_agent_init(&f->peer, known, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
				STUN_AGENT_USAGE_USE_FINGERPRINT);
	sb_stun_pair_init(&f->p, &f->ours, LUFRAG, LPWD, RUFRAG, RPWD, false,
			  0);
	f->src = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_port = htons(40002),
				       .sin_addr.s_addr = htonl(0x7f000002) };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sb_stun_pair_clear(&f->p);
	free(f);
	return 0;
}

/* The peer's check: USERNAME "<ours>:<its>", keyed with our password. */
static size_t peer_check(fixture *f, const char *user, const char *pwd,
			 bool use, uint8_t *buf)
{
	StunMessage m;
	return stun_usage_ice_conncheck_create(
		&f->peer, &m, buf, SB_STUN_OUT_MAX, (const uint8_t *)user,
		strlen(user), (const uint8_t *)pwd, strlen(pwd), use, true,
		0x6e7fffff, 0x0102030405060708ULL, NULL,
		STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

static sb_stun_result feed(fixture *f, const uint8_t *buf, size_t len,
			   gint64 now, uint8_t *out, size_t *out_len,
			   bool *use)
{
	return sb_stun_pair_input(&f->p, buf, len, (struct sockaddr *)&f->src,
				  sizeof(f->src), now, out, out_len, use);
}

static void test_answers_checks(void **state)
{
	fixture *f = *state;
	uint8_t req[SB_STUN_OUT_MAX], out[SB_STUN_OUT_MAX];
	size_t out_len;
	bool use;

	size_t n = peer_check(f, LUFRAG ":" RUFRAG, LPWD, true, req);
	assert_true(n > 0);
	assert_int_equal(feed(f, req, n, 1, out, &out_len, &use),
			 SB_STUN_REPLY);
	assert_true(use);
	/* the peer matches the answer to its request and checks it */
	StunMessage resp;
	assert_int_equal(stun_agent_validate(&f->peer, &resp, out, out_len,
					     NULL, NULL),
			 STUN_VALIDATION_SUCCESS);
	struct sockaddr_storage mapped;
	socklen_t ml = sizeof(mapped);
	assert_int_equal(stun_usage_ice_conncheck_process(
				 &resp, &mapped, &ml,
				 STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
			 STUN_USAGE_ICE_RETURN_SUCCESS);
	struct sockaddr_in *m4 = (struct sockaddr_in *)&mapped;
	assert_int_equal(m4->sin_port, f->src.sin_port);
	assert_int_equal(m4->sin_addr.s_addr, f->src.sin_addr.s_addr);

	/* a consent check (no USE-CANDIDATE) */
	n = peer_check(f, LUFRAG ":" RUFRAG, LPWD, false, req);
	assert_int_equal(feed(f, req, n, 2, out, &out_len, &use),
			 SB_STUN_REPLY);
	assert_false(use);

	/* wrong password, someone else's ufrag, a truncated message */
	n = peer_check(f, LUFRAG ":" RUFRAG, "not-our-password-at-all", false,
		       req);
	assert_int_equal(feed(f, req, n, 3, out, &out_len, &use), SB_STUN_DROP);
	assert_int_equal(out_len, 0);
	n = peer_check(f, "XXXX:" RUFRAG, LPWD, false, req);
	assert_int_equal(feed(f, req, n, 4, out, &out_len, &use), SB_STUN_DROP);
	n = peer_check(f, LUFRAG ":" RUFRAG, LPWD, false, req);
	assert_int_equal(feed(f, req, n - 4, 5, out, &out_len, &use),
			 SB_STUN_DROP);
}

static bool peer_key(StunAgent *a, StunMessage *m, uint8_t *user,
		     uint16_t user_len, uint8_t **key, size_t *key_len,
		     void *data)
{
	(void)a;
	(void)m;
	/* our request names "<its ufrag>:<ours>" */
	if (user_len != strlen(RUFRAG ":" LUFRAG) ||
	    memcmp(user, RUFRAG ":" LUFRAG, user_len) != 0)
		return false;
	*key = (uint8_t *)data;
	*key_len = strlen(data);
	return true;
}

/* The peer answers our request (it validates it with its password). */
static size_t peer_answer(fixture *f, const uint8_t *req, size_t n,
			  uint8_t *out)
{
	StunMessage q, r;
	size_t len = SB_STUN_OUT_MAX;
	bool control = true;
	struct sockaddr_storage to;
	memcpy(&to, &f->src, sizeof(f->src));
	assert_int_equal(stun_agent_validate(&f->peer, &q, req, n, peer_key,
					     (void *)RPWD),
			 STUN_VALIDATION_SUCCESS);
	assert_int_equal(stun_usage_ice_conncheck_create_reply(
				 &f->peer, &q, &r, out, &len, &to,
				 sizeof(f->src), &control, 1,
				 STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
			 STUN_USAGE_ICE_RETURN_SUCCESS);
	return len;
}

static void test_consent(void **state)
{
	fixture *f = *state;
	uint8_t req[SB_STUN_OUT_MAX], resp[SB_STUN_OUT_MAX], out[SB_STUN_OUT_MAX];
	size_t out_len;
	bool use;
	gint64 t = SB_STUN_CONSENT_INTERVAL_US * 2;

	/* not before the (jittered) interval, then exactly one */
	assert_int_equal(sb_stun_pair_poll(&f->p, 1000, req), 0);
	size_t n = sb_stun_pair_poll(&f->p, t, req);
	assert_true(n > 0);
	assert_int_equal(sb_stun_pair_poll(&f->p, t + 1, req), 0);
	size_t rn = peer_answer(f, req, n, resp);
	assert_int_equal(feed(f, resp, rn, t + 10, out, &out_len, &use),
			 SB_STUN_CONSENT);
	assert_int_equal(f->p.last_consent, t + 10);
	/* the same answer again: nothing pending any more */
	assert_int_equal(feed(f, resp, rn, t + 20, out, &out_len, &use),
			 SB_STUN_DROP);

	/* an answer to an older request does not count */
	gint64 t2 = t + SB_STUN_CONSENT_INTERVAL_US * 2;
	n = sb_stun_pair_poll(&f->p, t2, req);
	size_t old = peer_answer(f, req, n, resp);
	gint64 t3 = t2 + SB_STUN_CONSENT_INTERVAL_US * 2;
	assert_true(sb_stun_pair_poll(&f->p, t3, req) > 0);
	assert_int_equal(feed(f, resp, old, t3 + 5, out, &out_len, &use),
			 SB_STUN_DROP);
	assert_int_equal(f->p.last_consent, t + 10);

	assert_false(sb_stun_pair_expired(&f->p, t + 10 +
					  SB_STUN_CONSENT_TIMEOUT_US));
	assert_true(sb_stun_pair_expired(&f->p, t + 11 +
					 SB_STUN_CONSENT_TIMEOUT_US));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers_checks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
