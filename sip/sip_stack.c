/* sofia-sip stack on GLib. Order of creation and teardown follows the
 * facts in shared/notes/signalling.md §1: the GSource is attached by us,
 * and destroyed only after su_root_destroy(). Signalling thread only. */
#include "sip/sip_stack.h"
#include "common/ip.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>
#include <openssl/x509.h>

struct sb_sip_stack {
	su_home_t home[1];
	su_root_t *root;
	GSource *src;            /* borrowed from root; destroyed after it */
	nta_agent_t *agent;
	sb_sip_message_cb cb;
	void *cb_data;
	char *tls_dir;           /* owned: private agent.pem directory, or NULL */
};

#define AGENT_PEM "agent.pem"
#define CA_PEM "cafile.pem"     /* sofia's name for the trusted CAs */

/* Write all of buf to fd. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static void tls_dir_remove(char *dir)
{
	if (!dir)
		return;
	g_autofree char *pem = g_build_filename(dir, AGENT_PEM, NULL);
	g_autofree char *ca = g_build_filename(dir, CA_PEM, NULL);
	g_unlink(pem);
	g_unlink(ca);
	g_rmdir(dir);
	g_free(dir);
}

/* The CA bundle servers are verified against: the configured one, or
 * OpenSSL's default. */
static const char *tls_ca_source(const sb_sip_tls *tls)
{
	return tls->ca_file && *tls->ca_file ? tls->ca_file : X509_get_default_cert_file();
}

/* sofia verifies against DIR/cafile.pem, and without one only against
 * the hashed certificates in DIR itself, not the system's: copy the
 * bundle there. */
static bool tls_ca_copy(const char *src, const char *dir, GError **err)
{
	g_autofree char *pem = NULL;
	gsize len = 0;
	if (!g_file_get_contents(src, &pem, &len, err))
		return false;
	g_autofree char *dst = g_build_filename(dir, CA_PEM, NULL);
	return g_file_set_contents(dst, pem, (gssize)len, err);
}

/* sofia's TPTAG_CERTIFICATE names a directory and reads agent.pem in it
 * (key and certificate in one file); the daemon's config has two paths.
 * Join them in a fresh private directory: g_dir_make_tmp makes it 0700,
 * the file is created 0600 and exclusively, so no other user can read
 * the key or swap the file. The key bytes are wiped from memory after. */
static char *tls_dir_make(const sb_sip_tls *tls, GError **err)
{
	g_autofree char *cert = NULL, *key = NULL;
	gsize cert_len = 0, key_len = 0;
	if (!tls || !tls->cert || !*tls->cert || !tls->key || !*tls->key) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "a tls: SIP listener needs tls.cert and tls.key");
		return NULL;
	}
	if (!g_file_get_contents(tls->cert, &cert, &cert_len, err) ||
	    !g_file_get_contents(tls->key, &key, &key_len, err))
		return NULL;
	char *dir = g_dir_make_tmp("sipbridge-tls-XXXXXX", err);
	if (!dir) {
		explicit_bzero(key, key_len);
		return NULL;
	}
	g_autofree char *pem = g_build_filename(dir, AGENT_PEM, NULL);
	int fd = open(pem, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : 0;
	if (!r)
		r = write_all(fd, key, key_len);
	if (!r && key_len && key[key_len - 1] != '\n')
		r = write_all(fd, "\n", 1);
	if (!r)
		r = write_all(fd, cert, cert_len);
	if (fd >= 0 && close(fd) < 0 && !r)
		r = -errno;
	explicit_bzero(key, key_len);
	if (r) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-r),
			    "writing %s: %s", pem, g_strerror(-r));
		tls_dir_remove(dir);
		return NULL;
	}
	if (tls->verify_server && !tls_ca_copy(tls_ca_source(tls), dir, err)) {
		tls_dir_remove(dir);
		return NULL;
	}
	return dir;
}

static bool any_tls(const sb_sip_listen_spec *listen, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!g_ascii_strcasecmp(listen[i].transport, "tls"))
			return true;
	return false;
}

static int agent_cb(nta_agent_magic_t *magic, nta_agent_t *agent, msg_t *msg,
		    sip_t *sip)
{
	sb_sip_stack *s = (sb_sip_stack *)magic;
	if (s->cb)
		return s->cb(s->cb_data, agent, msg, sip);
	nta_msg_discard(agent, msg);
	return 0;
}

const char *sb_sip_stack_tport_ident(const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (sb_ip_sockaddr(host, 0, &ss, &len) < 0)
		return NULL;
	return ss.ss_family == AF_INET6 ? "v6" : "v4";
}

static char *listen_url(const sb_sip_listen_spec *l)
{
	bool v6 = strchr(l->host, ':') != NULL;
	bool tls = !g_ascii_strcasecmp(l->transport, "tls");
	return g_strdup_printf("%s:%s%s%s:%u;transport=%s", tls ? "sips" : "sip",
			       v6 ? "[" : "", l->host, v6 ? "]" : "", l->port,
			       l->transport);
}

sb_sip_stack *sb_sip_stack_new(GMainContext *ctx,
			       const sb_sip_listen_spec *listen, unsigned n,
			       const sb_sip_tls *tls,
			       sb_sip_message_cb cb, void *user_data,
			       GError **err)
{
	char *tls_cert_dir = NULL;
	if (any_tls(listen, n) && !(tls_cert_dir = tls_dir_make(tls, err)))
		return NULL;
	sb_sip_stack *s = g_new0(sb_sip_stack, 1);
	s->tls_dir = tls_cert_dir;
	if (tls_cert_dir)
		g_info("SIP TLS certificate joined into %s/" AGENT_PEM " (removed at exit)",
		       tls_cert_dir);
	s->cb = cb;
	s->cb_data = user_data;
	su_init();
	su_home_init(s->home);
	s->root = su_glib_root_create(NULL);
	s->src = su_glib_root_gsource(s->root);
	g_source_attach(s->src, ctx);

	/* As a TLS client, the server's chain and its name for the host we
	 * connect to (SAN DNS names and CN; sofia does not match SAN IP
	 * addresses); a failed check closes the connection, and
	 * TPTAG_SDWN_ERROR makes that an error for the request waiting on
	 * it (503 at once) instead of a silent Timer B (408 after 32 s). */
	bool verify = tls_cert_dir && tls->verify_server;
	if (verify)
		g_info("SIP TLS: servers' certificates verified against %s",
		       tls_ca_source(tls));
	/* what every listener gets (sofia keeps one TLS context per primary) */
	tagi_t tls_tags[] = {
		{ TAG_IF(tls_cert_dir, TPTAG_CERTIFICATE(tls_cert_dir)) },
		{ TAG_IF(verify, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_SUBJECTS_OUT)) },
		{ TAG_IF(verify, TPTAG_SDWN_ERROR(1)) },
		{ TAG_END() },
	};
	/* A stray-only agent when nothing is configured keeps the proxy's
	 * outgoing side usable (it still needs a socket to send from). */
	sb_sip_listen_spec def = { "udp", "127.0.0.1", 0 };
	if (n == 0) {
		listen = &def;
		n = 1;
	}
	for (unsigned i = 0; i < n; i++) {
		g_autofree char *url = listen_url(&listen[i]);
		const char *ident = sb_sip_stack_tport_ident(listen[i].host);
		int r;
		if (i == 0) {
			s->agent = nta_agent_create(
				s->root, URL_STRING_MAKE(url), agent_cb,
				(nta_agent_magic_t *)s, NTATAG_UA(0),
				NTATAG_SERVER_RPORT(1), NTATAG_MERGE_482(0),
				NTATAG_CANCEL_487(0), NTATAG_EXTRA_100(0),
				TAG_IF(ident, TPTAG_IDENT(ident)),
				TAG_NEXT(tls_tags));
			r = s->agent ? 0 : -1;
		} else {
			r = nta_agent_add_tport(
				s->agent, URL_STRING_MAKE(url),
				TAG_IF(ident, TPTAG_IDENT(ident)),
				TAG_NEXT(tls_tags));
		}
		if (r < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "listen.sip %s:%s:%u: cannot bind (address in use or not local?)",
				    listen[i].transport, listen[i].host, listen[i].port);
			sb_sip_stack_free(s);
			return NULL;
		}
		g_info("SIP listening on %s", url);
	}
	return s;
}

void sb_sip_stack_free(sb_sip_stack *s)
{
	if (!s)
		return;
	if (s->agent)
		nta_agent_destroy(s->agent);
	if (s->root)
		su_root_destroy(s->root);
	if (s->src)
		g_source_destroy(s->src);
	su_home_deinit(s->home);
	su_deinit();
	tls_dir_remove(s->tls_dir);
	g_free(s);
}

nta_agent_t *sb_sip_stack_agent(sb_sip_stack *s) { return s->agent; }
const char *sb_sip_stack_tls_dir(const sb_sip_stack *s) { return s->tls_dir; }
su_root_t *sb_sip_stack_root(sb_sip_stack *s) { return s->root; }
su_home_t *sb_sip_stack_home(sb_sip_stack *s) { return s->home; }

void sb_sip_stack_set_handler(sb_sip_stack *s, sb_sip_message_cb cb,
			      void *user_data)
{
	s->cb = cb;
	s->cb_data = user_data;
}
