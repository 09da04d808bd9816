/* Unit tests of lib/line.c's non-blocking reader and writer (the blocking
 * wrappers have theirs in test_auth.c): what a handshake peer may send,
 * and what it gets. */
#include "check.h"
#include "clock.h"
#include "line.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS 1000000LL

static int
pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

/* A line in two pieces: 0 after the first, 1 and the line after both. */
static void
test_in_pieces(void)
{
	struct line_in l = {.len = 0};
	int sv[2];

	CHECK(pair(sv) == 0);
	CHECK(line_in_fill(sv[0], &l) == 0); /* nothing yet */
	CHECK(write(sv[1], "BASHSOCK/1 ", 11) == 11);
	CHECK(line_in_fill(sv[0], &l) == 0);
	CHECK(write(sv[1], "OK x\n", 5) == 5);
	CHECK(line_in_fill(sv[0], &l) == 1);
	CHECK(strcmp(l.buf, "BASHSOCK/1 OK x") == 0);
	close(sv[0]);
	close(sv[1]);
}

/* Refused with EPROTO: bytes past the newline, a NUL, no newline within
 * LINE_BYTES; ECONNRESET at end of file. */
static void
test_in_refused(void)
{
	static const struct {
		const char *data;
		size_t len;
		int err;
	} cases[] = {
	    {"a\nb", 3, EPROTO},
	    {"a\0b\n", 4, EPROTO},
	    {"half", 4, ECONNRESET},
	    {"", 0, ECONNRESET},
	};
	char big[LINE_BYTES + 1];
	struct line_in l;
	size_t i;
	int sv[2];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&l, 0, sizeof(l));
		CHECK(pair(sv) == 0);
		CHECK(write(sv[1], cases[i].data, cases[i].len) ==
		      (ssize_t)cases[i].len);
		shutdown(sv[1], SHUT_WR);
		errno = 0;
		CHECK(line_in_fill(sv[0], &l) == -1 && errno == cases[i].err);
		close(sv[0]);
		close(sv[1]);
	}
	/* LINE_BYTES - 1 bytes and the newline: taken; one more: not. */
	memset(&l, 0, sizeof(l));
	CHECK(pair(sv) == 0);
	memset(big, 'x', sizeof(big));
	big[LINE_BYTES - 1] = '\n';
	CHECK(write(sv[1], big, LINE_BYTES) == LINE_BYTES);
	CHECK(line_in_fill(sv[0], &l) == 1 && strlen(l.buf) == LINE_BYTES - 1);
	memset(&l, 0, sizeof(l));
	memset(big, 'x', sizeof(big));
	big[LINE_BYTES] = '\n';
	CHECK(write(sv[1], big, LINE_BYTES + 1) == LINE_BYTES + 1);
	CHECK(line_in_fill(sv[0], &l) == -1 && errno == EPROTO);
	close(sv[0]);
	close(sv[1]);
}

static void
test_out(void)
{
	char big[LINE_BYTES + 1], got[LINE_BYTES + 1];
	struct line_out o;
	int sv[2];

	CHECK(line_out_set(&o, "a\nb") == -1 && errno == EINVAL && o.len == 0);
	memset(big, 'y', LINE_BYTES);
	big[LINE_BYTES] = '\0';
	CHECK(line_out_set(&o, big) == -1 && errno == EMSGSIZE && o.len == 0);
	big[LINE_BYTES - 1] = '\0'; /* the longest that fits */
	CHECK(line_out_set(&o, big) == 0 && o.len == LINE_BYTES);
	CHECK(pair(sv) == 0);
	CHECK(line_out_flush(sv[0], &o) == 1 && o.off == o.len);
	CHECK(read(sv[1], got, sizeof(got)) == LINE_BYTES);
	CHECK(memcmp(got, big, LINE_BYTES - 1) == 0 &&
	      got[LINE_BYTES - 1] == '\n');
	/* Into a full socket: 0, and the rest goes once it drains. */
	{
		char fill[4096];
		ssize_t n, total = 0;
		struct line_out o2;

		memset(fill, 'z', sizeof(fill));
		while ((n = send(sv[0], fill, sizeof(fill), MSG_DONTWAIT)) > 0)
			total += n;
		CHECK(line_out_set(&o2, "after") == 0);
		CHECK(line_out_flush(sv[0], &o2) == 0);
		while (total > 0 && (n = read(sv[1], fill, sizeof(fill))) > 0)
			total -= n;
		CHECK(line_out_flush(sv[0], &o2) == 1);
		CHECK(line_read(sv[1], got, sizeof(got),
			  clock_now() + 2000 * MS) == 5);
		CHECK(strcmp(got, "after") == 0);
	}
	/* A peer gone: -1 and no SIGPIPE (the test would die of it). */
	close(sv[1]);
	CHECK(line_out_set(&o, "late") == 0);
	CHECK(line_out_flush(sv[0], &o) == -1 && errno == EPIPE);
	close(sv[0]);
}

/* Several lines in one buffer: taken one by one, a NUL kept in its line,
 * the unfinished rest moved to the front. */
static void
test_take(void)
{
	char buf[] = "O one\nE t\0o\n\nX 3\npart";
	size_t len = sizeof(buf) - 1, off = 0, n;
	char *p;

	CHECK((p = line_take(buf, len, &off, &n)) == buf && n == 5 &&
	      strcmp(p, "O one") == 0);
	CHECK((p = line_take(buf, len, &off, &n)) != NULL && n == 5 &&
	      memcmp(p, "E t\0o", 5) == 0);
	CHECK((p = line_take(buf, len, &off, &n)) != NULL && n == 0);
	CHECK((p = line_take(buf, len, &off, &n)) != NULL && n == 3 &&
	      strcmp(p, "X 3") == 0);
	CHECK(line_take(buf, len, &off, &n) == NULL && off == len - 4);
	line_drop(buf, &len, off);
	CHECK(len == 4 && memcmp(buf, "part", 4) == 0);
	off = 0;
	CHECK(line_take(buf, len, &off, &n) == NULL && off == 0);
}

int
main(void)
{
	test_in_pieces();
	test_in_refused();
	test_out();
	test_take();
	if (failures) {
		fprintf(stderr, "test_line: %d failed\n", failures);
		return 1;
	}
	printf("test_line: ok\n");
	return 0;
}
