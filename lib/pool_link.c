/* pool_link: the helper the pool and the master run in, and its message
 * pipe to the builtin (see pool.h). */
#include "pool.h"
#include "clock.h"
#include "helper.h"
#include "line.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* Set by the handlers, in the helper only: the stop signal, a child. */
volatile sig_atomic_t pool_stop;
volatile sig_atomic_t pool_child;

static void
pool_on_stop(int sig)
{
	pool_stop = sig;
}

static void
pool_on_child(int sig)
{
	(void)sig;
	pool_child = 1;
}

/* The signals the helpers handle; they stay blocked outside waits. */
static void
pool_sigset(sigset_t *set)
{
	clock_stop_mask(set);
	sigaddset(set, SIGCHLD);
}

void
pool_say(int fd, char kind, const char *fmt, ...)
{
	char buf[POOL_MSG_MAX];
	size_t n, off = 0;
	ssize_t w;
	va_list ap;
	int m;

	buf[0] = kind;
	buf[1] = ' ';
	va_start(ap, fmt);
	m = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n = strlen(buf);
	for (off = 2; off < n; off++)
		if (buf[off] == '\n')
			buf[off] = '?';
	buf[n++] = '\n';
	for (off = 0; off < n;) {
		w = write(fd, buf + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* Child: from a copy of the shell to a clean helper, msgfd on 3. */
static void
pool_child_setup(int msgfd, int keep_stderr)
{
	struct sigaction sa;
	sigset_t set;

	helper_scrub(msgfd, keep_stderr);

	/* Handlers without SA_RESTART: a stop interrupts blocking calls. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = pool_on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = pool_on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	pool_sigset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

pid_t
pool_spawn(pool_fn fn, void *arg, const char *name, int keep_stderr,
    struct pool_link *l)
{
	sigset_t old;
	int p[2], e, rc;
	pid_t pid;

	memset(l, 0, sizeof(*l));
	l->fd = l->pidfd = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	/* No shell handler in the child before the scrub, and the child
	 * cannot be reaped by the shell before its pidfd is open. */
	pid = helper_fork(&old);
	if (pid == 0) {
		close(p[0]);
		pool_child_setup(p[1], keep_stderr);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		rc = fn(arg, 3);
		pool_say(3, 'X', "%d", rc);
		_exit(rc);
	}
	e = errno;
	if (pid > 0)
		l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		errno = e;
		return -1;
	}
	l->fd = p[0];
	l->pid = pid;
	return pid;
}

/* Takes the first whole message out of l->buf; its kind, or 0. */
static int
pool_link_take(struct pool_link *l, char *line, size_t len)
{
	char *msg;
	size_t n, k, off = 0;
	int kind;

	while ((msg = line_take(l->buf, l->len, &off, &n)) != NULL) {
		kind = n >= 2 && msg[1] == ' ' ? msg[0] : 0;
		k = n >= 2 ? n - 2 : 0;
		if (k > len - 1)
			k = len - 1;
		if (k > 0)
			memcpy(line, msg + 2, k);
		line[k] = '\0';
		if (kind == 'X')
			l->status = atoi(line);
		if (kind == 'O' || kind == 'E' || kind == 'X') {
			line_drop(l->buf, &l->len, off);
			return kind;
		}
	}
	line_drop(l->buf, &l->len, off);
	if (l->len == sizeof(l->buf))
		l->len = 0; /* no newline in a full buffer: not ours */
	return 0;
}

int
pool_link_next(struct pool_link *l, char *line, size_t len, int64_t timeout_ns)
{
	struct pollfd pfd;
	ssize_t n;
	int kind;

	if (len == 0)
		return -1;
	if ((kind = pool_link_take(l, line, len)) != 0)
		return kind;
	if (l->fd == -1)
		return -1;
	pfd.fd = l->fd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, clock_ms(timeout_ns));
	if (n <= 0)
		return 0; /* timeout or EINTR: the caller checks signals */
	n = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
	if (n == -1)
		return 0;
	if (n == 0) {
		pool_link_close(l);
		return -1;
	}
	l->len += (size_t)n;
	return pool_link_take(l, line, len);
}

void
pool_link_close(struct pool_link *l)
{
	if (l->fd != -1)
		close(l->fd);
	if (l->pidfd != -1)
		close(l->pidfd);
	l->fd = l->pidfd = -1;
}

void
pool_link_stop(struct pool_link *l, int64_t wait_ns)
{
	int64_t deadline = clock_now() + wait_ns;
	char line[POOL_MSG_MAX];
	int k;

	if (l->fd == -1)
		return;
	/* By pidfd: the PID may be reused once the shell has reaped it. */
	if (l->pidfd != -1)
		syscall(SYS_pidfd_send_signal, l->pidfd, SIGTERM, NULL, 0);
	else
		kill(l->pid, SIGTERM);
	while (wait_ns > 0 && clock_now() < deadline) {
		k = pool_link_next(
		    l, line, sizeof(line), deadline - clock_now());
		if (k == -1 || k == 'X')
			break;
	}
	pool_link_close(l);
}

int
pool_shell_gone(int msgfd)
{
	struct pollfd pfd = {msgfd, 0, 0};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}
