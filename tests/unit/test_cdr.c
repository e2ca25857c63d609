/* gateway/cdr: rows written by the writer thread and read back with
 * SQLite column by column; WAL mode; the E-model MOS; a full queue
 * drops and counts instead of blocking (the writer is held up by
 * another connection owning the write lock, as a long report would). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "gateway/cdr.h"

typedef struct fixture {
	char *dir;
	char *path;
} fixture;

static int setup(void **state)
{
	fixture *f = g_new0(fixture, 1);
	f->dir = g_dir_make_tmp("sb-cdr-XXXXXX", NULL);
	assert_non_null(f->dir);
	f->path = g_build_filename(f->dir, "cdr.db", NULL);
	*state = f;
	return 0;
}

static void rm_rf(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		g_unlink(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

static int teardown(void **state)
{
	fixture *f = *state;
	rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->path);
	g_free(f);
	return 0;
}

static sqlite3 *db_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static sqlite3_int64 count_rows(const char *path)
{
	sqlite3 *db = db_open(path);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM cdr", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	sqlite3_int64 n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static const sb_cdr_record answered = {
	.call_id = "a84b4c76e66710@pc33.example.org",
	.from = "sip:alice@example.org", .to = "sip:bob@example.com",
	.start_us = 1764201600123456, .answer_us = 1764201602623999,
	.end_us = 1764201662624999, .final_status = 200,
	.hangup_by = SB_CDR_BY_BROWSER, .hangup_reason = "BYE",
	.browser = { .codec = "opus/48000/2", .rx_packets = 1000, .lost = 10,
		     .jitter_ms = 4.5 },
	.sip = { .codec = "PCMU/8000", .rx_packets = 990, .lost = 0,
		 .jitter_ms = 12.25, .rtt_ms = 30 },
	.transcoded = true,
};

static const sb_cdr_record unanswered = {
	.call_id = "x'); DROP TABLE cdr; --",
	.from = "sip:carol@example.org", .to = "sip:dave@example.com",
	.start_us = 1764201700000000, .end_us = 1764201730500000,
	.final_status = 486, .hangup_by = SB_CDR_BY_SIP,
	.hangup_reason = "486 Busy Here",
};

static void test_rows_read_back(void **state)
{
	fixture *f = *state;
	sb_cdr *c = NULL;
	g_autoptr(GError) err = NULL;
	assert_int_equal(sb_cdr_open(f->path, 0, &c, &err), 0);
	assert_non_null(c);
	assert_int_equal(sb_cdr_submit(c, &answered), 0);
	assert_int_equal(sb_cdr_submit(c, &unanswered), 0);
	sb_cdr_close(c);

	sqlite3 *db = db_open(f->path);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT call_id, from_uri, to_uri, start_ms, answer_ms, end_ms,"
		" duration_ms, final_status, hangup_by, hangup_reason,"
		" browser_codec, sip_codec, transcoded, browser_rx_packets,"
		" browser_lost, browser_jitter_ms, sip_rx_packets, sip_lost,"
		" sip_jitter_ms, loss_pct, jitter_ms, mos FROM cdr ORDER BY id",
		-1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), answered.call_id);
	assert_string_equal(sqlite3_column_text(st, 1), "sip:alice@example.org");
	assert_string_equal(sqlite3_column_text(st, 2), "sip:bob@example.com");
	assert_int_equal(sqlite3_column_int64(st, 3), 1764201600123);
	assert_int_equal(sqlite3_column_int64(st, 4), 1764201602623);
	assert_int_equal(sqlite3_column_int64(st, 5), 1764201662624);
	assert_int_equal(sqlite3_column_int64(st, 6), 60001);
	assert_int_equal(sqlite3_column_int(st, 7), 200);
	assert_string_equal(sqlite3_column_text(st, 8), "browser");
	assert_string_equal(sqlite3_column_text(st, 9), "BYE");
	assert_string_equal(sqlite3_column_text(st, 10), "opus/48000/2");
	assert_string_equal(sqlite3_column_text(st, 11), "PCMU/8000");
	assert_int_equal(sqlite3_column_int(st, 12), 1);
	assert_int_equal(sqlite3_column_int64(st, 13), 1000);
	assert_int_equal(sqlite3_column_int64(st, 14), 10);
	assert_true(sqlite3_column_double(st, 15) == 4.5);
	assert_int_equal(sqlite3_column_int64(st, 16), 990);
	assert_int_equal(sqlite3_column_int64(st, 17), 0);
	assert_true(sqlite3_column_double(st, 18) == 12.25);
	assert_true(sqlite3_column_double(st, 19) == 0.5);   /* 10 of 2000 */
	assert_true(sqlite3_column_double(st, 20) == 12.25);
	assert_float_equal(sqlite3_column_double(st, 21), 4.336949655, 1e-9);

	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), unanswered.call_id);
	assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
	assert_int_equal(sqlite3_column_int64(st, 6), 0);
	assert_int_equal(sqlite3_column_int(st, 7), 486);
	assert_string_equal(sqlite3_column_text(st, 8), "sip");
	assert_string_equal(sqlite3_column_text(st, 9), "486 Busy Here");
	assert_string_equal(sqlite3_column_text(st, 10), "");
	assert_int_equal(sqlite3_column_int(st, 12), 0);
	assert_true(sqlite3_column_double(st, 19) == 0);
	assert_int_equal(sqlite3_column_type(st, 21), SQLITE_NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), SB_CDR_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_reopen_appends(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 2; i++) {
		sb_cdr *c = NULL;
		assert_int_equal(sb_cdr_open(f->path, 0, &c, NULL), 0);
		assert_int_equal(sb_cdr_submit(c, &answered), 0);
		sb_cdr_close(c);
	}
	assert_int_equal(count_rows(f->path), 2);
}

static void test_overflow_counted_not_blocking(void **state)
{
	fixture *f = *state;
	const unsigned qmax = 16, total = 200;
	sb_cdr *c = NULL;
	assert_int_equal(sb_cdr_open(f->path, qmax, &c, NULL), 0);

	/* a second connection takes the write lock: the writer waits */
	sqlite3 *other = db_open(f->path);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	unsigned accepted = 0, refused = 0;
	gint64 t0 = g_get_monotonic_time();
	for (unsigned i = 0; i < total; i++) {
		int rc = sb_cdr_submit(c, &answered);
		assert_true(rc == 0 || rc == -ENOBUFS);
		rc ? refused++ : accepted++;
	}
	gint64 spent = g_get_monotonic_time() - t0;
	assert_true(spent < 500000);         /* no submit waited for the disk */
	assert_true(refused > 0);
	/* at most one batch left the queue before the writer got stuck */
	assert_true(accepted >= qmax && accepted <= qmax + 64);
	sb_cdr_stats s;
	sb_cdr_get_stats(c, &s);
	assert_int_equal(s.dropped, refused);
	assert_int_equal(s.written, 0);

	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	sb_cdr_close(c);
	assert_int_equal(count_rows(f->path), accepted);
}

static void test_stats_after_close_flush(void **state)
{
	fixture *f = *state;
	sb_cdr *c = NULL;
	assert_int_equal(sb_cdr_open(f->path, 4, &c, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sb_cdr_submit(c, &unanswered), 0);
	/* wait (bounded) for the writer to commit them */
	sb_cdr_stats s = { 0 };
	for (int i = 0; i < 500 && s.written < 3; i++) {
		g_usleep(2000);
		sb_cdr_get_stats(c, &s);
	}
	assert_int_equal(s.written, 3);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.dropped, 0);
	assert_int_equal(s.failed, 0);
	sb_cdr_close(c);
}

static void test_off_and_errors(void **state)
{
	fixture *f = *state;
	sb_cdr *c = (sb_cdr *)0x1;
	assert_int_equal(sb_cdr_open("", 0, &c, NULL), 0);
	assert_null(c);
	assert_int_equal(sb_cdr_submit(NULL, &answered), 0);
	sb_cdr_close(NULL);

	g_autoptr(GError) err = NULL;
	g_autofree char *bad = g_build_filename(f->dir, "no", "such", "cdr.db", NULL);
	assert_int_equal(sb_cdr_open(bad, 0, &c, &err), -EIO);
	assert_null(c);
	assert_non_null(strstr(err->message, "cdr.path"));

	sqlite3 *db = db_open(f->path);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=7", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	g_clear_error(&err);
	assert_int_equal(sb_cdr_open(f->path, 0, &c, &err), -EINVAL);
	assert_non_null(strstr(err->message, "newer"));

	g_unlink(f->path);
	assert_int_equal(sb_cdr_open(f->path, 0, &c, NULL), 0);
	sb_cdr_record r = answered;
	r.call_id = NULL;
	assert_int_equal(sb_cdr_submit(c, &r), -EINVAL);
	sb_cdr_close(c);
}

static void test_mos(void **state)
{
	assert_float_equal(sb_cdr_mos(0, 0, 0), 4.399802366, 1e-9);
	assert_float_equal(sb_cdr_mos(5, 10, 100), 3.832960455, 1e-9);
	assert_float_equal(sb_cdr_mos(1, 5, 0), 4.309558838, 1e-9);
	assert_true(sb_cdr_mos(60, 200, 400) == 1.0);
	/* monotonic in each impairment */
	assert_true(sb_cdr_mos(2, 0, 0) < sb_cdr_mos(1, 0, 0));
	assert_true(sb_cdr_mos(0, 100, 0) < sb_cdr_mos(0, 50, 0));
	assert_true(sb_cdr_mos(0, 0, 500) < sb_cdr_mos(0, 0, 100));
	/* nonsense input is clamped, not propagated */
	assert_float_equal(sb_cdr_mos(-3, -1, -9), sb_cdr_mos(0, 0, 0), 1e-12);
	assert_true(sb_cdr_mos(250, 0, 0) >= 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_counted_not_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_after_close_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_and_errors, setup, teardown),
		cmocka_unit_test(test_mos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
