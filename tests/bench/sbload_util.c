/* sbload helpers: latency histogram, CPU and memory of a process from
 * /proc, random tokens. Any thread (the histogram belongs to its owner). */
#include "tests/bench/sbload.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void sbl_hist_add(sbl_hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	uint64_t i = (uint64_t)us / SBL_HIST_BUCKET_US;
	if (i >= SBL_HIST_FINE)
		i = SBL_HIST_FINE + ((uint64_t)us - SBL_HIST_FINE * SBL_HIST_BUCKET_US) / 1000;
	h->b[i < SBL_HIST_N ? i : SBL_HIST_N]++;
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
		if (i == SBL_HIST_N)
			return (double)h->max_us;
		if (i < SBL_HIST_FINE)
			return (i + 0.5) * SBL_HIST_BUCKET_US;
		return SBL_HIST_FINE * SBL_HIST_BUCKET_US +
		       (i - SBL_HIST_FINE + 0.5) * 1000;
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

long sbl_proc_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
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
