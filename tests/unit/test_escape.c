/*
 * Unit test of lib/escape.c against bash 5.2's own `echo -e`.
 *
 * The expected bytes of the table were produced by bash itself, under
 * LC_ALL=C.UTF-8, one case at a time:
 *
 *   bash -c 'echo -e "$1" Z' _ "$IN"	(no trailing " Z\n": \c was seen)
 *   bash -c 'echo -ne "$1"' _ "$IN" | od -c	(the same bytes, checked)
 *
 * Cases bash cannot produce (NUL bytes in the input, in-place expansion)
 * follow the table.
 */
#include "escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tcase {
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
	int stop;
};

/* clang-format off */
static const struct tcase cases[] = {
	{ "", 0, "", 0, 0 },
	{ "hello", 5, "hello", 5, 0 },
	{ "\\a\\b\\e\\E\\f\\n\\r\\t\\v", 18, "\x07\x08\x1b\x1b\x0c\x0a\x0d\x09\x0b", 9, 0 },
	{ "a\\\\b", 4, "a\\b", 3, 0 },
	{ "\\\\", 2, "\\", 1, 0 },
	{ "\\\\\\", 3, "\\\\", 2, 0 },
	{ "a\\", 2, "a\\", 2, 0 },
	{ "\\", 1, "\\", 1, 0 },
	{ "\\\\c", 3, "\\c", 2, 0 },
	{ "\\\\n", 3, "\\n", 2, 0 },
	{ "\\0", 2, "\x00", 1, 0 },
	{ "a\\0b", 4, "a\x00" "b", 3, 0 },
	{ "\\08", 3, "\x00" "8", 2, 0 },
	{ "\\0101", 5, "A", 1, 0 },
	{ "\\01010", 6, "A0", 2, 0 },
	{ "\\0777", 5, "\xff", 1, 0 },
	{ "\\07777", 6, "\xff" "7", 2, 0 },
	{ "\\0400", 5, "\x00", 1, 0 },
	{ "\\1", 2, "\\1", 2, 0 },
	{ "\\101", 4, "\\101", 4, 0 },
	{ "\\8", 2, "\\8", 2, 0 },
	{ "\\x", 2, "\\x", 2, 0 },
	{ "\\xg", 3, "\\xg", 3, 0 },
	{ "\\x0g", 4, "\x00g", 2, 0 },
	{ "\\x4", 3, "\x04", 1, 0 },
	{ "\\x41", 4, "A", 1, 0 },
	{ "\\x414", 5, "A4", 2, 0 },
	{ "\\x00", 4, "\x00", 1, 0 },
	{ "\\xFf", 4, "\xff", 1, 0 },
	{ "\\x{41}", 6, "\\x{41}", 6, 0 },
	{ "\\u", 2, "\\u", 2, 0 },
	{ "\\uzz", 4, "\\uzz", 4, 0 },
	{ "\\u0000", 6, "\x00", 1, 0 },
	{ "\\u41", 4, "A", 1, 0 },
	{ "\\u7f", 4, "\x7f", 1, 0 },
	{ "\\u80", 4, "\xc2\x80", 2, 0 },
	{ "\\u00e9", 6, "\xc3\xa9", 2, 0 },
	{ "\\ue9", 4, "\xc3\xa9", 2, 0 },
	{ "\\u20AC", 6, "\xe2\x82\xac", 3, 0 },
	{ "\\u20ACD", 7, "\xe2\x82\xac" "D", 4, 0 },
	{ "\\u12345", 7, "\xe1\x88\xb4" "5", 4, 0 },
	{ "\\uD800", 6, "\xed\xa0\x80", 3, 0 },
	{ "\\uFFFF", 6, "\xef\xbf\xbf", 3, 0 },
	{ "\\U", 2, "\\U", 2, 0 },
	{ "\\Ug", 3, "\\Ug", 3, 0 },
	{ "\\U0001F600", 10, "\xf0\x9f\x98\x80", 4, 0 },
	{ "\\U1F600", 7, "\xf0\x9f\x98\x80", 4, 0 },
	{ "\\U10FFFF", 8, "\xf4\x8f\xbf\xbf", 4, 0 },
	{ "\\U110000", 8, "\xf4\x90\x80\x80", 4, 0 },
	{ "\\U200000", 8, "\xf8\x88\x80\x80\x80", 5, 0 },
	{ "\\U7FFFFFFF", 10, "\xfd\xbf\xbf\xbf\xbf\xbf", 6, 0 },
	{ "\\U80000000", 10, "", 0, 0 },
	{ "\\UFFFFFFFF", 10, "", 0, 0 },
	{ "\\U000000411", 11, "A1", 2, 0 },
	{ "\\c", 2, "", 0, 1 },
	{ "a\\cb", 4, "a", 1, 1 },
	{ "ab\\c\\n", 6, "ab", 2, 1 },
	{ "\\0\\c", 4, "\x00", 1, 1 },
	{ "\\u00e9\\c\\u00e9", 14, "\xc3\xa9", 2, 1 },
	{ "x\\", 2, "x\\", 2, 0 },
	{ "\\q", 2, "\\q", 2, 0 },
	{ "\\'", 2, "\\'", 2, 0 },
	{ "\\\"", 2, "\\\"", 2, 0 },
	{ "\\?", 2, "\\?", 2, 0 },
	{ "\\ ", 2, "\\ ", 2, 0 },
	{ "\\\xc3\xa9", 3, "\\\xc3\xa9", 3, 0 },
	{ "\xff\\n", 3, "\xff\x0a", 2, 0 },
	{ "\\x41\\x42\\0103", 13, "ABC", 3, 0 },
	{ "x\\n\\ty\\\\z", 9, "x\x0a\x09y\\z", 6, 0 },
	{ "\\e[1;31mred\\e[0m", 16, "\x1b[1;31mred\x1b[0m", 14, 0 },
	/* NUL bytes in the input are ordinary bytes (not from bash). */
	{ "a\x00" "b", 3, "a\x00" "b", 3, 0 },
	{ "\\\x00", 2, "\\\x00", 2, 0 },
	{ "\\x4\x00", 4, "\x04\x00", 2, 0 },
};
/* clang-format on */

/* Prints the n bytes of p to stderr, escaped. */
static void
dump(const char *what, const char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "  %s (%zu):", what, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %02x", (unsigned char)p[i]);
	fputc('\n', stderr);
}

/* Expands case t into a buffer of exactly inlen bytes (ASan sees any
 * overrun), then in place. Returns the number of failures. */
static int
check(size_t idx, const struct tcase *t)
{
	char *buf;
	size_t n, m;
	int stop = -1, stop2 = -1, fail = 0;

	if ((buf = malloc(t->inlen ? t->inlen : 1)) == NULL) {
		perror("malloc");
		return 1;
	}
	n = escape_expand(t->in, t->inlen, buf, &stop);
	if (n != t->outlen || memcmp(buf, t->out, n) != 0 || stop != t->stop)
		fail = 1;
	memcpy(buf, t->in, t->inlen);
	m = escape_expand(buf, t->inlen, buf, &stop2);
	if (m != t->outlen || memcmp(buf, t->out, m) != 0 || stop2 != t->stop)
		fail |= 2;
	if (fail) {
		fprintf(stderr, "case %zu failed%s\n", idx,
		    fail & 2 ? " (in place)" : "");
		dump("in", t->in, t->inlen);
		dump("want", t->out, t->outlen);
		fprintf(stderr, "  want stop %d, got %d / %d in place\n",
		    t->stop, stop, stop2);
	}
	free(buf);
	return fail != 0;
}

/* A NULL stop is allowed; the output is the same. */
static int
check_null_stop(void)
{
	char buf[8];

	if (escape_expand("ab\\cd", 5, buf, NULL) != 2 ||
	    memcmp(buf, "ab", 2) != 0) {
		fprintf(stderr, "NULL stop failed\n");
		return 1;
	}
	return 0;
}

int
main(void)
{
	size_t i, ncase = sizeof(cases) / sizeof(cases[0]);
	int failed = 0;

	for (i = 0; i < ncase; i++)
		failed += check(i, &cases[i]);
	failed += check_null_stop();
	if (failed) {
		fprintf(stderr, "test_escape: %d of %zu failed\n", failed,
		    ncase + 1);
		return 1;
	}
	printf("test_escape: %zu cases ok\n", ncase + 1);
	return 0;
}
