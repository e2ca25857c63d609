/* sofia-sip stack on GLib. Order of creation and teardown follows the
 * facts in shared/notes/signalling.md §1: the GSource is attached by us,
 * and destroyed only after su_root_destroy(). Signalling thread only. */
#include "sip/sip_stack.h"

#include <gio/gio.h>
#include <stdbool.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/tport_tag.h>

struct sb_sip_stack {
	su_home_t home[1];
	su_root_t *root;
	GSource *src;            /* borrowed from root; destroyed after it */
	nta_agent_t *agent;
	sb_sip_message_cb cb;
	void *cb_data;
};

static int agent_cb(nta_agent_magic_t *magic, nta_agent_t *agent, msg_t *msg,
		    sip_t *sip)
{
	sb_sip_stack *s = (sb_sip_stack *)magic;
	if (s->cb)
		return s->cb(s->cb_data, agent, msg, sip);
	nta_msg_discard(agent, msg);
	return 0;
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
			       const char *tls_cert_dir,
			       sb_sip_message_cb cb, void *user_data,
			       GError **err)
{
	sb_sip_stack *s = g_new0(sb_sip_stack, 1);
	s->cb = cb;
	s->cb_data = user_data;
	su_init();
	su_home_init(s->home);
	s->root = su_glib_root_create(NULL);
	s->src = su_glib_root_gsource(s->root);
	g_source_attach(s->src, ctx);

	/* A stray-only agent when nothing is configured keeps the proxy's
	 * outgoing side usable (it still needs a socket to send from). */
	sb_sip_listen_spec def = { "udp", "127.0.0.1", 0 };
	if (n == 0) {
		listen = &def;
		n = 1;
	}
	for (unsigned i = 0; i < n; i++) {
		g_autofree char *url = listen_url(&listen[i]);
		int r;
		if (i == 0) {
			s->agent = nta_agent_create(
				s->root, URL_STRING_MAKE(url), agent_cb,
				(nta_agent_magic_t *)s, NTATAG_UA(0),
				NTATAG_SERVER_RPORT(1), NTATAG_MERGE_482(0),
				NTATAG_CANCEL_487(0), NTATAG_EXTRA_100(0),
				TAG_IF(tls_cert_dir, TPTAG_CERTIFICATE(tls_cert_dir)),
				TAG_END());
			r = s->agent ? 0 : -1;
		} else {
			r = nta_agent_add_tport(
				s->agent, URL_STRING_MAKE(url),
				TAG_IF(tls_cert_dir, TPTAG_CERTIFICATE(tls_cert_dir)),
				TAG_END());
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
	g_free(s);
}

nta_agent_t *sb_sip_stack_agent(sb_sip_stack *s) { return s->agent; }
su_root_t *sb_sip_stack_root(sb_sip_stack *s) { return s->root; }
su_home_t *sb_sip_stack_home(sb_sip_stack *s) { return s->home; }

void sb_sip_stack_set_handler(sb_sip_stack *s, sb_sip_message_cb cb,
			      void *user_data)
{
	s->cb = cb;
	s->cb_data = user_data;
}
