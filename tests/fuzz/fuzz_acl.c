/*
 * libFuzzer target for lib/acl.c, the prefixes of bind-input -A and their
 * list on the helper's command line. The input is one string (cut at a
 * NUL, copied to an allocation of exactly its size, so reading past it
 * trips ASan), parsed as one prefix and as a list.
 *
 * A prefix it accepts is at most 128 bits long with no bit set past its
 * length, its text fits ACL_PREFIX_TEXT and parses back to the same
 * prefix, and it lets in its own address, that address with the first bit
 * past its length flipped, and not that address with its last bit (when
 * it has one) flipped. A list it accepts holds 1 to ACL_MAX prefixes, and its
 * text fits ACL_TEXT_MAX and parses back to the same list. A refusal is EINVAL.
 *
 *   make fuzz-build && build/fuzz/fuzz_acl tests/fuzz/corpus/acl
 */
#include "acl.h"
#include "check.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether peer address addr (IPv6, as sockaddr_in6) gets in by a. */
static int
lets_in(const struct acl *a, const uint8_t *addr)
{
	struct sockaddr_in6 s6;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	memcpy(&s6.sin6_addr, addr, 16);
	return acl_allows(a, (struct sockaddr *)&s6, sizeof(s6));
}

static void
flip(uint8_t *addr, unsigned bit)
{
	addr[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

static void
check_prefix(const char *s)
{
	struct acl_prefix p, q;
	struct acl one;
	char text[ACL_PREFIX_TEXT + 8];
	uint8_t addr[16];
	unsigned k;

	errno = 0;
	if (acl_prefix_parse(s, &p) == -1) {
		CHECK(errno == EINVAL);
		return;
	}
	CHECK(p.len <= 128);
	for (k = p.len; k < 128; k++)
		CHECK((p.addr[k / 8] & (0x80 >> (k % 8))) == 0);
	memset(text, 'x', sizeof(text));
	acl_prefix_text(&p, text, sizeof(text));
	CHECK(strlen(text) < ACL_PREFIX_TEXT);
	CHECK(acl_prefix_parse(text, &q) == 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);

	memset(&one, 0, sizeof(one));
	one.n = 1;
	one.p[0] = p;
	memcpy(addr, p.addr, 16);
	CHECK(lets_in(&one, addr));
	if (p.len < 128) {
		flip(addr, p.len + 0u); /* past the prefix: still in */
		CHECK(lets_in(&one, addr));
		memcpy(addr, p.addr, 16);
	}
	if (p.len > 0) {
		flip(addr, p.len - 1u); /* its last bit: out */
		CHECK(!lets_in(&one, addr));
	}
}

static void
check_list(const char *s)
{
	struct acl a, b;
	static char text[ACL_TEXT_MAX];

	errno = 0;
	if (acl_parse_list(s, &a) == -1) {
		CHECK(errno == EINVAL);
		CHECK(a.n == 0);
		return;
	}
	CHECK(a.n >= 1 && a.n <= ACL_MAX);
	acl_format(&a, text, sizeof(text));
	CHECK(strlen(text) < sizeof(text));
	CHECK(acl_parse_list(text, &b) == 0);
	CHECK(b.n == a.n && memcmp(b.p, a.p, sizeof(a.p[0]) * a.n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul != NULL ? (size_t)(nul - data) : size;
	char *s;

	if (n > 8192)
		return 0;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	check_prefix(s);
	check_list(s);
	free(s);
	return 0;
}
