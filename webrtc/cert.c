/* Certificate generation and fingerprints (RFC 8122, RFC 8827 §6.5).
 * OpenSSL 3.0; recipe verified in shared/notes/media.md §2. Any thread. */
#include "webrtc/cert.h"

#include <errno.h>
#include <stdio.h>
#include <glib.h>
#include <openssl/err.h>
#include <openssl/rand.h>

struct sb_cert {
	gatomicrefcount ref;
	X509 *x509;           /* owned */
	EVP_PKEY *key;        /* owned */
	char fp[SB_CERT_FP_LEN];
	GMutex ctx_lock;      /* guards ctxs */
	GHashTable *ctxs;     /* profiles (owned) -> SSL_CTX * (a ref) */
};

static void log_ssl(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof(buf));
	g_warning("%s failed: %s", what, e ? buf : "unknown");
	ERR_clear_error();
}

static int fill_cert(X509 *x, EVP_PKEY *key, const char *cn)
{
	uint8_t serial[8];
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return -EIO;
	serial[0] &= 0x7f; /* keep the serial positive */
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME *name = X509_get_subject_name(x);
	ok = ok && X509_set_version(x, 2) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) &&
	     X509_set_pubkey(x, key) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_issuer_name(x, name) &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	return ok ? 0 : -EIO;
}

int sb_cert_new(const char *cn, sb_cert **out)
{
	sb_cert *c = g_new0(sb_cert, 1);
	g_atomic_ref_count_init(&c->ref);
	g_mutex_init(&c->ctx_lock);
	c->ctxs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					(GDestroyNotify)SSL_CTX_free);

	c->key = EVP_EC_gen("P-256");
	if (!c->key) {
		log_ssl("EVP_EC_gen()");
		goto fail;
	}
	c->x509 = X509_new();
	if (!c->x509 || fill_cert(c->x509, c->key, cn ? cn : "sipbridge")) {
		log_ssl("X509_sign()");
		goto fail;
	}
	if (sb_cert_fingerprint_of(c->x509, c->fp, sizeof(c->fp)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	sb_cert_unref(c);
	return -EIO;
}

sb_cert *sb_cert_ref(sb_cert *c)
{
	g_atomic_ref_count_inc(&c->ref);
	return c;
}

void sb_cert_unref(sb_cert *c)
{
	if (!c || !g_atomic_ref_count_dec(&c->ref))
		return;
	g_hash_table_destroy(c->ctxs);
	g_mutex_clear(&c->ctx_lock);
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
	g_free(c);
}

SSL_CTX *sb_cert_ssl_ctx(sb_cert *c, const char *profiles,
			 sb_cert_ctx_make make)
{
	g_mutex_lock(&c->ctx_lock);
	SSL_CTX *ctx = g_hash_table_lookup(c->ctxs, profiles);
	if (!ctx && (ctx = make(c, profiles)) != NULL)
		g_hash_table_insert(c->ctxs, g_strdup(profiles), ctx);
	if (ctx)
		SSL_CTX_up_ref(ctx);
	g_mutex_unlock(&c->ctx_lock);
	return ctx;
}

const char *sb_cert_fingerprint(const sb_cert *c)
{
	return c->fp;
}

X509 *sb_cert_x509(const sb_cert *c)
{
	return c->x509;
}

EVP_PKEY *sb_cert_key(const sb_cert *c)
{
	return c->key;
}

int sb_cert_fingerprint_of(X509 *x, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!X509_digest(x, EVP_sha256(), md, &n) || n * 3 > cap)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
	return 0;
}
