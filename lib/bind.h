/*
 * bind: binding files in a namespace directory, and the namespace's
 * generation counter.
 *
 * A binding is the file NSDIR/ID: a ring (ring.h) whose helper holds an
 * exclusive flock on it for its whole life (an exact liveness test) and
 * whose header's owner word the kernel marks when the helper dies (a
 * syscall-free one). Creation happens under NSDIR/.lock: a stale file is
 * reclaimed, the new one is built under a temporary name, locked, sized and
 * initialised, then renamed into place, so nobody sees a half-made binding.
 * NSDIR/.gen holds a counter bumped on every creation and removal.
 *
 * Stale files (their helper died) are swept under NSDIR/.lock by every
 * creation and removal, and by bind_sweep. When no binding is left, the
 * namespace directory goes too: its .gen is first set to BIND_GEN_DEAD, so
 * that whoever keeps the old counter mapped (nsview) knows to map the new
 * one; whoever opened .lock of a directory being removed finds it unlinked
 * after flock and starts again (the directory is made again).
 */
#ifndef BASHSOCK_BIND_H
#define BASHSOCK_BIND_H

#include "parse.h"
#include "ring.h"
#include "rt.h"

#include <stdint.h>
#include <sys/types.h>

struct binding {
	struct ring ring;
	int fd;
	char nsdir[RT_PATH_MAX];
	char id[PARSE_ID_MAX + 1];
};

/* Helper side: creates ID in namespace ns and makes this process its owner.
 * -1 with errno: EEXIST (a live binding holds ID), EINVAL (bad ID or ns),
 * EPERM (unsafe runtime directory), ENOSPC, ... */
int bind_create(struct binding *b, const char *ns, const char *id, size_t cap,
    uint32_t kind, uint32_t flags);
/* Helper side: marks the binding closed, wakes every waiter, removes the
 * file if it is still ours, bumps the generation, unmaps and unlocks. */
void bind_remove(struct binding *b);

/* Maps the live binding ns/id. -1 with errno ENOENT when there is none or
 * it is stale, EINVAL for a bad name. The fd is closed again at once. */
int bind_open(struct binding *b, const char *ns, const char *id);
void bind_close(struct binding *b);
/* Exact liveness of ns/id by its flock: 1 alive, 0 not, -1 error. */
int bind_locked(const char *nsdir, const char *id);

/* Calls fn for every live binding of ns (mapped; fn must not keep it).
 * Returns the number visited, or -1 with errno. Makes no directory. */
int bind_each(const char *ns, void (*fn)(struct binding *, void *), void *arg);

/* Maps NSDIR/.gen (creating it); returns the counter or NULL/errno. */
uint64_t *bind_gen_map(const char *nsdir);
void bind_gen_unmap(uint64_t *gen);
void bind_gen_bump(const char *nsdir);
/* The value of a .gen whose namespace directory was removed: map the
 * counter again (the directory and a new .gen are made on the way). */
#define BIND_GEN_DEAD UINT64_MAX

/* Removes every stale binding file of ns (its helper died: its whole
 * buffer is freed), under the namespace lock; when no binding is left, the
 * namespace directory with its .lock and .gen. Returns the number of files
 * removed, or -1 with errno. */
int bind_sweep(const char *ns);

#endif
