/* sbload helpers: latency histogram, CPU and memory of a process from
 * /proc, random tokens, a Prometheus histogram scraped over HTTP. Any
 * thread (the histogram belongs to its owner) except the scraper (main
 * thread, blocking). */
#include "tests/bench/sbload.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bucket of a value; SBL_HIST_N is the overflow. */
static unsigned hist_index(uint64_t us)
{
	if (us < SBL_HIST_T1_US)
		return (unsigned)us;
	if (us < SBL_HIST_T2_US)
		return SBL_HIST_N1 + (unsigned)((us - SBL_HIST_T1_US) / 10);
	if (us < SBL_HIST_T3_US)
		return SBL_HIST_N2 + (unsigned)((us - SBL_HIST_T2_US) / 1000);
	return SBL_HIST_N;
}

/* The middle of finite bucket i, in µs. */
static double hist_mid(unsigned i)
{
	if (i < SBL_HIST_N1)
		return i + 0.5;
	if (i < SBL_HIST_N2)
		return SBL_HIST_T1_US + (i - SBL_HIST_N1 + 0.5) * 10;
	return SBL_HIST_T2_US + (i - SBL_HIST_N2 + 0.5) * 1000;
}

void sbl_hist_add(sbl_hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	h->b[hist_index((uint64_t)us)]++;
	h->n++;
	if ((uint64_t)us > h->max_us)
		h->max_us = (uint64_t)us;
}

double sbl_hist_quantile(const sbl_hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->n), acc = 0;
	for (unsigned i = 0; i <= SBL_HIST_N; i++) {
		acc += h->b[i];
		if (acc <= want)
			continue;
		return i == SBL_HIST_N ? (double)h->max_us : hist_mid(i);
	}
	return (double)h->max_us;
}

int64_t sbl_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* utime+stime from one stat file; comm copied to comm when not NULL */
static double stat_cpu_s(const char *path, char *comm, size_t cap)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* fields after "(comm)": state is field 3, utime 14, stime 15 */
	char *p = strrchr(buf, ')');
	char *c = strchr(buf, '(');
	unsigned long ut, st;
	if (comm && c && p && p > c)
		snprintf(comm, cap, "%.*s", (int)(p - c - 1), c + 1);
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double sbl_proc_cpu_s(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return stat_cpu_s(path, NULL, 0);
}

double sbl_proc_threads_cpu_s(int pid, const char *prefix)
{
	char path[300], comm[64];
	struct dirent *e;
	double sum = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid,
			 e->d_name);
		comm[0] = 0;
		double s = stat_cpu_s(path, comm, sizeof(comm));
		if (s >= 0 && !strncmp(comm, prefix, strlen(prefix)))
			sum += s;
	}
	closedir(d);
	return sum;
}

/* RssAnon, not VmRSS: the library code pages a process touches for the
 * first time during the set-ups (1.5-2 MB here, whatever the number of
 * calls) are file-backed and would be charged to the calls. */
long sbl_proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1, anon = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			continue;
		if (sscanf(line, "RssAnon: %ld kB", &anon) == 1)
			break;
	}
	fclose(f);
	return anon >= 0 ? anon : kb;
}

double sbl_self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void sbl_token(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++)
		out[i] = hex[g_random_int() & 15];
	out[n] = 0;
}

/* ---------------------------------------------------- Prometheus */

/* One label value ("..." with \\ escapes) at *pp, the opening quote
 * included; copied into v (truncated to cap). false when malformed. */
static bool prom_label_value(const char **pp, char *v, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;
	if (*p++ != '"')
		return false;
	for (; *p && *p != '"' && *p != '\n'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 < cap)
			v[n++] = *p;
	}
	v[n] = 0;
	if (*p != '"')
		return false;
	*pp = p + 1;
	return true;
}

/* The label set {a="x",...} at *pp: the value of le into le (empty when
 * absent). Moves *pp past the closing brace. */
static bool prom_labels(const char **pp, char *le, size_t cap)
{
	const char *p = *pp + 1;
	char v[64];
	le[0] = 0;
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '}')
			break;
		const char *name = p;
		while (g_ascii_isalnum(*p) || *p == '_')
			p++;
		size_t nlen = (size_t)(p - name);
		if (!nlen || *p++ != '=' || !prom_label_value(&p, v, sizeof(v)))
			return false;
		if (nlen == 2 && !strncmp(name, "le", 2))
			g_strlcpy(le, v, cap);
	}
	*pp = p + 1;
	return true;
}

/* Add count to the bound le (a new bound is inserted in order). */
static void prom_add(sbl_prom_hist *h, double le, double count)
{
	unsigned i = 0;
	while (i < h->n && h->le[i] < le)
		i++;
	if (i < h->n && h->le[i] == le) {
		h->cum[i] += count;
		return;
	}
	if (h->n == SBL_PROM_MAX)
		return;
	memmove(&h->le[i + 1], &h->le[i], (h->n - i) * sizeof(double));
	memmove(&h->cum[i + 1], &h->cum[i], (h->n - i) * sizeof(double));
	h->le[i] = le;
	h->cum[i] = count;
	h->n++;
}

/* One line: name{...,le="X",...} VALUE [TIMESTAMP] */
static void prom_line(const char *p, const char *name, size_t nlen,
		      sbl_prom_hist *h)
{
	char le[64], *end;
	if (strncmp(p, name, nlen) != 0 || p[nlen] != '{')
		return;
	p += nlen;
	if (!prom_labels(&p, le, sizeof(le)) || !le[0])
		return;
	double bound = g_ascii_strtod(le, &end);
	if (end == le || *end)
		return;
	double v = g_ascii_strtod(p, &end);
	if (end == p || isnan(v) || isnan(bound))
		return;
	prom_add(h, bound, v);
}

void sbl_prom_parse(const char *text, const char *family, sbl_prom_hist *out)
{
	g_autofree char *name = g_strconcat(family, "_bucket", NULL);
	size_t nlen = strlen(name);
	memset(out, 0, sizeof(*out));
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '#')
			prom_line(p, name, nlen, out);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* "http://A.B.C.D:PORT/PATH" (an IPv4 literal: 127.0.0.1 here) */
static bool http_url(const char *url, struct sockaddr_in *a, char *host,
		     char *path, size_t cap)
{
	int port, off = 0;
	if (sscanf(url, "http://%15[0-9.]:%d%n", host, &port, &off) != 2 ||
	    port <= 0 || port > 65535)
		return false;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return false;
	g_strlcpy(path, url[off] == '/' ? url + off : "/", cap);
	return true;
}

/* A blocking TCP connection; SO_SNDTIMEO bounds connect() too (Linux). */
static int tcp_connect(const struct sockaddr_in *a, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* true once the whole response is in: its Content-Length is reached
 * (a server may keep the connection open despite HTTP/1.0) */
static bool http_complete(const GString *r)
{
	const char *end = strstr(r->str, "\r\n\r\n");
	if (!end)
		return false;
	g_autofree char *head = g_ascii_strdown(r->str, end - r->str);
	const char *cl = strstr(head, "\ncontent-length:");
	return cl && r->len - (size_t)(end + 4 - r->str) >=
		     g_ascii_strtoull(cl + 16, NULL, 10);
}

/* Read the response until EOF, Content-Length or the deadline. */
static int http_read(int fd, int64_t deadline_us, GString *r)
{
	char buf[16384];
	while (!http_complete(r)) {
		int64_t left_ms = (deadline_us - sbl_now_us()) / 1000;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) == 0)
			return -ETIMEDOUT;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (r->len > (64u << 20))
			return -EFBIG;
		g_string_append_len(r, buf, n);
	}
	return 0;
}

/* GET url; the body (NUL-terminated) in body. 0 or -errno. */
static int http_get(const char *url, int timeout_ms, GString *body)
{
	struct sockaddr_in a;
	char host[16], path[256];
	int64_t deadline = sbl_now_us() + (int64_t)timeout_ms * 1000;
	if (!http_url(url, &a, host, path, sizeof(path)))
		return -EINVAL;
	int fd = tcp_connect(&a, timeout_ms);
	if (fd < 0)
		return fd;
	g_autofree char *req = g_strdup_printf("GET %s HTTP/1.0\r\nHost: %s:%u\r\n"
					       "Connection: close\r\n\r\n",
					       path, host, ntohs(a.sin_port));
	int err = send(fd, req, strlen(req), MSG_NOSIGNAL) ==
		  (ssize_t)strlen(req) ? 0 : -EIO;
	if (!err)
		err = http_read(fd, deadline, body);
	close(fd);
	if (err)
		return err;
	/* status line "HTTP/1.x 200 ..." */
	const char *sp = strchr(body->str, ' ');
	const char *hdr_end = strstr(body->str, "\r\n\r\n");
	if (strncmp(body->str, "HTTP/1.", 7) || !sp || atoi(sp + 1) != 200 ||
	    !hdr_end)
		return -EPROTO;
	g_string_erase(body, 0, hdr_end + 4 - body->str);
	return 0;
}

int sbl_prom_scrape(const char *url, const char *family, int timeout_ms,
		    sbl_prom_hist *out)
{
	g_autoptr(GString) body = g_string_sized_new(65536);
	memset(out, 0, sizeof(*out));
	int err = http_get(url, timeout_ms, body);
	if (err)
		return err;
	sbl_prom_parse(body->str, family, out);
	return 0;
}

/* Cumulative count of a at bound le (0 when a lacks it). */
static double prom_cum_at(const sbl_prom_hist *a, double le)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->le[i] == le)
			return a->cum[i];
	return 0;
}

void sbl_prom_diff(const sbl_prom_hist *a, const sbl_prom_hist *b,
		   sbl_prom_hist *out)
{
	*out = *b;
	for (unsigned i = 0; i < b->n; i++) {
		/* a counter that went down: the daemon restarted */
		double d = b->cum[i] - prom_cum_at(a, b->le[i]);
		out->cum[i] = d > 0 ? d : 0;
	}
}

double sbl_prom_count(const sbl_prom_hist *h)
{
	return h->n ? h->cum[h->n - 1] : 0;
}

double sbl_prom_quantile(const sbl_prom_hist *h, double q, bool *beyond)
{
	double total = sbl_prom_count(h), rank = q * total;
	*beyond = false;
	if (!(total > 0))
		return NAN;
	for (unsigned i = 0; i < h->n; i++) {
		if (h->cum[i] < rank || h->cum[i] <= 0)
			continue;
		if (isinf(h->le[i])) {
			*beyond = true;
			return i ? h->le[i - 1] : 0;
		}
		double lo = i ? h->le[i - 1] : 0, c0 = i ? h->cum[i - 1] : 0;
		double width = h->cum[i] - c0;
		return width > 0 ? lo + (h->le[i] - lo) * (rank - c0) / width
				 : h->le[i];
	}
	return h->n ? h->le[h->n - 1] : NAN;
}
