/* The DTLS identity: an ECDSA P-256 self-signed certificate generated at
 * start, and its SHA-256 fingerprint as written in SDP ("AB:CD:...",
 * RFC 8122 §5). Immutable after sb_cert_new; shared read-only by every
 * worker (refcounted atomically, any thread). */
#ifndef SB_WEBRTC_CERT_H
#define SB_WEBRTC_CERT_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* "XX:" * 32 minus the last colon, plus NUL */
#define SB_CERT_FP_LEN (32 * 3)

typedef struct sb_cert sb_cert;

/* Generate a key and a certificate valid from yesterday for 30 days, with
 * subject CN = cn (or "sipbridge" when NULL). Returns 0 and an owned
 * reference in *out, or -ENOMEM / -EIO (OpenSSL failure, logged).
 * Takes a few ms; call it at startup. Any thread. */
int sb_cert_new(const char *cn, sb_cert **out);

/* Reference counting; any thread. unref of NULL is a no-op. */
sb_cert *sb_cert_ref(sb_cert *c);
void sb_cert_unref(sb_cert *c);

/* Borrowed pointers, valid while the reference is held; read-only. */
const char *sb_cert_fingerprint(const sb_cert *c); /* "AB:CD:..." */
X509 *sb_cert_x509(const sb_cert *c);
EVP_PKEY *sb_cert_key(const sb_cert *c);

/* The DTLS context for this certificate and an SRTP profile list, made
 * by make() on first use and shared by every endpoint after that: one
 * SSL_CTX per call cost 13 KiB and ~150 µs (doc/BENCHMARKS.md "Set-ups
 * and memory"). OpenSSL allows SSL_new on one context from many threads.
 * Returns a new reference (SSL_CTX_free) or NULL. Any thread. */
typedef SSL_CTX *(*sb_cert_ctx_make)(sb_cert *c, const char *profiles);
SSL_CTX *sb_cert_ssl_ctx(sb_cert *c, const char *profiles,
			 sb_cert_ctx_make make);

/* SHA-256 fingerprint of any certificate, formatted as above into out
 * (at least SB_CERT_FP_LEN bytes). Returns 0 or -EIO. Any thread. */
int sb_cert_fingerprint_of(X509 *x, char *out, size_t cap);

#endif
