/*
 * Unit test of lib/pool: the protocol lines (encode, decode, what is
 * refused), the directory scan, the helper's message pipe, and the proof
 * of a data connection (the MAC, its line, its check, and how the helper
 * program takes the expected one from its environment).
 * Prints each failure on stderr; exits non-zero when any.
 */
#include "pool.h"
#include "check.h"
#include "helper_argv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC 1000000000LL

static void
test_encode(void)
{
	char buf[AUTH_LINE_MAX], name[POOL_NAME_MAX + 2];

	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, "dem1", 0) == 0);
	CHECK(strcmp(buf, "POOL/1 DAEMON dem1") == 0);
	CHECK(pool_encode(buf, sizeof(buf), POOL_PORT, NULL, 40001) == 0);
	CHECK(strcmp(buf, "POOL/1 PORT 40001") == 0);
	CHECK(pool_encode(buf, sizeof(buf), POOL_REFUSED, "taken", 0) == 0);
	CHECK(strcmp(buf, "POOL/1 REFUSED taken") == 0);
	CHECK(pool_encode(buf, sizeof(buf), POOL_END, NULL, 0) == 0);
	CHECK(strcmp(buf, "POOL/1 END") == 0);
	CHECK(pool_encode(buf, sizeof(buf), POOL_BYE, NULL, 0) == 0);
	CHECK(strcmp(buf, "POOL/1 BYE") == 0);
	/* Any name that fits on a line travels; the pool judges it. */
	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, "has space", 0) == 0);
	memset(name, 'x', POOL_NAME_MAX);
	name[POOL_NAME_MAX] = '\0';
	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, name, 0) == 0);
	/* What cannot. */
	name[POOL_NAME_MAX] = 'x';
	name[POOL_NAME_MAX + 1] = '\0';
	errno = 0;
	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, name, 0) == -1 &&
	      errno == EINVAL);
	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, "a\nb", 0) == -1);
	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, "", 0) == -1);
	CHECK(pool_encode(buf, sizeof(buf), POOL_DAEMON, NULL, 0) == -1);
	CHECK(pool_encode(buf, sizeof(buf), POOL_PORT, NULL, 0) == -1);
	CHECK(pool_encode(buf, sizeof(buf), POOL_PORT, NULL, 65536) == -1);
	CHECK(pool_encode(buf, sizeof(buf), POOL_REFUSED, "Bad", 0) == -1);
	CHECK(
	    pool_encode(buf, sizeof(buf), POOL_REFUSED, "two words", 0) == -1);
	CHECK(pool_encode(buf, 10, POOL_DAEMON, "dem1", 0) == -1);
	CHECK(pool_encode(buf, sizeof(buf), (enum pool_verb)99, NULL, 0) == -1);
}

static void
test_decode(void)
{
	struct pool_msg m;
	char line[AUTH_LINE_MAX];
	size_t i;
	static const char *bad[] = {
	    "",
	    "POOL/1",
	    "POOL/1 ",
	    "POOL/2 END",
	    "pool/1 END",
	    "POOL/1  END",
	    "POOL/1 END ",
	    "POOL/1 end",
	    "POOL/1 DAEMON",
	    "POOL/1 DAEMON ",
	    "POOL/1 PORT",
	    "POOL/1 PORT ",
	    "POOL/1 PORT 0",
	    "POOL/1 PORT 65536",
	    "POOL/1 PORT 080",
	    "POOL/1 PORT +80",
	    "POOL/1 PORT 80 ",
	    "POOL/1 PORT 123456",
	    "POOL/1 PORT x",
	    "POOL/1 REFUSED",
	    "POOL/1 REFUSED ",
	    "POOL/1 REFUSED Taken",
	    "POOL/1 REFUSED a b",
	    "POOL/1 HELLO",
	    "BASHSOCK/1 END",
	    "POOL/1 REFUSED aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	CHECK(pool_decode("POOL/1 DAEMON dem1", &m) == 0 &&
	      m.verb == POOL_DAEMON && strcmp(m.arg, "dem1") == 0);
	CHECK(pool_decode("POOL/1 DAEMON has space", &m) == 0 &&
	      strcmp(m.arg, "has space") == 0);
	CHECK(pool_decode("POOL/1 DAEMON  lead", &m) == 0 &&
	      strcmp(m.arg, " lead") == 0);
	CHECK(pool_decode("POOL/1 PORT 1", &m) == 0 && m.verb == POOL_PORT &&
	      m.port == 1);
	CHECK(pool_decode("POOL/1 PORT 65535", &m) == 0 && m.port == 65535);
	CHECK(pool_decode("POOL/1 REFUSED full", &m) == 0 &&
	      m.verb == POOL_REFUSED && strcmp(m.arg, "full") == 0);
	CHECK(pool_decode("POOL/1 END", &m) == 0 && m.verb == POOL_END);
	CHECK(pool_decode("POOL/1 BYE", &m) == 0 && m.verb == POOL_BYE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (pool_decode(bad[i], &m) != -1 || errno != EPROTO) {
			fprintf(stderr, "decode accepted \"%s\"\n", bad[i]);
			failures++;
		}
	}
	/* A name longer than POOL_NAME_MAX is refused, whatever the line. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "POOL/1 DAEMON ", 14);
	line[14 + POOL_NAME_MAX] = '\0';
	CHECK(pool_decode(line, &m) == 0 && strlen(m.arg) == POOL_NAME_MAX);
	line[14 + POOL_NAME_MAX] = 'x';
	line[15 + POOL_NAME_MAX] = '\0';
	CHECK(pool_decode(line, &m) == -1);
	/* Every encoded line decodes to itself. */
	CHECK(pool_encode(line, sizeof(line), POOL_PORT, NULL, 4242) == 0 &&
	      pool_decode(line, &m) == 0 && m.port == 4242);
}

static void
test_printable(void)
{
	char buf[8];

	pool_printable(buf, sizeof(buf), "a\tb\x1b[c");
	CHECK(strcmp(buf, "a?b?[c") == 0);
	pool_printable(buf, sizeof(buf), "abcdefghij");
	CHECK(strcmp(buf, "abcdefg") == 0);
	pool_printable(buf, 1, "abc");
	CHECK(buf[0] == '\0');
}

static void
touch(const char *dir, const char *name, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd != -1);
	if (fd != -1)
		close(fd);
	chmod(path, mode);
}

static void
test_scan(void)
{
	char dir[] = "/tmp/test_pool.XXXXXX", path[512];
	struct pool_dir d;

	CHECK(mkdtemp(dir) != NULL);
	touch(dir, "b", 0755);
	touch(dir, "a", 0755);
	touch(dir, "C", 0700);
	touch(dir, "notes", 0644);
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/link", dir);
	CHECK(symlink("a", path) == 0);
	CHECK(pool_scan(dir, &d) == 0);
	CHECK(d.n == 6);
	if (d.n == 6) {
		/* strcmp order: uppercase first. */
		CHECK(strcmp(d.e[0].name, "C") == 0 && d.e[0].kind == POOL_RUN);
		CHECK(strcmp(d.e[1].name, "a") == 0 && d.e[1].kind == POOL_RUN);
		CHECK(strcmp(d.e[2].name, "b") == 0 && d.e[2].kind == POOL_RUN);
		CHECK(strcmp(d.e[3].name, "link") == 0 &&
		      d.e[3].kind == POOL_RUN);
		CHECK(strcmp(d.e[4].name, "notes") == 0 &&
		      (d.e[4].kind == POOL_NOTEXEC || geteuid() == 0));
		CHECK(strcmp(d.e[5].name, "sub") == 0 &&
		      d.e[5].kind == POOL_NOTREG);
	}
	pool_scan_free(&d);
	CHECK(d.n == 0 && d.e == NULL);
	errno = 0;
	CHECK(pool_scan("/nonexistent/dir", &d) == -1 && errno == ENOENT);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
}

static int
say_some(void *arg, int msgfd)
{
	static const char msgs[] = "O dem1 40001 123\nE warn\ngarbage\n";

	(void)arg;
	if (write(msgfd, msgs, sizeof(msgs) - 1) < 0)
		return 1;
	return 7;
}

static int
sleep_forever(void *arg, int msgfd)
{
	(void)arg;
	(void)msgfd;
	for (;;)
		pause();
	return 0;
}

static void
test_link(void)
{
	struct pool_link l;
	char line[POOL_MSG_MAX];
	pid_t pid;
	int k;

	pid = pool_spawn(say_some, NULL, "test-pool", 0, &l);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(pool_link_next(&l, line, sizeof(line), 5 * SEC) == 'O' &&
	      strcmp(line, "dem1 40001 123") == 0);
	CHECK(pool_link_next(&l, line, sizeof(line), 5 * SEC) == 'E' &&
	      strcmp(line, "warn") == 0);
	while ((k = pool_link_next(&l, line, sizeof(line), 5 * SEC)) == 0)
		;
	CHECK(k == 'X' && l.status == 7);
	pool_link_close(&l);
	waitpid(pid, NULL, 0);

	/* A helper that dies without a word: the link reports -1. */
	pid = pool_spawn(sleep_forever, NULL, "test-pool", 0, &l);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(pool_link_next(&l, line, sizeof(line), SEC / 10) == 0);
	kill(pid, SIGKILL);
	while ((k = pool_link_next(&l, line, sizeof(line), 5 * SEC)) == 0)
		;
	CHECK(k == -1 && l.fd == -1);
	pool_link_stop(&l, SEC); /* twice is harmless */
	waitpid(pid, NULL, 0);
}

#define CHAL "00000000000000000000000000000000000000000000000000000000000000ff"
#define MAC "b22fd6863f4df2d3c264df3d38614624617e3608d2a26a94f0c46006c20bac43"

static void
test_proof_mac(void)
{
	char a[AUTH_HEX + 1], b[AUTH_HEX + 1];

	/* Known answer (Python's hmac): HMAC-SHA256("k3y",
	 * "bashsock/1 attach " CHAL " 7 dmn"). */
	CHECK(auth_attach_mac("k3y", 3, CHAL, 7, "dmn", a) == 0);
	CHECK(strcmp(a, MAC) == 0);
	/* Every input counts. */
	CHECK(auth_attach_mac("k3z", 3, CHAL, 7, "dmn", b) == 0 &&
	      strcmp(a, b) != 0);
	CHECK(auth_attach_mac("k3y", 3, CHAL, 8, "dmn", b) == 0 &&
	      strcmp(a, b) != 0);
	CHECK(auth_attach_mac("k3y", 3, CHAL, 7, "dmo", b) == 0 &&
	      strcmp(a, b) != 0);
	b[0] = '\0';
	CHECK(auth_attach_mac("k3y", 3,
		  "100000000000000000000000000000000000000000000000000000000000"
		  "00ff",
		  7, "dmn", b) == 0 &&
	      strcmp(a, b) != 0);
	/* Refused: no key, a challenge that is not 64 lowercase hex. */
	errno = 0;
	CHECK(
	    auth_attach_mac("", 0, CHAL, 7, "dmn", b) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(auth_attach_mac("k3y", 3, "00ff", 7, "dmn", b) == -1 &&
	      errno == EINVAL);
	errno = 0;
	CHECK(auth_attach_mac("k3y", 3,
		  "000000000000000000000000000000000000000000000000000000000000"
		  "00FF",
		  7, "dmn", b) == -1 &&
	      errno == EINVAL);
}

/* pool_proof_check on the string s (its length, or n when given). */
static int
check_str(const char *s, const char *want)
{
	return pool_proof_check(s, strlen(s), want);
}

static void
test_proof_check(void)
{
	char line[POOL_ATTACH_LINE], buf[POOL_ATTACH_LINE + 8];
	size_t n;

	CHECK(pool_proof_mac_ok(MAC));
	CHECK(!pool_proof_mac_ok(CHAL "0"));
	CHECK(!pool_proof_mac_ok("b22f"));
	CHECK(!pool_proof_mac_ok("B22fd6863f4df2d3c264df3d38614624617e3608d2a26"
				 "a94f0c46006c20bac43"));
	CHECK(!pool_proof_mac_ok(NULL));

	CHECK(pool_proof_line(line, sizeof(line), MAC) == 0);
	CHECK(strcmp(line, "BASHSOCK/1 ATTACH " MAC) == 0);
	CHECK(strlen(line) + 1 <= POOL_ATTACH_LINE);
	errno = 0;
	CHECK(pool_proof_line(line, sizeof(line), "nothex") == -1 &&
	      errno == EINVAL);
	errno = 0;
	CHECK(pool_proof_line(line, 20, MAC) == -1 && errno == EINVAL);

	CHECK(check_str("BASHSOCK/1 ATTACH " MAC, MAC) == 0);
	/* Another MAC: EACCES, wherever it differs. */
	errno = 0;
	CHECK(
	    check_str("BASHSOCK/1 ATTACH " CHAL, MAC) == -1 && errno == EACCES);
	errno = 0;
	CHECK(check_str("BASHSOCK/1 ATTACH "
			"b22fd6863f4df2d3c264df3d38614624617e3608d2a26a94f0c4"
			"6006c20bac44",
		  MAC) == -1 &&
	      errno == EACCES);
	/* Not the line: EPROTO. */
	errno = 0;
	CHECK(check_str("INJECTED by attacker", MAC) == -1 && errno == EPROTO);
	errno = 0;
	CHECK(check_str("", MAC) == -1 && errno == EPROTO);
	errno = 0;
	CHECK(
	    check_str("BASHSOCK/1 ATTACH  " MAC, MAC) == -1 && errno == EPROTO);
	errno = 0;
	CHECK(check_str("BASHSOCK/1 ATTACH " MAC " ", MAC) == -1 &&
	      errno == EPROTO);
	errno = 0;
	CHECK(check_str("BASHSOCK/1 ATTACH "
			"B22fd6863f4df2d3c264df3d38614624617e3608d2a26a94f0c4"
			"6006c20bac43",
		  MAC) == -1 &&
	      errno == EPROTO);
	errno = 0;
	CHECK(
	    check_str("bashsock/1 attach " MAC, MAC) == -1 && errno == EPROTO);
	errno = 0;
	CHECK(check_str("BASHSOCK/1 PROOF " MAC, MAC) == -1 && errno == EPROTO);
	/* A NUL byte in it, or the line cut short: not the line. */
	n = (size_t)snprintf(buf, sizeof(buf), "BASHSOCK/1 ATTACH %s", MAC);
	buf[20] = '\0';
	errno = 0;
	CHECK(pool_proof_check(buf, n, MAC) == -1 && errno == EPROTO);
	snprintf(buf, sizeof(buf), "BASHSOCK/1 ATTACH %s", MAC);
	errno = 0;
	CHECK(pool_proof_check(buf, n - 1, MAC) == -1 && errno == EPROTO);
	/* A malformed expectation admits nothing. */
	errno = 0;
	CHECK(check_str("BASHSOCK/1 ATTACH " MAC, "") == -1 && errno == EINVAL);
	errno = 0;
	CHECK(pool_proof_check(buf, n, NULL) == -1 && errno == EINVAL);
}

static void
test_proof_take(void)
{
	struct input_opts o;
	char buf[AUTH_HEX + 1], *v;

	/* A pool binding (port 0) takes it and wipes it. */
	memset(&o, 0, sizeof(o));
	CHECK(setenv(POOL_PROOF_ENV, MAC, 1) == 0);
	v = getenv(POOL_PROOF_ENV);
	CHECK(helper_argv_proof_take(&o, buf, sizeof(buf)) == 0);
	CHECK(o.proof == buf && strcmp(buf, MAC) == 0);
	CHECK(getenv(POOL_PROOF_ENV) == NULL);
	CHECK(v != NULL && v[0] == '\0'); /* the bytes themselves, zeroed */
	/* ... and cannot go without one, or with a bad one. */
	errno = 0;
	CHECK(helper_argv_proof_take(&o, buf, sizeof(buf)) == -1 &&
	      errno == EINVAL);
	CHECK(o.proof == NULL);
	CHECK(setenv(POOL_PROOF_ENV, "short", 1) == 0);
	CHECK(helper_argv_proof_take(&o, buf, sizeof(buf)) == -1 &&
	      o.proof == NULL);
	CHECK(getenv(POOL_PROOF_ENV) == NULL);
	/* A binding of bind-input ignores the variable. */
	o.port = 4000;
	CHECK(setenv(POOL_PROOF_ENV, MAC, 1) == 0);
	CHECK(helper_argv_proof_take(&o, buf, sizeof(buf)) == 0 &&
	      o.proof == NULL);
	unsetenv(POOL_PROOF_ENV);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_encode();
	test_decode();
	test_printable();
	test_scan();
	test_link();
	test_proof_mac();
	test_proof_check();
	test_proof_take();
	if (failures != 0) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("test_pool: ok\n");
	return 0;
}
