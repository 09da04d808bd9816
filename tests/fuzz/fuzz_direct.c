/*
 * libFuzzer target for the direct path's view of tx (lib/direct.c) and the
 * consumer side of lib/ring.c, over a header that another process of the
 * same user may have written anything into: tail, the direct path's sent
 * cursor and head come from the input. Whatever they hold, no span handed
 * to sendmsg (direct_unsent_spans, ring_peek) reaches outside the data,
 * ring_free never claims more than cap, and letting go of acknowledged
 * bytes (direct_release) keeps tail <= sent when the cursors were sound
 * and moves nothing when they were not.
 *
 * Input: 2 bytes of capacity, then rounds of 8 bytes each of tail, sent
 * and head offsets (small, so that sound and broken headers both come),
 * an unacked count and a lines flag.
 *
 *   make fuzz-build && build/fuzz/fuzz_direct tests/fuzz/corpus/direct
 */
#include "direct.h"
#include "ring.h"
#include "check.h"
#include "ringmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every byte of span p[0..n) lies in the data. */
static void
check_span(const struct ring *r, const char *p, size_t n)
{
	if (n == 0)
		return;
	CHECK(p >= r->data && p + n <= r->data + r->cap);
}

static uint64_t
get(const uint8_t **p, size_t *n, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i<bytes && * n> 0; i++, (*p)++, (*n)--)
		v |= (uint64_t) * *p << (8 * i);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring r;
	struct iovec iov[2];
	char *map, *p1, *p2;
	size_t cap, n1, n2, unacked, before;
	uint64_t base, t, s, h;
	int cnt, sound, rounds = 0;

	if (size < 2 || size > 4096)
		return 0;
	cap = 1 + get(&data, &size, 2) % 256;
	if ((map = fuzz_ring_map(&r, cap, RING_OUT, RING_TX)) == NULL)
		return 0;
	base = (uint64_t)-1 - 600; /* the cursors wrap in some rounds */
	while (size > 0 && rounds++ < 200) {
		t = base + get(&data, &size, 2) % 1024;
		s = t + (get(&data, &size, 1) % 64) - 16;
		h = t + (get(&data, &size, 2) % 1024) - 32;
		unacked = (size_t)get(&data, &size, 2) % 512;
		r.d->tail = t;
		r.h->direct.sent = s;
		r.d->head = h;
		sound = s - t <= h - t && h - t <= cap;

		CHECK(ring_free(&r) <= cap);
		cnt = ring_peek(&r, &p1, &n1, &p2, &n2);
		CHECK(cnt >= 0 && cnt <= 2);
		if (cnt > 0) {
			check_span(&r, p1, n1);
			check_span(&r, p2, n2);
			CHECK(n1 + n2 <= cap);
		}
		cnt = direct_unsent_spans(&r, iov);
		CHECK(cnt >= 0 && cnt <= 2);
		CHECK(cnt == 0 || sound);
		if (cnt > 0) {
			check_span(&r, iov[0].iov_base, iov[0].iov_len);
			if (cnt == 2)
				check_span(&r, iov[1].iov_base, iov[1].iov_len);
			CHECK(
			    iov[0].iov_len + (cnt == 2 ? iov[1].iov_len : 0) ==
			    h - s);
		}
		CHECK(direct_inflight(&r) <= cap);
		CHECK(direct_unsent(&r) == (sound && h != s));
		before = direct_inflight(&r);
		direct_release(&r, unacked, (int)(get(&data, &size, 1) & 1));
		if (sound) {
			CHECK(r.h->direct.sent - r.d->tail <= before);
			CHECK(r.h->direct.sent - r.d->tail >=
			      (unacked < before ? unacked : before));
		} else {
			CHECK(r.d->tail == t);
		}
	}
	free(map);
	return 0;
}
