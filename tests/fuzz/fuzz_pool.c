/*
 * libFuzzer target for the pool/master protocol lines (lib/pool.c): the
 * input, cut at its first newline as the line reader would, is one line
 * from the network. pool_decode either refuses it with EPROTO or accepts
 * it, and then pool_encode of what it decoded must give back exactly the
 * same line (every accepted line is canonical: no other spelling of a
 * port, verb or reason gets through). pool_printable, used to quote names
 * in messages, must give printable ASCII only, within its length.
 *
 *   make fuzz-build && build/fuzz/fuzz_pool tests/fuzz/corpus/pool
 */
#include "pool.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_printable(const char *s, size_t len)
{
	char *buf = malloc(len);
	size_t i, n;

	if (buf == NULL)
		abort();
	memset(buf, 'x', len);
	pool_printable(buf, len, s);
	n = strlen(buf);
	CHECK(n < len && n <= strlen(s));
	for (i = 0; i < n; i++) {
		CHECK(buf[i] >= 0x20 && buf[i] < 0x7f);
		CHECK(buf[i] == s[i] || buf[i] == '?');
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool_msg m;
	char *line, out[AUTH_LINE_MAX];
	const uint8_t *nl;
	size_t n;
	int rc;

	if (size > 4096)
		return 0;
	nl = memchr(data, '\n', size);
	n = nl != NULL ? (size_t)(nl - data) : size;
	if ((line = malloc(n + 1)) == NULL)
		return 0;
	memcpy(line, data, n);
	line[n] = '\0';

	errno = 0;
	rc = pool_decode(line, &m);
	if (rc == -1) {
		CHECK(errno == EPROTO);
	} else {
		CHECK(rc == 0);
		CHECK(m.verb >= POOL_DAEMON && m.verb <= POOL_BYE);
		if (m.verb == POOL_PORT)
			CHECK(m.port >= 1 && m.port <= 65535);
		if (m.verb == POOL_DAEMON)
			CHECK(strlen(m.arg) >= 1 &&
			      strlen(m.arg) <= POOL_NAME_MAX);
		/* Canonical: encoding what was decoded gives the line back. */
		CHECK(
		    pool_encode(out, sizeof(out), m.verb, m.arg, m.port) == 0);
		CHECK(strcmp(out, line) == 0);
	}
	check_printable(line, 1 + (size ? data[0] % 64 : 0));
	check_printable(line, POOL_NAME_MAX + 1);
	free(line);
	return 0;
}
