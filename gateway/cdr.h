/* Call detail records in SQLite: one row per call, written by a writer
 * thread of its own so that neither the signalling thread nor a media
 * worker ever waits for the disk. sb_cdr_submit() copies the record
 * into a bounded GAsyncQueue and returns at once; when the queue is
 * full the record is dropped and counted (a stuck disk must not grow the
 * daemon's memory or stall calls). The database runs in WAL mode so
 * readers (reports, `sqlite3 cdr.db`) never block the writer.
 *
 * Configuration: cdr.path (string, default "" = no CDRs). Relative
 * paths are relative to the daemon's working directory.
 *
 * Schema (PRAGMA user_version = 1), table `cdr`, one row per call:
 *   id                 INTEGER PRIMARY KEY
 *   call_id            TEXT NOT NULL     SIP Call-ID
 *   from_uri, to_uri   TEXT NOT NULL     URIs of From and To (no tags)
 *   start_ms           INTEGER NOT NULL  first INVITE, Unix time in ms
 *   answer_ms          INTEGER           2xx, Unix ms; NULL = unanswered
 *   end_ms             INTEGER NOT NULL  the call ended, Unix ms
 *   duration_ms        INTEGER NOT NULL  end - answer; 0 when unanswered
 *   final_status       INTEGER NOT NULL  final INVITE status; 0 = none
 *   hangup_by          TEXT NOT NULL     'browser', 'sip', 'gateway', ''
 *   hangup_reason      TEXT NOT NULL     "BYE", "CANCEL", "RTP timeout"...
 *   browser_codec      TEXT NOT NULL     e.g. "opus/48000/2"; '' = none
 *   sip_codec          TEXT NOT NULL     e.g. "PCMU/8000"; '' = none
 *   transcoded         INTEGER NOT NULL  0 or 1
 *   browser_rx_packets, sip_rx_packets   INTEGER NOT NULL  RTP received
 *   browser_lost, sip_lost               INTEGER NOT NULL  RFC 3550 A.3
 *   browser_jitter_ms, sip_jitter_ms     REAL NOT NULL     RFC 3550 A.8
 *   loss_pct           REAL NOT NULL     100 * lost / (received + lost),
 *                                        both legs together
 *   jitter_ms          REAL NOT NULL     the larger leg jitter
 *   mos                REAL              sb_cdr_mos(); NULL = no media
 * Indexes: cdr_call_id (call_id), cdr_start (start_ms).
 * "browser" is the WebSocket/WebRTC side, "sip" the SIP side (or the
 * local service: echo, conference). doc/CDR.md has the same table.
 *
 * Thread: sb_cdr_open/sb_cdr_close on one thread (the signalling
 * thread); sb_cdr_submit and sb_cdr_get_stats from any thread. */
#ifndef SB_GATEWAY_CDR_H
#define SB_GATEWAY_CDR_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define SB_CDR_SCHEMA_VERSION 1
#define SB_CDR_DEFAULT_QUEUE 1024

typedef struct sb_cdr sb_cdr;

typedef enum {
	SB_CDR_BY_NONE = 0,       /* unknown: written as '' */
	SB_CDR_BY_BROWSER,        /* BYE/CANCEL from the browser, WS closed */
	SB_CDR_BY_SIP,            /* BYE/CANCEL/final error from SIP */
	SB_CDR_BY_GATEWAY,        /* timeout, media failure, shutdown, hangup
				     through the admin API */
} sb_cdr_party;

/* Media facts about one leg, as the worker reported them last. */
typedef struct sb_cdr_leg {
	const char *codec;        /* "opus/48000/2"; NULL = none */
	uint64_t rx_packets;
	uint64_t lost;
	double jitter_ms;
	double rtt_ms;            /* 0 = unknown */
} sb_cdr_leg;

/* One finished call. Strings are borrowed: sb_cdr_submit copies them. */
typedef struct sb_cdr_record {
	const char *call_id, *from, *to;
	gint64 start_us;          /* g_get_real_time() at the first INVITE */
	gint64 answer_us;         /* at the 2xx; 0 = never answered */
	gint64 end_us;            /* at the end */
	int final_status;         /* 0 = none */
	sb_cdr_party hangup_by;
	const char *hangup_reason;
	sb_cdr_leg browser, sip;
	bool transcoded;
} sb_cdr_record;

typedef struct sb_cdr_stats {
	uint64_t written;         /* rows committed */
	uint64_t dropped;         /* refused: queue full */
	uint64_t failed;          /* accepted but the INSERT failed */
	unsigned queued;          /* waiting right now */
} sb_cdr_stats;

/* Open (create) the database at path, set WAL mode, create or check the
 * schema and start the writer thread. path NULL or "" = CDRs off:
 * returns 0 with *out = NULL (every function accepts a NULL sb_cdr).
 * queue_max 0 = SB_CDR_DEFAULT_QUEUE. Returns 0, or -EIO / -EINVAL
 * (schema from a newer version) with *err set ("cdr.path FILE: ..."). */
int sb_cdr_open(const char *path, unsigned queue_max, sb_cdr **out,
		GError **err);

/* Queue a copy of r. 0, -ENOBUFS when the queue is full (counted in
 * dropped; never blocks), -EINVAL for a record without call_id. NULL
 * c: 0, nothing written. Any thread. */
int sb_cdr_submit(sb_cdr *c, const sb_cdr_record *r);

/* Counters. Any thread. NULL c: all zero. */
void sb_cdr_get_stats(const sb_cdr *c, sb_cdr_stats *st);

/* Write what is queued, stop the writer and close the database; blocks
 * for at most the queued rows (the busy timeout bounds each). NULL ok. */
void sb_cdr_close(sb_cdr *c);

/* Estimated MOS (1.0 .. 4.5) from a simplified ITU-T G.107 E-model:
 *   d      = rtt_ms / 2 + 2 * jitter_ms + 20       (one-way delay: half
 *            the round trip, a jitter buffer of twice the jitter, one
 *            20 ms frame)
 *   Id     = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)
 *            (H = step function; Cole & Rosenbluth's fit of G.107)
 *   Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl),  Ppl = loss_pct,
 *            Ie = 0, Bpl = 25.1 (G.711 with PLC, G.113 Appendix I;
 *            used for every codec: one side of a call is G.711 or the
 *            codec is relayed unchanged)
 *   R      = 93.2 - Id - Ie_eff
 *   MOS    = 1 if R <= 0; 4.5 if R >= 100;
 *            else 1 + 0.035 R + 7e-6 R (R - 60) (100 - R).
 * A clean call (no loss, no jitter, rtt unknown) scores 4.40. Pure. */
double sb_cdr_mos(double loss_pct, double jitter_ms, double rtt_ms);

/* "browser", "sip", "gateway", "". Pure. */
const char *sb_cdr_party_name(sb_cdr_party p);

#endif
