/*
 * rt: the per-user runtime directory and its namespaces.
 *
 * Base, the first that applies:
 *   $XDG_RUNTIME_DIR/bashsock  XDG_RUNTIME_DIR set, absolute, and a
 *                              directory of this user, mode 0700
 *   /run/user/UID/bashsock     /run/user/UID is one (systemd makes it, a
 *                              tmpfs only the user can write: where
 *                              XDG_RUNTIME_DIR points in a login session,
 *                              so cron jobs and su shells of a logged-in
 *                              user meet its bindings there)
 *   /dev/shm/bashsock-UID      the rest (containers, no systemd)
 * Every directory on the way is created 0700 and checked with lstat: a link,
 * a non-directory, another owner or any group/other bit is refused (EPERM).
 * /dev/shm is writable by everybody: another user may create
 * /dev/shm/bashsock-UID first. bashsock then refuses it and fails with one
 * line naming the directory and what to do (rt_strerror): there is no
 * other tmpfs place on such a host that only the user can create, and a
 * name the squatter cannot predict would have to be remembered somewhere
 * only the user can write, which is such a place.
 */
#ifndef BASHSOCK_RT_H
#define BASHSOCK_RT_H

#include <stddef.h>
#include <sys/types.h>

#define RT_PATH_MAX 256

/* The namespace to use: $BASHSOCK_NS, or "default" when unset or empty. */
const char *rt_ns(void);

/*
 * Fills buf with the namespace's directory, creating it if needed.
 * Returns 0, or -1 with errno (EINVAL: bad namespace name; EPERM: a
 * directory on the way is not safely ours; ENAMETOOLONG; mkdir's errors).
 */
int rt_nsdir(const char *ns, char *buf, size_t len);

/* Fills buf with the base directory (created and checked). 0 or -1/errno. */
int rt_base(char *buf, size_t len);

/*
 * The text to show for errno e after rt_base or rt_nsdir (or a caller of
 * theirs: bind_create, bind_open, bind_each, nsv_get) failed: when the
 * failure was a directory refused or not made, one line naming it and
 * what to do ("runtime directory /dev/shm/bashsock-1000 is not a private
 * directory of yours (owned by uid 1001, mode 0777): have it removed, or
 * set XDG_RUNTIME_DIR to a 0700 directory of yours"); else strerror(e).
 * Valid until the next rt call.
 */
const char *rt_strerror(int e);
/* Creates path 0700 unless it exists, then checks it as above (a namespace
 * directory removed by a sweep is made again this way). 0 or -1/errno. */
int rt_mkdir(const char *path);

/* This process's PID without a syscall on the hot path (a subshell gets
 * its own, never its parent's). */
pid_t rt_self(void);

#endif
