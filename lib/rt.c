/* rt: per-user runtime directory, 0700, owner and mode checked. */
#include "rt.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
rt_ns(void)
{
	const char *ns = getenv("BASHSOCK_NS");

	return (ns == NULL || *ns == '\0') ? "default" : ns;
}

/* 0 when path is a real directory owned by us with no group/other bits. */
static int
rt_check(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
rt_mkdir(const char *path)
{
	int i;

	/* A namespace directory may be removed (its last binding went)
	 * between mkdir's EEXIST and the check: make it again. Bounded. */
	for (i = 0; i < 100; i++) {
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
		if (rt_check(path) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
	}
	return -1;
}

int
rt_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg != NULL && xdg[0] == '/' && rt_check(xdg) == 0)
		n = snprintf(buf, len, "%s/bashsock", xdg);
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
