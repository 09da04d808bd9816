/* Unit tests of lib/clock.c: the waits' timeouts come from these
 * conversions, so a wrong rounding is a spin or a deadline overshot. */
#include "check.h"
#include "clock.h"

#include <limits.h>
#include <stdio.h>

#define MS 1000000LL

/* Rounded up, never 0 before the deadline: a poll(0) there would spin. */
static void
test_ms(void)
{
	CHECK(clock_ms(-5 * MS) == 0);
	CHECK(clock_ms(0) == 0);
	CHECK(clock_ms(1) == 1);
	CHECK(clock_ms(MS - 1) == 1);
	CHECK(clock_ms(MS) == 1);
	CHECK(clock_ms(MS + 1) == 2);
	CHECK(clock_ms(1500 * MS) == 1500);
	CHECK(clock_ms((int64_t)INT_MAX * MS - 1) == INT_MAX);
	CHECK(clock_ms(INT64_MAX) == INT_MAX);
	CHECK(clock_ms_left(10 * MS, 10 * MS) == 0);
	CHECK(clock_ms_left(10 * MS, 20 * MS) == 0);
	CHECK(clock_ms_left(10 * MS + 1, 0) == 11);
}

static void
test_ts(void)
{
	struct timespec ts = clock_ts(0);

	CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0);
	ts = clock_ts(2500 * MS + 7);
	CHECK(ts.tv_sec == 2 && ts.tv_nsec == 500 * MS + 7);
	ts = clock_ts(999999999);
	CHECK(ts.tv_sec == 0 && ts.tv_nsec == 999999999);
}

/* Monotonic and in ns: a 20 ms nap moves it by 20 ms or more. */
static void
test_now(void)
{
	struct timespec nap = clock_ts(20 * MS);
	int64_t t0 = clock_now(), dt;

	nanosleep(&nap, NULL);
	dt = clock_now() - t0;
	CHECK(dt >= 20 * MS && dt < 5000 * MS);
}

static void
test_stop_mask(void)
{
	sigset_t s;

	sigfillset(&s);
	clock_stop_mask(&s);
	CHECK(sigismember(&s, SIGINT) == 1);
	CHECK(sigismember(&s, SIGHUP) == 1);
	CHECK(sigismember(&s, SIGTERM) == 1);
	CHECK(sigismember(&s, SIGCHLD) == 0);
	CHECK(sigismember(&s, SIGQUIT) == 0);
}

/* The mask to wait with has the stop signals open and the rest as
 * before; they are blocked meanwhile. */
static void
test_stop_block(void)
{
	sigset_t before, wait, now;

	sigemptyset(&before);
	sigaddset(&before, SIGUSR1);
	sigaddset(&before, SIGHUP);
	sigprocmask(SIG_SETMASK, &before, NULL);
	clock_stop_block(&wait);
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHECK(
	    sigismember(&now, SIGINT) == 1 && sigismember(&now, SIGHUP) == 1 &&
	    sigismember(&now, SIGTERM) == 1 && sigismember(&now, SIGUSR1) == 1);
	CHECK(sigismember(&wait, SIGINT) == 0 &&
	      sigismember(&wait, SIGHUP) == 0 &&
	      sigismember(&wait, SIGTERM) == 0);
	CHECK(sigismember(&wait, SIGUSR1) == 1 &&
	      sigismember(&wait, SIGCHLD) == 0);
	sigemptyset(&before);
	sigprocmask(SIG_SETMASK, &before, NULL);
}

int
main(void)
{
	test_ms();
	test_ts();
	test_now();
	test_stop_mask();
	test_stop_block();
	if (failures) {
		fprintf(stderr, "test_clock: %d failed\n", failures);
		return 1;
	}
	printf("test_clock: ok\n");
	return 0;
}
