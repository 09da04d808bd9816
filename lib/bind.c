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

/*
 * Takes the namespace lock. A sweep may remove the directory meanwhile:
 * then the open fails (ENOENT: the directory is made again), or the lock
 * taken is on a .lock unlinked by the sweep that held it, which guards
 * nothing (st_nlink 0): start again. Bounded: EAGAIN after 100 rounds.
 */
static int
bind_nslock(const char *dir)
{
	struct stat st;
	int fd, i;

	for (i = 0; i < 100; i++) {
		if ((fd = bind_open_private(dir, ".lock", 1)) == -1) {
			if (errno != ENOENT || rt_mkdir(dir) == -1)
				return -1;
			continue;
		}
		while (flock(fd, LOCK_EX) == -1) {
			if (errno != EINTR) {
				close(fd);
				return -1;
			}
		}
		if (fstat(fd, &st) == 0 && st.st_nlink > 0)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
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
bind_gen_unmap(uint64_t *gen)
{
	if (gen != NULL)
		munmap(gen, GEN_SIZE);
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

/* With the lock held: the namespace has no binding left. Its .gen is
 * marked dead (and its waiters woken) before it goes, then .lock, then the
 * directory; a name made meanwhile by a lock-free reader (.gen) keeps the
 * directory, which is fine. */
static void
bind_ns_remove(const char *dir)
{
	char path[RT_PATH_MAX + 80];
	uint64_t *g;
	void *map;
	int fd;

	if ((fd = bind_open_private(dir, ".gen", 0)) != -1) {
		map = mmap(
		    NULL, GEN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (map != MAP_FAILED) {
			g = map;
			__atomic_store_n(g, BIND_GEN_DEAD, __ATOMIC_SEQ_CST);
			ring_futex_wake((uint32_t *)g, 0x7fffffff);
			munmap(map, GEN_SIZE);
		}
	}
	if (bind_path(path, sizeof(path), dir, ".gen") == 0)
		unlink(path);
	if (bind_path(path, sizeof(path), dir, ".lock") == 0)
		unlink(path);
	rmdir(dir);
}

/* With the lock held: 1 when the directory holds nothing but .lock and
 * .gen. Cheap (no file is opened): a removal only looks for the first
 * other name; stale files are left to the next sweep. */
static int
bind_ns_empty(const char *dir)
{
	struct dirent *de;
	int empty = 1;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 ||
			strcmp(de->d_name, "..") == 0 ||
			strcmp(de->d_name, ".lock") == 0 ||
			strcmp(de->d_name, ".gen") == 0;
	closedir(d);
	return empty;
}

/*
 * With the lock held: removes every stale binding file (and temporaries of
 * creators that died: live ones hold this lock), counting what it removed
 * in *removed; when nothing else is left and rmdir_empty is set, removes
 * the namespace. Returns the number of live bindings, or -1.
 */
static int
bind_sweep_locked(const char *dir, int rmdir_empty, int *removed)
{
	char path[RT_PATH_MAX + 80];
	struct dirent *de;
	int live = 0, other = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".lock") == 0 ||
		    strcmp(de->d_name, ".gen") == 0)
			continue;
		if (parse_id(de->d_name) == -1 &&
		    strncmp(de->d_name, ".new.", 5) != 0) {
			other++; /* not ours to judge */
			continue;
		}
		switch (bind_locked(dir, de->d_name)) {
		case 1:
			live++;
			continue;
		case -1:
			if (errno != ELOOP && errno != EPERM) {
				other++;
				continue;
			}
			/* a link or foreign file in our 0700 dir goes */
			__attribute__((fallthrough));
		default:
			if (bind_path(path, sizeof(path), dir, de->d_name) ==
				0 &&
			    unlink(path) == 0)
				(*removed)++;
		}
	}
	closedir(d);
	if (*removed > 0)
		bind_gen_bump(dir);
	if (rmdir_empty && live == 0 && other == 0)
		bind_ns_remove(dir);
	return live;
}

int
bind_sweep(const char *ns)
{
	char dir[RT_PATH_MAX];
	int lk, removed = 0, rc;

	if (rt_nsdir(ns, dir, sizeof(dir)) == -1 ||
	    (lk = bind_nslock(dir)) == -1)
		return -1;
	rc = bind_sweep_locked(dir, 1, &removed);
	close(lk);
	return rc == -1 ? -1 : removed;
}

int
bind_create(struct binding *b, const char *ns, const char *id, size_t cap,
    uint32_t kind, uint32_t flags)
{
	char path[RT_PATH_MAX + 80], tmp[RT_PATH_MAX + 80], tname[40];
	int lk, fd = -1, e, swept = 0;

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
	/* Every creation frees the buffers of the namespace's stale
	 * bindings (the directory stays: a binding is being made). */
	bind_sweep_locked(b->nsdir, 0, &swept);
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
	if (lk != -1) {
		/* The last binding of the namespace takes it along. */
		if (bind_ns_empty(b->nsdir))
			bind_ns_remove(b->nsdir);
		close(lk);
	}
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

	/* Listing makes no directory: a namespace without one is empty. */
	if (parse_id(ns) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (rt_base(dir, sizeof(dir)) == -1 ||
	    strlen(dir) + 1 + strlen(ns) + 1 > sizeof(dir))
		return -1;
	strcat(strcat(dir, "/"), ns);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
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
