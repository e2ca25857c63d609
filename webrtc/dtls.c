/* OpenSSL DTLS 1.2 over memory BIOs for DTLS-SRTP (RFC 5763, 5764).
 * Recipes from shared/notes/media.md §2: SSL_OP_NO_QUERY_MTU + explicit
 * MTU, record-boundary packetisation of the write BIO, fingerprint check
 * in the verify callback, exporter layout client|server key, client|server
 * salt. Media worker thread only. */
#include "webrtc/dtls.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define DTLS_REC_HDR 13
#define FLUSH_BUF 16384
#define DEFAULT_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define TIMER_FIRST_US 100000u
#define TIMER_MAX_US 2000000u

struct sb_dtls {
	SSL_CTX *sslctx;            /* ref, shared per cert (cert.h) */
	SSL *ssl;                   /* owned; owns the two BIOs */
	BIO *rbio, *wbio;           /* borrowed from ssl */
	sb_cert *cert;              /* ref */
	GMainContext *ctx;          /* ref */
	GSource *timer;             /* owned, NULL when not armed */
	const sb_dtls_ops *ops;     /* borrowed; NULL after close */
	void *user_data;
	sb_dtls_role role;
	sb_dtls_state state;
	unsigned mtu;
	bool fp_mismatch;           /* set by the verify callback */
	char remote_fp[SB_CERT_FP_LEN];
};

static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	sb_dtls *d = SSL_get_app_data(ssl);
	char fp[SB_CERT_FP_LEN];

	(void)preverify_ok; /* self-signed: trust comes from the SDP */
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return 1;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	if (!leaf || sb_cert_fingerprint_of(leaf, fp, sizeof(fp)) < 0 ||
	    g_ascii_strcasecmp(fp, d->remote_fp) != 0) {
		d->fp_mismatch = true;
		return 0;
	}
	return 1;
}

/* Start retransmitting after 100 ms instead of OpenSSL's 1 s, doubling;
 * browsers do the same (notes §2, "Retransmission timer"). */
static unsigned int timer_cb(SSL *ssl, unsigned int timer_us)
{
	(void)ssl;
	if (timer_us == 0)
		return TIMER_FIRST_US;
	return timer_us >= TIMER_MAX_US / 2 ? TIMER_MAX_US : timer_us * 2;
}

/* Shared by every endpoint with this certificate and profile list
 * (sb_cert_ssl_ctx): nothing per call may be set on it. */
static SSL_CTX *make_ctx(sb_cert *cert, const char *profiles)
{
	SSL_CTX *c = SSL_CTX_new(DTLS_method());
	if (!c)
		return NULL;
	/* SSL_CTX_set_tlsext_use_srtp returns 0 on success (notes §0.6) */
	if (SSL_CTX_use_certificate(c, sb_cert_x509(cert)) != 1 ||
	    SSL_CTX_use_PrivateKey(c, sb_cert_key(cert)) != 1 ||
	    SSL_CTX_check_private_key(c) != 1 ||
	    SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(c, profiles) != 0) {
		SSL_CTX_free(c);
		return NULL;
	}
	/* VERIFY_PEER also makes a server send CertificateRequest */
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	/* DTLS-SRTP never resumes (every call has new keys): a shared
	 * context must not collect every call's session */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	SSL_CTX_set_read_ahead(c, 1);
	return c;
}

static int make_ssl(sb_dtls *d)
{
	d->ssl = SSL_new(d->sslctx);
	d->rbio = BIO_new(BIO_s_mem());
	d->wbio = BIO_new(BIO_s_mem());
	if (!d->ssl || !d->rbio || !d->wbio) {
		BIO_free(d->rbio);
		BIO_free(d->wbio);
		return -EIO;
	}
	/* empty read = "retry", not EOF */
	BIO_set_mem_eof_return(d->rbio, -1);
	BIO_set_mem_eof_return(d->wbio, -1);
	SSL_set_bio(d->ssl, d->rbio, d->wbio);
	SSL_set_app_data(d->ssl, d);
	SSL_set_mtu(d->ssl, d->mtu);
	DTLS_set_link_mtu(d->ssl, d->mtu);
	DTLS_set_timer_cb(d->ssl, timer_cb);
	if (d->role == SB_DTLS_CLIENT)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	return 0;
}

int sb_dtls_new(sb_cert *cert, const sb_dtls_params *p, GMainContext *ctx,
		const sb_dtls_ops *ops, void *user_data, sb_dtls **out)
{
	if (!p->remote_fp || !*p->remote_fp ||
	    strlen(p->remote_fp) >= SB_CERT_FP_LEN)
		return -EINVAL;
	sb_dtls *d = g_new0(sb_dtls, 1);
	d->role = p->role;
	d->mtu = p->mtu ? p->mtu : SB_DTLS_DEFAULT_MTU;
	g_strlcpy(d->remote_fp, p->remote_fp, sizeof(d->remote_fp));
	d->ops = ops;
	d->user_data = user_data;
	d->cert = sb_cert_ref(cert);
	d->ctx = g_main_context_ref(ctx);
	d->sslctx = sb_cert_ssl_ctx(cert, p->srtp_profiles ? p->srtp_profiles :
				    DEFAULT_PROFILES, make_ctx);
	if (!d->sslctx || make_ssl(d) < 0) {
		ERR_clear_error();
		sb_dtls_free(d);
		return -EIO;
	}
	*out = d;
	return 0;
}

/* Splits the write BIO's blob at DTLS record boundaries (13-byte header,
 * length in bytes 11-12) and packs whole records into datagrams of at
 * most mtu bytes: a memory BIO loses the datagram boundaries of a flight
 * and a record must never span datagrams (notes §2). */
static void flush(sb_dtls *d)
{
	uint8_t buf[FLUSH_BUF];

	while (BIO_ctrl_pending(d->wbio) > 0) {
		int n = BIO_read(d->wbio, buf, sizeof(buf));
		if (n <= 0)
			return;
		size_t off = 0, start = 0, len = (size_t)n;
		while (off < len) {
			size_t rl = DTLS_REC_HDR;
			if (len - off >= DTLS_REC_HDR)
				rl += (size_t)(buf[off + 11] << 8 | buf[off + 12]);
			if (rl > len - off)
				rl = len - off; /* cannot happen; never overrun */
			if (off > start && off + rl - start > d->mtu) {
				if (d->ops)
					d->ops->send(d->user_data, buf + start,
						     off - start);
				start = off;
			}
			off += rl;
		}
		if (off > start && d->ops)
			d->ops->send(d->user_data, buf + start, off - start);
	}
}

static void disarm(sb_dtls *d)
{
	if (d->timer) {
		g_source_destroy(d->timer);
		g_clear_pointer(&d->timer, g_source_unref);
	}
}

static void rearm(sb_dtls *d);

static gboolean timeout_fired(gpointer data)
{
	sb_dtls *d = data;

	g_clear_pointer(&d->timer, g_source_unref);
	if (d->state != SB_DTLS_STATE_HANDSHAKING)
		return G_SOURCE_REMOVE;
	if (DTLSv1_handle_timeout(d->ssl) < 0) {
		/* too many retransmissions: OpenSSL gave up */
		ERR_clear_error();
		d->state = SB_DTLS_STATE_FAILED;
		if (d->ops && d->ops->failed)
			d->ops->failed(d->user_data, -ETIMEDOUT,
				       "handshake timed out");
		return G_SOURCE_REMOVE;
	}
	flush(d);
	rearm(d);
	return G_SOURCE_REMOVE;
}

static void rearm(sb_dtls *d)
{
	struct timeval tv;

	disarm(d);
	if (d->state != SB_DTLS_STATE_HANDSHAKING ||
	    DTLSv1_get_timeout(d->ssl, &tv) != 1)
		return;
	guint ms = (guint)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
	d->timer = g_timeout_source_new(ms);
	g_source_set_callback(d->timer, timeout_fired, d, NULL);
	g_source_attach(d->timer, d->ctx);
}

static size_t key_len(int profile, size_t *salt)
{
	switch (profile) {
	case SB_SRTP_AES128_CM_SHA1_80:
		*salt = 14;
		return 16;
	case SB_SRTP_AEAD_AES_128_GCM:
		*salt = 12;
		return 16;
	default:
		return 0;
	}
}

/* RFC 5764 §4.2: client_key | server_key | client_salt | server_salt. */
static int export_keys(sb_dtls *d, sb_dtls_keys *k)
{
	const SRTP_PROTECTION_PROFILE *prof =
		SSL_get_selected_srtp_profile(d->ssl);
	size_t s = 0, kl = prof ? key_len((int)prof->id, &s) : 0;
	uint8_t km[2 * SB_DTLS_KEY_MAX];

	if (kl == 0)
		return -ENOTSUP; /* peer shared no profile: handshake "ok" */
	if (SSL_export_keying_material(d->ssl, km, 2 * (kl + s),
				       "EXTRACTOR-dtls_srtp", 19, NULL, 0,
				       0) != 1)
		return -EIO;
	uint8_t *client = d->role == SB_DTLS_CLIENT ? k->local : k->remote;
	uint8_t *server = d->role == SB_DTLS_CLIENT ? k->remote : k->local;
	memcpy(client, km, kl);
	memcpy(client + kl, km + 2 * kl, s);
	memcpy(server, km + kl, kl);
	memcpy(server + kl, km + 2 * kl + s, s);
	k->profile = (int)prof->id;
	k->len = kl + s;
	OPENSSL_cleanse(km, sizeof(km));
	return 0;
}

static int fail(sb_dtls *d, int err, const char *reason)
{
	d->state = SB_DTLS_STATE_FAILED;
	disarm(d);
	flush(d); /* the alert OpenSSL queued for the peer */
	if (d->ops && d->ops->failed)
		d->ops->failed(d->user_data, err, reason);
	return -EPROTO;
}

static int fail_ssl(sb_dtls *d)
{
	char buf[256] = "handshake failed";
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (d->fp_mismatch)
		return fail(d, -EPROTO, "fingerprint mismatch");
	return fail(d, -EPROTO, buf);
}

static int finish(sb_dtls *d)
{
	sb_dtls_keys keys;
	int err = export_keys(d, &keys);

	if (err == -ENOTSUP)
		return fail(d, err, "no SRTP profile");
	if (err < 0)
		return fail(d, err, "SSL_export_keying_material() failed");
	d->state = SB_DTLS_STATE_CONNECTED;
	disarm(d);
	if (d->ops && d->ops->connected)
		d->ops->connected(d->user_data, &keys);
	OPENSSL_cleanse(&keys, sizeof(keys));
	return 0;
}

static int step_handshake(sb_dtls *d)
{
	int r = SSL_do_handshake(d->ssl);

	flush(d);
	if (r == 1)
		return finish(d);
	int e = SSL_get_error(d->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		rearm(d);
		return 0;
	}
	return fail_ssl(d);
}

int sb_dtls_start(sb_dtls *d)
{
	if (d->state != SB_DTLS_STATE_NEW)
		return -EALREADY;
	d->state = SB_DTLS_STATE_HANDSHAKING;
	if (d->role == SB_DTLS_SERVER)
		return 0;
	return step_handshake(d) < 0 ? -EPROTO : 0;
}

/* After the handshake only alerts matter (audio has no data channel):
 * drain application data, notice close_notify. */
static int read_app(sb_dtls *d)
{
	uint8_t buf[2048];

	for (;;) {
		int r = SSL_read(d->ssl, buf, sizeof(buf));
		if (r > 0)
			continue;
		int e = SSL_get_error(d->ssl, r);
		ERR_clear_error();
		flush(d);
		if (e == SSL_ERROR_ZERO_RETURN) {
			d->state = SB_DTLS_STATE_CLOSED;
			if (d->ops && d->ops->closed)
				d->ops->closed(d->user_data);
		}
		return 0;
	}
}

int sb_dtls_handle_datagram(sb_dtls *d, const uint8_t *buf, size_t len)
{
	if (d->state == SB_DTLS_STATE_FAILED ||
	    d->state == SB_DTLS_STATE_CLOSED)
		return -ESHUTDOWN;
	if (len == 0 || len > INT_MAX || !d->ssl) /* !ssl: retired */
		return 0;
	if (d->state == SB_DTLS_STATE_NEW) /* server: first ClientHello */
		d->state = SB_DTLS_STATE_HANDSHAKING;
	BIO_write(d->rbio, buf, (int)len);
	if (d->state == SB_DTLS_STATE_HANDSHAKING)
		return step_handshake(d);
	return read_app(d);
}

sb_dtls_state sb_dtls_get_state(const sb_dtls *d)
{
	return d->state;
}

sb_dtls_role sb_dtls_get_role(const sb_dtls *d)
{
	return d->role;
}

void sb_dtls_close(sb_dtls *d)
{
	disarm(d);
	if (d->state == SB_DTLS_STATE_CONNECTED && d->ssl) {
		SSL_shutdown(d->ssl);
		ERR_clear_error();
		flush(d);
	}
	if (d->state != SB_DTLS_STATE_FAILED)
		d->state = SB_DTLS_STATE_CLOSED;
	d->ops = NULL;
	d->user_data = NULL;
}

void sb_dtls_retire(sb_dtls *d)
{
	if (d->state != SB_DTLS_STATE_CONNECTED || !d->ssl)
		return;
	disarm(d);
	SSL_free(d->ssl); /* and its BIOs */
	d->ssl = NULL;
	d->rbio = d->wbio = NULL;
	g_clear_pointer(&d->sslctx, SSL_CTX_free);
}

bool sb_dtls_is_retired(const sb_dtls *d)
{
	return d->state == SB_DTLS_STATE_CONNECTED && !d->ssl;
}

void sb_dtls_free(sb_dtls *d)
{
	if (!d)
		return;
	sb_dtls_close(d);
	SSL_free(d->ssl);
	SSL_CTX_free(d->sslctx);
	sb_cert_unref(d->cert);
	g_main_context_unref(d->ctx);
	g_free(d);
}
