/* sbload: load generator for sipbridge (tests/bench/). Drives N calls
 * through the real daemon: SIP over WebSocket plus a client-role WebRTC
 * leg per call on one side, an in-process SIP UAS with an RTP echo on the
 * other, so each packet makes the round trip browser leg -> gateway ->
 * SIP -> echo -> gateway -> browser leg. Also the signalling-only modes
 * (REGISTER, INVITE without SDP) used against sipp.
 *
 * Threads: the main thread runs one GMainContext holding the WebSocket
 * client (libwebsockets, GLib loop), every WebRTC leg and the call state
 * machines; the UAS/echo runs on its own thread with epoll (sbl_uas_*).
 * They share only the atomic counters in sbl_uas_counters. */
#ifndef SB_BENCH_SBLOAD_H
#define SB_BENCH_SBLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "webrtc/leg.h"

typedef enum {
	SBL_MODE_MEDIA = 0,   /* INVITE with WebRTC offer, media, BYE */
	SBL_MODE_REGISTER,    /* REGISTER transactions back to back */
	SBL_MODE_CALL_NOSDP,  /* INVITE (no SDP)/200/ACK/BYE/200 loops */
} sbl_mode;

/* Command-line options; filled once in main, read-only afterwards. */
typedef struct sbl_opts {
	sbl_mode mode;
	bool opus;               /* media: offer Opus only (transcoding run) */
	char ws_host[64];
	int ws_port;
	char ws_path[128];
	char target[256];        /* Request-URI of INVITEs */
	char domain[64];         /* From/To domain, REGISTER Request-URI */
	unsigned calls;          /* media: calls; sig modes: WS clients */
	unsigned calls_per_ws;   /* media: calls sharing one connection */
	unsigned tick_us;        /* media: send timer period */
	unsigned setup_window;   /* media: set-ups in flight at most */
	double duration_s;       /* measurement window */
	double warmup_s;         /* media: after all calls are up */
	unsigned late_ms;        /* a packet later than this is "late" */
	int uas_port;            /* 0 = no in-process UAS */
	unsigned echo_socks;     /* RTP echo sockets shared by the calls */
	int gw_pid;              /* daemon to sample from /proc, 0 = none */
	char metrics[256];       /* --metrics URL: the daemon's /metrics */
	char ng[80];             /* --ng HOST:PORT: rtpengine bridges the
				  * calls instead (no SIP, no WebSocket) */
	/* chaos (media calls one after the other, random endings) */
	bool chaos;
	gint64 chaos_seed;
	unsigned total;          /* calls in all */
	double max_time_s;       /* no new call after this; stop at +30 s */
	unsigned hold_ms;        /* longest hold before a hang-up */
	double p_cancel, p_drop, p_uas_bye, p_busy;
	int verbose;
} sbl_opts;

/* ---- latency histogram: 1 µs buckets up to 1 ms (one-way latencies
 * on loopback are tens of µs), 10 µs up to 200 ms, 1 ms up to 20 s,
 * then overflow ---- */
#define SBL_HIST_T1_US 1000       /* 1 µs buckets below */
#define SBL_HIST_T2_US 200000     /* 10 µs buckets below */
#define SBL_HIST_T3_US 20000000   /* 1 ms buckets below, overflow above */
#define SBL_HIST_N1 SBL_HIST_T1_US
#define SBL_HIST_N2 (SBL_HIST_N1 + (SBL_HIST_T2_US - SBL_HIST_T1_US) / 10)
#define SBL_HIST_N (SBL_HIST_N2 + (SBL_HIST_T3_US - SBL_HIST_T2_US) / 1000)
typedef struct sbl_hist {
	uint64_t b[SBL_HIST_N + 1];
	uint64_t n;
	uint64_t max_us;
} sbl_hist;

void sbl_hist_add(sbl_hist *h, int64_t us);
/* Value (µs) below which q (0..1) of the samples lie (the middle of its
 * bucket); 0 when empty. */
double sbl_hist_quantile(const sbl_hist *h, double q);

/* ---- the marker at the start of every PCMU payload sbload sends ----
 * Host byte order. The realtime stamp exists because the echo's kernel
 * receive stamps (SO_TIMESTAMPNS) are CLOCK_REALTIME. Opus runs carry
 * no marker: the transcoder rewrites the payload. */
#define SBL_MARK_MAGIC "SBLD"     /* 4 bytes */
#define SBL_MARK_IDX 4            /* u32 call index */
#define SBL_MARK_PKT 8            /* u32 packet counter of the call */
#define SBL_MARK_MONO 12          /* i64 send time, µs, sbl_now_us() */
#define SBL_MARK_REAL 20          /* i64 send time, ns, CLOCK_REALTIME */
#define SBL_MARK_LEN 28

/* ---- UAS + RTP echo (its own thread) ---- */
typedef struct sbl_uas_counters {
	uint64_t rtp_rx;          /* RTP packets echoed (atomic) */
	uint64_t rtcp_rx;         /* RTCP dropped (atomic) */
	uint64_t sip_rx;          /* SIP requests handled (atomic) */
	uint64_t invites;         /* (atomic) */
	uint64_t byes;            /* (atomic) */
	uint64_t batches;         /* recvmmsg calls that returned data */
} sbl_uas_counters;

typedef struct sbl_uas sbl_uas;

/* Bind the SIP socket on 127.0.0.1:port and n_echo RTP echo sockets,
 * start the thread. 0 or -errno. Called from the main thread. */
int sbl_uas_start(int port, unsigned n_echo, sbl_uas **out);
/* Counters, updated atomically by the UAS thread. */
const sbl_uas_counters *sbl_uas_counters_get(const sbl_uas *u);
/* One-way latency generator -> daemon -> echo: the echo records, for
 * each marked RTP packet whose monotonic send time lies in
 * [start_us, end_us), its kernel arrival stamp minus the payload's
 * realtime send stamp. start_us 0 = record nothing (the default). The
 * main thread sets the window; the UAS thread reads it. */
void sbl_uas_set_window(sbl_uas *u, int64_t start_us, int64_t end_us);
/* Copy of the one-way histogram (µs) so far. Any thread. */
void sbl_uas_down_get(sbl_uas *u, sbl_hist *out);
/* Stop the thread (joins), close sockets, free. NULL ok. */
void sbl_uas_stop(sbl_uas *u);
/* The SDP answer the UAS would put in its 200 to this offer: RTP/AVP
 * PCMU on one of the echo sockets (round robin), rtcp-mux if offered.
 * New string (g_free) or NULL when the offer is unusable or has no
 * PCMU. Any thread (--ng mode calls it from the main thread). */
char *sbl_uas_answer(sbl_uas *u, const char *offer, size_t len);

/* ---- rtpengine NG control client (sbload_ng.c, main thread) ----
 * The NG protocol: one UDP datagram per request, "COOKIE <bencoded
 * dictionary>"; the reply repeats the cookie. rtpengine caches replies by
 * cookie, so a lost request or reply is simply sent again (every 500 ms,
 * 6 tries). Used by --ng: rtpengine instead of sipbridge bridges the
 * WebRTC leg and the plain RTP echo (doc/BENCHMARKS.md). */
typedef struct sbl_ng sbl_ng;
/* Reply to one request: result is "ok", "error", or "timeout" (no reply);
 * sdp and error are NULL when absent. The strings live for the call. */
typedef void (*sbl_ng_cb)(const char *result, const char *sdp,
			  const char *error, void *user_data);
/* Socket toward host:port (IPv4 literal), watched on the default main
 * context. 0 or -errno. */
int sbl_ng_open(const char *hostport, sbl_ng **out);
/* Browser -> plain offer: the browser's WebRTC SDP in, RTP/AVP out (ICE
 * removed); opus: Opus masked, PCMU offered by transcoding. 0 or -errno;
 * cb fires exactly once unless the client is closed first. */
int sbl_ng_offer(sbl_ng *ng, const char *call_id, const char *from_tag,
		 const char *sdp, bool opus, sbl_ng_cb cb, void *user_data);
/* Plain -> browser answer: RTP/AVP in, ICE + DTLS (passive) + rtcp-mux
 * toward the browser. */
int sbl_ng_answer(sbl_ng *ng, const char *call_id, const char *from_tag,
		  const char *to_tag, const char *sdp, sbl_ng_cb cb,
		  void *user_data);
int sbl_ng_delete(sbl_ng *ng, const char *call_id, const char *from_tag,
		  sbl_ng_cb cb, void *user_data);
/* Requests still waiting for a reply. */
unsigned sbl_ng_pending(const sbl_ng *ng);
/* Close the socket; pending callbacks never fire. NULL ok. */
void sbl_ng_close(sbl_ng *ng);

/* ---- bencode: tests/bench/bencode.h ---- */
#include "tests/bench/bencode.h"

/* ---- SIP over WebSocket client (main thread) ---- */
typedef struct sbl_ws sbl_ws;
/* A complete SIP message arrived on connection c (text, len bytes). */
typedef void (*sbl_ws_msg_cb)(sbl_ws *c, const char *buf, size_t len,
			      void *user_data);
/* Connection state changed: up (true) or closed/failed (false). */
typedef void (*sbl_ws_state_cb)(sbl_ws *c, bool up, void *user_data);

/* One lws context on the GLib main loop. 0 or -errno. */
int sbl_ws_init(GMainLoop *loop, sbl_ws_msg_cb msg_cb,
		sbl_ws_state_cb state_cb, void *user_data);
void sbl_ws_deinit(void);
/* Open a connection to ws://host:port/path with subprotocol "sip". */
sbl_ws *sbl_ws_connect(const char *host, int port, const char *path,
		       unsigned id);
unsigned sbl_ws_id(const sbl_ws *c);
/* Queue one text frame (copied). -ENOTCONN when the connection is down. */
int sbl_ws_send(sbl_ws *c, const char *buf, size_t len);
/* Close (politely) and forget; the state callback fires no more. */
void sbl_ws_close(sbl_ws *c);
/* Drop the TCP connection without a close frame and forget (chaos: a
 * browser that vanishes mid-call); the state callback fires no more. */
void sbl_ws_abort(sbl_ws *c);

/* ---- a Prometheus histogram from the daemon's /metrics (sbload_util.c,
 * main thread, blocking: done twice a run, outside the window) ---- */
#define SBL_PROM_MAX 128
typedef struct sbl_prom_hist {
	unsigned n;                /* bounds; 0 = family absent */
	double le[SBL_PROM_MAX];   /* ascending upper bounds (+Inf last) */
	double cum[SBL_PROM_MAX];  /* cumulative counts, series summed */
} sbl_prom_hist;

/* The _bucket series of family in a text exposition (format 0.0.4),
 * summed per le value over all other labels, into out. */
void sbl_prom_parse(const char *text, const char *family,
		    sbl_prom_hist *out);
/* GET url (http://IPv4:PORT/PATH, HTTP/1.0, at most timeout_ms in all)
 * and parse it as above. 0 (out->n is 0 when the family is absent) or
 * -errno (-EPROTO: not a 200). */
int sbl_prom_scrape(const char *url, const char *family, int timeout_ms,
		    sbl_prom_hist *out);
/* What was observed between two scrapes: b - a per bound (a may be
 * empty: a family not yet exposed had no samples). */
void sbl_prom_diff(const sbl_prom_hist *a, const sbl_prom_hist *b,
		   sbl_prom_hist *out);
/* Samples in a histogram (its last cumulative count). */
double sbl_prom_count(const sbl_prom_hist *h);
/* Quantile q (0..1) by linear interpolation inside its bucket, the
 * first bucket starting at 0, as Prometheus' histogram_quantile does.
 * When it falls in the +Inf bucket: the last finite bound, *beyond set.
 * NAN when empty. */
double sbl_prom_quantile(const sbl_prom_hist *h, double q, bool *beyond);

/* ---- small helpers ---- */
int64_t sbl_now_us(void);                 /* monotonic */
/* utime+stime of a process in seconds, from /proc/PID/stat; <0 on error */
double sbl_proc_cpu_s(int pid);
/* CPU seconds of the threads of a process whose name starts with
 * prefix (e.g. "sb-media"), from the stat file of each task in /proc/PID/task; <0 on error */
double sbl_proc_threads_cpu_s(int pid, const char *prefix);
/* Anonymous resident memory (RssAnon, else VmRSS) of a process in KiB,
 * from /proc/PID/status; <0 on error */
long sbl_proc_rss_kb(int pid);
/* Our own user+system CPU seconds (getrusage RUSAGE_SELF). */
double sbl_self_cpu_s(void);
/* Random token of n hex digits into out (n+1 bytes). Any thread. */
void sbl_token(char *out, size_t n);

#endif
