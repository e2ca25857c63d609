/* sb_heap_trim: memory freed between live blocks goes back to the
 * kernel (RssAnon drops), which glibc's free alone does not do. The
 * blocks come from glibc's allocator by its own names, so that the test
 * holds under AddressSanitizer too, whose malloc is its own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/heap_trim.h"

#define BLOCKS 20000
#define BLOCK 2048

/* glibc's allocator, whoever intercepts malloc */
void *__libc_malloc(size_t size);
void __libc_free(void *p);

static long rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* 40 MB in 2 KiB blocks, one in eight kept: the rest is freed in runs
 * of 14 KiB between live blocks, as a call's set-up transactions end
 * between the blocks of calls that go on. */
static void test_trim_releases(void **state)
{
	(void)state;
	static char *b[BLOCKS];
	for (size_t i = 0; i < BLOCKS; i++) {
		b[i] = __libc_malloc(BLOCK);
		assert_non_null(b[i]);
		memset(b[i], 0x5a, BLOCK);
	}
	long full = rss_anon_kb();
	for (size_t i = 0; i < BLOCKS; i++)
		if (i % 8)
			__libc_free(g_steal_pointer(&b[i]));
	long freed = rss_anon_kb();
	bool released = sb_heap_trim_now();
	long trimmed = rss_anon_kb();
	print_message("    RssAnon: %ld kB in use, %ld after free, %ld after trim\n",
		      full, freed, trimmed);
	long gone = BLOCKS / 8 * 7 * BLOCK / 1024;
	assert_true(released);
	assert_true(freed > full - gone / 4);      /* free alone kept it */
	assert_true(trimmed < freed - gone / 2);   /* the trim did not */
	for (size_t i = 0; i < BLOCKS; i += 8)
		assert_int_equal((unsigned char)b[i][BLOCK - 1], 0x5a);
	for (size_t i = 0; i < BLOCKS; i++)
		__libc_free(b[i]);
}

static void test_timer(void **state)
{
	(void)state;
	GMainContext *ctx = g_main_context_new();
	GSource *s = sb_heap_trim_start(ctx);
	assert_ptr_equal(g_source_get_context(s), ctx);
	assert_false(g_source_is_destroyed(s));
	g_source_destroy(s);
	g_source_unref(s);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim_releases),
		cmocka_unit_test(test_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
