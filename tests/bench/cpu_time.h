/* Process CPU time for the micro-benchmarks (bench_codec, bench_ops).
 * Read it at loop ends only: a read costs 1-3 us on a VM. */
#ifndef SB_BENCH_CPU_TIME_H
#define SB_BENCH_CPU_TIME_H

#include <time.h>

static inline double sb_bench_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

#endif
