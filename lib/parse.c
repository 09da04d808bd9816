/* parse: user-typed arguments, strictly (no atoi, no silent truncation). */
#include "parse.h"

#include <string.h>

/* Returns 0 when s is a valid binding ID or namespace name. */
int
parse_id(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
		s[0] == '_'))
		return -1;
	for (i = 1; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= PARSE_ID_MAX)
			return -1;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' ||
			c == '-'))
			return -1;
	}
	return 0;
}

/* Decimal digits only, into *v; -1 on overflow past max or no digit. */
static int
parse_digits(const char **sp, uint64_t max, uint64_t *v)
{
	const char *s = *sp;
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max)
			return -1;
	}
	*v = n;
	*sp = s;
	return 0;
}

int
parse_port(const char *s, int *port)
{
	uint64_t v;

	/* Canonical decimal only, as the pool protocol and the helper's
	 * command line take it: "030000" is no port (nor a typo to guess). */
	if (s == NULL || s[0] == '0' || parse_digits(&s, 99999, &v) == -1 ||
	    *s != '\0')
		return -1;
	if (v < PARSE_PORT_MIN || v > PARSE_PORT_MAX)
		return -1;
	*port = (int)v;
	return 0;
}

/* A byte count with an optional k/K (KiB) or M (MiB) suffix. */
int
parse_size(const char *s, size_t *size)
{
	uint64_t v, mul = 1;

	if (s == NULL || parse_digits(&s, PARSE_SIZE_MAX, &v) == -1)
		return -1;
	if (*s == 'k' || *s == 'K')
		mul = 1024, s++;
	else if (*s == 'M')
		mul = 1024 * 1024, s++;
	if (*s != '\0' || v > PARSE_SIZE_MAX / mul)
		return -1;
	v *= mul;
	if (v < PARSE_SIZE_MIN || v > PARSE_SIZE_MAX)
		return -1;
	*size = (size_t)v;
	return 0;
}

/* Seconds with an optional fraction ("2", "0.25", ".5"), to nanoseconds. */
int
parse_secs(const char *s, int64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000;
	int digits = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s != '.') {
		if (parse_digits(&s, PARSE_SECS_MAX, &whole) == -1)
			return -1;
		digits = 1;
	}
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
		}
	}
	if (*s != '\0' || digits == 0)
		return -1;
	/* "31536000.5" is past the limit too (found by fuzz_parse). */
	if (whole * 1000000000 + frac > (uint64_t)PARSE_SECS_MAX * 1000000000)
		return -1;
	*ns = (int64_t)(whole * 1000000000 + frac);
	return 0;
}

/* A positive count of bytes, at most PARSE_SIZE_MAX. */
int
parse_count(const char *s, size_t *count)
{
	uint64_t v;

	if (s == NULL || parse_digits(&s, PARSE_SIZE_MAX, &v) == -1 ||
	    *s != '\0' || v == 0)
		return -1;
	*count = (size_t)v;
	return 0;
}
