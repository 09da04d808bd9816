/* nsview: syscall-free lookups of binding names, refreshed by generation. */
#include "nsview.h"
#include "bind.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NSV_MAX 8 /* namespaces cached per process */

struct nsv_entry {
	char id[PARSE_ID_MAX + 1];
	int state; /* 0 unmapped, 1 mapped, -1 not openable at this gen */
	struct ring ring;
};

struct nsview {
	char ns[PARSE_ID_MAX + 1];
	char dir[RT_PATH_MAX];
	uint64_t *gen;
	uint64_t seen;
	struct nsv_entry *tab; /* open addressing, size mask+1 */
	size_t mask;
	size_t count;
};

static struct nsview nsv_cache[NSV_MAX];
static int nsv_used;
static int nsv_busy;

void
nsv_hold(void)
{
	nsv_busy++;
}

void
nsv_release(void *unused)
{
	(void)unused;
	if (nsv_busy > 0)
		nsv_busy--;
}

/* Rings dropped while busy: unmapped at the first refresh when not busy. */
static struct ring *nsv_retired;
static size_t nsv_nretired, nsv_retired_cap;

static void
nsv_retire(struct ring *r)
{
	struct ring *n;

	if (nsv_busy == 0) {
		ring_unmap(r);
		return;
	}
	if (nsv_nretired == nsv_retired_cap) {
		n = realloc(
		    nsv_retired, (nsv_retired_cap * 2 + 8) * sizeof(*n));
		if (n == NULL)
			return; /* keep it mapped forever rather than crash */
		nsv_retired = n;
		nsv_retired_cap = nsv_retired_cap * 2 + 8;
	}
	nsv_retired[nsv_nretired++] = *r;
}

static size_t
nsv_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
nsv_drop(struct nsview *v)
{
	size_t i;

	if (nsv_busy == 0)
		while (nsv_nretired > 0)
			ring_unmap(&nsv_retired[--nsv_nretired]);
	if (v->tab == NULL)
		return;
	for (i = 0; i <= v->mask; i++)
		if (v->tab[i].state == 1)
			nsv_retire(&v->tab[i].ring);
	free(v->tab);
	v->tab = NULL;
	v->mask = 0;
	v->count = 0;
}

static void
nsv_insert(struct nsv_entry *tab, size_t mask, const char *id)
{
	size_t i = nsv_hash(id) & mask;

	while (tab[i].id[0] != '\0')
		i = (i + 1) & mask;
	strcpy(tab[i].id, id);
}

/* Doubles the table (no ring is mapped yet: only names move). */
static int
nsv_grow(struct nsview *v)
{
	size_t i, size = v->tab == NULL ? 16 : 2 * (v->mask + 1);
	struct nsv_entry *t = calloc(size, sizeof(*t));

	if (t == NULL)
		return -1;
	if (v->tab != NULL)
		for (i = 0; i <= v->mask; i++)
			if (v->tab[i].id[0] != '\0')
				nsv_insert(t, size - 1, v->tab[i].id);
	free(v->tab);
	v->tab = t;
	v->mask = size - 1;
	return 0;
}

/* The namespace directory was removed (its last binding went): the
 * counter mapped is dead and will never move again. Map the current one,
 * making the directory and .gen again as nsv_get does; on failure the
 * dead one stays, and the next lookup tries again. */
static void
nsv_regen(struct nsview *v)
{
	uint64_t *g;

	if (rt_nsdir(v->ns, v->dir, sizeof(v->dir)) == -1 ||
	    (g = bind_gen_map(v->dir)) == NULL)
		return;
	bind_gen_unmap(v->gen);
	v->gen = g;
}

/* Reads the directory again, in one pass: a name that exists all along is
 * returned by readdir even while others are added, but a second pass
 * capped at the first pass's count could stop before it (tmpfs lists the
 * newest first). On failure the view is left empty. */
static void
nsv_refresh(struct nsview *v)
{
	struct dirent *de;
	DIR *d;

	if (__atomic_load_n(v->gen, __ATOMIC_ACQUIRE) == BIND_GEN_DEAD)
		nsv_regen(v);
	v->seen = __atomic_load_n(v->gen, __ATOMIC_ACQUIRE);
	nsv_drop(v);
	if ((d = opendir(v->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (parse_id(de->d_name) == -1)
			continue;
		if ((v->tab == NULL || 2 * (v->count + 1) > v->mask + 1) &&
		    nsv_grow(v) == -1) {
			nsv_drop(v);
			break;
		}
		nsv_insert(v->tab, v->mask, de->d_name);
		v->count++;
	}
	closedir(d);
}

/* The last namespace that could not be opened, so that plain reads do not
 * retry (and pay syscalls) on every call. */
static char nsv_failed[PARSE_ID_MAX + 1];
static int nsv_failed_errno;

struct nsview *
nsv_get(const char *ns, int retry)
{
	struct nsview *v;
	int i;

	for (i = 0; i < nsv_used; i++)
		if (strcmp(nsv_cache[i].ns, ns) == 0)
			return &nsv_cache[i];
	if (!retry && strcmp(nsv_failed, ns) == 0) {
		errno = nsv_failed_errno;
		return NULL;
	}
	if (parse_id(ns) == -1) {
		errno = EINVAL;
		return NULL;
	}
	if (nsv_used == NSV_MAX) {
		/* Recycle the oldest slot; its gen map stays (4 KiB). */
		nsv_drop(&nsv_cache[0]);
		memmove(&nsv_cache[0], &nsv_cache[1],
		    sizeof(nsv_cache[0]) * (NSV_MAX - 1));
		nsv_used--;
	}
	v = &nsv_cache[nsv_used];
	memset(v, 0, sizeof(*v));
	if (rt_nsdir(ns, v->dir, sizeof(v->dir)) == -1 ||
	    (v->gen = bind_gen_map(v->dir)) == NULL) {
		nsv_failed_errno = errno;
		strcpy(nsv_failed, ns);
		return NULL;
	}
	nsv_failed[0] = '\0';
	strcpy(v->ns, ns);
	v->seen = ~(uint64_t)0;
	nsv_used++;
	return v;
}

const char *
nsv_dir(const struct nsview *v)
{
	return v->dir;
}

/* The entry named id, after a refresh if the generation moved. */
static struct nsv_entry *
nsv_entry(struct nsview *v, const char *id)
{
	struct nsv_entry *e;
	uint64_t g;
	size_t i;

	/* A dead counter is looked at again on every lookup until a live one
	 * is mapped (only when that fails does this cost a syscall each). */
	g = __atomic_load_n(v->gen, __ATOMIC_ACQUIRE);
	if (g != v->seen || g == BIND_GEN_DEAD)
		nsv_refresh(v);
	if (v->count == 0)
		return NULL;
	for (i = nsv_hash(id) & v->mask;; i = (i + 1) & v->mask) {
		e = &v->tab[i];
		if (e->id[0] == '\0')
			return NULL;
		if (strcmp(e->id, id) == 0)
			return e;
	}
}

int
nsv_has(struct nsview *v, const char *id)
{
	return nsv_entry(v, id) != NULL;
}

struct ring *
nsv_find(struct nsview *v, const char *id, uint32_t kind)
{
	struct nsv_entry *e;
	struct binding b;

	if ((e = nsv_entry(v, id)) == NULL)
		return NULL;
	if (e->state == 0) {
		if (bind_open(&b, v->ns, id) == 0) {
			e->ring = b.ring;
			e->state = 1;
		} else {
			e->state = -1;
		}
	}
	if (e->state != 1 || !ring_alive(&e->ring))
		return NULL;
	if (kind != 0 && e->ring.h->kind != kind)
		return NULL;
	return &e->ring;
}
