/*
 * Unit tests of the output side of lib/ring.c (ring_peek, ring_consume,
 * the writer lock): run under ASan and UBSan by `make test`.
 */
#include "ring.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
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

	if (fd == -1 || ring_create(r, fd, cap, 0, RING_OUT, 0) == -1) {
		perror("ring_create");
		exit(2);
	}
	close(fd);
}

static void
produce(struct ring *r, const char *s, size_t n)
{
	ring_put(r, 0, s, n);
	ring_publish(r, n);
}

/* Copies what ring_peek shows into buf; returns the byte count. */
static size_t
peek_all(struct ring *r, char *buf)
{
	char *p1, *p2;
	size_t n1, n2;

	if (ring_peek(r, &p1, &n1, &p2, &n2) == 0)
		return 0;
	memcpy(buf, p1, n1);
	if (n2 > 0)
		memcpy(buf + n1, p2, n2);
	return n1 + n2;
}

static void
test_peek_consume(void)
{
	struct ring r;
	char buf[64], *p1, *p2;
	size_t n1, n2;

	mkring(&r, 16);
	CHECK(ring_peek(&r, &p1, &n1, &p2, &n2) == 0 && n1 == 0 && n2 == 0);
	produce(&r, "0123456789", 10);
	CHECK(ring_peek(&r, &p1, &n1, &p2, &n2) == 1 && n1 == 10 && n2 == 0);
	ring_consume(&r, 4);
	CHECK(ring_used(&r) == 6);
	/* Wraps: 6 + 8 bytes from position 4 run past the end at 16. */
	produce(&r, "abcdefgh", 8);
	CHECK(ring_peek(&r, &p1, &n1, &p2, &n2) == 2 && n1 == 12 && n2 == 2);
	CHECK(
	    peek_all(&r, buf) == 14 && memcmp(buf, "456789abcdefgh", 14) == 0);
	ring_consume(&r, 12);
	CHECK(peek_all(&r, buf) == 2 && memcmp(buf, "gh", 2) == 0);
	ring_consume(&r, 2);
	CHECK(ring_used(&r) == 0 && ring_free(&r) == 16);
	ring_unmap(&r);
}

/* A producer pushing a known byte sequence through a tiny ring, waiting
 * for space as write does; the consumer peeks and consumes in odd sizes. */
#define STREAM (1 << 20)

static void *
stream_producer(void *arg)
{
	struct ring *r = arg;
	size_t sent = 0, k, f, j;
	uint32_t seq;
	char chunk[37];

	while (sent < STREAM) {
		seq = ring_rseq(r);
		if ((f = ring_free(r)) == 0) {
			ring_wait_space(r, seq, 1000000000);
			continue;
		}
		k = STREAM - sent;
		k = k < sizeof(chunk) ? k : sizeof(chunk);
		k = k < f ? k : f;
		for (j = 0; j < k; j++)
			chunk[j] = (char)((sent + j) % 251);
		produce(r, chunk, k);
		sent += k;
	}
	return NULL;
}

static void
test_stream(void)
{
	struct ring r;
	pthread_t t;
	char *p1, *p2;
	size_t n1, n2, got = 0, j, take;
	uint32_t seq;
	int bad = 0, stalls = 0;

	mkring(&r, 1024);
	pthread_create(&t, NULL, stream_producer, &r);
	while (got < STREAM && stalls < 50) {
		seq = ring_wseq(&r);
		if (ring_peek(&r, &p1, &n1, &p2, &n2) == 0) {
			if (ring_wait_data(&r, seq, 100000000) == -1)
				stalls++;
			continue;
		}
		take = n1 + n2 > 300 ? 300 : n1 + n2;
		for (j = 0; j < take; j++) {
			char c = j < n1 ? p1[j] : p2[j - n1];
			bad += c != (char)((got + j) % 251);
		}
		ring_consume(&r, take);
		got += take;
	}
	pthread_join(t, NULL);
	CHECK(got == STREAM);
	CHECK(bad == 0);
	ring_unmap(&r);
}

/*
 * Four processes append 2,000 messages each under the writer lock; each
 * message is 40 copies of its writer's letter, appended 8 bytes at a time
 * so that an unlocked writer would interleave. The parent consumes and
 * checks every message whole.
 */
#define WRITERS 4
#define MSGS 2000
#define MSGLEN 40

static void
writer(struct ring *r, char letter)
{
	char msg[MSGLEN];
	size_t off, f;
	uint32_t seq;
	int m;

	memset(msg, letter, sizeof(msg));
	for (m = 0; m < MSGS; m++) {
		while (ring_wlock_try(r, getpid()) == -1)
			ring_wlock_wait(r, 100000000);
		for (off = 0; off < MSGLEN;) {
			seq = ring_rseq(r);
			if ((f = ring_free(r)) < 8) {
				ring_wait_space(r, seq, 100000000);
				continue;
			}
			produce(r, msg + off, 8);
			off += 8;
		}
		ring_wunlock(r, getpid());
	}
	_exit(0);
}

static void
test_lock(void)
{
	struct ring r;
	char buf[4096], cur = 0;
	size_t n, j, run = 0, total = 0;
	int w, st, bad = 0, stalls = 0, count[WRITERS] = {0};
	pid_t pids[WRITERS];
	uint32_t seq;

	mkring(&r, 256);
	for (w = 0; w < WRITERS; w++)
		if ((pids[w] = fork()) == 0)
			writer(&r, (char)('a' + w));
	while (total < (size_t)WRITERS * MSGS * MSGLEN && stalls < 50) {
		seq = ring_wseq(&r);
		if ((n = peek_all(&r, buf)) == 0) {
			if (ring_wait_data(&r, seq, 100000000) == -1)
				stalls++;
			continue;
		}
		ring_consume(&r, n);
		total += n;
		for (j = 0; j < n; j++) {
			if (run == 0)
				cur = buf[j];
			bad += buf[j] != cur;
			if (++run == MSGLEN) {
				if (cur >= 'a' && cur < 'a' + WRITERS)
					count[cur - 'a']++;
				run = 0;
			}
		}
	}
	for (w = 0; w < WRITERS; w++) {
		waitpid(pids[w], &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(count[w] == MSGS);
	}
	CHECK(bad == 0);
	CHECK(r.d->wlock == 0 && r.d->lwait == 0);
	ring_unmap(&r);
}

int
main(void)
{
	test_peek_consume();
	test_stream();
	test_lock();
	if (failures != 0) {
		fprintf(stderr, "test_ring_out: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_ring_out: ok\n");
	return 0;
}
