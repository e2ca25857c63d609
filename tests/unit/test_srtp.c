/* SRTP/SRTCP protect/unprotect round trips for both profiles, tamper and
 * replay detection, argument checks, and byte-for-byte agreement between
 * the OpenSSL AES-CM/HMAC-SHA1 (srtp_ossl.c) and libsrtp2's built-in
 * implementation, which runs in a child process (SB_SRTP_NSS=1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <glib.h>

#include "webrtc/dtls.h"
#include "webrtc/rtp.h"
#include "webrtc/rtcp.h"
#include "webrtc/srtp.h"
#include "webrtc/srtp_ossl.h"

typedef struct pair {
	sb_srtp *a, *b;
	size_t key_len;
} pair;

static void make_pair_seeded(pair *p, int profile, size_t key_len,
			     unsigned seed)
{
	uint8_t k1[SB_DTLS_KEY_MAX], k2[SB_DTLS_KEY_MAX];
	for (size_t i = 0; i < sizeof(k1); i++) {
		k1[i] = (uint8_t)(i * 7 + 1 + seed);
		k2[i] = (uint8_t)(i * 13 + 5 + seed);
	}
	assert_int_equal(sb_srtp_new(profile, k1, k2, key_len, &p->a), 0);
	assert_int_equal(sb_srtp_new(profile, k2, k1, key_len, &p->b), 0);
	p->key_len = key_len;
}

static void make_pair(pair *p, int profile, size_t key_len)
{
	make_pair_seeded(p, profile, key_len, 0);
}

static void free_pair(pair *p)
{
	sb_srtp_free(p->a);
	sb_srtp_free(p->b);
}

static size_t make_rtp(uint8_t *buf, uint16_t seq)
{
	uint8_t payload[100];
	memset(payload, 0x5a, sizeof(payload));
	sb_rtp_hdr h = { .pt = 111, .seq = seq, .ts = seq * 960u,
			 .ssrc = 0x01020304 };
	return (size_t)sb_rtp_build(buf, 1500, &h, payload, sizeof(payload));
}

static void roundtrip_rtp(int profile, size_t key_len, size_t tag)
{
	pair p;
	make_pair(&p, profile, key_len);
	uint8_t buf[1500], plain[1500];
	for (uint16_t seq = 1; seq < 20; seq++) {
		size_t n = make_rtp(buf, seq);
		memcpy(plain, buf, n);
		ssize_t c = sb_srtp_protect_rtp(p.a, buf, n, sizeof(buf));
		assert_int_equal(c, n + tag);
		assert_memory_not_equal(buf + 12, plain + 12, 100);
		ssize_t d = sb_srtp_unprotect_rtp(p.b, buf, (size_t)c);
		assert_int_equal(d, n);
		assert_memory_equal(buf, plain, n);
	}
	free_pair(&p);
}

static void test_rtp_cm(void **state)
{
	(void)state;
	roundtrip_rtp(SB_SRTP_AES128_CM_SHA1_80, 30, 10);
}

static void test_rtp_gcm(void **state)
{
	(void)state;
	roundtrip_rtp(SB_SRTP_AEAD_AES_128_GCM, 28, 16);
}

/* An RR from ssrc reporting on SSRC 9 up to seq, into a 1500-byte buf. */
static ssize_t rtcp_report(uint8_t *buf, uint32_t ssrc, uint32_t seq)
{
	sb_rtcp_block blk = { .ssrc = 9, .ext_max_seq = seq };
	return sb_rtcp_build_report(buf, 1500, ssrc, NULL, &blk, 1, "c");
}

static void roundtrip_rtcp(int profile, size_t key_len)
{
	pair p;
	make_pair(&p, profile, key_len);
	uint8_t buf[1500], plain[1500];
	ssize_t n = rtcp_report(buf, 0x77, 100);
	assert_true(n > 0);
	memcpy(plain, buf, (size_t)n);
	ssize_t c = sb_srtp_protect_rtcp(p.a, buf, (size_t)n, sizeof(buf));
	assert_true(c > n);
	/* b -> a direction uses the other key: must not authenticate */
	uint8_t copy[1500];
	memcpy(copy, buf, (size_t)c);
	assert_int_equal(sb_srtp_unprotect_rtcp(p.a, copy, (size_t)c),
			 -EACCES);
	ssize_t d = sb_srtp_unprotect_rtcp(p.b, buf, (size_t)c);
	assert_int_equal(d, n);
	assert_memory_equal(buf, plain, (size_t)n);
	sb_rtcp_info in;
	assert_int_equal(sb_rtcp_parse(buf, (size_t)d, &in), 0);
	assert_int_equal(in.rr_ssrc, 0x77);
	free_pair(&p);
}

static void test_rtcp_cm(void **state)
{
	(void)state;
	roundtrip_rtcp(SB_SRTP_AES128_CM_SHA1_80, 30);
}

static void test_rtcp_gcm(void **state)
{
	(void)state;
	roundtrip_rtcp(SB_SRTP_AEAD_AES_128_GCM, 28);
}

/* A cipher borrows its thread's OpenSSL context, keyed again for each
 * cipher in turn, until it is used twice within half a second
 * (srtp_ossl.c): each cipher's first packets borrow. Two calls' SRTCP
 * interleaved with each other and with SRTP must each decrypt with
 * their own keys only, borrowed or not. */
static void interleave(int profile, size_t key_len)
{
	pair p, q;
	make_pair_seeded(&p, profile, key_len, 0);
	make_pair_seeded(&q, profile, key_len, 3);
	for (uint32_t i = 1; i <= 6; i++) {
		uint8_t bp[1500], bq[1500], plain_p[1500], plain_q[1500], r[1500];
		ssize_t np = rtcp_report(bp, 0x77, i), nq = rtcp_report(bq, 0x88, i);
		memcpy(plain_p, bp, (size_t)np);
		memcpy(plain_q, bq, (size_t)nq);
		ssize_t cp = sb_srtp_protect_rtcp(p.a, bp, (size_t)np, 1500);
		ssize_t cq = sb_srtp_protect_rtcp(q.a, bq, (size_t)nq, 1500);
		assert_true(cp > np && cq > nq);
		size_t nr = make_rtp(r, (uint16_t)i);
		ssize_t cr = sb_srtp_protect_rtp(p.a, r, nr, sizeof(r));
		assert_true(cr > (ssize_t)nr);
		/* the other call's keys refuse each packet */
		uint8_t copy[1500];
		memcpy(copy, bp, (size_t)cp);
		assert_int_equal(sb_srtp_unprotect_rtcp(q.b, copy, (size_t)cp),
				 -EACCES);
		assert_int_equal(sb_srtp_unprotect_rtcp(q.b, bq, (size_t)cq), nq);
		assert_int_equal(sb_srtp_unprotect_rtp(p.b, r, (size_t)cr), nr);
		assert_int_equal(sb_srtp_unprotect_rtcp(p.b, bp, (size_t)cp), np);
		assert_memory_equal(bp, plain_p, (size_t)np);
		assert_memory_equal(bq, plain_q, (size_t)nq);
	}
	free_pair(&p);
	free_pair(&q);
}

static void test_rtcp_shared_ctx(void **state)
{
	(void)state;
	assert_int_equal(sb_srtp_global_init(), 0);
	int before = sb_srtp_ossl_borrowed_uses();
	interleave(SB_SRTP_AES128_CM_SHA1_80, 30);
	interleave(SB_SRTP_AEAD_AES_128_GCM, 28);
	/* at least the first SRTCP packet of each of the four calls' eight
	 * SRTCP ciphers, and their SRTP ciphers' first */
	assert_true(sb_srtp_ossl_borrowed_uses() - before >= 12);
}

static void test_tamper_and_replay(void **state)
{
	(void)state;
	pair p;
	make_pair(&p, SB_SRTP_AES128_CM_SHA1_80, 30);
	uint8_t buf[1500], copy[1500];
	size_t n = make_rtp(buf, 5);
	ssize_t c = sb_srtp_protect_rtp(p.a, buf, n, sizeof(buf));
	memcpy(copy, buf, (size_t)c);
	copy[20] ^= 1;
	assert_int_equal(sb_srtp_unprotect_rtp(p.b, copy, (size_t)c),
			 -EACCES);
	memcpy(copy, buf, (size_t)c);
	assert_int_equal(sb_srtp_unprotect_rtp(p.b, copy, (size_t)c),
			 (ssize_t)n);
	memcpy(copy, buf, (size_t)c);
	assert_int_equal(sb_srtp_unprotect_rtp(p.b, copy, (size_t)c),
			 -EALREADY);
	assert_int_equal(sb_srtp_unprotect_rtp(p.b, copy, 5), -EBADMSG);
	free_pair(&p);
}

static void test_args(void **state)
{
	(void)state;
	uint8_t k[SB_DTLS_KEY_MAX] = { 1 };
	sb_srtp *s = NULL;
	assert_int_equal(sb_srtp_new(SB_SRTP_AES128_CM_SHA1_80, k, k, 28, &s),
			 -EINVAL);
	assert_int_equal(sb_srtp_new(2, k, k, 30, &s), -ENOTSUP);
	assert_int_equal(sb_srtp_new(SB_SRTP_AES128_CM_SHA1_80, k, k, 30, &s),
			 0);
	uint8_t buf[200];
	size_t n = make_rtp(buf, 1);
	assert_int_equal(sb_srtp_protect_rtp(s, buf, n, n + 10), -ENOSPC);
	assert_int_equal(sb_srtp_protect_rtcp(s, buf, n, n), -ENOSPC);
	sb_srtp_free(s);
	sb_srtp_free(NULL);
	assert_int_equal(sb_srtp_global_init(), 0);
}

/* Packets both implementations protect, for each profile: RTP across a
 * sequence number wrap (so the rollover counter enters the IV and the
 * tag), then RTCP. */
#define CROSS_SEQ0 65530
#define CROSS_RTP 14
#define CROSS_RTCP 3
#define CROSS_N (CROSS_RTP + CROSS_RTCP)

static const struct { int profile; size_t key_len; } cross_profiles[] = {
	{ SB_SRTP_AES128_CM_SHA1_80, 30 },
	{ SB_SRTP_AEAD_AES_128_GCM, 28 },
};

static size_t cross_packet(int i, uint8_t *buf, sb_srtp *s)
{
	ssize_t n;
	if (i < CROSS_RTP) {
		n = (ssize_t)make_rtp(buf, (uint16_t)(CROSS_SEQ0 + i));
		return (size_t)sb_srtp_protect_rtp(s, buf, (size_t)n, 1500);
	}
	n = rtcp_report(buf, 0x77, (uint32_t)i);
	return (size_t)sb_srtp_protect_rtcp(s, buf, (size_t)n, 1500);
}

/* The child's side: one hex line per protected packet. */
static int cross_emit(void)
{
	for (size_t p = 0; p < G_N_ELEMENTS(cross_profiles); p++) {
		pair pr;
		make_pair(&pr, cross_profiles[p].profile, cross_profiles[p].key_len);
		for (int i = 0; i < CROSS_N; i++) {
			uint8_t buf[1500];
			size_t n = cross_packet(i, buf, pr.a);
			for (size_t k = 0; k < n; k++)
				printf("%02x", buf[k]);
			printf("\n");
		}
		free_pair(&pr);
	}
	return 0;
}

static const char *self_path;

static void test_cross_backend(void **state)
{
	(void)state;
	char *argv[] = { (char *)self_path, NULL };
	char **env = g_get_environ();
	env = g_environ_setenv(env, "SB_SRTP_NSS", "1", TRUE);
	env = g_environ_setenv(env, "SB_TEST_SRTP_EMIT", "1", TRUE);
	char *out = NULL;
	int status = -1;
	assert_true(g_spawn_sync(NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL,
				 &out, NULL, &status, NULL));
	g_strfreev(env);
	assert_true(g_spawn_check_wait_status(status, NULL));
	char **lines = g_strsplit(out, "\n", -1);

	/* otherwise both sides would be libsrtp2's and agree trivially */
	assert_int_equal(sb_srtp_global_init(), 0);
	assert_string_equal(sb_srtp_crypto_name(), "OpenSSL");
	assert_true(g_strv_length(lines) >= G_N_ELEMENTS(cross_profiles) * CROSS_N);
	for (size_t pi = 0; pi < G_N_ELEMENTS(cross_profiles); pi++) {
		pair p;
		make_pair(&p, cross_profiles[pi].profile, cross_profiles[pi].key_len);
		for (int i = 0; i < CROSS_N; i++) {
			const char *line = lines[pi * CROSS_N + (size_t)i];
			uint8_t mine[1500], theirs[1500];
			size_t n = cross_packet(i, mine, p.a);
			size_t len = strlen(line) / 2;
			assert_int_equal(len, n);
			for (size_t k = 0; k < len; k++)
				theirs[k] = (uint8_t)g_ascii_strtoull(
					(char[3]){ line[2 * k], line[2 * k + 1], 0 },
					NULL, 16);
			assert_memory_equal(mine, theirs, n);
			/* the built-in's packet decrypts and authenticates here */
			ssize_t d = i < CROSS_RTP ?
				sb_srtp_unprotect_rtp(p.b, theirs, n) :
				sb_srtp_unprotect_rtcp(p.b, theirs, n);
			assert_true(d > 0 && (size_t)d < n);
		}
		free_pair(&p);
	}
	g_strfreev(lines);
	g_free(out);
}

int main(int argc, char **argv)
{
	(void)argc;
	self_path = argv[0];
	if (g_getenv("SB_TEST_SRTP_EMIT"))
		return cross_emit();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtp_cm),
		cmocka_unit_test(test_rtp_gcm),
		cmocka_unit_test(test_rtcp_cm),
		cmocka_unit_test(test_rtcp_gcm),
		cmocka_unit_test(test_rtcp_shared_ctx),
		cmocka_unit_test(test_tamper_and_replay),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_cross_backend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
