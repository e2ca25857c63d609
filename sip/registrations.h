/* The browsers' registrations as the proxy saw them: one binding per
 * Contact a browser registered through a WebSocket flow and a registrar
 * accepted (2xx). It exists for operators (GET /api/registrations and
 * the sipbridge_registrations gauge); routing does not use it: requests
 * find the browser through the flow token in the Contact alias or Path.
 * A binding is gone when it expires, when a 2xx REGISTER no longer
 * lists it (expires=0), or when its WebSocket closes (the alias stops
 * resolving, so the registrar's binding is unroutable).
 * Pure data: no SIP parsing, no clock (callers pass times in µs).
 * Signalling thread only; the table and every binding are owned by it. */
#ifndef SB_SIP_REGISTRATIONS_H
#define SB_SIP_REGISTRATIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sb_registrations sb_registrations;

/* One binding. Strings are owned by the table; read-only for visitors. */
typedef struct sb_registration {
	char *aor;            /* address of record: the To URI */
	char *contact;        /* the browser's own Contact URI */
	char *alias;          /* the Contact URI the registrar stores (ours) */
	uint64_t conn_id;     /* WebSocket connection (sb_ws_conn_id) */
	char *source;         /* WebSocket peer "IP:port" */
	char *user_agent;     /* User-Agent of the REGISTER, "" if none */
	char *registrar;      /* Request-URI of the REGISTER */
	unsigned expires_s;   /* granted by the registrar's 2xx */
	gint64 registered_unix_us;  /* wall clock of the (last) 2xx */
	gint64 expires_mono_us;     /* monotonic time at which it lapses */
} sb_registration;

/* What the proxy learnt from one accepted REGISTER for one binding;
 * strings are copied (NULL -> ""). */
typedef struct sb_registration_info {
	const char *aor, *contact, *alias, *source, *user_agent, *registrar;
	uint64_t conn_id;
	unsigned expires_s;   /* 0 = remove the binding */
} sb_registration_info;

/* Owned by the caller. */
sb_registrations *sb_registrations_new(void);
void sb_registrations_free(sb_registrations *r);   /* NULL ok */

/* Add or refresh the binding (conn_id, aor, contact), or remove it when
 * expires_s is 0. now_* are the current wall and monotonic clocks.
 * 0 = added or refreshed, 1 = removed, -ENOENT = expires 0 for an
 * unknown binding, -EINVAL = aor or contact missing. */
int sb_registrations_update(sb_registrations *r, const sb_registration_info *b,
			    gint64 now_unix_us, gint64 now_mono_us);

/* Remove the bindings of (conn_id, aor) whose contact is not in
 * keep[0..n_keep): a 2xx lists every binding the registrar still holds
 * for the AoR, so the ones it left out are gone. Returns how many. */
unsigned sb_registrations_prune(sb_registrations *r, uint64_t conn_id,
				const char *aor, const char *const *keep,
				size_t n_keep);

/* The WebSocket conn_id closed: drop its bindings. Returns how many. */
unsigned sb_registrations_remove_conn(sb_registrations *r, uint64_t conn_id);

/* Drop every binding whose expiry is <= now_mono_us. Returns how many. */
unsigned sb_registrations_expire(sb_registrations *r, gint64 now_mono_us);

unsigned sb_registrations_count(const sb_registrations *r);

/* Visit the bindings in registration order (oldest first). Do not
 * modify the table from fn. */
void sb_registrations_foreach(const sb_registrations *r,
			      void (*fn)(const sb_registration *b, void *ud),
			      void *ud);

#endif
