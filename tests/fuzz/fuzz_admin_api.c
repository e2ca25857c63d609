/* libFuzzer target for the admin API router (gateway/admin_api.c): the
 * request line an operator's HTTP client (or anyone who reaches
 * listen.admin) sends. First byte: the method; the rest: the path, as
 * libwebsockets delivers it (percent-decoded, may hold any byte but NUL).
 * A fake provider knows one call, "call-1", and one registration, so the
 * per-call paths reach their JSON writers. Checks: every answer has a
 * status the API documents and a body; JSON answers parse. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/admin_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int list_calls(GPtrArray *out, void *ud)
{
	(void)ud;
	g_ptr_array_add(out, sb_admin_call_new("call-1", "sip:a@x", "sip:b@y"));
	return 0;
}

static sb_admin_call *get_call(const char *call_id, void *ud)
{
	(void)ud;
	return strcmp(call_id, "call-1") == 0 ?
	       sb_admin_call_new(call_id, "sip:a@x", "sip:b@y") : NULL;
}

static int hang_up(const char *call_id, void *ud)
{
	(void)ud;
	return strcmp(call_id, "call-1") == 0 ? 0 : -ENOENT;
}

static int list_registrations(GPtrArray *out, void *ud)
{
	(void)ud;
	g_ptr_array_add(out, sb_admin_registration_new("sip:a@x", "sip:a@df.invalid;transport=ws",
						       "127.0.0.1:5", "JsSIP", 300));
	return 0;
}

static int drain(void *ud)
{
	(void)ud;
	return 0;
}

static int reload(char **error, void *ud)
{
	(void)ud;
	*error = g_strdup("x.conf:1: fuzz");
	return -EINVAL;
}

static char *metrics(void *ud)
{
	(void)ud;
	return g_strdup("# fuzz\n");
}

static const sb_admin_provider provider = {
	.list_calls = list_calls,
	.get_call = get_call,
	.hang_up = hang_up,
	.list_registrations = list_registrations,
	.drain = drain,
	.reload = reload,
	.metrics = metrics,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *methods[] = { "GET", "POST", "DELETE", "PUT", "HEAD", "" };
	if (size < 1)
		return 0;
	const char *method = methods[data[0] % G_N_ELEMENTS(methods)];
	char *path = g_strndup((const char *)data + 1, size - 1);
	char *body = NULL;
	const char *ctype = NULL;

	int status = sb_admin_handle(&provider, method, path, &body, &ctype);
	switch (status) {
	case 200: case 202: case 400: case 404: case 405: case 409: case 500: case 501:
		break;
	default:
		abort();
	}
	if (!body || !ctype)
		abort();
	if (strstr(ctype, "json")) {
		json_t *j = json_loads(body, 0, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
	g_free(body);
	g_free(path);
	return 0;
}
