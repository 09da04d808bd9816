/*
 * helper: forking a background helper out of the user's shell, hygienically.
 *
 * The child gets /dev/null on 0-2, no other inherited descriptor, every
 * signal at its default and none blocked, its own session, and leaves only
 * through _exit. It reports readiness, or the reason it failed, over a
 * close-on-exec pipe, so errors reach the builtin synchronously.
 */
#ifndef BASHSOCK_HELPER_H
#define BASHSOCK_HELPER_H

#include <stdint.h>
#include <sys/types.h>

#define HELPER_MSG 240

struct helper_report {
	int32_t status; /* 0 ready; else the exit status the builtin returns */
	int32_t err;	/* errno of the failure, or 0 */
	char msg[HELPER_MSG]; /* "what failed" text for the builtin's line */
};

/* The helper's body: runs in the child with the report pipe's write end;
 * must call helper_ready() or helper_fail() once, and returns the exit
 * status of the helper. */
typedef int (*helper_fn)(void *arg, int reportfd);

/*
 * Forks the helper. Returns its PID with *reportfd the read end of the
 * report pipe (close-on-exec), or -1 with errno. name is the process name
 * shown by ps (truncated to 15 bytes).
 */
pid_t helper_spawn(helper_fn fn, void *arg, const char *name, int *reportfd);

/* Reads the child's report; 0 when read (check rep->status), -1 with errno:
 * EINTR (call again after handling the signal), EPIPE (the child died
 * without a word). */
int helper_report_read(int fd, struct helper_report *rep);

/* Child side. */
/* Ready; info (may be NULL) reaches the builtin in rep->msg. */
void helper_ready(int fd, const char *info);
void helper_fail(int fd, int status, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* In the child: installs handlers for INT, HUP and TERM that set *flag
 * (no SA_RESTART, so blocking calls return EINTR). */
void helper_on_stop(volatile int *flag);

/* Monotonic clock in nanoseconds (vDSO: no syscall). */
int64_t helper_now(void);

#endif
