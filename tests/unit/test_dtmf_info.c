/* SIP INFO DTMF bodies: table of accepted and rejected inputs. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transcoding/dtmf_info.h"

typedef struct info_case {
	const char *type;
	const char *body;
	int ret;
	char digit;
	unsigned ms;
} info_case;

static const info_case cases[] = {
	{ "application/dtmf-relay", "Signal=1\r\nDuration=160\r\n", 0, '1', 160 },
	{ "application/dtmf-relay", "Signal=1\r\nDuration=160", 0, '1', 160 },
	{ "Application/DTMF-Relay; charset=x", "signal= #\nduration = 250\n", 0, '#', 250 },
	{ "application/dtmf-relay", "Signal=*\r\n", 0, '*', 250 },
	{ "application/dtmf-relay", "Signal=a\r\nDuration=100\r\n", 0, 'A', 100 },
	{ "application/dtmf-relay", "Signal=11\r\nDuration=100\r\n", 0, '#', 100 },
	{ "application/dtmf-relay", "Signal=10", 0, '*', 250 },
	{ "application/dtmf-relay", "Duration=90\r\nSignal=5\r\n", 0, '5', 90 },
	{ "application/dtmf-relay", "Signal=5\r\nVolume=10\r\nDuration=90", 0, '5', 90 },
	{ "application/dtmf-relay", "Signal=5\r\nDuration=0", 0, '5', 250 },
	{ "application/dtmf-relay", "Signal=5\r\nDuration=999999", 0, '5', 10000 },
	{ "application/dtmf-relay", "Signal=5\r\n\r\n\r\n", 0, '5', 250 },
	{ "application/dtmf-relay", "Duration=160\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal=\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal=E\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal=16\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal=12x\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal=1\r\nDuration=-5\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal=1\r\nDuration=1000000\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "Signal 1\r\n", -EBADMSG, 0, 0 },
	{ "application/dtmf-relay", "", -EBADMSG, 0, 0 },
	{ "application/dtmf", "1", 0, '1', 250 },
	{ "application/dtmf", " #\r\n", 0, '#', 250 },
	{ "application/dtmf", "d", 0, 'D', 250 },
	{ "application/dtmf", "12", 0, 'A', 250 },
	{ "application/dtmf", "x", -EBADMSG, 0, 0 },
	{ "application/dtmf", "1 2", -EBADMSG, 0, 0 },
	{ "application/sdp", "Signal=1", -ENOTSUP, 0, 0 },
	{ "application/dtmf-relayx", "Signal=1", -ENOTSUP, 0, 0 },
	{ "text/plain", "1", -ENOTSUP, 0, 0 },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const info_case *c = &cases[i];
		char digit = 0;
		unsigned ms = 0;
		int r = sb_dtmf_info_parse(c->type, c->body, strlen(c->body),
					   &digit, &ms);
		print_message("case %zu: %d %c %u\n", i, r, digit ? digit : '-',
			      ms);
		assert_int_equal(r, c->ret);
		if (r == 0) {
			assert_int_equal(digit, c->digit);
			assert_int_equal(ms, c->ms);
		}
	}
}

/* The parser must respect len: no NUL terminator is needed or read. */
static void test_not_terminated(void **state)
{
	(void)state;
	char buf[] = { 'S', 'i', 'g', 'n', 'a', 'l', '=', '3', 'Z' };
	char digit;
	unsigned ms;
	assert_int_equal(sb_dtmf_info_parse("application/dtmf-relay", buf, 8,
					    &digit, &ms), 0);
	assert_int_equal(digit, '3');
	assert_int_equal(sb_dtmf_info_parse("application/dtmf-relay", buf, 9,
					    &digit, &ms), -EBADMSG);
}

static void test_build(void **state)
{
	(void)state;
	char buf[64], digit;
	unsigned ms;
	ssize_t n = sb_dtmf_info_build('b', 160, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)strlen("Signal=B\r\nDuration=160\r\n"));
	assert_string_equal(buf, "Signal=B\r\nDuration=160\r\n");
	assert_int_equal(sb_dtmf_info_parse("application/dtmf-relay", buf,
					    (size_t)n, &digit, &ms), 0);
	assert_int_equal(digit, 'B');
	assert_int_equal(ms, 160);
	assert_int_equal(sb_dtmf_info_build('1', 160, buf, 10), -ENOSPC);
	assert_int_equal(sb_dtmf_info_build('Z', 160, buf, 64), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_not_terminated),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
