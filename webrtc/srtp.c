/* libsrtp2 2.5 wrapper (its ciphers and HMAC through OpenSSL: srtp_ossl.c),
 * RFC 3711 / RFC 7714.
 * Policies from the DTLS-SRTP profile (notes §2 "Keying material"):
 * ssrc_any_outbound / ssrc_any_inbound, window 1024. Worker thread. */
#include "webrtc/srtp.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <glib.h>
#include <srtp2/srtp.h>

#include "webrtc/dtls.h"
#include "webrtc/srtp_ossl.h"

G_STATIC_ASSERT(SB_SRTP_TRAILER == SRTP_MAX_TRAILER_LEN);
G_STATIC_ASSERT(SB_SRTP_AES128_CM_SHA1_80 ==
		(int)srtp_profile_aes128_cm_sha1_80);
G_STATIC_ASSERT(SB_SRTP_AEAD_AES_128_GCM ==
		(int)srtp_profile_aead_aes_128_gcm);

struct sb_srtp {
	srtp_t tx;   /* owned, srtp_dealloc */
	srtp_t rx;   /* owned, srtp_dealloc */
};

static gsize init_result; /* 1 = ok, 2 = failed */
static const char *crypto_name = "libsrtp2";  /* set once, in the once-guard */

int sb_srtp_global_init(void)
{
	if (g_once_init_enter(&init_result)) {
		gsize r = srtp_init() == srtp_err_status_ok ? 1 : 2;
		/* SB_SRTP_NSS=1 keeps libsrtp2's built-in crypto: for
		 * comparing the two in benchmarks, never needed otherwise. */
		if (r == 1 && !g_getenv("SB_SRTP_NSS")) {
			if (sb_srtp_ossl_install() == 0)
				crypto_name = "OpenSSL";
			else
				g_warning("libsrtp2 refused the OpenSSL "
					  "SRTP ciphers; using its "
					  "built-in crypto");
		}
		g_once_init_leave(&init_result, r);
	}
	return init_result == 1 ? 0 : -EIO;
}

const char *sb_srtp_crypto_name(void)
{
	return crypto_name;
}

static int make_one(srtp_profile_t prof, const uint8_t *key, bool out,
		    srtp_t *ctx)
{
	srtp_policy_t p;
	uint8_t k[SB_DTLS_KEY_MAX];

	memset(&p, 0, sizeof(p));
	if (srtp_crypto_policy_set_from_profile_for_rtp(&p.rtp, prof) ||
	    srtp_crypto_policy_set_from_profile_for_rtcp(&p.rtcp, prof))
		return -ENOTSUP;
	/* libsrtp wants a writable key pointer; give it a private copy */
	memcpy(k, key, sizeof(k));
	p.key = k;
	p.ssrc.type = out ? ssrc_any_outbound : ssrc_any_inbound;
	p.window_size = 1024;
	p.allow_repeat_tx = out;
	int r = srtp_create(ctx, &p);
	memset(k, 0, sizeof(k));
	return r == srtp_err_status_ok ? 0 : -EIO;
}

int sb_srtp_new(int profile, const uint8_t *tx_key, const uint8_t *rx_key,
		size_t key_len, sb_srtp **out)
{
	srtp_profile_t prof = (srtp_profile_t)profile;

	if (profile != SB_SRTP_AES128_CM_SHA1_80 &&
	    profile != SB_SRTP_AEAD_AES_128_GCM)
		return -ENOTSUP;
	if (key_len != srtp_profile_get_master_key_length(prof) +
			       srtp_profile_get_master_salt_length(prof))
		return -EINVAL;
	int err = sb_srtp_global_init();
	if (err < 0)
		return err;

	uint8_t tx[SB_DTLS_KEY_MAX] = { 0 }, rx[SB_DTLS_KEY_MAX] = { 0 };
	memcpy(tx, tx_key, key_len);
	memcpy(rx, rx_key, key_len);
	sb_srtp *s = g_new0(sb_srtp, 1);
	err = make_one(prof, tx, true, &s->tx);
	if (!err)
		err = make_one(prof, rx, false, &s->rx);
	memset(tx, 0, sizeof(tx));
	memset(rx, 0, sizeof(rx));
	if (err < 0) {
		sb_srtp_free(s);
		return err;
	}
	*out = s;
	return 0;
}

static ssize_t map_err(srtp_err_status_t r)
{
	switch (r) {
	case srtp_err_status_auth_fail:
		return -EACCES;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return -EALREADY;
	default:
		return -EBADMSG;
	}
}

typedef srtp_err_status_t (*srtp_fn)(srtp_t ctx, void *buf, int *len);

static ssize_t protect(srtp_t ctx, srtp_fn fn, uint8_t *buf, size_t len,
		       size_t cap)
{
	if (cap < len || cap - len < SB_SRTP_TRAILER || len > INT_MAX / 2)
		return -ENOSPC;
	int n = (int)len;
	return fn(ctx, buf, &n) == srtp_err_status_ok ? n : -EIO;
}

static ssize_t unprotect(srtp_t ctx, srtp_fn fn, uint8_t *buf, size_t len,
			 size_t min)
{
	if (len < min || len > INT_MAX / 2)
		return -EBADMSG;
	int n = (int)len;
	srtp_err_status_t r = fn(ctx, buf, &n);
	return r == srtp_err_status_ok ? n : map_err(r);
}

ssize_t sb_srtp_protect_rtp(sb_srtp *s, uint8_t *buf, size_t len,
			    size_t cap)
{
	return protect(s->tx, srtp_protect, buf, len, cap);
}

ssize_t sb_srtp_protect_rtcp(sb_srtp *s, uint8_t *buf, size_t len,
			     size_t cap)
{
	return protect(s->tx, srtp_protect_rtcp, buf, len, cap);
}

ssize_t sb_srtp_unprotect_rtp(sb_srtp *s, uint8_t *buf, size_t len)
{
	return unprotect(s->rx, srtp_unprotect, buf, len, 12);
}

ssize_t sb_srtp_unprotect_rtcp(sb_srtp *s, uint8_t *buf, size_t len)
{
	return unprotect(s->rx, srtp_unprotect_rtcp, buf, len, 8);
}

void sb_srtp_free(sb_srtp *s)
{
	if (!s)
		return;
	if (s->tx)
		srtp_dealloc(s->tx);
	if (s->rx)
		srtp_dealloc(s->rx);
	g_free(s);
}
