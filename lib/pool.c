/* pool: the pool/master protocol lines (the helper both run in:
 * pool_link.c). */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_VLEN (sizeof(POOL_VERSION " ") - 1)

/* 1 when name can travel in a DAEMON line: 1-255 bytes, no newline. */
static int
pool_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	return n > 0 && n <= POOL_NAME_MAX && memchr(name, '\n', n) == NULL;
}

/* 1 when s is a reason token: 1-32 of [a-z-]. */
static int
pool_reason_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyz-");
	return n > 0 && n <= POOL_REASON_MAX && s[n] == '\0';
}

int
pool_encode(
    char *buf, size_t len, enum pool_verb verb, const char *arg, int port)
{
	int n = -1;

	switch (verb) {
	case POOL_DAEMON:
		if (pool_name_ok(arg))
			n = snprintf(buf, len, POOL_VERSION " DAEMON %s", arg);
		break;
	case POOL_PORT:
		if (port >= 1 && port <= 65535)
			n = snprintf(buf, len, POOL_VERSION " PORT %d", port);
		break;
	case POOL_REFUSED:
		if (pool_reason_ok(arg))
			n = snprintf(buf, len, POOL_VERSION " REFUSED %s", arg);
		break;
	case POOL_END:
		n = snprintf(buf, len, POOL_VERSION " END");
		break;
	case POOL_BYE:
		n = snprintf(buf, len, POOL_VERSION " BYE");
		break;
	}
	if (n < 0 || (size_t)n >= len || n >= AUTH_LINE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* A port in canonical decimal (no sign, no leading zero), 1-65535. */
static int
pool_port_parse(const char *s, int *port)
{
	long v = 0;
	size_t i;

	if (s[0] < '1' || s[0] > '9')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
pool_decode(const char *line, struct pool_msg *m)
{
	const char *p;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (strncmp(line, POOL_VERSION " ", POOL_VLEN) != 0)
		goto proto;
	p = line + POOL_VLEN;
	if (strncmp(p, "DAEMON ", 7) == 0) {
		p += 7;
		if ((n = strlen(p)) == 0 || n > POOL_NAME_MAX)
			goto proto;
		memcpy(m->arg, p, n + 1);
		m->verb = POOL_DAEMON;
	} else if (strncmp(p, "PORT ", 5) == 0) {
		if (pool_port_parse(p + 5, &m->port) == -1)
			goto proto;
		m->verb = POOL_PORT;
	} else if (strncmp(p, "REFUSED ", 8) == 0) {
		if (!pool_reason_ok(p + 8))
			goto proto;
		strcpy(m->arg, p + 8);
		m->verb = POOL_REFUSED;
	} else if (strcmp(p, "END") == 0) {
		m->verb = POOL_END;
	} else if (strcmp(p, "BYE") == 0) {
		m->verb = POOL_BYE;
	} else {
		goto proto;
	}
	return 0;
proto:
	errno = EPROTO;
	return -1;
}

void
pool_printable(char *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
}
