/* ringmap.h: a ring for the fuzz targets, in a heap buffer laid out as the
 * shared mapping (the header page, then cap bytes of one direction's data)
 * and exactly the mapping's size, so that ASan sees any access past it. */
#ifndef BASHSOCK_FUZZ_RINGMAP_H
#define BASHSOCK_FUZZ_RINGMAP_H

#include "ring.h"

#include <stdlib.h>
#include <string.h>

/* Fills r as a view of direction dirn of a zeroed mapping with a valid
 * header; the mapping (free() it), or NULL when out of memory. */
static inline char *
fuzz_ring_map(struct ring *r, size_t cap, uint32_t kind, int dirn)
{
	char *map;

	if (posix_memalign((void **)&map, 4096, RING_HDR + cap) != 0)
		return NULL;
	memset(map, 0, RING_HDR + cap);
	r->h = (struct ring_hdr *)map;
	r->h->magic = RING_MAGIC;
	r->h->version = RING_VERSION;
	r->h->kind = kind;
	r->h->cap = cap;
	r->h->data_off = RING_HDR;
	r->d = dirn == RING_TX ? &r->h->tx : &r->h->rx;
	r->data = map + RING_HDR;
	r->cap = cap;
	r->maplen = RING_HDR + cap;
	return map;
}

#endif
