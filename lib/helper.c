/* helper: fork hygiene and the readiness report. */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

int64_t
helper_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Child: from a copy of the shell to a clean background process. */
static void
helper_scrub(int keep)
{
	struct sigaction sa;
	sigset_t none;
	int sig, fd;

	/* Out of the way of 0-2, which may be closed in the shell. */
	if ((fd = fcntl(keep, F_DUPFD, 10)) != -1) {
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
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* Keep the report pipe as fd 3, drop everything else. */
	dup2(keep, 3);
	close(keep);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (syscall(SYS_close_range, 4U, ~0U, 0) == -1)
		for (fd = 4; fd < 1024; fd++)
			close(fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t
helper_spawn(helper_fn fn, void *arg, const char *name, int *reportfd)
{
	sigset_t all, old;
	int p[2], e;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	fflush(NULL);
	/* No handler of the shell may run in the child before the scrub. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		helper_scrub(p[1]);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		_exit(fn(arg, 3));
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		errno = e;
		return -1;
	}
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
			return -1; /* EINTR included: the caller checks signals */
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
