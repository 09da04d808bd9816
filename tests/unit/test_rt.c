/*
 * Unit test of lib/rt: the runtime directory's checks and the one line
 * rt_strerror gives when one is refused (the directory named, what to do),
 * under an XDG_RUNTIME_DIR of the test's own. Prints each failure on
 * stderr; exits non-zero when any.
 */
#include "rt.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when s contains every one of the NULL-terminated list. */
static int
has_all(const char *s, const char *const *want)
{
	for (; *want != NULL; want++)
		if (strstr(s, *want) == NULL)
			return 0;
	return 1;
}

int
main(void)
{
	char top[] = "/tmp/test_rt.XXXXXX", base[RT_PATH_MAX], dir[RT_PATH_MAX];
	char want[RT_PATH_MAX + 16], cmd[RT_PATH_MAX + 16];
	char nsd[RT_PATH_MAX + 8];
	const char *mode0777[] = {
	    want, "mode 0777", "chmod 0700", "XDG_RUNTIME_DIR", NULL};
	const char *link[] = {
	    want, "symbolic link", "removed", "XDG_RUNTIME_DIR", NULL};
	const char *file[] = {want, "not a directory", NULL};
	const char *ns[] = {"/ns1", "mode 0755", NULL};
	struct stat st;

	if (mkdtemp(top) == NULL || setenv("XDG_RUNTIME_DIR", top, 1) == -1) {
		perror("setup");
		return 2;
	}
	snprintf(want, sizeof(want), "%s/bashsock ", top);
	snprintf(dir, sizeof(dir), "%s/bashsock", top);

	/* Made 0700 when missing; the base is under XDG_RUNTIME_DIR. */
	CHECK(rt_base(base, sizeof(base)) == 0 && strcmp(base, dir) == 0);
	CHECK(lstat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(rt_nsdir("ns1", base, sizeof(base)) == 0);
	/* Errors unrelated to a directory: plain strerror. */
	CHECK(strcmp(rt_strerror(ENOENT), strerror(ENOENT)) == 0);

	/* Open to others: refused, named, with what to do. */
	CHECK(chmod(dir, 0777) == 0);
	errno = 0;
	CHECK(rt_base(base, sizeof(base)) == -1 && errno == EPERM);
	CHECK(has_all(rt_strerror(EPERM), mode0777));
	CHECK(strchr(rt_strerror(EPERM), '\n') == NULL);
	/* Only for that errno: another stays strerror's. */
	CHECK(strcmp(rt_strerror(EIO), strerror(EIO)) == 0);
	errno = 0;
	CHECK(rt_nsdir("ns1", base, sizeof(base)) == -1 && errno == EPERM);
	CHECK(has_all(rt_strerror(EPERM), mode0777));

	/* A success forgets the last failure. */
	CHECK(chmod(dir, 0700) == 0);
	CHECK(rt_base(base, sizeof(base)) == 0);
	CHECK(strcmp(rt_strerror(EPERM), strerror(EPERM)) == 0);

	/* A namespace directory open to others: that one is named. */
	snprintf(nsd, sizeof(nsd), "%s/ns1", dir);
	CHECK(chmod(nsd, 0755) == 0);
	CHECK(rt_nsdir("ns1", base, sizeof(base)) == -1 && errno == EPERM);
	CHECK(has_all(rt_strerror(EPERM), ns));

	/* A link, even to a good directory: refused. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	CHECK(symlink("/tmp", dir) == 0);
	CHECK(rt_base(base, sizeof(base)) == -1 && errno == EPERM);
	CHECK(has_all(rt_strerror(EPERM), link));
	CHECK(unlink(dir) == 0);

	/* A file. */
	CHECK(close(creat(dir, 0600)) == 0);
	CHECK(rt_base(base, sizeof(base)) == -1 && errno == EPERM);
	CHECK(has_all(rt_strerror(EPERM), file));
	CHECK(unlink(dir) == 0);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	CHECK(system(cmd) == 0);
	if (failures != 0) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("test_rt: ok\n");
	return 0;
}
