/* Unit tests of lib/conv.c: the client table, rx segment marks and what
 * `read -c' may take. Run under ASan and UBSan by `make test'. */
#include "conv.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct conv *
mkconv(struct ring *r, size_t cap)
{
	int fd = memfd_create("conv", MFD_CLOEXEC);

	if (fd == -1 || ring_create(r, fd, cap, CONV_SIZE, RING_IN, 0) == -1) {
		perror("ring_create");
		exit(2);
	}
	close(fd);
	return conv_of(r);
}

/* Client n publishes s, as the input helper does: mark, then publish. */
static void
say(struct conv *cv, struct ring *r, uint32_t n, const char *s)
{
	size_t k = strlen(s);

	CHECK(conv_mark(cv, r, n) == 0);
	ring_put(r, 0, s, k);
	ring_publish(r, k);
}

/* What `read -c' takes: one client's run, at most max bytes. */
static uint32_t
take_c(struct conv *cv, struct ring *r, char *buf, size_t max, int flags)
{
	uint64_t at;
	size_t seg;
	ssize_t k;
	uint32_t n;

	for (;;) {
		if ((n = conv_segment(cv, r, &at, &seg)) == 0)
			return 0;
		k = ring_take_at(
		    r, at, at + seg, buf, seg < max ? seg : max, flags);
		if (k >= 0) {
			buf[k] = '\0';
			return n;
		}
	}
}

static void
test_segments(void)
{
	struct ring r;
	struct conv *cv = mkconv(&r, 4096);
	char buf[256];

	CHECK(cv != NULL);
	say(cv, &r, 1, "one a\n");
	say(cv, &r, 1, "one b\n");
	say(cv, &r, 2, "two a\n");
	say(cv, &r, 1, "one c\n");
	/* One client's run at a time, never across a mark. */
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, 0) == 1);
	CHECK(strcmp(buf, "one a\none b\n") == 0);
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, 0) == 2);
	CHECK(strcmp(buf, "two a\n") == 0);
	/* A line at a time within the run. */
	say(cv, &r, 1, "one d\n");
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, RING_TAKE_LINE) == 1);
	CHECK(strcmp(buf, "one c\n") == 0);
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, RING_TAKE_LINE) == 1);
	CHECK(strcmp(buf, "one d\n") == 0);
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, 0) == 0);
	ring_unmap(&r);
}

/* A plain take ignores the marks; later -c takes start at the right run
 * even when the tail moved into the middle of one. */
static void
test_plain_then_c(void)
{
	struct ring r;
	struct conv *cv = mkconv(&r, 4096);
	char buf[256];

	say(cv, &r, 3, "abc\n");
	say(cv, &r, 4, "defg\n");
	CHECK(ring_take(&r, buf, 2, 0) == 2);
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, 0) == 3);
	CHECK(strcmp(buf, "c\n") == 0);
	CHECK(ring_take(&r, buf, 3, 0) == 3);
	CHECK(take_c(cv, &r, buf, sizeof(buf) - 1, 0) == 4);
	CHECK(strcmp(buf, "g\n") == 0);
	ring_unmap(&r);
}

/* Marks are reused once readers passed them: many short runs through a
 * small table never fill it while a reader keeps up; with no reader the
 * helper is told to wait. */
static void
test_marks_reused(void)
{
	struct ring r;
	struct conv *cv = mkconv(&r, 64 * 1024);
	char buf[64];
	uint32_t i, fails = 0;

	for (i = 0; i < 3 * CONV_MARKS; i++) {
		say(cv, &r, 1 + i % 2, "x\n");
		if (take_c(cv, &r, buf, sizeof(buf) - 1, 0) != 1 + i % 2)
			fails++;
	}
	CHECK(fails == 0);
	for (i = 0; i < CONV_MARKS + 10; i++)
		if (!conv_mark_room(cv, &r, 1 + i % 2))
			break;
		else
			say(cv, &r, 1 + i % 2, "y\n");
	CHECK(i < CONV_MARKS + 10 && !conv_mark_room(cv, &r, 1 + i % 2));
	/* The same client's run goes on without a new mark. */
	CHECK(conv_mark_room(cv, &r, 1 + (i + 1) % 2));
	ring_unmap(&r);
}

static void
test_clients(void)
{
	struct ring r;
	struct conv *cv = mkconv(&r, 4096);
	struct conv_client *a, *b, *c;

	a = conv_attach(cv, 1, "127.0.0.1", 40000);
	b = conv_attach(cv, 1 + CONV_SLOTS, "::1", 40001);
	CHECK(a != NULL && b != NULL && a != b);
	CHECK(conv_find(cv, 1) == a && conv_find(cv, 1 + CONV_SLOTS) == b);
	CHECK(strcmp(b->addr, "::1") == 0 && b->port == 40001);
	CHECK(conv_find(cv, 2) == NULL && conv_find(cv, 0) == NULL);
	__atomic_add_fetch(&a->queued, 100, __ATOMIC_SEQ_CST);
	conv_sent(a, 60);
	CHECK(a->queued == 40);
	conv_detach(a);
	/* Gone, but still known by name until its slot is taken. */
	CHECK(conv_find(cv, 1) == a && a->state == CONV_GONE && a->queued == 0);
	c = conv_attach(cv, 1 + 2 * CONV_SLOTS, "10.0.0.1", 1);
	CHECK(c == a && conv_find(cv, 1) == NULL);
	ring_unmap(&r);
}

int
main(void)
{
	test_segments();
	test_plain_then_c();
	test_marks_reused();
	test_clients();
	if (failures == 0)
		printf("test_conv: all passed\n");
	return failures != 0;
}
