/* ring: shared byte ring; see ring.h for the invariant. */
#include "ring.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

int
ring_futex_wait(uint32_t *w, uint32_t val, int64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;

	if (timeout_ns >= 0) {
		ts = clock_ts(timeout_ns);
		tp = &ts;
	}
	if (syscall(SYS_futex, w, FUTEX_WAIT, val, tp, NULL, 0) == -1) {
		if (errno == EAGAIN)
			return 0; /* the word changed already */
		return -1;
	}
	return 0;
}

void
ring_futex_wake(uint32_t *w, int n)
{
	syscall(SYS_futex, w, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* The view of direction dirn of the mapping at h (cap per direction). */
static void
ring_dir_view(struct ring_hdr *h, int dirn, size_t maplen, struct ring *r)
{
	size_t cap = (size_t)h->cap;

	r->h = h;
	r->d = dirn == RING_TX ? &h->tx : &h->rx;
	r->data = (char *)h + h->data_off + (dirn == RING_TX ? cap : 0);
	r->cap = cap;
	r->maplen = maplen;
}

void
ring_view(const struct ring *r, int dirn, struct ring *v)
{
	ring_dir_view(r->h, dirn, r->maplen, v);
}

void *
ring_extra(const struct ring *r)
{
	return r->h->data_off > RING_HDR ? (char *)r->h + RING_HDR : NULL;
}

int
ring_create(struct ring *r, int fd, size_t cap, size_t extra, uint32_t kind,
    uint32_t flags)
{
	size_t len = RING_HDR + extra + 2 * cap;
	struct ring_hdr *h;
	void *map;
	int e;

	if ((e = posix_fallocate(fd, 0, (off_t)len)) != 0) {
		errno = e;
		return -1;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	memset(map, 0, RING_HDR);
	h = map;
	h->cap = cap;
	h->data_off = RING_HDR + extra;
	h->version = RING_VERSION;
	h->kind = kind;
	h->flags = flags;
	h->pid = (int32_t)getpid();
	h->direct.fd = -1;
	ring_dir_view(h, RING_RX, len, r);
	__atomic_store_n(&h->magic, RING_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int
ring_map(struct ring *r, int fd)
{
	struct stat st;
	struct ring_hdr *h;
	void *map;
	uint64_t len;

	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size < RING_HDR + 2) {
		errno = EINVAL;
		return -1;
	}
	len = (uint64_t)st.st_size;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	h = map;
	if (LOAD(&h->magic) != RING_MAGIC || h->version != RING_VERSION ||
	    h->cap == 0 || h->data_off < RING_HDR || h->data_off >= len ||
	    h->data_off % 64 != 0 || h->cap > (len - h->data_off) / 2 ||
	    h->data_off + 2 * h->cap != len) {
		munmap(map, len);
		errno = EINVAL;
		return -1;
	}
	ring_dir_view(h, RING_RX, len, r);
	return 0;
}

void
ring_unmap(struct ring *r)
{
	if (r->h != NULL)
		munmap(r->h, r->maplen);
	r->h = NULL;
	r->d = NULL;
}

int
ring_alive(const struct ring *r)
{
	uint32_t o = LOAD(&r->h->owner);

	return o != 0 && (o & RING_OWNER_DIED) == 0 &&
	       LOAD(&r->h->state) != RING_CLOSED;
}

/* Bumps a futex word and wakes n of its waiters: always with no waiter
 * count, else only when the count says someone waits. */
static void
ring_bump(uint32_t *seq, uint32_t *waiters, int n)
{
	__atomic_add_fetch(seq, 1, __ATOMIC_SEQ_CST);
	if (waiters == NULL || __atomic_load_n(waiters, __ATOMIC_SEQ_CST) != 0)
		ring_futex_wake(seq, n);
}

void
ring_set_state(struct ring *r, uint32_t state)
{
	STORE(&r->h->state, state);
	ring_bump(&r->h->rx.wseq, NULL, INT_MAX);
	ring_bump(&r->h->tx.wseq, NULL, INT_MAX);
	ring_bump(&r->h->tx.rseq, NULL, INT_MAX);
	ring_futex_wake(&r->h->tx.wlock, INT_MAX);
	ring_futex_wake(&r->h->end_seen, INT_MAX);
}

void
ring_set_end(struct ring *r)
{
	STORE(&r->d->end, 1);
	ring_bump(&r->d->wseq, NULL, INT_MAX);
	ring_bump(&r->d->rseq, NULL, INT_MAX);
}

size_t
ring_free(const struct ring *r)
{
	size_t u = ring_used(r);

	/* A header someone else wrote (head beyond tail + cap): no room. */
	return u >= r->cap ? 0 : r->cap - u;
}

/* Copies between the ring at absolute position pos and a flat buffer. */
static void
ring_copy(const struct ring *r, uint64_t pos, char *flat, size_t n, int out)
{
	size_t off = (size_t)(pos % r->cap), first = r->cap - off;

	if (n == 0)
		return; /* flat may be NULL then (an empty stash): no memcpy */
	if (first > n)
		first = n;
	if (out) {
		memcpy(flat, r->data + off, first);
		memcpy(flat + first, r->data, n - first);
	} else {
		memcpy(r->data + off, flat, first);
		memcpy(r->data, flat + first, n - first);
	}
}

void
ring_put(struct ring *r, size_t off, const void *src, size_t n)
{
	ring_copy(r, r->d->head + off, (char *)src, n, 0);
}

void
ring_get_unpublished(const struct ring *r, size_t off, void *dst, size_t n)
{
	ring_copy(r, r->d->head + off, dst, n, 1);
}

void
ring_get_at(const struct ring *r, size_t off, void *dst, size_t n)
{
	ring_copy(r, LOAD(&r->d->tail) + off, dst, n, 1);
}

int
ring_spans(struct ring *r, size_t off, size_t n, char **p1, size_t *n1,
    char **p2, size_t *n2)
{
	size_t o = (size_t)((r->d->head + off) % r->cap), first = r->cap - o;

	*p1 = r->data + o;
	if (first >= n) {
		*n1 = n;
		*p2 = NULL;
		*n2 = 0;
		return 1;
	}
	*n1 = first;
	*p2 = r->data;
	*n2 = n - first;
	return 2;
}

void
ring_publish(struct ring *r, size_t n)
{
	__atomic_store_n(&r->d->head, r->d->head + n, __ATOMIC_SEQ_CST);
	ring_bump(&r->d->wseq, &r->d->rwait, INT_MAX);
}

void
ring_publish_quiet(struct ring *r, size_t n)
{
	__atomic_store_n(&r->d->head, r->d->head + n, __ATOMIC_SEQ_CST);
}

void
ring_poke(struct ring *r)
{
	ring_bump(&r->d->wseq, &r->d->rwait, INT_MAX);
}

ssize_t
ring_last_nl(const struct ring *r, size_t n)
{
	size_t o = (size_t)(r->d->head % r->cap), first = r->cap - o;
	const char *p;

	if (first > n)
		first = n;
	if (n > first && (p = memrchr(r->data, '\n', n - first)) != NULL)
		return (ssize_t)(first + (size_t)(p - r->data));
	if ((p = memrchr(r->data + o, '\n', first)) != NULL)
		return (ssize_t)(p - (r->data + o));
	return -1;
}

/* Index of the first '\n' in [pos, pos+n), or -1. */
static ssize_t
ring_first_nl(const struct ring *r, uint64_t pos, size_t n)
{
	size_t o = (size_t)(pos % r->cap), first = r->cap - o;
	const char *p;

	if (first > n)
		first = n;
	if ((p = memchr(r->data + o, '\n', first)) != NULL)
		return (ssize_t)(p - (r->data + o));
	if (n > first && (p = memchr(r->data, '\n', n - first)) != NULL)
		return (ssize_t)(first + (size_t)(p - r->data));
	return -1;
}

/*
 * A take moved tail to t. rseq always moves; the producer waiting for space
 * is woken on an output ring at once, on an input ring only once less than
 * half of it is used: the input helper (input_wait_space) then refills in
 * one large step, instead of a wake, a context switch and a tiny recv for
 * every line a reader takes from a full ring.
 */
static void
ring_taken(struct ring *r, uint64_t t)
{
	__atomic_add_fetch(&r->d->rseq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->d->wwait, __ATOMIC_SEQ_CST) == 0)
		return;
	if (r->d == &r->h->rx && LOAD(&r->d->head) - t >= r->cap / 2)
		return;
	ring_futex_wake(&r->d->rseq, 1);
}

ssize_t
ring_take_at(
    struct ring *r, uint64_t t, uint64_t h, char *dst, size_t max, int flags)
{
	size_t n = (size_t)(h - t), lim;
	ssize_t k;

	if (h < t || n > r->cap)
		return -1; /* tail moved between the loads */
	if (n == 0 || max == 0)
		return 0;
	lim = n < max ? n : max;
	if (flags & RING_TAKE_LINE) {
		if ((k = ring_first_nl(r, t, lim)) >= 0)
			lim = (size_t)k + 1;
		else if (!(flags & RING_TAKE_PARTIAL) && lim < max &&
			 n < r->cap)
			return 0;
	}
	ring_copy(r, t, dst, lim, 1);
	if (!__atomic_compare_exchange_n(&r->d->tail, &t, t + lim, 0,
		__ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return -1;
	ring_taken(r, t + lim);
	return (ssize_t)lim;
}

size_t
ring_take(struct ring *r, char *dst, size_t max, int flags)
{
	ssize_t n;
	int tries = 0;

	/* ring_take_at fails when tail moved under it (another reader), or
	 * when the header makes no sense: bounded, never a spin. */
	while ((n = ring_take_at(r, LOAD(&r->d->tail), LOAD(&r->d->head), dst,
		    max, flags)) == -1)
		if (++tries > 1000 || ring_corrupt(r))
			return RING_TAKE_CORRUPT;
	return (size_t)n;
}

int
ring_wait_data(struct ring *r, uint32_t seq, int64_t timeout_ns)
{
	int rc;

	__atomic_add_fetch(&r->d->rwait, 1, __ATOMIC_SEQ_CST);
	rc = ring_futex_wait(&r->d->wseq, seq, timeout_ns);
	__atomic_sub_fetch(&r->d->rwait, 1, __ATOMIC_SEQ_CST);
	return rc;
}

int
ring_wait_space(struct ring *r, uint32_t seq, int64_t timeout_ns)
{
	int rc;

	__atomic_add_fetch(&r->d->wwait, 1, __ATOMIC_SEQ_CST);
	rc = ring_futex_wait(&r->d->rseq, seq, timeout_ns);
	__atomic_sub_fetch(&r->d->wwait, 1, __ATOMIC_SEQ_CST);
	return rc;
}

int
ring_pidlock_try(uint32_t *w, pid_t pid)
{
	uint32_t cur = 0;

	if (__atomic_compare_exchange_n(
		w, &cur, (uint32_t)pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	if (cur == (uint32_t)pid) {
		errno = EDEADLK;
		return -1;
	}
	/* The holder died with the lock (SIGKILL): take it over. */
	if (kill((pid_t)cur, 0) == -1 && errno == ESRCH &&
	    __atomic_compare_exchange_n(
		w, &cur, (uint32_t)pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	errno = EBUSY;
	return -1;
}

int
ring_pidunlock(uint32_t *w, pid_t pid)
{
	uint32_t cur = (uint32_t)pid;

	return __atomic_compare_exchange_n(
		   w, &cur, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)
		   ? 0
		   : -1;
}

int
ring_wlock_try(struct ring *r, pid_t pid)
{
	return ring_pidlock_try(&r->d->wlock, pid);
}

int
ring_own(struct ring *r)
{
	static struct robust_list_head head;

	head.list.next = (struct robust_list *)&r->h->robust_next;
	head.futex_offset = (long)(offsetof(struct ring_hdr, owner) -
				   offsetof(struct ring_hdr, robust_next));
	head.list_op_pending = NULL;
	r->h->robust_next = (uint64_t)(uintptr_t)&head.list;
	STORE(&r->h->owner, (uint32_t)syscall(SYS_gettid));
	return (int)syscall(SYS_set_robust_list, &head, sizeof(head));
}

int
ring_peek(const struct ring *r, char **p1, size_t *n1, char **p2, size_t *n2)
{
	uint64_t t = LOAD(&r->d->tail);
	size_t n = (size_t)(LOAD(&r->d->head) - t);
	size_t o = (size_t)(t % r->cap), first = r->cap - o;

	*p1 = r->data + o;
	*p2 = r->data;
	if (n == 0 || n > r->cap) { /* empty, or a header someone wrote */
		*n1 = *n2 = 0;
		return 0;
	}
	if (first >= n) {
		*n1 = n;
		*n2 = 0;
		return 1;
	}
	*n1 = first;
	*n2 = n - first;
	return 2;
}

void
ring_consume(struct ring *r, size_t n)
{
	__atomic_store_n(&r->d->tail, r->d->tail + n, __ATOMIC_SEQ_CST);
	ring_bump(&r->d->rseq, &r->d->wwait, INT_MAX);
}

int
ring_wlock_wait(struct ring *r, int64_t timeout_ns)
{
	uint32_t cur;
	int rc;

	__atomic_add_fetch(&r->d->lwait, 1, __ATOMIC_SEQ_CST);
	if ((cur = __atomic_load_n(&r->d->wlock, __ATOMIC_SEQ_CST)) == 0)
		rc = 0;
	else
		rc = ring_futex_wait(&r->d->wlock, cur, timeout_ns);
	__atomic_sub_fetch(&r->d->lwait, 1, __ATOMIC_SEQ_CST);
	return rc;
}

void
ring_wunlock(struct ring *r, pid_t pid)
{
	if (ring_pidunlock(&r->d->wlock, pid) == 0 &&
	    __atomic_load_n(&r->d->lwait, __ATOMIC_SEQ_CST) != 0)
		ring_futex_wake(&r->d->wlock, 1);
}

int
ring_corrupt(const struct ring *r)
{
	uint64_t t, h;
	int i;

	for (i = 0; i < 1000; i++) {
		t = LOAD(&r->d->tail);
		h = LOAD(&r->d->head);
		if (h - t <= r->cap)
			return 0;
		if (LOAD(&r->d->tail) == t)
			return 1;
	}
	return 1;
}
