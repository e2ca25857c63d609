/* DTLS-SRTP handshake (RFC 5763/5764) with OpenSSL DTLS 1.2 on memory
 * BIOs: sans-I/O. Datagrams come in through sb_dtls_handle_datagram and
 * go out through ops->send, already split at record boundaries into
 * datagrams of at most the MTU. The retransmit timer runs on the
 * GMainContext given at creation. The peer certificate must match the
 * SHA-256 fingerprint from its SDP. On success the exporter output is
 * handed over as SRTP master key+salt for both directions.
 *
 * Thread: everything, including every callback, runs on the thread that
 * owns ctx (the media worker). Callbacks run synchronously inside
 * sb_dtls_start, sb_dtls_handle_datagram or the timer; they may call
 * sb_dtls_close but must not free the object (free it later, from an
 * idle source or after the call returns). */
#ifndef SB_WEBRTC_DTLS_H
#define SB_WEBRTC_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "webrtc/cert.h"

/* libsrtp2 / RFC 5764 §4.1.2 profile ids (same numbers as OpenSSL's). */
#define SB_SRTP_AES128_CM_SHA1_80 0x0001
#define SB_SRTP_AEAD_AES_128_GCM 0x0007

#define SB_DTLS_KEY_MAX 64 /* master key + salt, largest profile */
#define SB_DTLS_DEFAULT_MTU 1200

typedef enum {
	SB_DTLS_CLIENT = 0,     /* we answered/offered a=setup:active */
	SB_DTLS_SERVER,         /* a=setup:passive */
} sb_dtls_role;

typedef enum {
	SB_DTLS_STATE_NEW = 0,
	SB_DTLS_STATE_HANDSHAKING,
	SB_DTLS_STATE_CONNECTED,
	SB_DTLS_STATE_FAILED,
	SB_DTLS_STATE_CLOSED,   /* sb_dtls_close, or close_notify received */
} sb_dtls_state;

/* SRTP keying derived from the handshake (RFC 5764 §4.2): key||salt for
 * what we send (local) and what we receive (remote). */
typedef struct sb_dtls_keys {
	int profile;                    /* SB_SRTP_* */
	size_t len;                     /* bytes used in each array */
	uint8_t local[SB_DTLS_KEY_MAX];
	uint8_t remote[SB_DTLS_KEY_MAX];
} sb_dtls_keys;

typedef struct sb_dtls_ops {
	/* One datagram to put on the wire. Required. */
	void (*send)(void *user_data, const uint8_t *buf, size_t len);
	/* Handshake done, keys valid for the duration of the call. */
	void (*connected)(void *user_data, const sb_dtls_keys *keys);
	/* Handshake failed; reason is a short text ("fingerprint mismatch",
	 * "no SRTP profile", an OpenSSL error string). err is -errno. */
	void (*failed)(void *user_data, int err, const char *reason);
	/* The peer sent close_notify. */
	void (*closed)(void *user_data);
} sb_dtls_ops;

typedef struct sb_dtls_params {
	sb_dtls_role role;
	const char *remote_fp;      /* "AB:CD:..." sha-256, case-insensitive */
	const char *srtp_profiles;  /* OpenSSL list; NULL = GCM then CM_80 */
	unsigned mtu;               /* 0 = SB_DTLS_DEFAULT_MTU */
} sb_dtls_params;

typedef struct sb_dtls sb_dtls;

/* Create an endpoint. cert is referenced; strings are copied; ops is
 * borrowed (usually static) and must outlive the object. Returns 0, or
 * -EINVAL (no fingerprint) / -EIO (OpenSSL setup failed). */
int sb_dtls_new(sb_cert *cert, const sb_dtls_params *p, GMainContext *ctx,
		const sb_dtls_ops *ops, void *user_data, sb_dtls **out);

/* Start: a client sends its ClientHello; a server just waits for one.
 * Returns 0 or -EALREADY. */
int sb_dtls_start(sb_dtls *d);

/* Feed one received DTLS datagram. Returns 0, or -EPROTO when this
 * datagram made the handshake fail (ops->failed was called too),
 * or -ESHUTDOWN when the endpoint is closed or failed already. */
int sb_dtls_handle_datagram(sb_dtls *d, const uint8_t *buf, size_t len);

sb_dtls_state sb_dtls_get_state(const sb_dtls *d);
sb_dtls_role sb_dtls_get_role(const sb_dtls *d);

/* Idempotent: send close_notify if connected, stop the timer, clear the
 * callbacks. No callback fires after it returns. */
void sb_dtls_close(sb_dtls *d);

/* Once the peer has shown it holds the keys (authenticated SRTP or SRTCP
 * from it arrived), no handshake message can still need an answer: free
 * OpenSSL's per-connection state (the SSL object, its buffers, the
 * handshake transcript, the peer's certificate; tens of KiB per call).
 * After it, DTLS datagrams are ignored and sb_dtls_close sends no
 * close_notify; the state stays CONNECTED. Only in CONNECTED;
 * idempotent. */
void sb_dtls_retire(sb_dtls *d);
bool sb_dtls_is_retired(const sb_dtls *d);

/* Close and release. NULL is a no-op. */
void sb_dtls_free(sb_dtls *d);

#endif
