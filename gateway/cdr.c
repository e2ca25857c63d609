/* CDR writer: a bounded queue of row copies and one thread that owns the
 * SQLite connection once sb_cdr_open has returned. The signalling thread
 * only copies and pushes; derived columns (duration, loss, MOS) are
 * computed at submit time so the writer only binds and steps. */
#include "gateway/cdr.h"

#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>

/* How long the writer waits for another connection's write lock (a
 * report holding a transaction) before it gives up on a batch. */
#define SB_CDR_BUSY_TIMEOUT_MS 5000
/* Rows per transaction at most: one fsync per batch in WAL mode. */
#define SB_CDR_BATCH 64

typedef struct row {
	char *call_id, *from, *to, *reason, *browser_codec, *sip_codec;
	gint64 start_ms, answer_ms, end_ms, duration_ms;  /* answer -1: none */
	int status;
	sb_cdr_party by;
	bool transcoded;
	uint64_t b_rx, b_lost, s_rx, s_lost;
	double b_jitter, s_jitter, loss_pct, jitter, mos;  /* mos NAN: none */
} row;

struct sb_cdr {
	sqlite3 *db;              /* writer thread only after open */
	sqlite3_stmt *insert;     /* writer thread only after open */
	char *path;
	GAsyncQueue *queue;       /* owned: row *, or &stop_mark */
	GThread *thread;
	unsigned queue_max;
	atomic_uint queued;
	atomic_uint_fast64_t written, dropped, failed;
};

/* Pushed last by sb_cdr_close: the writer stops when it pops it. */
static char stop_mark;

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS cdr ("
	" id INTEGER PRIMARY KEY,"
	" call_id TEXT NOT NULL, from_uri TEXT NOT NULL, to_uri TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL, answer_ms INTEGER, end_ms INTEGER NOT NULL,"
	" duration_ms INTEGER NOT NULL, final_status INTEGER NOT NULL,"
	" hangup_by TEXT NOT NULL, hangup_reason TEXT NOT NULL,"
	" browser_codec TEXT NOT NULL, sip_codec TEXT NOT NULL,"
	" transcoded INTEGER NOT NULL,"
	" browser_rx_packets INTEGER NOT NULL, browser_lost INTEGER NOT NULL,"
	" browser_jitter_ms REAL NOT NULL,"
	" sip_rx_packets INTEGER NOT NULL, sip_lost INTEGER NOT NULL,"
	" sip_jitter_ms REAL NOT NULL,"
	" loss_pct REAL NOT NULL, jitter_ms REAL NOT NULL, mos REAL);"
	"CREATE INDEX IF NOT EXISTS cdr_call_id ON cdr(call_id);"
	"CREATE INDEX IF NOT EXISTS cdr_start ON cdr(start_ms);";

static const char insert_sql[] =
	"INSERT INTO cdr (call_id, from_uri, to_uri, start_ms, answer_ms,"
	" end_ms, duration_ms, final_status, hangup_by, hangup_reason,"
	" browser_codec, sip_codec, transcoded, browser_rx_packets,"
	" browser_lost, browser_jitter_ms, sip_rx_packets, sip_lost,"
	" sip_jitter_ms, loss_pct, jitter_ms, mos) VALUES (?1, ?2, ?3, ?4,"
	" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	" ?19, ?20, ?21, ?22)";

/* ---- pure parts ---------------------------------------------------------- */

double sb_cdr_mos(double loss_pct, double jitter_ms, double rtt_ms)
{
	const double ie = 0, bpl = 25.1;
	double ppl = loss_pct > 0 ? fmin(loss_pct, 100) : 0;
	double d = fmax(rtt_ms, 0) / 2 + 2 * fmax(jitter_ms, 0) + 20;
	double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
	double ie_eff = ie + (95 - ie) * ppl / (ppl + bpl);
	double r = 93.2 - id - ie_eff;
	if (r <= 0)
		return 1.0;
	if (r >= 100)
		return 4.5;
	return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

const char *sb_cdr_party_name(sb_cdr_party p)
{
	switch (p) {
	case SB_CDR_BY_BROWSER: return "browser";
	case SB_CDR_BY_SIP: return "sip";
	case SB_CDR_BY_GATEWAY: return "gateway";
	default: return "";
	}
}

static void row_free(row *r)
{
	g_free(r->call_id);
	g_free(r->from);
	g_free(r->to);
	g_free(r->reason);
	g_free(r->browser_codec);
	g_free(r->sip_codec);
	g_free(r);
}

static void row_media(row *w, const sb_cdr_record *r)
{
	w->b_rx = r->browser.rx_packets;
	w->b_lost = r->browser.lost;
	w->b_jitter = r->browser.jitter_ms;
	w->s_rx = r->sip.rx_packets;
	w->s_lost = r->sip.lost;
	w->s_jitter = r->sip.jitter_ms;
	uint64_t rx = w->b_rx + w->s_rx, lost = w->b_lost + w->s_lost;
	w->loss_pct = rx + lost ? 100.0 * (double)lost / (double)(rx + lost) : 0;
	w->jitter = fmax(w->b_jitter, w->s_jitter);
	w->mos = rx ? sb_cdr_mos(w->loss_pct, w->jitter,
				 fmax(r->browser.rtt_ms, r->sip.rtt_ms)) : NAN;
}

static row *row_new(const sb_cdr_record *r)
{
	row *w = g_new0(row, 1);
	w->call_id = g_strdup(r->call_id);
	w->from = g_strdup(r->from ? r->from : "");
	w->to = g_strdup(r->to ? r->to : "");
	w->reason = g_strdup(r->hangup_reason ? r->hangup_reason : "");
	w->browser_codec = g_strdup(r->browser.codec ? r->browser.codec : "");
	w->sip_codec = g_strdup(r->sip.codec ? r->sip.codec : "");
	w->start_ms = r->start_us / 1000;
	w->end_ms = r->end_us / 1000;
	w->answer_ms = r->answer_us > 0 ? r->answer_us / 1000 : -1;
	w->duration_ms = r->answer_us > 0 && r->end_us > r->answer_us
			 ? (r->end_us - r->answer_us) / 1000 : 0;
	w->status = r->final_status;
	w->by = r->hangup_by;
	w->transcoded = r->transcoded;
	row_media(w, r);
	return w;
}

/* ---- writer thread ------------------------------------------------------- */

static int bind_row(sqlite3_stmt *st, const row *r)
{
	int i = 1, rc = 0;
#define TXT(v) rc |= sqlite3_bind_text(st, i++, (v), -1, SQLITE_STATIC)
#define I64(v) rc |= sqlite3_bind_int64(st, i++, (sqlite3_int64)(v))
#define DBL(v) rc |= sqlite3_bind_double(st, i++, (v))
	TXT(r->call_id); TXT(r->from); TXT(r->to);
	I64(r->start_ms);
	if (r->answer_ms >= 0)
		I64(r->answer_ms);
	else
		rc |= sqlite3_bind_null(st, i++);
	I64(r->end_ms); I64(r->duration_ms); I64(r->status);
	TXT(sb_cdr_party_name(r->by)); TXT(r->reason);
	TXT(r->browser_codec); TXT(r->sip_codec);
	I64(r->transcoded);
	I64(r->b_rx); I64(r->b_lost); DBL(r->b_jitter);
	I64(r->s_rx); I64(r->s_lost); DBL(r->s_jitter);
	DBL(r->loss_pct); DBL(r->jitter);
	if (isnan(r->mos))
		rc |= sqlite3_bind_null(st, i++);
	else
		DBL(r->mos);
#undef TXT
#undef I64
#undef DBL
	return rc;
}

static bool insert_row(sb_cdr *c, const row *r)
{
	sqlite3_reset(c->insert);
	sqlite3_clear_bindings(c->insert);
	if (bind_row(c->insert, r) != SQLITE_OK ||
	    sqlite3_step(c->insert) != SQLITE_DONE) {
		g_warning("cdr: INSERT of call %s failed: %s", r->call_id,
			  sqlite3_errmsg(c->db));
		return false;
	}
	return true;
}

/* One transaction for the rows in batch. */
static void write_batch(sb_cdr *c, GPtrArray *batch)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		g_warning("cdr: BEGIN failed, %u rows lost: %s", batch->len, msg);
		sqlite3_free(msg);
		atomic_fetch_add(&c->failed, batch->len);
		return;
	}
	uint64_t ok = 0;
	for (guint i = 0; i < batch->len; i++)
		ok += insert_row(c, batch->pdata[i]);
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		g_warning("cdr: COMMIT failed, %u rows lost: %s", batch->len, msg);
		sqlite3_free(msg);
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		ok = 0;
	}
	atomic_fetch_add(&c->written, ok);
	atomic_fetch_add(&c->failed, batch->len - ok);
}

static gpointer writer_main(gpointer data)
{
	sb_cdr *c = data;
	GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
	bool stop = false;
	while (!stop) {
		void *item = g_async_queue_pop(c->queue);
		/* take what else is already there, up to a batch */
		while (item) {
			if (item == &stop_mark) {
				stop = true;
				break;
			}
			atomic_fetch_sub(&c->queued, 1);
			g_ptr_array_add(batch, item);
			item = batch->len < SB_CDR_BATCH
			       ? g_async_queue_try_pop(c->queue) : NULL;
		}
		if (batch->len)
			write_batch(c, batch);
		g_ptr_array_set_size(batch, 0);
	}
	g_ptr_array_free(batch, TRUE);
	return NULL;
}

/* ---- open / submit / close ---------------------------------------------- */

static int fail(GError **err, const char *path, sqlite3 *db, const char *what)
{
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cdr.path %s: %s: %s",
		    path, what, db ? sqlite3_errmsg(db) : "out of memory");
	return -EIO;
}

static int query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

/* WAL, schema, version check. 0 or -errno with *err set. */
static int prepare_db(sqlite3 *db, const char *path, GError **err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL)
	    != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    g_ascii_strcasecmp((const char *)sqlite3_column_text(st, 0), "wal")) {
		sqlite3_finalize(st);
		return fail(err, path, db, "cannot switch to WAL mode");
	}
	sqlite3_finalize(st);
	sqlite3_busy_timeout(db, SB_CDR_BUSY_TIMEOUT_MS);
	int version = 0;
	if (query_int(db, "PRAGMA user_version", &version) < 0)
		return fail(err, path, db, "cannot read the schema version");
	if (version > SB_CDR_SCHEMA_VERSION) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cdr.path %s: schema version %d is newer than %d",
			    path, version, SB_CDR_SCHEMA_VERSION);
		return -EINVAL;
	}
	/* NORMAL is durable enough in WAL mode: a power cut loses at most
	 * the last batch, never corrupts the file. */
	if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) ||
	    sqlite3_exec(db, schema_sql, NULL, NULL, NULL) ||
	    sqlite3_exec(db, "PRAGMA user_version=1", NULL, NULL, NULL))
		return fail(err, path, db, "cannot create the schema");
	return 0;
}

int sb_cdr_open(const char *path, unsigned queue_max, sb_cdr **out,
		GError **err)
{
	*out = NULL;
	if (!path || !*path)
		return 0;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK)
		rc = fail(err, path, db, "cannot open");
	else
		rc = prepare_db(db, path, err);
	sqlite3_stmt *ins = NULL;
	if (!rc && sqlite3_prepare_v2(db, insert_sql, -1, &ins, NULL) != SQLITE_OK)
		rc = fail(err, path, db, "cannot prepare the INSERT");
	if (rc) {
		sqlite3_close(db);
		return rc;
	}
	sb_cdr *c = g_new0(sb_cdr, 1);
	c->db = db;
	c->insert = ins;
	c->path = g_strdup(path);
	c->queue_max = queue_max ? queue_max : SB_CDR_DEFAULT_QUEUE;
	c->queue = g_async_queue_new();
	c->thread = g_thread_new("sb-cdr", writer_main, c);
	*out = c;
	return 0;
}

int sb_cdr_submit(sb_cdr *c, const sb_cdr_record *r)
{
	if (!c)
		return 0;
	if (!r || !r->call_id)
		return -EINVAL;
	/* reserve a slot first so concurrent submitters cannot overshoot */
	if (atomic_fetch_add(&c->queued, 1) >= c->queue_max) {
		atomic_fetch_sub(&c->queued, 1);
		atomic_fetch_add(&c->dropped, 1);
		return -ENOBUFS;
	}
	g_async_queue_push(c->queue, row_new(r));
	return 0;
}

void sb_cdr_get_stats(const sb_cdr *c, sb_cdr_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	sb_cdr *m = (sb_cdr *)c;   /* atomics are read-only here */
	st->written = atomic_load(&m->written);
	st->dropped = atomic_load(&m->dropped);
	st->failed = atomic_load(&m->failed);
	st->queued = atomic_load(&m->queued);
}

void sb_cdr_close(sb_cdr *c)
{
	if (!c)
		return;
	g_async_queue_push(c->queue, &stop_mark);
	g_thread_join(c->thread);
	sqlite3_finalize(c->insert);
	if (sqlite3_close(c->db) != SQLITE_OK)
		g_warning("cdr: closing %s: %s", c->path, sqlite3_errmsg(c->db));
	g_async_queue_unref(c->queue);
	g_free(c->path);
	g_free(c);
}
