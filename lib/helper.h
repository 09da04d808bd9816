/*
 * helper: forking a background helper out of the user's shell, hygienically.
 *
 * The child gets /dev/null on 0-2, no other inherited descriptor, every
 * signal at its default and none blocked, its own session, and leaves only
 * through _exit. It reports readiness, or the reason it failed, over a
 * close-on-exec pipe, so errors reach the builtin synchronously.
 *
 * The input and output helpers are a small program of their own
 * (helper/bashsock-helper.c), started with posix_spawn in that same state,
 * rather than a copy of the shell: an idle copy of bash keeps about a MiB
 * of private memory (its heap, the relocated data of its libraries), the
 * program a tenth of that; and posix_spawn copies none of the shell's
 * pages, which a fork followed by an exec would (2-3 ms more per start
 * here, against a few hundred microseconds). When the program is missing
 * or does not start, a forked copy runs the helper, as it always did.
 */
#ifndef BASHSOCK_HELPER_H
#define BASHSOCK_HELPER_H

#include <signal.h>
#include <spawn.h>
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
 * The helper program: HELPER_PROGRAM in the directory of the shared object
 * (or program) this code is linked into, as dladdr names it (symbolic links
 * not resolved). helper_locate() looks for it once (bashsock.so calls it as
 * it is loaded, when a relative path it was loaded by still means what it
 * meant); helper_program() is then its absolute path, or NULL when it is
 * not there or not an executable regular file.
 */
#define HELPER_PROGRAM "bashsock-helper"
/* The same program with the TLS layer (lib/tls.h) and libssl: started for
 * TLS bindings only, so that the others never map libssl. */
#define HELPER_PROGRAM_TLS "bashsock-helper-tls"
void helper_locate(void);
const char *helper_program(void);

/*
 * Starts the helper. With argv (the helper program's command line, argv[0]
 * its name in ps: see helper_argv.h) and the helper program present, that
 * program, with envp (NULL: environ); otherwise, or when it cannot be
 * executed, a forked child that runs fn(arg), named name in ps (truncated
 * to 15 bytes). Returns the PID with *reportfd the read end of the report
 * pipe (close-on-exec), or -1 with errno.
 */
pid_t helper_spawn(helper_fn fn, void *arg, const char *name, char *const *argv,
    char *const *envp, int *reportfd);

/*
 * In a child of the shell, before anything else: every signal at its
 * default, a session of its own, /dev/null on 0, 1 and (unless keep_stderr
 * and 2 is open) 2, keep moved to 3 (close-on-exec), every other descriptor
 * closed. The signal mask is left alone: the caller blocked every signal
 * around the fork, so no handler of the shell runs, and sets its own.
 */
void helper_scrub(int keep, int keep_stderr);
/* Initialises at for a child that starts clean: every signal at its
 * default and none blocked, plus flags (POSIX_SPAWN_SETSID, ...). 0, or an
 * errno value (at is not left initialised). */
int helper_spawnattr(posix_spawnattr_t *at, short flags);

/*
 * The one way this code forks: stdio flushed, every signal blocked (no
 * handler of the shell may run in the child before it sets its own), then
 * fork. The child gets 0 with every signal still blocked; the parent the
 * PID (or -1, errno kept) and *old, the mask it had, to restore when it is
 * done with what must not be interrupted (reaping, a pidfd).
 */
pid_t helper_fork(sigset_t *old);
/*
 * How a file without a #! line runs, as shells run it (execve said
 * ENOEXEC): /bin/sh with "sh", path, then argv's words after argv[0]. A
 * malloc'ed vector (the strings are argv's), or NULL.
 */
char **helper_sh_argv(const char *path, char *const *argv);

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

#endif
