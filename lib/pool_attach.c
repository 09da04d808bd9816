/* pool_attach: the proof line of a pool data connection (see pool.h). It
 * is linked into the helper program too, which has no libcrypto: no MAC is
 * computed here, only formatted, parsed and compared. */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ATTACH_PREFIX "BASHSOCK/1 ATTACH "

/* 1 for a lowercase hex digit. */
static int
attach_xdigit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int
pool_proof_mac_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < AUTH_HEX; i++)
		if (!attach_xdigit((unsigned char)s[i]))
			return 0;
	return s[AUTH_HEX] == '\0';
}

int
pool_proof_line(char *buf, size_t len, const char *mac)
{
	int n;

	if (buf == NULL || !pool_proof_mac_ok(mac)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, ATTACH_PREFIX "%s", mac);
	if (n < 0 || (size_t)n >= len || (size_t)n + 1 > POOL_ATTACH_LINE) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
pool_proof_check(const char *line, size_t len, const char *want)
{
	const size_t plen = sizeof(ATTACH_PREFIX) - 1;
	unsigned char diff = 0;
	size_t i;

	if (!pool_proof_mac_ok(want)) {
		errno = EINVAL;
		return -1;
	}
	if (line == NULL || len != plen + AUTH_HEX ||
	    memcmp(line, ATTACH_PREFIX, plen) != 0) {
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < AUTH_HEX; i++) {
		if (!attach_xdigit((unsigned char)line[plen + i])) {
			errno = EPROTO;
			return -1;
		}
	}
	/* Syntax is public; the comparison of the MAC runs to the end. */
	for (i = 0; i < AUTH_HEX; i++)
		diff |= (unsigned char)(line[plen + i] ^ want[i]);
	if (diff != 0) {
		errno = EACCES;
		return -1;
	}
	return 0;
}
