/* One clock and the conversions of its nanoseconds: see clock.h. */
#include "clock.h"

#include <limits.h>

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

int64_t
clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int
clock_ms(int64_t ns)
{
	if (ns <= 0)
		return 0;
	if (ns >= (int64_t)INT_MAX * NS_PER_MS)
		return INT_MAX;
	return (int)((ns + NS_PER_MS - 1) / NS_PER_MS);
}

int
clock_ms_left(int64_t deadline, int64_t now)
{
	return deadline > now ? clock_ms(deadline - now) : 0;
}

struct timespec
clock_ts(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	return ts;
}

void
clock_stop_mask(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
}

void
clock_stop_block(sigset_t *waitmask)
{
	sigset_t stops;

	clock_stop_mask(&stops);
	sigprocmask(SIG_BLOCK, &stops, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);
	sigdelset(waitmask, SIGTERM);
}
