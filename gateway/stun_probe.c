/* media.stun_server: learn the gateway's mapped address (see stun_probe.h). */
#include "gateway/stun_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include "common/ip.h"
#include "gateway/config.h"

struct sb_stun_probe {
	char *server;
	char *local;
	char last[INET6_ADDRSTRLEN];
	sb_stun_probe_cb cb;
	void *user_data;
	GCancellable *cancel;        /* owned; cancelled on free */
	GSource *timer;              /* owned: the next probe */
	bool running;                /* a probe is on the pool */
};

/* What a Binding answer may carry that we must understand (RFC 8489
 * §14: comprehension-required attributes outside the list refuse it). */
static const uint16_t known_attrs[] = {
	STUN_ATTRIBUTE_MAPPED_ADDRESS, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
	STUN_ATTRIBUTE_ERROR_CODE, STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
	STUN_ATTRIBUTE_FINGERPRINT, 0
};

/* Sends the request until an answer that validates arrives. */
static int exchange(int fd, const struct sockaddr *srv, socklen_t srv_len,
		    unsigned tries, unsigned timeout_ms, struct sockaddr_storage *mapped)
{
	StunAgent agent;
	StunMessage req, resp;
	uint8_t out[STUN_MAX_MESSAGE_SIZE], in[STUN_MAX_MESSAGE_SIZE];
	stun_agent_init(&agent, known_attrs, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_USE_FINGERPRINT);
	size_t n = stun_usage_bind_create(&agent, &req, out, sizeof(out));
	if (!n)
		return -EPROTO;
	for (unsigned t = 0; t < tries; t++) {
		if (sendto(fd, out, n, 0, srv, srv_len) < 0)
			return -errno;
		gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
		for (gint64 now; (now = g_get_monotonic_time()) < end;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, (int)((end - now + 999) / 1000)) <= 0)
				break;
			ssize_t r = recv(fd, in, sizeof(in), 0);
			if (r <= 0 || stun_agent_validate(&agent, &resp, in, (size_t)r,
							  NULL, NULL) != STUN_VALIDATION_SUCCESS)
				continue;       /* not ours: keep waiting */
			struct sockaddr_storage alt;
			socklen_t mlen = sizeof(*mapped), alen = sizeof(alt);
			StunUsageBindReturn b = stun_usage_bind_process(
				&resp, (struct sockaddr *)mapped, &mlen,
				(struct sockaddr *)&alt, &alen);
			if (b == STUN_USAGE_BIND_RETURN_SUCCESS)
				return 0;
			if (b != STUN_USAGE_BIND_RETURN_INVALID)
				return -EPROTO; /* an error answer, or a redirect */
		}
	}
	return -ETIMEDOUT;
}

int sb_stun_probe_once(const char *server, const char *local_addr,
		       unsigned tries, unsigned timeout_ms, char *out, size_t size)
{
	sb_hostport hp;
	struct sockaddr_storage srv, local, mapped;
	socklen_t srv_len, local_len;
	if (sb_config_parse_hostport(server, &hp) < 0 ||
	    sb_ip_sockaddr(hp.host, hp.port, &srv, &srv_len) < 0 ||
	    sb_ip_sockaddr(local_addr, 0, &local, &local_len) < 0 ||
	    srv.ss_family != local.ss_family)
		return -EINVAL;
	int fd = socket(srv.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int err = bind(fd, (struct sockaddr *)&local, local_len) < 0 ? -errno
		: exchange(fd, (struct sockaddr *)&srv, srv_len, tries, timeout_ms, &mapped);
	close(fd);
	if (err < 0)
		return err;
	return sb_ip_ntop(&mapped, out, size) ? 0 : -EPROTO;
}

/* ---- the periodic probe -------------------------------------------------- */

static void probe_start(sb_stun_probe *p);

static gboolean on_timer(gpointer data)
{
	sb_stun_probe *p = data;
	g_clear_pointer(&p->timer, g_source_unref);
	probe_start(p);
	return G_SOURCE_REMOVE;
}

static void schedule(sb_stun_probe *p)
{
	p->timer = g_timeout_source_new_seconds(SB_STUN_PROBE_INTERVAL_S);
	g_source_set_callback(p->timer, on_timer, p, NULL);
	g_source_attach(p->timer, g_main_context_get_thread_default());
}

/* Pool thread: the task data is the probe's own copies (see probe_start). */
static void probe_thread(GTask *task, gpointer source, gpointer data,
			 GCancellable *cancel)
{
	char **args = data;   /* server, local */
	char addr[INET6_ADDRSTRLEN];
	(void)source;
	(void)cancel;
	int err = sb_stun_probe_once(args[0], args[1], 4, 500, addr, sizeof(addr));
	if (err < 0)
		g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(-err),
					"%s", g_strerror(-err));
	else
		g_task_return_pointer(task, g_strdup(addr), g_free);
}

/* Signalling thread. A cancelled task's probe may be gone: p only when
 * the task was not cancelled. */
static void probe_done(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *addr = g_task_propagate_pointer(G_TASK(res), &err);
	(void)source;
	if (g_cancellable_is_cancelled(g_task_get_cancellable(G_TASK(res))))
		return;
	sb_stun_probe *p = data;
	p->running = false;
	if (!addr) {
		g_warning("media.stun_server %s: no answer from %s (%s); "
			  "browsers get host candidates only", p->server, p->local,
			  err ? err->message : "?");
	} else if (strcmp(addr, p->last)) {
		g_message("media.stun_server %s: this gateway is %s from outside",
			  p->server, addr);
		g_strlcpy(p->last, addr, sizeof(p->last));
		p->cb(addr, p->user_data);
	}
	schedule(p);
}

static void probe_start(sb_stun_probe *p)
{
	if (p->running)
		return;
	p->running = true;
	char **args = g_new0(char *, 3);
	args[0] = g_strdup(p->server);
	args[1] = g_strdup(p->local);
	GTask *t = g_task_new(NULL, p->cancel, probe_done, p);
	g_task_set_task_data(t, args, (GDestroyNotify)g_strfreev);
	g_task_run_in_thread(t, probe_thread);
	g_object_unref(t);
}

sb_stun_probe *sb_stun_probe_new(const char *server, const char *local_addr,
				 sb_stun_probe_cb cb, void *user_data)
{
	sb_hostport hp;
	if (!server || !local_addr || !cb || sb_config_parse_hostport(server, &hp) < 0)
		return NULL;
	sb_stun_probe *p = g_new0(sb_stun_probe, 1);
	p->server = g_strdup(server);
	p->local = g_strdup(local_addr);
	p->cb = cb;
	p->user_data = user_data;
	p->cancel = g_cancellable_new();
	probe_start(p);
	return p;
}

void sb_stun_probe_free(sb_stun_probe *p)
{
	if (!p)
		return;
	/* a probe on the pool finishes on its own copies; its callback sees
	 * the cancellation and leaves p alone */
	g_cancellable_cancel(p->cancel);
	g_object_unref(p->cancel);
	if (p->timer) {
		g_source_destroy(p->timer);
		g_source_unref(p->timer);
	}
	g_free(p->server);
	g_free(p->local);
	g_free(p);
}
