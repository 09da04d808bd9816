/* helper_argv: the helper program's command line, formatted and parsed. */
#include "helper_argv.h"
#include "parse.h"
#include "pool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
helper_argv_input(const struct input_opts *o, struct helper_argv *a)
{
	int n = 0;

	memset(a, 0, sizeof(*a));
	snprintf(a->num[0], sizeof(a->num[0]), "%d", o->port);
	snprintf(a->num[1], sizeof(a->num[1]), "%zu", o->cap);
	snprintf(a->num[2], sizeof(a->num[2]), "%u",
	    o->max != 0 ? o->max : INPUT_MAX_CLIENTS);
	if (o->acl.n != 0)
		acl_format(&o->acl, a->acl, sizeof(a->acl));
	else
		snprintf(a->acl, sizeof(a->acl), "any");
	a->argv[n++] = "bashsock-in";
	a->argv[n++] = o->cert != NULL ? "tls-in" : "in";
	a->argv[n++] = (char *)o->ns;
	a->argv[n++] = (char *)o->id;
	a->argv[n++] = a->num[0];
	a->argv[n++] = a->num[1];
	a->argv[n++] = o->one ? "1" : "0";
	a->argv[n++] = a->num[2];
	a->argv[n++] = a->acl;
	if (o->cert != NULL) {
		a->argv[n++] = (char *)o->cert;
		a->argv[n++] = o->key != NULL ? (char *)o->key : "";
	}
	if (o->addr != NULL)
		a->argv[n++] = (char *)o->addr;
	a->argv[n] = NULL;
}

void
helper_argv_output(const struct output_opts *o, struct helper_argv *a)
{
	int n = 0;

	memset(a, 0, sizeof(*a));
	snprintf(a->num[0], sizeof(a->num[0]), "%d", o->port);
	snprintf(a->num[1], sizeof(a->num[1]), "%zu", o->cap);
	snprintf(a->num[2], sizeof(a->num[2]), "%lld", (long long)o->timeout);
	a->argv[n++] = "bashsock-out";
	a->argv[n++] = o->tls ? "tls-out" : "out";
	a->argv[n++] = (char *)o->ns;
	a->argv[n++] = (char *)o->id;
	a->argv[n++] = (char *)o->host;
	a->argv[n++] = a->num[0];
	a->argv[n++] = a->num[1];
	a->argv[n++] = a->num[2];
	a->argv[n++] = o->reconnect ? "1" : "0";
	if (o->tls) {
		a->argv[n++] = o->verify ? "1" : "0";
		a->argv[n++] = o->ca != NULL ? (char *)o->ca : "";
	}
	a->argv[n] = NULL;
}

/* s as canonical decimal in [min, max]; 0, or -1. */
static int
args_num(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

/* A port: 1024-49151, or 0 when any0. */
static int
args_port(const char *s, int any0, int *port)
{
	uint64_t v;

	if (any0 && strcmp(s, "0") == 0) {
		*port = 0;
		return 0;
	}
	if (args_num(s, PARSE_PORT_MIN, PARSE_PORT_MAX, &v) == -1)
		return -1;
	*port = (int)v;
	return 0;
}

static int
args_bool(const char *s, int *b)
{
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return -1;
	*b = s[0] == '1';
	return 0;
}

/* ACL: "any" (nobody is kept out), or prefixes exactly as acl_format
 * writes them. */
static int
args_acl(const char *s, struct acl *a)
{
	char again[ACL_TEXT_MAX];

	memset(a, 0, sizeof(*a));
	if (strcmp(s, "any") == 0)
		return 0;
	if (acl_parse_list(s, a) == -1)
		return -1;
	acl_format(a, again, sizeof(again));
	if (strcmp(again, s) != 0) {
		memset(a, 0, sizeof(*a));
		return -1;
	}
	return 0;
}

int
helper_argv_parse_input(int argc, char *const *argv, struct input_opts *o)
{
	uint64_t cap, max;
	int tls = argc > 1 && strcmp(argv[1], "tls-in") == 0, k = tls ? 2 : 0;

	memset(o, 0, sizeof(*o));
	if ((argc != 9 + k && argc != 10 + k) ||
	    (!tls && strcmp(argv[1], "in") != 0) ||
	    (tls && argv[9][0] == '\0') || parse_id(argv[2]) == -1 ||
	    parse_id(argv[3]) == -1 || args_port(argv[4], 1, &o->port) == -1 ||
	    args_num(argv[5], PARSE_SIZE_MIN, PARSE_SIZE_MAX, &cap) == -1 ||
	    args_bool(argv[6], &o->one) == -1 ||
	    args_num(argv[7], 1, INPUT_MAX_CLIENTS, &max) == -1 ||
	    args_acl(argv[8], &o->acl) == -1 || argv[argc] != NULL) {
		memset(o, 0, sizeof(*o));
		errno = EINVAL;
		return -1;
	}
	o->ns = argv[2];
	o->id = argv[3];
	o->cap = (size_t)cap;
	o->max = (unsigned)max;
	o->addr = argc == 10 + k ? argv[9 + k] : NULL;
	if (tls) {
		o->cert = argv[9];
		o->key = argv[10][0] != '\0' ? argv[10] : NULL;
	}
	return 0;
}

int
helper_argv_parse_output(int argc, char *const *argv, struct output_opts *o)
{
	uint64_t cap, timeout;
	int tls = argc > 1 && strcmp(argv[1], "tls-out") == 0, k = tls ? 2 : 0;

	memset(o, 0, sizeof(*o));
	if (argc != 9 + k || (!tls && strcmp(argv[1], "out") != 0) ||
	    (tls && args_bool(argv[9], &o->verify) == -1) ||
	    parse_id(argv[2]) == -1 || parse_id(argv[3]) == -1 ||
	    argv[4][0] == '\0' || args_port(argv[5], 0, &o->port) == -1 ||
	    args_num(argv[6], PARSE_SIZE_MIN, PARSE_SIZE_MAX, &cap) == -1 ||
	    args_num(argv[7], 1, PARSE_SECS_MAX * 1000000000ULL, &timeout) ==
		-1 ||
	    args_bool(argv[8], &o->reconnect) == -1 || argv[argc] != NULL) {
		errno = EINVAL;
		return -1;
	}
	o->ns = argv[2];
	o->id = argv[3];
	o->host = argv[4];
	o->cap = (size_t)cap;
	o->timeout = (int64_t)timeout;
	if (tls) {
		o->tls = 1;
		o->ca = argv[10][0] != '\0' ? argv[10] : NULL;
	}
	return 0;
}

int
helper_argv_proof_take(struct input_opts *o, char *buf, size_t len)
{
	char *v;

	o->proof = NULL;
	if (o->port != 0)
		return 0;
	v = getenv(POOL_PROOF_ENV);
	if (v == NULL || !pool_proof_mac_ok(v) || len < AUTH_HEX + 1) {
		if (v != NULL)
			memset(v, 0, strlen(v));
		unsetenv(POOL_PROOF_ENV);
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, v, AUTH_HEX + 1);
	memset(v, 0, AUTH_HEX);
	unsetenv(POOL_PROOF_ENV);
	o->proof = buf;
	return 0;
}
