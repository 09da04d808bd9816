/* pool_master: the master side, in the master helper. */
#include "helper.h"
#include "clock.h"
#include "net.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MASTER_WINDOW 16 /* requests in flight before an answer */

static int
pool_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pool_entry *)a)->name,
	    ((const struct pool_entry *)b)->name);
}

void
pool_scan_free(struct pool_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	d->e = NULL;
	d->n = 0;
}

/* Sorts one entry of the directory open as dfd. */
static enum pool_kind
pool_kind_of(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, 0) == -1 || !S_ISREG(st.st_mode))
		return POOL_NOTREG;
	if (faccessat(dfd, name, X_OK, AT_EACCESS) == -1)
		return POOL_NOTEXEC;
	return POOL_RUN;
}

int
pool_scan(const char *dir, struct pool_dir *d)
{
	struct dirent *de;
	size_t cap = 0;
	void *n;
	DIR *dp;
	int e;

	memset(d, 0, sizeof(*d));
	if ((dp = opendir(dir)) == NULL)
		return -1;
	errno = 0;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (d->n == cap) {
			cap = cap * 2 + 16;
			if ((n = realloc(d->e, cap * sizeof(*d->e))) == NULL)
				goto fail;
			d->e = n;
		}
		if ((d->e[d->n].name = strdup(de->d_name)) == NULL)
			goto fail;
		d->e[d->n].kind = pool_kind_of(dirfd(dp), de->d_name);
		d->n++;
		errno = 0;
	}
	if (errno != 0)
		goto fail;
	closedir(dp);
	if (d->n > 0)
		qsort(d->e, d->n, sizeof(*d->e), pool_entry_cmp);
	return 0;
fail:
	e = errno != 0 ? errno : ENOMEM;
	closedir(dp);
	pool_scan_free(d);
	errno = e;
	return -1;
}

/* One started daemon, a child of the master helper. */
struct master_daemon {
	pid_t pid; /* also its process group */
	int live;
	const char *name;
};

struct master {
	const struct master_opts *o;
	int msgfd, cfd, gone, failed;
	char chal[AUTH_HEX + 1]; /* the session's challenge: proofs bind it */
	char host[NET_ERR];	 /* the pool's address, numeric */
	struct master_daemon *d;
	size_t nd, live;
	sigset_t waitmask;
};

/* Connects to the pool and authenticates. 0, or -1 after saying why. */
static int
master_connect(struct master *m)
{
	const struct master_opts *o = m->o;
	char err[NET_ERR], what[AUTH_ERR];
	int e;

	m->cfd =
	    net_connect(o->host, o->port, POOL_CONNECT_WAIT, err, sizeof(err));
	if (m->cfd == -1) {
		if (!pool_stop)
			pool_say(m->msgfd, 'E', "%s port %d: %s", o->host,
			    o->port, err);
		return -1;
	}
	if (auth_client_session(m->cfd, o->key, o->keylen, POOL_PURPOSE,
		clock_now() + POOL_AUTH_WAIT, m->chal, what,
		sizeof(what)) == -1) {
		e = errno;
		if (e == EACCES)
			pool_say(m->msgfd, 'E',
			    "%s port %d: key refused by the pool", o->host,
			    o->port);
		else if (!pool_stop)
			pool_say(m->msgfd, 'E', "%s port %d: %s: %s", o->host,
			    o->port, what, strerror(e));
		close(m->cfd);
		m->cfd = -1;
		return -1;
	}
	net_addr_str(m->cfd, 1, m->host, sizeof(m->host));
	m->host[strcspn(m->host, " ")] = '\0';
	return 0;
}

/*
 * Spawns path with stdout on sock, stdin and stderr as ours (/dev/null and
 * the shell's stderr), no other descriptor, every signal at its default
 * and none blocked, in a process group of its own. posix_spawn: no fork
 * of this process's pages, and exec errors come back at once. A file
 * without #! runs under /bin/sh, as shells do. PID, or -1 with errno.
 */
static pid_t
master_spawn(const char *path, int sock, char *const *envp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *argv[2], **shv;
	pid_t pid = -1;
	int e;

	if (envp == NULL)
		envp = environ;
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	if ((e = helper_spawnattr(&at, POSIX_SPAWN_SETPGROUP)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	if ((e = posix_spawn_file_actions_adddup2(&fa, sock, 1)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (e = posix_spawnattr_setpgroup(&at, 0)) != 0)
		goto done;
	argv[0] = (char *)path;
	argv[1] = NULL;
	e = posix_spawn(&pid, path, &fa, &at, argv, envp);
	if (e == ENOEXEC) {
		if ((shv = helper_sh_argv(path, argv)) == NULL) {
			e = ENOMEM;
			goto done;
		}
		e = posix_spawn(&pid, "/bin/sh", &fa, &at, shv, envp);
		free(shv);
	}
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

/* Starts daemon name with stdout on sock (closed here). 0, or -1 after
 * saying why. */
static int
master_start(struct master *m, const char *name, int sock)
{
	char path[4096];
	struct master_daemon *d;
	pid_t pid;
	int e;

	snprintf(path, sizeof(path), "%s/%s", m->o->ddir, name);
	pid = master_spawn(path, sock, m->o->envp);
	e = errno;
	close(sock);
	if (pid == -1) {
		pool_say(
		    m->msgfd, 'E', "%s: cannot execute: %s", path, strerror(e));
		return -1;
	}
	d = &m->d[m->nd++];
	d->pid = pid;
	d->live = 1;
	d->name = name;
	m->live++;
	return 0;
}

/* Proves the data connection sock for request seq (name): the ATTACH
 * line, before any byte of the daemon. 0, or -1 with errno. */
static int
master_prove(struct master *m, int sock, unsigned seq, const char *name)
{
	char mac[AUTH_HEX + 1], line[POOL_ATTACH_LINE];
	int rc = -1;

	if (auth_attach_mac(m->o->key, m->o->keylen, m->chal, seq, name, mac) ==
		0 &&
	    pool_proof_line(line, sizeof(line), mac) == 0)
		rc = line_write(sock, line, clock_now() + POOL_CONNECT_WAIT);
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* Reads the pool's answer about name, request seq of the session, and
 * starts it on its port. 0 when the session goes on (whatever became of
 * name), -1 when it is over. */
static int
master_answer(struct master *m, const char *name, unsigned seq)
{
	const struct master_opts *o = m->o;
	char line[AUTH_LINE_MAX], err[NET_ERR], shown[80];
	struct pool_msg msg;
	int sock;

	if (line_read(m->cfd, line, sizeof(line),
		clock_now() + POOL_LINE_WAIT) == -1) {
		if (!pool_stop)
			pool_say(m->msgfd, 'E', "%s port %d: %s: %s", o->host,
			    o->port, "waiting for a port", strerror(errno));
		return -1;
	}
	if (pool_decode(line, &msg) == -1 ||
	    (msg.verb != POOL_PORT && msg.verb != POOL_REFUSED)) {
		pool_say(m->msgfd, 'E', "%s port %d: protocol error", o->host,
		    o->port);
		return -1;
	}
	pool_printable(shown, sizeof(shown), name);
	if (msg.verb == POOL_REFUSED) {
		pool_say(m->msgfd, 'E', "%s/%s: refused by the pool (%s)",
		    o->ddir, shown, msg.arg);
		m->failed = 1;
		return 0;
	}
	sock =
	    net_connect(m->host, msg.port, POOL_CONNECT_WAIT, err, sizeof(err));
	if (sock == -1) {
		if (!pool_stop)
			pool_say(m->msgfd, 'E', "%s/%s: %s port %d: %s",
			    o->ddir, shown, m->host, msg.port, err);
		m->failed = 1;
		return pool_stop ? -1 : 0;
	}
	if (pool_stop) {
		close(sock);
		return -1;
	}
	if (master_prove(m, sock, seq, name) == -1) {
		if (!pool_stop)
			pool_say(m->msgfd, 'E',
			    "%s/%s: %s port %d: proving: %s", o->ddir, shown,
			    m->host, msg.port, strerror(errno));
		close(sock);
		m->failed = 1;
		return pool_stop ? -1 : 0;
	}
	if (master_start(m, name, sock) == -1)
		m->failed = 1;
	return 0;
}

/* The names to ask for, in order: the executable entries whose names can
 * travel (the others are said and count as failures). NULL/ENOMEM. */
static const char **
master_names(struct master *m, size_t *n)
{
	const struct pool_dir *dir = m->o->dir;
	const char **q;
	char line[AUTH_LINE_MAX], shown[80];
	size_t i;

	*n = 0;
	if ((q = calloc(dir->n + 1, sizeof(*q))) == NULL)
		return NULL;
	for (i = 0; i < dir->n; i++) {
		if (dir->e[i].kind != POOL_RUN)
			continue;
		if (pool_encode(line, sizeof(line), POOL_DAEMON, dir->e[i].name,
			0) == -1) {
			pool_printable(shown, sizeof(shown), dir->e[i].name);
			pool_say(m->msgfd, 'E',
			    "%s/%s: name cannot be sent, skipped", m->o->ddir,
			    shown);
			m->failed = 1;
			continue;
		}
		q[(*n)++] = dir->e[i].name;
	}
	return q;
}

/*
 * Asks for every daemon, up to MASTER_WINDOW requests ahead of the
 * answers (the pool answers in order), and starts each as its port
 * comes. 0 once all were asked for, -1 when the session ended early.
 */
static int
master_session(struct master *m, const char **q, size_t n)
{
	char line[AUTH_LINE_MAX];
	size_t sent = 0, done = 0;

	while (done < n) {
		if (pool_stop)
			return -1;
		if (pool_shell_gone(m->msgfd)) {
			m->gone = 1;
			return -1;
		}
		for (; sent < n && sent - done < MASTER_WINDOW; sent++) {
			pool_encode(
			    line, sizeof(line), POOL_DAEMON, q[sent], 0);
			if (line_write(m->cfd, line,
				clock_now() + POOL_LINE_WAIT) == -1) {
				if (!pool_stop)
					pool_say(m->msgfd, 'E',
					    "%s port %d: asking for a port: %s",
					    m->o->host, m->o->port,
					    strerror(errno));
				return -1;
			}
		}
		done++;
		if (master_answer(m, q[done - 1], (unsigned)(done - 1)) == -1)
			return -1;
	}
	return 0;
}

/* Tells the pool there is no more. */
static void
master_end(struct master *m)
{
	char line[AUTH_LINE_MAX];
	struct pool_msg msg;

	pool_encode(line, sizeof(line), POOL_END, NULL, 0);
	if (line_write(m->cfd, line, clock_now() + POOL_LINE_WAIT) == -1 ||
	    line_read(m->cfd, line, sizeof(line),
		clock_now() + POOL_LINE_WAIT) == -1 ||
	    pool_decode(line, &msg) == -1 || msg.verb != POOL_BYE)
		if (!pool_stop)
			pool_say(m->msgfd, 'E', "%s port %d: no BYE after END",
			    m->o->host, m->o->port);
}

/* Reaps every child (daemons, and their orphans: we are their
 * subreaper); notes daemons ended by a signal we did not send. Returns 1
 * while children remain. */
static int
master_reap(struct master *m, int stopping)
{
	size_t i;
	pid_t pid;
	int st;

	pool_child = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < m->nd; i++) {
			if (m->d[i].pid != pid || !m->d[i].live)
				continue;
			m->d[i].live = 0;
			m->live--;
			if (WIFSIGNALED(st) && !stopping)
				pool_say(m->msgfd, 'E',
				    "%s/%s: ended by signal %d", m->o->ddir,
				    m->d[i].name, WTERMSIG(st));
			break;
		}
	}
	return pid == 0;
}

/* Waits (our signals open) up to ms for a signal or the shell's end. */
static void
master_pause(struct master *m, int ms)
{
	struct pollfd pfd = {m->msgfd, 0, 0};
	struct timespec ts = clock_ts(ms * 1000000LL);

	if (pool_stop || pool_child)
		return;
	if (ppoll(&pfd, 1, &ts, &m->waitmask) == 1 && pfd.revents != 0)
		m->gone = 1;
}

/* Stopping: TERM to every daemon's group, KILL after POOL_STOP_WAIT, and
 * every child (orphans included) reaped. */
static void
master_kill(struct master *m)
{
	int64_t deadline = clock_now() + POOL_STOP_WAIT;
	size_t i;

	for (i = 0; i < m->nd; i++)
		kill(-m->d[i].pid, SIGTERM);
	while (master_reap(m, 1) && clock_now() < deadline)
		master_pause(m, 50);
	for (i = 0; i < m->nd; i++)
		kill(-m->d[i].pid, SIGKILL);
	/* What escaped the groups (setsid) is not ours to wait for long. */
	deadline = clock_now() + POOL_SEC;
	while (master_reap(m, 1) && clock_now() < deadline)
		master_pause(m, 20);
}

/* Waits for every daemon; stops them all on a signal or the shell's
 * end. */
static void
master_wait(struct master *m)
{
	for (;;) {
		master_reap(m, 0);
		if (pool_stop || m->gone) {
			master_kill(m);
			return;
		}
		if (m->live == 0)
			return;
		master_pause(m, 1000);
	}
}

int
pool_master_main(void *arg, int msgfd)
{
	const struct master_opts *o = arg;
	struct master m;
	const char **q;
	sigset_t stops;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.o = o;
	m.msgfd = msgfd;
	m.cfd = -1;
	clock_stop_block(&m.waitmask); /* blocked already (pool_sigset) */
	sigdelset(&m.waitmask, SIGCHLD);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if ((m.d = calloc(o->dir->n + 1, sizeof(*m.d))) == NULL) {
		pool_say(msgfd, 'E', "out of memory");
		return 1;
	}
	/* While talking to the pool a stop interrupts the I/O (EINTR);
	 * SIGCHLD stays blocked so that a daemon's end does not. */
	clock_stop_mask(&stops);
	sigprocmask(SIG_UNBLOCK, &stops, NULL);
	if (master_connect(&m) == -1) {
		m.failed = 1;
	} else if ((q = master_names(&m, &n)) == NULL) {
		pool_say(msgfd, 'E', "out of memory");
		m.failed = 1;
		close(m.cfd);
	} else {
		if (master_session(&m, q, n) == 0)
			master_end(&m);
		else
			m.failed = 1;
		free(q);
		close(m.cfd);
	}
	sigprocmask(SIG_BLOCK, &stops, NULL);
	master_wait(&m);
	free(m.d);
	if (pool_stop)
		return 128 + pool_stop;
	return m.gone || m.failed ? 1 : 0;
}
