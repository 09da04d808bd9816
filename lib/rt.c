/* rt: per-user runtime directory, 0700, owner and mode checked. */
#include "rt.h"
#include "parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why the last rt_base/rt_nsdir failed, for rt_strerror; empty when it
 * did not fail on a directory (or did not fail). */
static char rt_why[RT_PATH_MAX + 160];
static int rt_why_errno;

const char *
rt_ns(void)
{
	const char *ns = getenv("BASHSOCK_NS");

	return (ns == NULL || *ns == '\0') ? "default" : ns;
}

static void rt_say(int e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records why (fmt) for rt_strerror; errno is e on return. */
static void
rt_say(int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rt_why, sizeof(rt_why), fmt, ap);
	va_end(ap);
	rt_why_errno = e;
	errno = e;
}

const char *
rt_strerror(int e)
{
	if (rt_why[0] != '\0' && e == rt_why_errno)
		return rt_why;
	return strerror(e);
}

/*
 * 0 when path is a real directory owned by us with no group/other bits;
 * else -1 with errno (EPERM when it is there but not safely ours), and,
 * when report, why and what to do in rt_why.
 */
static int
rt_check(const char *path, int report)
{
	struct stat st;
	char what[64];

	if (lstat(path, &st) == -1) {
		if (report)
			rt_say(errno, "runtime directory %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 077) == 0)
		return 0;
	if (!report) {
		errno = EPERM;
		return -1;
	}
	if (S_ISLNK(st.st_mode))
		snprintf(what, sizeof(what), "a symbolic link");
	else if (!S_ISDIR(st.st_mode))
		snprintf(what, sizeof(what), "not a directory");
	else if (st.st_uid != geteuid())
		snprintf(what, sizeof(what), "owned by uid %u, mode %04o",
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	else
		snprintf(what, sizeof(what), "mode %04o, not 0700",
		    (unsigned)(st.st_mode & 07777));
	rt_say(EPERM,
	    "runtime directory %s is not a private directory of yours (%s): "
	    "%s, or set XDG_RUNTIME_DIR to a 0700 directory of yours",
	    path, what,
	    S_ISDIR(st.st_mode) && st.st_uid == geteuid() ? "chmod 0700 it"
							  : "have it removed");
	return -1;
}

int
rt_mkdir(const char *path)
{
	int i;

	/* A namespace directory may be removed (its last binding went)
	 * between mkdir's EEXIST and the check: make it again. Bounded. */
	for (i = 0; i < 100; i++) {
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			rt_say(errno,
			    "runtime directory %s: cannot create it: %s", path,
			    strerror(errno));
			return -1;
		}
		if (rt_check(path, 0) == 0)
			return 0;
		if (errno != ENOENT)
			return rt_check(path, 1); /* says why */
	}
	return rt_check(path, 1);
}

int
rt_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char run[64];
	int n;

	rt_why[0] = '\0';
	snprintf(run, sizeof(run), "/run/user/%u", (unsigned)geteuid());
	if (xdg != NULL && xdg[0] == '/' && rt_check(xdg, 0) == 0)
		n = snprintf(buf, len, "%s/bashsock", xdg);
	else if (rt_check(run, 0) == 0)
		n = snprintf(buf, len, "%s/bashsock", run);
	else
		n = snprintf(
		    buf, len, "/dev/shm/bashsock-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return rt_mkdir(buf);
}

int
rt_nsdir(const char *ns, char *buf, size_t len)
{
	size_t n;

	rt_why[0] = '\0';
	if (parse_id(ns) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (rt_base(buf, len) == -1)
		return -1;
	n = strlen(buf);
	if (n + 1 + strlen(ns) + 1 > len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = '/';
	strcpy(buf + n + 1, ns);
	return rt_mkdir(buf);
}

/*
 * This process's PID without a syscall on the hot path: cached in a page
 * the kernel zeroes in a child at fork (MADV_WIPEONFORK), so a subshell
 * never takes its parent's PID for its own.
 */
static pid_t *rt_pidpage;
static int rt_pidmode; /* 0 untried, 1 page, -1 unsupported */

pid_t
rt_self(void)
{
	void *p;

	if (rt_pidmode == 0) {
		rt_pidmode = -1;
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && madvise(p, 4096, MADV_WIPEONFORK) == 0) {
			rt_pidpage = p;
			rt_pidmode = 1;
		} else if (p != MAP_FAILED) {
			munmap(p, 4096);
		}
	}
	if (rt_pidmode == -1)
		return getpid();
	if (*rt_pidpage == 0)
		*rt_pidpage = getpid();
	return *rt_pidpage;
}
