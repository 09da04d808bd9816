/*
 * Unit test of lib/acl: which prefixes bind-input -A takes, their text
 * form, the 64-prefix limit, and which peers a list lets in (IPv4, IPv6,
 * IPv4-mapped IPv6 as a dual-stack listener sees IPv4 clients). Prints
 * each failure on stderr; exits non-zero when any.
 */
#include "acl.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The text form of prefix s, or "ERR" when it is refused. */
static const char *
text_of(const char *s)
{
	static char buf[ACL_PREFIX_TEXT];
	struct acl_prefix p;

	errno = 0;
	if (acl_prefix_parse(s, &p) == -1) {
		CHECK(errno == EINVAL);
		return "ERR";
	}
	acl_prefix_text(&p, buf, sizeof(buf));
	return buf;
}

static void
check_text(const char *in, const char *want)
{
	const char *got = text_of(in);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "prefix [%s]: got [%s], want [%s]\n", in, got,
		    want);
		failures++;
	}
}

static void
test_parse(void)
{
	static const char *bad[] = {"", "/", "/8", "1.2.3.4/", "1.2.3.4/33",
	    "1.2.3.4/08", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/8/8",
	    "1.2.3.4/8 ", " 1.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.256",
	    "01.2.3.4", "0x7f.0.0.1", "127.1", "::1/129", "::1/1280",
	    "::1/0128", "fe80::1%eth0", "fe80::1%1/64", ":::", "1::2::3",
	    "localhost", "1.2.3.4,5.6.7.8", "::ffff:1.2.3.4/", "1.2.3.4/8a",
	    "12345::", "::1/4294967424",
	    "0000:0000:0000:0000:0000:0000:0000:0000:1/128", NULL};
	int k;

	check_text("127.0.0.2", "127.0.0.2/32");
	check_text("10.0.0.0/8", "10.0.0.0/8");
	check_text("10.1.2.3/8", "10.0.0.0/8"); /* host bits cleared */
	check_text("192.168.77.255/23", "192.168.76.0/23");
	check_text("0.0.0.0/0", "0.0.0.0/0");
	check_text("1.2.3.4/0", "0.0.0.0/0");
	check_text("255.255.255.255/32", "255.255.255.255/32");
	check_text("::1", "::1/128");
	check_text("::", "::/128");
	check_text("::/0", "::/0");
	check_text("fd00::/8", "fd00::/8");
	check_text("fdff:1:2::3/8", "fd00::/8");
	check_text("FD00:0:0::0/8", "fd00::/8");
	check_text("2001:db8::1/127", "2001:db8::/127");
	check_text("fe80::1/1", "8000::/1");
	/* IPv4-mapped IPv6 with 96 bits or more is an IPv4 prefix. */
	check_text("::ffff:10.1.2.3/104", "10.0.0.0/8");
	check_text("::ffff:127.0.0.2", "127.0.0.2/32");
	check_text("::ffff:0:0/96", "0.0.0.0/0");
	check_text("::ffff:0:0/95", "::fffe:0:0/95");
	for (k = 0; bad[k] != NULL; k++)
		check_text(bad[k], "ERR");
	/* Longer than any prefix: refused without reading it all. */
	{
		char lng[200];

		memset(lng, '1', sizeof(lng) - 1);
		lng[sizeof(lng) - 1] = '\0';
		check_text(lng, "ERR");
	}
}

static void
test_list(void)
{
	struct acl a, b;
	char text[ACL_TEXT_MAX], one[64];
	int k;

	memset(&a, 0, sizeof(a));
	acl_format(&a, text, sizeof(text));
	CHECK(strcmp(text, "") == 0);
	CHECK(acl_add(&a, "10.1.0.0/16") == 0);
	CHECK(acl_add(&a, "::1") == 0);
	errno = 0;
	CHECK(acl_add(&a, "10.1.0.0/33") == -1 && errno == EINVAL);
	CHECK(a.n == 2);
	acl_format(&a, text, sizeof(text));
	CHECK(strcmp(text, "10.1.0.0/16,::1/128") == 0);
	CHECK(acl_parse_list(text, &b) == 0);
	CHECK(b.n == 2 && memcmp(b.p, a.p, sizeof(a.p[0]) * 2) == 0);

	/* 64 prefixes fit, the 65th is refused with ENOSPC; the longest
	 * text of 64 fits ACL_TEXT_MAX and parses back. */
	memset(&a, 0, sizeof(a));
	for (k = 0; k < ACL_MAX; k++) {
		snprintf(one, sizeof(one),
		    "ffff:ffff:ffff:ffff:ffff:ffff:%x:%x", 0x1000 + k, 0xffff);
		CHECK(acl_add(&a, one) == 0);
	}
	errno = 0;
	CHECK(acl_add(&a, "1.2.3.4") == -1 && errno == ENOSPC);
	CHECK(a.n == ACL_MAX);
	acl_format(&a, text, sizeof(text));
	CHECK(strlen(text) == ACL_MAX * 44 - 1);
	CHECK(acl_parse_list(text, &b) == 0);
	CHECK(b.n == ACL_MAX && memcmp(b.p, a.p, sizeof(a.p)) == 0);
	/* One more in the text form: refused. */
	snprintf(text + strlen(text), 16, ",1.2.3.4/32");
	errno = 0;
	CHECK(acl_parse_list(text, &b) == -1 && errno == EINVAL);
	CHECK(b.n == 0);

	{
		static const char *bad[] = {"", ",", "1.2.3.4,", ",1.2.3.4",
		    "1.2.3.4,,::1", "1.2.3.4 ,::1", "1.2.3.4;::1", "any", NULL};

		for (k = 0; bad[k] != NULL; k++) {
			errno = 0;
			if (acl_parse_list(bad[k], &b) != -1 ||
			    errno != EINVAL) {
				fprintf(
				    stderr, "list accepted: [%s]\n", bad[k]);
				failures++;
			}
		}
	}
	CHECK(acl_parse_list("1.2.3.4/32,::/0", &b) == 0 && b.n == 2);
}

/* 1 when the list of prefixes (comma-separated) lets in host (an IPv4 or
 * IPv6 address), seen as family: AF_INET, or AF_INET6 (an IPv4 host then
 * as ::ffff:a.b.c.d, as a dual-stack listener sees it). */
static int
lets_in(const char *list, const char *host, int family)
{
	struct acl a;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	char mapped[64];

	memset(&a, 0, sizeof(a));
	if (list[0] != '\0' && acl_parse_list(list, &a) == -1) {
		fprintf(stderr, "list refused: [%s]\n", list);
		failures++;
		return -1;
	}
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (family == AF_INET) {
		s4.sin_family = AF_INET;
		CHECK(inet_pton(AF_INET, host, &s4.sin_addr) == 1);
		return acl_allows(&a, (struct sockaddr *)&s4, sizeof(s4));
	}
	s6.sin6_family = AF_INET6;
	if (strchr(host, ':') == NULL) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", host);
		host = mapped;
	}
	CHECK(inet_pton(AF_INET6, host, &s6.sin6_addr) == 1);
	return acl_allows(&a, (struct sockaddr *)&s6, sizeof(s6));
}

static void
test_allows(void)
{
	static const struct {
		const char *list, *host;
		int in;
	} cases[] = {
	    {"", "203.0.113.9", 1}, /* no list: everybody */
	    {"", "2001:db8::1", 1},
	    {"127.0.0.2", "127.0.0.2", 1},
	    {"127.0.0.2", "127.0.0.1", 0},
	    {"127.0.0.2", "127.0.0.3", 0},
	    {"10.0.0.0/8", "10.255.1.2", 1},
	    {"10.0.0.0/8", "11.0.0.0", 0},
	    {"10.0.0.0/8", "9.255.255.255", 0},
	    {"192.168.76.0/23", "192.168.77.200", 1},
	    {"192.168.76.0/23", "192.168.78.0", 0},
	    {"0.0.0.0/0", "198.51.100.7", 1},
	    {"0.0.0.0/0", "::1", 0}, /* an IPv4 prefix is no IPv6 one */
	    {"0.0.0.0/0", "2001:db8::1", 0},
	    {"::1", "::1", 1},
	    {"::1", "127.0.0.1", 0},
	    {"::1", "::2", 0},
	    {"fd00::/8", "fd12:3456::1", 1},
	    {"fd00::/8", "fe00::1", 0},
	    {"fd00::/8", "::1", 0},
	    {"::/0", "2001:db8::1", 1},
	    {"::/0", "127.0.0.1", 1}, /* every peer, mapped IPv4 too */
	    {"::ffff:0:0/96", "10.1.2.3", 1},
	    {"::ffff:0:0/96", "::1", 0},
	    {"10.0.0.0/8,::1,127.0.0.2", "127.0.0.2", 1},
	    {"10.0.0.0/8,::1,127.0.0.2", "::1", 1},
	    {"10.0.0.0/8,::1,127.0.0.2", "127.0.0.1", 0},
	    {"2001:db8::/33", "2001:db8:7fff::1", 1},
	    {"2001:db8::/33", "2001:db8:8000::1", 0},
	};
	size_t k;
	int got;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		got = lets_in(cases[k].list, cases[k].host, AF_INET6);
		if (strchr(cases[k].host, ':') == NULL &&
		    lets_in(cases[k].list, cases[k].host, AF_INET) != got) {
			fprintf(stderr, "[%s] %s: AF_INET and mapped differ\n",
			    cases[k].list, cases[k].host);
			failures++;
		}
		if (got != cases[k].in) {
			fprintf(stderr, "[%s] lets in %s: %d, want %d\n",
			    cases[k].list, cases[k].host, got, cases[k].in);
			failures++;
		}
	}
	/* Another family, or an address too short for its family: out. */
	{
		struct acl a;
		struct sockaddr_in s4;
		struct sockaddr sa;

		CHECK(acl_parse_list("::/0", &a) == 0);
		memset(&sa, 0, sizeof(sa));
		sa.sa_family = AF_UNIX;
		CHECK(acl_allows(&a, &sa, sizeof(sa)) == 0);
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		CHECK(acl_allows(&a, (struct sockaddr *)&s4, 4) == 0);
		CHECK(acl_allows(&a, (struct sockaddr *)&s4, sizeof(s4)) == 1);
	}
}

int
main(void)
{
	test_parse();
	test_list();
	test_allows();
	if (failures != 0)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
