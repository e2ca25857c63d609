/* Browser registrations seen through the proxy (see registrations.h).
 * A flat array in registration order: the API lists it in that order,
 * and a REGISTER every few minutes per browser makes a linear search
 * cheaper than keeping a second index consistent. */
#include "sip/registrations.h"

#include <errno.h>
#include <string.h>

struct sb_registrations {
	GPtrArray *items;   /* sb_registration * (owned) */
};

static void binding_free(gpointer d)
{
	sb_registration *b = d;
	g_free(b->aor);
	g_free(b->contact);
	g_free(b->alias);
	g_free(b->source);
	g_free(b->user_agent);
	g_free(b->registrar);
	g_free(b);
}

sb_registrations *sb_registrations_new(void)
{
	sb_registrations *r = g_new0(sb_registrations, 1);
	r->items = g_ptr_array_new_with_free_func(binding_free);
	return r;
}

void sb_registrations_free(sb_registrations *r)
{
	if (!r)
		return;
	g_ptr_array_free(r->items, TRUE);
	g_free(r);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static gint find(const sb_registrations *r, uint64_t conn_id, const char *aor,
		 const char *contact)
{
	for (guint i = 0; i < r->items->len; i++) {
		const sb_registration *b = r->items->pdata[i];
		if (b->conn_id == conn_id && !strcmp(b->aor, aor) &&
		    !strcmp(b->contact, contact))
			return (gint)i;
	}
	return -1;
}

/* Replace the strings that may change on a refresh (a new User-Agent
 * after a reload of the page on the same socket is possible). */
static void fill(sb_registration *b, const sb_registration_info *in,
		 gint64 now_unix_us, gint64 now_mono_us)
{
	g_free(b->alias);
	g_free(b->source);
	g_free(b->user_agent);
	g_free(b->registrar);
	b->alias = g_strdup(nz(in->alias));
	b->source = g_strdup(nz(in->source));
	b->user_agent = g_strdup(nz(in->user_agent));
	b->registrar = g_strdup(nz(in->registrar));
	b->expires_s = in->expires_s;
	b->registered_unix_us = now_unix_us;
	b->expires_mono_us = now_mono_us + (gint64)in->expires_s * G_USEC_PER_SEC;
}

int sb_registrations_update(sb_registrations *r, const sb_registration_info *in,
			    gint64 now_unix_us, gint64 now_mono_us)
{
	if (!in->aor || !*in->aor || !in->contact || !*in->contact)
		return -EINVAL;
	gint i = find(r, in->conn_id, in->aor, in->contact);
	if (in->expires_s == 0) {
		if (i < 0)
			return -ENOENT;
		g_ptr_array_remove_index(r->items, (guint)i);
		return 1;
	}
	sb_registration *b;
	if (i >= 0) {
		b = r->items->pdata[i];
	} else {
		b = g_new0(sb_registration, 1);
		b->aor = g_strdup(in->aor);
		b->contact = g_strdup(in->contact);
		b->conn_id = in->conn_id;
		g_ptr_array_add(r->items, b);
	}
	fill(b, in, now_unix_us, now_mono_us);
	return 0;
}

static bool listed(const char *contact, const char *const *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] && !strcmp(keep[i], contact))
			return true;
	return false;
}

/* Remove every binding `doomed` says; returns how many. */
static unsigned remove_where(sb_registrations *r,
			     bool (*doomed)(const sb_registration *b,
					    const void *ctx),
			     const void *ctx)
{
	unsigned n = 0;
	for (guint i = r->items->len; i-- > 0;) {
		if (!doomed(r->items->pdata[i], ctx))
			continue;
		g_ptr_array_remove_index(r->items, i);
		n++;
	}
	return n;
}

typedef struct prune_ctx {
	uint64_t conn_id;
	const char *aor;
	const char *const *keep;
	size_t n_keep;
} prune_ctx;

static bool not_kept(const sb_registration *b, const void *ctx)
{
	const prune_ctx *p = ctx;
	return b->conn_id == p->conn_id && strcmp(b->aor, nz(p->aor)) == 0 &&
	       !listed(b->contact, p->keep, p->n_keep);
}

unsigned sb_registrations_prune(sb_registrations *r, uint64_t conn_id,
				const char *aor, const char *const *keep,
				size_t n_keep)
{
	prune_ctx p = { conn_id, aor, keep, n_keep };
	return remove_where(r, not_kept, &p);
}

static bool on_conn(const sb_registration *b, const void *ctx)
{
	return b->conn_id == *(const uint64_t *)ctx;
}

unsigned sb_registrations_remove_conn(sb_registrations *r, uint64_t conn_id)
{
	return remove_where(r, on_conn, &conn_id);
}

static bool lapsed(const sb_registration *b, const void *ctx)
{
	return b->expires_mono_us <= *(const gint64 *)ctx;
}

unsigned sb_registrations_expire(sb_registrations *r, gint64 now_mono_us)
{
	return remove_where(r, lapsed, &now_mono_us);
}

unsigned sb_registrations_count(const sb_registrations *r)
{
	return r ? r->items->len : 0;
}

void sb_registrations_foreach(const sb_registrations *r,
			      void (*fn)(const sb_registration *b, void *ud),
			      void *ud)
{
	for (guint i = 0; r && i < r->items->len; i++)
		fn(r->items->pdata[i], ud);
}
