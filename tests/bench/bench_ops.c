/* Raw cost of the per-packet operations a relayed call is made of, in
 * microseconds of process CPU time: SRTP protect and unprotect of a 20 ms
 * PCMU packet (172 bytes) for both DTLS-SRTP profiles, and one loopback
 * UDP sendto + recv of the same packet. With SB_SRTP_NSS=1 in the
 * environment the SRTP figures are libsrtp2's built-in (NSS) crypto,
 * otherwise OpenSSL's (webrtc/srtp_ossl.c); run_compare.sh runs it both
 * ways. Single thread; bounded (a fixed number of operations). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "webrtc/dtls.h"
#include "webrtc/rtp.h"
#include "webrtc/srtp.h"
#include "tests/bench/cpu_time.h"

#define SRTP_OPS 200000
#define UDP_OPS 50000
#define PAYLOAD 160

static size_t make_rtp(uint8_t *buf, uint16_t seq)
{
	uint8_t payload[PAYLOAD];
	memset(payload, 0xd5, sizeof(payload));
	sb_rtp_hdr h = { .pt = 0, .seq = seq, .ts = seq * 160u,
			 .ssrc = 0x01020304 };
	return (size_t)sb_rtp_build(buf, 1500, &h, payload, sizeof(payload));
}

/* All protects, then all unprotects of the same packets, so the clock is
 * read at the loop ends only. */
static int bench_srtp(const char *label, int profile, size_t key_len)
{
	static uint8_t pkts[SRTP_OPS][PAYLOAD + 12 + SB_SRTP_TRAILER];
	static size_t lens[SRTP_OPS];
	uint8_t key[SB_DTLS_KEY_MAX];
	sb_srtp *s = NULL;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 11 + 3);
	if (sb_srtp_new(profile, key, key, key_len, &s) < 0) {
		fprintf(stderr, "%s: sb_srtp_new failed\n", label);
		return 1;
	}
	for (int i = 0; i < SRTP_OPS; i++)
		lens[i] = make_rtp(pkts[i], (uint16_t)i);
	double t0 = sb_bench_cpu_us();
	for (int i = 0; i < SRTP_OPS; i++) {
		ssize_t n = sb_srtp_protect_rtp(s, pkts[i], lens[i],
						sizeof(pkts[i]));
		if (n < 0)
			return 1;
		lens[i] = (size_t)n;
	}
	double t1 = sb_bench_cpu_us();
	int bad = 0;
	for (int i = 0; i < SRTP_OPS; i++)
		bad += sb_srtp_unprotect_rtp(s, pkts[i], lens[i]) < 0;
	double t2 = sb_bench_cpu_us();
	sb_srtp_free(s);
	if (bad) {
		fprintf(stderr, "%s: %d packets failed to unprotect\n", label, bad);
		return 1;
	}
	printf("srtp %-22s (%s) protect %6.3f us  unprotect %6.3f us\n", label,
	       sb_srtp_crypto_name(), (t1 - t0) / SRTP_OPS,
	       (t2 - t1) / SRTP_OPS);
	return 0;
}

static int bench_udp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t buf[1500];
	size_t n = make_rtp(buf, 1);

	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(rx, (struct sockaddr *)&a, &alen) < 0) {
		perror("udp socket");
		return 1;
	}
	double t0 = sb_bench_cpu_us();
	for (int i = 0; i < UDP_OPS; i++) {
		if (sendto(tx, buf, n, 0, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    recv(rx, buf, sizeof(buf), 0) < 0) {
			perror("udp");
			return 1;
		}
	}
	double t1 = sb_bench_cpu_us();
	close(rx);
	close(tx);
	printf("udp loopback sendto+recv %zu bytes: %6.3f us per packet\n", n,
	       (t1 - t0) / UDP_OPS);
	return 0;
}

int main(void)
{
	if (sb_srtp_global_init() < 0) {
		fprintf(stderr, "libsrtp2 init failed\n");
		return 1;
	}
	int r = bench_srtp("AES_CM_128_HMAC_SHA1_80", SB_SRTP_AES128_CM_SHA1_80, 30);
	r |= bench_srtp("AEAD_AES_128_GCM", SB_SRTP_AEAD_AES_128_GCM, 28);
	r |= bench_udp();
	return r;
}
