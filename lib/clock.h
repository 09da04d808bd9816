/* One clock and the conversions of its nanoseconds for the waits.
 *
 * Times are int64_t nanoseconds on CLOCK_MONOTONIC; deadlines are absolute
 * values of clock_now(). */
#ifndef BASHSOCK_CLOCK_H
#define BASHSOCK_CLOCK_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

/* Monotonic clock in nanoseconds (vDSO: no syscall). */
int64_t clock_now(void);

/* ns as a poll timeout in milliseconds, rounded up (never wake just before
 * a deadline and spin): 0 for ns <= 0, at most INT_MAX. */
int clock_ms(int64_t ns);

/* clock_ms(deadline - now). */
int clock_ms_left(int64_t deadline, int64_t now);

/* ns >= 0 as a timespec (ppoll, futex). */
struct timespec clock_ts(int64_t ns);

/* *set = {INT, HUP, TERM}: the signals that stop a helper. */
void clock_stop_mask(sigset_t *set);

/* Blocks the stop signals (they may be blocked already) and puts into
 * *waitmask the mask to wait with (ppoll, epoll_pwait): the one before,
 * with the stop signals open. */
void clock_stop_block(sigset_t *waitmask);

#endif
