/* SIP INFO DTMF bodies (see dtmf_info.h). Works on (pointer, length)
 * slices of the untrusted body, never reading past len, with no
 * allocation. Any thread. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "transcoding/dtmf_info.h"
#include "transcoding/telephone_event.h"

/* Bodies are a few bytes; anything this long is not DTMF. */
#define INFO_MAX_BODY 1024

typedef struct slice {
	const char *p;
	size_t n;
} slice;

static slice trim(slice s)
{
	while (s.n > 0 && g_ascii_isspace(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && g_ascii_isspace(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool slice_eq(slice s, const char *lit)
{
	size_t l = strlen(lit);
	return s.n == l && g_ascii_strncasecmp(s.p, lit, l) == 0;
}

/* Decimal 0..999999; false for empty, non-digits or longer input. */
static bool parse_uint(slice s, unsigned *out)
{
	unsigned v = 0;

	if (s.n == 0 || s.n > 6)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (!g_ascii_isdigit(s.p[i]))
			return false;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	*out = v;
	return true;
}

/* A digit character, or an RFC 4733 event number 0..15 ("11" = '#'). */
static bool parse_signal(slice s, char *digit)
{
	unsigned code;

	s = trim(s);
	if (s.n == 1 && sb_tel_event_from_char(s.p[0]) >= 0) {
		*digit = g_ascii_toupper(s.p[0]);
		return true;
	}
	if (parse_uint(s, &code) && code <= SB_TEL_EVENT_DTMF_MAX) {
		*digit = sb_tel_event_to_char((uint8_t)code);
		return true;
	}
	return false;
}

static bool parse_duration(slice s, unsigned *ms)
{
	unsigned v;

	if (!parse_uint(trim(s), &v))
		return false;
	if (v == 0)
		v = SB_DTMF_INFO_DEFAULT_MS;
	*ms = v > SB_DTMF_INFO_MAX_MS ? SB_DTMF_INFO_MAX_MS : v;
	return true;
}

/* "Key=Value" lines separated by LF or CRLF; unknown keys are skipped. */
static int parse_relay(slice body, char *digit, unsigned *ms)
{
	bool have_signal = false;

	*ms = SB_DTMF_INFO_DEFAULT_MS;
	while (body.n > 0) {
		const char *nl = memchr(body.p, '\n', body.n);
		size_t ll = nl ? (size_t)(nl - body.p) : body.n;
		slice line = { body.p, ll };
		body.p += nl ? ll + 1 : ll;
		body.n -= nl ? ll + 1 : ll;

		line = trim(line);
		if (line.n == 0)
			continue;
		const char *eq = memchr(line.p, '=', line.n);
		if (eq == NULL)
			return -EBADMSG;
		slice key = trim((slice){ line.p, (size_t)(eq - line.p) });
		slice val = { eq + 1, line.n - (size_t)(eq - line.p) - 1 };
		if (slice_eq(key, "Signal") && !have_signal) {
			if (!parse_signal(val, digit))
				return -EBADMSG;
			have_signal = true;
		} else if (slice_eq(key, "Duration")) {
			if (!parse_duration(val, ms))
				return -EBADMSG;
		}
	}
	return have_signal ? 0 : -EBADMSG;
}

static slice media_type(const char *content_type)
{
	slice s = { content_type, strlen(content_type) };
	const char *semi = memchr(s.p, ';', s.n);
	if (semi != NULL)
		s.n = (size_t)(semi - s.p);
	return trim(s);
}

int sb_dtmf_info_parse(const char *content_type, const char *body,
		       size_t len, char *digit, unsigned *duration_ms)
{
	if (content_type == NULL || digit == NULL || duration_ms == NULL)
		return -EINVAL;
	slice type = media_type(content_type);
	bool relay = slice_eq(type, "application/dtmf-relay");
	if (!relay && !slice_eq(type, "application/dtmf"))
		return -ENOTSUP;
	if (body == NULL || len == 0 || len > INFO_MAX_BODY)
		return -EBADMSG;

	slice b = { body, len };
	if (relay)
		return parse_relay(b, digit, duration_ms);
	*duration_ms = SB_DTMF_INFO_DEFAULT_MS;
	return parse_signal(b, digit) ? 0 : -EBADMSG;
}

ssize_t sb_dtmf_info_build(char digit, unsigned duration_ms, char *buf,
			   size_t cap)
{
	if (buf == NULL || sb_tel_event_from_char(digit) < 0)
		return -EINVAL;
	int n = snprintf(buf, cap, "Signal=%c\r\nDuration=%u\r\n",
			 g_ascii_toupper(digit), duration_ms);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
