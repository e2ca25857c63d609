/* libsrtp2 wrapper: one SRTP context pair (outbound + inbound) built from
 * DTLS-SRTP exporter keys or SDES keys; protect/unprotect RTP and RTCP in
 * place. Replay protection is on (window 1024). libsrtp2's own ownership
 * rules live here: contexts are freed with srtp_dealloc only.
 *
 * Thread: sb_srtp_global_init from any thread (once-guarded); an sb_srtp
 * belongs to its leg's worker thread. */
#ifndef SB_WEBRTC_SRTP_H
#define SB_WEBRTC_SRTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes a buffer must have free after the packet for protect (tag + MKI):
 * libsrtp2's SRTP_MAX_TRAILER_LEN, repeated so callers need not include
 * <srtp2/srtp.h>; srtp.c checks the two agree. */
#define SB_SRTP_TRAILER 144

typedef struct sb_srtp sb_srtp;

/* Initialise libsrtp2 once per process (10-65 ms, notes §2). Returns 0 or
 * -EIO. Safe to call repeatedly and from several threads. */
int sb_srtp_global_init(void);

/* Who does AES-CM, AES-GCM and HMAC-SHA1 after sb_srtp_global_init: "OpenSSL"
 * (srtp_ossl.c, the default) or "libsrtp2" (its built-in crypto, NSS on
 * Debian: SB_SRTP_NSS=1 in the environment, or OpenSSL's was refused). */
const char *sb_srtp_crypto_name(void);

/* profile is SB_SRTP_AES128_CM_SHA1_80 or SB_SRTP_AEAD_AES_128_GCM (see
 * webrtc/dtls.h); tx_key/rx_key are master key||salt of key_len bytes,
 * copied. Returns 0, -ENOTSUP (unknown profile), -EINVAL (key length does
 * not fit the profile) or -EIO (libsrtp refused). */
int sb_srtp_new(int profile, const uint8_t *tx_key, const uint8_t *rx_key,
		size_t key_len, sb_srtp **out);

/* Protect in place: buf holds len bytes of plain RTP/RTCP and has room for
 * cap bytes; cap - len must be >= SB_SRTP_TRAILER. Returns the new length
 * or -ENOSPC / -EIO. */
ssize_t sb_srtp_protect_rtp(sb_srtp *s, uint8_t *buf, size_t len,
			    size_t cap);
ssize_t sb_srtp_protect_rtcp(sb_srtp *s, uint8_t *buf, size_t len,
			     size_t cap);

/* Unprotect in place. Returns the plain length, -EACCES (authentication
 * failed), -EALREADY (replayed packet) or -EBADMSG (malformed). */
ssize_t sb_srtp_unprotect_rtp(sb_srtp *s, uint8_t *buf, size_t len);
ssize_t sb_srtp_unprotect_rtcp(sb_srtp *s, uint8_t *buf, size_t len);

/* NULL is a no-op. */
void sb_srtp_free(sb_srtp *s);

#endif
