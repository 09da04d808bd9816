/*
 * libFuzzer target for the proof line of a pool data connection
 * (lib/pool_attach.c): the input, up to its first newline as the binding's
 * helper reads it (at most POOL_ATTACH_LINE bytes with the newline), is the
 * first line a connection sends. pool_proof_check against a fixed expected
 * MAC must admit exactly the one line "BASHSOCK/1 ATTACH <that MAC>", say
 * EACCES for a well-formed line with another MAC and EPROTO for anything
 * else; and checking the input's own MAC field (when well-formed) against
 * itself must admit it. pool_proof_line must give back the line it admits.
 *
 *   make fuzz-build && build/fuzz/fuzz_pool_attach
 * tests/fuzz/corpus/pool_attach
 */
#include "pool.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "BASHSOCK/1 ATTACH "
static const char want[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* 1 when s (n bytes) is n lowercase hex digits. */
static int
all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t plen = sizeof(PREFIX) - 1;
	char *line, own[AUTH_HEX + 1], out[POOL_ATTACH_LINE];
	const uint8_t *nl;
	size_t n;
	int rc, e, wellformed;

	nl = memchr(data, '\n', size);
	n = nl != NULL ? (size_t)(nl - data) : size;
	if (n + 1 > POOL_ATTACH_LINE)
		return 0; /* the helper drops it unread */
	/* Exactly n bytes, no terminator: an overread shows under ASan. */
	if ((line = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(line, data, n);

	wellformed = n == plen + AUTH_HEX && memcmp(line, PREFIX, plen) == 0 &&
		     all_hex(line + plen, AUTH_HEX);
	errno = 0;
	rc = pool_proof_check(line, n, want);
	e = errno;
	if (wellformed && memcmp(line + plen, want, AUTH_HEX) == 0) {
		CHECK(rc == 0);
	} else {
		CHECK(rc == -1);
		CHECK(e == (wellformed ? EACCES : EPROTO));
	}
	if (wellformed) {
		memcpy(own, line + plen, AUTH_HEX);
		own[AUTH_HEX] = '\0';
		CHECK(pool_proof_check(line, n, own) == 0);
		CHECK(pool_proof_line(out, sizeof(out), own) == 0);
		CHECK(strlen(out) == n && memcmp(out, line, n) == 0);
	}
	free(line);
	return 0;
}
