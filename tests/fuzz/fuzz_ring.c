/*
 * libFuzzer target for lib/ring.c: random operation sequences on one ring in
 * a heap buffer laid out as the shared mapping (header page, then data).
 * The producer side works as the input helper does (ring_put of a stash,
 * ring_spans for the rest, ring_last_nl to publish whole lines only, junk
 * written past head and never published); consumers take with no flag,
 * RING_TAKE_LINE or RING_TAKE_LINE|RING_TAKE_PARTIAL, through two views of
 * the one mapping. A reference copy of the published stream checks that
 * every byte comes out exactly once, in order, in the amounts ring.h
 * promises, and that the cursors keep tail <= head <= tail + cap.
 *
 * Input: 2 bytes of capacity, 5 of start position, then operations, each an
 * opcode byte and its arguments; data for the producer comes from the input.
 *
 *   make fuzz-build && build/fuzz/fuzz_ring tests/fuzz/corpus/ring
 */
#include "ring.h"
#include "check.h"
#include "ringmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned
next(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned
next16(struct in *in)
{
	unsigned lo = next(in);

	return lo | next(in) << 8;
}

/* The published stream as the reference sees it. */
struct ref {
	char *buf;
	size_t len, cap; /* bytes published so far */
	size_t out;	 /* bytes consumed so far */
};

static void
ref_add(struct ref *f, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (f->len + n > f->cap) {
		f->cap = (f->len + n) * 2 + 64;
		f->buf = realloc(f->buf, f->cap);
		CHECK(f->buf != NULL);
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
}

static void
check_cursors(const struct ring *r, const struct ref *f, uint64_t start)
{
	uint64_t t = r->d->tail, h = r->d->head;

	CHECK(t <= h && h <= t + r->cap);
	CHECK(h - start == f->len && t - start == f->out);
	CHECK(ring_used(r) == f->len - f->out);
	CHECK(ring_free(r) == r->cap - ring_used(r));
}

/* Index of the last '\n' in p[0..n), or -1. */
static ssize_t
ref_last_nl(const char *p, size_t n)
{
	while (n > 0)
		if (p[--n] == '\n')
			return (ssize_t)n;
	return -1;
}

/*
 * Producer: n bytes (from the input, or generated with a newline every
 * `every` bytes) go in as the input helper puts them: the first k through
 * ring_put, the rest through ring_spans; then the whole lines (or
 * everything) are published and the rest is dropped, as a client's stash
 * would be kept back.
 */
static void
produce(struct ring *r, struct ref *f, struct in *in, int generated)
{
	size_t fre = ring_free(r), n, k, i, pub, n1, n2;
	unsigned every = 0;
	char *tmp, *back, *p1, *p2;
	ssize_t nl;
	int whole;

	n = next16(in) % (fre + 1);
	k = n ? next16(in) % (n + 1) : 0;
	whole = next(in) & 1;
	if (generated)
		every = next(in);
	else if (n > in->n)
		n = in->n, k = k > n ? n : k;
	if ((tmp = malloc(n + 1)) == NULL || (back = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (!generated)
			tmp[i] = (char)next(in);
		else
			tmp[i] = every && (f->len + i) % (every + 1) == every
				     ? '\n'
				     : (char)('a' + (f->len + i) % 26);
	}
	ring_put(r, 0, tmp, k);
	CHECK(ring_spans(r, k, n - k, &p1, &n1, &p2, &n2) == (n2 ? 2 : 1));
	CHECK(n1 + n2 == n - k);
	CHECK(p1 >= r->data && p1 + n1 <= r->data + r->cap);
	CHECK(n2 == 0 || (p2 == r->data && n2 <= r->cap));
	memcpy(p1, tmp + k, n1);
	memcpy(p2 == NULL ? p1 : p2, tmp + k + n1, n2);
	ring_get_unpublished(r, 0, back, n);
	CHECK(memcmp(back, tmp, n) == 0);
	nl = ring_last_nl(r, n);
	CHECK(nl == ref_last_nl(tmp, n));
	pub = whole ? (nl >= 0 ? (size_t)nl + 1 : 0) : n;
	ring_publish(r, pub);
	ref_add(f, tmp, pub);
	free(tmp);
	free(back);
}

/* Writes junk into the free space past head without publishing it. */
static void
scribble(struct ring *r, struct in *in)
{
	size_t fre = ring_free(r), n1, n2;
	char *p1, *p2;

	if (fre == 0)
		return;
	ring_spans(r, 0, fre, &p1, &n1, &p2, &n2);
	memset(p1, next(in), n1);
	if (n2)
		memset(p2, '\n', n2);
}

static void
consume(struct ring *r, struct ref *f, struct in *in, int flags)
{
	size_t used = ring_used(r), max, avail, want, n, i;
	ssize_t nl = -1;
	char *dst;

	max = next16(in) % (r->cap + 2);
	if ((dst = malloc(max + 1)) == NULL)
		abort();
	n = ring_take(r, dst, max, flags);
	avail = used < max ? used : max;
	for (i = 0; (flags & RING_TAKE_LINE) && i < avail; i++) {
		if (f->buf[f->out + i] == '\n') {
			nl = (ssize_t)i;
			break;
		}
	}
	if (!(flags & RING_TAKE_LINE))
		want = avail;
	else if (nl >= 0)
		want = (size_t)nl + 1;
	else if ((flags & RING_TAKE_PARTIAL) || used == r->cap || avail == max)
		want = avail;
	else
		want = 0;
	CHECK(n == want);
	CHECK(n == 0 || memcmp(dst, f->buf + f->out, n) == 0);
	f->out += n;
	free(dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct ring r, view;
	struct ref f = {NULL, 0, 0, 0};
	uint64_t start;
	size_t cap;
	char *map;
	unsigned op, steps = 0;

	if (size > 1 << 16)
		return 0;
	cap = next16(&in);
	cap = cap & 0x8000 ? 1 + cap % 4096 : 1 + cap % 48;
	start = (uint64_t)next16(&in) | (uint64_t)next16(&in) << 16 |
		(uint64_t)next(&in) << 32;
	if ((map = fuzz_ring_map(&r, cap, RING_IN, RING_RX)) == NULL)
		return 0;
	memset(map + RING_HDR, '\n', cap); /* stale bytes of no stream */
	r.d->head = r.d->tail = start;
	view = r; /* another process's mapping of the same file */

	while (in.n > 0 && steps++ < 10000) {
		op = next(&in) % 8;
		switch (op) {
		case 0:
			produce(&r, &f, &in, 0);
			break;
		case 1:
			produce(&r, &f, &in, 1);
			break;
		case 2:
			scribble(&r, &in);
			break;
		case 3:
			consume(&r, &f, &in, 0);
			break;
		case 4:
		case 5:
			consume(op == 4 ? &r : &view, &f, &in, RING_TAKE_LINE);
			break;
		default:
			consume(op == 6 ? &r : &view, &f, &in,
			    RING_TAKE_LINE | RING_TAKE_PARTIAL);
			break;
		}
		check_cursors(&r, &f, start);
	}
	/* Whatever is left comes out, all of it, in order. */
	while (ring_used(&r) > 0) {
		char buf[512];
		size_t n = ring_take(&view, buf, sizeof(buf), 0);

		CHECK(n > 0 && memcmp(buf, f.buf + f.out, n) == 0);
		f.out += n;
	}
	CHECK(f.out == f.len);
	check_cursors(&r, &f, start);
	free(f.buf);
	free(map);
	return 0;
}
