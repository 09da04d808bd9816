/*
 * Unit test of lib/helper_argv: what the builtins format, the helper
 * program parses back to the same options; what it was not given, it
 * refuses. Prints each failure on stderr; exits non-zero when any.
 */
#include "check.h"
#include "helper_argv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int
argc_of(char *const *argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
in_round_trip(const struct input_opts *o)
{
	struct helper_argv a;
	struct input_opts back;
	struct output_opts other;

	helper_argv_input(o, &a);
	CHECK(strcmp(a.argv[0], "bashsock-in") == 0);
	CHECK(helper_argv_parse_input(argc_of(a.argv), a.argv, &back) == 0);
	CHECK(same(back.ns, o->ns) && same(back.id, o->id));
	CHECK(same(back.addr, o->addr));
	CHECK(back.port == o->port && back.cap == o->cap);
	CHECK(back.one == o->one);
	CHECK(same(back.cert, o->cert) && same(back.key, o->key));
	CHECK(back.max == (o->max != 0 ? o->max : INPUT_MAX_CLIENTS));
	CHECK(
	    back.acl.n == o->acl.n &&
	    memcmp(back.acl.p, o->acl.p, sizeof(o->acl.p[0]) * o->acl.n) == 0);
	CHECK(helper_argv_parse_output(argc_of(a.argv), a.argv, &other) == -1);
}

static void
out_round_trip(const struct output_opts *o)
{
	struct helper_argv a;
	struct output_opts back;
	struct input_opts other;

	helper_argv_output(o, &a);
	CHECK(strcmp(a.argv[0], "bashsock-out") == 0);
	CHECK(helper_argv_parse_output(argc_of(a.argv), a.argv, &back) == 0);
	CHECK(same(back.ns, o->ns) && same(back.id, o->id));
	CHECK(same(back.host, o->host));
	CHECK(back.port == o->port && back.cap == o->cap);
	CHECK(back.timeout == o->timeout && back.reconnect == o->reconnect);
	CHECK(back.tls == o->tls && same(back.ca, o->ca));
	CHECK(!o->tls || back.verify == o->verify);
	CHECK(helper_argv_parse_input(argc_of(a.argv), a.argv, &other) == -1);
}

static void
test_round_trips(void)
{
	static struct input_opts i;
	char pfx[64];
	int k;
	struct output_opts o = {"ns.1", "out_1", "localhost", 49151, 1024,
	    10000000000LL, 0, 0, 0, NULL};

	i.ns = "default";
	i.id = "in1";
	i.port = 20001;
	i.cap = 1024 * 1024;
	in_round_trip(&i); /* max 0: 1024, no -A: "any" */
	i.max = 1;
	CHECK(acl_add(&i.acl, "10.1.2.3/8") == 0);
	CHECK(acl_add(&i.acl, "::1") == 0);
	in_round_trip(&i);
	i.max = INPUT_MAX_CLIENTS;
	for (k = (int)i.acl.n; k < ACL_MAX; k++) {
		snprintf(pfx, sizeof(pfx),
		    "ffff:ffff:ffff:ffff:ffff:ffff:%x:0/%d", k, 96 + k % 33);
		CHECK(acl_add(&i.acl, pfx) == 0);
	}
	in_round_trip(&i); /* the longest command line */
	i.addr = "127.0.0.1";
	i.one = 1;
	i.port = 0; /* the pool's: any free port */
	i.cap = 1024UL * 1024 * 1024;
	in_round_trip(&i);
	i.addr = ""; /* passed on: the helper says it cannot listen there */
	i.port = 1024;
	i.cap = 1024;
	in_round_trip(&i);
	out_round_trip(&o);
	o.reconnect = 1;
	o.timeout = 1;
	o.port = 1024;
	o.host = "::1";
	out_round_trip(&o);
	o.timeout = 31536000LL * 1000000000LL;
	out_round_trip(&o);
	/* TLS: the tls- forms, for bashsock-helper-tls. */
	i.cert = "/etc/ssl/srv.pem";
	in_round_trip(&i);
	i.key = "k.pem";
	i.addr = NULL;
	in_round_trip(&i);
	o.tls = 1;
	o.verify = 1;
	out_round_trip(&o);
	o.verify = 0;
	o.ca = "ca.pem";
	out_round_trip(&o);
}

/* words: a command line, space-separated ("" for an empty word). */
static int
parse_words(const char *words, int in)
{
	char buf[1024], *argv[16], *p;
	struct input_opts io;
	struct output_opts oo;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (p = strtok(buf, " "); p != NULL && argc < 15;
	     p = strtok(NULL, " "))
		argv[argc++] = strcmp(p, "\"\"") == 0 ? p + 2 : p;
	argv[argc] = NULL;
	errno = 0;
	if (in)
		return helper_argv_parse_input(argc, argv, &io) == 0 ? 0
								     : -errno;
	return helper_argv_parse_output(argc, argv, &oo) == 0 ? 0 : -errno;
}

static void
test_refusals(void)
{
	static const char *bad_in[] = {"h", "h in", "h in ns x 20001 1024",
	    "h in ns x 20001 1024 0", "h in ns x 20001 1024 0 1024",
	    "h in ns x 20001 1024 0 addr", /* the old form */
	    "h in ns x 20001 1024 0 1024 any addr extra",
	    "h out ns x 20001 1024 0 1024 any",
	    "h in 1ns x 20001 1024 0 1024 any",
	    "h in ns \"\" 20001 1024 0 1024 any",
	    "h in ns x 1023 1024 0 1024 any", "h in ns x 49152 1024 0 1024 any",
	    "h in ns x 020001 1024 0 1024 any", "h in ns x -1 1024 0 1024 any",
	    "h in ns x \"\" 1024 0 1024 any", "h in ns x 20001 1023 0 1024 any",
	    "h in ns x 20001 1073741825 0 1024 any",
	    "h in ns x 20001 1k 0 1024 any",
	    "h in ns x 20001 18446744073709551616 0 1024 any",
	    "h in ns x 20001 1024 2 1024 any",
	    "h in ns x 20001 1024 01 1024 any",
	    /* MAX: 1 to 1024, canonical */
	    "h in ns x 20001 1024 0 0 any", "h in ns x 20001 1024 0 1025 any",
	    "h in ns x 20001 1024 0 01 any", "h in ns x 20001 1024 0 \"\" any",
	    "h in ns x 20001 1024 0 -1 any",
	    /* ACL: "any" or exactly what acl_format writes */
	    "h in ns x 20001 1024 0 1024 \"\"",
	    "h in ns x 20001 1024 0 1024 ANY",
	    "h in ns x 20001 1024 0 1024 127.0.0.2",
	    "h in ns x 20001 1024 0 1024 10.1.2.3/8",
	    "h in ns x 20001 1024 0 1024 ::ffff:10.0.0.0/104",
	    "h in ns x 20001 1024 0 1024 FD00::/8",
	    "h in ns x 20001 1024 0 1024 10.0.0.0/8,",
	    "h in ns x 20001 1024 0 1024 10.0.0.0/8,,::1/128",
	    "h in ns x 20001 1024 0 1024 any,10.0.0.0/8",
	    "h in ns x 20001 1024 0 1024 10.0.0.0/33", NULL};
	static const char *bad_out[] = {"h out ns x host 20001 1024 1 0 extra",
	    "h out ns x \"\" 20001 1024 1 0", "h out ns x host 0 1024 1 0",
	    "h out ns x host 20001 1024 0 0",
	    "h out ns x host 20001 1024 31536000000000001 0",
	    "h out ns x host 20001 1024 1 2", "h in ns x host 20001 1024 1 0",
	    "h out ns ../x host 20001 1024 1 0", NULL};
	int k;

	CHECK(parse_words("h in ns x 20001 1024 0 1024 any", 1) == 0);
	CHECK(parse_words("h in ns x 0 1024 0 1 any \"\"", 1) == 0);
	CHECK(parse_words("h in ns x 20001 1024 0 7 "
			  "10.0.0.0/8,::1/128,fd00::/8,127.0.0.2/32",
		  1) == 0);
	CHECK(parse_words("h out ns x host 20001 1024 1 1", 0) == 0);
	for (k = 0; bad_in[k] != NULL; k++) {
		if (parse_words(bad_in[k], 1) != -EINVAL) {
			fprintf(stderr, "accepted: %s\n", bad_in[k]);
			failures++;
		}
	}
	for (k = 0; bad_out[k] != NULL; k++) {
		if (parse_words(bad_out[k], 0) != -EINVAL) {
			fprintf(stderr, "accepted: %s\n", bad_out[k]);
			failures++;
		}
	}
}

int
main(void)
{
	test_round_trips();
	test_refusals();
	if (failures != 0)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
