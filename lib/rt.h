/*
 * rt: the per-user runtime directory and its namespaces.
 *
 * Base: $XDG_RUNTIME_DIR/bashsock when XDG_RUNTIME_DIR is set and is a
 * directory owned by this user with mode 0700; else /dev/shm/bashsock-UID.
 * Every directory on the way is created 0700 and checked with lstat: a link,
 * a non-directory, another owner or any group/other bit is refused (EPERM).
 */
#ifndef BASHSOCK_RT_H
#define BASHSOCK_RT_H

#include <stddef.h>

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

/* Creates path 0700 unless it exists, then checks it as above (a namespace
 * directory removed by a sweep is made again this way). 0 or -1/errno. */
int rt_mkdir(const char *path);

#endif
