/* Flow table: token -> flow. Signalling thread only. */
#include "sip/flow.h"

#include <openssl/rand.h>

static GHashTable *flows;      /* token (borrowed from flow) -> sb_flow */

static void make_token(char *out)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[SB_FLOW_TOKEN_LEN];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		g_error("RAND_bytes() failed: no entropy for flow tokens");
	for (int i = 0; i < SB_FLOW_TOKEN_LEN; i++)
		out[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	out[SB_FLOW_TOKEN_LEN] = '\0';
}

sb_flow *sb_flow_new(sb_ws_conn *conn)
{
	if (!flows)
		flows = g_hash_table_new(g_str_hash, g_str_equal);
	sb_flow *f = g_new0(sb_flow, 1);
	g_ref_count_init(&f->ref);
	do
		make_token(f->token);
	while (g_hash_table_contains(flows, f->token));
	f->conn = sb_ws_conn_ref(conn);
	f->contacts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	f->dialogs = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_hash_table_insert(flows, f->token, f);
	return f;
}

void sb_flow_close(sb_flow *f)
{
	if (flows && g_hash_table_lookup(flows, f->token) == f)
		g_hash_table_remove(flows, f->token);
}

sb_flow *sb_flow_ref(sb_flow *f)
{
	g_ref_count_inc(&f->ref);
	return f;
}

void sb_flow_unref(sb_flow *f)
{
	if (!f || !g_ref_count_dec(&f->ref))
		return;
	sb_flow_close(f);
	sb_ws_conn_unref(f->conn);
	g_hash_table_destroy(f->contacts);
	g_hash_table_destroy(f->dialogs);
	g_free(f);
}

sb_flow *sb_flow_lookup(const char *token)
{
	if (!flows || !token)
		return NULL;
	sb_flow *f = g_hash_table_lookup(flows, token);
	return f && sb_ws_conn_is_open(f->conn) ? f : NULL;
}

void sb_flow_set_contact(sb_flow *f, const char *user, const char *uri)
{
	g_hash_table_replace(f->contacts, g_strdup(user), g_strdup(uri));
}

const char *sb_flow_get_contact(const sb_flow *f, const char *user)
{
	return g_hash_table_lookup(f->contacts, user);
}

unsigned sb_flow_count(void)
{
	return flows ? g_hash_table_size(flows) : 0;
}
