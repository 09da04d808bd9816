/*
 * nsview: a process's cached view of a namespace's bindings, so that asking
 * "is NAME a live binding?" costs no syscall while nothing changed.
 *
 * The view keeps the namespace's generation counter mapped and the set of
 * binding names read at that generation; it reads the directory again only
 * when the counter moves. Rings are mapped lazily, on the first lookup that
 * finds the name, and stay mapped until the generation moves. When the
 * namespace directory is removed (its last binding went), the counter is
 * marked dead first (BIND_GEN_DEAD, bind.h): the view then maps the new
 * one, making the directory again as its first use did.
 */
#ifndef BASHSOCK_NSVIEW_H
#define BASHSOCK_NSVIEW_H

#include "ring.h"

#include <stdint.h>

struct nsview;

/* The view of namespace ns (cached per process). NULL with errno. A
 * namespace that failed to open is not tried again unless retry is set. */
struct nsview *nsv_get(const char *ns, int retry);
/* The live ring named id of the given kind (0: any), or NULL. */
struct ring *nsv_find(struct nsview *v, const char *id, uint32_t kind);
/* 1 when the namespace holds a binding file named id, live or not (a
 * stale or closing binding): no syscall right after nsv_find. */
int nsv_has(struct nsview *v, const char *id);
/* While held, a directory refresh keeps old rings mapped (a caller is
 * still using one: read waiting while a trap runs another read). Holds
 * nest; nsv_release takes one back (its argument is unused, so that it can
 * be a cleanup callback). */
void nsv_hold(void);
void nsv_release(void *unused);

/* The namespace directory of the view. */
const char *nsv_dir(const struct nsview *v);

#endif
