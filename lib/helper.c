/* helper: fork hygiene and the readiness report. */
#include "helper.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The helper programs' paths, or NULL; set once by helper_locate. */
static char *helper_prog, *helper_prog_tls;
static int helper_located;

void
helper_locate(void)
{
	Dl_info info;
	const char *so, *slash;
	char *cwd = NULL, *path;
	struct stat st;
	size_t dlen, clen = 0;

	if (helper_located)
		return;
	helper_located = 1;
	if (dladdr(&helper_located, &info) == 0 || info.dli_fname == NULL ||
	    (slash = strrchr(so = info.dli_fname, '/')) == NULL)
		return; /* no directory to go by */
	/* A relative name (enable -f ./bashsock.so) is relative to the
	 * directory of the moment it was loaded, which this is. */
	if (so[0] != '/') {
		if ((cwd = getcwd(NULL, 0)) == NULL)
			return;
		clen = strlen(cwd) + 1;
	}
	dlen = (size_t)(slash - so) + 1;
	if ((path = malloc(clen + dlen + sizeof(HELPER_PROGRAM_TLS))) == NULL) {
		free(cwd);
		return;
	}
	if (cwd != NULL) {
		memcpy(path, cwd, clen - 1);
		path[clen - 1] = '/';
		free(cwd);
	}
	memcpy(path + clen, so, dlen);
	memcpy(path + clen + dlen, HELPER_PROGRAM, sizeof(HELPER_PROGRAM));
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0)
		helper_prog = strdup(path);
	memcpy(
	    path + clen + dlen, HELPER_PROGRAM_TLS, sizeof(HELPER_PROGRAM_TLS));
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0)
		helper_prog_tls = strdup(path);
	free(path);
}

const char *
helper_program(void)
{
	return helper_prog;
}

void
helper_scrub(int keep, int keep_stderr)
{
	struct sigaction sa;
	int sig, fd;

	/* Out of the way of 0-2, which may be closed in the shell. */
	if ((fd = fcntl(keep, F_DUPFD_CLOEXEC, 10)) != -1) {
		close(keep);
		keep = fd;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (!keep_stderr || fcntl(2, F_GETFD) == -1)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* Keep the report pipe as fd 3, drop everything else. */
	if (keep != 3) {
		dup2(keep, 3);
		close(keep);
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (syscall(SYS_close_range, 4U, ~0U, 0) == -1)
		for (fd = 4; fd < 1024; fd++)
			close(fd);
}

int
helper_spawnattr(posix_spawnattr_t *at, short flags)
{
	sigset_t all, none;
	int e;

	sigfillset(&all);
	sigemptyset(&none);
	if ((e = posix_spawnattr_init(at)) != 0)
		return e;
	flags |= POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	if ((e = posix_spawnattr_setflags(at, flags)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(at, &all)) != 0 ||
	    (e = posix_spawnattr_setsigmask(at, &none)) != 0)
		posix_spawnattr_destroy(at);
	return e;
}

/*
 * Starts the helper program with the report pipe's write end wfd on 3 and
 * what helper_scrub gives a forked helper: /dev/null on 0-2, no other
 * descriptor, every signal at its default and none blocked, a session of
 * its own. posix_spawn: no copy of the shell's pages to make (and to
 * fault back in), and an exec that fails comes back as an error here.
 * PID, or -1 with errno.
 */
static pid_t
helper_exec(const char *prog, char *const *argv, char *const *envp, int wfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid = -1;
	int e;

	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	if ((e = helper_spawnattr(&at, POSIX_SPAWN_SETSID)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	/* The pipe first: it may be on 0-2 (dup2 onto itself clears
	 * close-on-exec). */
	if ((e = posix_spawn_file_actions_adddup2(&fa, wfd, 3)) != 0 ||
	    (e = posix_spawn_file_actions_addopen(
		 &fa, 0, "/dev/null", O_RDWR, 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, 0, 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, 0, 2)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 4)) != 0)
		goto done;
	e = posix_spawn(&pid, prog, &fa, &at, argv, envp);
done:
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
out:
	if (e != 0) {
		errno = e;
		return -1;
	}
	return pid;
}

pid_t
helper_spawn(helper_fn fn, void *arg, const char *name, char *const *argv,
    char *const *envp, int *reportfd)
{
	sigset_t old, none;
	const char *prog = helper_prog;
	int p[2], e;
	pid_t pid;

	/* TLS bindings (helper_argv.h's tls- forms): the program with
	 * libssl. A forked copy cannot serve them; it says so. */
	if (argv != NULL && argv[0] != NULL && argv[1] != NULL &&
	    strncmp(argv[1], "tls-", 4) == 0)
		prog = helper_prog_tls;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	/* The helper program; should it not start, a copy of this process
	 * runs the helper itself. */
	if (argv != NULL && prog != NULL &&
	    (pid = helper_exec(
		 prog, argv, envp != NULL ? envp : environ, p[1])) != -1)
		goto started;
	pid = helper_fork(&old);
	if (pid == 0) {
		close(p[0]);
		helper_scrub(p[1], 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		_exit(fn(arg, 3));
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
started:
	close(p[1]);
	*reportfd = p[0];
	return pid;
}

int
helper_report_read(int fd, struct helper_report *rep)
{
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(*rep)) {
		n = read(fd, (char *)rep + got, sizeof(*rep) - got);
		if (n == -1)
			return -1; /* EINTR included: the caller checks signals
				    */
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		got += (size_t)n;
	}
	rep->msg[HELPER_MSG - 1] = '\0';
	return 0;
}

static void
helper_send(int fd, const struct helper_report *rep)
{
	size_t off = 0;
	ssize_t n;

	while (off < sizeof(*rep)) {
		n = write(fd, (const char *)rep + off, sizeof(*rep) - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
}

void
helper_ready(int fd, const char *info)
{
	struct helper_report rep;

	memset(&rep, 0, sizeof(rep));
	if (info != NULL)
		snprintf(rep.msg, sizeof(rep.msg), "%s", info);
	helper_send(fd, &rep);
}

void
helper_fail(int fd, int status, int err, const char *fmt, ...)
{
	struct helper_report rep;
	va_list ap;

	memset(&rep, 0, sizeof(rep));
	rep.status = status;
	rep.err = err;
	va_start(ap, fmt);
	vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
	va_end(ap);
	helper_send(fd, &rep);
}

static volatile int *helper_flag;

static void
helper_catch(int sig)
{
	if (helper_flag != NULL)
		*helper_flag = sig;
}

void
helper_on_stop(volatile int *flag)
{
	struct sigaction sa;

	helper_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = helper_catch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

pid_t
helper_fork(sigset_t *old)
{
	sigset_t all;
	pid_t pid;
	int e;

	fflush(NULL);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, old);
	pid = fork();
	e = errno;
	if (pid == -1)
		errno = e;
	return pid;
}

char **
helper_sh_argv(const char *path, char *const *argv)
{
	char **shv;
	size_t n = 0;

	while (argv[n] != NULL)
		n++;
	if ((shv = malloc((n + 2) * sizeof(*shv))) == NULL)
		return NULL;
	shv[0] = "sh";
	shv[1] = (char *)path;
	/* argv's words after argv[0], and its NULL. */
	memcpy(shv + 2, argv + 1, n * sizeof(*shv));
	return shv;
}
