/* OpenSSL implementations of libsrtp2's AES-128-CM and AES-128-GCM cipher
 * types and its HMAC-SHA1 auth type, installed in place of Debian's
 * NSS-backed ones (see srtp_ossl.c for why). Only webrtc/srtp.c calls this.
 *
 * Thread: sb_srtp_ossl_install once, right after srtp_init and before any
 * SRTP context exists (sb_srtp_global_init's once-guard). The type
 * descriptors are immutable; their instances belong to the sb_srtp that
 * libsrtp2 allocated them for. */
#ifndef SB_WEBRTC_SRTP_OSSL_H
#define SB_WEBRTC_SRTP_OSSL_H

#include <srtp2/auth.h>
#include <srtp2/cipher.h>

extern const srtp_cipher_type_t sb_srtp_ossl_aes_icm_128;
extern const srtp_cipher_type_t sb_srtp_ossl_aes_gcm_128;
extern const srtp_auth_type_t sb_srtp_ossl_hmac_sha1;

/* Replace libsrtp2's SRTP_AES_ICM_128, SRTP_AES_GCM_128 and SRTP_HMAC_SHA1
 * (each must pass libsrtp2's self tests and its own). Returns 0, or -1 when
 * libsrtp2 refused one; the built-in implementation of that one and of
 * those after it then stays in use. */
int sb_srtp_ossl_install(void);

/* Packets, since start, whose cipher borrowed its thread's OpenSSL
 * context instead of holding one (srtp_ossl.c; for the unit test). */
int sb_srtp_ossl_borrowed_uses(void);

#endif
