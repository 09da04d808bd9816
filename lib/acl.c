/* acl: address prefixes, parsed, written back and matched. */
#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t acl_v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Clears the bits of addr past len. */
static void
acl_mask(uint8_t *addr, unsigned len)
{
	unsigned k;

	for (k = len / 8; k < 16; k++)
		addr[k] &=
		    (uint8_t)(len > k * 8 ? 0xff << (8 - (len - k * 8)) : 0);
}

/* 1 when the first len bits of a and b are the same. */
static int
acl_same_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;
	uint8_t m;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	m = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & m) == (b[whole] & m);
}

/* A prefix length: canonical decimal (no sign, no leading zero) up to max.
 * 0, or -1. */
static int
acl_len(const char *s, unsigned max, unsigned *len)
{
	unsigned v = 0;
	size_t k;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (k = 0; s[k] != '\0'; k++) {
		if (s[k] < '0' || s[k] > '9' || k >= 3)
			return -1;
		v = v * 10 + (unsigned)(s[k] - '0');
	}
	if (v > max)
		return -1;
	*len = v;
	return 0;
}

int
acl_prefix_parse(const char *s, struct acl_prefix *p)
{
	char buf[ACL_PREFIX_TEXT], *slash;
	size_t n = strnlen(s, sizeof(buf));
	struct in_addr a4;
	unsigned len;
	int v6;

	if (n == 0 || n >= sizeof(buf))
		goto bad;
	memcpy(buf, s, n + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	v6 = strchr(buf, ':') != NULL;
	memset(p, 0, sizeof(*p));
	if (v6) {
		if (inet_pton(AF_INET6, buf, p->addr) != 1)
			goto bad;
		len = 128;
	} else {
		if (inet_pton(AF_INET, buf, &a4) != 1)
			goto bad;
		memcpy(p->addr, acl_v4mapped, sizeof(acl_v4mapped));
		memcpy(p->addr + 12, &a4, 4);
		len = 32;
	}
	if (slash != NULL && acl_len(slash, len, &len) == -1)
		goto bad;
	if (!v6)
		len += 96;
	acl_mask(p->addr, len);
	p->len = (uint8_t)len;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

void
acl_prefix_text(const struct acl_prefix *p, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (p->len >= 96 &&
	    memcmp(p->addr, acl_v4mapped, sizeof(acl_v4mapped)) == 0) {
		inet_ntop(AF_INET, p->addr + 12, host, sizeof(host));
		snprintf(buf, len, "%s/%u", host, p->len - 96u);
	} else {
		inet_ntop(AF_INET6, p->addr, host, sizeof(host));
		snprintf(buf, len, "%s/%u", host, (unsigned)p->len);
	}
}

int
acl_add(struct acl *a, const char *s)
{
	struct acl_prefix p;

	if (acl_prefix_parse(s, &p) == -1)
		return -1;
	if (a->n >= ACL_MAX) {
		errno = ENOSPC;
		return -1;
	}
	a->p[a->n++] = p;
	return 0;
}

int
acl_parse_list(const char *s, struct acl *a)
{
	char one[ACL_PREFIX_TEXT];
	size_t n;

	memset(a, 0, sizeof(*a));
	for (;;) {
		n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(one) || a->n >= ACL_MAX)
			goto bad;
		memcpy(one, s, n);
		one[n] = '\0';
		if (acl_prefix_parse(one, &a->p[a->n]) == -1)
			goto bad;
		a->n++;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
bad:
	memset(a, 0, sizeof(*a));
	errno = EINVAL;
	return -1;
}

void
acl_format(const struct acl *a, char *buf, size_t len)
{
	size_t off = 0, k;
	unsigned i;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < a->n && i < ACL_MAX; i++) {
		if (i > 0 && off + 1 < len)
			buf[off++] = ',';
		if (off >= len)
			break;
		acl_prefix_text(&a->p[i], buf + off, len - off);
		k = strlen(buf + off);
		off += k;
	}
	buf[off < len ? off : len - 1] = '\0';
}

int
acl_allows(const struct acl *a, const struct sockaddr *sa, socklen_t salen)
{
	uint8_t addr[16];
	unsigned i;

	if (a->n == 0)
		return 1;
	if (sa->sa_family == AF_INET &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(addr, acl_v4mapped, sizeof(acl_v4mapped));
		memcpy(addr + 12,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
	} else if (sa->sa_family == AF_INET6 &&
		   salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		memcpy(addr,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
	} else {
		return 0;
	}
	for (i = 0; i < a->n && i < ACL_MAX; i++)
		if (acl_same_bits(addr, a->p[i].addr, a->p[i].len))
			return 1;
	return 0;
}
