/* Per-thread residence histograms (see residence.h). A thread's
 * histogram is written only by that thread, with relaxed atomic stores
 * so that a concurrent snapshot reads whole values; the list of them
 * takes a lock only when a thread reports for the first time and when
 * a snapshot walks it. Histograms are never freed: there is one per
 * media worker thread, for the life of the process. */
#include "webrtc/residence.h"

#include <string.h>
#include <time.h>
#include <glib.h>

const uint32_t sb_residence_bounds_ns[SB_RESIDENCE_BUCKETS] = {
	25000, 50000, 100000, 200000, 300000, 500000, 750000,
	1000000, 1500000, 2000000, 3000000, 5000000, 10000000,
	20000000, 50000000,
};

_Thread_local int64_t sb_residence_arrival_ns;

static _Thread_local sb_residence_hist *mine;
static GMutex all_lock;
static GSList *all;                 /* sb_residence_hist *, leaked */

void sb_residence_stamp_socket(int fd)
{
	int on = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
}

int64_t sb_residence_from_msg(const struct msghdr *mh)
{
	if (!mh->msg_control || mh->msg_controllen == 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)mh); c;
	     c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_TIMESTAMPNS ||
		    c->cmsg_len < CMSG_LEN(sizeof(struct timespec)))
			continue;
		struct timespec ts;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	return 0;
}

int64_t sb_residence_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static sb_residence_hist *thread_hist(void)
{
	if (!mine) {
		mine = g_new0(sb_residence_hist, 1);
		g_mutex_lock(&all_lock);
		all = g_slist_prepend(all, mine);
		g_mutex_unlock(&all_lock);
	}
	return mine;
}

static unsigned bucket(uint64_t ns)
{
	unsigned i = 0;
	while (i < SB_RESIDENCE_BUCKETS && ns > sb_residence_bounds_ns[i])
		i++;
	return i;
}

static void bump(uint64_t *v, uint64_t by)
{
	__atomic_store_n(v, __atomic_load_n(v, __ATOMIC_RELAXED) + by,
			 __ATOMIC_RELAXED);
}

void sb_residence_report(const int64_t *arrival_ns, unsigned n,
			 int64_t now_ns)
{
	sb_residence_hist *h = NULL;
	for (unsigned i = 0; i < n; i++) {
		if (!arrival_ns[i])
			continue;
		/* a clock step backwards: count it as no time */
		uint64_t d = now_ns > arrival_ns[i]
				     ? (uint64_t)(now_ns - arrival_ns[i]) : 0;
		if (!h)
			h = thread_hist();
		bump(&h->count[bucket(d)], 1);
		bump(&h->sum_ns, d);
	}
}

void sb_residence_snapshot(sb_residence_hist *out)
{
	memset(out, 0, sizeof(*out));
	g_mutex_lock(&all_lock);
	for (GSList *l = all; l; l = l->next) {
		sb_residence_hist *h = l->data;
		for (unsigned i = 0; i <= SB_RESIDENCE_BUCKETS; i++)
			out->count[i] += __atomic_load_n(&h->count[i],
							 __ATOMIC_RELAXED);
		out->sum_ns += __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED);
	}
	g_mutex_unlock(&all_lock);
}
