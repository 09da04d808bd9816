/*
 * libFuzzer target for lib/helper_argv.c, the command line bashsock-helper
 * parses. The input, split at its NUL bytes, is argv (each word its own
 * allocation of exactly its size, argv itself exactly argc + 1 pointers,
 * so a parser reading past a word or past argv[argc] trips ASan).
 *
 * helper_argv_parse_input and helper_argv_parse_output each refuse it with
 * EINVAL, or accept it; at most one of them accepts. What they accept is within
 * the ranges helper_argv.h documents (checked here independently), points into
 * argv (the -A prefixes are parsed into the options: their list is "any"
 * exactly when there is none), and is canonical: formatting it again with
 * helper_argv_input or helper_argv_output gives back exactly the words from
 * argv[1] on.
 *
 *   make fuzz-build &&
 *       build/fuzz/fuzz_helper_argv tests/fuzz/corpus/helper_argv
 */
#include "helper_argv.h"
#include "parse.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORDS_MAX 16

/* An ID as helper_argv.h documents it, read independently of parse_id. */
static int
is_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= PARSE_ID_MAX)
			return 0;
		if ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')
			continue;
		if (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
				 s[i] == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

/* a's words from argv[1] on are exactly argv's, and as many. */
static void
check_same(const struct helper_argv *a, int argc, char *const *argv)
{
	int i;

	for (i = 0; i < HELPER_ARGC_MAX && a->argv[i] != NULL; i++)
		if (i > 0)
			CHECK(strcmp(a->argv[i], argv[i]) == 0);
	CHECK(i == argc);
}

static int
check_input(int argc, char *const *argv)
{
	struct input_opts o;
	struct helper_argv a;
	int k;

	errno = 0;
	if (helper_argv_parse_input(argc, argv, &o) == -1) {
		CHECK(errno == EINVAL);
		return 0;
	}
	/* tls-in carries CERT and KEY (empty: in CERT) before ADDR. */
	k = strcmp(argv[1], "tls-in") == 0 ? 2 : 0;
	CHECK(argc == 9 + k || argc == 10 + k);
	CHECK(strcmp(argv[1], k != 0 ? "tls-in" : "in") == 0);
	CHECK(k == 0 ? o.cert == NULL && o.key == NULL
		     : o.cert == argv[9] && argv[9][0] != '\0' &&
			   (argv[10][0] != '\0' ? o.key == argv[10]
						: o.key == NULL));
	CHECK(o.ns == argv[2] && o.id == argv[3]);
	CHECK(is_id(o.ns) && is_id(o.id));
	CHECK(o.port == 0 ||
	      (o.port >= PARSE_PORT_MIN && o.port <= PARSE_PORT_MAX));
	CHECK(o.cap >= PARSE_SIZE_MIN && o.cap <= PARSE_SIZE_MAX);
	CHECK(o.one == 0 || o.one == 1);
	CHECK(o.max >= 1 && o.max <= 1024);
	CHECK(o.acl.n <= ACL_MAX);
	CHECK((o.acl.n == 0) == (strcmp(argv[8], "any") == 0));
	CHECK(argc == 10 + k ? o.addr == argv[9 + k] : o.addr == NULL);
	helper_argv_input(&o, &a);
	CHECK(strcmp(a.argv[0], "bashsock-in") == 0);
	check_same(&a, argc, argv);
	return 1;
}

static int
check_output(int argc, char *const *argv)
{
	struct output_opts o;
	struct helper_argv a;
	int k;

	errno = 0;
	if (helper_argv_parse_output(argc, argv, &o) == -1) {
		CHECK(errno == EINVAL);
		return 0;
	}
	/* tls-out carries VERIFY and CA (empty: the system's) at the end. */
	k = strcmp(argv[1], "tls-out") == 0 ? 2 : 0;
	CHECK(argc == 9 + k);
	CHECK(strcmp(argv[1], k != 0 ? "tls-out" : "out") == 0);
	CHECK(k == 0 ? o.tls == 0 && o.ca == NULL
		     : o.tls == 1 && (o.verify == 0 || o.verify == 1) &&
			   (argv[10][0] != '\0' ? o.ca == argv[10]
						: o.ca == NULL));
	CHECK(o.ns == argv[2] && o.id == argv[3] && o.host == argv[4]);
	CHECK(is_id(o.ns) && is_id(o.id) && o.host[0] != '\0');
	CHECK(o.port >= PARSE_PORT_MIN && o.port <= PARSE_PORT_MAX);
	CHECK(o.cap >= PARSE_SIZE_MIN && o.cap <= PARSE_SIZE_MAX);
	CHECK(o.timeout >= 1 &&
	      o.timeout <= (int64_t)PARSE_SECS_MAX * 1000000000LL);
	CHECK(o.reconnect == 0 || o.reconnect == 1);
	helper_argv_output(&o, &a);
	CHECK(strcmp(a.argv[0], "bashsock-out") == 0);
	check_same(&a, argc, argv);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **argv;
	const uint8_t *p = data, *end = data + size, *nul;
	size_t n;
	int argc = 0, i, ok;

	if (size > 8192)
		return 0;
	/* Words: the pieces between NULs; an empty input is no word. */
	if ((argv = calloc(WORDS_MAX + 1, sizeof(*argv))) == NULL)
		abort();
	while (size > 0 && argc < WORDS_MAX) {
		nul = memchr(p, '\0', (size_t)(end - p));
		n = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
		if ((argv[argc] = malloc(n + 1)) == NULL)
			abort();
		memcpy(argv[argc], p, n);
		argv[argc++][n] = '\0';
		if (nul == NULL)
			break;
		p = nul + 1;
	}
	/* argv exactly argc + 1 long, as the kernel gives it to main. */
	argv = realloc(argv, (size_t)(argc + 1) * sizeof(*argv));
	if (argv == NULL)
		abort();

	ok = check_input(argc, argv);
	ok += check_output(argc, argv);
	CHECK(ok <= 1);

	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return 0;
}
