/* Unit tests of lib/ring.c: run under ASan and UBSan by `make test`. */
#include "ring.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void
mkring(struct ring *r, size_t cap)
{
	int fd = memfd_create("ring", MFD_CLOEXEC);

	if (fd == -1 || ring_create(r, fd, cap, 0, RING_IN, 0) == -1) {
		perror("ring_create");
		exit(2);
	}
	close(fd);
}

static void
produce(struct ring *r, const char *s)
{
	size_t n = strlen(s);

	ring_put(r, 0, s, n);
	ring_publish(r, n);
}

static void
test_basic(void)
{
	struct ring r;
	char buf[64];
	size_t n;

	mkring(&r, 1024);
	CHECK(ring_used(&r) == 0);
	CHECK(ring_free(&r) == 1024);
	produce(&r, "hello\nwor");
	CHECK(ring_used(&r) == 9);
	n = ring_take(&r, buf, sizeof(buf), RING_TAKE_LINE);
	CHECK(n == 6 && memcmp(buf, "hello\n", 6) == 0);
	/* No whole line: nothing, unless PARTIAL. */
	CHECK(ring_take(&r, buf, sizeof(buf), RING_TAKE_LINE) == 0);
	n = ring_take(&r, buf, sizeof(buf), RING_TAKE_LINE | RING_TAKE_PARTIAL);
	CHECK(n == 3 && memcmp(buf, "wor", 3) == 0);
	CHECK(ring_used(&r) == 0);
	/* -b: at most max bytes, even within a line. */
	produce(&r, "abcdef\n");
	CHECK(ring_take(&r, buf, 4, RING_TAKE_LINE) == 4);
	CHECK(ring_take(&r, buf, 64, 0) == 3 && memcmp(buf, "ef\n", 3) == 0);
	ring_unmap(&r);
}

/* Bytes and lines that straddle the end of the data area. */
static void
test_wrap(void)
{
	struct ring r;
	char buf[2048], line[40];
	size_t n, i;
	ssize_t k;

	mkring(&r, 1024);
	for (i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "line %zu of the wrap test\n", i);
		if (ring_free(&r) < strlen(line)) {
			n = ring_take(&r, buf, sizeof(buf), 0);
			CHECK(n > 0);
		}
		produce(&r, line);
	}
	/* last_nl across the wrap: put unpublished bytes and find '\n'. */
	ring_take(&r, buf, sizeof(buf), 0);
	ring_put(&r, 0, "xx\nyy", 5);
	k = ring_last_nl(&r, 5);
	CHECK(k == 2);
	ring_get_unpublished(&r, 3, buf, 2);
	CHECK(memcmp(buf, "yy", 2) == 0);
	CHECK(ring_last_nl(&r, 2) == -1);
	ring_unmap(&r);
}

/* A line longer than the whole ring comes out when the ring is full. */
static void
test_full_line(void)
{
	struct ring r;
	char big[1024], buf[1024];

	mkring(&r, 1024);
	memset(big, 'x', sizeof(big));
	ring_put(&r, 0, big, sizeof(big));
	ring_publish(&r, sizeof(big));
	CHECK(ring_free(&r) == 0);
	CHECK(ring_take(&r, buf, sizeof(buf), RING_TAKE_LINE) == 1024);
	ring_unmap(&r);
}

struct consumer {
	struct ring *r;
	unsigned long *seen;
	size_t nlines;
	int done;
};

#define NLINES 200000
static unsigned char *counts;

static void *
consume(void *arg)
{
	struct consumer *c = arg;
	char buf[64];
	size_t n;
	unsigned long v;

	for (;;) {
		n = ring_take(c->r, buf, sizeof(buf) - 1, RING_TAKE_LINE);
		if (n == 0) {
			if (__atomic_load_n(&c->r->h->state,
				__ATOMIC_ACQUIRE) == RING_ENDED &&
			    ring_used(c->r) == 0)
				return NULL;
			ring_wait_data(c->r, ring_wseq(c->r), 1000000);
			continue;
		}
		buf[n] = '\0';
		v = strtoul(buf, NULL, 10);
		if (v < NLINES)
			__atomic_add_fetch(&counts[v], 1, __ATOMIC_RELAXED);
		c->nlines++;
	}
}

/* One producer, four consumers: every line exactly once. */
static void
test_consumers(void)
{
	struct ring r;
	struct consumer c[4];
	pthread_t t[4];
	char line[32];
	size_t i, total = 0, n;

	counts = calloc(NLINES, 1);
	mkring(&r, 4096);
	for (i = 0; i < 4; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].r = &r;
		pthread_create(&t[i], NULL, consume, &c[i]);
	}
	for (i = 0; i < NLINES; i++) {
		n = (size_t)snprintf(line, sizeof(line), "%zu\n", i);
		while (ring_free(&r) < n)
			ring_wait_space(&r, ring_rseq(&r), 1000000);
		ring_put(&r, 0, line, n);
		ring_publish(&r, n);
	}
	ring_set_state(&r, RING_ENDED);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += c[i].nlines;
	}
	CHECK(total == NLINES);
	for (i = 0; i < NLINES; i++)
		if (counts[i] != 1) {
			fprintf(
			    stderr, "line %zu seen %u times\n", i, counts[i]);
			failures++;
			break;
		}
	free(counts);
	ring_unmap(&r);
}

/* The owner word is marked by the kernel when the owner dies by SIGKILL. */
static void
test_owner_died(void)
{
	struct ring r;
	pid_t pid;
	int st;

	mkring(&r, 1024);
	CHECK(!ring_alive(&r)); /* no owner yet */
	pid = fork();
	if (pid == 0) {
		ring_own(&r);
		for (;;)
			pause();
	}
	while (__atomic_load_n(&r.h->owner, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	CHECK(ring_alive(&r));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CHECK(!ring_alive(&r));
	CHECK(r.h->owner & RING_OWNER_DIED);
	ring_unmap(&r);
}

/* A writer lock held by a dead process is taken over. */
static void
test_wlock(void)
{
	struct ring r;
	pid_t pid;

	mkring(&r, 1024);
	CHECK(ring_wlock_try(&r, getpid()) == 0);
	CHECK(ring_wlock_try(&r, getpid() + 1) == -1);
	ring_wunlock(&r, getpid());
	pid = fork();
	if (pid == 0) {
		ring_wlock_try(&r, getpid());
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	CHECK(r.d->wlock == (uint32_t)pid);
	CHECK(ring_wlock_try(&r, getpid()) == 0);
	ring_wunlock(&r, getpid());
	CHECK(r.d->wlock == 0);
	ring_unmap(&r);
}

/* ring_map refuses files that are not rings. */
static void
test_map(void)
{
	struct ring r, m;
	int fd = memfd_create("ring", MFD_CLOEXEC);

	CHECK(ftruncate(fd, 8192) == 0);
	CHECK(ring_map(&m, fd) == -1 && errno == EINVAL);
	CHECK(ring_create(&r, fd, 4096, 0, RING_IN, 0) == 0);
	CHECK(ring_map(&m, fd) == 0 && m.cap == 4096);
	ring_unmap(&m);
	ring_unmap(&r);
	close(fd);
}

/* ring_take on h in a child with a 5 s alarm: a spin (the old `continue'
 * on head beyond tail + cap) is a failure, not a hang. Returns what the
 * child saw: 1 RING_TAKE_CORRUPT, 0 anything else, -1 killed. */
static int
take_corrupt_in_child(struct ring *r)
{
	char buf[64];
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		alarm(5);
		_exit(ring_take(r, buf, sizeof(buf), RING_TAKE_LINE) ==
			      RING_TAKE_CORRUPT
			  ? 1
			  : 0);
	}
	if (pid == -1 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A header someone else wrote (the file is the user's own): head beyond
 * tail + cap, or behind tail. Taking fails at once instead of spinning;
 * ring_corrupt sees it; a sane ring is not called corrupt. */
static void
test_corrupt(void)
{
	struct ring r;
	char buf[64];

	mkring(&r, 1024);
	produce(&r, "line\n");
	CHECK(ring_corrupt(&r) == 0);
	r.d->head = r.d->tail + 1024 + 1;
	CHECK(ring_corrupt(&r) == 1);
	CHECK(take_corrupt_in_child(&r) == 1);
	r.d->head = r.d->tail + 3 * 1024;
	CHECK(take_corrupt_in_child(&r) == 1);
	r.d->tail = r.d->head + 7; /* head behind tail */
	CHECK(ring_corrupt(&r) == 1);
	CHECK(take_corrupt_in_child(&r) == 1);
	/* Exactly full is no corruption. */
	r.d->head = r.d->tail + 1024;
	CHECK(ring_corrupt(&r) == 0);
	CHECK(ring_take(&r, buf, sizeof(buf), 0) == sizeof(buf));
	ring_unmap(&r);
}

/*
 * read -l sizes its buffer on what it saw buffered plus one, so that a line
 * not yet whole is left (no newline in fewer bytes than max). A producer
 * that publishes between that look and the take must not turn the look's
 * max into a cut: the take works on the head its caller saw. (It loaded
 * head again, and returned 13,508 bytes of a 59,296-byte line as a line.)
 */
static void
test_take_snapshot(void)
{
	struct ring r;
	char buf[64];
	uint64_t t, h;

	mkring(&r, 1024);
	produce(&r, "abc");
	t = ring_load(&r.d->tail);
	h = ring_load(&r.d->head);
	produce(&r, "def\nmore");
	CHECK(ring_take_at(
		  &r, t, h, buf, (size_t)(h - t) + 1, RING_TAKE_LINE) == 0);
	CHECK(ring_used(&r) == 11);
	h = ring_load(&r.d->head);
	CHECK(ring_take_at(
		  &r, t, h, buf, (size_t)(h - t) + 1, RING_TAKE_LINE) == 7);
	CHECK(memcmp(buf, "abcdef\n", 7) == 0);
	ring_unmap(&r);
}

int
main(void)
{
	test_basic();
	test_take_snapshot();
	test_wrap();
	test_full_line();
	test_consumers();
	test_owner_died();
	test_wlock();
	test_map();
	test_corrupt();
	if (failures == 0)
		printf("test_ring: all passed\n");
	return failures != 0;
}
