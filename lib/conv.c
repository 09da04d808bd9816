/* conv: client table, rx segment marks and reply records; see conv.h. */
#include "conv.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

struct conv *
conv_of(const struct ring *r)
{
	return r->h->kind == RING_IN ? ring_extra(r) : NULL;
}

struct conv_client *
conv_attach(struct conv *cv, uint32_t n, const char *addr, uint32_t port)
{
	struct conv_client *c = &cv->slot[(n - 1) % CONV_SLOTS], *best = NULL;
	size_t i;

	if (LOAD(&c->state) != CONV_LIVE) {
		best = c;
	} else {
		/* Its home slot is held: the free slot, or the one whose
		 * client has the lowest name (gone longest ago). */
		for (i = 0; i < CONV_SLOTS; i++) {
			c = &cv->slot[i];
			if (LOAD(&c->state) == CONV_LIVE)
				continue;
			if (best == NULL || c->n < best->n)
				best = c;
		}
	}
	if (best == NULL)
		return NULL;
	/* Writers still waiting on the old client see it gone first. */
	STORE(&best->state, CONV_FREE);
	STORE(&best->n, n);
	STORE(&best->queued, 0);
	STORE(&best->wlock, 0);
	best->port = port;
	snprintf(best->addr, sizeof(best->addr), "%s", addr);
	STORE(&best->state, CONV_LIVE);
	__atomic_add_fetch(&best->qseq, 1, __ATOMIC_SEQ_CST);
	return best;
}

static void
conv_bump(struct conv_client *c)
{
	__atomic_add_fetch(&c->qseq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->qwait, __ATOMIC_SEQ_CST) != 0)
		ring_futex_wake(&c->qseq, INT_MAX);
}

void
conv_detach(struct conv_client *c)
{
	STORE(&c->state, CONV_GONE);
	STORE(&c->queued, 0);
	conv_bump(c);
}

void
conv_sent(struct conv_client *c, uint64_t k)
{
	if (k == 0)
		return;
	__atomic_sub_fetch(&c->queued, k, __ATOMIC_SEQ_CST);
	conv_bump(c);
}

/* Retires the marks whose runs readers have passed; returns mtail. */
static uint64_t
conv_retire(struct conv *cv, const struct ring *rx)
{
	uint64_t h = cv->mhead, t = cv->mtail;
	uint64_t tail = ring_load(&rx->d->tail);

	while (h - t >= 2 && cv->mark[(t + 1) % CONV_MARKS].pos <= tail)
		t++;
	if (t != cv->mtail) {
		STORE(&cv->mtail, t);
		/* mtail moves before a slot is written again: a reader that
		 * read the old mark sees that and tries again. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return t;
}

int
conv_mark_room(struct conv *cv, const struct ring *rx, uint32_t n)
{
	uint64_t h = cv->mhead;

	if (h > cv->mtail && cv->mark[(h - 1) % CONV_MARKS].n == n)
		return 1;
	return h - conv_retire(cv, rx) < CONV_MARKS;
}

int
conv_mark(struct conv *cv, const struct ring *rx, uint32_t n)
{
	uint64_t h = cv->mhead;
	struct conv_mark *m;

	if (h > cv->mtail && cv->mark[(h - 1) % CONV_MARKS].n == n)
		return 0; /* the run goes on */
	if (h - conv_retire(cv, rx) >= CONV_MARKS)
		return -1;
	m = &cv->mark[h % CONV_MARKS];
	STORE(&m->pos, ring_load(&rx->d->head));
	STORE(&m->n, n);
	STORE(&cv->mhead, h + 1);
	return 0;
}

struct conv_client *
conv_find(struct conv *cv, uint32_t n)
{
	struct conv_client *c = &cv->slot[(n - 1) % CONV_SLOTS];
	size_t i;

	if (n == 0)
		return NULL;
	if (LOAD(&c->n) == n && LOAD(&c->state) != CONV_FREE)
		return c;
	for (i = 0; i < CONV_SLOTS; i++) {
		c = &cv->slot[i];
		if (LOAD(&c->n) == n && LOAD(&c->state) != CONV_FREE)
			return c;
	}
	return NULL;
}

uint32_t
conv_segment(struct conv *cv, const struct ring *rx, uint64_t *at, size_t *seg)
{
	uint64_t tail, head, mh, mt, i, end, pos;
	uint32_t n;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		tail = ring_load(&rx->d->tail);
		head = ring_load(&rx->d->head);
		mh = LOAD(&cv->mhead);
		mt = LOAD(&cv->mtail);
		if (head == tail || mh == mt || mh - mt > CONV_MARKS)
			break;
		/* The last mark at or before tail, and where the next one
		 * starts. */
		n = 0;
		end = head;
		for (i = mt; i < mh; i++) {
			pos = LOAD(&cv->mark[i % CONV_MARKS].pos);
			if (pos > tail) {
				end = pos;
				break;
			}
			n = LOAD(&cv->mark[i % CONV_MARKS].n);
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (LOAD(&cv->mtail) != mt)
			continue; /* a mark read may have been reused */
		if (n == 0 || end <= tail || end > head)
			break;
		*at = tail;
		*seg = (size_t)(end - tail);
		return n;
	}
	*seg = 0;
	return 0;
}
