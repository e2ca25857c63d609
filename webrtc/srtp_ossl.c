/* OpenSSL crypto for libsrtp2's AES-128-CM, AES-128-GCM and HMAC-SHA1.
 *
 * Debian builds libsrtp2 on NSS, whose per-call PK11 context lookups and
 * NSPR locks cost about 7,600 instructions per srtp_protect (BENCHMARKS.md,
 * "Where the time goes"). libsrtp2 lets an application replace the
 * implementation of a cipher or auth type by id (srtp_replace_cipher_type,
 * srtp_replace_auth_type); the replacement must pass the self tests of the
 * type it replaces and its own. Everything else (key derivation, packet
 * index and ROC, replay window, the packet formats) stays libsrtp2's.
 *
 * AES-ICM (RFC 3711 §4.1.1) is AES in counter mode with the counter block
 * (salt || 0x0000) XOR IV; SRTP's IV leaves the low 16 bits zero and a
 * packet is far below 2^16 blocks, so OpenSSL's 128-bit counter increment
 * produces the same key stream as ICM's 16-bit block counter.
 *
 * HMAC-SHA1 keeps the keyed inner and outer SHA-1 states and copies them
 * per packet. The SHA1_* functions are deprecated in OpenSSL 3, but the
 * EVP way to reuse a keyed state (EVP_MD_CTX_copy_ex / EVP_MAC_init
 * without a key) allocates a provider context per call on OpenSSL 3.0,
 * once per packet here.
 *
 * A keyed OpenSSL cipher context is about 1.2 KiB, and each call has
 * four: SRTP and SRTCP, each way (RFC 3711 §4.3: their own keys). SRTCP
 * comes once in seconds. So a cipher keeps only its key until it is used
 * twice within OWN_AFTER_US: until then each packet borrows the thread's
 * context and keys it again if another cipher's key is in it (about a
 * microsecond). SRTP gets its own context at its second packet; SRTCP
 * never does, 2.3 KiB less per call (heaptrack). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "webrtc/srtp_ossl.h"

#include <stdbool.h>
#include <string.h>
#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

/* ---------------------------------------------------------------- ciphers */

#define OWN_AFTER_US (500 * 1000)

/* The state of either cipher: an EVP context keyed by init (or the
 * thread's, keyed on demand) and given a new IV per packet. */
struct evp_state {
	EVP_CIPHER_CTX *ctx;  /* owned if own; else the thread's, or NULL */
	bool own;
	uint8_t offset[16];   /* AES-ICM: salt || 0x0000 */
	int tag_len;          /* AES-GCM: 16, or 8 for the 8-byte-tag variant */
	uint8_t key[SRTP_AES_128_KEY_LEN]; /* what init gave, until own */
	uint64_t gen;         /* which key: a new number at every init */
	gint64 last_use;      /* monotonic µs of the last set_iv, until own */
};

/* The thread's context and the generation of the key in it. A
 * generation, not a state's address: a freed state's address can come
 * back with another key. */
struct borrowed {
	EVP_CIPHER_CTX *ctx;
	uint64_t gen;
};

static void borrowed_free(gpointer p)
{
	struct borrowed *b = p;

	EVP_CIPHER_CTX_free(b->ctx);
	g_free(b);
}

static GPrivate borrowed_key = G_PRIVATE_INIT(borrowed_free);
static uint64_t next_gen;
static gint borrowed_uses; /* for the unit test: packets that borrowed */

static bool key_ctx(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
		    const uint8_t *key)
{
	return EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, 1) == 1;
}

static bool borrow_ctx(struct evp_state *s, const EVP_CIPHER *cipher)
{
	struct borrowed *b = g_private_get(&borrowed_key);

	if (!b) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		if (!ctx)
			return false;
		b = g_new0(struct borrowed, 1);
		b->ctx = ctx;
		g_private_set(&borrowed_key, b);
	}
	g_atomic_int_inc(&borrowed_uses);
	s->ctx = b->ctx;
	if (b->gen == s->gen)
		return true;
	b->gen = 0;
	if (!key_ctx(b->ctx, cipher, s->key))
		return false;
	b->gen = s->gen;
	return true;
}

/* Called by set_iv, which starts every packet, for a cipher without a
 * context of its own (the check is the caller's: the packet path of
 * one that has it is a load and a branch): s->ctx then holds s's key,
 * and the packet's other steps follow on this thread before any other
 * cipher's packet. */
static bool ready_ctx(struct evp_state *s, const EVP_CIPHER *cipher)
{
	gint64 now = g_get_monotonic_time();
	bool often = s->last_use && now - s->last_use < OWN_AFTER_US;
	s->last_use = now;
	if (often) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		if (ctx && key_ctx(ctx, cipher, s->key)) {
			s->ctx = ctx;
			s->own = true;
			OPENSSL_cleanse(s->key, sizeof(s->key));
			return true;
		}
		EVP_CIPHER_CTX_free(ctx);
	}
	return borrow_ctx(s, cipher);
}

/* A new key: into the own context, or kept for borrowing. */
static bool init_key(struct evp_state *s, const EVP_CIPHER *cipher,
		     const uint8_t *key)
{
	memcpy(s->key, key, sizeof(s->key));
	s->gen = __atomic_add_fetch(&next_gen, 1, __ATOMIC_RELAXED);
	if (!s->own)
		return true;
	OPENSSL_cleanse(s->key, sizeof(s->key));
	return key_ctx(s->ctx, cipher, key);
}

int sb_srtp_ossl_borrowed_uses(void)
{
	return g_atomic_int_get(&borrowed_uses);
}

static srtp_err_status_t evp_alloc(const srtp_cipher_type_t *type,
				   int algorithm, int key_len, int tag_len,
				   srtp_cipher_pointer_t *cp)
{
	srtp_cipher_t *c = g_new0(srtp_cipher_t, 1);
	struct evp_state *s = g_new0(struct evp_state, 1);
	s->tag_len = tag_len;
	c->type = type;
	c->state = s;
	c->key_len = key_len;
	c->algorithm = algorithm;
	*cp = c;
	return srtp_err_status_ok;
}

static srtp_err_status_t evp_dealloc(srtp_cipher_pointer_t c)
{
	struct evp_state *s = c->state;

	if (s->own)
		EVP_CIPHER_CTX_free(s->ctx);
	OPENSSL_cleanse(s, sizeof(*s));
	g_free(s);
	g_free(c);
	return srtp_err_status_ok;
}

/* Both are stream modes: the buffer is transformed in place, whole, in
 * the direction set_iv chose. For counter mode encrypting and decrypting
 * are the same XOR, and the key stream continues across calls until the
 * next set_iv (libsrtp's KDF relies on that). */
static srtp_err_status_t evp_update(void *state, uint8_t *buf,
				    unsigned int *len)
{
	struct evp_state *s = state;
	int out = 0;

	if (!s->ctx || *len > INT32_MAX ||
	    EVP_CipherUpdate(s->ctx, buf, &out, buf, (int)*len) != 1 ||
	    out != (int)*len)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* ---------------------------------------------------------------- AES-ICM */

static srtp_err_status_t icm_alloc(srtp_cipher_pointer_t *cp, int key_len,
				   int tag_len)
{
	(void)tag_len;
	if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
		return srtp_err_status_bad_param;
	return evp_alloc(&sb_srtp_ossl_aes_icm_128, SRTP_AES_ICM_128, key_len,
			 0, cp);
}

static srtp_err_status_t icm_init(void *state, const uint8_t *key)
{
	struct evp_state *s = state;

	memset(s->offset, 0, sizeof(s->offset));
	memcpy(s->offset, key + SRTP_AES_128_KEY_LEN, SRTP_SALT_LEN);
	if (!init_key(s, EVP_aes_128_ctr(), key))
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv,
				    srtp_cipher_direction_t dir)
{
	struct evp_state *s = state;
	uint8_t ctr[16];

	(void)dir;
	if (!s->own && !ready_ctx(s, EVP_aes_128_ctr()))
		return srtp_err_status_cipher_fail;
	for (size_t i = 0; i < sizeof(ctr); i++)
		ctr[i] = s->offset[i] ^ iv[i];
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, ctr) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* RFC 3711 appendix B.2: the first two key stream blocks. */
static const uint8_t icm_tc_key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static uint8_t icm_tc_iv[16];
static const uint8_t icm_tc_plain[32];
static const uint8_t icm_tc_cipher[32] = {
	0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80,
	0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
	0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
	0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
};
static const srtp_cipher_test_case_t icm_tc = {
	.key_length_octets = SRTP_AES_ICM_128_KEY_LEN_WSALT,
	.key = icm_tc_key,
	.idx = icm_tc_iv,
	.plaintext_length_octets = sizeof(icm_tc_plain),
	.plaintext = icm_tc_plain,
	.ciphertext_length_octets = sizeof(icm_tc_cipher),
	.ciphertext = icm_tc_cipher,
};

const srtp_cipher_type_t sb_srtp_ossl_aes_icm_128 = {
	.alloc = icm_alloc,
	.dealloc = evp_dealloc,
	.init = icm_init,
	.encrypt = evp_update,
	.decrypt = evp_update,
	.set_iv = icm_set_iv,
	.description = "AES-128 counter mode (OpenSSL, sipbridge)",
	.test_data = &icm_tc,
	.id = SRTP_AES_ICM_128,
};

/* ---------------------------------------------------------------- AES-GCM */

/* RFC 7714 AEAD_AES_128_GCM. libsrtp2 builds the 12-byte IV from the salt
 * itself and hands the cipher only the key; the tag follows the cipher
 * text (encrypt + get_tag; decrypt gets both and checks the tag). */
static srtp_err_status_t gcm_alloc(srtp_cipher_pointer_t *cp, int key_len,
				   int tag_len)
{
	if (key_len != SRTP_AES_GCM_128_KEY_LEN_WSALT ||
	    (tag_len != 16 && tag_len != 8))
		return srtp_err_status_bad_param;
	return evp_alloc(&sb_srtp_ossl_aes_gcm_128, SRTP_AES_GCM_128, key_len,
			 tag_len, cp);
}

static srtp_err_status_t gcm_init(void *state, const uint8_t *key)
{
	struct evp_state *s = state;

	if (!init_key(s, EVP_aes_128_gcm(), key))
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv,
				    srtp_cipher_direction_t dir)
{
	struct evp_state *s = state;

	if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
		return srtp_err_status_bad_param;
	if (!s->own && !ready_ctx(s, EVP_aes_128_gcm()))
		return srtp_err_status_cipher_fail;
	if (EVP_CipherInit_ex(s->ctx, NULL, NULL, NULL, iv,
			      dir == srtp_direction_encrypt) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad,
				     uint32_t len)
{
	struct evp_state *s = state;
	int out = 0;

	if (!s->ctx || len > INT32_MAX ||
	    EVP_CipherUpdate(s->ctx, NULL, &out, aad, (int)len) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag,
				     uint32_t *len)
{
	struct evp_state *s = state;
	uint8_t none[16];
	int out = 0;

	if (!s->ctx || EVP_CipherFinal_ex(s->ctx, none, &out) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, s->tag_len, tag) != 1)
		return srtp_err_status_cipher_fail;
	*len = (uint32_t)s->tag_len;
	return srtp_err_status_ok;
}

/* buf holds cipher text then the tag; on success *len loses the tag. */
static srtp_err_status_t gcm_decrypt(void *state, uint8_t *buf,
				     unsigned int *len)
{
	struct evp_state *s = state;
	uint8_t none[16];
	int out = 0;

	if (!s->ctx)
		return srtp_err_status_cipher_fail;
	if (*len < (unsigned int)s->tag_len || *len > INT32_MAX)
		return srtp_err_status_bad_param;
	int n = (int)*len - s->tag_len;
	if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, s->tag_len,
				buf + n) != 1 ||
	    EVP_CipherUpdate(s->ctx, buf, &out, buf, n) != 1)
		return srtp_err_status_cipher_fail;
	if (EVP_CipherFinal_ex(s->ctx, none, &out) != 1)
		return srtp_err_status_auth_fail;
	*len = (unsigned int)n;
	return srtp_err_status_ok;
}

/* "The Galois/Counter Mode of Operation" (McGrew, Viega), test case 4;
 * the key is followed by the 12 salt bytes libsrtp2 passes along. */
static const uint8_t gcm_tc_key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {
	0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
	0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
};
static uint8_t gcm_tc_iv[12] = {
	0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad,
	0xde, 0xca, 0xf8, 0x88,
};
static const uint8_t gcm_tc_plain[60] = {
	0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59,
	0x09, 0xc5, 0xaf, 0xf5, 0x26, 0x9a, 0x86, 0xa7, 0xa9, 0x53,
	0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
	0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53,
	0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25, 0xb1, 0x6a,
	0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39,
};
static const uint8_t gcm_tc_aad[20] = {
	0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
	0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2,
};
static const uint8_t gcm_tc_cipher[76] = {
	0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72,
	0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c, 0xe3, 0xaa, 0x21, 0x2f,
	0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac,
	0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c,
	0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05, 0x1b, 0xa3,
	0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
	/* tag */
	0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb,
	0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47,
};
static const srtp_cipher_test_case_t gcm_tc = {
	.key_length_octets = SRTP_AES_GCM_128_KEY_LEN_WSALT,
	.key = gcm_tc_key,
	.idx = gcm_tc_iv,
	.plaintext_length_octets = sizeof(gcm_tc_plain),
	.plaintext = gcm_tc_plain,
	.ciphertext_length_octets = sizeof(gcm_tc_cipher),
	.ciphertext = gcm_tc_cipher,
	.aad_length_octets = sizeof(gcm_tc_aad),
	.aad = gcm_tc_aad,
	.tag_length_octets = 16,
};

const srtp_cipher_type_t sb_srtp_ossl_aes_gcm_128 = {
	.alloc = gcm_alloc,
	.dealloc = evp_dealloc,
	.init = gcm_init,
	.set_aad = gcm_set_aad,
	.encrypt = evp_update,
	.decrypt = gcm_decrypt,
	.set_iv = gcm_set_iv,
	.get_tag = gcm_get_tag,
	.description = "AES-128 GCM (OpenSSL, sipbridge)",
	.test_data = &gcm_tc,
	.id = SRTP_AES_GCM_128,
};

/* ---------------------------------------------------------------- HMAC-SHA1 */

struct hmac_state {
	SHA_CTX inner0;   /* SHA-1 after absorbing key ^ ipad */
	SHA_CTX outer0;   /* SHA-1 after absorbing key ^ opad */
	SHA_CTX inner;    /* the packet being authenticated */
};

static srtp_err_status_t hmac_alloc(srtp_auth_pointer_t *ap, int key_len,
				    int out_len)
{
	if (key_len < 0 || key_len > SHA_CBLOCK || out_len < 0 ||
	    out_len > SHA_DIGEST_LENGTH)
		return srtp_err_status_bad_param;
	srtp_auth_t *a = g_new0(srtp_auth_t, 1);
	a->type = &sb_srtp_ossl_hmac_sha1;
	a->state = g_new0(struct hmac_state, 1);
	a->out_len = out_len;
	a->key_len = key_len;
	*ap = a;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_pointer_t a)
{
	OPENSSL_cleanse(a->state, sizeof(struct hmac_state));
	g_free(a->state);
	g_free(a);
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key,
				   int key_len)
{
	struct hmac_state *h = state;
	uint8_t ipad[SHA_CBLOCK], opad[SHA_CBLOCK];

	if (key_len < 0 || key_len > SHA_CBLOCK)
		return srtp_err_status_bad_param;
	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (int i = 0; i < key_len; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
	SHA1_Init(&h->inner0);
	SHA1_Update(&h->inner0, ipad, sizeof(ipad));
	SHA1_Init(&h->outer0);
	SHA1_Update(&h->outer0, opad, sizeof(opad));
	h->inner = h->inner0;
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_start(void *state)
{
	struct hmac_state *h = state;

	h->inner = h->inner0;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf,
				     int len)
{
	struct hmac_state *h = state;

	if (len < 0)
		return srtp_err_status_bad_param;
	SHA1_Update(&h->inner, buf, (size_t)len);
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf,
				      int len, int tag_len, uint8_t *tag)
{
	struct hmac_state *h = state;
	uint8_t md[SHA_DIGEST_LENGTH];
	SHA_CTX outer;

	if (len < 0 || tag_len < 0 || tag_len > SHA_DIGEST_LENGTH)
		return srtp_err_status_bad_param;
	SHA1_Update(&h->inner, buf, (size_t)len);
	SHA1_Final(md, &h->inner);
	outer = h->outer0;
	SHA1_Update(&outer, md, sizeof(md));
	SHA1_Final(md, &outer);
	memcpy(tag, md, (size_t)tag_len);
	return srtp_err_status_ok;
}

/* RFC 2202 test case 1. */
static const uint8_t hmac_tc_key[20] = {
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t hmac_tc_data[8] = "Hi There";
static const uint8_t hmac_tc_tag[20] = {
	0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
	0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const srtp_auth_test_case_t hmac_tc = {
	.key_length_octets = sizeof(hmac_tc_key),
	.key = hmac_tc_key,
	.data_length_octets = sizeof(hmac_tc_data),
	.data = hmac_tc_data,
	.tag_length_octets = sizeof(hmac_tc_tag),
	.tag = hmac_tc_tag,
};

const srtp_auth_type_t sb_srtp_ossl_hmac_sha1 = {
	.alloc = hmac_alloc,
	.dealloc = hmac_dealloc,
	.init = hmac_init,
	.compute = hmac_compute,
	.update = hmac_update,
	.start = hmac_start,
	.description = "HMAC-SHA1 (OpenSSL, sipbridge)",
	.test_data = &hmac_tc,
	.id = SRTP_HMAC_SHA1,
};

int sb_srtp_ossl_install(void)
{
	if (srtp_replace_cipher_type(&sb_srtp_ossl_aes_icm_128,
				     SRTP_AES_ICM_128) != srtp_err_status_ok)
		return -1;
	if (srtp_replace_cipher_type(&sb_srtp_ossl_aes_gcm_128,
				     SRTP_AES_GCM_128) != srtp_err_status_ok)
		return -1;
	if (srtp_replace_auth_type(&sb_srtp_ossl_hmac_sha1, SRTP_HMAC_SHA1) !=
	    srtp_err_status_ok)
		return -1;
	return 0;
}
