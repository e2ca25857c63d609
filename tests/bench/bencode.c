/* Bencode helpers for sbload's NG client (see bencode.h). */
#include "tests/bench/bencode.h"

#include <stdbool.h>
#include <string.h>

void sbl_benc_str(GString *out, const char *s)
{
	g_string_append_printf(out, "%zu:%s", strlen(s), s);
}

/* Length and start of the string at buf[*pos]; advances *pos past it.
 * -1 when malformed. */
static long benc_string(const char *buf, size_t len, size_t *pos,
			const char **start)
{
	size_t p = *pos, n = 0;
	if (p >= len || buf[p] < '0' || buf[p] > '9')
		return -1;
	while (p < len && buf[p] >= '0' && buf[p] <= '9') {
		n = n * 10 + (size_t)(buf[p++] - '0');
		if (n > len)
			return -1;
	}
	if (p >= len || buf[p++] != ':' || n > len - p)
		return -1;
	*start = buf + p;
	*pos = p + n;
	return (long)n;
}

/* Skip one value of any type; depth bounds nesting of hostile input. */
static int benc_skip(const char *buf, size_t len, size_t *pos, int depth)
{
	const char *s;
	if (*pos >= len || depth > 32)
		return -1;
	switch (buf[*pos]) {
	case 'i': {
		const char *e = memchr(buf + *pos, 'e', len - *pos);
		if (!e)
			return -1;
		*pos = (size_t)(e - buf) + 1;
		return 0;
	}
	case 'l':
	case 'd': {
		bool dict = buf[*pos] == 'd';
		(*pos)++;
		while (*pos < len && buf[*pos] != 'e') {
			if (dict && benc_string(buf, len, pos, &s) < 0)
				return -1;
			if (benc_skip(buf, len, pos, depth + 1) < 0)
				return -1;
		}
		if (*pos >= len)
			return -1;
		(*pos)++;
		return 0;
	}
	default:
		return benc_string(buf, len, pos, &s) < 0 ? -1 : 0;
	}
}

char *sbl_benc_dict_str(const char *buf, size_t len, const char *key)
{
	size_t pos = 1, klen = strlen(key);
	if (len < 2 || buf[0] != 'd')
		return NULL;
	while (pos < len && buf[pos] != 'e') {
		const char *k, *v;
		long kn = benc_string(buf, len, &pos, &k);
		if (kn < 0)
			return NULL;
		bool match = (size_t)kn == klen && !memcmp(k, key, klen);
		if (match && pos < len && buf[pos] >= '0' && buf[pos] <= '9') {
			long vn = benc_string(buf, len, &pos, &v);
			return vn < 0 ? NULL : g_strndup(v, (gsize)vn);
		}
		if (benc_skip(buf, len, &pos, 1) < 0)
			return NULL;
	}
	return NULL;
}
