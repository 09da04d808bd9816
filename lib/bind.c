/* bind: binding files, their liveness and the namespace generation. */
#include "bind.h"
#include "conv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEN_SIZE 4096

static int
bind_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Opens (creating 0600) a private file of the namespace; never follows a
 * link and refuses anything that is not a regular file of ours. */
static int
bind_open_private(const char *dir, const char *name, int create)
{
	char path[RT_PATH_MAX + 80];
	struct stat st;
	int fd, flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;

	if (bind_path(path, sizeof(path), dir, name) == -1)
		return -1;
	if (create)
		flags |= O_CREAT;
	if ((fd = open(path, flags, 0600)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int
bind_nslock(const char *dir)
{
	int fd = bind_open_private(dir, ".lock", 1);

	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

uint64_t *
bind_gen_map(const char *nsdir)
{
	void *map;
	int fd, e;

	if ((fd = bind_open_private(nsdir, ".gen", 1)) == -1)
		return NULL;
	if ((e = posix_fallocate(fd, 0, GEN_SIZE)) != 0) {
		close(fd);
		errno = e;
		return NULL;
	}
	map = mmap(NULL, GEN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return map == MAP_FAILED ? NULL : map;
}

void
bind_gen_bump(const char *nsdir)
{
	uint64_t *g = bind_gen_map(nsdir);

	if (g == NULL)
		return;
	__atomic_add_fetch(g, 1, __ATOMIC_SEQ_CST);
	/* The low word doubles as a futex for whoever waits for changes. */
	ring_futex_wake((uint32_t *)g, 0x7fffffff);
	munmap(g, GEN_SIZE);
}

int
bind_locked(const char *nsdir, const char *id)
{
	int fd = bind_open_private(nsdir, id, 0), alive;

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	alive = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

int
bind_create(struct binding *b, const char *ns, const char *id, size_t cap,
    uint32_t kind, uint32_t flags)
{
	char path[RT_PATH_MAX + 80], tmp[RT_PATH_MAX + 80], tname[40];
	int lk, fd = -1, e;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	if (parse_id(id) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (rt_nsdir(ns, b->nsdir, sizeof(b->nsdir)) == -1)
		return -1;
	strcpy(b->id, id);
	snprintf(tname, sizeof(tname), ".new.%ld", (long)getpid());
	if (bind_path(path, sizeof(path), b->nsdir, id) == -1 ||
	    bind_path(tmp, sizeof(tmp), b->nsdir, tname) == -1)
		return -1;
	if ((lk = bind_nslock(b->nsdir)) == -1)
		return -1;
	switch (bind_locked(b->nsdir, id)) {
	case 1:
		errno = EEXIST;
		goto fail;
	case -1:
		if (errno != ELOOP && errno != EPERM)
			goto fail;
		/* a link or foreign file in our 0700 dir goes */
		__attribute__((fallthrough));
	default:
		if (unlink(path) == -1 && errno != ENOENT)
			goto fail;
	}
	unlink(tmp);
	fd =
	    open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1)
		goto fail;
	if (ring_create(&b->ring, fd, cap, kind == RING_IN ? CONV_SIZE : 0,
		kind, flags) == -1)
		goto fail;
	ring_own(&b->ring);
	if (rename(tmp, path) == -1)
		goto fail;
	b->fd = fd;
	bind_gen_bump(b->nsdir);
	close(lk);
	return 0;
fail:
	e = errno;
	if (b->ring.h != NULL)
		ring_unmap(&b->ring);
	if (fd != -1) {
		unlink(tmp);
		close(fd);
	}
	close(lk);
	errno = e;
	return -1;
}

void
bind_remove(struct binding *b)
{
	char path[RT_PATH_MAX + 80];
	struct stat a, c;
	int lk;

	if (b->ring.h == NULL)
		return;
	ring_set_state(&b->ring, RING_CLOSED);
	lk = bind_nslock(b->nsdir);
	if (bind_path(path, sizeof(path), b->nsdir, b->id) == 0 &&
	    fstat(b->fd, &a) == 0 && lstat(path, &c) == 0 &&
	    a.st_ino == c.st_ino && a.st_dev == c.st_dev)
		unlink(path);
	bind_gen_bump(b->nsdir);
	if (lk != -1)
		close(lk);
	ring_unmap(&b->ring);
	close(b->fd);
	b->fd = -1;
}

int
bind_open(struct binding *b, const char *ns, const char *id)
{
	int fd, e;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	if (parse_id(id) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (rt_nsdir(ns, b->nsdir, sizeof(b->nsdir)) == -1)
		return -1;
	strcpy(b->id, id);
	if ((fd = bind_open_private(b->nsdir, id, 0)) == -1)
		return -1;
	if (ring_map(&b->ring, fd) == -1) {
		e = errno;
		close(fd);
		errno = e == EINVAL ? ENOENT : e;
		return -1;
	}
	close(fd);
	if (!ring_alive(&b->ring)) {
		ring_unmap(&b->ring);
		errno = ENOENT;
		return -1;
	}
	return 0;
}

void
bind_close(struct binding *b)
{
	ring_unmap(&b->ring);
}

int
bind_each(const char *ns, void (*fn)(struct binding *, void *), void *arg)
{
	char dir[RT_PATH_MAX];
	struct binding b;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (rt_nsdir(ns, dir, sizeof(dir)) == -1 || (d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (parse_id(de->d_name) == -1)
			continue;
		if (bind_open(&b, ns, de->d_name) == -1)
			continue;
		fn(&b, arg);
		bind_close(&b);
		n++;
	}
	closedir(d);
	return n;
}
