/* libFuzzer target for the NG reply parser of the benchmark client
 * (tests/bench/bencode.c), which reads rtpengine's datagrams. The input
 * is parsed as a reply for a few keys: a value found must lie inside the
 * input and be at most as long. Then the input, split in two, becomes a
 * key and a value that sbl_benc_str encodes into a dictionary between two
 * other entries: the parser must find exactly that value again. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "tests/bench/bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(const char *buf, size_t len, const char *key)
{
	char *v = sbl_benc_dict_str(buf, len, key);
	if (v && strlen(v) > len)
		__builtin_trap();
	g_free(v);
}

static void roundtrip(const uint8_t *data, size_t size)
{
	/* NUL-free key and value: sbl_benc_str takes C strings */
	size_t half = size / 2;
	char *key = g_strndup((const char *)data, half);
	char *val = g_strndup((const char *)data + half, size - half);
	if (!key[0] || strcmp(key, "result") == 0 || strcmp(key, "sdp") == 0)
		goto out;
	GString *d = g_string_new("d");
	sbl_benc_str(d, "result");
	g_string_append(d, "li1ei2ee");
	sbl_benc_str(d, key);
	sbl_benc_str(d, val);
	sbl_benc_str(d, "sdp");
	sbl_benc_str(d, "v=0");
	g_string_append_c(d, 'e');
	char *got = sbl_benc_dict_str(d->str, d->len, key);
	if (!got || strcmp(got, val) != 0)
		__builtin_trap();
	g_free(got);
	got = sbl_benc_dict_str(d->str, d->len, "sdp");
	if (!got || strcmp(got, "v=0") != 0)
		__builtin_trap();
	g_free(got);
	g_string_free(d, TRUE);
out:
	g_free(key);
	g_free(val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	lookup(buf, size, "result");
	lookup(buf, size, "sdp");
	lookup(buf, size, "error-reason");
	roundtrip(data, size);
	return 0;
}
